"""``nnzoo run SCRIPT [ARGS...]``: run an unmodified PyTorch program with nnzoo as ``torch``.

An import hook (a ``sys.meta_path`` finder) answers every ``import torch...`` and ``import torchvision...``:
``torch`` is ``nnzoo``, ``torch.X.Y`` is ``nnzoo.X.Y`` and ``torchvision.X`` is ``nnzoo.vision.X``. The
program sees *alias modules* named as in PyTorch (``torch``, ``torch.nn``, ...) whose attributes are read
from the nnzoo module behind them, so ``torch.Tensor is nnzoo.Tensor`` and a value the program sets on an
alias (``torch.backends.cudnn.benchmark = True``) stays on the alias, leaving nnzoo's modules as they are.

Where a program reaches a name nnzoo does not have, the alias raises :class:`MissingTorchName` (an
``AttributeError``, so ``hasattr(torch, "compile")`` stays a question) or :class:`MissingTorchModule` (a
``ModuleNotFoundError``, so ``try: import torch.foo except ImportError:`` keeps working), both naming the
torch name; if the program does not handle it, ``nnzoo run`` prints that one line
(``nnzoo run: the program uses torch.nn.functional.grid_sample, which nnzoo does not have yet``) and exits
with status 1. Other errors print their traceback from the program's first frame on, as ``python SCRIPT``
would, also with status 1; a mistake in the ``nnzoo run`` command itself (no such script) exits with 2.

``nnzoo run --nproc N SCRIPT`` starts N copies under MPI's launcher (``mpirun -np N``), each with torchrun's
``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` set, for programs that train with ``torch.distributed`` (see
docs/distributed.md); a copy that fails ends the others (``MPI_Abort``) instead of leaving them waiting.

Example::

    >>> import pathlib
    >>> _ = pathlib.Path("prog.py").write_text("import torch, sys\\nprint(torch.ones(2).sum().item(), sys.argv[1:])\\n")
    >>> run_script("prog.py", ["--epochs", "1"])
    2.0 ['--epochs', '1']
    0
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import re
import runpy
import sys
import traceback
import types
from collections.abc import Iterator, Sequence

__all__ = ["torch_is_nnzoo", "run_script", "nnzoo_name", "missing_torch_name", "MissingTorchName",
           "MissingTorchModule", "main", "launch", "find_mpirun"]

# (PyTorch's package, nnzoo's module that stands in for it), the longer prefix first
_PACKAGES = (("torchvision", "nnzoo.vision"), ("torch", "nnzoo"))

_USAGE = """\
usage: nnzoo run SCRIPT [ARGS...]
       nnzoo run --nproc N SCRIPT [ARGS...]

Run a PyTorch program unchanged with nnzoo as `torch` (and nnzoo.vision as `torchvision`): like
`python SCRIPT ARGS...`, with sys.argv = [SCRIPT, ARGS...] and the script's folder on sys.path.
A torch name nnzoo does not have yet stops the program with one line naming it (exit status 1).

