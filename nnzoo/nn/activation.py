"""Activations as modules; the math is in ``nnzoo.ops.unary``, ``nnzoo.ops.activation`` and
``nnzoo.ops.reduce``."""
from __future__ import annotations

import warnings

from .. import creation, dtypes
from ..ops import activation as _act
from ..ops import reduce as _reduce
from ..ops import unary as _unary
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "LogSigmoid",
           "Softplus", "Hardtanh", "ReLU6", "PReLU", "SELU", "CELU", "Softmin", "Softsign", "Hardswish",
           "Hardsigmoid", "Mish", "GLU", "Threshold", "Hardshrink", "Softshrink", "Tanhshrink", "RReLU", "Softmax2d"]


def _inplace_repr(inplace):
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """max(x, 0) elementwise. Example: ``nn.ReLU()(nnzoo.tensor([-1., 2.]))`` is ``tensor([0., 2.])``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _unary.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """x if x >= 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _unary.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _unary.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x * Phi(x) (``approximate='tanh'``: the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return _unary.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _unary.silu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input: Tensor) -> Tensor:
        return _unary.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return _unary.tanh(input)


def _legacy_softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("softmax", input.ndim)
        return _reduce.softmax(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - log sum_j exp(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("log_softmax", input.ndim)
        return _reduce.log_softmax(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSigmoid(Module):
    """log(1 / (1 + exp(-x))), stable for any x (see ``F.logsigmoid``)."""

    def forward(self, input: Tensor) -> Tensor:
        return _unary.logsigmoid(input)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta; linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return _unary.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """clamp(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")

    def forward(self, input: Tensor) -> Tensor:
        return _unary.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class PReLU(Module):
    """x where x > 0, a * x elsewhere, with learned slopes a: one (``num_parameters=1``) or one per channel.

    Args:
        num_parameters: 1, or the number of input channels (dim 1). init: the slopes' initial value.

    Shape: input (N, C, *) or any shape when num_parameters is 1; output the same. Parameter ``weight``
    (num_parameters,).

    Example::

        >>> from nnzoo import nn
        >>> nn.PReLU()(nnzoo.tensor([-2., 3.]))
        tensor([-0.5000,  3.0000], grad_fn=<WhereBackward0>)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(creation.empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return _act.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class SELU(Module):
    """scale * (max(0, x) + min(0, alpha (e^x - 1))) with alpha = 1.6732632..., scale = 1.0507009...

    Example::

        >>> from nnzoo import nn
        >>> nn.SELU()(nnzoo.tensor([1.]))
        tensor([1.0507])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class CELU(Module):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)).

    Example::

        >>> from nnzoo import nn
        >>> nn.CELU(alpha=2.0)(nnzoo.tensor([-1., 2.]))
        tensor([-0.7869,  2.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softmin(Module):
    """exp(-x_i) / sum_j exp(-x_j) along ``dim``.

    Example::

        >>> from nnzoo import nn
        >>> nn.Softmin(dim=0)(nnzoo.tensor([1., 2., 3.]))
        tensor([0.6652, 0.2447, 0.0900])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return _act.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softsign(Module):
    """x / (1 + |x|).

    Example::

        >>> from nnzoo import nn
        >>> nn.Softsign()(nnzoo.tensor([-1., 3.]))
        tensor([-0.5000,  0.7500])
    """

    def forward(self, input: Tensor) -> Tensor:
        return _act.softsign(input)


class Hardswish(Module):
    """x * relu6(x + 3) / 6.

    Example::

        >>> from nnzoo import nn
        >>> nn.Hardswish()(nnzoo.tensor([1., 4.]))
        tensor([0.6667, 4.0000])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.hardswish(input, self.inplace)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6.

    Example::

        >>> from nnzoo import nn
        >>> nn.Hardsigmoid()(nnzoo.tensor([0., 1.5]))
        tensor([0.5000, 0.7500])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.hardsigmoid(input, self.inplace)


class Mish(Module):
    """x * tanh(softplus(x)).

    Example::

        >>> from nnzoo import nn
        >>> nn.Mish()(nnzoo.tensor([1.]))
        tensor([0.8651])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.mish(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class GLU(Module):
    """a * sigmoid(b), a and b the halves of the input along ``dim``.

    Shape: input (*, 2M, *); output (*, M, *).

    Example::

        >>> from nnzoo import nn
        >>> nn.GLU()(nnzoo.randn(4, 6)).shape
        nnzoo.Size([4, 3])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return _act.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    """x where x > threshold, ``value`` elsewhere.

    Example::

        >>> from nnzoo import nn
        >>> nn.Threshold(1.0, -1.0)(nnzoo.tensor([0.5, 2.]))
        tensor([-1.,  2.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Hardshrink(Module):
    """x where |x| > lambd, 0 elsewhere.

    Example::

        >>> from nnzoo import nn
        >>> nn.Hardshrink()(nnzoo.tensor([-1., 0.2]))
        tensor([-1.,  0.])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return _act.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    Example::

        >>> from nnzoo import nn
        >>> nn.Softshrink()(nnzoo.tensor([-1., 0.2]))
        tensor([-0.5000,  0.0000])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return _act.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Tanhshrink(Module):
    """x - tanh(x).

    Example::

        >>> from nnzoo import nn
        >>> nn.Tanhshrink()(nnzoo.tensor([0.]))
        tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return _act.tanhshrink(input)


class RReLU(Module):
    """Randomised leaky ReLU: slopes a ~ U(lower, upper) per element in training (drawn from nnzoo's generator),
    a = (lower + upper) / 2 in eval mode.

    Example::

        >>> from nnzoo import nn
        >>> nn.RReLU(0.1, 0.3).eval()(nnzoo.tensor([-1., 2.]))
        tensor([-0.2000,  2.0000])
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _act.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class Softmax2d(Module):
    """Softmax over the channels of each position: dim -3 of (N, C, H, W) or (C, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.Softmax2d()(nnzoo.zeros(1, 2, 1, 1)).flatten()
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return _reduce.softmax(input, -3)
