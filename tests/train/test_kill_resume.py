"""Training runs killed (SIGKILL) at random moments and resumed end bit-identical to an uninterrupted run.

Each run is a real process running ``_SCRIPT`` (a small MLP with dropout, shuffling, Adam, a step
scheduler and a best checkpoint, trained with ``Trainer(out_dir=...).fit(..., resume=True)``), killed
while Python starts, in the middle of the first epoch (before any checkpoint exists), half-way through
writing a checkpoint, and at seeded random times; then restarted until one finishes. Its final
``last.safetensors`` (model, optimizer, history, random streams), ``best.safetensors`` and
``history.json`` must equal those of a run that was never interrupted, bit for bit.
"""
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nnzoo

_SCRIPT = r'''
import os, sys, time
import numpy as np
import nnzoo
from nnzoo import nn, optim
from nnzoo.data import TensorDataset
from nnzoo.data.loader import DataLoader
from nnzoo.train import Callback, Trainer

out, epochs = sys.argv[1], int(sys.argv[2])
mark = os.environ.get("KILL_MARK", "")  # "batch E B": announce that batch; "write N": stall in the N-th write


def say(text):
    print(text, flush=True)


if mark.startswith("write"):  # write half of the N-th safetensors file, announce it, and wait to be killed
    import safetensors.numpy as stn
    real_save_file, calls = stn.save_file, [0]

    def stalling_save_file(tensors, filename, metadata=None):
        calls[0] += 1
        if calls[0] != int(mark.split()[1]):
            return real_save_file(tensors, filename, metadata=metadata)
        data = stn.save(tensors, metadata=metadata)
        with open(filename, "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
            say("WRITING " + os.path.basename(filename))
            time.sleep(60)
            f.write(data[len(data) // 2:])
    stn.save_file = stalling_save_file


class Announce(Callback):
    def on_batch_end(self, trainer, batch_idx, logs):
        if mark == f"batch {trainer.epoch + 1} {batch_idx}":
            say("BATCH")


rng = np.random.default_rng(0)
x = rng.standard_normal((2304, 16)).astype(np.float32)
y = (x @ rng.standard_normal((16, 4)) + 0.5 * rng.standard_normal((2304, 4))).argmax(1)
train, val = TensorDataset(nnzoo.tensor(x[:2048]), nnzoo.tensor(y[:2048])), \
    TensorDataset(nnzoo.tensor(x[2048:]), nnzoo.tensor(y[2048:]))
nnzoo.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 64), nn.ReLU(),
                      nn.Dropout(0.2), nn.Linear(64, 4))
opt = optim.Adam(model.parameters(), lr=3e-3)
sched = optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, metrics="accuracy", out_dir=out, progress=False,
                  monitor="val_accuracy", callbacks=[Announce()])
trainer.fit(DataLoader(train, batch_size=16, shuffle=True), DataLoader(val, batch_size=128), epochs=epochs,
            resume=True)
say("DONE")
'''

EPOCHS = 16


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("script") / "train_small.py"
    path.write_text(_SCRIPT)
    return path


def _env(mark=""):
    root = str(pathlib.Path(nnzoo.__file__).resolve().parent.parent)  # the nnzoo under test
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NNZOO_NO_CORETYPE="1",
               PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""), KILL_MARK=mark)
    env.pop("NNZOO_DEVICE", None)
    return env


def _start(script, out, log, mark=""):
    return subprocess.Popen([sys.executable, str(script), str(out), str(EPOCHS)], env=_env(mark),
                            stdout=subprocess.PIPE, stderr=log, text=True)


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def _kill_at(script, out, log, seconds):
    """Start a run and SIGKILL it after ``seconds``; True if it was killed (not finished before)."""
    proc = _start(script, out, log)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    if proc.poll() is not None:
        proc.stdout.read()
        proc.stdout.close()
        assert proc.returncode == 0, f"the run failed (rc {proc.returncode}); see {log.name}"
        return False
    _kill(proc)
    return True