--nproc N  start N processes with MPI's launcher (`mpirun -np N`, from nnzoo[distributed]); each runs the
           program with RANK, LOCAL_RANK and WORLD_SIZE set as torchrun sets them, so a program that calls
           torch.distributed.init_process_group() (backend "mpi" or none) trains data-parallel."""


def nnzoo_name(torch_name: str) -> str | None:
    """The nnzoo module that stands in for a PyTorch module name, or None for other names.

    Example::

        >>> nnzoo_name("torch.nn.functional"), nnzoo_name("torchvision.transforms"), nnzoo_name("torchtext")
        ('nnzoo.nn.functional', 'nnzoo.vision.transforms', None)
    """
    for torch_pkg, nnzoo_pkg in _PACKAGES:
        if torch_name == torch_pkg or torch_name.startswith(torch_pkg + "."):
            return nnzoo_pkg + torch_name[len(torch_pkg):]
    return None


def _missing(torch_name: str) -> str:
    return f"the program uses {torch_name}, which nnzoo does not have yet"


class MissingTorchName(AttributeError):
    """A ``torch.*`` attribute nnzoo does not have; ``torch_name`` is its full PyTorch name."""

    def __init__(self, torch_name: str, obj: object = None) -> None:
        super().__init__(_missing(torch_name), name=torch_name.rpartition(".")[2], obj=obj)
        self.torch_name = torch_name


class MissingTorchModule(ModuleNotFoundError):
    """A ``torch.*`` module nnzoo does not have; ``torch_name`` is its PyTorch name."""

    def __init__(self, torch_name: str) -> None:
        super().__init__(_missing(torch_name), name=torch_name)
        self.torch_name = torch_name


_aliases: dict[str, AliasModule] = {}


class AliasModule(types.ModuleType):
    """The module a program imports as ``torch.X``: attribute reads go to the nnzoo module behind it.

    A submodule read as an attribute (``torch.nn``) comes back as its own alias, so a chain of attribute
    reads stays inside the aliases and a missing name at any depth is reported with its PyTorch name.
    """

    def __init__(self, name: str, target: types.ModuleType) -> None:
        super().__init__(name, target.__doc__)
        self.__dict__["_nnzoo_target"] = target
        # a package, so that ``import torch.X.Y`` asks the finder for every ``Y``
        self.__dict__["__path__"] = list(getattr(target, "__path__", []))

    def __getattr__(self, name: str) -> object:
        target = self.__dict__["_nnzoo_target"]
        try:
            value = getattr(target, name)
        except AttributeError:
            if name.startswith("__") and name.endswith("__"):   # __file__, __all__ ...: plain questions
                raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None
            value = _import_submodule(target, name)
            if value is None:
                raise MissingTorchName(f"{self.__name__}.{name}", obj=self) from None
        if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "nnzoo":
            return _alias(f"{self.__name__}.{name}", value)
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self.__dict__["_nnzoo_target"])) | set(self.__dict__))

    def __repr__(self) -> str:
        return f"<module {self.__name__!r} (nnzoo: {self.__dict__['_nnzoo_target'].__name__!r})>"


def _import_submodule(target: types.ModuleType, name: str) -> types.ModuleType | None:
    """``target.name`` as a submodule not imported yet (PyTorch imports its submodules up front), or None."""
    full = f"{target.__name__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name is not None and (full == e.name or full.startswith(e.name + ".")):
            return None
        raise


def _alias(torch_name: str, target: types.ModuleType) -> AliasModule:
    """The one alias module of ``torch_name`` (made once, registered in ``sys.modules`` as PyTorch's is)."""
    module = _aliases.get(torch_name)
    if module is None or module.__dict__["_nnzoo_target"] is not target:
        module = _aliases[torch_name] = AliasModule(torch_name, target)
        sys.modules.setdefault(torch_name, module)
    return module


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch``, ``torch.*``, ``torchvision`` and ``torchvision.*`` in nnzoo."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        name = nnzoo_name(fullname)
        if name is None:
            return None
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
                raise MissingTorchModule(fullname) from None
            raise
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _alias(spec.name, sys.modules[nnzoo_name(spec.name)])

    def exec_module(self, module: types.ModuleType) -> None:
        pass   # the nnzoo module behind the alias is already imported


def _is_mapped(name: str) -> bool:
    return nnzoo_name(name) is not None


@contextlib.contextmanager
def torch_is_nnzoo() -> Iterator[None]:
    """Inside the block, ``import torch`` (and ``torch.*``, ``torchvision.*``) imports nnzoo's alias modules.

    Modules already imported under those names (a real PyTorch, say) are set aside and put back afterwards.

    Example::

        >>> with torch_is_nnzoo():
        ...     import torch
        ...     import torch.nn.functional as F
        ...     print(torch.Tensor is nnzoo.Tensor, F.relu is nnzoo.nn.functional.relu)
        True True
    """
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_mapped(name)}
    finder = _TorchFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [name for name in sys.modules if _is_mapped(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        _aliases.clear()


_CANNOT_IMPORT = re.compile(r"cannot import name '([\w.]+)' from '([\w.]+)'")


def _torch_class_name(cls: type) -> str | None:
    """``torch.Tensor`` for ``nnzoo.Tensor``: the PyTorch name of an nnzoo class, or None."""
    module = getattr(cls, "__module__", "") or ""
    if module.split(".")[0] != "nnzoo":
        return None
    import nnzoo
    for torch_pkg, pkg in (("torch", nnzoo), ("torch.nn", nnzoo.nn), ("torch.optim", nnzoo.optim),
                           ("torch.utils.data", nnzoo.data)):
        if getattr(pkg, cls.__name__, None) is cls:
            return f"{torch_pkg}.{cls.__name__}"
    return f"torch{module[len('nnzoo'):]}.{cls.__name__}"


def missing_torch_name(error: BaseException) -> str | None:
    """The PyTorch name an exception says nnzoo lacks, or None when it is another kind of error.

    It knows the hook's own errors, ``from torch.X import name`` of a missing name, and an attribute missing
    on an object of an nnzoo class (``x.topk`` on a Tensor: ``torch.Tensor.topk``).

    Example::

        >>> missing_torch_name(ImportError("cannot import name 'grid_sample' from 'torch.nn.functional'"))
        'torch.nn.functional.grid_sample'
        >>> missing_torch_name(ValueError("bad value")) is None
        True
    """
    if isinstance(error, (MissingTorchName, MissingTorchModule)):
        return error.torch_name
    if isinstance(error, ModuleNotFoundError):
        return error.name if error.name and _is_mapped(error.name) else None
    if isinstance(error, ImportError):
        match = _CANNOT_IMPORT.search(str(error))
        if match and _is_mapped(match.group(2)):
            return f"{match.group(2)}.{match.group(1)}"
        return None
    if isinstance(error, AttributeError) and getattr(error, "name", None) and not error.name.startswith("_"):
        obj = getattr(error, "obj", None)
        if isinstance(obj, AliasModule):
            return f"{obj.__name__}.{error.name}"
        owner = _torch_class_name(obj if isinstance(obj, type) else type(obj))
        if owner is not None:
            return f"{owner}.{error.name}"
    return None


def _program_traceback(error: BaseException, script: str) -> str:
    """The traceback from the program's first frame on (the runner's own frames left out)."""
    if isinstance(error, SyntaxError):
        return "".join(traceback.format_exception_only(type(error), error))
    tb = error.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


class UsageError(Exception):
    """A mistake in the ``nnzoo run`` command line (exit status 2)."""


def run_script(script: str | os.PathLike, args: Sequence[str] = ()) -> int:
    """Run the PyTorch program ``script`` with nnzoo as ``torch``, as ``python script *args`` would.

    Args:
        script: the program's path.
        args: its command-line arguments (``sys.argv[1:]`` inside the program).

    Returns:
        int: the exit status: 0 when the program ran to its end, its ``sys.exit`` status, or 1 after an error
        (a missing torch name as one line on stderr, any other error as its traceback).

    Raises:
        UsageError: when ``script`` is not a readable file.
    """
    path = os.path.abspath(script)
    if not os.path.isfile(path):
        why = "Is a directory" if os.path.isdir(path) else "No such file or directory"
        raise UsageError(f"can't open file {os.fspath(script)!r}: {why}")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [os.fspath(script), *args]
    sys.path.insert(0, os.path.dirname(path))
    try:
        with torch_is_nnzoo():
            try:
                runpy.run_path(os.fspath(script), run_name="__main__")
            except SystemExit as e:
                return _exit_status(e)
            except Exception as e:
                name = missing_torch_name(e)
                if name is not None:
                    print(f"nnzoo run: {_missing(name)}", file=sys.stderr)
                else:
                    print(_program_traceback(e, path), end="", file=sys.stderr)
                return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _exit_status(e: SystemExit) -> int:
    """``sys.exit(code)`` as the interpreter reads it: None is 0, an int is itself, else printed and 1."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def find_mpirun() -> str | None:
    """MPI's launcher: the ``mpirun`` beside this Python (the MPICH wheel of ``nnzoo[distributed]`` installs it
    there), else ``mpirun`` or ``mpiexec`` on the PATH; None when there is none."""
    import shutil
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("mpirun") or shutil.which("mpiexec")


def launch(nproc: int, argv: Sequence[str], launcher: str | None = None) -> int:
    """``mpirun -np nproc python -m nnzoo run ARGV...``: the exit status of the launcher (non-zero when any
    process failed; MPI's launcher then stops the others)."""
    import subprocess
    launcher = launcher or find_mpirun()
    if launcher is None:
        raise UsageError("--nproc needs MPI's launcher (mpirun), which was not found: pip install "
                         "'nnzoo[distributed]' (mpi4py and the MPICH wheel, whose mpirun lands beside python)")
    return subprocess.call([launcher, "-np", str(nproc), sys.executable, "-m", "nnzoo", "run", *argv])


def _torchrun_environment() -> None:
    """Under MPI's launcher, set torchrun's RANK, LOCAL_RANK and WORLD_SIZE from MPI's variables (MPICH's
    PMI_RANK/PMI_SIZE/MPI_LOCALRANKID, Open MPI's OMPI_COMM_WORLD_*) unless already set: a program written for
    torchrun then sees that it runs distributed."""
    env = os.environ
    for rank, size, local in (("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"),
                              ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK")):
        if rank in env and size in env:
            env.setdefault("RANK", env[rank])
            env.setdefault("WORLD_SIZE", env[size])
            env.setdefault("LOCAL_RANK", env.get(local, "0"))
            env.setdefault("LOCAL_WORLD_SIZE", env.get("MPI_LOCALNRANKS", env.get("OMPI_COMM_WORLD_LOCAL_SIZE",
                                                                                     env[size])))
            return


def _abort_other_ranks() -> None:
    """After the program failed on this process: if it had joined a process group of several, end the whole
    job (``MPI_Abort``) rather than leave the other processes waiting for this one."""
    dist = sys.modules.get("nnzoo.distributed")
    if dist is not None and dist.is_initialized() and dist.get_world_size() > 1:
        print(f"nnzoo run: rank {dist.get_rank()} of {dist.get_world_size()} failed; aborting every rank "
              "(MPI_Abort)", file=sys.stderr, flush=True)
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(1)


def main(argv: Sequence[str] | None = None) -> int:
    """``nnzoo run [--nproc N] SCRIPT [ARGS...]``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    elif argv[:1] in (["-h"], ["--help"]):
        print(_USAGE)
        return 0
    if argv and (argv[0] == "--nproc" or argv[0].startswith("--nproc=")):
        value = argv[0].partition("=")[2] if "=" in argv[0] else (argv[1] if len(argv) > 1 else "")
        rest = argv[1:] if "=" in argv[0] else argv[2:]
        if not value.isdigit() or int(value) < 1:
            print(f"nnzoo run: --nproc takes a number of processes >= 1, got {value!r}", file=sys.stderr)
            return 2
        if not rest:
            print("nnzoo run: the following arguments are required: SCRIPT (see `nnzoo run --help`)",
                  file=sys.stderr)
            return 2
        try:
            return launch(int(value), rest)
        except UsageError as e:
            print(f"nnzoo run: {e}", file=sys.stderr)
            return 2
    if not argv:
        print("nnzoo run: the following arguments are required: SCRIPT (see `nnzoo run --help`)", file=sys.stderr)
        return 2
    from .distributed import launched_by_mpi
    if launched_by_mpi():
        _torchrun_environment()
    try:
        status = run_script(argv[0], argv[1:])
        if status != 0:
            _abort_other_ranks()
        return status
    except UsageError as e:
        print(f"nnzoo run: {e}", file=sys.stderr)
        return 2
