"""Compiled kernels: Numba, compiled on first use, cached on disk, with the NumPy version as reference.

A kernel family that has a compiled path keeps its NumPy path next to it; the NumPy path is the tested
reference and the fallback. Which one runs is decided at each call by :func:`use`:

- ``NNZOO_KERNELS=numpy`` in the environment (read when this module is imported) selects the NumPy paths
  everywhere; ``NNZOO_KERNELS=compiled`` (the default) selects the compiled ones where Numba is installed
  (``pip install nnzoo[kernels]``) and the arrays are NumPy arrays; without Numba nnzoo runs on NumPy alone.
- :func:`mode` switches for a block of code (the tests run both paths in one process and compare them).

``import nnzoo`` compiles nothing and does not import Numba: :func:`kernel` wraps a plain Python function
and compiles it with ``numba.njit(cache=True)`` the first time it is called, so a process pays for the
kernels it uses, once; later processes load them from Numba's on-disk cache (:func:`cache_folder`).

Threads: compiled kernels declared ``parallel=True`` split their outer loop over Numba's threads (as many
as the process may use). See :func:`threading_setup` for the threading layer and why.

Example::

    >>> import numpy as np
    >>> from nnzoo.kernels import jit
    >>> @jit.kernel()
    ... def _twice(x, out):
    ...     for i in range(x.size):
    ...         out[i] = 2 * x[i]
    >>> def twice(x):
    ...     if jit.use(x):
    ...         out = np.empty_like(x)
    ...         _twice(x, out)
    ...         return out
    ...     return 2 * x
    >>> twice(np.arange(3.0))
    array([0., 2., 4.])
    >>> with jit.mode("numpy"):
    ...     jit.use(np.arange(3.0))
    False
"""
import contextlib
import os
import threading

import numpy as np

__all__ = ["MODES", "prange", "active_mode", "available", "cache_folder", "environment_error", "helper", "kernel",
           "mode", "threading_setup", "use"]

MODES = ("compiled", "numpy")
# A kernel module writes ``from .jit import prange`` and loops ``for i in prange(n)``: plain ``range`` for Python
# (importing imports no Numba), rebound in that module to ``numba.prange`` when its first kernel compiles.
prange = range
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def environment_error():
    """The message for a bad ``NNZOO_KERNELS`` value, or None when it is unset or one of :data:`MODES` (the
    ``nnzoo`` command checks it first and stops with this line and exit status 2)."""
    value = os.environ.get("NNZOO_KERNELS", "compiled").strip().lower() or "compiled"
    if value not in MODES:
        return f"NNZOO_KERNELS must be one of {', '.join(MODES)}; got {value!r}"
    return None


def _mode_from_env():
    value = os.environ.get("NNZOO_KERNELS", "compiled").strip().lower() or "compiled"
    return value if value in MODES else "compiled"  # a bad value is refused on the first kernel dispatch


_mode = _mode_from_env()
# NOTE: Numba's workqueue layer (chosen in threading_setup) aborts the whole process when two Python threads
# launch parallel kernels at the same time; nnzoo's parallel kernels therefore launch one at a time (each
# already uses every core). An uncontended acquire costs ~0.1 us.
_parallel_launch = threading.Lock()
_numba = None  # the numba module once imported; False when it cannot be imported


def _import_numba():
    global _numba
    if _numba is None:
        problem = environment_error()
        if problem:  # refused here, not on import: ``import nnzoo`` and the nnzoo command's own check still work
            raise ValueError(problem)
        try:
            import numba
        except ImportError:
            _numba = False
        else:
            threading_setup(numba)
            _numba = numba
    return _numba


def available():
    """True when Numba can be imported (whether or not the mode selects it). Imports Numba."""
    return bool(_import_numba())


def active_mode():
    """The mode in force: ``"compiled"`` (and Numba is installed) or ``"numpy"``."""
    if _mode == "compiled" and available():
        return "compiled"
    return "numpy"


@contextlib.contextmanager
def mode(name):
    """Run a block with the compiled kernels (``"compiled"``) or the NumPy references (``"numpy"``)."""
    global _mode
    if name not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {name!r}")
    old, _mode = _mode, name
    try:
        yield
    finally:
        _mode = old


def use(*arrays):
    """True when a compiled kernel should run on ``arrays``: the mode is ``"compiled"``, Numba is installed,
    and every array is a NumPy array of float32 or float64 (CuPy arrays and other dtypes take the NumPy path).
    """
    if _mode != "compiled" or not (_numba if _numba is not None else _import_numba()):
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype not in _FLOATS:
            return False
    return True


