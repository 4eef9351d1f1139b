"""The lecture notes' recurrent-cell variants and a generic recurrent stack that runs any of them.

Cells (one time step each, composed from nnzoo ops, so autograd differentiates them):
``PeepholeLSTMCell``, ``CoupledLSTMCell``, ``ConvLSTMCell``, ``ChoGRUCell``, ``MUT1Cell``, ``MUT2Cell``,
``MUT3Cell``. Stacks: ``Recurrent`` (layers, directions, dropout between layers, variable lengths) and
``Bidirectional`` (two cells, outputs merged by concatenation or by sum, the notes' two merges).

The cell protocol, which ``Recurrent`` relies on and nothing else:

* a cell is an ``nn.Module`` with ``input_size`` and ``hidden_size`` (for ``ConvLSTMCell``: input and
  hidden *channels*);
* ``cell(x_t, state=None) -> state``: one step; ``state`` is a Tensor ``h`` or a tuple ``(h, c)``, and
  ``None`` means zeros;
* ``cell.init_state(batch, like) -> state``: zeros, with ``like``'s dtype (``like`` is a step's input,
  which also gives ``ConvLSTMCell`` its image size);
* ``cell.output(state) -> h_t``: what the cell emits at that step (``h`` of either kind of state).

Weights of the LSTM-like cells are stacked by gate in PyTorch's order (i, f, g, o), one GEMM per
product; the GRU's rows are PyTorch's (r, z, n), so a ``torch.nn.LSTMCell``/``GRUCell``'s weights copy
in (with ``bias = bias_ih + bias_hh`` for the LSTMs: the notes' equations have one bias per gate).
The MUT cells name each matrix as the paper and the notes do (``weight_xz`` is W_xz).
Initialisation, unless a docstring says otherwise: every parameter ~ U(-1/sqrt(hidden_size),
1/sqrt(hidden_size)), PyTorch's rule for its recurrent layers.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .. import creation, dtypes
from .._args import shape_of
from ..autograd.arrays import as_array, wrap
from ..ops.arith import where
from ..ops.conv import conv2d
from ..ops.nn import dropout as _dropout
from ..ops.nn import linear
from ..ops.shape import cat, stack
from ..ops.unary import sigmoid, tanh
from ..tensor import Tensor
from . import init
from .container import ModuleList
from .module import Module
from .parameter import Parameter

__all__ = ["PeepholeLSTMCell", "CoupledLSTMCell", "ConvLSTMCell", "ChoGRUCell", "MUT1Cell", "MUT2Cell",
           "MUT3Cell", "Recurrent", "Bidirectional"]


# ---- the cell protocol ------------------------------------------------------------------------------
class _Cell(Module):
    """What every cell shares: sizes, zero states, input/state checks, initialisation and repr.

    Subclasses set ``_has_cell_state`` (state is (h, c) instead of h) and implement ``step(x, state)``.
    """

    _has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size

    def _param(self, *shape, dtype=None):
        return Parameter(creation.empty(*shape, dtype=dtype))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    # -- protocol --
    def _state_shape(self, batch, like):
        return (batch, self.hidden_size)

    def init_state(self, batch: int, like: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Zeros of the state's shape(s), with ``like``'s dtype: ``h`` or ``(h, c)``."""
        dt = like.dtype if isinstance(like, Tensor) else None
        shape = self._state_shape(batch, like)
        if self._has_cell_state:
            return creation.zeros(shape, dtype=dt), creation.zeros(shape, dtype=dt)
        return creation.zeros(shape, dtype=dt)

    def output(self, state: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        """h_t: the state itself, or the first of (h, c)."""
        return state[0] if isinstance(state, tuple) else state

    def _input_shape_ok(self, x):
        return x.ndim == 2 and x.shape[1] == self.input_size

    def _expected_input(self):
        return f"(batch, {self.input_size})"

    def forward(self, input: Tensor,
                state: Tensor | tuple[Tensor, Tensor] | None = None) -> Tensor | tuple[Tensor, Tensor]:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
        if not self._input_shape_ok(input):
            raise ValueError(f"{name}: expected input of shape {self._expected_input()}, got {shape_of(input)}")
        if state is None:
            state = self.init_state(input.shape[0], input)
        want = self._state_shape(input.shape[0], input)
        parts = state if self._has_cell_state else (state,)
        if self._has_cell_state and not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError(f"{name}: state must be a tuple (h, c), got {type(state).__name__}")
        for label, s in zip(("h", "c"), parts):
            if not isinstance(s, Tensor) or shape_of(s) != want:
                got = shape_of(s) if isinstance(s, Tensor) else type(s).__name__
                raise ValueError(f"{name}: state {label} must have shape {want} for input {shape_of(input)}, "
                                 f"got {got}")
        return self.step(input, state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


# ---- LSTM variants ----------------------------------------------------------------------------------
class PeepholeLSTMCell(_Cell):
    """Peephole LSTM: i = σ(W_i[x; h] + w_ci ⊙ c_{t-1} + b_i), f = σ(W_f[x; h] + w_cf ⊙ c_{t-1} + b_f),
    g = tanh(W_g[x; h] + b_g), c_t = f ⊙ c_{t-1} + i ⊙ g, o = σ(W_o[x; h] + w_co ⊙ c_t + b_o),
    h_t = o ⊙ tanh(c_t).

    The notes: "gates also take c_{t-1} (W_fc·c_{t-1}, ...)", the output gate c_t. They leave open
    whether W_fc is a full matrix; we follow Gers & Schmidhuber (2000), the paper that introduced
    peepholes: diagonal weights, i.e. the vectors w_ci, w_cf, w_co applied elementwise.

    Args:
        input_size: features of x_t. hidden_size: features of h_t and c_t.

    Parameters: ``weight_ih`` (4H, I) and ``weight_hh`` (4H, H), rows by gate in PyTorch's order
    (i, f, g, o); ``bias`` (4H,); ``weight_ci``, ``weight_cf``, ``weight_co`` (H,), the peepholes.

    Shape: x_t (B, I); state (h, c), each (B, H); returns the new (h, c).

    Example::

        >>> from nnzoo.nn.recurrent_variants import PeepholeLSTMCell
        >>> cell = PeepholeLSTMCell(10, 20)
        >>> h, c = cell(nnzoo.randn(3, 10))
        >>> h, c = cell(nnzoo.randn(3, 10), (h, c))
        >>> h.shape, c.shape
        (nnzoo.Size([3, 20]), nnzoo.Size([3, 20]))
    """

    _has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_ih = self._param(4 * H, input_size, dtype=dtype)
        self.weight_hh = self._param(4 * H, H, dtype=dtype)
        self.bias = self._param(4 * H, dtype=dtype)
        self.weight_ci = self._param(H, dtype=dtype)
        self.weight_cf = self._param(H, dtype=dtype)
        self.weight_co = self._param(H, dtype=dtype)
        self.reset_parameters()

    def step(self, x: Tensor, state: Tensor | tuple[Tensor, Tensor]) -> Tensor | tuple[Tensor, Tensor]:
        h, c = state
        gates = linear(x, self.weight_ih, self.bias) + linear(h, self.weight_hh)  # (B, 4H)
        gi, gf, gg, go = gates.chunk(4, 1)
        i = sigmoid(gi + self.weight_ci * c)
        f = sigmoid(gf + self.weight_cf * c)
        c_new = f * c + i * tanh(gg)
        o = sigmoid(go + self.weight_co * c_new)  # the output gate peeks at c_t, not c_{t-1}
        return o * tanh(c_new), c_new


class CoupledLSTMCell(_Cell):
    """Coupled-gate LSTM: f = σ(W_f[x; h] + b_f), C̃ = tanh(W_c[x; h] + b_c), o = σ(W_o[x; h] + b_o),
    C_t = f ⊙ C_{t-1} + (1 − f) ⊙ C̃, h_t = o ⊙ tanh(C_t).

    The input gate is tied to the forget gate (i = 1 − f): new information enters only where old is
    forgotten. No peepholes (the notes give the coupling alone).

    Args:
        input_size: features of x_t. hidden_size: features of h_t and C_t.

    Parameters: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), rows by gate (f, g, o) with g the
    candidate C̃; ``bias`` (3H,).

    Shape: x_t (B, I); state (h, c), each (B, H); returns the new (h, c).

    Example::

        >>> from nnzoo.nn.recurrent_variants import CoupledLSTMCell
        >>> cell = CoupledLSTMCell(4, 6)
        >>> h, c = cell(nnzoo.randn(2, 4))
        >>> h.shape
        nnzoo.Size([2, 6])
    """

    _has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_ih = self._param(3 * H, input_size, dtype=dtype)
        self.weight_hh = self._param(3 * H, H, dtype=dtype)
        self.bias = self._param(3 * H, dtype=dtype)
        self.reset_parameters()

    def step(self, x: Tensor, state: Tensor | tuple[Tensor, Tensor]) -> Tensor | tuple[Tensor, Tensor]:
        h, c = state
        gates = linear(x, self.weight_ih, self.bias) + linear(h, self.weight_hh)  # (B, 3H)
        gf, gg, go = gates.chunk(3, 1)
        f = sigmoid(gf)
        c_new = f * c + (1 - f) * tanh(gg)
        return sigmoid(go) * tanh(c_new), c_new


class ConvLSTMCell(_Cell):
    """ConvLSTM (Shi et al. 2015): the LSTM with convolutions in place of matrix products, images as states.

    i = σ(W_xi * X + W_hi * H + b_i), f = σ(W_xf * X + W_hf * H + b_f), g = tanh(W_xg * X + W_hg * H + b_g),
    o = σ(W_xo * X + W_ho * H + b_o), C_t = f ⊙ C_{t-1} + i ⊙ g, H_t = o ⊙ tanh(C_t)
    (``*`` a convolution with 'same' padding, so states keep the input's H×W).

    The notes give no peepholes for ConvLSTM, so by default there are none. Shi et al.'s equations have
    them, as Hadamard products with per-position weights: pass ``peephole_shape=(H, W)`` to add
    ``weight_ci``, ``weight_cf``, ``weight_co`` of shape (C_h, H, W), entering i and f through C_{t-1}
    and o through C_t, exactly as in the paper (the cell then only takes H×W images).

    Args:
        input_channels: C_in of X_t. hidden_channels: C_h of H_t and C_t.
        kernel_size: int or (kh, kw), used for both the input-to-state and the state-to-state convolution.
        peephole_shape: None (default) or the image size (H, W) for the paper's peepholes.

    Parameters: ``weight_ih`` (4C_h, C_in, kh, kw), ``weight_hh`` (4C_h, C_h, kh, kw), output channels by
    gate (i, f, g, o); ``bias`` (4C_h,). Initialisation: U(-1/sqrt(C_h kh kw), 1/sqrt(C_h kh kw)),
    PyTorch's recurrent rule with the state-to-state fan-in (the paper gives none); for a 1×1 kernel
    it is the LSTM's ±1/sqrt(hidden).

    Shape: X_t (B, C_in, H, W); state (H_t, C_t), each (B, C_h, H, W). ``input_size`` and ``hidden_size``
    are the channel counts (the names the cell protocol uses).

    Example::

        >>> from nnzoo.nn.recurrent_variants import ConvLSTMCell
        >>> cell = ConvLSTMCell(3, 8, kernel_size=3)
        >>> h, c = cell(nnzoo.randn(2, 3, 16, 16))
        >>> h.shape
        nnzoo.Size([2, 8, 16, 16])
    """

    _has_cell_state = True

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int | tuple[int, int] = 3,
                 peephole_shape: tuple[int, int] | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_channels, hidden_channels)
        k = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(k) != 2 or not all(isinstance(v, int) and v > 0 for v in k):
            raise ValueError(f"ConvLSTMCell: kernel_size must be a positive int or a pair, got {kernel_size!r}")
        self.kernel_size = k
        C = hidden_channels
        self.weight_ih = self._param(4 * C, input_channels, *k, dtype=dtype)
        self.weight_hh = self._param(4 * C, C, *k, dtype=dtype)
        self.bias = self._param(4 * C, dtype=dtype)
        self.peephole_shape = None if peephole_shape is None else tuple(peephole_shape)
        if self.peephole_shape is not None:
            self.weight_ci = self._param(C, *self.peephole_shape, dtype=dtype)
            self.weight_cf = self._param(C, *self.peephole_shape, dtype=dtype)
            self.weight_co = self._param(C, *self.peephole_shape, dtype=dtype)
        self.reset_parameters()

    @property
    def input_channels(self) -> int:
        return self.input_size

    @property
    def hidden_channels(self) -> int:
        return self.hidden_size

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size * self.kernel_size[0] * self.kernel_size[1])
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _state_shape(self, batch, like):
        return (batch, self.hidden_size) + tuple(like.shape[2:])

    def _input_shape_ok(self, x):
        if x.ndim != 4 or x.shape[1] != self.input_size:
            return False
        return self.peephole_shape is None or tuple(x.shape[2:]) == self.peephole_shape

    def _expected_input(self):
        hw = ("H", "W") if self.peephole_shape is None else self.peephole_shape
        return f"(batch, {self.input_size}, {hw[0]}, {hw[1]})"

    def step(self, x: Tensor, state: Tensor | tuple[Tensor, Tensor]) -> Tensor | tuple[Tensor, Tensor]:
        h, c = state
        gates = (conv2d(x, self.weight_ih, self.bias, padding="same")
                 + conv2d(h, self.weight_hh, None, padding="same"))  # (B, 4C, H, W)
        gi, gf, gg, go = gates.chunk(4, 1)
        if self.peephole_shape is not None:
            gi = gi + self.weight_ci * c
            gf = gf + self.weight_cf * c
        c_new = sigmoid(gf) * c + sigmoid(gi) * tanh(gg)
        if self.peephole_shape is not None:
            go = go + self.weight_co * c_new
        return sigmoid(go) * tanh(c_new), c_new

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, kernel_size={self.kernel_size}"
        if self.peephole_shape is not None:
            s += f", peephole_shape={self.peephole_shape}"
        return s


