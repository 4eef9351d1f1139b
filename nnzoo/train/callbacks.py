"""Callbacks: code the :class:`~nnzoo.train.Trainer` calls at fixed points of training.

The hooks, in the order they run (``trainer`` is the Trainer, ``epoch`` counts from 0)::

    on_fit_start(trainer)
    for each epoch:
        on_epoch_start(trainer, epoch)
        for each batch:  ...train step...  on_batch_end(trainer, batch_idx, logs)
        ...validation...
        on_epoch_end(trainer, epoch, logs)      # logs: this epoch's row of the history
    on_fit_end(trainer)

A callback stops training by setting ``trainer.stop_training = True``. Whatever a callback must remember
across a stop and a resume goes in ``state_dict()`` (numbers, strings, lists, dicts, tensors: it is stored
in the Trainer's last checkpoint with ``nnzoo.save``) and comes back through ``load_state_dict``.

Monitored values: ``monitor=None`` means the Trainer's ``monitor`` (``'val_loss'`` when there is a
validation set, else ``'train_loss'``), and ``mode='auto'`` means ``'max'`` for names containing ``acc``
and ``'min'`` otherwise (Keras' rule).
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from ..io import save

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "ProgressBar",
           "TensorBoard", "resolve_mode", "step_scheduler"]


def resolve_mode(mode: str | None, monitor: str) -> str:
    """``'min'`` or ``'max'`` for a monitored value: ``mode`` itself, or the Keras rule for ``'auto'``.

    Example::

        >>> resolve_mode("auto", "val_accuracy"), resolve_mode("auto", "val_loss")
        ('max', 'min')
    """
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def step_scheduler(scheduler: Any, value: float | None = None) -> None:
    """Advance a learning-rate scheduler one step; ``ReduceLROnPlateau`` gets the monitored ``value``."""
    if hasattr(scheduler, "is_better"):  # ReduceLROnPlateau (the one scheduler that steps on a metric)
        if value is None:
            raise ValueError(f"{type(scheduler).__name__}.step needs the monitored metric, got None")
        # NOTE: a NaN metric is passed on: ReduceLROnPlateau counts it as an epoch without improvement,
        # as PyTorch's does
        scheduler.step(value)
    else:
        scheduler.step()


class Callback:
    """Base class: every hook does nothing; override the ones you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Trainer, batch_idx: int, logs: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_fit_end(self, trainer: Trainer) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """What must survive a stop and resume (saved in the Trainer's last checkpoint)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


class _Monitor:
    """The best value so far of one monitored metric and whether a new one improves on it."""

    def _init_monitor(self, monitor, mode, min_delta):
        if min_delta < 0:
            raise ValueError(f"{type(self).__name__}: min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = min_delta
        self.best = None  # None until the first epoch; the mode is fixed then

    def _resolve(self, trainer):
        self._monitor = self.monitor or trainer.monitor
        self._mode = resolve_mode(self.mode if self.mode is not None else trainer.mode, self._monitor)

    def _value(self, logs):
        if self._monitor not in logs:
            known = sorted(k for k in logs if k != "epoch" and isinstance(logs[k], (int, float)))
            raise KeyError(f"{type(self).__name__}: the monitored metric {self._monitor!r} is not logged; "
                           f"available: {known}")
        return float(logs[self._monitor])

    def _improved(self, value):
        """True when ``value`` beats the best by more than ``min_delta`` (NaN never improves)."""
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self._mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class History(Callback):
    """Keeps every epoch's logs as a dict of lists (``history['val_loss'][i]`` is epoch i + 1's value).

    The Trainer always has one; ``trainer.history`` is its ``history`` dict.
    """

    def __init__(self) -> None:
        self.history = {}

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state_dict["history"].items()}


class EarlyStopping(_Monitor, Callback):
    """Stop training once the monitored metric has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than ``min_delta``
    (``value < best - min_delta`` in ``'min'`` mode, ``value > best + min_delta`` in ``'max'``).

    Args:
        monitor (str, optional): the logged metric, e.g. ``'val_loss'``. Default: the Trainer's monitor.
        min_delta (float): smallest change that counts as an improvement. Default: 0.
        patience (int): epochs without improvement before stopping. Default: 3.
        mode (str, optional): ``'min'``, ``'max'`` or ``'auto'``. Default: the Trainer's mode.

    Attributes:
        best, wait (epochs since the last improvement), stopped_epoch (0-based; None if it never stopped).

    Example::

        >>> class Stub: monitor, mode, stop_training = "val_loss", "min", False
        >>> es, trainer = EarlyStopping(patience=2), Stub()
        >>> es.on_fit_start(trainer)
        >>> for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85]):
        ...     es.on_epoch_end(trainer, epoch, {"val_loss": loss})
        >>> trainer.stop_training, es.best, es.stopped_epoch
        (True, 0.8, 3)
    """

    def __init__(self, monitor: str | None = None, min_delta: float = 0.0, patience: int = 3,
                 mode: str | None = None) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self._init_monitor(monitor, mode, min_delta)
        self.patience = patience
        self.wait = 0
        self.stopped_epoch = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self._resolve(trainer)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.wait = state_dict["best"], state_dict["wait"]
        self.stopped_epoch = state_dict["stopped_epoch"]


class ModelCheckpoint(_Monitor, Callback):
    """Save the model's ``state_dict`` whenever the monitored metric improves (the best model so far).

    The file is a flat safetensors state dict written with ``nnzoo.save``: ``model.load_state_dict(
    nnzoo.load(path))`` restores it, and ``safetensors.torch.load_file`` reads it too. (The Trainer's
    resumable ``last.safetensors`` is written by the Trainer itself, after every callback has run.)

    Args:
        dirpath (str or Path, optional): folder of the file. Default: the Trainer's ``out_dir``.
        filename (str): file name. Default: ``'best.safetensors'``.
        monitor, min_delta, mode: as in :class:`EarlyStopping`.

    Attributes:
        best (best value so far), best_epoch (0-based), best_path (the file, once written).
    """

    def __init__(self, dirpath: str | os.PathLike | None = None, filename: str = "best.safetensors",
                 monitor: str | None = None, min_delta: float = 0.0, mode: str | None = None) -> None:
        self._init_monitor(monitor, mode, min_delta)
        self.dirpath = dirpath
        self.filename = filename
        self.best_epoch = None
        self.best_path = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self._resolve(trainer)
        dirpath = self.dirpath if self.dirpath is not None else trainer.out_dir
        if dirpath is None:
            raise ValueError("ModelCheckpoint: give dirpath, or an out_dir to the Trainer")
        os.makedirs(dirpath, exist_ok=True)
        self._path = os.path.join(os.fspath(dirpath), self.filename)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            save(trainer.model.state_dict(), self._path)
            self.best_path = self._path

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "best_path": self.best_path}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.best_epoch = state_dict["best"], state_dict["best_epoch"]
        self.best_path = state_dict["best_path"]


class LRSchedulerCallback(Callback):
    """Step one more learning-rate scheduler (the Trainer steps its own ``scheduler`` itself).

    Args:
        scheduler: an ``optim.lr_scheduler`` scheduler.
        interval (str): ``'epoch'`` (after validation) or ``'batch'`` (after every optimizer step).
        monitor (str, optional): the metric ``ReduceLROnPlateau`` steps on. Default: the Trainer's monitor.
    """

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str | None = None) -> None:
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got {interval!r}")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def on_batch_end(self, trainer: Trainer, batch_idx: int, logs: dict[str, float]) -> None:
        if self.interval == "batch":
            step_scheduler(self.scheduler)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.interval == "epoch":
            step_scheduler(self.scheduler, logs.get(self.monitor or trainer.monitor))

    def state_dict(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state_dict["scheduler"])


def _format(logs, keys=None):
    keys = keys if keys is not None else [k for k in logs if k not in ("epoch", "time")]
    parts = []
    for k in keys:
        v = logs.get(k)
        if isinstance(v, float):
            parts.append(f"{k}={v:.4g}")
        elif isinstance(v, int):
            parts.append(f"{k}={v}")
    return " ".join(parts)


def _short(text):
    """Shorter names for a progress bar's line: ``train_loss`` -> ``loss``, ``accuracy`` -> ``acc``."""
    return " ".join(part.removeprefix("train_").replace("accuracy", "acc") for part in text.split())


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss and metrics; one summary line per epoch otherwise.

    Bars are drawn when tqdm is installed and ``file`` (default ``sys.stderr``) is a terminal; in a log
    file or a notebook without a terminal the callback prints one line per epoch instead.
    """

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file
        self._bar = None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        file = self.file or sys.stderr
        self._bar = None
        if not getattr(file, "isatty", lambda: False)():
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        try:
            total = len(trainer.train_loader)
        except TypeError:
            total = None
        # a short bar and no rate, so the live loss and metrics fit on the line
        self._bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{trainer.epochs}", file=file, leave=True,
                         dynamic_ncols=True, bar_format="{desc} {percentage:3.0f}%|{bar:16}| {n_fmt}/{total_fmt} "
                                                        "[{elapsed}]{postfix}")

    def on_batch_end(self, trainer: Trainer, batch_idx: int, logs: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(_short(_format(trainer.running_logs())), refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(_short(_format(logs)), refresh=True)
            self._bar.close()
            self._bar = None
        else:
            print(f"epoch {epoch + 1}/{trainer.epochs} {_format(logs)} ({logs.get('time', 0.0):.1f}s)",
                  file=self.file or sys.stdout, flush=True)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._bar is not None:  # training interrupted mid-epoch
            self._bar.close()
            self._bar = None


class TensorBoard(Callback):
    """Write every epoch's numeric logs as TensorBoard scalars with ``tensorboardX``.

    ``train_loss`` and ``val_loss`` go to the tags ``loss/train`` and ``loss/val`` (one chart with both
    curves), ``lr`` to ``lr``; the step is the 1-based epoch. tensorboardX is imported when training
    starts (``pip install tensorboardX``).

    Args:
        log_dir (str or Path, optional): event-file folder. Default: ``<trainer.out_dir>/tb``.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None) -> None:
        self.log_dir = log_dir
        self.writer = None

    def on_fit_start(self, trainer: Trainer) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard logging needs the 'tensorboardX' package: pip install tensorboardX") \
                from None
        log_dir = self.log_dir
        if log_dir is None:
            if trainer.out_dir is None:
                raise ValueError("TensorBoard: give log_dir, or an out_dir to the Trainer")
            log_dir = os.path.join(os.fspath(trainer.out_dir), "tb")
        self.writer = SummaryWriter(logdir=os.fspath(log_dir))

    @staticmethod
    def tag(key):
        """The TensorBoard tag of a log key: ``'val_accuracy'`` -> ``'accuracy/val'``."""
        for split in ("train", "val"):
            if key.startswith(split + "_"):
                return f"{key[len(split) + 1:]}/{split}"
        return key

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(self.tag(key), value, epoch + 1, walltime=time.time())
        self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
