"""Callbacks: the hook order, early stopping's rule, schedulers stepped as in PyTorch, progress output,
TensorBoard event files read back, and callback state surviving nnzoo.save/load."""
import glob
import io
import math
import struct

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import nn, optim
from nnzoo.train import Callback, EarlyStopping, History, LRSchedulerCallback, ModelCheckpoint, ProgressBar, Trainer
from nnzoo.train.callbacks import TensorBoard, resolve_mode


class _Stub:
    """Just what a monitoring callback reads from a Trainer."""

    def __init__(self, monitor="val_loss", mode="auto"):
        self.monitor, self.mode, self.stop_training = monitor, mode, False


def _run_early_stopping(values, **kwargs):
    es, trainer = EarlyStopping(**kwargs), _Stub()
    es.on_fit_start(trainer)
    for epoch, v in enumerate(values):
        es.on_epoch_end(trainer, epoch, {"val_loss": v, "val_accuracy": v})
        if trainer.stop_training:
            break
    return es


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return nnzoo.tensor(x), nnzoo.tensor((x.sum(1) > 0).astype(np.int64))


# ---- early stopping ----------------------------------------------------------------------------------
def test_early_stopping_counts_epochs_since_the_best():
    # best 0.9 at epoch 1; epochs 2 and 3 do not beat it -> with patience 2, stop at epoch 3
    es = _run_early_stopping([1.0, 0.9, 0.95, 0.91, 0.5], patience=2)
    assert (es.stopped_epoch, es.best, es.wait) == (3, 0.9, 2)
    # an improvement resets the count: 0.85 at epoch 3 is new best, then 2 bad epochs -> stop at epoch 5
    es = _run_early_stopping([1.0, 0.9, 0.95, 0.85, 0.86, 0.87, 0.1], patience=2)
    assert (es.stopped_epoch, es.best) == (5, 0.85)
    # patience 0 stops at the first epoch that does not improve
    assert _run_early_stopping([1.0, 0.9, 0.9], patience=0).stopped_epoch == 2


def test_early_stopping_min_delta_mode_and_nan():
    # with min_delta 0.1 neither 0.95 nor 0.92 improves on 1.0 by more than 0.1
    es = _run_early_stopping([1.0, 0.95, 0.92, 0.5], patience=2, min_delta=0.1)
    assert (es.stopped_epoch, es.best) == (2, 1.0)
    # mode max (also what 'auto' picks for an accuracy)
    es = _run_early_stopping([0.5, 0.7, 0.6, 0.65], patience=2, mode="max", monitor="val_accuracy")
    assert (es.stopped_epoch, es.best) == (3, 0.7)
    es = _run_early_stopping([0.5, 0.7, 0.6, 0.65], patience=2, monitor="val_accuracy")  # trainer mode 'auto'
    assert (es.stopped_epoch, es.best) == (3, 0.7)
    es = _run_early_stopping([1.0, math.nan, math.nan], patience=2)  # NaN never improves
    assert (es.stopped_epoch, es.best) == (2, 1.0)
    assert _run_early_stopping([math.nan, 1.0, 2.0, 3.0], patience=2).best == 1.0


def test_resolve_mode_and_errors():
    assert resolve_mode("auto", "val_acc") == "max" and resolve_mode("auto", "train_loss") == "min"
    assert resolve_mode("min", "val_accuracy") == "min"
    with pytest.raises(ValueError, match="mode must be"):
        resolve_mode("lowest", "val_loss")
    with pytest.raises(ValueError, match="patience must be >= 0"):
        EarlyStopping(patience=-1)
    es = EarlyStopping(monitor="val_f1")
    es.on_fit_start(_Stub())
    with pytest.raises(KeyError, match=r"'val_f1' is not logged; available: \['val_loss'\]"):
        es.on_epoch_end(_Stub(), 0, {"val_loss": 1.0, "epoch": 1})


def test_early_stopping_state_survives_save_and_load(tmp_path):
    es = _run_early_stopping([1.0, 0.9, 0.95], patience=5)
    nnzoo.save({"es": es.state_dict()}, tmp_path / "s.safetensors")
    again = EarlyStopping(patience=5)
    again.load_state_dict(nnzoo.load(tmp_path / "s.safetensors")["es"])
    assert again.state_dict() == es.state_dict() == {"best": 0.9, "wait": 1, "stopped_epoch": None}


def test_history_state_roundtrip(tmp_path):
    h = History()
    h.on_epoch_end(None, 0, {"epoch": 1, "train_loss": 0.5, "val_loss": math.inf})
    h.on_epoch_end(None, 1, {"epoch": 2, "train_loss": 0.25, "val_loss": 0.75})
    nnzoo.save(h.state_dict(), tmp_path / "h.safetensors")
    again = History()
    again.load_state_dict(nnzoo.load(tmp_path / "h.safetensors"))
    assert again.history == {"epoch": [1, 2], "train_loss": [0.5, 0.25], "val_loss": [math.inf, 0.75]}


