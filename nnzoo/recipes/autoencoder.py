"""Recipes of the autoencoder family (being written: issues 18 and 19)."""
