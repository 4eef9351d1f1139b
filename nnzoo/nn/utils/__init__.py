"""``nn.utils``: gradient clipping, flattening parameters into one vector, packed sequences (``rnn``), and
``evaluating`` (eval mode for a block)."""
from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .mode import evaluating

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "rnn", "evaluating"]