# ---- hooks in a Trainer ----------------------------------------------------------------------------
def test_hook_order_and_stop_training():
    calls = []

    class Record(Callback):
        def on_fit_start(self, trainer):
            calls.append("fit_start")

        def on_epoch_start(self, trainer, epoch):
            calls.append(f"epoch_start {epoch}")

        def on_batch_end(self, trainer, batch_idx, logs):
            calls.append(f"batch {batch_idx} size {logs['size']}")
            if trainer.epoch == 1 and batch_idx == 0:
                trainer.stop_training = True  # the epoch still finishes

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_fit_end(self, trainer):
            calls.append("fit_end")

    x, y = _data()
    model = nn.Linear(3, 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), callbacks=[Record()],
                      progress=False)
    trainer.fit([(x[:20], y[:20]), (x[20:], y[20:])], epochs=5)
    keys = ["epoch", "lr", "time", "train_loss"]
    assert calls == ["fit_start", "epoch_start 0", "batch 0 size 20", "batch 1 size 12", f"epoch_end 0 {keys}",
                     "epoch_start 1", "batch 0 size 20", "batch 1 size 12", f"epoch_end 1 {keys}", "fit_end"]
    assert trainer.epoch == 2


def test_model_checkpoint_needs_a_folder():
    with pytest.raises(ValueError, match="give dirpath, or an out_dir"):
        ModelCheckpoint().on_fit_start(type("T", (), {"out_dir": None, "monitor": "val_loss", "mode": "min"})())


@pytest.mark.parametrize("interval", ["epoch", "batch"])
def test_lr_scheduler_callback_matches_pytorch(interval):
    x, y = _data()
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=[LRSchedulerCallback(sched, interval)],
                      progress=False)
    history = trainer.fit([(x[:16], y[:16]), (x[16:], y[16:])], epochs=4)

    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=7)
    lrs = []
    for _ in range(4):
        lrs.append(topt.param_groups[0]["lr"])
        for _ in range(2 if interval == "batch" else 1):
            topt.step()
            tsched.step()
    assert history["lr"] == pytest.approx(lrs, rel=1e-12)


# ---- output -----------------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _train_with(callback, epochs=2):
    x, y = _data()
    model = nn.Linear(3, 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics="accuracy",
                      callbacks=[callback], progress=False)
    trainer.fit([(x[:16], y[:16]), (x[16:], y[16:])], val_loader=[(x, y)], epochs=epochs)
    return trainer


def test_progress_bar_on_a_terminal_and_summary_lines_otherwise():
    term = _Terminal()
    _train_with(ProgressBar(file=term))
    text = term.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "2/2" in text  # two bars of 2 batches
    assert "val_loss=" in text and " acc=" in text and "val_acc=" in text  # short names on the bar

    plain = io.StringIO()
    trainer = _train_with(ProgressBar(file=plain))
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2 train_loss=")
    assert f"val_loss={trainer.history['val_loss'][1]:.4g}" in lines[1]


def _read_scalars(path):
    """(tag, step, value) of every scalar in a TensorBoard event file (TFRecord framing: u64 length,
    u32 crc, payload, u32 crc)."""
    from tensorboardX.proto import event_pb2
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + n])
        pos += 12 + n + 4
        for v in event.summary.value:
            out.append((v.tag, event.step, v.simple_value))
    return out


def test_tensorboard_scalars_read_back(tmp_path):
    x, y = _data()
    model = nn.Linear(3, 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics="accuracy",
                      out_dir=tmp_path, tensorboard=True, progress=False)
    history = trainer.fit([(x, y)], val_loader=[(x, y)], epochs=3)
    files = glob.glob(str(tmp_path / "tb" / "events.out.tfevents.*"))
    assert len(files) == 1
    scalars = _read_scalars(files[0])
    for key, tag in [("train_loss", "loss/train"), ("val_accuracy", "accuracy/val"), ("lr", "lr")]:
        got = [(step, value) for t, step, value in scalars if t == tag]
        assert [s for s, _ in got] == [1, 2, 3]
        np.testing.assert_allclose([v for _, v in got], history[key], rtol=1e-6)  # stored as float32
    assert TensorBoard.tag("val_top5_accuracy") == "top5_accuracy/val"


def test_step_scheduler_passes_a_nan_metric_on_as_pytorch_counts_it():
    """A NaN validation value is an epoch without improvement for ReduceLROnPlateau (torch's trajectory)."""
    import torch

    import nnzoo
    from nnzoo.train.callbacks import step_scheduler
    values = [1.0, float("nan"), float("nan"), 0.5, float("nan"), float("nan"), float("nan")]

    def lrs(lib, step):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
        out = []
        for v in values:
            step(sched, v)
            out.append(opt.param_groups[0]["lr"])
        return out

    assert lrs(nnzoo, step_scheduler) == lrs(torch, lambda s, v: s.step(v))
    with pytest.raises(ValueError, match="monitored metric"):
        step_scheduler(nnzoo.optim.lr_scheduler.ReduceLROnPlateau(
            nnzoo.optim.SGD([nnzoo.nn.Parameter(nnzoo.zeros(1))], lr=1.0)), None)
