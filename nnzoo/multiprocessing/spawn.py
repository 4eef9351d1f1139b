"""``torch.multiprocessing.spawn``: start ``nprocs`` processes running ``fn(i, *args)`` and join them,
raising in the parent when one of them fails (its traceback included)."""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["spawn", "start_processes", "ProcessContext", "SpawnContext", "ProcessException",
           "ProcessRaisedException", "ProcessExitedException"]


class ProcessException(Exception):
    """A spawned process failed: ``error_index`` is its index ``i``, ``pid`` its process id."""

    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a nonzero code or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def _wrap(fn: Callable[..., Any], i: int, args: tuple, error_queue: Any) -> None:
    """The target of each process: ``fn(i, *args)``; an exception's traceback goes to the parent."""
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The started processes; ``join`` waits for them and raises when one fails (the others are stopped)."""

    def __init__(self, processes: list[multiprocessing.process.BaseProcess], error_queues: list[Any]) -> None:
        self.processes, self.error_queues = processes, error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for a process to end; True once all have ended successfully.

        Raises:
            ProcessRaisedException: a process raised (its traceback in the message).
            ProcessExitedException: a process exited with a nonzero code or was killed by a signal.
        """
        if not self.sentinels:
            return True
        failed = None
        for sentinel in multiprocessing.connection.wait(list(self.sentinels), timeout=timeout):
            i = self.sentinels.pop(sentinel)
            self.processes[i].join()
            if self.processes[i].exitcode != 0:
                failed = i
                break
        if failed is None:
            return not self.sentinels
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join()
        process, queue = self.processes[failed], self.error_queues[failed]
        if queue.empty():
            code = process.exitcode
            if code < 0:
                name = signal.Signals(-code).name
                raise ProcessExitedException(f"process {failed} terminated with signal {name}", failed,
                                             process.pid, code, name)
            raise ProcessExitedException(f"process {failed} terminated with exit code {code}", failed,
                                         process.pid, code)
        msg = f"\n\n-- Process {failed} terminated with the following error:\n{queue.get()}"
        raise ProcessRaisedException(msg, failed, process.pid)


SpawnContext = ProcessContext


def start_processes(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> ProcessContext | None:
    """Start ``nprocs`` processes with ``start_method`` running ``fn(i, *args)`` for ``i`` in ``range(nprocs)``.

    Returns:
        None after joining them (``join=True``), else the ``ProcessContext`` to join.
    """
    ctx = multiprocessing.get_context(start_method)
    processes, queues = [], []
    for i in range(nprocs):
        queue = ctx.SimpleQueue()
        p = ctx.Process(target=_wrap, args=(fn, i, args, queue), daemon=daemon)
        p.start()
        processes.append(p)
        queues.append(queue)
    context = ProcessContext(processes, queues)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn") -> ProcessContext | None:
    """``start_processes`` as PyTorch's ``spawn``: ``fn(i, *args)`` in ``nprocs`` processes.

    ``fn`` must be importable by the children (a module-level function) under the "spawn" start method.
    Other start methods work and warn, as in PyTorch (use ``start_processes`` for them).
    """
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      f"To use a different start_method use:\n\t\t torch.multiprocessing.start_processes(...)",
                      FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method)
