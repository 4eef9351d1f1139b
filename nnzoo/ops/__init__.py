"""Differentiable ops, one family per file: each op is a small ``Op`` class with ``forward`` on
arrays and ``backward`` on Tensors right under it, plus the public function that applies it."""
