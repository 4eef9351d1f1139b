"""``F.*``: the stateless math that layers call, re-exported as ``nnzoo.nn.functional``:
activations, the softmax family, ``one_hot``, ``pad`` and the losses."""
from .ops import loss as _loss
from .ops.index import one_hot
from .ops.loss import *  # noqa: F401,F403
from .ops.reduce import log_softmax, softmax
from .ops.shape import pad
from .ops.unary import elu, gelu, hardtanh, leaky_relu, relu, relu6, sigmoid, silu, softplus, tanh

__all__ = ["elu", "gelu", "hardtanh", "leaky_relu", "log_softmax", "one_hot", "pad", "relu", "relu6",
           "sigmoid", "silu", "softmax", "softplus", "tanh"] + _loss.__all__
