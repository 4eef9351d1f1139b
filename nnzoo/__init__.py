"""nnzoo: a deep-learning framework from first principles on NumPy, with PyTorch's surface.

``import nnzoo as torch`` runs PyTorch-style code: tensors with define-by-run reverse-mode autograd,
the core ops as functions and as methods, ``no_grad``, ``manual_seed``, ...
"""
# isort: skip_file  (the order below is the import order the modules need: ops before nn, nn before optim)
from . import autograd, dtypes
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import *  # noqa: F403
from .dtypes import (
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from .dtypes import result_type as _result_type
from .ops.arith import *  # noqa: F403

# the convolution and pooling functions PyTorch also has at the top level (torch.conv2d, ...)
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .ops.index import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .ops.pool import adaptive_avg_pool1d, avg_pool1d, max_pool1d, max_pool2d
from .ops.reduce import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .ops.unary import *  # noqa: F403
from .random import *  # noqa: F403
from .random import Generator, default_generator
from .tensor import Size, Tensor

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on the two operands gives (PyTorch's promotion rules)."""
    return _result_type(tensor1, tensor2)


from . import (  # noqa: E402  (nnzoo.utils.data is nnzoo.data, as torch.utils.data)
    data,
    io,
    nn,
    optim,
    utils,
)
from .io import load, save  # noqa: E402
