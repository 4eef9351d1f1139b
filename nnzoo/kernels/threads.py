"""A two-way split of one piece of array work over two Python threads, with BLAS single-threaded inside.

API (tiny on purpose):

* :func:`pair` ``(fa, fb)``: run ``fa()`` on a helper thread and ``fb()`` on the caller, at the same time,
  and return ``(fa(), fb())``; an exception of either is raised in the caller after both ended.
* :func:`available` ``()``: True when :func:`pair` would run its halves in parallel (two or more threads allowed,
  the helper idle, not called from inside a pair); when False, :func:`pair` runs them one after the other.
* :func:`set_max_threads` ``(n)``: the threads the process allows (``nnzoo.set_num_threads`` calls it); until
  set, the first of ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS``
  that is set, else the CPUs this process may run on. One thread: no pair ever runs in parallel.
* :func:`in_pair` ``()``: True inside either half of a running pair.
* :func:`split_aware` ``(kernel)``: a parallel compiled kernel (``jit.kernel(parallel=True)``) that calls its
  serial build (``.serial``) inside a pair and its parallel build (``.parallel``)
  elsewhere.

* :func:`in_pair` ``()``: True inside either half (kernels called there must be serial: Numba's workqueue
  layer aborts when two threads launch parallel kernels at once, see ``jit.py``).
* :func:`restore_blas` ``()``: give NumPy's OpenBLAS back the thread count it had before the first pair.

Both halves run in threads of this process, so the GIL is shared: only work that releases it (NumPy's GEMMs
and copies, nnzoo's compiled kernels: ``nogil``) runs side by side.

The first pair of a process sets NumPy's OpenBLAS (found through ctypes; nothing happens with another BLAS)
to ONE thread for the rest of the process and stops its worker threads. NOTE: measured on the CNN steps at two
threads (2 cores, one process, VGG / CIFAR Net step): OpenBLAS's idle worker spins for ~0.1 s after every
two-thread GEMM (its THREAD_TIMEOUT, 2^28 cycles, fixed when the library loads) and takes a core from the
two halves: BLAS set to one thread only while a pair runs, 143 / 10.3 ms; also stopping its worker at each
pair, 88 / 13.0 ms (the worker is re-created at the next two-thread GEMM, milliseconds each time); one thread
for good, 82 / 6.3 ms (as with ``OPENBLAS_NUM_THREADS=1``: 81 / 5.9 ms). The GEMMs outside pairs (the
Linear layers) then run on one core; :func:`restore_blas` undoes it.

NOTE: the halves of a whole layer (window copies, GEMMs, shifted adds), each on one core, instead of one
layer whose GEMMs run on OpenBLAS's two threads and whose copies on Numba's two workers: every part of the
layer then uses both cores, with no hand-off between the pools at every GEMM (measured on the CNN steps, see
``nnzoo/kernels/conv.py``).

Example::

    >>> from nnzoo.kernels import threads
    >>> threads.pair(lambda: 1 + 1, lambda: 2 + 2)
    (2, 4)
"""
import os
import threading

from .linalg import numpy_openblas

__all__ = ["available", "in_pair", "pair", "restore_blas", "set_max_threads", "split_aware"]

_local = threading.local()
_busy = threading.Lock()  # held while a pair runs: a second caller (another user thread) runs serially
_worker = None  # the helper thread, started on first use
_blas_before = None  # OpenBLAS's thread count before the first pair switched it to one
_blas = None  # (get, set) of NumPy's OpenBLAS thread count through ctypes, or False where not found
_limit = None  # the threads allowed by set_max_threads (None: from the environment)
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_max_threads(n):
    """Allow ``n`` threads (``None``: read the environment again); with ``n == 1`` every :func:`pair` runs its
    halves one after the other, on the caller's thread."""
    global _limit
    if n is not None and int(n) < 1:
        raise ValueError(f"set_max_threads: n must be an integer >= 1 or None, got {n!r}")
    _limit = None if n is None else int(n)


def _allowed():
    """Threads this process may use: :func:`set_max_threads`'s, else the first thread variable set, at most the
    CPUs it may run on (a benchmark or an MPI rank that asks for one thread gets one)."""
    n = _limit
    if n is None:
        for var in _THREAD_VARIABLES:
            value = os.environ.get(var, "")
            if value.isdigit() and int(value) > 0:
                n = int(value)
                break
    return _cpus() if n is None else min(n, _cpus())


