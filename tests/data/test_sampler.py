"""Samplers: deterministic ones against torch.utils.data; random ones by their properties (each epoch a
permutation, reproducible with a seeded nnzoo.Generator or nnzoo.manual_seed, different per epoch),
frequencies within 5 binomial standard deviations (a correct sampler fails with probability < 1e-6)."""
import math

import numpy as np
import pytest
import torch.utils.data as tud

import nnzoo
from nnzoo.data.sampler import (
    BatchSampler,
    BucketBatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def _raises(fn):
    try:
        fn()
    except Exception as e:
        return type(e)
    return None


def gen(seed):
    return nnzoo.Generator().manual_seed(seed)


def test_sequential_sampler_matches_torch():
    for n in (0, 1, 7):
        assert list(SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))
        assert len(SequentialSampler(range(n))) == n


# ---- RandomSampler ------------------------------------------------------------------------------------
def test_random_sampler_epochs_are_permutations_that_differ():
    s = RandomSampler(range(50), generator=gen(0))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(50)) and a != b and len(s) == 50


def test_random_sampler_reproducible_with_seeded_generator():
    s1, s2 = RandomSampler(range(30), generator=gen(4)), RandomSampler(range(30), generator=gen(4))
    assert [list(s1) for _ in range(3)] == [list(s2) for _ in range(3)]


def test_random_sampler_without_generator_follows_the_default_generator():
    s = RandomSampler(range(40))
    nnzoo.manual_seed(7)
    run1 = [list(s) for _ in range(3)]
    nnzoo.manual_seed(7)
    state = nnzoo.get_rng_state()
    run2 = [list(s) for _ in range(3)]
    assert run1 == run2 and run1[0] != run1[1]
    nnzoo.set_rng_state(state)
    assert list(s) == run1[0]


def test_random_sampler_num_samples_beyond_n_repeats_whole_permutations():
    out = list(RandomSampler(range(5), num_samples=12, generator=gen(1)))
    assert len(out) == 12
    assert sorted(out[:5]) == sorted(out[5:10]) == list(range(5)) and len(set(out[10:])) == 2


def test_random_sampler_with_replacement():
    n, k = 4, 4000
    out = np.array(list(RandomSampler(range(n), replacement=True, num_samples=k, generator=gen(2))))
    assert out.shape == (k,) and out.min() >= 0 and out.max() < n
    counts = np.bincount(out, minlength=n)
    sigma = math.sqrt(k * (1 / n) * (1 - 1 / n))
    assert np.all(np.abs(counts - k / n) <= 5 * sigma), counts


@pytest.mark.parametrize("kwargs", [dict(replacement=1), dict(num_samples=0), dict(num_samples=2.0)])
def test_random_sampler_errors_match_torch(kwargs):
    assert _raises(lambda: RandomSampler(range(3), **kwargs)) is _raises(lambda: tud.RandomSampler(range(3), **kwargs))
    assert _raises(lambda: RandomSampler(range(3), **kwargs)) is not None
    assert _raises(lambda: RandomSampler([])) is _raises(lambda: tud.RandomSampler([])) is ValueError


# ---- SubsetRandomSampler, WeightedRandomSampler --------------------------------------------------------
def test_subset_random_sampler():
    idx = [10, 3, 42, 7]
    s = SubsetRandomSampler(idx, generator=gen(0))
    epochs = [list(s) for _ in range(5)]
    assert all(sorted(e) == sorted(idx) for e in epochs) and len(s) == 4
    assert len({tuple(e) for e in epochs}) > 1
    assert list(SubsetRandomSampler(idx, generator=gen(3))) == list(SubsetRandomSampler(idx, generator=gen(3)))


def test_weighted_random_sampler_frequencies():
    w = [0.1, 0.0, 0.4, 0.5]
    k = 5000
    out = np.array(list(WeightedRandomSampler(w, k, generator=gen(0))))
    counts = np.bincount(out, minlength=4)
    p = np.array(w) / sum(w)
    assert counts[1] == 0
    assert np.all(np.abs(counts - k * p) <= 5 * np.sqrt(k * p * (1 - p))), counts


