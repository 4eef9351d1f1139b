"""Recipes of the boltzmann family (being written: issues 18 and 19)."""
