"""nn.utils.rnn against torch.nn.utils.rnn: pad_sequence / unpad_sequence and the packed sequences
(PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence, unpack_sequence), forward
and backward."""
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import nnzoo
from nnzoo.autograd import gradcheck, gradgradcheck
from nnzoo.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

LENGTHS = [4, 1, 6, 0, 6]


def _seqs(lengths, trailing, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + trailing).astype(dtype) for n in lengths]
    ours = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 3)])
def test_pad_sequence_matches_torch(dtype, batch_first, padding_side, trailing):
    ours, theirs = _seqs(LENGTHS, trailing, dtype)
    out = pad_sequence(ours, batch_first=batch_first, padding_value=-2.5, padding_side=padding_side)
    ref = trnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-2.5, padding_side=padding_side)
    assert out.shape == tuple(ref.shape) and out.dtype.np == dtype
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    # backward: the same random output weights in both libraries
    u = np.random.default_rng(1).standard_normal(tuple(ref.shape)).astype(dtype)
    (out * nnzoo.tensor(u)).sum().backward()
    (ref * torch.tensor(u)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_gradients_by_finite_differences(batch_first, padding_side):
    ours, _ = _seqs([3, 1, 2], (2,), np.float64)
    assert gradcheck(lambda *s: pad_sequence(s, batch_first, 0.5, padding_side), ours)
    assert gradgradcheck(lambda *s: pad_sequence(s, batch_first, 0.5, padding_side) ** 2, ours)


def test_pad_sequence_dtypes_follow_the_first_sequence_like_torch():
    cases = [
        ([np.arange(2, dtype=np.int64), np.arange(3, dtype=np.int64)], 2.7),  # truncated to 2
        ([np.arange(2, dtype=np.int64), np.ones(3, dtype=np.float64)], 0.0),  # float cast to int64
        ([np.ones(2, dtype=bool), np.zeros(3, dtype=bool)], 0.0),
        ([np.ones(2, dtype=bool), np.zeros(3, dtype=bool)], 2.5),  # nonzero -> True
        ([np.ones(2, dtype=np.float32), np.ones(3, dtype=np.float64)], float("nan")),
    ]
    for arrays, value in cases:
        out = pad_sequence([nnzoo.tensor(a) for a in arrays], padding_value=value)
        ref = trnn.pad_sequence([torch.tensor(a) for a in arrays], padding_value=value)
        assert out.numpy().dtype == ref.numpy().dtype
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_pad_sequence_mixed_float_dtypes_backward_keeps_each_dtype():
    a = nnzoo.ones(2, requires_grad=True)
    b = nnzoo.ones(3, dtype=nnzoo.float64, requires_grad=True)
    ta = torch.ones(2, requires_grad=True)
    tb = torch.ones(3, dtype=torch.float64, requires_grad=True)
    pad_sequence([a, b]).sum().backward()
    trnn.pad_sequence([ta, tb]).sum().backward()
    assert a.grad.dtype == nnzoo.float32 and b.grad.dtype == nnzoo.float64
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


def test_pad_sequence_accepts_iterables_like_torch():
    rows = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    # a tensor is the sequence of its rows; a generator is consumed once
    np.testing.assert_array_equal(pad_sequence(nnzoo.tensor(rows)).numpy(),
                                  trnn.pad_sequence(torch.tensor(rows)).numpy())
    out = pad_sequence(nnzoo.tensor(r) for r in rows)
    np.testing.assert_array_equal(out.numpy(), trnn.pad_sequence(torch.tensor(r) for r in rows).numpy())
    empty = [np.zeros((0, 3), np.float32)] * 2
    assert pad_sequence([nnzoo.tensor(e) for e in empty]).shape == \
        tuple(trnn.pad_sequence([torch.tensor(e) for e in empty]).shape)


@pytest.mark.parametrize("call, err, match", [
    (lambda: pad_sequence([]), RuntimeError, "empty list"),
    (lambda: pad_sequence(5), RuntimeError, "iterable"),
    (lambda: pad_sequence([[1, 2], [3]]), TypeError, "element 0"),
    (lambda: pad_sequence([nnzoo.ones(2, 3), nnzoo.ones(3, 4)]), RuntimeError, r"\(2, 3\).*\(3, 4\)"),
    (lambda: pad_sequence([nnzoo.ones(2, 4), nnzoo.ones(3, 1)]), RuntimeError, r"\(3, 1\)"),
    (lambda: pad_sequence([nnzoo.tensor(1.0)]), RuntimeError, "0-d"),
    (lambda: pad_sequence([nnzoo.ones(2)], padding_side="middle"), RuntimeError, "middle"),
    (lambda: pad_sequence([nnzoo.ones(2)], batch_first=1), TypeError, "batch_first"),
    (lambda: pad_sequence([nnzoo.ones(2)], padding_value=None), TypeError, "padding_value"),
])
def test_pad_sequence_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_pad_sequence_errors_where_torch_errors():
    # the same bad inputs are errors in PyTorch too (except the (3, 1) broadcast, a stated deviation)
    for bad in ([], 5, [[1, 2], [3]]):
        with pytest.raises((RuntimeError, TypeError)):
            trnn.pad_sequence(bad)
    with pytest.raises(RuntimeError):
        trnn.pad_sequence([torch.ones(2)], padding_side="middle")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch(dtype, batch_first):
    ours, _ = _seqs(LENGTHS, (3,), dtype, seed=3)
    padded = pad_sequence([s.detach() for s in ours], batch_first)
    tpadded = torch.tensor(padded.numpy(), requires_grad=True)
    padded.requires_grad_()
    pieces = unpad_sequence(padded, nnzoo.tensor(LENGTHS), batch_first)
    # torch transposes its input in place when batch_first=False: give it a clone
    tpieces = trnn.unpad_sequence(tpadded.clone(), torch.tensor(LENGTHS), batch_first)
    assert len(pieces) == len(tpieces)
    rng = np.random.default_rng(4)
    weights = [rng.standard_normal(tuple(p.shape)).astype(dtype) for p in tpieces]
    for p, tp in zip(pieces, tpieces):
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    sum((p * nnzoo.tensor(w)).sum() for p, w in zip(pieces, weights)).backward()
    sum((p * torch.tensor(w)).sum() for p, w in zip(tpieces, weights)).backward()
    np.testing.assert_array_equal(padded.grad.numpy(), tpadded.grad.numpy())
    assert padded.shape == tuple(tpadded.shape)  # our input was not transposed


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_unpad_inverts_pad(batch_first, padding_side):
    ours, _ = _seqs(LENGTHS, (2,), np.float64, seed=5)
    padded = pad_sequence(ours, batch_first, 7.0, padding_side)
    back = unpad_sequence(padded, [len(s) for s in ours], batch_first, padding_side=padding_side)
    for a, b in zip(ours, back):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # the round trip is the identity, so each sequence's gradient is exactly its output weight
    weights = [np.full(tuple(s.shape), i + 1.0) for i, s in enumerate(ours)]
    sum((b * nnzoo.tensor(w)).sum() for b, w in zip(back, weights)).backward()
    for s, w in zip(ours, weights):
        np.testing.assert_array_equal(s.grad.numpy(), w)


def test_unpad_sequence_gradients_by_finite_differences():
    x = nnzoo.tensor(np.random.default_rng(6).standard_normal((4, 3, 2)), requires_grad=True)
    assert gradcheck(lambda p: tuple(unpad_sequence(p, [4, 0, 2])), (x,))
    assert gradgradcheck(lambda p: tuple(q ** 2 for q in unpad_sequence(p, [4, 0, 2], padding_side="left")),
                         (x,))


@pytest.mark.parametrize("lengths, match", [
    ([1, 2], "2 lengths for a batch of 3"),
    ([1, 2, 5], r"lengths\[2\] = 5 is outside \[0, 4\]"),
    ([1, -1, 2], r"lengths\[1\] = -1"),
    ([[1, 2, 3]], "1-D"),
    ([1.5, 2, 3], "ints"),
])
def test_unpad_sequence_errors(lengths, match):
    with pytest.raises(ValueError, match=match):
        unpad_sequence(nnzoo.zeros(4, 3), lengths)


# ---- packed sequences ------------------------------------------------------------------------------------
def _same_packed(ours, theirs):
    np.testing.assert_array_equal(ours.data.detach().numpy(), theirs.data.detach().numpy())
    np.testing.assert_array_equal(ours.batch_sizes.numpy(), theirs.batch_sizes.numpy())
    assert ours.batch_sizes.numpy().dtype == np.int64
    for a, b in ((ours.sorted_indices, theirs.sorted_indices), (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False), ([5, 3, 3, 1], False)])
