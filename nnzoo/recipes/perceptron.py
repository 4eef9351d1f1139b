"""Recipes of the perceptron family (being written: issues 18 and 19)."""
