"""Recipes of the rbf family (being written: issues 18 and 19)."""
