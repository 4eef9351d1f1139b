"""Recipes of the gan family (being written: issues 18 and 19)."""
