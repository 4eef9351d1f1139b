"""The DataLoader's worker processes (``torch.utils.data._utils.worker``'s part): the loop a worker runs, its
``WorkerInfo`` and seeds, and how a batch travels back to the main process.

A worker is started with the ``fork`` start method where the OS has it (Linux): it inherits the dataset, the
collate function and ``worker_init_fn`` as they are in memory, so none of them needs to pickle. On platforms
with ``spawn`` only (Windows; macOS, where Python no longer defaults to fork) the worker's arguments are pickled
as PyTorch's are: the dataset, collate_fn and worker_init_fn must then be picklable (module-level classes and
functions), else starting the iterator raises the pickling error; the program's main module must be guarded by
``if __name__ == "__main__":``; tensors held by the dataset are sent as shared memory (``nnzoo.multiprocessing``'s
reducers, imported for it), not copied.

A batch comes back through shared memory: the worker writes the arrays of all the tensors of one collated batch
into one POSIX shared-memory file (``/dev/shm``) and sends only the batch's structure (a few hundred bytes)
through a pipe; the main process maps the file, unlinks it at once, and rebuilds the tensors on views of the
mapping (no copy); the mapping is released when the last of those tensors is freed. Where ``/dev/shm`` does not
exist, the arrays travel pickled through the pipe instead.
"""
from __future__ import annotations

import collections.abc
import itertools
import mmap
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from ..autograd.arrays import array, wrap
from ..tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info"]

_SHM_DIR = "/dev/shm"
_ALIGN = 64  # each array starts on a 64-byte boundary of the shared file
STATUS_CHECK_INTERVAL = 0.2  # seconds between the main process's checks that its workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker (PyTorch's fields).

    Attributes:
        id: this worker's id, 0 to ``num_workers - 1``.
        num_workers: how many workers the loader runs.
        seed: the seed of this worker's RNGs: the loader's base seed (drawn from its generator, or nnzoo's
            default one, each time an iterator starts its workers) plus ``id``.
        dataset: the copy of the dataset in this process.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any
    worker_method: str = "multiprocessing"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo`` inside a DataLoader worker process; None in the main process.

    An ``IterableDataset`` uses it to shard itself: in ``__iter__``, worker ``id`` of ``num_workers`` yields
    its own part, so that the workers together yield each item once (PyTorch's recipe).

    Example::

        >>> from nnzoo.data import DataLoader, IterableDataset, get_worker_info
        >>> class Range(IterableDataset):
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, 6, step))
        >>> list(DataLoader(Range(), batch_size=None, num_workers=2))  # worker 0: 0 2 4, worker 1: 1 3 5
        [0, 1, 2, 3, 4, 5]
    """
    return _worker_info


def generate_numpy_seed(base_seed: int, worker_id: int) -> list[int]:
    """The four 32-bit words PyTorch seeds NumPy's global RNG with in a worker (``_generate_state``: a
    SeedSequence-style hash of the base seed and the worker id, so workers' NumPy streams differ)."""
    init_a, mult_a, init_b, mult_b = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
    mix_l, mix_r, xshift, mask = 0xCA01F9DD, 0x4973F715, 16, 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = init_a

    def hash_(value):
        nonlocal const_a
        value = (value ^ const_a) & mask
        const_a = (const_a * mult_a) & mask
        value = (value * const_a) & mask
        return (value ^ (value >> xshift)) & mask

    def mix(x, y):
        r = (((mix_l * x) & mask) - ((mix_r * y) & mask)) & mask
        return (r ^ (r >> xshift)) & mask

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    const_b = init_b
    state = []
    for v in pool:
        v = (v ^ const_b) & mask
        const_b = (const_b * mult_b) & mask
        v = (v * const_b) & mask
        state.append((v ^ (v >> xshift)) & mask)
    return state


# ---- messages between the processes ----------------------------------------------------------------------
# main -> worker: (task number, sampler index), RESUME (a persistent worker's next pass), or None (stop).
# worker -> main: the pickled bytes of (task number, kind, payload): kind BATCH (payload: a packed batch, see
# pack_batch), ERROR (payload: (exception type, where, formatted traceback)), STOP (the worker's IterableDataset
# copy is exhausted; payload: the worker id) or RESUME (acknowledged).
# NOTE: the worker pickles the message itself, before the queue's feeder thread sees it: a batch that does not
# pickle then becomes an ERROR the main process raises, instead of an exception in the feeder thread that drops
# the message and leaves the main process waiting for ever. The messages hold only builtins (and the user's own
# types): no class of this module crosses, so a second copy of the module (pytest imports each file anew for its
# doctests) cannot break the unpickling.
RESUME, BATCH, ERROR, STOP = "resume", "batch", "error", "stop"


