"""Seeing what nnzoo computes: the computation graph as text (more plots arrive with training)."""
from .graph import graph_text

__all__ = ["graph_text"]
