"""``F.*``: the stateless math that layers call, re-exported as ``nnzoo.nn.functional``.

This issue's part: activations, softmax family, ``one_hot`` and ``pad``; the nn issue adds linear,
dropout, losses and the rest.
"""
from .ops.index import one_hot
from .ops.reduce import log_softmax, softmax
from .ops.shape import pad
from .ops.unary import elu, gelu, hardtanh, leaky_relu, relu, relu6, sigmoid, silu, softplus, tanh

__all__ = ["elu", "gelu", "hardtanh", "leaky_relu", "log_softmax", "one_hot", "pad", "relu", "relu6",
           "sigmoid", "silu", "softmax", "softplus", "tanh"]