def encode(idx: int | None, kind: str, payload: Any, where: str = "") -> bytes:
    """The message's bytes; if the payload does not pickle, an ERROR message that says why (the batch's shared
    file, if any, is freed)."""
    try:
        return bytes(ForkingPickler.dumps((idx, kind, payload)))  # (dumps gives a memoryview, which does not pickle)
    except Exception:
        if kind == BATCH:
            discard_batch(payload)
        return bytes(ForkingPickler.dumps((idx, ERROR, wrap_exception(where))))


def wrap_exception(where: str) -> tuple:
    """The exception being handled as (type, where, formatted traceback); RuntimeError where its type does not
    pickle (a class defined inside a function)."""
    exc_type, exc, tb = sys.exc_info()
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        ForkingPickler.dumps(exc_type)
    except Exception:
        exc_type = RuntimeError
    return exc_type, where, text


def reraise(wrapped: tuple) -> None:
    """Raise a worker's exception here: same type, the worker's traceback in the message (PyTorch's text:
    "Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call last): ...")."""
    exc_type, where, text = wrapped
    msg = f"Caught {exc_type.__name__} {where}.\nOriginal {text}"
    if exc_type is KeyError:  # KeyError quotes its message: keep the traceback readable
        msg = _KeyErrorMessage(msg)
    try:
        exc = exc_type(msg)
    except Exception:
        raise RuntimeError(msg) from None
    raise exc


class _KeyErrorMessage(str):
    __slots__ = ()

    def __repr__(self):
        return self


# ---- batches through shared memory -------------------------------------------------------------------------
def _tree(x, found):
    """``x`` as a tree of tagged tuples, each dense tensor replaced by its number in ``found``."""
    if isinstance(x, Tensor) and not x.is_sparse:
        found.append(x)
        return ("t", len(found) - 1)
    if isinstance(x, collections.abc.Mapping):
        return ("d", type(x), [(k, _tree(v, found)) for k, v in x.items()])
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return ("n", type(x), [_tree(v, found) for v in x])
    if isinstance(x, (tuple, list)):
        return ("s", type(x), [_tree(v, found) for v in x])
    return ("v", x)


def _untree(node, tensors):
    tag = node[0]
    if tag == "t":
        return tensors[node[1]]
    if tag == "v":
        return node[1]
    cls = node[1]
    if tag == "d":
        items = {k: _untree(v, tensors) for k, v in node[2]}
        try:
            return items if cls is dict else cls(items)
        except TypeError:  # a mapping type that cannot be built from a dict (defaultdict): a dict
            return items
    items = [_untree(v, tensors) for v in node[2]]
    if tag == "n":
        return cls(*items)
    try:
        return cls(items)
    except TypeError:
        return items if issubclass(cls, list) else tuple(items)


