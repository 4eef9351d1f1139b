"""The workload registry: a name, a description and one setup function per side.

A *side* is one implementation of the workload's computation:

- ``"nnzoo"`` and ``"torch"``: the same computation written with each library (usually literally the
  same code, a function of the library module, so ``import nnzoo as torch`` parity is checked too);
- ``"numpy"``: a hand-written pure-NumPy reference (runs in the nnzoo process, which never imports torch).

A setup function takes no arguments, builds the inputs and returns ``step()``: one call of ``step`` is one
unit of work (what the benchmark times) and returns its result (the tests check it). Setup functions import
their library themselves, so importing this module or a workload module loads neither nnzoo nor torch.
"""
import importlib
from dataclasses import dataclass, field

SIDES = ("nnzoo", "torch", "numpy")
# Which child process runs a side. The nnzoo process never imports torch and the torch process never imports
# nnzoo: NumPy's OpenBLAS and PyTorch's OpenMP/MKL thread pools would otherwise fight over the cores.
PROCESS_OF_SIDE = {"nnzoo": "nnzoo", "numpy": "nnzoo", "torch": "torch"}
LIBRARY_OF_SIDE = {"nnzoo": "nnzoo", "numpy": "numpy", "torch": "torch"}

# The modules under benchmarks/workloads/ that register workloads, in table order.
WORKLOAD_MODULES = ("small_ops", "mlp", "nn_mlp", "cnn", "rnn", "transformer", "seq2seq", "pow", "sgns")


@dataclass(frozen=True)
class Workload:
    """One benchmarked computation.

    Args:
        name: short identifier used on the command line (``add_small``).
        description: one line saying exactly what one step computes.
        impls: side name -> setup function returning ``step()``.
        reference_for: for a pure-NumPy reference row, the workload whose nnzoo time it is compared with.
    """

    name: str
    description: str
    impls: dict = field(default_factory=dict)
    reference_for: str | None = None

    @property
    def sides(self):
        return tuple(s for s in SIDES if s in self.impls)

    def setup(self, side):
        """Build the inputs of ``side`` and return its ``step()`` callable."""
        if side not in self.impls:
            raise KeyError(f"workload {self.name!r} has no {side!r} implementation (it has {self.sides})")
        return self.impls[side]()


_REGISTRY = {}
_loaded = False


def register(name, description, *, reference_for=None, **impls):
    """Add a workload with explicit per-side setup functions (``nnzoo=``, ``torch=``, ``numpy=``)."""
    unknown = set(impls) - set(SIDES)
    if unknown:
        raise ValueError(f"register({name!r}): unknown sides {sorted(unknown)}; expected some of {SIDES}")
    if name in _REGISTRY:
        raise ValueError(f"register: a workload named {name!r} already exists")
    wl = Workload(name, description, dict(impls), reference_for)
    _REGISTRY[name] = wl
    return wl


def _bind(fn, module_name):
    def setup():
        return fn(importlib.import_module(module_name))
    setup.__name__ = f"{fn.__name__}[{module_name}]"
    setup.__module__ = fn.__module__
    setup.__doc__ = fn.__doc__
    return setup


def workload(name, description):
    """Decorator: register ``fn(lib) -> step`` for both libraries, called with ``nnzoo`` and ``torch``.

    Example::

        @workload("add_small", "c = a + b on two 8x8 float32 tensors that require grad")
        def add_small(torch):
            a = torch.tensor(A, requires_grad=True)
            ...
            return step
    """
    def deco(fn):
        register(name, description, nnzoo=_bind(fn, "nnzoo"), torch=_bind(fn, "torch"))
        return fn
    return deco


def _load():
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in WORKLOAD_MODULES:
            importlib.import_module(f"{__package__}.workloads.{mod}")


def _order(wl):
    """Table order: by module in WORKLOAD_MODULES, then by registration within the module."""
    module = next(iter(wl.impls.values())).__module__.rpartition(".")[2]
    rank = WORKLOAD_MODULES.index(module) if module in WORKLOAD_MODULES else len(WORKLOAD_MODULES)
    return rank, list(_REGISTRY).index(wl.name)


def workloads():
    """All registered workloads, in table order (whatever order their modules were imported in)."""
    _load()
    return sorted(_REGISTRY.values(), key=_order)


def names():
    return [w.name for w in workloads()]


def get(name):
    """The workload called ``name`` (KeyError listing the known names otherwise)."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(_REGISTRY)}") from None