# ---- GRU variants -----------------------------------------------------------------------------------
class ChoGRUCell(_Cell):
    """The GRU of Cho et al. (2014), the notes' form: r = σ(W_xr x + W_hr h + b_r),
    z = σ(W_xz x + W_hz h + b_z), h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h), h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃.

    The reset gate acts on h_{t-1} *before* the recurrent product; PyTorch's ``GRUCell`` applies it
    after: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)). The two agree when r ≡ 1.

    Args:
        input_size: features of x_t. hidden_size: features of h_t.

    Parameters: ``weight_ih`` (3H, I) = [W_xr; W_xz; W_xh], ``weight_hh`` (3H, H) = [W_hr; W_hz; W_hh]
    (PyTorch's row order (r, z, n)); ``bias`` (3H,) = [b_r; b_z; b_h].

    Shape: x_t (B, I); state h (B, H); returns the new h.

    Example::

        >>> from nnzoo.nn.recurrent_variants import ChoGRUCell
        >>> cell = ChoGRUCell(5, 7)
        >>> cell(nnzoo.randn(2, 5)).shape
        nnzoo.Size([2, 7])
    """

    def __init__(self, input_size: int, hidden_size: int, dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size)
        H = hidden_size
        self.weight_ih = self._param(3 * H, input_size, dtype=dtype)
        self.weight_hh = self._param(3 * H, H, dtype=dtype)
        self.bias = self._param(3 * H, dtype=dtype)
        self.reset_parameters()

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        H = self.hidden_size
        xr, xz, xh = linear(x, self.weight_ih, self.bias).chunk(3, 1)  # (B, H) each
        hr, hz = linear(h, self.weight_hh[:2 * H]).chunk(2, 1)
        r = sigmoid(xr + hr)
        z = sigmoid(xz + hz)
        h_tilde = tanh(xh + linear(r * h, self.weight_hh[2 * H:]))
        return z * h + (1 - z) * h_tilde


