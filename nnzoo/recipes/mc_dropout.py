"""Recipes of the mc_dropout family (being written: issues 18 and 19)."""
