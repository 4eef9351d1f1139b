"""The differential fuzzer: Hypothesis-generated cases run in nnzoo and PyTorch and compared (see harness.py)."""
