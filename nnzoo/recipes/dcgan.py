"""Recipes of the dcgan family (being written: issues 18 and 19)."""