def pack_batch(batch: Any, name: str | None) -> tuple:
    """In the worker: ``batch`` as a message. Its tensors' arrays go into one new shared file ``name`` (64-byte
    aligned), or, without ``/dev/shm`` (or ``name``), into the message itself."""
    tensors = []
    tree = _tree(batch, tensors)
    if not tensors:
        return ("plain", tree)
    arrays = [array(t) for t in tensors]
    grads = [t.requires_grad for t in tensors]
    if name is None or not os.path.isdir(_SHM_DIR):
        return ("inline", tree, [np.ascontiguousarray(a) for a in arrays], grads)
    meta, size = [], 0
    for a in arrays:
        size = -(-size // _ALIGN) * _ALIGN
        meta.append((size, a.dtype.str, a.shape))
        size += a.nbytes
    size = max(size, 1)
    path = os.path.join(_SHM_DIR, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
        with mmap.mmap(fd, size) as mm:
            for a, (offset, dtype, shape) in zip(arrays, meta):
                np.ndarray(shape, dtype, buffer=mm, offset=offset)[...] = a
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return ("shm", tree, (name, size, meta), grads)


def unpack_batch(msg: tuple) -> Any:
    """In the main process: the batch, its tensors on views of the shared file (which is unlinked here: the
    mapping lives on until the last of those tensors is freed)."""
    if msg[0] == "plain":
        return _untree(msg[1], [])
    if msg[0] == "inline":
        arrays = msg[2]
    else:
        name, size, meta = msg[2]
        path = os.path.join(_SHM_DIR, name)
        fd = os.open(path, os.O_RDWR)
        try:
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
            os.unlink(path)
        arrays = [np.ndarray(shape, dtype, buffer=mm, offset=offset) for offset, dtype, shape in meta]
    return _untree(msg[1], [wrap(a, rg) for a, rg in zip(arrays, msg[3])])


def discard_batch(msg: tuple) -> None:
    """Free the shared file of a batch that will not be used (shutdown, an abandoned pass)."""
    if msg and msg[0] == "shm":
        try:
            os.unlink(os.path.join(_SHM_DIR, msg[2][0]))
        except FileNotFoundError:
            pass


def shm_prefix(loader_pid: int, token: int) -> str:
    """The name prefix of one iterator's shared files (for the cleanup of files a killed worker left)."""
    return f"nnzoo_loader_{loader_pid}_{token}_"


def remove_leftovers(prefix: str) -> None:
    """Unlink the shared files whose names start with ``prefix`` (written by workers, never received)."""
    if not os.path.isdir(_SHM_DIR):
        return
    for name in os.listdir(_SHM_DIR):
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(_SHM_DIR, name))
            except FileNotFoundError:
                pass


# ---- fetching: what one index (or list of indices) becomes -----------------------------------------------
class MapFetcher:
    """Fetch from a map-style dataset: ``collate_fn([dataset[i] for i in indices])`` (or one sample)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last, fast_rows):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.fast_rows = fast_rows

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.fast_rows is not None:
            batch = self.fast_rows(self.dataset, index)
            if batch is not None:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class IterableFetcher:
    """Fetch from an IterableDataset: the next ``len(index)`` items (or the next one); StopIteration at the end."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last, fast_rows=None):
        self.dataset_iter = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


# ---- the worker process --------------------------------------------------------------------------------------
def worker_loop(fetcher_cls, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn, drop_last,
                fast_rows, base_seed, init_fn, worker_id, num_workers, shm_prefix_):
    """What a worker runs: seed its RNGs, set ``WorkerInfo``, call ``worker_init_fn``, then answer each
    ``(task index, sampler index)`` from ``index_queue`` with an encoded ``(task index, kind, payload)`` on
    ``data_queue`` until it receives None (or the main process is gone)."""
    global _worker_info
    try:
        from .. import random as nz_random
        seed = base_seed + worker_id
        random.seed(seed)
        nz_random.manual_seed(seed)
        np.random.seed(generate_numpy_seed(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = fetcher_cls(dataset, auto_collation, collate_fn, drop_last, fast_rows)
        except Exception:
            init_exception = wrap_exception(f"in DataLoader worker process {worker_id}")
        iteration_end = False
        parent = os.getppid()
        names = itertools.count()
        prefix = f"{shm_prefix_}{os.getpid()}_"
        while True:
            try:
                r = index_queue.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died: nobody will read
                    break
                continue
            if r == RESUME:  # a persistent worker's next epoch
                data_queue.put(encode(None, RESUME, None))
                iteration_end = False
                if init_exception is None:
                    try:
                        fetcher = fetcher_cls(dataset, auto_collation, collate_fn, drop_last, fast_rows)
                    except Exception:
                        init_exception = wrap_exception(f"in DataLoader worker process {worker_id}")
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            where = f"in DataLoader worker process {worker_id}"
            if init_exception is not None:
                kind, data, init_exception = ERROR, init_exception, None
            else:
                try:
                    kind, data = BATCH, pack_batch(fetcher.fetch(index), f"{prefix}{next(names)}")
                except StopIteration:
                    if fetcher_cls is not IterableFetcher:
                        kind, data = ERROR, wrap_exception(where)
                    else:
                        kind, data = STOP, worker_id
                        iteration_end = True
                except Exception:
                    kind, data = ERROR, wrap_exception(where)
            data_queue.put(encode(idx, kind, data, where))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
