"""Recipes of the esn family (being written: issues 18 and 19)."""