def _kill_on(script, out, log, mark, expect):
    """Start a run that announces ``mark`` on stdout and SIGKILL it the moment it does."""
    proc = _start(script, out, log, mark)
    for line in proc.stdout:
        if line.startswith(expect):
            _kill(proc)
            return
    proc.wait()
    raise AssertionError(f"the run never reached {mark!r} (rc {proc.returncode}); see {log.name}")


def _finish(script, out, log):
    proc = _start(script, out, log)
    stdout, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE" in stdout, f"the run failed (rc {proc.returncode}); see {log.name}"


def _result(out):
    last, best = nnzoo.load(out / "last.safetensors"), nnzoo.load(out / "best.safetensors")
    history = json.loads((out / "history.json").read_text())
    for h in (last["history"], history):
        h.pop("time")
    ckpt = last["callbacks"]["ModelCheckpoint"]  # the path differs between the runs' folders
    ckpt["best_path"] = os.path.basename(ckpt["best_path"])
    return last, best, history


def _assert_same(a, b, where=""):
    """Nested dicts/lists of Tensors and plain values, equal bit for bit."""
    if isinstance(a, nnzoo.Tensor):
        assert isinstance(b, nnzoo.Tensor) and a.dtype == b.dtype, where
        assert np.array_equal(a.numpy(), b.numpy()), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), (where, a, b)  # NaN equals NaN here


def test_runs_killed_at_random_moments_resume_bit_identical(script, tmp_path):
    log = open(tmp_path / "stderr.log", "a")
    start = time.monotonic()
    _finish(script, tmp_path / "straight", log)
    duration = time.monotonic() - start
    expected = _result(tmp_path / "straight")
    assert expected[0]["epoch"] == EPOCHS

    rng = random.Random(13)
    plans = {
        # the deterministic moments first: while Python starts, mid-first-epoch before any checkpoint, while
        # writing epoch 1's best.safetensors (write 1) and last.safetensors (write 2), then a random time
        "marked": [("time", 0.02), ("mark", "batch 1 17", "BATCH"), ("mark", "write 1", "WRITING"),
                   ("mark", "write 2", "WRITING"), ("time", rng.uniform(0.1, duration)),
                   ("mark", "write 2", "WRITING")],
        # up to 6 kills at random times, until a run finishes first
        "random": [("time", rng.uniform(0.05, 0.7 * duration)) for _ in range(6)],
    }
    for name, plan in plans.items():
        out = tmp_path / name
        kills = 0
        for step in plan:
            if step[0] == "mark":
                _kill_on(script, out, log, step[1], step[2])
            elif not _kill_at(script, out, log, step[1]):
                break  # it finished before the kill
            kills += 1
        _finish(script, out, log)  # (resuming a finished run changes nothing)
        assert kills >= (6 if name == "marked" else 1), f"{name}: only {kills} runs were killed"
        last, best, history = _result(out)
        _assert_same(last, expected[0], f"{name}: last.safetensors")
        _assert_same(best, expected[1], f"{name}: best.safetensors")
        _assert_same(history, expected[2], f"{name}: history.json")
    log.close()


def test_a_checkpoint_half_written_when_killed_is_never_read(script, tmp_path):
    """Killed while writing epoch 1's last.safetensors: the file does not exist yet (only a temporary file
    does), and the next run starts from scratch with a warning."""
    log = open(tmp_path / "stderr.log", "a")
    out = tmp_path / "run"
    _kill_on(script, out, log, "write 2", "WRITING")
    assert not (out / "last.safetensors").exists() and (out / "best.safetensors").exists()
    assert any(p.name.startswith(".last.safetensors.") for p in out.iterdir())
    proc = subprocess.run([sys.executable, str(script), str(out), "1"], env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and "starts from scratch" in proc.stderr
    assert nnzoo.load(out / "last.safetensors")["epoch"] == 1
    log.close()
