"""``DistributedDataParallel``: data parallelism over the processes of an ``nnzoo.distributed`` group (MPI).

Every process holds a replica of the model and trains it on its own share of each batch; after each backward
pass every replica's gradients are the average over the processes, so the optimizers, stepping on the same
gradients from the same weights, keep the replicas equal. With the loss averaged over each process's batch,
N processes with batches of B train exactly as one process on the concatenated batches of N * B.

How (PyTorch's reducer, over MPI):

- construction: the ranks check that their parameters have the same shapes, then rank 0's parameters and
  buffers are broadcast to all (``init_sync``);
- the parameters that require grad are split into buckets of about ``bucket_cap_mb`` MB (25 by default, the
  first one 1 MB as PyTorch's ``_DEFAULT_FIRST_BUCKET_BYTES``) in the reverse order of ``parameters()``,
  roughly the order backward produces their gradients;
- each parameter has a post-accumulate-grad hook: when backward has written its ``.grad``, the hook copies it,
  divided by the world size, into its bucket's flat buffer; when a bucket is full, a non-blocking MPI
  all-reduce (sum) of the buffer starts, while backward goes on with the layers below (buckets start in
  index order on every rank, which MPI's ordering of collectives requires);
- an end-of-backward callback (``Variable._execution_engine.queue_callback``) waits for the buckets and writes
  the averaged gradients back into every ``.grad``.

NOTE: MPI moves a non-blocking collective forward only while some MPI call runs in the process, so the hooks
poke it (``MPI_Testall``) each time a gradient is ready. ``NNZOO_DDP_PROGRESS_THREAD=1`` adds a thread that
enters MPI's progress engine every 50 us while buckets are in flight: on this 2-core machine shared by two
ranks (and other users) it cut the wide MLP's exposed wait from 99/38 ms to 59/28 ms (two rounds) but not the
step (310/240 ms without, 311/273 ms with): there is no idle core for the copying and summing that MPI's
shared-memory all-reduce does, so it is off by default; over a network the NIC moves the bytes.

``no_sync()`` skips all of it (gradients accumulate locally; the first backward after it averages the sum).
``find_unused_parameters=True`` walks the graph of the forward's outputs to mark parameters the forward did
not use as ready (their bucket slots are zero), so a model that skips a branch does not wait forever; a
parameter unused on every rank keeps ``.grad`` None. ``broadcast_buffers`` sends rank 0's buffers (batch
norm's running statistics) to all at each forward.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...autograd.arrays import array, bump_version, wrap
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..module import Module

__all__ = ["DistributedDataParallel"]

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


def _tensors(obj: Any) -> Iterator[Tensor]:
    """Every Tensor in a (nested) output: tensors, tuples, lists, dicts."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


def _used_leaves(outputs: Any) -> set[int]:
    """The ids of the leaves the autograd graph of ``outputs`` reaches (an iterative walk)."""
    seen, used, stack = set(), set(), []
    for t in _tensors(outputs):
        if t.requires_grad:
            if t.grad_fn is None:
                used.add(id(t))
            else:
                stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "_is_accumulator", False):
            var = node.variable()
            if var is not None:
                used.add(id(var))
            continue
        for edge in node.next_functions:
            if edge is not None:
                stack.append(edge[0])
    return used