class _MUTCell(_Cell):
    """The MUT cells' shared parts (Jozefowicz, Zaremba & Sutskever 2015): the update
    h' = tanh(W_hh (r ⊙ h) + (input term) + b_h) ⊙ z + h ⊙ (1 − z), differing in z, r and the input term."""

    _needs_square = False

    def __init__(self, input_size, hidden_size, dtype=None):
        super().__init__(input_size, hidden_size)
        if self._needs_square and input_size != hidden_size:
            raise ValueError(f"{type(self).__name__}: input_size must equal hidden_size (the equations add x "
                             f"to a hidden-size vector), got input_size={input_size}, hidden_size={hidden_size}")
        H = hidden_size
        for name in self._weights:
            cols = input_size if name.startswith("weight_x") else H
            setattr(self, name, self._param(H, cols, dtype=dtype))
        for name in ("bias_z", "bias_r", "bias_h"):
            setattr(self, name, self._param(H, dtype=dtype))
        self.reset_parameters()

    def _update(self, x_term, h, r, z):
        h_tilde = tanh(linear(r * h, self.weight_hh) + x_term + self.bias_h)
        return h_tilde * z + h * (1 - z)


class MUT1Cell(_MUTCell):
    """MUT1 (Jozefowicz et al. 2015): z = σ(W_xz x + b_z), r = σ(W_xr x + W_hr h + b_r),
    h' = tanh(W_hh (r ⊙ h) + tanh(x) + b_h) ⊙ z + h ⊙ (1 − z).

    Args:
        input_size: features of x_t; must equal hidden_size (tanh(x) is added to a hidden vector).
        hidden_size: features of h_t.

    Parameters (H, I) or (H, H): ``weight_xz``, ``weight_xr``, ``weight_hr``, ``weight_hh``; (H,):
    ``bias_z``, ``bias_r``, ``bias_h``.

    Shape: x_t (B, H); state h (B, H); returns the new h.

    Example::

        >>> from nnzoo.nn.recurrent_variants import MUT1Cell
        >>> MUT1Cell(8, 8)(nnzoo.randn(3, 8)).shape
        nnzoo.Size([3, 8])
    """

    _needs_square = True
    _weights = ("weight_xz", "weight_xr", "weight_hr", "weight_hh")

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        z = sigmoid(linear(x, self.weight_xz, self.bias_z))
        r = sigmoid(linear(x, self.weight_xr, self.bias_r) + linear(h, self.weight_hr))
        return self._update(tanh(x), h, r, z)


