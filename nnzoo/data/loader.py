"""The DataLoader: a dataset plus a sampler, batched by a collate function (``torch.utils.data``'s).

``default_collate`` turns a list of samples into a batch (tensors stacked along a new first dim,
numbers into tensors, containers collated per field); ``default_convert`` converts NumPy data in one
unbatched sample to tensors. Both follow PyTorch's rules type by type, including the registry
``default_collate_fn_map`` that ``collate`` dispatches on.
"""
from __future__ import annotations

import collections.abc
import copy
import importlib
import itertools
import math
import multiprocessing
import os
import pickle
import queue
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..creation import as_tensor, tensor
from ..ops.shape import stack
from ..random import Generator, _gen
from ..tensor import Tensor
from . import _worker
from ._worker import WorkerInfo, get_worker_info
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "collate", "default_collate_fn_map",
           "get_worker_info", "WorkerInfo"]

_NP_STR_OBJ = re.compile(r"[SaUO]")  # NumPy dtype codes of bytes, str and object arrays


# ---- default_convert: an unbatched sample's NumPy data -> tensors -----------------------------------------
def default_convert(data: Any) -> Any:
    """Convert the NumPy arrays and scalars in ``data`` (also inside dicts, lists, tuples) to tensors.

    The DataLoader's collate function when batching is off (``batch_size=None``). Tensors, Python
    numbers and strings are returned unchanged; tuples become lists and namedtuples stay namedtuples,
    as in PyTorch.

    Example::

        >>> default_convert({"x": np.array([1, 2]), "name": "a"})
        {'x': tensor([1, 2]), 'name': 'a'}
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data  # arrays of strings or objects have no tensor form
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch (backwards compatibility there)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem, values):
    """A mapping like ``elem`` (same type, extra attributes kept) holding ``values``; a dict if impossible."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, items):
    """A sequence like ``elem`` holding ``items``; a list if its type cannot be rebuilt."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(elem)(items)
    except TypeError:
        return items


# ---- collate: a list of samples -> one batch ------------------------------------------------------------
_COLLATE_TYPES = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def collate(batch: Sequence[Any], *,
            collate_fn_map: dict[type | tuple[type, ...], Callable[..., Any]] | None = None) -> Any:
    """Collate ``batch`` (a list of samples) by the type of its first element.

    ``collate_fn_map`` maps element types (or tuples of types) to functions
    ``fn(batch, *, collate_fn_map)``: the exact type is looked up first, then the keys in order with
    ``isinstance``. Mappings, namedtuples and sequences are collated field by field, recursively.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, e in enumerate(batch):
            if len(e) != size:
                raise RuntimeError(f"default_collate: each element in list of batch should be of equal size, but "
                                   f"element 0 has length {size} and element {i} has length {len(e)}")
        transposed = list(zip(*batch))  # tuples: a batch of strings comes back as a tuple, as in PyTorch
        items = [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        if isinstance(elem, tuple):
            return items  # a list, as PyTorch
        return _rebuild_sequence(elem, items)
    raise TypeError(_COLLATE_TYPES.format(elem_type))


def collate_tensor_fn(batch: Sequence[Tensor], *, collate_fn_map: dict | None = None) -> Tensor:
    """Stack equal-shape tensors along a new dim 0."""
    shape = batch[0].shape
    for i, t in enumerate(batch):
        if t.shape != shape:
            hint = ""
            if t.ndim == len(shape) and t.ndim >= 1 and t.shape[1:] == shape[1:]:
                hint = (" (sequences of different lengths: pad them in a collate_fn, e.g. with "
                        "nnzoo.nn.utils.rnn.pad_sequence, or batch similar lengths with BucketBatchSampler)")
            raise RuntimeError(f"default_collate: cannot stack tensors of shapes {tuple(shape)} and "
                               f"{tuple(t.shape)} at batch position {i}{hint}")
    return stack(batch, 0)


def collate_numpy_array_fn(batch: Sequence[np.ndarray], *, collate_fn_map: dict | None = None) -> Tensor:
    """NumPy arrays -> tensors (sharing memory), then stacked."""
    elem = batch[0]
    if _NP_STR_OBJ.search(elem.dtype.str) is not None:
        raise TypeError(_COLLATE_TYPES.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: Sequence[np.generic], *, collate_fn_map: dict | None = None) -> Tensor:
    """NumPy scalars -> a 1-d tensor of their dtype (np.float32 stays float32)."""
    return as_tensor(list(batch))


def collate_float_fn(batch: Sequence[float], *, collate_fn_map: dict | None = None) -> Tensor:
    """Python floats -> a float64 tensor (PyTorch's choice: a Python float is a double)."""
    return tensor(list(batch), dtype=dtypes.float64)


def collate_int_fn(batch: Sequence[int], *, collate_fn_map: dict | None = None) -> Tensor:
    """Python ints (and bools) -> ``tensor(batch)``: int64 (bool for bools)."""
    # NOTE: as PyTorch, the first element picks this function: [1, 2.5] gives float32 (tensor's inference)
    return tensor(list(batch))


def collate_str_fn(batch: Sequence[str | bytes], *, collate_fn_map: dict | None = None) -> Sequence[str | bytes]:
    """Strings and bytes stay as they are: the batch itself."""
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch with a new first dim of size ``len(batch)``.

    By the type of the samples (as in PyTorch):

    * Tensor -> the tensors stacked (all must have the same shape);
    * NumPy array -> a stacked tensor; NumPy scalar -> a 1-d tensor of its dtype;
    * float -> a float64 tensor; int -> an int64 tensor; bool -> a bool tensor;
    * str, bytes -> unchanged (the list of them);
    * Mapping -> the same mapping, each key collated; namedtuple -> the same namedtuple, per field;
    * tuple or list -> a list (a list subclass keeps its type), collated position by position
      (the samples are transposed), so ``[(x0, y0), (x1, y1)]`` becomes ``[stack(x), stack(y)]``.

    Raises RuntimeError naming the shapes and the batch position when tensors do not stack, and the
    lengths when sequences differ; TypeError for other types.

    Example::

        >>> default_collate([(nnzoo.zeros(2), 0), (nnzoo.ones(2), 1)])
        [tensor([[0., 0.],
                [1., 1.]]), tensor([0, 1])]
        >>> default_collate([{"a": 1.5, "b": "x"}, {"a": 2.0, "b": "y"}])
        {'a': tensor([1.5000, 2.0000], dtype=nnzoo.float64), 'b': ['x', 'y']}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def _tensor_rows(dataset, indices):
    """``default_collate([dataset[i] for i in indices])`` for a TensorDataset (or Subsets of one) by one
    fancy index per tensor; None for any other dataset."""
    # NOTE: exact types only: a subclass may override __getitem__. The result equals the stacked rows.
    while type(dataset) is Subset and isinstance(dataset.indices, (list, tuple, range, np.ndarray)):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    idx = np.asarray(indices, dtype=np.int64)
    return [t[idx] for t in dataset.tensors]


class _InfiniteConstantSampler(Sampler):
    """Yields None forever: the index 'sampler' of an IterableDataset."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over a dataset in batches: a sampler picks indices, ``collate_fn`` merges the samples.

    Args:
        dataset: a map-style Dataset (anything with ``__getitem__`` and ``__len__``) or an
            IterableDataset.
        batch_size: samples per batch; None turns batching off (each item is one sample, passed
            through ``default_convert``). Default: 1.
        shuffle: reshuffle the indices every epoch (a ``RandomSampler``). Default: False.
        sampler: the order of the indices (a Sampler or any iterable with ``__len__``); not with shuffle.
        batch_sampler: yields whole lists of indices; not with batch_size, shuffle, sampler, drop_last.
        num_workers: how many worker processes load batches (0: in the main process). Default: 0.
        collate_fn: merges a list of samples into a batch. Default: ``default_collate`` (or
            ``default_convert`` when batching is off).
        pin_memory: accepted and ignored (CPU only).
        drop_last: drop the last batch if it is smaller than ``batch_size``. Default: False.
        timeout: seconds to wait for a batch from the workers before raising (0: no limit). Default: 0.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after its seeding and before
            its first batch. Default: None.
        multiprocessing_context: a start method name or a ``multiprocessing`` context for the workers.
            Default: "fork" where the OS has it (the dataset need not pickle), else the platform's default.
        prefetch_factor: batches loaded ahead per worker. Default: 2 with workers (must be None without).
        persistent_workers: keep the workers alive between passes over the loader. Default: False.
        in_order: deliver batches in the sampler's order (False: as the workers finish them). Default: True.
        pin_memory_device: accepted and ignored (CPU only).
        generator: the Generator the RandomSampler of ``shuffle=True`` draws from. Default: None
            (a fresh seed from nnzoo's default generator every epoch, so ``nnzoo.manual_seed`` fixes
            the shuffles).

    With ``num_workers > 0``, each ``iter(loader)`` starts that many worker processes (forked where the OS
    can: the dataset, ``collate_fn`` and ``worker_init_fn`` need not pickle; with "spawn" they must, as in
    PyTorch). Each worker seeds Python's ``random`` and nnzoo's default generator with ``base_seed +
    worker_id`` and NumPy's global RNG with PyTorch's hash of the two (``base_seed`` is drawn from
    ``generator``, or nnzoo's default generator, at every ``iter()``, with or without workers), sets
    ``get_worker_info()``, and calls ``worker_init_fn``. The batches are collated in the workers and come back
    through shared memory (``nnzoo.data._worker``), in the same order and with the same content as with
    ``num_workers=0``. An ``IterableDataset`` is copied into every worker: shard it in ``__iter__`` with
    ``get_worker_info()``, or each item comes ``num_workers`` times (PyTorch's behaviour). An exception in a
    worker is raised here with the worker's traceback; a worker that dies raises "DataLoader worker (pid(s)
    N) exited unexpectedly"; the workers stop when the pass ends (or, with ``persistent_workers``, when the
    loader is freed).

    NOTE: workers pay off when ``__getitem__`` does Python-level work (decoding, augmentation) and cores are
    free: benchmarks/loader_workers.py times a 5 ms-per-item dataset with 0 and 2 workers against torch's loader.
    Each pass pays the workers' start (a fork, ~0.05-0.2 s); ``persistent_workers=True`` pays it once. For an
    in-memory TensorDataset the main process is faster: a batch there is one fancy index (see below), cheaper
    than a round trip through a worker (20,000 rows of 100 floats, batch 64: 0.07-0.18 s an epoch in the main
    process, 0.46-0.49 s with 2 workers, measured on the shared 2-core machine).

    ``len(loader)`` is the number of batches (for an IterableDataset, an estimate from
    ``len(dataset)``). For a plain TensorDataset (or Subsets of one, e.g. from ``random_split``) with
    the default collate function, a batch is taken by one fancy index per tensor instead of stacking
    single rows: the same tensors, much faster.

    Example::

        >>> ds = TensorDataset(nnzoo.arange(10.0).reshape(5, 2), nnzoo.arange(5))
        >>> [y.tolist() for x, y in DataLoader(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]
        >>> loader = DataLoader(ds, batch_size=2, shuffle=True, drop_last=True)
        >>> len(loader), [x.shape for x, y in loader]
        (2, [nnzoo.Size([2, 2]), nnzoo.Size([2, 2])])
    """

    _initialized = False

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[int] | None = None,
                 batch_sampler: Sampler | Iterable[Sequence[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative, got {num_workers}; use "
                             "num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError(f"DataLoader: prefetch_factor option should be non-negative, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("DataLoader: multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={num_workers}")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)

        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called = None
        self._iterator = None
        self._initialized = True

    def __setattr__(self, attr, val):
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                          "persistent_workers"):
            raise ValueError(f"DataLoader: {attr} attribute should not be set after {type(self).__name__} is "
                             "initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _DataLoaderIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:  # persistent workers: started once, reused by every later pass
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self):
        if self._iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


class _BaseIter:
    """One pass over a DataLoader: what ``iter(loader)`` returns (PyTorch's ``_BaseDataLoaderIter``)."""

    def __init__(self, loader):
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._collate_fn = loader.collate_fn
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        # NOTE: as PyTorch, every iterator draws a base seed from the loader's generator (or the default one),
        # with workers or without, so a shuffled order does not depend on num_workers
        self._base_seed = int(_gen(loader.generator).integers(0, 2 ** 63 - 1, dtype=np.int64))
        self._len_called = loader._IterableDataset_len_called
        self._num_yielded = 0
        self._fetcher_cls = _worker.IterableFetcher if self._iterable else _worker.MapFetcher
        self._fast_rows = _tensor_rows if self._collate_fn is default_collate else None

    def _reset(self, loader):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_called = loader._IterableDataset_len_called

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._iterable and self._len_called is not None and self._num_yielded > self._len_called:
            warnings.warn(f"DataLoader: length of IterableDataset {self._dataset} was reported to be "
                          f"{self._len_called} (when accessing len(dataloader)), but {self._num_yielded} samples "
                          "have been fetched", stacklevel=2)
        return data


class _DataLoaderIter(_BaseIter):
    """A pass that loads in the main process (``num_workers=0``)."""

    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = self._fetcher_cls(self._dataset, self._auto_collation, self._collate_fn, self._drop_last,
                                          self._fast_rows)

    def _next_data(self):
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)