def test_weighted_random_sampler_without_replacement_draws_distinct():
    out = list(WeightedRandomSampler([1, 2, 3, 4, 5], 5, replacement=False, generator=gen(0)))
    assert sorted(out) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("args", [([1.0, 2.0], 0), ([1.0, 2.0], True), ([1.0, 2.0], 2, 1), ([[1.0, 2.0]], 2)])
def test_weighted_random_sampler_errors_match_torch(args):
    assert _raises(lambda: WeightedRandomSampler(*args)) is _raises(lambda: tud.WeightedRandomSampler(*args)) \
        is ValueError


# ---- BatchSampler --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 9, 10])
@pytest.mark.parametrize("bs", [1, 3, 10, 12])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    nz = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    th = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop_last)
    assert list(nz) == list(th) and len(nz) == len(th)


@pytest.mark.parametrize("args", [(0, False), (2.0, False), (True, False), (2, 1)])
def test_batch_sampler_errors_match_torch(args):
    assert _raises(lambda: BatchSampler(range(4), *args)) is _raises(lambda: tud.BatchSampler(range(4), *args)) \
        is ValueError


# ---- BucketBatchSampler -------------------------------------------------------------------------------
def _lengths(n=1000, seed=0):
    return np.random.default_rng(seed).integers(1, 200, size=n)


def _padding_waste(batches, lengths):
    """Padded slots / real tokens when each batch is padded to its longest sequence."""
    padded = sum(len(b) * lengths[b].max() for b in map(np.asarray, batches))
    return padded / lengths[np.concatenate(batches)].sum() - 1