class _Kernel:
    """A Python function compiled by Numba on its first call (see :func:`kernel`)."""

    __slots__ = ("py_func", "options", "_compiled", "_parallel", "__name__", "__wrapped__")

    def __init__(self, fn, options):
        self.py_func = fn
        self.options = options
        self._compiled = None
        self._parallel = options["parallel"]
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __call__(self, *args):
        f = self._compiled
        if f is None:
            f = self.compile()
        if self._parallel:
            with _parallel_launch:
                return f(*args)
        return f(*args)

    def compile(self):
        """Compile now (loads from the disk cache when an earlier process compiled the same source)."""
        numba = _import_numba()
        if not numba:
            raise RuntimeError(f"kernel {self.__name__} needs Numba (pip install nnzoo[kernels]); "
                               "callers check jit.use() first")
        options = self.options
        module = self.py_func.__globals__
        if module.get("prange") is range:  # the module's ``prange = range`` stand-in (see jit.prange)
            module["prange"] = numba.prange
        if self.py_func.__code__.co_filename.startswith("<"):  # typed at a prompt: no file to cache beside
            options = dict(options, cache=False)
        self._compiled = numba.njit(**options)(self.py_func)
        return self._compiled

    def __repr__(self):
        return f"<compiled kernel {self.__name__} {self.options}>"


def kernel(*, parallel=False, fastmath=False, boundscheck=False, inline="never", error_model="numpy"):
    """Decorator: compile the function with ``numba.njit`` on first call, cached on disk, GIL released.

    ``fastmath`` stays off unless a kernel states why reassociation is harmless to it: results are checked
    against the NumPy reference and PyTorch. ``error_model="numpy"`` (the default here, not Numba's): a float
    division by zero gives inf or nan as in the NumPy twin. NOTE: Numba's own default (``"python"``) tests every
    divisor to raise ZeroDivisionError, and that branch keeps LLVM from vectorising the loop (a sigmoid kernel
    ran 3x slower than NumPy with it; measured in issue 16).
    """
    options = dict(parallel=parallel, fastmath=fastmath, boundscheck=boundscheck, inline=inline,
                   error_model=error_model, cache=True, nogil=True)

    def deco(fn):
        return _Kernel(fn, options)
    return deco


class _Helper:
    """A function that compiled kernels call, inlined by Numba into each caller (see :func:`helper`)."""

    __slots__ = ("py_func", "fastmath", "_dispatcher", "__name__", "__wrapped__")

    def __init__(self, fn, fastmath=False):
        self.py_func = fn
        self.fastmath = fastmath
        self._dispatcher = None
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __call__(self, *args):
        return self.py_func(*args)

    @property
    def _numba_type_(self):  # Numba's typeof() of a global the kernel names asks for this while compiling
        numba = _import_numba()
        if self._dispatcher is None:
            self._dispatcher = numba.njit(inline="always", nogil=True, error_model="numpy",
                                          fastmath=self.fastmath)(self.py_func)
        return numba.types.Dispatcher(self._dispatcher)


def helper(fn=None, *, fastmath=False):
    """Decorator (``@jit.helper`` or ``@jit.helper(fastmath={"contract"})``): a scalar or small-array helper of
    the compiled kernels, which Numba inlines into each kernel that calls it (so a kernel's loop vectorises
    through it). Importing the module imports no Numba; called from Python it runs the plain function (slowly:
    for reading and debugging).

    NOTE: a kernel's disk cache records only its own file; :func:`cache_folder` keys the whole cache by the
    sources of this package, so editing a helper in one file recompiles the kernels of the others.
    """
    if fn is None:
        return lambda f: _Helper(f, fastmath)
    return _Helper(fn, fastmath)


def cache_folder():
    """The folder of Numba's disk cache for nnzoo's kernels: ``NUMBA_CACHE_DIR`` when the user sets it, else
    ``$XDG_CACHE_HOME/nnzoo/kernels-<digest>`` (``~/.cache`` by default), where ``<digest>`` hashes the sources of
    ``nnzoo/kernels``: any edit to any kernel or helper file gives a fresh cache (Numba's own check looks only
    at the file of each kernel, which misses helpers inlined from other files)."""
    import hashlib
    import pathlib
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    digest = hashlib.sha256()
    for f in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nnzoo", f"kernels-{digest.hexdigest()[:16]}")


def threading_setup(numba):
    """Choose Numba's cache folder (:func:`cache_folder`), threading layer and thread count (called once, when
    Numba is first imported).

    The user's choice wins: ``NUMBA_THREADING_LAYER`` and ``NUMBA_NUM_THREADS`` are Numba's own variables.
    Otherwise the layer is ``workqueue`` and the count is the number of CPUs this process may run on.
    NOTE: OpenMP's workers (the ``omp`` layer) spin after each parallel region, as OpenBLAS's do after a
    GEMM; on two cores the two pools of spinning threads take turns stealing the core the other needs.
    The workqueue layer's workers sleep at once; measured in benchmarks/README.md ("Compiled kernels").
    """
    if not os.environ.get("NUMBA_CACHE_DIR"):
        numba.config.CACHE_DIR = cache_folder()
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    if "NUMBA_NUM_THREADS" not in os.environ:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
