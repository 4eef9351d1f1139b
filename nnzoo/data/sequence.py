"""Sequence pre-processing: lengths and masks, sorting by length, cutting token streams for language models.

Two layouts for a language model's token stream:

* ``windows``: independent (input, target) windows of ``seq_len`` tokens, target = input shifted by
  one; shuffle them freely (a ``TensorDataset(*windows(...))`` for the DataLoader).
* ``batchify`` + ``bptt_batches``: the stream cut into B contiguous columns, ``(T, B)``, walked down in
  chunks of ``bptt`` steps (truncated backpropagation through time, PyTorch's word_language_model
  example): the hidden state of chunk k carries over to chunk k + 1, column by column.

Padding many sequences into one tensor is ``nnzoo.nn.utils.rnn.pad_sequence``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import dtypes
from ..autograd.arrays import array, as_array, wrap
from ..creation import tensor as _tensor
from ..ops.index import one_hot as _one_hot
from ..tensor import Tensor

__all__ = ["lengths", "sequence_mask", "sort_by_length", "windows", "batchify", "get_batch", "bptt_batches",
           "BPTTLoader", "one_hot"]


def _stream(stream: Any, op: str) -> Tensor:
    """A 1-D integer token stream as a Tensor (kept as is when it already is one)."""
    if not isinstance(stream, Tensor):
        arr = np.asarray(stream)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        stream = _tensor(arr)
    if stream.ndim != 1:
        raise ValueError(f"{op}: expected a 1-D token stream, got shape {tuple(stream.shape)}")
    return stream


def _positive(value: Any, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def lengths(sequences: Sequence[Any] | Tensor, padding_value: Any = None, padding_side: str = "right") -> Tensor:
    """The length of each sequence, as an int64 tensor of shape (B,).

    Args:
        sequences: a list of sequences (tensors, lists, strings: anything with ``len``), or a padded
            ``(B, T)`` tensor together with ``padding_value``.
        padding_value: for a padded tensor, the padding token: a row's length runs up to its last
            non-padding token (``'right'`` padding) or from its first (``'left'``). Padding tokens inside
            a sequence therefore count.
        padding_side (str): ``'right'`` or ``'left'``, for a padded tensor.

    Example::

        >>> from nnzoo.data.sequence import lengths
        >>> lengths(["abc", "d", ""])
        tensor([3, 1, 0])
        >>> lengths(nnzoo.tensor([[5, 6, 0], [7, 0, 0]]), padding_value=0)
        tensor([2, 1])
    """
    if padding_value is None:
        return _tensor(np.array([len(s) for s in sequences], dtype=np.int64))
    if padding_side not in ("right", "left"):
        raise ValueError(f"lengths: padding_side must be 'right' or 'left', got {padding_side!r}")
    arr = as_array(sequences)
    if arr.ndim != 2:
        raise ValueError(f"lengths: a padded batch must have shape (B, T), got {arr.shape}")
    real = arr != padding_value  # (B, T)
    T = arr.shape[1]
    if padding_side == "right":  # one past the last real token
        out = np.where(real.any(1), T - np.argmax(real[:, ::-1], axis=1), 0)
    else:  # from the first real token to the end
        out = np.where(real.any(1), T - np.argmax(real, axis=1), 0)
    return wrap(out.astype(np.int64))


def sequence_mask(lengths: Tensor | np.ndarray | Sequence[int], max_len: int | None = None) -> Tensor:
    """A bool mask of the real positions: ``mask[b, t] = t < lengths[b]``, shape (B, max_len).

    Args:
        lengths: B non-negative ints (a 1-D tensor, array or list).
        max_len (int, optional): T, the mask's width; default ``max(lengths)`` (0 for an empty batch).

    Example::

        >>> from nnzoo.data.sequence import sequence_mask
        >>> sequence_mask([3, 1])
        tensor([[ True,  True,  True],
                [ True, False, False]])
    """
    lens = as_array(lengths)
    if lens.ndim != 1 or (lens.size and lens.dtype.kind not in "iu"):
        raise ValueError(f"sequence_mask: lengths must be a 1-D sequence of ints, got shape {lens.shape} "
                         f"and dtype {lens.dtype}")
    if lens.size and lens.min() < 0:
        raise ValueError(f"sequence_mask: lengths must be non-negative, got {int(lens.min())}")
    if max_len is None:
        max_len = int(lens.max()) if lens.size else 0
    elif isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 0:
        raise ValueError(f"sequence_mask: max_len must be a non-negative int, got {max_len!r}")
    return wrap(np.arange(max_len) < lens[:, None])


def sort_by_length(sequences: Iterable[Any], descending: bool = True) -> tuple[list[Any], Tensor, Tensor]:
    """Sort sequences by length (stable: equal lengths keep their order), with the permutation both ways.

    ``sorted_seqs[i] = sequences[perm[i]]`` and ``sequences[j] = sorted_seqs[inv[j]]``: ``perm`` and
    ``inv`` index tensors in the same way (``outputs[inv]`` puts the batch back in its first order), like
    ``sorted_indices``/``unsorted_indices`` of PyTorch's ``PackedSequence``.

    Args:
        sequences: a list of sequences (anything with ``len``).
        descending (bool): longest first (what ``pack_padded_sequence(enforce_sorted=True)`` wants).

    Returns:
        ``(sorted_seqs, perm, inv)``: a list and two int64 tensors of shape (B,).

    Example::

        >>> from nnzoo.data.sequence import sort_by_length
        >>> seqs, perm, inv = sort_by_length(["ab", "abcd", "a", "cd"])
        >>> seqs, perm, inv
        (['abcd', 'ab', 'cd', 'a'], tensor([1, 0, 3, 2]), tensor([1, 0, 3, 2]))
    """
    sequences = list(sequences)
    lens = np.array([len(s) for s in sequences], dtype=np.int64)
    perm = np.argsort(-lens if descending else lens, kind="stable")
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return [sequences[i] for i in perm], wrap(perm.astype(np.int64)), wrap(inv.astype(np.int64))


def windows(stream: Tensor | np.ndarray | Sequence[int], seq_len: int,
            stride: int | None = None) -> tuple[Tensor, Tensor]:
    """Cut a 1-D token stream into (input, target) windows: ``target[n, t] == input[n, t + 1]``.

    Window n starts at token ``n * stride``: ``input[n] = stream[s : s + seq_len]`` and
    ``target[n] = stream[s + 1 : s + seq_len + 1]``. Windows that would run past the end are dropped,
    so N = (len(stream) - seq_len - 1) // stride + 1.

    Args:
        stream: the tokens (a 1-D integer tensor, array or list).
        seq_len (int): tokens per window.
        stride (int, optional): tokens between window starts; default ``seq_len`` (windows that do not
            overlap, every token a target exactly once except the first).

    Returns:
        ``(inputs, targets)``: two tensors of shape (N, seq_len) with the stream's dtype (int64 for a list).

    Example::

        >>> from nnzoo.data.sequence import windows
        >>> x, y = windows(nnzoo.arange(8), seq_len=3)
        >>> x
        tensor([[0, 1, 2],
                [3, 4, 5]])
        >>> y
        tensor([[1, 2, 3],
                [4, 5, 6]])
    """
    seq_len = _positive(seq_len, "seq_len", "windows")
    stride = seq_len if stride is None else _positive(stride, "stride", "windows")
    arr = array(_stream(stream, "windows"))
    if len(arr) < seq_len + 1:
        raise ValueError(f"windows: a stream of {len(arr)} tokens is too short for seq_len={seq_len} "
                         f"(one window needs seq_len + 1 = {seq_len + 1} tokens)")
    win = sliding_window_view(arr, seq_len + 1)[::stride]  # (N, seq_len + 1), a view
    return wrap(np.ascontiguousarray(win[:, :-1])), wrap(np.ascontiguousarray(win[:, 1:]))


def batchify(stream: Tensor | np.ndarray | Sequence[int], batch_size: int) -> Tensor:
    """Lay a token stream out as B contiguous columns: ``out[:, b] = stream[b * T : (b + 1) * T]``.

    T = len(stream) // batch_size; the last ``len(stream) % batch_size`` tokens are dropped. Reading
    down column b continues the text, so an RNN's hidden state carries from one BPTT chunk to the next
    (PyTorch's word_language_model ``batchify``).

    Args:
        stream: the tokens (a 1-D tensor, array or list).
        batch_size (int): B, the number of columns.

    Returns:
        a contiguous tensor of shape (T, B).

    Example::

        >>> from nnzoo.data.sequence import batchify
        >>> batchify(nnzoo.arange(7), 2)
        tensor([[0, 3],
                [1, 4],
                [2, 5]])
    """
    batch_size = _positive(batch_size, "batch_size", "batchify")
    arr = array(_stream(stream, "batchify"))
    T = len(arr) // batch_size
    if T == 0:
        raise ValueError(f"batchify: a stream of {len(arr)} tokens cannot fill {batch_size} columns")
    return wrap(np.ascontiguousarray(arr[:T * batch_size].reshape(batch_size, T).T))


def get_batch(source: Tensor, i: int, bptt: int) -> tuple[Tensor, Tensor]:
    """The BPTT chunk starting at row ``i`` of a batchified ``source``: input rows i..i+L, target one row on.

    ``input = source[i : i + L]``, ``target = source[i + 1 : i + 1 + L]`` with
    L = min(bptt, len(source) - 1 - i) (the last chunk may be shorter). The target keeps the (L, B)
    shape; PyTorch's example flattens it with ``target.reshape(-1)`` for the cross-entropy.

    Example::

        >>> from nnzoo.data.sequence import batchify, get_batch
        >>> x, y = get_batch(batchify(nnzoo.arange(10), 2), 0, bptt=2)
        >>> x, y
        (tensor([[0, 5],
                [1, 6]]), tensor([[1, 6],
                [2, 7]]))
    """
    if not isinstance(source, Tensor) or source.ndim < 1:
        raise ValueError("get_batch: source must be a batchified (T, B) tensor")
    bptt = _positive(bptt, "bptt", "get_batch")
    T = source.shape[0]
    if not 0 <= i < T - 1:
        raise IndexError(f"get_batch: start row {i} leaves no target: source has {T} rows, so i must be "
                         f"in [0, {T - 2}]")
    L = min(bptt, T - 1 - i)
    return source[i:i + L], source[i + 1:i + 1 + L]


def bptt_batches(source: Tensor, bptt: int) -> Iterator[tuple[Tensor, Tensor]]:
    """All BPTT chunks of a batchified ``source``, in order: ``get_batch(source, i, bptt)`` for
    i = 0, bptt, 2 * bptt, ... (ceil((T - 1) / bptt) chunks; every row but the first is a target once).

    Example::

        >>> from nnzoo.data.sequence import batchify, bptt_batches
        >>> [tuple(x.shape) for x, y in bptt_batches(batchify(nnzoo.arange(20), 2), bptt=4)]
        [(4, 2), (4, 2), (1, 2)]
    """
    bptt = _positive(bptt, "bptt", "bptt_batches")
    for i in range(0, source.shape[0] - 1, bptt):
        yield get_batch(source, i, bptt)


class BPTTLoader:
    """The truncated-BPTT batches of a token stream, re-iterable (one pass per epoch, as a ``DataLoader``):
    ``bptt_batches(batchify(stream, batch_size), bptt)``, each batch ``(input, target)`` of shape (L, B).

    Batch k+1 continues batch k column by column, so a model that carries its hidden state across
    batches (``Trainer(carry_state=True)``) reads each column as one long text.

    Args:
        stream: the tokens (1-D tensor, array or list).
        batch_size (int): B, the number of parallel columns.
        bptt (int): L, the time steps of a batch (the last batch may be shorter).

    Example::

        >>> from nnzoo.data.sequence import BPTTLoader
        >>> loader = BPTTLoader(nnzoo.arange(21), batch_size=2, bptt=4)
        >>> len(loader), [tuple(x.shape) for x, y in loader]
        (3, [(4, 2), (4, 2), (1, 2)])
    """

    def __init__(self, stream: Tensor | np.ndarray | Sequence[int], batch_size: int, bptt: int) -> None:
        self.source = batchify(stream, batch_size)
        self.batch_size = batch_size
        self.bptt = _positive(bptt, "bptt", "BPTTLoader")
        if self.source.shape[0] < 2:
            raise ValueError(f"BPTTLoader: {self.source.shape[0]} row of {batch_size} columns leaves no target; "
                             "use a longer stream or a smaller batch_size")

    def __len__(self) -> int:
        return -(-(self.source.shape[0] - 1) // self.bptt)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return bptt_batches(self.source, self.bptt)

    def tokens(self) -> int:
        """The number of target tokens in one pass."""
        return (self.source.shape[0] - 1) * self.batch_size


def one_hot(tokens: Tensor | np.ndarray | Sequence[int], num_classes: int = -1,
            dtype: dtypes.dtype | None = None) -> Tensor:
    """One-hot rows for token ids: ``nnzoo.nn.functional.one_hot`` taking lists too, with a dtype.

    Args:
        tokens: token ids (an integer tensor, array or list), any shape.
        num_classes (int): the vocabulary size; -1 takes ``max(tokens) + 1``.
        dtype: the output dtype; default int64 (PyTorch's), ``nnzoo.float32`` to feed an RNN.

    Example::

        >>> from nnzoo.data.sequence import one_hot
        >>> one_hot([0, 2], 3, dtype=nnzoo.float32)
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    if not isinstance(tokens, Tensor):
        arr = np.asarray(tokens)
        if arr.dtype.kind in "iu" or arr.size == 0:
            arr = arr.astype(np.int64)
        tokens = _tensor(arr)
    out = _one_hot(tokens, num_classes)
    return out if dtype is None else out.to(dtype)