class MUT2Cell(_MUTCell):
    """MUT2 (Jozefowicz et al. 2015): z = σ(W_xz x + W_hz h + b_z), r = σ(x + W_hr h + b_r),
    h' = tanh(W_hh (r ⊙ h) + W_xh x + b_h) ⊙ z + h ⊙ (1 − z).

    Args:
        input_size: features of x_t; must equal hidden_size (x is added to a hidden vector in r).
        hidden_size: features of h_t.

    Parameters: ``weight_xz``, ``weight_hz``, ``weight_hr``, ``weight_hh``, ``weight_xh``; ``bias_z``,
    ``bias_r``, ``bias_h``.

    Shape: x_t (B, H); state h (B, H); returns the new h.

    Example::

        >>> from nnzoo.nn.recurrent_variants import MUT2Cell
        >>> MUT2Cell(8, 8)(nnzoo.randn(3, 8)).shape
        nnzoo.Size([3, 8])
    """

    _needs_square = True
    _weights = ("weight_xz", "weight_hz", "weight_hr", "weight_hh", "weight_xh")

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        z = sigmoid(linear(x, self.weight_xz, self.bias_z) + linear(h, self.weight_hz))
        r = sigmoid(x + linear(h, self.weight_hr, self.bias_r))
        return self._update(linear(x, self.weight_xh), h, r, z)