@pytest.mark.parametrize("drop_last", [False, True])
def test_bucket_batches_cover_every_index_once(drop_last):
    lengths = _lengths(1003)
    s = BucketBatchSampler(lengths, batch_size=16, drop_last=drop_last, bucket_size=10, generator=gen(0))
    batches = list(s)
    assert len(batches) == len(s) == (1003 // 16 if drop_last else math.ceil(1003 / 16))
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) == (1003 // 16 * 16 if drop_last else 1003)
    sizes = sorted(len(b) for b in batches)  # the short batch (11 = 1003 % 16) lands anywhere in the order
    assert sizes == [16] * (1003 // 16) if drop_last else sizes == [11] + [16] * (1003 // 16)


def test_bucket_padding_waste_far_below_random_batching():
    lengths = _lengths()
    bucket = list(BucketBatchSampler(lengths, batch_size=32, bucket_size=10, generator=gen(0)))
    rand = list(BatchSampler(RandomSampler(range(len(lengths)), generator=gen(0)), 32, False))
    w_bucket, w_rand = _padding_waste(bucket, lengths), _padding_waste(rand, lengths)
    # random batches of 32 lengths uniform in [1, 200) pad to about the max (~194) vs a mean of 100:
    # ~90% waste; sorted pools of 320 leave a spread of ~200 / 10 per batch: ~10%
    assert w_rand > 0.6 and w_bucket < 0.15 and w_bucket < w_rand / 5, (w_bucket, w_rand)


def test_bucket_sampler_reproducible_and_different_per_epoch():
    lengths = _lengths(300)
    s1 = BucketBatchSampler(lengths, 8, generator=gen(3))
    s2 = BucketBatchSampler(lengths, 8, generator=gen(3))
    e1, e2 = [list(s1) for _ in range(2)], [list(s2) for _ in range(2)]
    assert e1 == e2 and e1[0] != e1[1]
    s = BucketBatchSampler(lengths, 8)
    nnzoo.manual_seed(11)
    a = list(s)
    nnzoo.manual_seed(11)
    assert list(s) == a


def test_bucket_sampler_without_shuffle_sorts_consecutive_pools():
    lengths = _lengths(50, seed=1)
    batches = list(BucketBatchSampler(lengths, batch_size=4, shuffle=False, bucket_size=3))
    pool = 12
    expected = []
    for start in range(0, 50, pool):  # NumPy reference: stable sort of each consecutive pool, cut in 4s
        chunk = np.arange(start, min(start + pool, 50))
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        expected += [chunk[i:i + 4].tolist() for i in range(0, len(chunk), 4)]
    assert batches == expected


def test_bucket_sampler_errors():
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler([1, 2], 0)
    with pytest.raises(ValueError, match="1-d sequence of ints"):
        BucketBatchSampler([[1, 2]], 1)
    with pytest.raises(ValueError, match="1-d sequence of ints"):
        BucketBatchSampler([1.5, 2.0], 1)


# ---- RandomSampler draws lazily (issue 15) --------------------------------------------------------------
def test_random_sampler_with_replacement_draws_lazily():
    import itertools
    s = RandomSampler(range(10), replacement=True, num_samples=int(1e10), generator=gen(0))
    assert len(s) == int(1e10) == len(tud.RandomSampler(range(10), replacement=True, num_samples=int(1e10)))
    first = list(itertools.islice(iter(s), 100))  # materialising 1e10 indices would need 74.5 GiB
    assert len(first) == 100 and all(0 <= i < 10 for i in first)


@pytest.mark.parametrize("n,k", [(7, 1000), (3, 31), (1, 5), (2 ** 33 + 1, 65)])
def test_random_sampler_chunked_stream_is_the_single_draw_stream(n, k):
    """Drawing 32 at a time leaves the stream what one draw of all k indices gives (today's stream)."""
    got = list(RandomSampler(range(n), replacement=True, num_samples=k, generator=gen(5)))
    assert got == nnzoo.randint(0, n, (k,), generator=gen(5)).tolist()


# ---- DistributedSampler ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 5, 10, 11])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_without_shuffle_matches_torch(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchDS

    from nnzoo.utils.data.distributed import DistributedSampler
    for rank in range(replicas):
        nz = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        th = TorchDS(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(nz) == list(th) and len(nz) == len(th)
        assert (nz.num_samples, nz.total_size) == (th.num_samples, th.total_size)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 1000])
@pytest.mark.parametrize("seed", [0, 3, 2 ** 32 + 5, 2 ** 40 + 3])
def test_torch_randperm_is_torchs_permutation(n, seed):
    import torch

    from nnzoo.data.sampler import torch_randperm
    assert torch_randperm(n, seed) == torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("n,replicas", [(10, 4), (11, 3), (5, 1), (2, 3), (100, 7)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shuffle_matches_torch(n, replicas, drop_last):
    """Every rank's indices equal PyTorch's for the same arguments, over epochs (set_epoch) and seeds."""
    from torch.utils.data.distributed import DistributedSampler as TorchDS

    from nnzoo.data import DistributedSampler
    for seed in (0, 3):
        ours = [DistributedSampler(range(n), replicas, r, seed=seed, drop_last=drop_last) for r in range(replicas)]
        theirs = [TorchDS(range(n), replicas, r, seed=seed, drop_last=drop_last) for r in range(replicas)]
        for epoch in range(3):
            for s in ours + theirs:
                s.set_epoch(epoch)
            assert [list(s) for s in ours] == [list(t) for t in theirs]
            assert [len(s) for s in ours] == [len(t) for t in theirs]


def test_distributed_sampler_errors():
    from torch.utils.data.distributed import DistributedSampler as TorchDS

    from nnzoo.data import DistributedSampler
    for rank in (-1, 2):
        with pytest.raises(ValueError) as nz:
            DistributedSampler(range(4), num_replicas=2, rank=rank)
        with pytest.raises(ValueError) as th:
            TorchDS(range(4), num_replicas=2, rank=rank)
        assert str(nz.value) == str(th.value)
    # without a process group, as PyTorch (the defaults come from the group: tests/distributed checks them)
    for kwargs in ({}, {"num_replicas": 2}):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            DistributedSampler(range(4), **kwargs)
