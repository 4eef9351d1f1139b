"""Recipes of the dbn family (being written: issues 18 and 19)."""
