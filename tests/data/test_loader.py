"""DataLoader, default_collate and default_convert against torch.utils.data on the same data: batch
structure, values, dtypes, order, len and argument checks; shuffling by its properties (the random
streams are nnzoo's, not PyTorch's)."""
import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import nnzoo
from nnzoo.data.dataset import Dataset, IterableDataset, Subset, TensorDataset, random_split
from nnzoo.data.loader import DataLoader, default_collate, default_convert, get_worker_info
from nnzoo.data.sampler import BatchSampler, SequentialSampler

Point = namedtuple("Point", "x y")


def _raises(fn):
    try:
        fn()
    except Exception as e:
        return type(e)
    return None


def same(a, b, path="batch"):
    """Assert that nnzoo structure ``a`` equals torch structure ``b``: container types, values and dtypes."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, nnzoo.Tensor), f"{path}: {type(a).__name__} is not a Tensor"
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], f"{path}: {a.dtype} vs {b.dtype}"
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=path)
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b), f"{path}: {a!r} vs {b!r}"
        for k in b:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} vs {b!r}"


def to_torch(sample):
    """The same sample for torch: nnzoo Tensors become torch tensors, everything else is shared."""
    if isinstance(sample, nnzoo.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, dict):
        return {k: to_torch(v) for k, v in sample.items()}
    if isinstance(sample, Point):
        return Point(*map(to_torch, sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(map(to_torch, sample))
    return sample


class Items(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class TorchItems(tud.Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class Stream(IterableDataset):
    def __init__(self, items, length=None):
        self.items, self.length = items, length

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items) if self.length is None else self.length


class TorchStream(tud.IterableDataset):
    def __init__(self, items, length=None):
        self.items, self.length = items, length

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items) if self.length is None else self.length


def _rng_samples(kind, n=7):
    rng = np.random.default_rng(0)
    if kind == "tensors":
        return [(nnzoo.tensor(rng.standard_normal(3).astype(np.float32)), nnzoo.tensor(i)) for i in range(n)]
    if kind == "numpy":
        return [(rng.standard_normal((2, 2)), np.float32(i), np.int64(i), np.bool_(i % 2)) for i in range(n)]
    if kind == "python":
        return [(float(i) / 3, i, i % 2 == 0, f"s{i}", bytes([65 + i])) for i in range(n)]
    if kind == "dict":
        return [{"x": nnzoo.tensor([i, i + 1]), "meta": {"id": i, "name": f"n{i}"}} for i in range(n)]
    if kind == "namedtuple":
        return [Point(nnzoo.tensor([float(i)]), [i, 2 * i]) for i in range(n)]
    if kind == "list":
        return [[i, float(i), [i, i]] for i in range(n)]
    raise ValueError(kind)


KINDS = ["tensors", "numpy", "python", "dict", "namedtuple", "list"]


# ---- default_collate / default_convert against torch ----------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_default_collate_matches_torch(kind):
    samples = _rng_samples(kind, 4)
    same(default_collate(samples), tud.default_collate([to_torch(s) for s in samples]))


@pytest.mark.parametrize("batch", [[1, 2.5], [2.5, 1], [True, False], [np.float32(1.5), np.float32(2)],
                                   [np.float64(1), np.float64(2)], [np.int32(3), np.int32(4)], ["a", "b"],
                                   [np.array([1, 2], dtype=np.uint8), np.array([3, 4], dtype=np.uint8)]])
def test_default_collate_dtype_rules_match_torch(batch):
    same(default_collate(batch), tud.default_collate(batch))


@pytest.mark.parametrize("kind", KINDS)
def test_default_convert_matches_torch(kind):
    for s in _rng_samples(kind, 2):
        same(default_convert(s), tud.default_convert(to_torch(s)))
    arr = np.array(["a", "b"])
    assert default_convert(arr) is arr


def test_default_collate_errors_name_shapes_and_positions():
    with pytest.raises(RuntimeError, match=r"shapes \(3, 2\) and \(4, 2\) at batch position 2.*pad_sequence"):
        default_collate([nnzoo.zeros(3, 2), nnzoo.zeros(3, 2), nnzoo.zeros(4, 2)])
    with pytest.raises(RuntimeError, match=r"shapes \(3,\) and \(3, 1\) at batch position 1$"):
        default_collate([nnzoo.zeros(3), nnzoo.zeros(3, 1)])
    with pytest.raises(RuntimeError, match="element 0 has length 2 and element 1 has length 3"):
        default_collate([[1, 2], [1, 2, 3]])
    assert _raises(lambda: tud.default_collate([[1, 2], [1, 2, 3]])) is RuntimeError  # the same type as torch
    for bad in ([object(), object()], [np.array(["a"]), np.array(["b"])]):
        assert _raises(lambda bad=bad: default_collate(bad)) is _raises(lambda bad=bad: tud.default_collate(bad)) \
            is TypeError


# ---- DataLoader order, structure and len against torch ----------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 3, 7, 10, None])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_sequential_loader_matches_torch(kind, batch_size, drop_last):
    if batch_size is None and drop_last:
        return  # an error in both (tested below)
    samples = _rng_samples(kind)
    nz = DataLoader(Items(samples), batch_size=batch_size, drop_last=drop_last)
    th = tud.DataLoader(TorchItems([to_torch(s) for s in samples]), batch_size=batch_size, drop_last=drop_last)
    assert len(nz) == len(th)
    nz_batches, th_batches = list(nz), list(th)
    assert len(nz_batches) == len(th_batches) == len(nz)
    for a, b in zip(nz_batches, th_batches):
        same(a, b)


@pytest.mark.parametrize("batch_size", [2, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_loader_matches_torch(batch_size, drop_last):
    x = np.random.default_rng(1).standard_normal((11, 2, 3)).astype(np.float32)
    y = np.arange(11)
    nz = DataLoader(TensorDataset(nnzoo.tensor(x), nnzoo.tensor(y)), batch_size=batch_size, drop_last=drop_last)
    th = tud.DataLoader(tud.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=batch_size,
                        drop_last=drop_last)
    assert len(nz) == len(th)
    for a, b in zip(nz, th, strict=True):
        same(a, b)


def test_fast_tensor_batches_equal_the_collated_rows():
    x = nnzoo.tensor(np.random.default_rng(2).standard_normal((20, 3)))
    ds = TensorDataset(x, nnzoo.arange(20))
    sub = Subset(random_split(ds, [15, 5], generator=nnzoo.Generator().manual_seed(0))[0], list(range(14, -1, -2)))
    for data in (ds, sub):
        sampler = BatchSampler(SequentialSampler(data), 4, False)
        fast = list(DataLoader(data, batch_sampler=sampler))
        slow = list(DataLoader(data, batch_sampler=sampler, collate_fn=lambda b: default_collate(b)))
        assert len(fast) == len(slow)
        for a, b in zip(fast, slow):
            assert type(a) is type(b) is list
            for u, v in zip(a, b):
                assert u.dtype == v.dtype
                np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_batch_sampler_and_sampler_arguments_match_torch():
    samples = _rng_samples("python", 9)
    order = [8, 1, 4, 4, 0]
    batches = [[3, 1], [0], [8, 2, 5]]
    for kw in (dict(sampler=order, batch_size=2), dict(batch_sampler=batches), dict(sampler=order, batch_size=None)):
        nz, th = DataLoader(Items(samples), **kw), tud.DataLoader(TorchItems(samples), **kw)
        assert len(nz) == len(th)
        for a, b in zip(nz, th, strict=True):
            same(a, b)


def test_getitems_is_used_for_batches():
    class Batched(Items):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self.items[i] for i in indices]

    out = list(DataLoader(Batched(list(range(6))), batch_size=4))
    assert Batched.calls == 2 and [b.tolist() for b in out] == [[0, 1, 2, 3], [4, 5]]


# ---- IterableDataset ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [None, 1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_matches_torch(batch_size, drop_last):
    if batch_size is None and drop_last:
        return
    items = [(i, float(i)) for i in range(10)]
    nz = DataLoader(Stream(items), batch_size=batch_size, drop_last=drop_last)
    th = tud.DataLoader(TorchStream(items), batch_size=batch_size, drop_last=drop_last)
    assert len(nz) == len(th)
    for a, b in zip(nz, th, strict=True):
        same(a, b)


def test_iterable_dataset_shorter_than_its_len_warns_like_torch():
    def run(loader):
        len(loader)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(loader)
        return len(caught)
    assert run(DataLoader(Stream(range(5), length=3), batch_size=None)) == \
        run(tud.DataLoader(TorchStream(range(5), length=3), batch_size=None)) == 2


# ---- shuffling -------------------------------------------------------------------------------------------------
def _epoch(loader):
    return [v for batch in loader for v in batch.tolist()]


def test_shuffle_gives_a_new_permutation_every_epoch():
    loader = DataLoader(Items(list(range(40))), batch_size=8, shuffle=True, generator=nnzoo.Generator().manual_seed(0))
    epochs = [_epoch(loader) for _ in range(3)]
    assert all(sorted(e) == list(range(40)) for e in epochs) and len({tuple(e) for e in epochs}) == 3


def test_shuffle_reproducible_with_generator_and_manual_seed():
    def run(**kw):
        loader = DataLoader(Items(list(range(30))), batch_size=4, shuffle=True, **kw)
        return [_epoch(loader) for _ in range(2)]
    assert run(generator=nnzoo.Generator().manual_seed(5)) == run(generator=nnzoo.Generator().manual_seed(5))
    nnzoo.manual_seed(9)
    a = run()
    nnzoo.manual_seed(9)
    assert a == run() and a != run()


def test_num_workers_gives_the_same_batches_without_warnings():
    samples = _rng_samples("tensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loader = DataLoader(Items(samples), batch_size=3, num_workers=4, persistent_workers=True, prefetch_factor=2,
                            pin_memory=True, worker_init_fn=lambda i: None)
        for a, b in zip(loader, DataLoader(Items(samples), batch_size=3), strict=True):
            for u, v in zip(a, b):
                np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert get_worker_info() is None and tud.get_worker_info() is None


def test_iterator_has_len():
    it = iter(DataLoader(Items(list(range(10))), batch_size=4))
    assert len(it) == 3 and len(list(it)) == 3


# ---- argument checks: the same errors as torch --------------------------------------------------------------------
BAD = {
    "shuffle_and_sampler": dict(shuffle=True, sampler=[0, 1]),
    "batch_sampler_and_batch_size": dict(batch_sampler=[[0]], batch_size=2),
    "batch_sampler_and_shuffle": dict(batch_sampler=[[0]], shuffle=True),
    "batch_sampler_and_sampler": dict(batch_sampler=[[0]], sampler=[0]),
    "batch_sampler_and_drop_last": dict(batch_sampler=[[0]], drop_last=True),
    "no_batching_and_drop_last": dict(batch_size=None, drop_last=True),
    "negative_workers": dict(num_workers=-1),
    "negative_timeout": dict(timeout=-1),
    "prefetch_without_workers": dict(prefetch_factor=2),
    "persistent_without_workers": dict(persistent_workers=True),
    "zero_batch_size": dict(batch_size=0),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_arguments_raise_like_torch(name):
    kw = BAD[name]
    assert _raises(lambda: DataLoader(Items([1, 2]), **kw)) \
        is _raises(lambda: tud.DataLoader(TorchItems([1, 2]), **kw)) is ValueError


@pytest.mark.parametrize("kw", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_iterable_dataset_rejects_ordering_like_torch(kw):
    assert _raises(lambda: DataLoader(Stream([1]), **kw)) is _raises(lambda: tud.DataLoader(TorchStream([1]), **kw)) \
        is ValueError


def test_attributes_are_frozen_like_torch():
    for loader in (DataLoader(Items([1])), tud.DataLoader(TorchItems([1]))):
        assert _raises(lambda loader=loader: setattr(loader, "batch_size", 4)) is ValueError
        loader.collate_fn = default_collate  # other attributes may change
