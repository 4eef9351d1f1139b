"""Recurrent layers with PyTorch's names, arguments, parameters and results: ``RNN``, ``LSTM``, ``GRU``
(multi-layer, bidirectional, batch_first, dropout between layers, LSTM projections, packed sequences)
and the cells ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Each layer and direction is one fused op of ``nnzoo.ops.rnn`` (its time loop and backprop through time
run on arrays); a cell step is one op. State dicts use PyTorch's keys (``weight_ih_l0``,
``bias_hh_l1_reverse``, ``weight_hr_l0``, ...) in PyTorch's order, so they load in both libraries.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import creation, dtypes
from ..autograd.arrays import array, as_array, wrap
from ..autograd.grad_mode import is_grad_enabled
from ..ops import rnn as _rnn
from ..ops.nn import dropout as _dropout
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import GatherRows, PackedSequence, ScatterRows, _packed_rows

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _unbind(t):
    """t.unbind(0); on arrays when no graph is recorded (the sampling loop's path: fewer op calls)."""
    if t.requires_grad and is_grad_enabled():
        return t.unbind(0)
    return [wrap(a) for a in array(t)]


def _stack(ts):
    """stack(ts); on arrays when no graph is recorded."""
    if is_grad_enabled() and any(t.requires_grad for t in ts):
        return stack(ts)
    return wrap(np.stack([array(t) for t in ts]))


class RNNBase(Module):
    """The common machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU` (PyTorch's ``RNNBase``).

    Parameters per layer ``k`` and direction (suffix ``_reverse`` for the backward one), in this order:
    ``weight_ih_lk`` (G*H, I_k), ``weight_hh_lk`` (G*H, H_out), ``bias_ih_lk`` (G*H), ``bias_hh_lk``
    (G*H) and, for an LSTM with ``proj_size > 0``, ``weight_hr_lk`` (proj_size, H); G = 1 (RNN), 4 (LSTM),
    3 (GRU); I_0 = input_size and I_k = num_directions * H_out above; H_out = proj_size or hidden_size.
    All are initialised from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = dict(dtype=dtype, device=device)
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                params = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    params += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    params += [("weight_hr", (proj_size, hidden_size))]
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for stem, shape in params:
                    name = f"{stem}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.empty(*shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters as a list per layer and direction: [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch packs the weights into one buffer for cuDNN here)."""

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---- input checks (PyTorch's messages) -------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        w0 = self._parameters[self._flat_weights_names[0]]
        if array(input).dtype != array(w0).dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w0.dtype}). Convert "
                             f"input: input.to({w0.dtype}), or convert model: model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
        num_directions = 2 if self.bidirectional else 1
        h = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, h)

    def check_hidden_size(self, hx: Tensor, expected: tuple[int, ...],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if array(hx).shape != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    # ---- forward -----------------------------------------------------------------------------------------
    def _unpack_input(self, input):
        """(x (T, B, I), lengths or None, sorted_indices, batch_sizes, is_batched) from any input."""
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, _ = input
            self.check_input(data, batch_sizes)
            bs = as_array(batch_sizes)
            T, B = len(bs), int(bs[0])
            x = ScatterRows.apply(data, _packed_rows(bs, B), T * B, 0.0).reshape(T, B, data.shape[-1])
            lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1)
            return x, lengths, sorted_indices, bs, True
        if input.ndim not in (2, 3):
            word = " tensor" if self.mode.startswith("RNN") else ""
            raise ValueError(f"{self._get_name()}: Expected input to be 2D or 3D, got {input.ndim}D{word} instead")
        is_batched = input.ndim == 3
        shape = tuple(input.shape)
        if not is_batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        self.check_input(input, None)
        x = input.transpose(0, 1) if self.batch_first else input
        if x.shape[0] == 0:  # a batch of 0 is fine (empty outputs), 0 steps is not (PyTorch's error)
            raise RuntimeError(f"{self._get_name()}: Expected sequence length to be larger than 0 in RNN, got "
                               f"input of shape {shape}" + (" (batch_first)" if self.batch_first else ""))
        return x, None, None, None, is_batched

    def _initial_state(self, hx, x, is_batched, packed, sorted_indices):
        """hx (L*D, B, H_out) [and cx] checked, unbatched ones lifted, zeros when None, permuted for packed."""
        B = x.shape[1]
        D = 2 if self.bidirectional else 1
        H_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        lstm = self.mode == "LSTM"
        dtype = x.dtype
        if hx is None:
            h0 = creation.zeros(self.num_layers * D, B, H_out, dtype=dtype)
            c0 = creation.zeros(self.num_layers * D, B, self.hidden_size, dtype=dtype) if lstm else None
            return h0, c0
        if lstm:
            h0, c0 = hx
            if not packed:
                want = 3 if is_batched else 2
                if h0.ndim != want or c0.ndim != want:
                    kind = "batched 3-D" if is_batched else "unbatched 2-D"
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                       f"({h0.ndim}-D, {c0.ndim}-D) tensors")
                if not is_batched:
                    h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        else:
            h0, c0 = hx, None
            if not packed:
                want = 3 if is_batched else 2
                if h0.ndim != want:
                    kind = "batched 3-D" if is_batched else "unbatched 2-D"
                    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {h0.ndim}-D tensor")
                if not is_batched:
                    h0 = h0.unsqueeze(1)
        expected = (self.num_layers * D, B, H_out)
        if lstm:
            self.check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(c0, (self.num_layers * D, B, self.hidden_size), "Expected hidden[1] size {}, got {}")
        else:
            self.check_hidden_size(h0, expected)
        if sorted_indices is not None:
            h0 = h0.index_select(1, sorted_indices)
            c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
        return h0, c0

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor | PackedSequence, Tensor | tuple[Tensor, Tensor]]:
        packed = isinstance(input, PackedSequence)
        x, lengths, sorted_indices, batch_sizes, is_batched = self._unpack_input(input)
        h0, c0 = self._initial_state(hx, x, is_batched, packed, sorted_indices)
        lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        h0s = _unbind(h0)
        c0s = _unbind(c0) if lstm else None
        h_n, c_n = [], []
        params = self._parameters
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                w = [params[n] for n in self._all_weights[k]]
                w_ih, w_hh = w[0], w[1]
                b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
                w_hr = w[-1] if self.proj_size > 0 else None
                res = _rnn.recurrent_layer(self.mode, layer_input, h0s[k], c0s[k] if lstm else None, w_ih, w_hh,
                                           b_ih, b_hh, w_hr, lengths, reverse=d == 1)
                outs.append(res[0])
                h_n.append(res[1])
                if lstm:
                    c_n.append(res[2])
            layer_input = outs[0] if D == 1 else cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        output = layer_input  # (T, B, D * H_out)
        h_n = _stack(h_n)
        c_n = _stack(c_n) if lstm else None
        if packed:
            T, B = output.shape[:2]
            data = GatherRows.apply(output.reshape(T * B, output.shape[2]), _packed_rows(batch_sizes, B))
            output = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
                c_n = c_n.index_select(1, input.unsorted_indices) if lstm else None
        else:
            if self.batch_first:
                output = output.transpose(0, 1)
            if not is_batched:
                output = output.squeeze(0 if self.batch_first else 1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
        return (output, (h_n, c_n)) if lstm else (output, h_n)


class RNN(RNNBase):
    """Multi-layer Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).

    Args:
        input_size, hidden_size: the features of x and of h.
        num_layers: stacked layers (default 1). nonlinearity: 'tanh' or 'relu' (default 'tanh').
        bias: use b_ih and b_hh (default True). batch_first: input/output (B, T, *) (default False).
        dropout: dropout on the outputs of every layer except the last, in training (default 0).
        bidirectional: also run each layer backwards and concatenate (default False).

    Shape: input (T, B, I), (B, T, I) or unbatched (T, I), or a PackedSequence; h_0 (L*D, B, H), optional.
    Returns (output (T, B, D*H), h_n (L*D, B, H)).

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(nnzoo.randn(5, 3, 10), nnzoo.randn(2, 3, 20))
        >>> output.shape, hn.shape
        (nnzoo.Size([5, 3, 20]), nnzoo.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Multi-layer LSTM: (i, f, g, o) = (sigma, sigma, tanh, sigma)(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (then h_t = W_hr h_t with ``proj_size > 0``).

    Args: as :class:`RNN` (no nonlinearity), plus proj_size: project h_t to this size (default 0: none).

    Shape: input as :class:`RNN`; (h_0 (L*D, B, H_out), c_0 (L*D, B, H)), optional.
    Returns (output (T, B, D*H_out), (h_n (L*D, B, H_out), c_n (L*D, B, H))).

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> lstm = nn.LSTM(10, 20, 2)
        >>> output, (hn, cn) = lstm(nnzoo.randn(5, 3, 10))
        >>> output.shape, hn.shape, cn.shape
        (nnzoo.Size([5, 3, 20]), nnzoo.Size([2, 3, 20]), nnzoo.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Multi-layer GRU: (r, z) = sigma(W_i x_t + b_i + W_h h_{t-1} + b_h),
    n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn)), h_t = (1 - z) n + z h_{t-1}.

    Args and shapes: as :class:`RNN` (no nonlinearity).

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> gru = nn.GRU(10, 20, 2, batch_first=True)
        >>> output, hn = gru(nnzoo.randn(3, 5, 10))
        >>> output.shape, hn.shape
        (nnzoo.Size([3, 5, 20]), nnzoo.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---- cells ------------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """The parameters of a cell: ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``,
    ``bias_hh`` (G*H) or None; all from U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = dict(dtype=dtype, device=device)
        self.weight_ih = Parameter(creation.empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(creation.empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _lift(self, input, hx, n_states):
        """Checks; unbatched (1-D) input and state lifted to a batch of 1; zero states for hx=None."""
        name = self._get_name()
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        states = None if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        if states is not None:
            for idx, value in enumerate(states):
                if value.ndim not in (1, 2):
                    what = "hidden" if n_states == 1 else f"hx[{idx}]"
                    raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.ndim}D instead")
        is_batched = input.ndim == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            zeros = creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            states = (zeros,) * n_states
        elif not is_batched:
            states = tuple(s.unsqueeze(0) for s in states)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} expected "
                               f"{self.input_size} (input of shape {tuple(input.shape)})")
        for s in states:
            if tuple(s.shape) != (input.shape[0], self.hidden_size):
                raise RuntimeError(f"{name}: hidden of shape {tuple(s.shape)} does not fit input of shape "
                                   f"{tuple(input.shape)}: expected {(input.shape[0], self.hidden_size)}")
        return input, states, is_batched


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), one op per call.

    Args: input_size, hidden_size, bias (default True), nonlinearity 'tanh' or 'relu' (default 'tanh').

    Shape: input (B, I) or (I,); hx (B, H) or (H,), zeros if None. Output (B, H) or (H,).

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> cell = nn.RNNCell(10, 20)
        >>> hx = nnzoo.randn(3, 20)
        >>> for x in nnzoo.randn(6, 3, 10):
        ...     hx = cell(x, hx)
        >>> hx.shape
        nnzoo.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), is_batched = self._lift(input, hx, 1)
        if self.nonlinearity == "tanh":
            op = _rnn.RNNTanhCellStep
        elif self.nonlinearity == "relu":
            op = _rnn.RNNReluCellStep
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        ret = op.apply(input, h, None, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """(i, f, g, o) = (sigma, sigma, tanh, sigma)(W_ih x + b_ih + W_hh h + b_hh); c' = f c + i g;
    h' = o tanh(c'); one op per call.

    Shape: input (B, I) or (I,); hx = (h, c), each (B, H) or (H,), zeros if None. Returns (h', c').

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(nnzoo.randn(3, 10))
        >>> h.shape, c.shape
        (nnzoo.Size([3, 20]), nnzoo.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        input, (h, c), is_batched = self._lift(input, hx, 2)
        h, c = _rnn.LSTMCellStep.apply(input, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """(r, z) = sigma(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
    h' = (1 - z) n + z h; one op per call.

    Shape: input (B, I) or (I,); hx (B, H) or (H,), zeros if None. Output (B, H) or (H,).

    Example::

        >>> from nnzoo.nn import recurrent as nn
        >>> nn.GRUCell(10, 20)(nnzoo.randn(3, 10)).shape
        nnzoo.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), is_batched = self._lift(input, hx, 1)
        ret = _rnn.GRUCellStep.apply(input, h, None, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)