def _blas_threads():
    """(get, set, shut down) for the thread count of NumPy's bundled OpenBLAS (``linalg.numpy_openblas``), or
    False."""
    global _blas
    if _blas is None:
        _blas = False
        lib = numpy_openblas()
        if lib is not None:
            try:
                import ctypes
                get, put = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
                get.restype, put.restype, put.argtypes = ctypes.c_int, None, [ctypes.c_int]
                stop = lib.blas_thread_shutdown_
                stop.restype = ctypes.c_int
                _blas = (get, put, stop)
            except AttributeError:
                _blas = False
    return _blas


class _Worker(threading.Thread):
    def __init__(self):
        super().__init__(name="nnzoo-pair", daemon=True)
        self.go = threading.Event()
        self.done = threading.Event()
        self.job = None
        self.result = None

    def run(self):
        _local.inside = True
        while True:
            self.go.wait()
            self.go.clear()
            try:
                self.result = (True, self.job())
            except BaseException as e:  # handed to the caller
                self.result = (False, e)
            self.job = None
            self.done.set()


def _single_blas():
    global _blas_before
    blas = _blas_threads()
    if blas and _blas_before is None:
        _blas_before = blas[0]()
        if _blas_before != 1:
            blas[1](1)
            blas[2]()  # its spinning worker exits now, not 0.1 s later


def restore_blas():
    """Set NumPy's OpenBLAS back to its thread count before the first :func:`pair` (the next pair sets it to
    one again)."""
    global _blas_before
    blas = _blas_threads()
    if blas and _blas_before is not None:
        blas[1](_blas_before)
    _blas_before = None


def _after_fork_in_child():
    """A forked child (DataLoader workers) has no helper thread: start a new one on its first pair."""
    global _worker, _busy
    _worker, _busy = None, threading.Lock()
    _local.inside = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_pair():
    """True inside either half of a running :func:`pair` (kernels called there must be serial)."""
    return getattr(_local, "inside", False)


def available():
    """True when :func:`pair` would run its two halves in parallel."""
    return _allowed() >= 2 and not in_pair() and not _busy.locked()


def pair(fa, fb):
    """(fa(), fb()), fa on the helper thread and fb on the caller at the same time (OpenBLAS on one thread from
    the first pair on); serially (fa first) when :func:`available` is False."""
    global _worker
    if _allowed() < 2 or in_pair() or not _busy.acquire(blocking=False):
        return fa(), fb()
    try:
        if _worker is None:
            _worker = _Worker()
            _worker.start()
        _single_blas()
        w = _worker
        w.job = fa
        w.done.clear()
        w.go.set()
        _local.inside = True
        try:
            rb = fb()
        finally:
            _local.inside = False
            w.done.wait()
        ok, ra = w.result
        w.result = None
        if not ok:
            raise ra
        return ra, rb
    finally:
        _busy.release()


def _serial_twin(k):
    """The same kernel compiled without ``parallel`` (a distinct function, so Numba caches it apart)."""
    import types

    from . import jit
    f = k.py_func
    twin = types.FunctionType(f.__code__, f.__globals__, f.__name__ + "_serial", f.__defaults__, f.__closure__)
    twin.__qualname__ = twin.__name__
    twin.__doc__ = f.__doc__
    opts = {o: v for o, v in getattr(k, "options", {}).items() if o in ("fastmath", "boundscheck", "inline",
                                                                         "error_model")}
    return jit.kernel(**opts)(twin)


class split_aware:
    """A parallel kernel that runs its serial build inside a :func:`pair` half (two threads must not launch
    Numba's parallel kernels at once, and each half has one core) and its parallel build elsewhere; both
    builds are attributes (``parallel``, ``serial``) for callers that choose by size."""

    def __init__(self, kernel):
        self.parallel, self.serial = kernel, _serial_twin(kernel)  # jit compiles each on its first call
        self.__name__, self.py_func = kernel.__name__, kernel.py_func

    def __call__(self, *args):
        return (self.serial if in_pair() else self.parallel)(*args)
