"""Recipes of the elm family (being written: issues 18 and 19)."""
