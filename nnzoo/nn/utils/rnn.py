"""Variable-length sequences for recurrent layers (``torch.nn.utils.rnn``): padding and unpadding.

``pad_sequence`` stacks sequences of lengths L_1..L_B (each ``(L_b, *)``) into one tensor of shape
``(T, B, *)`` (or ``(B, T, *)``), T = max L_b, filling the rest with ``padding_value``;
``unpad_sequence`` cuts them back out. The two are each other's backward, so gradients flow through
both, to any order.

Packed sequences (``PackedSequence``, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpack_sequence``) will live here too.
"""
from collections.abc import Iterable

import numpy as np

from ...autograd.function import Op
from ...backend import xp
from ...tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence"]


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


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
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


def unpad_sequence(padded_sequences, lengths, batch_first=False, *, padding_side="right"):
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


# Packed sequences (PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
# unpack_sequence) come here: they reuse _slot, and PadSequence's total_length is pad_packed_sequence's.