class MUT3Cell(_MUTCell):
    """MUT3 (Jozefowicz et al. 2015): z = σ(W_xz x + W_hz tanh(h) + b_z), r = σ(W_xr x + W_hr h + b_r),
    h' = tanh(W_hh (r ⊙ h) + W_xh x + b_h) ⊙ z + h ⊙ (1 − z).

    Args:
        input_size: features of x_t (any size). hidden_size: features of h_t.

    Parameters: ``weight_xz``, ``weight_hz``, ``weight_xr``, ``weight_hr``, ``weight_hh``, ``weight_xh``;
    ``bias_z``, ``bias_r``, ``bias_h``.

    Shape: x_t (B, I); state h (B, H); returns the new h.

    Example::

        >>> from nnzoo.nn.recurrent_variants import MUT3Cell
        >>> MUT3Cell(5, 8)(nnzoo.randn(3, 5)).shape
        nnzoo.Size([3, 8])
    """

    _weights = ("weight_xz", "weight_hz", "weight_xr", "weight_hr", "weight_hh", "weight_xh")

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        z = sigmoid(linear(x, self.weight_xz, self.bias_z) + linear(tanh(h), self.weight_hz))
        r = sigmoid(linear(x, self.weight_xr, self.bias_r) + linear(h, self.weight_hr))
        return self._update(linear(x, self.weight_xh), h, r, z)


