"""Datasets: the map-style ``Dataset`` and stream-style ``IterableDataset`` protocols, the wrappers that
combine them (``TensorDataset``, ``StackDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset``) and
the splitters ``random_split`` and ``train_val_test_split`` (PyTorch's ``torch.utils.data`` semantics)."""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from ..random import Generator, default_generator, randperm
from ..tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split", "train_val_test_split"]


class Dataset:
    """A map-style dataset: ``dataset[i]`` for ``0 <= i < len(dataset)``.

    Subclasses implement ``__getitem__`` (and ``__len__``, which samplers and the DataLoader use); they
    may add ``__getitems__(indices) -> list of samples`` to fetch a whole batch faster.
    ``a + b`` concatenates two datasets into a ``ConcatDataset``.

    Example::

        >>> class Squares(Dataset):
        ...     def __getitem__(self, i):
        ...         return i * i
        ...     def __len__(self):
        ...         return 4
        >>> both = Squares() + Squares()
        >>> len(both), both[5]
        (8, 1)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__`` (and may implement ``__len__``).

    Use it for data read on the fly (a file, a generator); the DataLoader iterates it and batches
    consecutive samples. ``a + b`` chains two streams into a ``ChainDataset``.

    Example::

        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(Count(2) + Count(3))
        [0, 1, 0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension: ``ds[i] = (t[i] for t in tensors)``.

    Args:
        *tensors: Tensors with the same size of dim 0.

    Example::

        >>> ds = TensorDataset(nnzoo.zeros(4, 2), nnzoo.arange(4))
        >>> len(ds), ds[1][1].item()
        (4, 1)
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError("TensorDataset: 0-d tensors have no samples to index")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dims {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Datasets of equal length side by side: sample ``i`` is the tuple (or, with keywords, the dict) of
    their samples ``i``.

    Args:
        *args: datasets whose samples are returned as a tuple, or
        **kwargs: datasets whose samples are returned as a dict (not both).

    Example::

        >>> ds = StackDataset(image=[10, 11], label=[0, 1])
        >>> ds[1]
        {'image': 11, 'label': 1}
    """

    def __init__(self, *args, **kwargs) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: give datasets either positionally (tuple samples) or by keyword "
                             "(dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: give at least one dataset")
        parts = list(args) if args else list(kwargs.values())
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``Subset(ds, idx)[k] = ds[idx[k]]``.

    Args:
        dataset: the whole dataset.
        indices: a sequence of indices into it.

    A subclass that overrides ``__getitem__`` must override ``__getitems__`` too (the DataLoader fetches
    batches through ``__getitems__``), as in PyTorch.

    Example::

        >>> sub = Subset([10, 11, 12, 13], [3, 0])
        >>> len(sub), sub[0], sub[-1]
        (2, 13, 10)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        if type(self).__getitem__ is not Subset.__getitem__ and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__; the DataLoader fetches batches "
                "through __getitems__. Add:\n\n    def __getitems__(self, indices):\n"
                "        return [self[i] for i in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        """The samples at ``indices`` (a list), through the dataset's own ``__getitems__`` when it has one."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: indices ``0 .. len(a) - 1`` are ``a``'s, then ``b``'s, ...

    Args:
        datasets: an iterable of (map-style) datasets.

    Attributes:
        cumulative_sizes: ``cumulative_sizes[k]`` is the total length of the first ``k + 1`` datasets.

    Example::

        >>> cd = ConcatDataset([[0, 1, 2], [10, 11]])
        >>> len(cd), cd[3], cd[-1], cd.cumulative_sizes
        (5, 10, 11, [3, 5])
    """

    @staticmethod
    def cumsum(sequence: Iterable[Dataset]) -> list[int]:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset (chain streams with ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index {idx} exceeds the dataset length {n}")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        # NOTE: bisect_right skips empty datasets: cumulative sizes [0, 3] put index 0 in the second one
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another, chained lazily as they are iterated.

    Args:
        datasets: an iterable of IterableDatasets.

    Example::

        >>> class Stream(IterableDataset):
        ...     def __init__(self, items):
        ...         self.items = items
        ...     def __iter__(self):
        ...         return iter(self.items)
        ...     def __len__(self):
        ...         return len(self.items)
        >>> chain = ChainDataset([Stream("ab"), Stream("c")])
        >>> list(chain), len(chain)
        (['a', 'b', 'c'], 3)
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            _check_iterable(d)
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            _check_iterable(d)
            total += len(d)
        return total


def _check_iterable(d):
    if not isinstance(d, IterableDataset):
        raise TypeError(f"ChainDataset: only supports IterableDataset, got {type(d).__name__} "
                        "(concatenate map-style datasets with ConcatDataset)")


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = default_generator) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    ``lengths`` are sizes summing to ``len(dataset)``, or fractions summing to 1: then each size is
    ``floor(frac * len(dataset))`` and the leftover items go one each to the splits in round-robin order
    (first split first), as in PyTorch.

    Args:
        dataset: the dataset to split.
        lengths: sizes or fractions of the splits.
        generator: the Generator for the random permutation (default: nnzoo's default generator).

    Returns:
        a list of ``Subset``; their ``indices`` are slices of one random permutation.

    Example::

        >>> g = nnzoo.Generator().manual_seed(0)
        >>> train, val = random_split(range(10), [0.8, 0.2], generator=g)
        >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
        (8, 2, True)
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is {frac}, not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):  # leftovers one each, round robin
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this gives an empty dataset",
                              stacklevel=2)
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {list(lengths)} is {sum(lengths)}, which does not "
                         f"equal the length of the dataset ({n})")
    perm = randperm(n, generator=generator).tolist()
    return [Subset(dataset, perm[end - size:end]) for end, size in zip(itertools.accumulate(lengths), lengths)]


def _labels_array(labels, op):
    if isinstance(labels, Tensor):
        labels = labels.numpy(force=True)
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{op}: labels must be one per sample (1-d), got shape {arr.shape}")
    return arr


def _looks_like_labels(data):
    """True for a 1-d Tensor/array or a list/tuple of ints or strings (not for a Dataset)."""
    if isinstance(data, (Tensor, np.ndarray)):
        return data.ndim == 1
    return isinstance(data, (list, tuple)) and all(isinstance(x, (int, str, np.integer, np.str_)) for x in data)


def _apportion(counts, fracs):
    """Integer table ``(classes, splits)``: row ``c`` shares ``counts[c]`` out by ``fracs``.

    Every cell is the floor or the ceiling of ``counts[c] * fracs[s]`` and each row sums to
    ``counts[c]``. The ceilings of a row go, class by class, to the splits that are furthest below their
    running target ``fracs[s] * counts[:c + 1].sum()``; for three splits this keeps each split's running
    total within one item of its target, so the column sums are the floor or ceiling of
    ``fracs[s] * counts.sum()`` (for the first class it is the largest-remainder rule).
    """
    targets = counts[:, None] * fracs[None, :]
    near = np.round(targets)
    # NOTE: 0.7 * 10 is 7.000000000000001 in floats; snap such near-integers so they are not rounded up
    targets = np.where(np.abs(targets - near) < 1e-9 * np.maximum(1, counts[:, None]), near, targets)
    table = np.floor(targets).astype(np.int64)
    deviation = np.zeros(len(fracs))  # running total minus running target, per split
    for c in range(len(counts)):
        extra = counts[c] - table[c].sum()
        remainder = targets[c] - table[c]
        after_floor = deviation - remainder
        candidates = np.flatnonzero(remainder > 0)
        up = candidates[np.argsort(after_floor[candidates], kind="stable")[:extra]]
        table[c, up] += 1
        deviation = after_floor
        deviation[up] += 1
    return table


def train_val_test_split(dataset_or_labels: Dataset | Sequence[int] | Tensor, val: float | int = 0.1,
                         test: float | int = 0.1, stratify: Sequence[int] | Tensor | None = None,
                         generator: Generator | None = None, seed: int | None = None) -> tuple[Subset, Subset, Subset]:
    """Split a dataset into train, validation and test Subsets, stratified by class when labels are given.

    Each class's items (in a random order drawn from ``generator``) are shared out so that, for every
    class ``c`` with ``n_c`` items and every split with fraction ``f`` (``1 - val - test``, ``val``,
    ``test``), the split holds ``floor(f * n_c)`` or ``ceil(f * n_c)`` items of ``c``: within one sample
    per class of the class's proportion in the whole. The classes' leftover items go to the splits that
    are furthest below their running target (processing classes in sorted label order), which keeps
    each split's size within one of ``f * len(dataset)``: ``floor`` or ``ceil`` of it. Without labels
    the whole dataset counts as one class (so the sizes are ``f * n`` rounded by largest remainder).

    Args:
        dataset_or_labels: a dataset, or the labels themselves (a 1-d Tensor or array, or a list of
            ints or strings); then ``stratify`` defaults to them and the Subsets index them.
        val, test: the fractions of the validation and test splits (``val + test <= 1``). Default: 0.1.
        stratify: the class label of every sample (1-d, any comparable values), or None (no
            stratification, unless ``dataset_or_labels`` are labels).
        generator: the Generator to shuffle with (default: nnzoo's default generator).
        seed: an int instead of ``generator``: shuffle with ``nnzoo.Generator().manual_seed(seed)``.

    Returns:
        ``(train, val, test)`` Subsets of ``dataset_or_labels``; each one's ``indices`` are in
        increasing order (shuffle with the DataLoader).

    Example::

        >>> labels = [0] * 50 + [1] * 30
        >>> train, val, test = train_val_test_split(labels, val=0.1, test=0.2, seed=0)
        >>> len(train), len(val), len(test)
        (56, 8, 16)
        >>> [labels[i] for i in test.indices].count(1)  # 0.2 * 30 ones
        6
    """
    data = dataset_or_labels
    if stratify is None and _looks_like_labels(data):
        stratify = data
    for name, frac in (("val", val), ("test", test)):
        if not 0 <= frac <= 1:
            raise ValueError(f"train_val_test_split: {name} must be a fraction in [0, 1], got {frac}")
    if val + test > 1:
        raise ValueError(f"train_val_test_split: val + test must be at most 1, got {val} + {test} = {val + test}")
    if seed is not None:
        if generator is not None:
            raise ValueError("train_val_test_split: give either generator or seed, not both")
        generator = Generator().manual_seed(seed)
    n = len(data)
    if stratify is None:
        classes = np.zeros(n, dtype=np.int64)
    else:
        labels = _labels_array(stratify, "train_val_test_split")
        if len(labels) != n:
            raise ValueError(f"train_val_test_split: {len(labels)} labels for a dataset of length {n}")
        classes = np.unique(labels, return_inverse=True)[1].reshape(-1)
    fracs = np.array([1.0 - val - test, val, test])
    table = _apportion(np.bincount(classes, minlength=1), fracs)
    # items grouped by class, in random order within each class (a stable sort of a random permutation)
    perm = randperm(n, generator=generator).numpy()
    order = perm[np.argsort(classes[perm], kind="stable")]
    # class c's block is table[c, 0] train items, then table[c, 1] val items, then table[c, 2] test items
    split_of = np.repeat(np.tile(np.arange(3), len(table)), table.ravel())
    return tuple(Subset(data, np.sort(order[split_of == s]).tolist()) for s in range(3))
