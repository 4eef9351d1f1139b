"""Datasets and splits: against torch.utils.data on the same data where the result is deterministic,
and by their stated properties (partitions, sizes, per-class proportions, reproducibility) where the
random streams differ (nnzoo's generators are not PyTorch's)."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, settings
from hypothesis import strategies as st

import nnzoo
from nnzoo.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    _apportion,
    random_split,
    train_val_test_split,
)


class Seq(Dataset):
    """A map-style dataset over a list (the same class shape as the torch one below)."""

    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class TorchSeq(tud.Dataset):
    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


class TorchStream(tud.IterableDataset):
    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _raises(fn):
    """The exception type fn() raises, or None."""
    try:
        fn()
    except Exception as e:
        return type(e)
    return None


# ---- TensorDataset, StackDataset, Subset ----------------------------------------------------------------
def test_tensor_dataset_rows_match_torch():
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    y = np.arange(6)
    nz, th = TensorDataset(nnzoo.tensor(x), nnzoo.tensor(y)), tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(nz) == len(th)
    for i in [0, 3, 5, -1, -6]:
        for a, b in zip(nz[i], th[i]):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(nnzoo.zeros(3), nnzoo.zeros(4))


@pytest.mark.parametrize("keywords", [False, True])
def test_stack_dataset_matches_torch(keywords):
    a, b = list(range(5)), list("abcde")
    if keywords:
        nz, th = StackDataset(num=Seq(a), char=Seq(b)), tud.StackDataset(num=TorchSeq(a), char=TorchSeq(b))
    else:
        nz, th = StackDataset(Seq(a), Seq(b)), tud.StackDataset(TorchSeq(a), TorchSeq(b))
    assert len(nz) == len(th) and [nz[i] for i in range(5)] == [th[i] for i in range(5)]
    assert _raises(lambda: StackDataset(Seq(a), Seq(b[:3]))) is ValueError
    assert _raises(lambda: tud.StackDataset(TorchSeq(a), TorchSeq(b[:3]))) is ValueError


def test_subset_matches_torch():
    items, idx = list(range(100, 110)), [7, 2, 2, 9, 0]
    nz, th = Subset(Seq(items), idx), tud.Subset(TorchSeq(items), idx)
    assert len(nz) == len(th) == len(idx)
    assert [nz[k] for k in range(-5, 5)] == [th[k] for k in range(-5, 5)]
    assert nz.__getitems__([4, 0, 1]) == th.__getitems__([4, 0, 1])


def test_subset_subclass_must_override_getitems_like_torch():
    class Bad(Subset):
        def __getitem__(self, i):
            return 0

    class TorchBad(tud.Subset):
        def __getitem__(self, i):
            return 0

    assert _raises(lambda: Bad([1], [0])) is NotImplementedError
    assert _raises(lambda: TorchBad([1], [0])) is NotImplementedError


# ---- ConcatDataset, ChainDataset, + ---------------------------------------------------------------------
def test_concat_dataset_matches_torch():
    parts = [list(range(3)), [], list(range(10, 14)), [99]]
    nz, th = ConcatDataset([Seq(p) for p in parts]), tud.ConcatDataset([TorchSeq(p) for p in parts])
    assert len(nz) == len(th) and nz.cumulative_sizes == th.cumulative_sizes
    n = len(th)
    assert [nz[i] for i in range(-n, n)] == [th[i] for i in range(-n, n)]
    # too negative: ValueError in both; past the end: IndexError in both
    assert _raises(lambda: nz[-n - 1]) is _raises(lambda: th[-n - 1]) is ValueError
    assert _raises(lambda: nz[n]) is _raises(lambda: th[n]) is IndexError


def test_add_concatenates_map_datasets_and_chains_streams():
    cat = Seq([1, 2]) + Seq([3])
    assert isinstance(cat, ConcatDataset) and [cat[i] for i in range(len(cat))] == [1, 2, 3]
    chain = Stream([1, 2]) + Stream([3])
    th_chain = TorchStream([1, 2]) + TorchStream([3])
    assert isinstance(chain, ChainDataset) and list(chain) == list(th_chain) and len(chain) == len(th_chain)


def test_concat_rejects_streams_and_chain_rejects_map_datasets():
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Stream([1])])
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Seq([1])]))


# ---- random_split ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (30, [0.3, 0.3, 0.4]),
                                        (7, [0.25, 0.25, 0.25, 0.25]), (5, [5, 0]),
                                        (3, [0.1, 0.1, 0.8])])
def test_random_split_sizes_match_torch_and_partition(n, lengths):
    with warnings.catch_warnings(record=True) as caught_nz:
        warnings.simplefilter("always")
        parts = random_split(range(n), lengths, generator=nnzoo.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as caught_th:
        warnings.simplefilter("always")
        th_parts = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [len(p) for p in th_parts]
    assert len(caught_nz) == len(caught_th)  # both warn about empty splits from fractions, and only then
    assert sorted(i for p in parts for i in p.indices) == list(range(n))
    assert all(list(p) == [p.dataset[i] for i in p.indices] for p in parts)


def test_random_split_is_reproducible_and_random():
    def split(seed):
        return [p.indices for p in random_split(range(50), [0.5, 0.5], generator=nnzoo.Generator().manual_seed(seed))]
    assert split(1) == split(1)
    assert split(1) != split(2)
    nnzoo.manual_seed(3)
    a = [p.indices for p in random_split(range(50), [25, 25])]
    nnzoo.manual_seed(3)
    assert a == [p.indices for p in random_split(range(50), [25, 25])]


def test_random_split_errors_match_torch():
    for lengths in ([3, 3], [0.5, 0.6], [1.2, -0.2]):
        assert _raises(lambda lengths=lengths: random_split(range(5), lengths)) is ValueError
        assert _raises(lambda lengths=lengths: tud.random_split(range(5), lengths)) is ValueError


# ---- train_val_test_split ------------------------------------------------------------------------------
def _check_table(counts, fracs, table):
    counts = np.asarray(counts)
    targets = counts[:, None] * np.asarray(fracs)[None, :]
    np.testing.assert_array_equal(table.sum(1), counts)
    assert np.all(np.abs(table - targets) < 1 + 1e-9), (table, targets)
    assert np.all(np.abs(table.sum(0) - targets.sum(0)) < 1 + 1e-9), (table.sum(0), targets.sum(0))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=25), st.integers(0, 100), st.integers(0, 100))
def test_apportion_keeps_every_cell_and_total_within_one(counts, v, t):
    val, test = v / 200, t / 200  # val + test <= 1
    fracs = np.array([1 - val - test, val, test])
    _check_table(counts, fracs, _apportion(np.array(counts), fracs))


def _class_counts(labels, subset):
    return np.bincount(np.asarray(labels)[subset.indices], minlength=int(np.max(labels)) + 1)


@pytest.mark.parametrize("as_type", [list, np.array, nnzoo.tensor])
def test_stratified_split_of_labels(as_type):
    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=203, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    parts = train_val_test_split(as_type(labels.tolist()), val=0.15, test=0.2, seed=0)
    counts = np.bincount(labels)
    table = np.stack([_class_counts(labels, p) for p in parts], axis=1)
    _check_table(counts, [0.65, 0.15, 0.2], table)
    everything = sorted(i for p in parts for i in p.indices)
    assert everything == list(range(len(labels)))
    assert all(p.indices == sorted(p.indices) for p in parts)


def test_stratified_split_of_a_dataset_and_reproducibility():
    y = np.repeat(np.arange(3), [40, 25, 10])
    ds = TensorDataset(nnzoo.zeros(len(y), 2), nnzoo.tensor(y))
    a = train_val_test_split(ds, val=0.2, test=0.2, stratify=ds.tensors[1], generator=nnzoo.Generator().manual_seed(5))
    b = train_val_test_split(ds, val=0.2, test=0.2, stratify=ds.tensors[1], seed=5)
    c = train_val_test_split(ds, val=0.2, test=0.2, stratify=ds.tensors[1], seed=6)
    assert [p.indices for p in a] == [p.indices for p in b] != [p.indices for p in c]
    assert all(p.dataset is ds for p in a)
    _check_table(np.bincount(y), [0.6, 0.2, 0.2], np.stack([_class_counts(y, p) for p in a], axis=1))
    assert [x[1].item() for x in a[2]] == [int(y[i]) for i in a[2].indices]


def test_unstratified_split_sizes():
    parts = train_val_test_split(Seq(range(101)), val=0.1, test=0.25, seed=0)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == 101
    assert all(math.floor(f * 101) <= s <= math.ceil(f * 101) for f, s in zip([0.65, 0.1, 0.25], sizes))
    assert sorted(i for p in parts for i in p.indices) == list(range(101))


def test_train_val_test_split_errors():
    with pytest.raises(ValueError, match="at most 1"):
        train_val_test_split([0, 1] * 5, val=0.6, test=0.5)
    with pytest.raises(ValueError, match="fraction"):
        train_val_test_split([0, 1] * 5, val=-0.1)
    with pytest.raises(ValueError, match="4 labels for a dataset of length 5"):
        train_val_test_split(Seq(range(5)), stratify=[0, 1, 0, 1])
    with pytest.raises(ValueError, match="not both"):
        train_val_test_split([0, 1], seed=0, generator=nnzoo.Generator())
