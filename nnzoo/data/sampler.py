"""Samplers: the order (and batching) of dataset indices a DataLoader loads, as in ``torch.utils.data``.

Randomness comes from nnzoo's generators. A sampler given ``generator=None`` follows PyTorch: at the
start of every epoch (each ``iter()``) it draws a fresh seed from nnzoo's default generator, so
``nnzoo.manual_seed(s)`` makes a whole run's shuffles reproducible, and restoring the default
generator's state (``nnzoo.set_rng_state``) restores them. The streams are nnzoo's, not PyTorch's: the
same seed gives a different permutation than in PyTorch, except in :class:`DistributedSampler`, whose
shuffle is PyTorch's (:func:`torch_randperm`).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from ..autograd.arrays import wrap
from ..random import Generator, default_generator, multinomial, randint, randperm
from ..tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "BucketBatchSampler", "DistributedSampler", "torch_randperm"]


def _epoch_generator(generator):
    """``generator``, or a new Generator seeded by one draw from the default generator (as PyTorch)."""
    if generator is not None:
        return generator
    # NOTE: PyTorch draws the seed with int64 random_(): uniform in [0, 2**63)
    seed = int(default_generator._rng.integers(0, 2 ** 63, dtype=np.int64))
    return Generator().manual_seed(seed)


def _positive_int(value, name, op):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{op}: {name} should be a positive integer value, but got {name}={value!r}")


def _flag(value, name, op, error=ValueError):
    if not isinstance(value, bool):
        raise error(f"{op}: {name} should be a boolean value, but got {name}={value!r}")


class Sampler:
    """Base class of samplers: ``__iter__`` yields dataset indices (or lists of them, for a batch
    sampler); ``__len__``, if given, is how many.

    Example::

        >>> class Backwards(Sampler):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n - 1, -1, -1))
        ...     def __len__(self):
        ...         return self.n
        >>> list(Backwards(3))
        [2, 1, 0]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    Example::

        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices: a fresh permutation per epoch, or ``num_samples`` independent draws with
    replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement. Default: False.
        num_samples: how many indices per epoch. Default: ``len(data_source)``; without replacement
            a larger number concatenates whole permutations, then part of one more.
        generator: the Generator to draw from; None draws a fresh seed from the default generator at
            each ``iter()`` (see the module docstring).

    Example::

        >>> g = nnzoo.Generator().manual_seed(0)
        >>> sorted(RandomSampler(range(5), generator=g))
        [0, 1, 2, 3, 4]
    """

    _CHUNK = 32  # indices drawn at a time with replacement

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _flag(replacement, "replacement", "RandomSampler", TypeError)
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        g = _epoch_generator(self.generator)
        if self.replacement:
            # NOTE: drawn lazily, _CHUNK indices at a time (PyTorch draws 32 at a time), so that
            # num_samples=int(1e10) costs nothing up front. The stream is the one a single draw of
            # num_samples gives: NumPy's bounded integers consume the bit generator element by element.
            for start in range(0, self.num_samples, self._CHUNK):
                size = min(self._CHUNK, self.num_samples - start)
                yield from randint(0, n, (size,), generator=g).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=g).tolist()
            if self.num_samples % n:
                yield from randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each epoch).

    Args:
        indices: a sequence of dataset indices.
        generator: the Generator to draw from (default: nnzoo's default generator, drawn directly,
            as PyTorch does for this sampler).

    Example::

        >>> sorted(SubsetRandomSampler([7, 3, 5]))
        [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices ``0 .. len(weights) - 1`` drawn with probabilities proportional to ``weights``.

    Args:
        weights: a 1-d sequence of non-negative weights (need not sum to one).
        num_samples: how many indices per epoch.
        replacement: draw with replacement (Default: True); without it an index is drawn at most once.
        generator: the Generator to draw from (default: nnzoo's default generator).

    Example::

        >>> g = nnzoo.Generator().manual_seed(0)
        >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=g))
        [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float] | Tensor, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        _flag(replacement, "replacement", "WeightedRandomSampler")
        w = weights.numpy(force=True) if isinstance(weights, Tensor) else weights
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {w.shape}")
        self.weights = wrap(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        yield from multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: a Sampler or any iterable of indices.
        batch_size: indices per batch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.

    Example::

        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _positive_int(batch_size, "batch_size", "BatchSampler")
        _flag(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        batch = list(itertools.islice(it, self.batch_size))
        while batch:
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch
            batch = list(itertools.islice(it, self.batch_size))

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class BucketBatchSampler(Sampler):
    """Batches of indices whose sequences have similar lengths, so that padding them wastes little.

    Each epoch: shuffle all indices, cut them into pools of ``bucket_size * batch_size``, sort every
    pool by length (ties keep the random order), cut the pools into batches and shuffle the order of
    the batches. Every index appears exactly once per epoch (``drop_last`` drops the one short batch).
    With ``shuffle=False`` the pools are consecutive indices and the batches come in order.

    Args:
        lengths: the length of every sample (a sequence of ints, 1-d Tensor or array).
        batch_size: indices per batch.
        drop_last: drop the short batch (there is at most one). Default: False.
        shuffle: shuffle the indices and the batch order each epoch. Default: True.
        bucket_size: batches per pool (larger: batches more uniform in length, less random). Default: 100.
        generator: the Generator to draw from; None draws a fresh seed from the default generator at
            each ``iter()``, as RandomSampler.

    Example::

        >>> lengths = [5, 1, 4, 2, 3, 1]
        >>> batches = list(BucketBatchSampler(lengths, batch_size=2, shuffle=False))
        >>> [[lengths[i] for i in b] for b in batches]
        [[1, 1], [2, 3], [4, 5]]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, drop_last: bool = False, shuffle: bool = True,
                 bucket_size: int = 100, generator: Generator | None = None) -> None:
        _positive_int(batch_size, "batch_size", "BucketBatchSampler")
        _positive_int(bucket_size, "bucket_size", "BucketBatchSampler")
        _flag(drop_last, "drop_last", "BucketBatchSampler")
        _flag(shuffle, "shuffle", "BucketBatchSampler")
        arr = lengths.numpy(force=True) if isinstance(lengths, Tensor) else lengths
        arr = np.asarray(arr)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"BucketBatchSampler: lengths must be a 1-d sequence of ints, got shape {arr.shape} "
                             f"and dtype {arr.dtype}")
        self.lengths = arr.astype(np.int64)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.bucket_size = bucket_size
        self.generator = generator

    def __iter__(self):
        n, bs = len(self.lengths), self.batch_size
        g = _epoch_generator(self.generator) if self.shuffle else None
        order = randperm(n, generator=g).numpy() if self.shuffle else np.arange(n)
        pool = self.bucket_size * bs
        batches = []
        for start in range(0, n, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]  # stable: ties stay shuffled
            batches.extend(chunk[i:i + bs] for i in range(0, len(chunk), bs))
        # NOTE: pools hold whole batches, so only the very last batch can be short
        if self.drop_last and batches and len(batches[-1]) < bs:
            batches.pop()
        if self.shuffle:
            batches = [batches[k] for k in randperm(len(batches), generator=g).tolist()]
        for b in batches:
            yield b.tolist()

    def __len__(self):
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``, reproduced.

    PyTorch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded with the low 32 bits of ``seed``
    by the reference ``init_genrand``, which is NumPy's legacy seeding of ``np.random.MT19937``; for
    ``n < 2**32 / 20`` ``randperm`` is the Fisher-Yates shuffle that swaps position ``i`` with ``i + z``,
    ``z = mt() % (n - i)``, for ``i = 0 .. n - 2`` (ATen's ``randperm_cpu``). nnzoo's own generators are
    PCG64 (``nnzoo.randperm`` gives other permutations), so :class:`DistributedSampler` draws with this.

    Example::

        >>> torch_randperm(5, 0)  # torch.randperm(5, generator=torch.Generator().manual_seed(0))
        [4, 0, 1, 3, 2]
    """
    if n >= 2 ** 32 // 20:
        raise ValueError(f"torch_randperm: n={n} is beyond the Fisher-Yates path PyTorch takes below 2**32 / 20")
    bits = np.random.MT19937()
    bits._legacy_seeding(seed & 0xFFFFFFFF)
    draws = bits.random_raw(max(n - 1, 0)).tolist()  # host: the 32-bit outputs, as Python ints
    perm = list(range(n))
    for i in range(n - 1):
        j = i + draws[i] % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


class DistributedSampler(Sampler):
    """The share of the dataset's indices that one of ``num_replicas`` processes loads, as
    ``torch.utils.data.distributed.DistributedSampler``, index for index.

    Each epoch: all indices (with ``shuffle``, the permutation ``torch.randperm`` draws from a generator
    seeded with ``seed + epoch``: see :func:`torch_randperm`), padded by repeating the first ones up to a
    multiple of ``num_replicas`` (or cut down to one with ``drop_last``); replica ``rank`` takes every
    ``num_replicas``-th index from position ``rank``. Call ``set_epoch(epoch)`` before each epoch for a new
    order (the Trainer does); every replica must use the same seed.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of processes. Default: the world size of the default process group
            (``nnzoo.distributed``).
        rank: this process's rank in ``[0, num_replicas - 1]``. Default: its rank in the default group.
        shuffle: shuffle the indices (the same permutation on every replica). Default: True.
        seed: the seed of the shuffle, plus the epoch. Default: 0.
        drop_last: drop the tail that does not divide evenly instead of padding. Default: False.

    NOTE: the shuffle is PyTorch's permutation for the same seed (MT19937, reproduced in NumPy), not one of
    nnzoo's PCG64 generator, so a run moved between the two libraries sees the same batches; it costs about
    about 1 s per epoch for a million indices (a Python loop; 2 ms for the digits' 1,257).

    Example::

        >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
        [[0, 2, 4], [1, 3, 0]]
        >>> list(DistributedSampler(range(5), num_replicas=2, rank=0, seed=0))  # as torch
        [4, 1, 2]
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise ValueError("DistributedSampler: Default process group has not been initialized, please make "
                                 "sure to call init_process_group (nnzoo.distributed), or pass num_replicas= and "
                                 "rank=")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:  # the largest share that divides evenly
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:  # pad with the first indices (repeated as often as needed)
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch, which (plus ``seed``) seeds the next shuffle; call it before each epoch."""
        self.epoch = epoch
