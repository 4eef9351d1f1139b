"""Variable-length sequences for recurrent layers (``torch.nn.utils.rnn``): padding and unpadding.

``pad_sequence`` stacks sequences of lengths L_1..L_B (each ``(L_b, *)``) into one tensor of shape
``(T, B, *)`` (or ``(B, T, *)``), T = max L_b, filling the rest with ``padding_value``;
``unpad_sequence`` cuts them back out. The two are each other's backward, so gradients flow through
both, to any order.

A packed sequence keeps only the valid steps, time-major: with the B sequences sorted by decreasing
length, ``data`` holds step 0 of every sequence, then step 1 of those still running, ...;
``batch_sizes[t]`` is how many sequences have a step t. ``pack_padded_sequence`` and
``pad_packed_sequence`` are each other's backward (a row gather and a row scatter), so gradients flow
through packing and unpacking.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence

import numpy as np

from ...autograd.arrays import as_array, wrap
from ...autograd.function import Op
from ...backend import xp
from ...tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpack_sequence", "invert_permutation"]


def _slot(batch_first, b, start, length):
    """The index of sequence ``b`` inside the padded tensor: rows start..start+length of column b."""
    rows = slice(start, start + length)
    return (b, rows) if batch_first else (rows, b)


class PadSequence(Op):
    """out[slot_b] = x_b for every b, ``padding_value`` elsewhere; x_b's gradient is grad[slot_b].

    slot_b is rows [T - L_b, T) of column b with left padding, rows [0, L_b) with right padding.
    """

    @staticmethod
    def forward(ctx, batch_first, padding_value, left, total_length, *xs):
        lengths = tuple(x.shape[0] for x in xs)
        T = max(lengths) if total_length is None else total_length
        B = len(xs)
        shape = ((B, T) if batch_first else (T, B)) + xs[0].shape[1:]
        # NOTE: np.full casts padding_value to the dtype as PyTorch does: 2.7 -> 2 for int64, 0.5 -> True
        out = xp.full(shape, padding_value, dtype=xs[0].dtype)
        for b, x in enumerate(xs):
            out[_slot(batch_first, b, T - len(x) if left else 0, len(x))] = x
        ctx.batch_first, ctx.left, ctx.lengths = batch_first, left, lengths
        return out

    @staticmethod
    def backward(ctx, grad):
        return (None, None, None, None) + UnpadSequence.apply(grad, ctx.batch_first, ctx.left, ctx.lengths)


class UnpadSequence(Op):
    """out_b = x[slot_b] (a copy, as in PyTorch); the backward pads the gradients back with zeros."""

    @staticmethod
    def forward(ctx, x, batch_first, left, lengths):
        T = x.shape[1 if batch_first else 0]
        ctx.batch_first, ctx.left, ctx.total_length = batch_first, left, T
        return tuple(x[_slot(batch_first, b, T - n if left else 0, n)].copy() for b, n in enumerate(lengths))

    @staticmethod
    def backward(ctx, *grads):
        padded = PadSequence.apply(ctx.batch_first, 0.0, ctx.left, ctx.total_length, *grads)
        return padded, None, None, None


def _side(padding_side, op):
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{op}: expected padding_side to be one of 'left' or 'right', but got "
                           f"{padding_side!r}")
    return padding_side == "left"


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length sequences into one tensor, padding the shorter ones with ``padding_value``.

    out[:L_b, b] = sequences[b] (right padding) or out[T - L_b:, b] = sequences[b] (left padding),
    T = max_b L_b. Differentiable: each sequence gets its slice of the output's gradient.

    Args:
        sequences: an iterable of B tensors of shapes ``(L_b, *)`` with the same trailing dims ``*``
            (a tensor counts as the sequence of its rows). The output takes the dtype of the first one;
            the others are cast to it (differentiably), as in PyTorch.
        batch_first (bool): output ``(B, T, *)`` if True, ``(T, B, *)`` if False. Default: False.
        padding_value (float): the value of the padded positions, cast to the output's dtype. Default: 0.
        padding_side (str): ``'right'`` (pad after each sequence) or ``'left'`` (before). Default: 'right'.

    Shape:
        - Output: ``(T, B, *)``, or ``(B, T, *)`` with ``batch_first=True``.

    Example::

        >>> from nnzoo.nn.utils.rnn import pad_sequence
        >>> a, b = nnzoo.tensor([1, 2, 3]), nnzoo.tensor([4, 5])
        >>> pad_sequence([a, b], batch_first=True)
        tensor([[1, 2, 3],
                [4, 5, 0]])
        >>> pad_sequence([a, b], batch_first=True, padding_value=-1, padding_side="left")
        tensor([[ 1,  2,  3],
                [-1,  4,  5]])
        >>> pad_sequence([nnzoo.ones(25, 300), nnzoo.ones(22, 300), nnzoo.ones(15, 300)]).shape
        nnzoo.Size([25, 3, 300])
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: expected an iterable of tensors for sequences, but got an "
                           f"argument of type {type(sequences).__name__}")
    seqs = list(sequences)  # NOTE: a Tensor iterates over its rows (unbind(0)), as torch's tuple(tensor)
    if not isinstance(batch_first, (bool, np.bool_)):
        raise TypeError(f"pad_sequence: batch_first must be a bool, got {type(batch_first).__name__}")
    if isinstance(padding_value, (complex, np.complexfloating)) or not isinstance(
            padding_value, (int, float, np.number, np.bool_)):
        raise TypeError(f"pad_sequence: padding_value must be a float, got {type(padding_value).__name__}")
    left = _side(padding_side, "pad_sequence")
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected a Tensor as element {i} of sequences, but got "
                            f"{type(s).__name__}")
        if s.ndim == 0:
            raise RuntimeError(f"pad_sequence: element {i} of sequences is a 0-d tensor; every sequence "
                               "needs a length dim, shape (L, *)")
    first = seqs[0]
    for i, s in enumerate(seqs[1:], 1):
        if s.shape[1:] != first.shape[1:]:
            # NOTE: PyTorch broadcasts here ((3, 1) pads silently into (3, 4)); a mismatch is a bug
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing dims of the first, "
                               f"but sequence 0 has shape {tuple(first.shape)} and sequence {i} has shape "
                               f"{tuple(s.shape)}")
    dtype = first.dtype
    seqs = [s if s.dtype is dtype else s.to(dtype) for s in seqs]
    return PadSequence.apply(bool(batch_first), padding_value, left, None, *seqs)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False, *,
                   padding_side: str = "right") -> list[Tensor]:
    """Cut padded sequences back out of a padded tensor: the inverse of :func:`pad_sequence`.

    Differentiable: the gradients of the pieces go back to their places in ``padded_sequences``.
    Unlike ``torch.nn.utils.rnn.unpad_sequence``, the input is never transposed in place.

    Args:
        padded_sequences (Tensor): ``(T, B, *)``, or ``(B, T, *)`` with ``batch_first=True``.
        lengths: the B lengths (a 1-D tensor, array or list of ints, each in [0, T]).
        batch_first (bool): the layout of ``padded_sequences``. Default: False.
        padding_side (str): where the padding is (nnzoo extension, keyword only): ``'right'`` (PyTorch's
            only choice) or ``'left'``.

    Returns:
        a list of B tensors, the b-th of shape ``(lengths[b], *)``.

    Example::

        >>> from nnzoo.nn.utils.rnn import pad_sequence, unpad_sequence
        >>> seqs = [nnzoo.tensor([1., 2., 3.]), nnzoo.tensor([4.])]
        >>> unpad_sequence(pad_sequence(seqs), nnzoo.tensor([3, 1]))
        [tensor([1., 2., 3.]), tensor([4.])]
    """
    if not isinstance(padded_sequences, Tensor):
        raise TypeError(f"unpad_sequence: padded_sequences must be a Tensor, got "
                        f"{type(padded_sequences).__name__}")
    left = _side(padding_side, "unpad_sequence")
    shape = tuple(padded_sequences.shape)
    if len(shape) < 2:
        raise RuntimeError(f"unpad_sequence: padded_sequences must have at least 2 dims (T, B, *), got "
                           f"shape {shape}")
    T, B = (shape[1], shape[0]) if batch_first else shape[:2]
    lens = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    if lens.ndim != 1 or (lens.size and lens.dtype.kind not in "iu"):
        raise ValueError(f"unpad_sequence: lengths must be a 1-D sequence of ints, got shape {lens.shape} "
                         f"and dtype {lens.dtype}")
    if len(lens) != B:
        raise ValueError(f"unpad_sequence: got {len(lens)} lengths for a batch of {B} sequences "
                         f"(padded_sequences of shape {shape}, batch_first={batch_first})")
    bad = (lens < 0) | (lens > T)
    if bad.any():
        b = int(np.argmax(bad))
        raise ValueError(f"unpad_sequence: lengths[{b}] = {int(lens[b])} is outside [0, {T}] (padded_sequences "
                         f"of shape {shape}, batch_first={batch_first})")
    if B == 0:
        return []
    return list(UnpadSequence.apply(padded_sequences, bool(batch_first), left, tuple(int(n) for n in lens)))



# ---- packed sequences ------------------------------------------------------------------------------------
def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation (a 1-D int64 tensor), or None for None."""
    if permutation is None:
        return None
    p = as_array(permutation)
    inv = np.empty_like(p)
    inv[p] = np.arange(len(p), dtype=p.dtype)
    return wrap(inv)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences without padding (what ``pack_padded_sequence`` returns).

    Fields: ``data`` (N, *) the valid steps, time-major; ``batch_sizes`` (T,) int64, how many sequences
    have step t; ``sorted_indices`` (B,) int64 or None, the batch order by decreasing length (None when
    the input was already sorted); ``unsorted_indices``, its inverse. Recurrent modules take and return
    it. ``PackedSequence(data, batch_sizes, sorted_indices)`` computes ``unsorted_indices`` itself.

    Example::

        >>> from nnzoo.nn.utils.rnn import pack_sequence
        >>> p = pack_sequence([nnzoo.tensor([1, 2, 3]), nnzoo.tensor([4, 5]), nnzoo.tensor([6])])
        >>> p.data, p.batch_sizes
        (tensor([1, 4, 6, 2, 5, 3]), tensor([3, 2, 1]))
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | tuple[Tensor, Tensor], batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data.to(...)``; the index tensors stay as they are. Returns self if nothing changed."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self.to(dtype=_dtypes().float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=_dtypes().float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=_dtypes().float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=_dtypes().int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=_dtypes().int32)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _dtypes():
    from ... import dtypes
    return dtypes


