"""The training loop: ``Trainer.fit`` / ``evaluate`` / ``predict``, with checkpoints that resume exactly.

One epoch of ``fit``::

    model.train()
    for batch in train_loader:
        inputs, target = batch[:-1], batch[-1]          # or batch_fn(batch)
        loss = loss_fn(model(*inputs), target)
        check_loss(loss)                                       # the non-finite guard, before backward
        optimizer.zero_grad(); loss.backward()
        check_grads()                                          # ...and before the weights change
        clip_grad_norm_(model.parameters(), clip_grad_norm)   # if asked
        optimizer.step(); scheduler.step()                     # the scheduler here if it is per batch
    check that the weights (and buffers) are finite
    with no_grad(): model.eval(); ...the same on val_loader, without the update...
    scheduler.step()  or  scheduler.step(logs[monitor])      # per-epoch schedulers / ReduceLROnPlateau
    callbacks (history, early stopping, best checkpoint, ...); out_dir/last.safetensors; history.json

A checkpoint written after epoch ``e`` holds everything the next epoch depends on: the model, optimizer
and scheduler states, the history, every callback's state, and the random streams (nnzoo's default
generator, which dropout and unseeded shuffling draw from, and the train loader's generator). So
training 2 epochs, stopping, and resuming for 2 more in a new process gives bit-identical weights to 4
epochs in one go, and so does a run killed at any moment (even while it writes a checkpoint: every file
is written atomically) and resumed.

The non-finite guard: a NaN or infinite loss (checked before ``backward``) or gradient (checked in
:meth:`Trainer.optimizer_step`, before clipping and the optimizer's step, so the bad batch never changes
the weights) stops training with :class:`NonFiniteError` (``on_nonfinite='raise'``, the default), naming
the epoch, batch and parameter; the last checkpoint on disk is the last good epoch's, since checkpoints are
only written at the end of an epoch that passed. ``on_nonfinite='skip'`` drops such a batch instead (with
a warning; the count per epoch is logged as ``skipped_batches``). The check of all gradients is one BLAS
dot product per parameter (sum of squares, which is finite exactly when every element is, unless it
overflows, which a slower exact check then rules out): 7-11 us on the digits MLP's 850-880 us training
step (batch 32, Adam; about 1%, below the run-to-run noise of the whole step).

Distributed (processes started by ``mpirun``, ``nnzoo.distributed`` initialised): the Trainer trains a
:class:`~nnzoo.nn.parallel.DistributedDataParallel` wrapper of the model (gradients averaged over the
processes; ``self.model`` stays the plain model, so checkpoints have the same keys as a one-process run's and
resume on any number of processes), calls ``set_epoch`` on the train loader's sampler before every epoch (a
``DistributedSampler`` then shuffles anew), averages the logged loss and metrics over the processes weighted
by their sample counts (integer counts and lists such as confusion matrices are summed), agrees on a
non-finite loss on any process (so ``'skip'`` skips the batch everywhere), and writes ``out_dir`` (checkpoints,
history) and shows progress on rank 0 only; a resumed run reads rank 0's checkpoint on every process (the same
machine, or a shared file system).
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..autograd.arrays import array
from ..autograd.grad_mode import no_grad
from ..io import atomic_write, dumps_json, load, save
from ..nn.utils import clip_grad_norm_, evaluating
from ..ops.shape import cat
from ..optim.lr_scheduler import OneCycleLR
from ..random import Generator, default_generator, manual_seed
from ..tensor import Tensor
from .callbacks import Callback, EarlyStopping, History, ModelCheckpoint, ProgressBar, TensorBoard, step_scheduler
from .metrics import Mean, get_metric

if TYPE_CHECKING:
    from ..nn import Module
    from ..optim import Optimizer

__all__ = ["Trainer", "StepOutput", "fit", "detach_state", "NonFiniteError"]

_CHECKPOINT_VERSION = 1


class NonFiniteError(RuntimeError):
    """Training stopped at a non-finite loss or gradient (the run diverged).

    Raised by :class:`Trainer` (see its ``on_nonfinite``) before the bad batch changes the weights.

    Attributes:
        epoch (int): the epoch (1-based) of the bad batch. step (int): the optimizer steps taken before it.
        batch (int or None): the batch's index (0-based) in its epoch; None for a check at the end of an
            epoch (weights that an update made non-finite).
        what (str): ``'loss'``, the name (``model.named_parameters()``) of the first parameter whose
            gradient was not finite, or, at the end of an epoch, of the parameter or buffer that was not.
        checkpoint (str or None): the last good checkpoint kept on disk (``out_dir/last.safetensors``,
            written or resumed from by this Trainer), or None when there is none.
        summary (str): the message's first part: what was not finite, and where.
    """

    def __init__(self, message: str, *, epoch: int | None = None, step: int | None = None,
                 batch: int | None = None, what: str | None = None, checkpoint: str | None = None,
                 summary: str | None = None) -> None:
        super().__init__(message)
        self.epoch, self.step, self.batch, self.what, self.checkpoint = epoch, step, batch, what, checkpoint
        self.summary = summary if summary is not None else message


class StepOutput(NamedTuple):
    """What one train or eval step reports: the batch's mean ``loss`` (a float), the model ``output``
    (detached) and ``target`` for the metrics, and ``size``, the weight of the loss in the epoch's mean."""

    loss: float
    output: Any
    target: Any
    size: int


