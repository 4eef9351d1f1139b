"""Recipes of the lsm family (being written: issues 18 and 19)."""