# ---- stacks -----------------------------------------------------------------------------------------
def _map_state(fn, *states):
    """Apply ``fn`` to the parts of one or more states of the same kind (Tensor h or tuple (h, c))."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states))
    return fn(*states)


class Recurrent(Module):
    """Runs any cell over time: layers stacked, optionally in both directions, with variable lengths.

    h^l_t = cell^l(h^{l-1}_t, state^l_{t-1}); with ``bidirectional`` a second cell per layer runs from the
    last step to the first, and the layer's output is [→h_t; ←h_t] (``merge='concat'``) or →h_t + ←h_t
    (``merge='sum'``), the notes' two merges; layer l > 0 reads layer l−1's merged output.

    Args:
        cell: one of
            * a cell (an ``nn.Module`` following the cell protocol of this module's docstring), for one
              layer in one direction;
            * a sequence of ``num_layers * D`` cells (D = 2 if bidirectional else 1), layer by layer,
              forward then reverse: [l0, l0_reverse, l1, ...];
            * a factory ``cell(input_size) -> cell`` (e.g. ``functools.partial(ChoGRUCell,
              hidden_size=32)`` or a cell class with its other arguments bound); it is called once per
              layer and direction, with ``input_size`` for layer 0 and the merged width D*H ('concat')
              or H ('sum') above.
        num_layers: layers when ``cell`` is a factory or a sequence (default 1).
        batch_first: input and output are (B, T, *) instead of (T, B, *).
        dropout: dropout probability on each layer's output except the last, in training mode only.
        bidirectional: also run each layer backwards in time.
        merge: 'concat' or 'sum', how the two directions' outputs join.
        input_size: the features (channels for ConvLSTM) of x_t; required with a factory.

    ``forward(input, states=None, lengths=None)``:
        input: (T, B, *) or (B, T, *) with ``batch_first``; * is the cells' input (I) or (C, H, W).
        states: None (zeros) or a list of ``num_layers * D`` initial states (each None, h or (h, c)),
            in the order of the cells.
        lengths: None or a LongTensor / sequence (B,) of true lengths 1..T: steps t >= lengths[b] of
            sequence b leave its state unchanged and output zeros, and the reverse direction starts at
            t = lengths[b] − 1 (from the initial state), as a packed sequence in PyTorch.

    Returns: ``(output, states)``.
        output: (T, B, D*H, ...) for 'concat' (channels concatenated for image states), (T, B, H, ...)
            for 'sum'; (B, T, ...) with ``batch_first``. It is the last layer's merged h_t.
        states: a list of the ``num_layers * D`` final states in the order of the cells (h or (h, c)).
            The forward direction's is its state after step lengths[b] − 1 (T − 1 without lengths),
            the reverse direction's its state after step 0.

    Example::

        >>> from functools import partial
        >>> from nnzoo.nn.recurrent_variants import Recurrent, PeepholeLSTMCell
        >>> rnn = Recurrent(partial(PeepholeLSTMCell, hidden_size=20), num_layers=2, bidirectional=True,
        ...                 input_size=10)
        >>> out, states = rnn(nnzoo.randn(5, 3, 10), lengths=[5, 4, 2])
        >>> out.shape, len(states), states[-1][0].shape
        (nnzoo.Size([5, 3, 40]), 4, nnzoo.Size([3, 20]))
    """

    def __init__(self, cell: Module | Sequence[Module] | Callable[..., Module], num_layers: int = 1,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, merge: str = "concat", *,
                 input_size: int | None = None) -> None:
        super().__init__()
        if merge not in ("concat", "sum"):
            raise ValueError(f"Recurrent: merge must be 'concat' or 'sum', got {merge!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"Recurrent: num_layers must be a positive integer, got {num_layers!r}")
        if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1):
            raise ValueError(f"Recurrent: dropout must be a probability in [0, 1], got {dropout!r}")
        self.num_layers = num_layers
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.merge = merge
        D = 2 if bidirectional else 1
        n = num_layers * D
        if isinstance(cell, ModuleList):
            cell = list(cell)
        if isinstance(cell, Module):
            if n != 1:
                raise ValueError(f"Recurrent: one cell serves one layer in one direction, but num_layers="
                                 f"{num_layers}, bidirectional={bidirectional} need {n}; pass a factory or a "
                                 f"list of {n} cells")
            cells = [cell]
        elif isinstance(cell, Sequence):
            cells = list(cell)
            if len(cells) != n or not all(isinstance(c, Module) for c in cells):
                raise ValueError(f"Recurrent: expected {n} cells (num_layers={num_layers} x {D} directions), "
                                 f"got {len(cells)} items")
        elif callable(cell):
            if input_size is None:
                raise ValueError("Recurrent: a cell factory needs input_size (the features of layer 0's input)")
            cells, size = [], input_size
            for _ in range(num_layers):
                layer = [cell(size) for _ in range(D)]
                cells += layer
                size = layer[0].hidden_size * (D if merge == "concat" else 1)
        else:
            raise TypeError(f"Recurrent: cell must be a cell module, a list of cells or a factory, "
                            f"not {type(cell).__name__}")
        self._check_sizes(cells, D)
        self.cells = ModuleList(cells)
        self.input_size = getattr(cells[0], "input_size", input_size)
        self.hidden_size = cells[0].hidden_size

    def _check_sizes(self, cells, D):
        for i in range(self.num_layers):
            layer = cells[i * D:(i + 1) * D]
            hs = [c.hidden_size for c in layer]
            if D == 2 and hs[0] != hs[1]:
                raise ValueError(f"Recurrent: layer {i}'s two directions have hidden sizes {hs[0]} and {hs[1]}; "
                                 "they must match")
            if i > 0:
                want = sum(c.hidden_size for c in cells[(i - 1) * D:i * D]) if self.merge == "concat" else \
                    cells[(i - 1) * D].hidden_size
                for c in layer:
                    got = getattr(c, "input_size", want)
                    if got != want:
                        raise ValueError(f"Recurrent: layer {i}'s cell takes input_size={got}, but layer {i - 1} "
                                         f"outputs {want} features (merge={self.merge!r})")

    def _masks(self, lengths, T, B, x):
        """Per step t, None (every sequence still running) or a bool Tensor (B, 1, ...) to broadcast."""
        if lengths is None:
            return [None] * T
        lengths = as_array(lengths)
        if lengths.shape != (B,) or lengths.dtype.kind not in "iu":
            raise ValueError(f"Recurrent: lengths must be B={B} integers, got shape {lengths.shape} of "
                             f"{lengths.dtype}")
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f"Recurrent: lengths must lie in [1, T={T}], got {lengths.tolist()}")
        trailing = (1,) * (x.ndim - 2)  # state dims after batch
        masks = []
        for t in range(T):
            alive = t < lengths
            masks.append(None if alive.all() else wrap(alive.reshape((B,) + trailing)))
        return masks

    def _run(self, cell, x, state, masks, reverse):
        """One direction of one layer over all steps; returns (outputs (T, B, ...), final state)."""
        T = x.shape[0]
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            new = cell(x[t], state)
            m = masks[t]
            if m is not None:  # padded step: keep the state, emit zeros
                new = _map_state(lambda a, b, m=m: where(m, a, b), new, state)
                outs[t] = where(m, cell.output(new), 0.0)
            else:
                outs[t] = cell.output(new)
            state = new
        return stack(outs, 0), state

    def forward(self, input: Tensor, states: Sequence[Tensor | tuple[Tensor, Tensor] | None] | None = None,
                lengths: Tensor | Sequence[int] | None = None) -> tuple[Tensor, list[Tensor | tuple[Tensor, Tensor]]]:
        if not isinstance(input, Tensor) or input.ndim < 3:
            got = shape_of(input) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"Recurrent: expected input of shape ({'B, T' if self.batch_first else 'T, B'}, *), "
                             f"got {got}")
        x = input.transpose(0, 1) if self.batch_first else input  # (T, B, *)
        T, B = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        if states is not None and len(states) != len(self.cells):
            raise ValueError(f"Recurrent: expected {len(self.cells)} initial states, got {len(states)}")
        masks = self._masks(lengths, T, B, x)
        finals = []
        for i in range(self.num_layers):
            outs = []
            for d in range(D):
                k = i * D + d
                cell = self.cells[k]
                s0 = states[k] if states is not None else None
                if s0 is None:
                    s0 = cell.init_state(B, x[0])
                out, s = self._run(cell, x, s0, masks, reverse=(d == 1))
                outs.append(out)
                finals.append(s)
            x = outs[0] if D == 1 else (cat(outs, 2) if self.merge == "concat" else outs[0] + outs[1])
            if i < self.num_layers - 1 and self.dropout > 0 and self.training:
                x = _dropout(x, self.dropout, True)
        return (x.transpose(0, 1) if self.batch_first else x), finals

    def extra_repr(self) -> str:
        s = f"num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += f", bidirectional=True, merge={self.merge!r}"
        return s


class Bidirectional(Recurrent):
    """Two cells over one sequence, forwards and backwards, merged: y_t = [→h_t; ←h_t] or →h_t + ←h_t.

    The notes' bidirectional layer: ŷ_t = g(W [→a_t; ←a_t] + b) (``merge='concat'``) or
    g(W (→a_t + ←a_t) + b) (``merge='sum'``); this module gives the merged a_t, a Linear gives ŷ.
    It is ``Recurrent([cell_fwd, cell_bwd], bidirectional=True, merge=merge)``: same ``forward``
    arguments (``states``, ``lengths``) and return value ``(output, [state_fwd, state_bwd])``.

    Args:
        cell_fwd, cell_bwd: cells with the same input and hidden sizes.
        merge: 'concat' (output 2H features) or 'sum' (H).
        batch_first: (B, T, *) input and output.

    Shape: input (T, B, I); output (T, B, 2H) or (T, B, H).

    Example::

        >>> from nnzoo.nn.recurrent_variants import Bidirectional, ChoGRUCell
        >>> bi = Bidirectional(ChoGRUCell(4, 6), ChoGRUCell(4, 6), merge='sum')
        >>> out, (h_fwd, h_bwd) = bi(nnzoo.randn(7, 2, 4))
        >>> out.shape, h_bwd.shape
        (nnzoo.Size([7, 2, 6]), nnzoo.Size([2, 6]))
    """

    def __init__(self, cell_fwd: Module, cell_bwd: Module, merge: str = "concat", batch_first: bool = False) -> None:
        super().__init__([cell_fwd, cell_bwd], num_layers=1, batch_first=batch_first, bidirectional=True,
                         merge=merge)
