"""Recipes of the markov family (being written: issues 18 and 19)."""