def _packed_rows(batch_sizes, B):
    """Row indices of the packed steps inside the padded (T*B, *) tensor: t*B + b for b < batch_sizes[t]."""
    bs = np.asarray(batch_sizes)
    return np.concatenate([t * B + np.arange(n) for t, n in enumerate(bs)]) if len(bs) else np.zeros(0, np.intp)


class GatherRows(Op):
    """out = x[rows] along dim 0 (packing); the backward scatters the gradient into zeros."""

    @staticmethod
    def forward(ctx, x, rows):
        ctx.rows, ctx.n = rows, x.shape[0]
        return xp.take(x, rows, axis=0)

    @staticmethod
    def backward(ctx, grad):
        return ScatterRows.apply(grad, ctx.rows, ctx.n, 0.0), None


class ScatterRows(Op):
    """out = full((n, *), fill); out[rows] = x (unpacking; rows are distinct); the backward gathers."""

    @staticmethod
    def forward(ctx, x, rows, n, fill):
        ctx.rows = rows
        out = xp.full((n,) + x.shape[1:], fill, dtype=x.dtype)
        out[rows] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return GatherRows.apply(grad, ctx.rows), None, None, None


def _lengths_array(lengths, op):
    lens = as_array(lengths)
    if lens.ndim != 1 or (lens.size and lens.dtype.kind not in "iu"):
        raise ValueError(f"{op}: lengths must be a 1-D sequence of ints, got shape {lens.shape} and dtype "
                         f"{lens.dtype}")
    return lens.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences: keep step t of sequence b only if t < lengths[b].

    Differentiable: ``data``'s gradient flows back to the valid positions of ``input``.

    Args:
        input (Tensor): (T, B, *), or (B, T, *) with ``batch_first=True``.
        lengths: the B lengths (list or 1-D tensor), each in [1, T].
        batch_first (bool): the layout of ``input``. Default: False.
        enforce_sorted (bool): if True the lengths must be decreasing (``sorted_indices`` is then None);
            if False the batch is sorted here (stably) and the permutation recorded. Default: True.

    Shape: ``data`` (sum of lengths, *); ``batch_sizes`` (max length,).

    Example::

        >>> from nnzoo.nn.utils.rnn import pack_padded_sequence
        >>> x = nnzoo.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
        >>> p = pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False)
        >>> p.data, p.batch_sizes, p.sorted_indices
        (tensor([4, 1, 3, 5, 2, 6]), tensor([3, 2, 1]), tensor([2, 0, 1]))
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have at least 2 dims (T, B, *), got shape "
                           f"{tuple(input.shape)}")
    lens = _lengths_array(lengths, "pack_padded_sequence")
    batch_dim = 0 if batch_first else 1
    T, B = input.shape[1 - batch_dim], input.shape[batch_dim]
    if len(lens) != B:
        raise RuntimeError(f"pack_padded_sequence: expected {B} lengths for input of shape "
                           f"{tuple(input.shape)} (batch_first={batch_first}), got {len(lens)}")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[:-1] < lens[1:]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                               "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = wrap(order.astype(np.int64))
        input = input.index_select(batch_dim, sorted_indices)
    if B and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    if B and lens[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lens[0])} exceeds the {T} steps of input "
                           f"of shape {tuple(input.shape)} (batch_first={batch_first})")
    if batch_first:
        input = input.transpose(0, 1)
    n_steps = int(lens[0]) if B else 0
    batch_sizes = (lens[None, :] > np.arange(n_steps)[:, None]).sum(1).astype(np.int64)
    flat = input.reshape(T * B, *input.shape[2:])
    data = GatherRows.apply(flat, _packed_rows(batch_sizes, B))
    return PackedSequence(data, wrap(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Unpack a :class:`PackedSequence` into a padded tensor; the inverse of :func:`pack_padded_sequence`.

    Args:
        sequence (PackedSequence): the packed batch.
        batch_first (bool): return (B, T, *) instead of (T, B, *). Default: False.
        padding_value (float): the value of the padded positions. Default: 0.
        total_length (int): pad to this many steps (at least the longest sequence). Default: the longest.

    Returns:
        (padded, lengths): the padded tensor in the original batch order, and the int64 lengths.

    Example::

        >>> from nnzoo.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        >>> x = nnzoo.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
        >>> p = pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False)
        >>> pad_packed_sequence(p, batch_first=True)
        (tensor([[1, 2, 0],
                [3, 0, 0],
                [4, 5, 6]]), tensor([2, 1, 3]))
    """
    data, batch_sizes, _, unsorted_indices = sequence
    bs = as_array(batch_sizes).astype(np.int64)
    T = len(bs)
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T = total_length
    B = int(bs[0]) if len(bs) else 0
    rows = _packed_rows(bs, B)
    padded = ScatterRows.apply(data, rows, T * B, padding_value).reshape(T, B, *data.shape[1:])
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, unsorted_indices)
        lengths = lengths[as_array(unsorted_indices)]
    return padded, wrap(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length tensors (each (L_b, *)): ``pad_sequence`` then
    ``pack_padded_sequence``.

    Example::

        >>> from nnzoo.nn.utils.rnn import pack_sequence
        >>> pack_sequence([nnzoo.tensor([1, 2]), nnzoo.tensor([3, 4, 5])], enforce_sorted=False).data
        tensor([3, 1, 4, 2, 5])
    """
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences (each (L_b, *)) held by a :class:`PackedSequence`, in the original order.

    Example::

        >>> from nnzoo.nn.utils.rnn import pack_sequence, unpack_sequence
        >>> unpack_sequence(pack_sequence([nnzoo.tensor([1, 2, 3]), nnzoo.tensor([4])]))
        [tensor([1, 2, 3]), tensor([4])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