@pytest.mark.parametrize("trailing", [(), (3,)])
def test_pack_and_pad_packed_match_torch(dtype, batch_first, lengths, enforce_sorted, trailing):
    rng = np.random.default_rng(7)
    shape = ((4, 6) if batch_first else (6, 4)) + trailing
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = nnzoo.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    p = pack_padded_sequence(ours, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tp = trnn.pack_padded_sequence(theirs, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    assert isinstance(p, PackedSequence)
    _same_packed(p, tp)
    padded, lens = pad_packed_sequence(p, batch_first=batch_first, padding_value=-1.5, total_length=7)
    tpadded, tlens = trnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=-1.5, total_length=7)
    np.testing.assert_array_equal(padded.detach().numpy(), tpadded.detach().numpy())
    np.testing.assert_array_equal(lens.numpy(), tlens.numpy())
    # gradients through packing and unpacking: only the valid positions of the input get one
    u = rng.standard_normal(tuple(tpadded.shape)).astype(dtype)
    w = rng.standard_normal(tuple(tp.data.shape)).astype(dtype)
    ((padded * nnzoo.tensor(u)).sum() + (p.data * nnzoo.tensor(w)).sum()).backward()
    ((tpadded * torch.tensor(u)).sum() + (tp.data * torch.tensor(w)).sum()).backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_pack_sequence_and_unpack_sequence_match_torch():
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    ours = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    p, tp = pack_sequence(ours, enforce_sorted=False), trnn.pack_sequence(theirs, enforce_sorted=False)
    _same_packed(p, tp)
    back, tback = unpack_sequence(p), trnn.unpack_sequence(tp)
    for a, b, c in zip(back, tback, arrays):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        np.testing.assert_array_equal(a.detach().numpy(), c)
    sum((s * s).sum() for s in back).backward()
    sum((s * s).sum() for s in tback).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    sorted_ = [nnzoo.tensor(a) for a in sorted(arrays, key=len, reverse=True)]
    _same_packed(pack_sequence(sorted_), trnn.pack_sequence([torch.tensor(a.numpy()) for a in sorted_]))


def test_packing_gradients_by_finite_differences():
    x = nnzoo.randn(4, 3, 2, dtype=nnzoo.float64, requires_grad=True)

    def f(t):
        p = pack_padded_sequence(t, [2, 4, 1], enforce_sorted=False)
        return pad_packed_sequence(p, padding_value=0.5)[0] ** 2
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_packed_sequence_construction_and_conversion():
    data, bs = nnzoo.tensor([1.0, 2.0, 3.0]), nnzoo.tensor([2, 1])
    p = PackedSequence(data, bs, nnzoo.tensor([1, 0]))
    tp = trnn.PackedSequence(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2, 1]), torch.tensor([1, 0]))
    _same_packed(p, tp)
    assert PackedSequence((data, bs)).batch_sizes is bs
    d = p.double()
    assert d.data.dtype == nnzoo.float64 and d.batch_sizes is bs and d.sorted_indices is p.sorted_indices
    assert p.to(nnzoo.float32) is p and p.float() is p
    data2, _, _, _ = p  # a namedtuple
    assert data2 is data


def test_packing_errors_match_torch():
    cases = [
        lambda m, r: r.pack_padded_sequence(m.zeros(3, 2), [1, 2]),
        lambda m, r: r.pack_padded_sequence(m.zeros(3, 2), [0, 2], enforce_sorted=False),
        lambda m, r: r.pad_packed_sequence(r.pack_padded_sequence(m.zeros(3, 2), [3, 2]), total_length=2),
    ]
    from nnzoo.nn.utils import rnn as nrnn
    for case in cases:
        with pytest.raises(Exception) as ours:
            case(nnzoo, nrnn)
        with pytest.raises(Exception) as theirs:
            case(torch, trnn)
        assert ours.type is theirs.type and str(ours.value) == str(theirs.value)
