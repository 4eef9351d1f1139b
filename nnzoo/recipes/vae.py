"""Recipes of the vae family (being written: issues 18 and 19)."""
