"""``F.*``: the stateless math that layers call, re-exported as ``nnzoo.nn.functional``:
linear layers, dropout, embedding, normalisation, activations, the softmax family, ``one_hot``, ``pad``,
attention and the losses."""
from .ops import activation as _activation
from .ops import loss as _loss
from .ops import pool as _pool
from .ops.activation import *  # noqa: F403  (selu, celu, prelu, rrelu, glu, softmin, ... tanhshrink)
from .ops.attention import multi_head_attention_forward, scaled_dot_product_attention
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from .ops.distance import cosine_similarity, normalize, pairwise_distance, pdist
from .ops.index import one_hot
from .ops.interpolate import interpolate
from .ops.local_response_norm import local_response_norm
from .ops.loss import *  # noqa: F403
from .ops.nn import alpha_dropout, bilinear, dropout, dropout1d, dropout2d, embedding, linear
from .ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from .ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .ops.pool import *  # noqa: F403  (pooling)
from .ops.reduce import log_softmax, softmax
from .ops.shape import pad
from .ops.unary import elu, gelu, hardtanh, leaky_relu, logsigmoid, relu, relu6, sigmoid, silu, softplus, tanh

__all__ = ["alpha_dropout", "batch_norm", "bilinear", "dropout", "dropout1d", "dropout2d", "embedding",
           "group_norm", "layer_norm", "linear", "elu", "gelu", "hardtanh", "leaky_relu", "log_softmax",
           "logsigmoid", "one_hot", "pad", "relu", "relu6", "sigmoid", "silu", "softmax", "softplus",
           "tanh"] + _loss.__all__
__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]
__all__ += _pool.__all__ + ["interpolate", "local_response_norm", "pixel_shuffle", "pixel_unshuffle"]
__all__ += ["scaled_dot_product_attention", "multi_head_attention_forward"]
__all__ += _activation.__all__
__all__ += ["normalize", "cosine_similarity", "pairwise_distance", "pdist", "instance_norm"]