class _MultiProcessIter(_BaseIter):
    """A pass that loads in ``num_workers`` worker processes (PyTorch's ``_MultiProcessingDataLoaderIter``).

    The sampler's indices (one list a batch) are handed out round-robin to the workers' index queues, at most
    ``prefetch_factor`` per worker ahead; the results come back on one queue in any order and are delivered
    in the sampler's order (``in_order=False``: as they arrive). A worker that raised surfaces its exception
    here, with its traceback; a worker that died is noticed within ``STATUS_CHECK_INTERVAL`` seconds.
    """

    def __init__(self, loader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._persistent_workers = loader.persistent_workers
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        if ctx.get_start_method() != "fork":  # the arguments are pickled: tensors in the dataset go as shared memory
            importlib.import_module("nnzoo.multiprocessing")  # (its reducers, registered with ForkingPickler)
        self._shm_prefix = _worker.shm_prefix(os.getpid(), next(_iterator_tokens))
        self._workers_done_event = ctx.Event()
        self._worker_result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        self._shutdown = False
        try:
            for i in range(self._num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()
                w = ctx.Process(target=_worker.worker_loop, daemon=True, args=(
                    self._fetcher_cls, self._dataset, index_queue, self._worker_result_queue,
                    self._workers_done_event, self._auto_collation, self._collate_fn, self._drop_last,
                    self._fast_rows, self._base_seed, loader.worker_init_fn, i, self._num_workers,
                    self._shm_prefix))
                w.start()
                self._index_queues.append(index_queue)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader)
        self._send_idx = 0  # the next task's number
        self._rcvd_idx = 0  # the number of the next task to deliver
        self._task_info = {}  # task number -> (worker,) while out, (worker, (kind, data)) once arrived early
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:  # a persistent pass: let each worker finish the old epoch and acknowledge the new
            for q in self._index_queues:
                q.put(_worker.RESUME)
            pending = self._num_workers
            while pending > 0:
                _, kind, data = self._get_data()
                if kind == _worker.RESUME:
                    pending -= 1
                elif kind == _worker.BATCH:
                    _worker.discard_batch(data)  # a batch of the abandoned pass
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next worker that is still active
            worker = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker]:
                break
        else:
            return
        self._index_queues[worker].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _get_data(self):
        """The next (task number, kind, data) from any worker; raises if the timeout passes or a worker died."""
        waited = 0.0
        while True:
            wait = _worker.STATUS_CHECK_INTERVAL
            if self._timeout > 0:
                wait = min(wait, self._timeout - waited)
            try:
                return pickle.loads(self._worker_result_queue.get(timeout=max(wait, 0.0)))
            except queue.Empty:
                waited += wait
                # a worker that is gone while it still has work (or that was killed) died unexpectedly
                failed = [w for i, w in enumerate(self._workers)
                          if not w.is_alive() and (self._workers_status[i] or w.exitcode != 0)]
                if failed:
                    self._shutdown_workers()
                    pids = ", ".join(str(w.pid) for w in failed)
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from None
                if self._timeout > 0 and waited >= self._timeout:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:  # skip the tasks of workers that ran dry
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier
                _, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data)
            idx, kind, data = self._get_data()
            self._tasks_outstanding -= 1
            if kind == _worker.STOP:
                self._mark_worker_unavailable(data)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                if not self._in_order:  # deliver as it arrives
                    del self._task_info[idx]
                    return self._process_data((kind, data))
                self._task_info[idx] += ((kind, data),)
            else:
                del self._task_info[idx]
                self._rcvd_idx += 1
                return self._process_data((kind, data))

    def _process_data(self, message):
        self._try_put_index()
        kind, data = message
        if kind == _worker.ERROR:
            _worker.reraise(data)
        return _worker.unpack_batch(data)

    def _mark_worker_unavailable(self, worker_id, shutdown=False):
        if self._persistent_workers and not shutdown:  # it stays, idle until the next pass
            self._workers_status[worker_id] = False
            return
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        """Stop the workers (None on each index queue, join, terminate the stragglers) and free the shared
        files of batches that were never delivered."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for worker_id, w in enumerate(self._workers):
                if w.is_alive():
                    self._index_queues[worker_id].put(None)
            for w in self._workers:
                w.join(timeout=1.0)
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=1.0)
            for info in getattr(self, "_task_info", {}).values():
                if len(info) == 2 and info[1][0] == _worker.BATCH:
                    _worker.discard_batch(info[1][1])
            while True:
                try:
                    _, kind, data = pickle.loads(self._worker_result_queue.get_nowait())
                except Exception:  # Empty, or a queue a killed worker left broken
                    break
                if kind == _worker.BATCH:
                    _worker.discard_batch(data)
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
            _worker.remove_leftovers(self._shm_prefix)

    def __del__(self):
        self._shutdown_workers()


_iterator_tokens = itertools.count()