class _Bucket:
    """Parameters whose gradients travel in one all-reduce: a flat buffer and each parameter's slice."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.dtype = array(params[0]).dtype
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.buffer = np.zeros(self.offsets[-1], dtype=self.dtype)
        self.pending = len(params)
        self.work = None

    def nbytes(self) -> int:
        return self.buffer.nbytes


class DistributedDataParallel(Module):
    """Averages gradients over the processes of a group during backward (see the module docstring).

    Args:
        module: the model (the same on every rank).
        device_ids, output_device, dim: for GPUs; accepted and unused on the CPU, as PyTorch's.
        broadcast_buffers: send rank 0's buffers to every rank at the start of each forward. Default: True.
        process_group: the group to average over. Default: the world (``init_process_group``).
        bucket_cap_mb: bucket size in MB (MiB). Default: 25, PyTorch's.
        find_unused_parameters: walk each forward's graph for parameters it did not use (see above).
        check_reduction, gradient_as_bucket_view, static_graph: accepted; nnzoo copies gradients back into
            ``.grad`` (a bucket view's saving is one copy of the gradients, small beside the all-reduce).
        init_sync: broadcast rank 0's parameters and buffers at construction. Default: True.

    Attributes:
        module: the wrapped model (``state_dict`` keys start with ``module.``, as PyTorch's).
        require_backward_grad_sync (bool): False inside ``no_sync()``.

    Example (one process)::

        >>> import nnzoo.distributed as dist
        >>> from nnzoo import nn
        >>> dist.init_process_group()
        >>> ddp = nn.parallel.DistributedDataParallel(nn.Linear(2, 1))
        >>> list(ddp.state_dict())
        ['module.weight', 'module.bias']
        >>> ddp(nnzoo.ones(3, 2)).sum().backward()
        >>> ddp.module.weight.grad
        tensor([[3., 3.]])
        >>> dist.destroy_process_group()
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: Any = None, init_sync: bool = True,
                 skip_all_reduce_unused_params: bool = False) -> None:
        from ... import distributed as dist
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: Default process group has not been initialized, please make "
                             "sure to call init_process_group (nnzoo.distributed, over MPI: start the processes "
                             "with mpirun -np N)")
        super().__init__()
        self.module = module
        self.process_group = process_group if process_group is not None else dist.group.WORLD
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.dim = dim
        self.device_ids: list[int] = []
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._dist = dist
        pg = self.process_group
        self._world = pg.size()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._params = [p for _, p in named]
        self._names = {id(p): n for n, p in named}
        self._verify_shapes(named)
        if init_sync and self._world > 1:
            self._broadcast([t for _, t in module.named_parameters()] + [b for _, b in module.named_buffers()])
        self._buckets = self._assign_buckets(self._params)
        self._where = {id(p): (b, i) for b, bucket in enumerate(self._buckets) for i, p in enumerate(bucket.params)}
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in self._params]
        self._armed = False          # a forward with sync on ran; its backward reduces
        self._queued = False         # the end-of-backward callback is queued for this pass
        self._next_bucket = 0
        self._ready: set[int] = set()
        self._unused: set[int] = set()
        self._error: str | None = None
        self.comm_seconds = 0.0      # time spent waiting for all-reduces at the end of backward (last pass)
        self._progress_thread: threading.Thread | None = None
        self._progress_stop = threading.Event()
        self._use_progress_thread = os.environ.get("NNZOO_DDP_PROGRESS_THREAD", "0") == "1"

    # ---- construction ----------------------------------------------------------------------------------
    def _verify_shapes(self, named):
        """Every rank must hold parameters of the same names' shapes (PyTorch's
        ``_verify_param_shape_across_processes``); a mismatch raises on every rank, naming the first."""
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in named]
        everyone: list = []
        self._dist.all_gather_object(everyone, mine, group=self.process_group)
        for r, theirs in enumerate(everyone):
            if theirs != mine:
                diff = next(((a, b) for a, b in zip(mine, theirs) if a != b), None)
                detail = (f"{diff[0][0]} is {diff[0][1]} {diff[0][2]} here, {diff[1][0]} {diff[1][1]} {diff[1][2]} "
                          "there" if diff else f"{len(mine)} parameters here, {len(theirs)} there")
                raise RuntimeError(f"DistributedDataParallel: the model's parameters differ between rank "
                                   f"{self.process_group.rank()} and rank {r} ({detail}); every rank must build the "
                                   "same model")

    def _broadcast(self, tensors: list[Tensor]) -> None:
        """Rank 0's values of ``tensors`` to every rank: one broadcast per dtype of the flattened tensors."""
        if self._world == 1 or not tensors:
            return
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(array(t).dtype.str, []).append(t)
        for group in by_dtype.values():
            flat = wrap(np.concatenate([array(t).reshape(-1) for t in group]))
            self._dist.broadcast(flat, src=self._dist.get_global_rank(self.process_group, 0),
                                 group=self.process_group)
            offset, values = 0, array(flat)
            with no_grad():
                for t in group:
                    a = array(t)
                    np.copyto(a, values[offset:offset + a.size].reshape(a.shape))
                    offset += a.size
                    bump_version(t)

    def _assign_buckets(self, params: list[Tensor]) -> list[_Bucket]:
        """Reverse parameter order, one dtype per bucket, the first bucket capped at 1 MB, the others at
        ``bucket_bytes_cap`` (PyTorch's ``_compute_bucket_assignment_by_size``)."""
        buckets: list = []
        open_: dict = {}
        for p in reversed(params):
            a = array(p)
            key = a.dtype.str
            cap = _DEFAULT_FIRST_BUCKET_BYTES if not buckets and key not in open_ else self.bucket_bytes_cap
            cur = open_.setdefault(key, ([], [0], cap))
            cur[0].append(p)
            cur[1][0] += a.nbytes
            if cur[1][0] >= cur[2]:
                buckets.append(_Bucket(cur[0]))
                del open_[key]
        for members, _, _ in open_.values():
            buckets.append(_Bucket(members))
        return buckets

    def bucket_sizes(self) -> list[int]:
        """The buckets' sizes in bytes, in launch order."""
        return [b.nbytes() for b in self._buckets]

    # ---- forward -----------------------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._error is not None:
            raise RuntimeError(self._error)
        if self.broadcast_buffers and self._world > 1:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers:
                self._broadcast(buffers)
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare(output)
        else:
            self._armed = False
        return output

    def _prepare(self, output: Any) -> None:
        """Arm the reducer for the backward of this forward's output."""
        self._armed = True
        self._queued = False
        self._next_bucket = 0
        self._ready = set()
        for bucket in self._buckets:
            bucket.pending = len(bucket.params)
            bucket.work = None
        self._unused = set()
        if self.find_unused_parameters:
            used = _used_leaves(output)
            self._unused = {id(p) for p in self._params if id(p) not in used}

    # ---- backward: the hooks -----------------------------------------------------------------------------
    def _grad_ready(self, p: Tensor) -> None:
        if not self._armed:
            return
        if not self._queued:
            from ...autograd import Variable
            Variable._execution_engine.queue_callback(self._finalize)
            self._queued = True
            for q in self._params:  # the unused parameters are ready from the start (zero slots)
                if id(q) in self._unused:
                    self._mark(q, None)
        if id(p) in self._ready:
            raise RuntimeError(f"DistributedDataParallel: parameter {self._names[id(p)]!r} got its gradient twice "
                               "in one backward pass (a reentrant backward, or the module's output used in two "
                               "backward calls); use no_sync() or one backward per forward")
        self._mark(p, p.grad)

    def _mark(self, p: Tensor, grad: Tensor | None) -> None:
        b, i = self._where[id(p)]
        bucket = self._buckets[b]
        start, stop = bucket.offsets[i], bucket.offsets[i + 1]
        if grad is None:
            bucket.buffer[start:stop] = 0
        else:
            np.divide(array(grad).reshape(-1), self._world, out=bucket.buffer[start:stop])
        self._ready.add(id(p))
        bucket.pending -= 1
        # buckets start in index order on every rank (MPI matches collectives by order)
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            nxt = self._buckets[self._next_bucket]
            nxt.work = self._dist._all_reduce(wrap(nxt.buffer), self._dist.ReduceOp.SUM, self.process_group,
                                              async_op=True, check=False)
            self._next_bucket += 1
            if self._use_progress_thread and self._progress_thread is None:
                self._start_progress()
        if self._progress_thread is None:
            for bucket in self._buckets[:self._next_bucket]:  # poke MPI's progress engine
                if bucket.work is not None:
                    bucket.work.is_completed()

    def _start_progress(self) -> None:
        """A thread that enters MPI's progress engine every 50 us while buckets are in flight (MPI moves a
        non-blocking collective only inside MPI calls); it probes, never touching the requests."""
        comm = self.process_group.comm
        stop = self._progress_stop
        stop.clear()

        def spin():
            while not stop.is_set():
                comm.Iprobe(tag=32767)
                time.sleep(5e-5)
        self._progress_thread = threading.Thread(target=spin, daemon=True)
        self._progress_thread.start()

    def _stop_progress(self) -> None:
        if self._progress_thread is not None:
            self._progress_stop.set()
            self._progress_thread.join()
            self._progress_thread = None

    def _finalize(self) -> None:
        """The end-of-backward callback: wait for every bucket, write the averages into ``.grad``."""
        self._armed = False
        self._stop_progress()
        if self._next_bucket < len(self._buckets):
            missing = [self._names[id(p)] for p in self._params if id(p) not in self._ready]
            self._error = (
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`; parameters that did not receive a gradient: "
                + ", ".join(missing))
            return
        start = time.perf_counter()
        for bucket in self._buckets:
            bucket.work.wait()
        self.comm_seconds = time.perf_counter() - start
        globally_unused = self._globally_unused()
        for bucket in self._buckets:
            for i, p in enumerate(bucket.params):
                if id(p) in globally_unused:
                    continue
                values = bucket.buffer[bucket.offsets[i]:bucket.offsets[i + 1]].reshape(tuple(p.shape))
                if p.grad is None:
                    p.grad = wrap(values.copy())
                else:
                    np.copyto(array(p.grad), values)
                    bump_version(p.grad)

    def _globally_unused(self) -> set[int]:
        """With ``find_unused_parameters``: the parameters no rank used (their ``.grad`` stays None)."""
        if not self.find_unused_parameters:
            return set()
        used = wrap(np.array([0 if id(p) in self._unused else 1 for p in self._params], dtype=np.int32))
        self._dist.all_reduce(used, op=self._dist.ReduceOp.MAX, group=self.process_group)
        return {id(p) for p, u in zip(self._params, array(used)) if u == 0}

    # ---- the rest of PyTorch's surface -------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within it, forwards and backwards do not average gradients: they accumulate locally in ``.grad``;
        the first backward after it averages the accumulated sum.

        Example::

            >>> # with ddp.no_sync():
            >>> #     for micro in batches[:-1]: ddp(micro).sum().backward()   # no communication
            >>> # ddp(batches[-1]).sum().backward()                            # averages all of them
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._buckets)}"
