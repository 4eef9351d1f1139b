"""nnzoo: a deep-learning framework from first principles on NumPy, with PyTorch's surface.

``import nnzoo as torch`` runs PyTorch-style code: tensors with define-by-run reverse-mode autograd,
the core ops as functions and as methods, ``no_grad``, ``manual_seed``, ...
"""
# ruff: noqa: E402
# isort: skip_file
import builtins as _builtins  # the names bool, int and float below are dtypes, as in torch

# The order below is the order the modules need (ops before nn, nn before optim) and decides which module's
# name wins where two star-imports export the same one; the linter leaves it as written.
from . import dtypes
from .dtypes import (bool, double, dtype, float, float16, float32, float64, get_default_dtype, half,
                     int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short,
                     uint8)
from .dtypes import result_type as _result_type
from .dtypes import bfloat16, finfo, iinfo
from .tensor import Size, Tensor, layout, sparse_coo, strided
from .sparse import sparse_coo_tensor
from ._device import device, get_default_device, set_default_device
from . import autograd
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
# the legacy typed constructors (torch.FloatTensor(2, 3), torch.LongTensor([1, 2]))
from .autograd.variable import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                                IntTensor, LongTensor, ShortTensor)
from .creation import *  # noqa: F403
from .random import *  # noqa: F403
from .random import Generator, default_generator
from .ops.arith import *  # noqa: F403
from .ops.unary import *  # noqa: F403
from .ops.reduce import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .ops.index import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.sort import *  # noqa: F403
from .ops.pointwise import *  # noqa: F403
# the convolution and pooling functions PyTorch also has at the top level (torch.conv2d, ...)
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .ops.pool import adaptive_avg_pool1d, avg_pool1d, max_pool1d, max_pool2d
# layer functions PyTorch also has at the top level (torch.selu, torch.cosine_similarity, ...)
from .ops.activation import celu, hardshrink, prelu, rrelu, selu, threshold
from .ops.distance import cosine_similarity, pairwise_distance, pdist

__version__ = "0.1.0"


def is_tensor(obj: object) -> _builtins.bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> _builtins.int:
    return input.numel()


def result_type(tensor1: Tensor | _builtins.int | _builtins.float | _builtins.bool,
                tensor2: Tensor | _builtins.int | _builtins.float | _builtins.bool) -> dtype:
    """The dtype an arithmetic op on the two operands gives (PyTorch's promotion rules)."""
    return _result_type(tensor1, tensor2)


from . import nn
from . import optim
from . import io
from . import data, utils
from .io import load, save
from . import accelerator, amp, backends, compiler, cuda
from .amp import autocast
from .backends import (are_deterministic_algorithms_enabled, get_float32_matmul_precision, get_num_interop_threads,
                       get_num_threads, is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                       set_num_interop_threads, set_num_threads, use_deterministic_algorithms)
from .compiler import compile

_LAZY = ("train", "recipes", "zoo", "viz", "onnx", "testing", "hub", "distributed", "multiprocessing")


def __getattr__(name):
    """``nnzoo.train``, ``nnzoo.recipes``, ``nnzoo.zoo``, ``nnzoo.viz`` after a bare ``import nnzoo``: imported on
    first use (PEP 562), so ``import nnzoo`` does not pull in the training stack."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nnzoo' has no attribute {name!r}")
