"""Placeholder: the issue 20 recipes for this family are being built."""