def _batch_size(target):
    """Samples in a batch: the first dimension of the target (1 for a scalar target)."""
    if isinstance(target, Tensor):
        return target.shape[0] if target.ndim else 1
    try:
        return len(target)
    except TypeError:
        return 1


def _plain(value):
    """A metric value as plain Python (floats for JSON and checkpoints; matrices as nested lists)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return float(value)


def _loader_generators(loader):
    """The distinct nnzoo Generators a loader shuffles or samples with (loader, sampler, batch sampler)."""
    if loader is None:
        return []
    batch_sampler = getattr(loader, "batch_sampler", None)
    owners = (loader, getattr(loader, "sampler", None), batch_sampler, getattr(batch_sampler, "sampler", None))
    gens = []
    for owner in owners:
        g = getattr(owner, "generator", None)
        if isinstance(g, Generator) and all(g is not h for h in gens):
            gens.append(g)
    return gens


def detach_state(state: Any) -> Any:
    """``state`` with every Tensor in it detached (nested tuples, lists and dicts keep their structure):
    the cut between two chunks of truncated backpropagation through time.

    Example::

        >>> h = nnzoo.ones(2, requires_grad=True) * 2
        >>> detach_state((h, [h])).__class__, detach_state((h, [h]))[1][0].requires_grad
        (<class 'tuple'>, False)
    """
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        items = [detach_state(v) for v in state]
        return type(state)(*items) if hasattr(state, "_fields") else type(state)(items)
    return state


def _to_device(obj, device):
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


class Trainer:
    """Fit a model with a loss and an optimizer: epochs, validation, metrics, callbacks, checkpoints.

    Args:
        model (nn.Module): the model; ``model(*inputs)`` gives the output the loss compares to the target.
        loss_fn (callable): ``loss_fn(output, target)`` -> a scalar Tensor (e.g. ``nn.CrossEntropyLoss()``).
        optimizer (optim.Optimizer): the optimizer over ``model.parameters()``.
        scheduler (optional): an ``optim.lr_scheduler`` scheduler, stepped once per epoch after validation
            (``ReduceLROnPlateau`` gets the monitored value) or after every optimizer step (see
            ``scheduler_interval``).
        metrics (optional): what to compute besides the loss, on the training batches (logged
            ``train_<name>``) and the validation set (``val_<name>``): a name (``'accuracy'``,
            ``'top5_accuracy'``, ``'perplexity'``, ``'bpc'``), a :class:`~nnzoo.train.metrics.Metric`, a
            function ``fn(output, target) -> float`` (averaged weighted by batch size), a list of those,
            or a dict ``{name: metric}``.
        callbacks (list of Callback, optional): called at the hooks of :mod:`nnzoo.train.callbacks`.
        clip_grad_norm (float, optional): clip the gradients' total 2-norm to this before each step.
        device: where batches and the model go (``'cpu'``; accepted for PyTorch-style code).
        out_dir (str or Path, optional): where ``history.json``, ``best.safetensors`` (the best model's
            state dict, by the monitored metric) and ``last.safetensors`` (the resumable checkpoint)
            are written after every epoch. Default: None (nothing written).
        progress (bool): show a progress bar per epoch (see :class:`~nnzoo.train.callbacks.ProgressBar`).
        seed (int, optional): ``nnzoo.manual_seed(seed)`` now, for reproducible dropout and shuffling.
        scheduler_interval (str, optional): ``'epoch'`` or ``'batch'``. Default: ``'batch'`` for
            ``OneCycleLR`` (which PyTorch steps after every batch), ``'epoch'`` for the others.
        monitor (str, optional): the logged value that decides the best checkpoint, early stopping and
            ``ReduceLROnPlateau``. Default: ``'val_loss'`` with a validation set, else ``'train_loss'``.
        mode (str): ``'min'``, ``'max'`` or ``'auto'`` (``'max'`` when the monitor contains ``acc``).
        patience (int, optional): stop after this many epochs without improvement of the monitor
            (adds an :class:`~nnzoo.train.callbacks.EarlyStopping`). Default: None (never stop early).
        min_delta (float): for early stopping, the smallest change of the monitor that counts as an
            improvement. Default: 0.
        batch_fn (callable, optional): ``batch_fn(batch) -> (inputs, target)`` with ``inputs`` a tuple of
            model arguments. Default: a batch is a tuple ``(inputs..., target)``: ``batch[:-1]`` are the
            model's arguments and ``batch[-1]`` the target.
        tensorboard (bool): also log every epoch to TensorBoard under ``out_dir/tb`` (needs tensorboardX).
        carry_state (bool): truncated backpropagation through time. The model is called
            ``model(*inputs, state)`` and returns ``(output, state)``; the state one batch ends with starts
            the next batch, detached (:func:`detach_state`): hidden states are carried forward in time for
            the whole epoch, gradients flow back only within a batch. The state starts as ``None`` at every
            epoch and every evaluation. Feed batches that continue each other (``data.bptt_batches``).
        on_nonfinite (str): what a NaN or infinite training loss or gradient does. ``'raise'`` (default):
            stop with :class:`NonFiniteError` before the weights change, naming the epoch, the batch and
            ``'loss'`` or the parameter; ``out_dir`` keeps the last good epoch's checkpoint and history.
            ``'skip'``: drop the batch (no update; no ``on_batch_end``; not in the epoch's loss and
            metrics), warn, and log the epoch's count as ``skipped_batches``. ``'ignore'``: no check
            (the behaviour before the guard). Unless ``'ignore'``, parameters or buffers that are not
            finite at the end of an epoch (an update that overflowed) raise :class:`NonFiniteError` before
            anything is evaluated or written, and so does a skipped batch whose forward pass made a buffer
            (batch norm's running statistics) non-finite.
        max_skipped_batches (int, optional): with ``'skip'``, raise once more batches than this have been
            skipped in all. Default: None (no limit; an epoch whose every batch is skipped still raises).
        distributed (bool, optional): train data-parallel over the processes of ``nnzoo.distributed``'s
            default group (see the module docstring). Default: None, meaning yes when a group of more than
            one process is initialised.

    Attributes:
        history (dict of lists): one entry per epoch for ``epoch``, ``train_loss``, ``train_<metric>``,
            ``val_loss``, ``val_<metric>``, ``lr`` (param group 0's lr at the start of the epoch) and
            ``time`` (seconds); ``skipped_batches`` too with ``on_nonfinite='skip'``.
        epoch (int): epochs completed. global_step (int): optimizer steps taken.
        stop_training (bool): set by a callback to end ``fit`` after the current epoch.

    Customising: subclass and override :meth:`train_step` / :meth:`eval_step` (e.g. truncated
    backpropagation through time splits a batch into chunks and calls :meth:`optimizer_step` per chunk),
    or :meth:`split_batch`.

    Example::

        >>> x = nnzoo.randn(64, 3); y = x @ nnzoo.tensor([[1.0], [-2.0], [0.5]])
        >>> batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]  # any iterable of batches
        >>> model = nnzoo.nn.Linear(3, 1)
        >>> trainer = Trainer(model, nnzoo.nn.MSELoss(), nnzoo.optim.SGD(model.parameters(), lr=0.1),
        ...                   progress=False)
        >>> history = trainer.fit(batches, epochs=20)
        >>> history["train_loss"][-1] < 1e-3 * history["train_loss"][0]
        True
    """

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer, scheduler: Any = None,
                 metrics: list | None = None, callbacks: list[Callback] | None = None,
                 clip_grad_norm: float | None = None, device: str = "cpu", out_dir: str | os.PathLike | None = None,
                 progress: bool = True, seed: int | None = None, *, scheduler_interval: str | None = None,
                 monitor: str | None = None, mode: str = "auto", patience: int | None = None, min_delta: float = 0.0,
                 batch_fn: Callable | None = None, tensorboard: bool = False, carry_state: bool = False,
                 on_nonfinite: str = "raise", max_skipped_batches: int | None = None,
                 distributed: bool | None = None) -> None:
        if on_nonfinite not in ("raise", "skip", "ignore"):
            raise ValueError(f"Trainer: on_nonfinite must be 'raise', 'skip' or 'ignore', got {on_nonfinite!r}")
        if max_skipped_batches is not None and max_skipped_batches < 0:
            raise ValueError(f"Trainer: max_skipped_batches must be >= 0 or None, got {max_skipped_batches}")
        if seed is not None:
            manual_seed(seed)
        self.device = device
        self.model = model.to(device) if device is not None else model
        from .. import distributed as dist
        from ..nn.parallel import DistributedDataParallel
        world = dist.get_world_size() if dist.is_initialized() else 1
        if distributed and world == 1 and not dist.is_initialized():
            raise ValueError("Trainer(distributed=True): no process group; call nnzoo.distributed."
                             "init_process_group() in processes started by mpirun")
        self.distributed = world > 1 if distributed is None else bool(distributed)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world_size = world if self.distributed else 1
        self.is_main = self.rank == 0 or not self.distributed
        self._train_model = self.model
        if self.distributed and not isinstance(self.model, DistributedDataParallel):
            self._train_model = DistributedDataParallel(self.model)
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        if scheduler_interval is None:
            scheduler_interval = "batch" if isinstance(scheduler, OneCycleLR) else "epoch"
        if scheduler_interval not in ("epoch", "batch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}")
        self.scheduler_interval = scheduler_interval
        self.metrics = self._build_metrics(metrics)
        self.clip_grad_norm = clip_grad_norm
        self.out_dir = os.fspath(out_dir) if out_dir is not None else None
        self.batch_fn = batch_fn
        self.carry_state = bool(carry_state)
        self.state = None  # the recurrent state carried between batches (carry_state=True)
        self._monitor = monitor
        self.monitor = monitor or "val_loss"  # fixed in fit() once it knows about a validation set
        self.mode = mode
        self.on_nonfinite = on_nonfinite
        self.max_skipped_batches = max_skipped_batches

        self._history = History()
        user = list(callbacks or [])
        for cb in user:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback objects, got {type(cb).__name__}")
        auto = []
        if patience is not None:
            auto.append(EarlyStopping(patience=patience, min_delta=min_delta))
        # NOTE: distributed, the files and the progress bar are rank 0's alone (its logs are the averages)
        if self.out_dir is not None and not any(isinstance(cb, ModelCheckpoint) for cb in user) and self.is_main:
            auto.append(ModelCheckpoint())
        if tensorboard and self.is_main:
            auto.append(TensorBoard())
        if progress and self.is_main:
            auto.append(ProgressBar())
        self.callbacks = [self._history] + user + auto

        self.epoch = 0
        self.global_step = 0
        self.epochs = None
        self.stop_training = False
        self.train_loader = self.val_loader = None
        self._running = None
        self._batch_idx = None        # the training batch being processed (for the guard's messages)
        self._skipped = 0             # batches skipped by the guard in the current epoch
        self._good_checkpoint = None  # (path, epoch) of the last checkpoint this Trainer wrote or resumed

    # ---- set-up helpers --------------------------------------------------------------------------
    @staticmethod
    def _build_metrics(metrics):
        if metrics is None:
            return []
        if isinstance(metrics, dict):
            built = []
            for name, spec in metrics.items():
                metric = copy.deepcopy(get_metric(spec))
                metric.name = name
                built.append(metric)
        else:
            if isinstance(metrics, str) or callable(metrics):
                metrics = [metrics]
            built = [get_metric(spec) for spec in metrics]
        names = [m.name for m in built]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Trainer: metric names must be unique and not 'loss', got {names}")
        return built

    def _fresh_metrics(self):
        metrics = [copy.deepcopy(m) for m in self.metrics]
        for m in metrics:
            m.reset()
        return metrics

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    @property
    def history(self):
        return self._history.history

    # ---- the non-finite guard --------------------------------------------------------------------
    def check_loss(self, loss):
        """The loss as a float, after the guard's check that it is finite (see ``on_nonfinite``): call it
        before ``backward`` in a custom :meth:`train_step`."""
        value = loss.item() if isinstance(loss, Tensor) else float(loss)
        if self.on_nonfinite != "ignore":
            finite = math.isfinite(value)
            if self.distributed:  # every process takes the same decision (one small all-reduce)
                others = self._all_reduce([float(finite)], "min")[0]
                if finite and not others:
                    raise self._nonfinite_error("loss", "the loss is not finite on another process")
            if not finite:
                raise self._nonfinite_error("loss", f"the loss is {value}")
        return value

    # ---- across processes ------------------------------------------------------------------------
    def _all_reduce(self, values, op="sum"):
        """``values`` (floats) reduced over the processes: a list of floats."""
        from .. import distributed as dist
        from ..autograd.arrays import wrap
        t = wrap(np.asarray(values, dtype=np.float64))
        dist.all_reduce(t, op=dist.ReduceOp.MIN if op == "min" else dist.ReduceOp.SUM)
        return array(t).tolist()

    def _average_logs(self, logs, weight):
        """Logs averaged over the processes: floats weighted by each process's ``weight`` (its samples), ints
        and lists (counts, confusion matrices) summed. The identity on one process."""
        if not self.distributed:
            return logs
        floats = [k for k, v in logs.items() if isinstance(v, float)]
        counts = [k for k, v in logs.items() if isinstance(v, int) and not isinstance(v, bool)]
        lists = [k for k, v in logs.items() if isinstance(v, list)]
        flat = [logs[k] * weight for k in floats] + [float(logs[k]) for k in counts] + [float(weight)]
        for k in lists:
            flat += np.asarray(logs[k], dtype=np.float64).ravel().tolist()
        total = self._all_reduce(flat)
        out = dict(logs)
        w = total[len(floats) + len(counts)]
        for i, k in enumerate(floats):
            out[k] = total[i] / w if w else float("nan")
        for i, k in enumerate(counts):
            out[k] = round(total[len(floats) + i])
        offset = len(floats) + len(counts) + 1
        for k in lists:
            shape = np.asarray(logs[k]).shape
            size = int(np.prod(shape))
            out[k] = np.asarray(total[offset:offset + size]).reshape(shape).tolist()
            offset += size
        return out

    def check_grads(self):
        """Raise :class:`NonFiniteError` if a gradient of the optimized parameters holds a NaN or an
        infinity (``optimizer_step`` calls it first, unless ``on_nonfinite='ignore'``)."""
        # NOTE: one BLAS dot product g.g per parameter, accumulated: the sum of squares is NaN or infinite
        # whenever an element is (NaN or inf squared stay so, and squares never cancel), and otherwise finite
        # unless it overflows (|g| around 1e19 in float32): then the exact check below decides. Faster than
        # np.isfinite(g).all() (1.4-2x) or np.sum(g) (3-4x) on the digits MLP's gradients.
        total = 0.0
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    flat = array(g).reshape(-1)
                    total = total + np.dot(flat, flat)
        if math.isfinite(total):
            return
        names = {id(p): name for name, p in self.model.named_parameters()}
        for i, group in enumerate(self.optimizer.param_groups):
            for j, p in enumerate(group["params"]):
                if p.grad is not None and not np.isfinite(array(p.grad)).all():
                    name = names.get(id(p), f"param_groups[{i}]['params'][{j}]")
                    bad = array(p.grad)[~np.isfinite(array(p.grad))]
                    kinds = " and ".join(k for k, has in (("NaN", np.isnan(bad).any()),
                                                          ("inf", np.isinf(bad).any())) if has)
                    raise self._nonfinite_error(
                        name, f"the gradient of {name!r} holds {bad.size} of {array(p.grad).size} non-finite "
                              f"values ({kinds})")

    def _nonfinite_error(self, what, detail, batch=True, after=""):
        """A :class:`NonFiniteError` for the current epoch and batch, naming the last good checkpoint."""
        epoch, step = self.epoch + 1, self.global_step
        batch = self._batch_idx if batch else None
        where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "") + \
                f" (after {step} optimizer steps)"
        if self._good_checkpoint is not None:
            path, good = self._good_checkpoint
            kept = f"the last good checkpoint, {path} (epoch {good}), is kept"
        elif self.out_dir is not None:
            kept = "no checkpoint had been written yet (the run diverged in its first epoch)"
        else:
            kept = "no checkpoint is kept (give the Trainer an out_dir to keep one per epoch)"
        summary = f"Trainer: non-finite {'loss' if what == 'loss' else 'values'} at {where}: {detail}"
        text = (f"{summary}{after or '; the weights were not updated with this batch'}. The run diverged: try a "
                f"lower learning rate or clip_grad_norm, or on_nonfinite='skip' to drop such batches; {kept}.")
        return NonFiniteError(text, epoch=epoch, step=step, batch=batch, what=what,
                              checkpoint=self._good_checkpoint[0] if self._good_checkpoint else None,
                              summary=summary)

    def _skip_batch(self, error):
        """``on_nonfinite='skip'``: drop the batch of ``error``, or raise it when that is not safe."""
        self.optimizer.zero_grad()
        bad = self._nonfinite_tensor(self.model.named_buffers())
        if bad is not None:  # the forward pass already wrote them (batch norm's running statistics)
            raise self._nonfinite_error(bad, f"the buffer {bad!r} is not finite after the batch's forward "
                                             "pass, which cannot be undone by skipping the batch") from error
        self._skipped += 1
        total = self._skipped + sum(self.history.get("skipped_batches", []))
        if self.max_skipped_batches is not None and total > self.max_skipped_batches:
            raise NonFiniteError(f"{error} (Skipped {total} batches in all, more than "
                                 f"max_skipped_batches={self.max_skipped_batches}.)", epoch=error.epoch,
                                 step=error.step, batch=error.batch, what=error.what,
                                 checkpoint=error.checkpoint, summary=error.summary) from error
        warnings.warn(f"{error.summary}; the batch is skipped (on_nonfinite='skip'; {total} skipped in all)",
                      RuntimeWarning, stacklevel=2)

    @staticmethod
    def _nonfinite_tensor(named):
        """The name of the first floating-point tensor of ``named`` that holds a NaN or an infinity."""
        for name, t in named:
            a = array(t)
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                return name
        return None

    def _check_weights(self):
        """After an epoch: the parameters and buffers must be finite before anything is evaluated or saved."""
        bad = self._nonfinite_tensor(self.model.named_parameters())
        kind = "parameter"
        if bad is None:
            bad, kind = self._nonfinite_tensor(self.model.named_buffers()), "buffer"
        if bad is not None:
            cause = ("an optimizer update with finite gradients overflowed" if kind == "parameter" else
                     "the forward passes wrote it")
            raise self._nonfinite_error(bad, f"the {kind} {bad!r} is not finite at the end of the epoch",
                                        batch=False, after=f"; {cause}, and nothing of this epoch is saved")

    # ---- one batch -------------------------------------------------------------------------------
    def split_batch(self, batch):
        """``(inputs, target)`` of a batch: ``batch_fn(batch)`` if given, else ``(batch[:-1], batch[-1])``."""
        if self.batch_fn is not None:
            inputs, target = self.batch_fn(batch)
            return (tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)), target
        if isinstance(batch, (tuple, list)) and len(batch) >= 2:
            return tuple(batch[:-1]), batch[-1]
        raise TypeError(f"Trainer: a batch must be a tuple (inputs..., target) of at least 2 items, got "
                        f"{type(batch).__name__}"
                        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
                        + "; pass batch_fn=lambda batch: (inputs, target) to split it otherwise")

    def optimizer_step(self):
        """Check the gradients are finite (the guard; see ``on_nonfinite``), clip them (if asked), step the
        optimizer, and a per-batch scheduler."""
        if self.on_nonfinite != "ignore":
            self.check_grads()
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_interval == "batch":
            step_scheduler(self.scheduler)

    def forward(self, inputs: tuple) -> Any:
        """``model(*inputs)``; with ``carry_state``, ``model(*inputs, state)`` with the previous batch's state
        detached, keeping the new state for the next batch. Distributed, training goes through the
        DistributedDataParallel wrapper."""
        model = self._train_model if self.model.training else self.model
        if not self.carry_state:
            return model(*inputs)
        result = model(*inputs, detach_state(self.state))
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError("Trainer(carry_state=True): the model must return (output, state), got "
                            f"{type(result).__name__}" + (f" of length {len(result)}"
                                                         if isinstance(result, (tuple, list)) else ""))
        output, self.state = result
        return output

    def train_step(self, batch, batch_idx):
        """Forward, loss, backward and one optimizer step on a batch (the override point for other custom
        updates: call :meth:`check_loss` before ``backward`` and step with :meth:`optimizer_step`, which
        checks the gradients). Returns a :class:`StepOutput`."""
        inputs, target = self.split_batch(batch)
        output = self.forward(inputs)
        loss = self.loss_fn(output, target)
        value = self.check_loss(loss)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer_step()
        if isinstance(output, Tensor):
            output = output.detach()  # the metrics read it; nothing keeps the graph alive
        return StepOutput(value, output, target, _batch_size(target))

    def eval_step(self, batch, batch_idx):
        """Forward and loss on a batch, without gradients (``evaluate`` runs it under ``no_grad``)."""
        inputs, target = self.split_batch(batch)
        output = self.forward(inputs)
        return StepOutput(self.loss_fn(output, target).item(), output, target, _batch_size(target))

    # ---- epochs ----------------------------------------------------------------------------------
    def running_logs(self):
        """The current epoch's running training loss and metrics (what the progress bar shows)."""
        if self._running is None:
            return {}
        loss, metrics = self._running
        logs = {"loss": loss.compute()}
        for m in metrics:
            value = _plain(m.compute())
            if isinstance(value, float):  # scalars only (not a confusion matrix)
                logs[m.name] = value
        return logs

    def _train_epoch(self, loader):
        self.model.train()
        self.state = None
        loss, metrics = Mean("loss"), self._fresh_metrics()
        self._running = (loss, metrics)
        self._skipped = 0
        guard = self.on_nonfinite != "ignore"
        for batch_idx, batch in enumerate(loader):
            self._batch_idx = batch_idx
            try:
                step = self.train_step(_to_device(batch, self.device), batch_idx)
                if guard and not math.isfinite(step.loss):  # a custom train_step that skipped check_loss
                    raise self._nonfinite_error("loss", f"the loss is {step.loss}",
                                                after="; the weights may have been updated with this batch")
            except NonFiniteError as error:
                if self.on_nonfinite != "skip":
                    raise
                self._skip_batch(error)
                continue
            loss.update(step.loss, step.size)
            for m in metrics:
                m.update(step.output, step.target)
            self._call("on_batch_end", batch_idx, {"loss": step.loss, "size": step.size})
        self._running = None
        self._batch_idx = None
        if loss.weight == 0:
            if self._skipped:
                raise self._nonfinite_error("loss", f"all {self._skipped} batches of the epoch were skipped",
                                            batch=False, after="; the weights were not updated this epoch")
            raise ValueError("Trainer.fit: the train loader gave no batches")
        logs = {"train_loss": loss.compute(), **{"train_" + m.name: _plain(m.compute()) for m in metrics}}
        if self.on_nonfinite == "skip":
            logs["skipped_batches"] = self._skipped
        return self._average_logs(logs, loss.weight)

    @contextlib.contextmanager
    def _inference(self):
        """Eval mode, no gradients and a fresh recurrent state; the model's mode and the training's carried
        state are restored afterwards."""
        carried, self.state = self.state, None
        try:
            with evaluating(self.model), no_grad():
                yield
        finally:
            self.state = carried

    def evaluate(self, loader: Iterable, prefix: str = "") -> dict[str, float]:
        """The mean loss and the metrics over ``loader``, in eval mode and without gradients.

        The model's training/eval mode is restored afterwards.

        Returns:
            dict: ``{prefix + 'loss': ..., prefix + name: ...}`` (``fit`` uses ``prefix='val_'``).
        """
        loss, metrics = Mean("loss"), self._fresh_metrics()
        with self._inference():
            for batch_idx, batch in enumerate(loader):
                step = self.eval_step(_to_device(batch, self.device), batch_idx)
                loss.update(step.loss, step.size)
                for m in metrics:
                    m.update(step.output, step.target)
        logs = {prefix + "loss": loss.compute(), **{prefix + m.name: _plain(m.compute()) for m in metrics}}
        return self._average_logs(logs, loss.weight)

    def predict(self, loader: Iterable) -> Any:
        """The model's outputs over ``loader``, concatenated along dim 0 (eval mode, no gradients).

        A batch that is a Tensor or a 1-tuple is the model's input; longer batches are split as in
        training and the target is dropped.
        """
        outputs = []
        with self._inference():
            for batch in loader:
                batch = _to_device(batch, self.device)
                if isinstance(batch, Tensor):
                    inputs = (batch,)
                elif isinstance(batch, (tuple, list)) and len(batch) == 1 and self.batch_fn is None:
                    inputs = tuple(batch)
                else:
                    inputs, _ = self.split_batch(batch)
                outputs.append(self.forward(inputs))
        if not outputs:
            raise ValueError("Trainer.predict: the loader gave no batches")
        return cat(outputs, 0)

    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None, epochs: int = 1,
            resume: bool | str | os.PathLike | None = None) -> dict[str, list]:
        """Train until ``epochs`` epochs are done in all (or a callback stops training).

        Args:
            train_loader: an iterable of batches, re-iterated every epoch (a ``DataLoader``).
            val_loader (optional): batches evaluated after every epoch (``val_*`` in the history).
            epochs (int): the total number of epochs: training continues from ``self.epoch`` (0 for a
                new Trainer, the checkpoint's epoch after ``resume``).
            resume (optional): ``True`` to resume from ``out_dir/last.safetensors``, or a checkpoint path.
                Restores the model, optimizer, scheduler, history, callbacks and random streams
                (:meth:`load_checkpoint`). With ``True`` and no ``last.safetensors`` yet (a run stopped
                before its first epoch ended), training starts from scratch with a ``UserWarning`` saying
                so (shown on stderr); an explicit path that does not exist raises ``FileNotFoundError``.

        Raises:
            NonFiniteError: at a non-finite loss or gradient (see ``on_nonfinite``).

        Returns:
            dict: ``self.history``.
        """
        self.train_loader, self.val_loader, self.epochs = train_loader, val_loader, epochs
        self.monitor = self._monitor or ("val_loss" if val_loader is not None else "train_loss")
        if resume is not None and resume is not False:
            if resume is True:
                if self.out_dir is None:
                    raise ValueError("Trainer.fit: resume=True resumes from out_dir/last.safetensors; "
                                     "give the Trainer an out_dir, or pass the checkpoint's path")
                resume = os.path.join(self.out_dir, "last.safetensors")
                if not os.path.exists(resume):
                    warnings.warn(f"Trainer.fit: resume=True but there is no checkpoint at {resume!r} yet; "
                                  "training starts from scratch", stacklevel=2)
                    resume = None
            if resume is not None:
                self.load_checkpoint(resume, train_loader)
                if self.out_dir is not None and self.epoch > 0 and self.is_main:
                    # a run killed between its last checkpoint and history.json: make them agree again
                    self._write_history()
        self.stop_training = False
        self._call("on_fit_start")
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch = self.epoch
                start = time.perf_counter()
                self._call("on_epoch_start", epoch)
                lr = self.optimizer.param_groups[0]["lr"]
                _set_epoch(train_loader, epoch)
                logs = {"epoch": epoch + 1, **self._train_epoch(train_loader)}
                if self.on_nonfinite != "ignore":
                    self._check_weights()
                if val_loader is not None:
                    logs.update(self.evaluate(val_loader, prefix="val_"))
                logs["lr"] = float(lr)
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    step_scheduler(self.scheduler, logs.get(self.monitor))
                logs["time"] = time.perf_counter() - start
                self.epoch = epoch + 1
                self._call("on_epoch_end", epoch, logs)
                if self.out_dir is not None:
                    # NOTE: written after every callback, so the checkpoint holds their states after
                    # this epoch, and after all random draws of the epoch (the next one starts from here)
                    last = os.path.join(self.out_dir, "last.safetensors")
                    if self.is_main:
                        self.save_checkpoint(last)
                        self._write_history()
                    self._good_checkpoint = (last, self.epoch)
        finally:
            self._call("on_fit_end")
        return self.history

    # ---- checkpoints -----------------------------------------------------------------------------
    def _keyed_callbacks(self):
        """Callbacks other than the history, keyed ``ClassName`` (``ClassName#1``, ... for repeats)."""
        counts, keyed = {}, []
        for cb in self.callbacks:
            if cb is self._history:
                continue
            name = type(cb).__name__
            n = counts.get(name, 0)
            counts[name] = n + 1
            keyed.append((name if n == 0 else f"{name}#{n}", cb))
        return keyed

    def state_dict(self, train_loader: Iterable | None = None) -> dict[str, Any]:
        """Everything a resumed run needs (see the module docstring), as an ``nnzoo.save``-able dict."""
        loader = train_loader if train_loader is not None else self.train_loader
        return {
            "version": _CHECKPOINT_VERSION,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": self.history,
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
            "rng": {"default": default_generator.get_state(),
                    "loader": [g.get_state() for g in _loader_generators(loader)]},
        }

    def load_state_dict(self, state: dict[str, Any], train_loader: Iterable | None = None) -> None:
        """Restore a :meth:`state_dict` into this Trainer's model, optimizer, scheduler, callbacks and the
        random streams (``train_loader``'s generators too, when given)."""
        if state.get("version") != _CHECKPOINT_VERSION:
            raise RuntimeError(f"Trainer.load_state_dict: unknown checkpoint version {state.get('version')!r}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            if state["scheduler"] is None:
                raise RuntimeError("Trainer.load_state_dict: this Trainer has a scheduler but the checkpoint "
                                   "holds no scheduler state")
            self.scheduler.load_state_dict(state["scheduler"])
        elif state["scheduler"] is not None:
            warnings.warn("Trainer.load_state_dict: the checkpoint holds a scheduler state but this Trainer "
                          "has no scheduler; it is ignored", stacklevel=2)
        self._history.load_state_dict({"history": state["history"]})
        saved = state["callbacks"]
        for key, cb in self._keyed_callbacks():
            if key in saved:
                cb.load_state_dict(saved[key])
            elif cb.state_dict():
                warnings.warn(f"Trainer.load_state_dict: no state for callback {key} in the checkpoint", stacklevel=2)
        default_generator.set_state(state["rng"]["default"])
        gens, states = _loader_generators(train_loader), state["rng"]["loader"]
        if train_loader is not None and len(gens) != len(states):
            warnings.warn(f"Trainer.load_state_dict: the checkpoint holds {len(states)} loader generator "
                          f"state(s) but the train loader has {len(gens)} generator(s); its shuffling will "
                          "not continue the saved stream", stacklevel=2)
        else:
            for g, s in zip(gens, states):
                g.set_state(s)
        self.epoch = state["epoch"]
        self.global_step = state["global_step"]

    def save_checkpoint(self, path: str | os.PathLike, train_loader: Iterable | None = None) -> None:
        """Write :meth:`state_dict` to ``path`` with ``nnzoo.save`` (safetensors; atomic)."""
        os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
        save(self.state_dict(train_loader), path)

    def load_checkpoint(self, path: str | os.PathLike, train_loader: Iterable | None = None) -> None:
        """Read a checkpoint written by :meth:`save_checkpoint` and :meth:`load_state_dict` it."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"Trainer: no checkpoint to resume from at {os.fspath(path)!r}")
        self.load_state_dict(load(path), train_loader)
        self._good_checkpoint = (os.fspath(path), self.epoch)

    def load_best(self) -> Module:
        """Load the best model saved by the ModelCheckpoint callback into ``self.model``."""
        if self.distributed:  # rank 0 keeps the best checkpoint; every process loads it from there
            from .. import distributed as dist
            dist.barrier()
            found: list = [None]
            if self.is_main:
                try:
                    self._load_best()
                    found = [next(cb.best_path for cb in self.callbacks if isinstance(cb, ModelCheckpoint)
                                  and cb.best_path)]
                except RuntimeError as e:
                    found = [e]
            dist.broadcast_object_list(found, src=0)
            if isinstance(found[0], Exception):
                raise RuntimeError(str(found[0]))
            if not self.is_main:
                self.model.load_state_dict(load(found[0]))
            return self.model
        return self._load_best()

    def _load_best(self):
        checkpoints = [cb for cb in self.callbacks if isinstance(cb, ModelCheckpoint)]
        if not checkpoints:
            raise RuntimeError("Trainer.load_best: this Trainer keeps no best checkpoint; give it an out_dir "
                               "(or a ModelCheckpoint callback)")
        paths = [cb.best_path for cb in checkpoints if cb.best_path]
        if not paths:
            monitor = checkpoints[0].monitor or self.monitor
            values = self.history.get(monitor, [])
            if self.epoch == 0:
                why = "no epoch has been trained yet (fit ran 0 epochs)"
            elif values and all(isinstance(v, float) and math.isnan(v) for v in values):
                why = f"the monitored {monitor!r} was NaN in all {len(values)} epochs"
            else:
                why = f"none of the {self.epoch} epochs improved the monitored {monitor!r}"
            raise RuntimeError(f"Trainer.load_best: no best checkpoint has been written: {why}")
        self.model.load_state_dict(load(paths[0]))
        return self.model

    def _write_history(self):
        atomic_write(os.path.join(self.out_dir, "history.json"), dumps_json(self.history, indent=1))


def _set_epoch(loader, epoch):
    """``set_epoch(epoch)`` on the loader's sampler (or batch sampler's sampler) that has one
    (``DistributedSampler``), as a PyTorch training loop calls it before every epoch."""
    batch_sampler = getattr(loader, "batch_sampler", None)
    for owner in (getattr(loader, "sampler", None), getattr(batch_sampler, "sampler", None)):
        if hasattr(owner, "set_epoch"):
            owner.set_epoch(epoch)
            return


def fit(model: Module, train_loader: Iterable, val_loader: Iterable | None = None, epochs: int = 1, *,
        loss_fn: Callable, optimizer: Optimizer | None = None, lr: float = 1e-3,
        resume: bool | str | os.PathLike | None = None, **trainer_kwargs: Any) -> Trainer:
    """Train ``model`` in one call: ``Trainer(model, loss_fn, optimizer, **trainer_kwargs).fit(...)``.

    Args:
        optimizer (optional): default ``optim.Adam(model.parameters(), lr=lr)``.
        **trainer_kwargs: any other :class:`Trainer` argument (``metrics``, ``scheduler``, ``out_dir``, ...).

    Returns:
        Trainer: the trainer, with its ``history``, ready for ``evaluate`` / ``predict``.

    Example::

        >>> x = nnzoo.randn(32, 2); y = (x[:, 0] > 0).long()
        >>> model = nnzoo.nn.Linear(2, 2)
        >>> trainer = fit(model, [(x, y)], epochs=50, loss_fn=nnzoo.nn.CrossEntropyLoss(), lr=0.1,
        ...               metrics="accuracy", progress=False)
        >>> trainer.history["train_accuracy"][-1] > 0.9
        True
    """
    if optimizer is None:
        from ..optim import Adam
        optimizer = Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, loss_fn, optimizer, **trainer_kwargs)
    trainer.fit(train_loader, val_loader, epochs=epochs, resume=resume)
    return trainer
