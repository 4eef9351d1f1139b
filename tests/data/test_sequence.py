"""nnzoo.data.sequence: expectations from NumPy loops and stated properties (torch where it has the feature)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nnzoo
from nnzoo.data.sequence import (
    batchify,
    bptt_batches,
    get_batch,
    lengths,
    one_hot,
    sequence_mask,
    sort_by_length,
    windows,
)
from nnzoo.nn.utils.rnn import pad_sequence

RNG = np.random.default_rng(0)
SEQS = [RNG.integers(1, 9, n) for n in (5, 0, 3, 7, 3, 1)]


def test_lengths_of_a_list_and_of_padded_batches():
    expect = np.array([len(s) for s in SEQS])
    out = lengths([nnzoo.tensor(s) for s in SEQS])
    assert out.dtype == nnzoo.int64
    np.testing.assert_array_equal(out.numpy(), expect)
    for side in ("right", "left"):
        padded = pad_sequence([nnzoo.tensor(s) for s in SEQS], batch_first=True, padding_side=side)
        np.testing.assert_array_equal(lengths(padded, padding_value=0, padding_side=side).numpy(), expect)


def test_lengths_counts_padding_tokens_inside_a_sequence():
    padded = nnzoo.tensor([[3, 0, 4, 0, 0], [0, 0, 0, 0, 0], [0, 0, 5, 0, 2]])
    # right padding: up to the last non-padding token, a NumPy loop as the reference
    ref = [max((t + 1 for t, v in enumerate(row) if v != 0), default=0) for row in padded.tolist()]
    np.testing.assert_array_equal(lengths(padded, padding_value=0).numpy(), ref)
    with pytest.raises(ValueError, match="padding_side"):
        lengths(padded, padding_value=0, padding_side="up")


@pytest.mark.parametrize("max_len", [None, 9])
def test_sequence_mask_matches_a_loop(max_len):
    lens = [len(s) for s in SEQS]
    T = max(lens) if max_len is None else max_len
    ref = np.array([[t < n for t in range(T)] for n in lens])
    out = sequence_mask(nnzoo.tensor(lens), max_len)
    assert out.dtype == nnzoo.bool
    np.testing.assert_array_equal(out.numpy(), ref)


def test_sequence_mask_matches_where_pad_sequence_puts_the_data():
    padded = pad_sequence([nnzoo.tensor(s) for s in SEQS], batch_first=True, padding_value=-1)
    np.testing.assert_array_equal(sequence_mask([len(s) for s in SEQS]).numpy(), padded.numpy() != -1)


def test_sequence_mask_edge_cases_and_errors():
    assert sequence_mask([]).shape == (0, 0)
    assert sequence_mask([0, 0]).shape == (2, 0)
    with pytest.raises(ValueError, match="non-negative"):
        sequence_mask([2, -1])
    with pytest.raises(ValueError, match="1-D"):
        sequence_mask([[1, 2]])
    with pytest.raises(ValueError, match="max_len"):
        sequence_mask([1], max_len=-1)


@pytest.mark.parametrize("descending", [True, False])
def test_sort_by_length_permutations(descending):
    items = ["x" * len(s) + str(i) for i, s in enumerate(SEQS)]  # distinct items with the SEQS lengths
    out, perm, inv = sort_by_length(items, descending)
    ls = [len(s) for s in out]
    assert ls == sorted(ls, reverse=descending)
    assert out == [items[i] for i in perm.tolist()]
    assert [out[j] for j in inv.tolist()] == items
    # stable: equal lengths keep their input order, like Python's sorted
    assert out == sorted(items, key=len, reverse=descending)
    # perm/inv index tensors: padded[inv] restores the original order
    padded = nnzoo.tensor(np.arange(len(items)))[perm]
    np.testing.assert_array_equal(padded[inv].numpy(), np.arange(len(items)))


def _windows_ref(stream, seq_len, stride):
    starts = range(0, len(stream) - seq_len, stride)
    return (np.array([stream[s:s + seq_len] for s in starts]),
            np.array([stream[s + 1:s + seq_len + 1] for s in starts]))


@pytest.mark.parametrize("n, seq_len, stride", [(50, 7, None), (50, 7, 3), (8, 7, None), (51, 10, 10), (30, 4, 9)])
def test_windows_match_a_loop(n, seq_len, stride):
    stream = RNG.integers(0, 100, n)
    x, y = windows(nnzoo.tensor(stream), seq_len, stride)
    rx, ry = _windows_ref(stream, seq_len, stride or seq_len)
    np.testing.assert_array_equal(x.numpy(), rx)
    np.testing.assert_array_equal(y.numpy(), ry)
    assert x.shape[0] == (n - seq_len - 1) // (stride or seq_len) + 1
    np.testing.assert_array_equal(y.numpy()[:, :-1], x.numpy()[:, 1:])  # target[t] == input[t + 1]


def test_windows_keep_dtype_and_reject_bad_input():
    x, _ = windows(list(range(10)), 3)
    assert x.dtype == nnzoo.int64
    x, _ = windows(np.arange(10, dtype=np.int32), 3)
    assert x.dtype == nnzoo.int32
    with pytest.raises(ValueError, match="too short"):
        windows(nnzoo.arange(5), 5)
    with pytest.raises(ValueError, match="seq_len"):
        windows(nnzoo.arange(5), 0)
    with pytest.raises(ValueError, match="1-D"):
        windows(nnzoo.zeros(3, 3, dtype=nnzoo.int64), 1)


@pytest.mark.parametrize("n, bsz", [(103, 4), (100, 10), (7, 7), (9, 1)])
def test_batchify_columns_are_contiguous_slices_of_the_stream(n, bsz):
    stream = RNG.integers(0, 50, n)
    out = batchify(nnzoo.tensor(stream), bsz)
    T = n // bsz
    assert out.shape == (T, bsz) and out.is_contiguous()
    # reading the columns one after the other gives the stream, minus the dropped remainder
    np.testing.assert_array_equal(out.numpy().T.reshape(-1), stream[:T * bsz])
    # the word_language_model recipe, in torch
    ref = torch.tensor(stream)[:T * bsz].view(bsz, -1).t().contiguous()
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    with pytest.raises(ValueError, match="cannot fill"):
        batchify(nnzoo.arange(3), 4)


@pytest.mark.parametrize("bptt", [1, 5, 35])
def test_bptt_batches_cover_the_source_once(bptt):
    source = batchify(nnzoo.tensor(RNG.integers(0, 50, 403)), 4)
    T = source.shape[0]
    chunks = list(bptt_batches(source, bptt))
    assert len(chunks) == -(-(T - 1) // bptt)
    xs = np.concatenate([x.numpy() for x, _ in chunks])
    ys = np.concatenate([y.numpy() for _, y in chunks])
    np.testing.assert_array_equal(xs, source.numpy()[:-1])  # every row but the last is an input once
    np.testing.assert_array_equal(ys, source.numpy()[1:])  # every row but the first is a target once
    for i, (x, y) in zip(range(0, T - 1, bptt), chunks):
        gx, gy = get_batch(source, i, bptt)
        np.testing.assert_array_equal(x.numpy(), gx.numpy())
        np.testing.assert_array_equal(y.numpy(), gy.numpy())


def test_get_batch_bounds():
    source = batchify(nnzoo.arange(20), 2)  # (10, 2)
    x, y = get_batch(source, 8, 5)
    assert x.shape == y.shape == (1, 2)
    with pytest.raises(IndexError, match=r"\[0, 8\]"):
        get_batch(source, 9, 5)


def test_one_hot_matches_torch_and_takes_lists():
    ids = RNG.integers(0, 6, (3, 4))
    np.testing.assert_array_equal(one_hot(ids.tolist(), 6).numpy(), TF.one_hot(torch.tensor(ids), 6).numpy())
    np.testing.assert_array_equal(one_hot(nnzoo.tensor(ids)).numpy(), TF.one_hot(torch.tensor(ids)).numpy())
    out = one_hot([1, 0], 3, dtype=nnzoo.float32)
    assert out.dtype == nnzoo.float32
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.float32)[[1, 0]])
