"""Recipes of the som family (being written: issues 18 and 19)."""
