"""Recipes of the rbm family (being written: issues 18 and 19)."""
