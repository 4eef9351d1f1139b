"""Recipes of the hopfield family (being written: issues 18 and 19)."""
