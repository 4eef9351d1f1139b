"""The Trainer: the same updates as a hand-written PyTorch loop, exact epoch means, schedulers stepped
as PyTorch steps them, early stopping, checkpoints, and the required property: 2 epochs + stop + resume
for 2 more gives bit-identical weights to 4 epochs in one go."""
import json
import os

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import nn, optim
from nnzoo.data import TensorDataset
from nnzoo.data.loader import DataLoader
from nnzoo.train import Callback, ModelCheckpoint, NonFiniteError, Trainer, detach_state, fit


def _classification(n=64, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x @ rng.standard_normal((d, c))).argmax(1)
    return nnzoo.tensor(x), nnzoo.tensor(y)


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.1).astype(np.float32)
    return nnzoo.tensor(x), nnzoo.tensor(y)


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


# ---- against PyTorch ----------------------------------------------------------------------------
def test_fit_matches_a_pytorch_loop_with_momentum_clipping_and_steplr():
    x, y = _classification()
    batches = [(x[i:i + 20], y[i:i + 20]) for i in range(0, 64, 20)]  # 20, 20, 20, 4
    model = nn.Linear(4, 3)
    tmodel = torch.nn.Linear(4, 3)
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in _weights(model).items()})

    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, clip_grad_norm=0.3, progress=False)
    history = trainer.fit(batches, epochs=3)

    topt = torch.optim.SGD(tmodel.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=1, gamma=0.5)
    tlosses, tlrs = [], []
    for _ in range(3):
        tlrs.append(topt.param_groups[0]["lr"])
        total = 0.0
        for xb, yb in batches:
            loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(xb.numpy())),
                                                     torch.from_numpy(yb.numpy()))
            topt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.3)
            topt.step()
            total += loss.item() * len(yb)
        tlosses.append(total / 64)
        tsched.step()

    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(_weights(model)[k], v.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history["train_loss"], tlosses, rtol=1e-5)
    assert history["lr"] == pytest.approx(tlrs)
    assert history["epoch"] == [1, 2, 3]
    assert trainer.global_step == 3 * 4


def test_onecycle_steps_per_batch_as_pytorch():
    x, y = _classification()
    loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=3, steps_per_epoch=4)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, progress=False)
    assert trainer.scheduler_interval == "batch"  # OneCycleLR is stepped after every batch
    history = trainer.fit(loader, epochs=3)

    topt = torch.optim.SGD(torch.nn.Linear(4, 3).parameters(), lr=0.1, momentum=0.9)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=1.0, epochs=3, steps_per_epoch=4)
    lrs = []
    for step in range(12):
        if step % 4 == 0:
            lrs.append(topt.param_groups[0]["lr"])
        topt.step()
        tsched.step()
    assert history["lr"] == pytest.approx(lrs, rel=1e-12)
    assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


def test_reduce_lr_on_plateau_steps_on_the_monitored_validation_loss():
    x, y = _regression()
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=1e-9)  # a tiny lr: the validation loss stays put -> a plateau
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, threshold=0.1, eps=1e-12)
    trainer = Trainer(model, nn.MSELoss(), opt, sched, progress=False)
    history = trainer.fit([(x, y)], val_loader=[(x, y)], epochs=6)

    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-9)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=1, factor=0.5, threshold=0.1, eps=1e-12)
    lrs = []
    for val_loss in history["val_loss"]:
        lrs.append(topt.param_groups[0]["lr"])
        tsched.step(val_loss)
    assert history["lr"] == pytest.approx(lrs, rel=1e-12)
    assert history["lr"][-1] < history["lr"][0]  # it did reduce


# ---- epoch bookkeeping ---------------------------------------------------------------------------
def test_epoch_loss_is_the_exact_mean_over_samples_with_a_short_last_batch():
    x, y = _regression(n=50)
    model = nn.Linear(3, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), progress=False)
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=16), epochs=1)  # 16, 16, 16, 2
    pred = x.numpy() @ model.weight.detach().numpy().T + model.bias.detach().numpy()
    assert history["train_loss"][0] == pytest.approx(np.mean((pred - y.numpy()) ** 2), rel=1e-6)


def test_validation_metrics_are_those_of_the_final_weights():
    x, y = _classification()
    xv, yv = _classification(n=30, seed=1)
    model = nn.Linear(4, 3)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                      metrics=["accuracy", "top2_accuracy"], progress=False)
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
                          val_loader=DataLoader(TensorDataset(xv, yv), batch_size=7), epochs=5)
    logits = torch.from_numpy(xv.numpy()) @ torch.from_numpy(model.weight.detach().numpy()).T \
        + torch.from_numpy(model.bias.detach().numpy())
    target = torch.from_numpy(yv.numpy())
    assert history["val_loss"][-1] == pytest.approx(torch.nn.functional.cross_entropy(logits, target).item(),
                                                    rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx((logits.argmax(1) == target).float().mean().item())
    top2 = torch.topk(logits, 2, dim=1).indices
    assert history["val_top2_accuracy"][-1] == pytest.approx((top2 == target[:, None]).any(1).float().mean().item())
    assert set(history) == {"epoch", "train_loss", "train_accuracy", "train_top2_accuracy", "val_loss",
                            "val_accuracy", "val_top2_accuracy", "lr", "time"}
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert trainer.evaluate(DataLoader(TensorDataset(xv, yv), batch_size=30)) == \
        pytest.approx({"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1],
                       "top2_accuracy": history["val_top2_accuracy"][-1]}, rel=1e-6)


def test_train_and_eval_modes_and_predict():
    x, y = _classification()
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    modes = []

    class Modes(Callback):
        def on_batch_end(self, trainer, batch_idx, logs):
            modes.append(trainer.model.training)

    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), callbacks=[Modes()],
                      progress=False)
    trainer.fit([(x, y)], val_loader=[(x, y)], epochs=2)
    assert modes == [True, True]
    model.train()
    out = trainer.predict(DataLoader(TensorDataset(x), batch_size=10))
    assert model.training  # predict restores the mode
    model.eval()
    np.testing.assert_array_equal(out.numpy(), model(x).detach().numpy())  # dropout off in predict
    np.testing.assert_array_equal(trainer.predict([(x, y)]).numpy(), out.numpy())  # the target is dropped


def test_multiple_inputs_and_batch_fn():
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 1), nn.Linear(2, 1)

        def forward(self, u, v):
            return self.a(u) + self.b(v)

    rng = np.random.default_rng(0)
    u, v = nnzoo.tensor(rng.standard_normal((32, 2)), dtype=nnzoo.float32), \
        nnzoo.tensor(rng.standard_normal((32, 2)), dtype=nnzoo.float32)
    y = (u[:, :1] - v[:, 1:]) * 2
    model = Add()
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), progress=False)
    history = trainer.fit(DataLoader(TensorDataset(u, v, y), batch_size=8), epochs=30)  # batch[:-1] = (u, v)
    assert history["train_loss"][-1] < 1e-3 * history["train_loss"][0]

    dicts = [{"u": u, "v": v, "y": y}]
    trainer2 = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), progress=False,
                       batch_fn=lambda b: ((b["u"], b["v"]), b["y"]))
    expected = float(((model(u, v) - y) ** 2).mean().item())
    assert trainer2.fit(dicts, epochs=1)["train_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_a_batch_without_target_is_a_clear_error():
    model = nn.Linear(3, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), progress=False)
    with pytest.raises(TypeError, match=r"batch must be a tuple .* got Tensor.*batch_fn"):
        trainer.fit([nnzoo.randn(4, 3)], epochs=1)


def test_metrics_as_functions_and_dict():
    x, y = _classification()
    model = nn.Linear(4, 3)

    def zero_one(out, t):
        return float(np.mean(np.asarray(out).argmax(1) != np.asarray(t)))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                      metrics={"acc": "accuracy", "err": zero_one}, progress=False)
    h = trainer.fit([(x[:40], y[:40]), (x[40:], y[40:])], epochs=2)
    np.testing.assert_allclose(np.add(h["train_acc"], h["train_err"]), 1.0)
    with pytest.raises(ValueError, match="unique"):
        Trainer(model, nn.CrossEntropyLoss(), None, metrics=["accuracy", "acc"])


# ---- early stopping and checkpoints ----------------------------------------------------------------
def test_early_stopping_by_patience():
    x, y = _regression()
    model = nn.Linear(3, 1)
    # lr 0: the validation loss never improves after epoch 1, so training stops after 1 + patience epochs
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), patience=2, progress=False)
    history = trainer.fit([(x, y)], val_loader=[(x, y)], epochs=10)
    assert history["epoch"] == [1, 2, 3]
    assert trainer.stop_training


def test_out_dir_files_best_checkpoint_and_history_json(tmp_path):
    x, y = _classification()
    xv, yv = _classification(n=40, seed=3)
    model = nn.Linear(4, 3)
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(_weights(trainer.model))

    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=2.0), metrics="accuracy",
                      callbacks=[Snap()], out_dir=tmp_path, monitor="val_accuracy", progress=False)
    history = trainer.fit([(x, y)], val_loader=[(xv, yv)], epochs=6)
    with open(tmp_path / "history.json") as f:
        assert json.load(f) == history
    best_epoch = int(np.argmax(history["val_accuracy"]))  # the first maximum ('auto' mode is max for acc)
    best = nnzoo.load(tmp_path / "best.safetensors")
    for k, v in snapshots[best_epoch].items():
        np.testing.assert_array_equal(best[k].numpy(), v)
    assert trainer.load_best() is model
    np.testing.assert_array_equal(model.weight.detach().numpy(), snapshots[best_epoch]["weight"])
    assert os.path.exists(tmp_path / "last.safetensors")


class _CountBatches(Callback):
    """A callback with state: the number of batches seen over all stages."""

    def __init__(self):
        self.batches = 0

    def on_batch_end(self, trainer, batch_idx, logs):
        self.batches += 1

    def state_dict(self):
        return {"batches": self.batches}

    def load_state_dict(self, state_dict):
        self.batches = state_dict["batches"]


def _resume_run(out_dir, epochs_plan, loader_seed):
    """Train in stages: each stage builds everything afresh (model, optimizer, scheduler, loader,
    callbacks, Trainer) and resumes from out_dir/last.safetensors when it is not the first."""
    x, y = _classification(n=60)
    xv, yv = _classification(n=20, seed=5)
    for stage, epochs in enumerate(epochs_plan):
        nnzoo.manual_seed(100 + stage)  # fresh objects start from a different state each time
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=0.02)
        sched = optim.lr_scheduler.MultiStepLR(opt, milestones=[3], gamma=0.1)  # needs its last_epoch
        gen = nnzoo.Generator().manual_seed(loader_seed) if loader_seed is not None else None
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=gen)
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, metrics="accuracy", out_dir=out_dir,
                          seed=0, patience=10, clip_grad_norm=1.0, progress=False, callbacks=[_CountBatches()])
        trainer.fit(loader, val_loader=DataLoader(TensorDataset(xv, yv), batch_size=8), epochs=epochs,
                    resume=stage > 0 or None)
    trainer.rng_after = nnzoo.random.default_generator.get_state()
    return trainer


@pytest.mark.parametrize("loader_seed", [None, 7], ids=["default-generator", "loader-generator"])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, loader_seed):
    straight = _resume_run(tmp_path / "straight", [4], loader_seed)
    resumed = _resume_run(tmp_path / "resumed", [2, 4], loader_seed)
    a, b = _weights(straight.model), _weights(resumed.model)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for k in straight.history:
        if k != "time":
            assert straight.history[k] == resumed.history[k], k
    assert len(resumed.history["epoch"]) == 4 and resumed.epoch == 4
    best_a = nnzoo.load(tmp_path / "straight" / "best.safetensors")
    best_b = nnzoo.load(tmp_path / "resumed" / "best.safetensors")
    assert all(np.array_equal(best_a[k].numpy(), best_b[k].numpy()) for k in best_a)
    sa, sb = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i in sa["state"]:
        assert np.array_equal(sa["state"][i]["exp_avg_sq"].numpy(), sb["state"][i]["exp_avg_sq"].numpy())
    assert straight.scheduler.get_last_lr() == resumed.scheduler.get_last_lr()
    assert resumed.callbacks[1].batches == straight.callbacks[1].batches == 4 * 8  # 60 samples in 8 batches
    for cb_a, cb_b in zip(straight.callbacks[2:], resumed.callbacks[2:]):  # EarlyStopping, ModelCheckpoint
        assert {k: v for k, v in cb_a.state_dict().items() if k != "best_path"} == \
            {k: v for k, v in cb_b.state_dict().items() if k != "best_path"}
    # the default stream (dropout, and the shuffling without a loader generator) ended in the same state
    assert np.array_equal(straight.rng_after.numpy(), resumed.rng_after.numpy())


def test_resume_errors(tmp_path):
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="out_dir"):
        Trainer(model, nn.MSELoss(), opt, progress=False).fit([], epochs=1, resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):  # an explicit path must exist
        Trainer(model, nn.MSELoss(), opt, out_dir=tmp_path, progress=False).fit(
            [], epochs=1, resume=tmp_path / "nothing.safetensors")
    x, y = _regression()
    Trainer(model, nn.MSELoss(), opt, out_dir=tmp_path, progress=False).fit([(x, y)], epochs=1)
    sched = optim.lr_scheduler.StepLR(opt, 1)
    with pytest.raises(RuntimeError, match="holds no scheduler state"):
        Trainer(model, nn.MSELoss(), opt, sched, out_dir=tmp_path, progress=False).fit([(x, y)], epochs=2,
                                                                                     resume=True)


def test_user_model_checkpoint_replaces_the_default(tmp_path):
    x, y = _regression()
    model = nn.Linear(3, 1)
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ck", filename="m.safetensors", monitor="train_loss")
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), callbacks=[ckpt],
                      out_dir=tmp_path, progress=False)
    trainer.fit([(x, y)], epochs=3)
    assert sum(isinstance(cb, ModelCheckpoint) for cb in trainer.callbacks) == 1
    assert ckpt.best_epoch == 2 and not (tmp_path / "best.safetensors").exists()
    np.testing.assert_array_equal(nnzoo.load(ckpt.best_path)["weight"].numpy(), model.weight.detach().numpy())


def test_functional_fit_and_progress_line(capsys):
    x, y = _classification()
    model = nn.Linear(4, 3)
    trainer = fit(model, [(x, y)], epochs=3, loss_fn=nn.CrossEntropyLoss(), lr=0.1, metrics="accuracy")
    assert isinstance(trainer, Trainer) and isinstance(trainer.optimizer, optim.Adam)
    out = capsys.readouterr().out  # not a terminal: one summary line per epoch
    assert out.count("epoch ") == 3 and "train_loss=" in out and "train_accuracy=" in out


# ---- truncated backpropagation through time (carry_state) ------------------------------------------------
class _Leaky(nnzoo.nn.Module):
    """h_t = a h_{t-1} + w x_t over x (T, B); returns (all h_t (T, B), h_T)."""

    def __init__(self):
        super().__init__()
        self.a = nnzoo.nn.Parameter(nnzoo.tensor([0.9]))
        self.w = nnzoo.nn.Parameter(nnzoo.tensor([0.5]))
        self.seen = []  # the states each call received

    def forward(self, x, state=None):
        self.seen.append(state)
        h = nnzoo.zeros(x.shape[1]) if state is None else state
        outs = []
        for t in range(x.shape[0]):
            h = self.a * h + self.w * x[t]
            outs.append(h)
        return nnzoo.stack(outs), h


def _chunks(seed=0, T=12, B=3, bptt=4):
    g = np.random.default_rng(seed)
    x = g.standard_normal((T, B)).astype(np.float32)
    y = np.cumsum(x, axis=0).astype(np.float32) * 0.3
    return [(nnzoo.tensor(x[i:i + bptt]), nnzoo.tensor(y[i:i + bptt])) for i in range(0, T, bptt)]


def test_carry_state_matches_a_hand_written_tbptt_loop():
    batches = _chunks()
    ref = _Leaky()
    opt = nnzoo.optim.SGD(ref.parameters(), lr=0.05)
    for _ in range(2):  # epochs: the state starts afresh each time
        h = None
        for x, y in batches:
            out, h = ref(x, None if h is None else h.detach())
            loss = nnzoo.nn.functional.mse_loss(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model = _Leaky()
    trainer = Trainer(model, nnzoo.nn.MSELoss(), nnzoo.optim.SGD(model.parameters(), lr=0.05), progress=False,
                      carry_state=True)
    trainer.fit(batches, epochs=2)
    np.testing.assert_allclose(model.a.detach().numpy(), ref.a.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.w.detach().numpy(), ref.w.detach().numpy(), rtol=1e-6)
    # each epoch starts with no state, and every later chunk gets the previous one's state, detached
    assert [s is None for s in model.seen] == [True, False, False] * 2
    assert all(not s.requires_grad for s in model.seen if s is not None)


def test_carry_state_is_fresh_for_evaluation_and_kept_for_training():
    batches = _chunks()
    model = _Leaky()
    trainer = Trainer(model, nnzoo.nn.MSELoss(), nnzoo.optim.SGD(model.parameters(), lr=0.0), progress=False,
                      carry_state=True)
    trainer.fit(batches, epochs=1)
    kept = trainer.state
    model.seen.clear()
    logs = trainer.evaluate(batches)
    assert model.seen[0] is None and trainer.state is kept
    # with lr 0 the evaluation loss equals the training loss of the same chunks with the same carried states
    assert logs["loss"] == pytest.approx(trainer.history["train_loss"][0], rel=1e-6)


def test_carry_state_needs_output_and_state():
    class NoState(nnzoo.nn.Linear):
        def forward(self, x, state=None):  # takes a state but returns only the output
            return super().forward(x)

    model = NoState(4, 1)
    trainer = Trainer(model, nnzoo.nn.MSELoss(), nnzoo.optim.SGD(model.parameters(), lr=0.1), progress=False,
                      carry_state=True)
    with pytest.raises(TypeError, match=r"carry_state=True.*\(output, state\)"):
        trainer.fit([(nnzoo.ones(2, 4), nnzoo.ones(2, 1))], epochs=1)


def test_detach_state_keeps_structure():
    from collections import namedtuple
    Pair = namedtuple("Pair", "h c")
    h = nnzoo.ones(2, requires_grad=True) * 3
    out = detach_state({"a": Pair(h, [h, None])})
    assert isinstance(out["a"], Pair) and isinstance(out["a"].c, list) and out["a"].c[1] is None
    assert not out["a"].h.requires_grad and np.array_equal(out["a"].h.numpy(), h.detach().numpy())


# ---- the non-finite guard, resuming without a checkpoint, load_best -----------------------------
class _Epochs:
    """Batches that change with the epoch: ``batches(epoch)`` (1-based) is re-read at every ``iter``."""

    def __init__(self, batches):
        self.batches, self.epoch = batches, 0

    def __iter__(self):
        self.epoch += 1
        return iter(self.batches(self.epoch))


def _poisoned(x, y, bad_epoch, bad_batch, n_batches=4):
    """``n_batches`` regression batches; in epoch ``bad_epoch`` batch ``bad_batch`` has a NaN input."""
    size = len(x) // n_batches

    def batches(epoch):
        out = [(x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]) for i in range(n_batches)]
        if epoch == bad_epoch:
            xb = x[bad_batch * size:(bad_batch + 1) * size].numpy().copy()
            xb[0, 1] = np.nan
            out[bad_batch] = (nnzoo.tensor(xb), out[bad_batch][1])
        return out
    return _Epochs(batches)


class _Snapshots(Callback):
    def __init__(self):
        self.after_batch = None

    def on_batch_end(self, trainer, batch_idx, logs):
        self.after_batch = _weights(trainer.model)


def test_a_nonfinite_loss_stops_before_the_update_and_names_the_last_good_checkpoint(tmp_path):
    x, y = _regression()
    nnzoo.manual_seed(0)
    model = nn.Linear(3, 1)
    snap = _Snapshots()
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), callbacks=[snap],
                      out_dir=tmp_path, progress=False)
    with pytest.raises(NonFiniteError) as info:
        trainer.fit(_poisoned(x, y, bad_epoch=3, bad_batch=2), epochs=5)
    e = info.value
    assert (e.epoch, e.batch, e.step, e.what) == (3, 2, 2 * 4 + 2, "loss")
    assert e.checkpoint == os.path.join(str(tmp_path), "last.safetensors")
    assert "epoch 3, batch 2" in str(e) and "the loss is nan" in str(e) and e.checkpoint in str(e)
    for k, v in _weights(model).items():  # the bad batch changed nothing
        assert np.array_equal(v, snap.after_batch[k]), k
    ckpt = nnzoo.load(tmp_path / "last.safetensors")
    assert ckpt["epoch"] == 2 and ckpt["global_step"] == 8
    with open(tmp_path / "history.json") as f:
        assert json.load(f)["epoch"] == [1, 2]
    assert all(np.isfinite(v.numpy()).all() for v in nnzoo.load(tmp_path / "best.safetensors").values())


def test_a_nonfinite_gradient_names_the_parameter_and_leaves_the_weights_alone():
    class SqrtOffset(nn.Module):  # d sqrt(c) / dc = inf at c = 0, where the loss itself is finite
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 1)
            self.offset = nn.Parameter(nnzoo.zeros(1))

        def forward(self, x):
            return self.linear(x) + self.offset.sqrt()

    x, y = _regression()
    model = SqrtOffset()
    before = _weights(model)
    opt = optim.Adam(model.parameters(), lr=0.1)
    trainer = Trainer(model, nn.MSELoss(), opt, clip_grad_norm=1.0, progress=False)
    with pytest.raises(NonFiniteError) as info:
        trainer.fit([(x, y)], epochs=2)
    e = info.value
    assert (e.epoch, e.batch, e.step, e.what, e.checkpoint) == (1, 0, 0, "offset", None)
    assert "'offset'" in str(e) and "inf" in str(e) and "out_dir" in str(e)
    assert all(np.array_equal(v, before[k]) for k, v in _weights(model).items())
    assert opt.state_dict()["state"] == {} and trainer.global_step == 0


def test_a_diverging_sgd_run_stops_at_the_first_nonfinite_value():
    # what `nnzoo train mlp --lr 1e4 --set optimizer=sgd` did: train on with a NaN loss
    x, y = _classification(n=128, d=8, c=4)
    nnzoo.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e4), progress=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteError) as info:
        trainer.fit(loader, epochs=20)
    assert info.value.epoch <= 20 and all(np.isfinite(v).all() for v in _weights(model).values())
    # the old behaviour, asked for: no check at all
    nnzoo.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e4), progress=False,
                      on_nonfinite="ignore")
    with np.errstate(all="ignore"):
        history = trainer.fit(loader, epochs=info.value.epoch + 1)
    assert not np.isfinite(history["train_loss"][-1])


def test_custom_train_steps_with_several_optimizer_steps_are_guarded():
    class Chunked(Trainer):  # truncated BPTT's shape: one optimizer step per half batch, no check_loss
        def train_step(self, batch, batch_idx):
            x, y = batch
            total = 0.0
            for half in (slice(0, len(x) // 2), slice(len(x) // 2, None)):
                loss = self.loss_fn(self.model(x[half]), y[half])
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer_step()
                total += loss.item() / 2
            return StepOutput(total, None, y, len(y))

    from nnzoo.train import StepOutput
    x, y = _regression(n=16)
    xb = x.numpy().copy()
    xb[12, 0] = np.inf  # in the second half
    model = nn.Linear(3, 1)
    snap = _Snapshots()
    trainer = Chunked(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), callbacks=[snap],
                      progress=False)
    trainer.fit([(x, y)], epochs=1)
    after_first_epoch = _weights(model)
    with np.errstate(invalid="ignore"), pytest.raises(NonFiniteError) as info:
        trainer.fit([(nnzoo.tensor(xb), y)], epochs=2)
    assert (info.value.epoch, info.value.batch, info.value.step) == (2, 0, 3)
    assert info.value.what in ("weight", "bias")
    first_half = _weights(model)  # the first half-batch stepped, the second did not
    assert not np.array_equal(first_half["weight"], after_first_epoch["weight"])
    model.load_state_dict({k: nnzoo.tensor(v) for k, v in after_first_epoch.items()})
    model.zero_grad()
    loss = nn.MSELoss()(model(x[:8]), y[:8])
    loss.backward()
    expected = after_first_epoch["weight"] - np.float32(0.01) * model.weight.grad.numpy()
    np.testing.assert_array_equal(first_half["weight"], expected)


def test_skip_drops_the_bad_batch_exactly_and_counts_it(tmp_path):
    x, y = _regression()
    nnzoo.manual_seed(0)
    model = nn.Linear(3, 1)
    init = _weights(model)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), on_nonfinite="skip",
                      out_dir=tmp_path, progress=False)
    with pytest.warns(RuntimeWarning, match=r"epoch 2, batch 1 .*the batch is skipped"):
        history = trainer.fit(_poisoned(x, y, bad_epoch=2, bad_batch=1), epochs=3)
    assert history["skipped_batches"] == [0, 1, 0]
    assert trainer.global_step == 11 and np.isfinite(history["train_loss"]).all()
    with open(tmp_path / "history.json") as f:
        assert json.load(f)["skipped_batches"] == [0, 1, 0]

    # the same as training without that batch
    size = 16
    batches = [(x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]) for i in range(4)]
    ref = nn.Linear(3, 1)
    ref.load_state_dict({k: nnzoo.tensor(v) for k, v in init.items()})
    ref_trainer = Trainer(ref, nn.MSELoss(), optim.SGD(ref.parameters(), lr=0.05), progress=False)
    ref_history = ref_trainer.fit(_Epochs(lambda e: batches[:1] + batches[2:] if e == 2 else batches), epochs=3)
    assert ref_history["train_loss"] == history["train_loss"]
    for k, v in _weights(ref).items():
        assert np.array_equal(v, _weights(model)[k]), k


def test_skip_has_limits():
    x, y = _regression()
    model = nn.Linear(3, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), on_nonfinite="skip",
                      max_skipped_batches=1, progress=False)

    def two_bad(epoch):
        xb = x.numpy().copy()
        xb[:] = np.nan
        return [(x, y), (nnzoo.tensor(xb), y)] if epoch < 3 else [(nnzoo.tensor(xb), y)]
    with pytest.warns(RuntimeWarning), pytest.raises(NonFiniteError, match="max_skipped_batches=1") as info:
        trainer.fit(_Epochs(two_bad), epochs=3)
    assert (info.value.epoch, info.value.batch) == (2, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), on_nonfinite="skip",
                      progress=False)
    with pytest.warns(RuntimeWarning), pytest.raises(NonFiniteError, match="all 1 batches of the epoch"):
        trainer.fit(_Epochs(lambda e: two_bad(3)), epochs=1)
    # a skipped batch's forward pass wrote NaN into batch norm's running statistics: not skippable
    bn_model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    trainer = Trainer(bn_model, nn.MSELoss(), optim.SGD(bn_model.parameters(), lr=0.05), on_nonfinite="skip",
                      progress=False)
    with pytest.raises(NonFiniteError, match=r"buffer '1\.running_mean'"):
        trainer.fit(_Epochs(two_bad), epochs=1)
    with pytest.raises(ValueError, match="on_nonfinite"):
        Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), on_nonfinite="warn")


def test_weights_an_update_made_nonfinite_are_never_saved(tmp_path):
    x, y = _regression()
    model = nn.Linear(3, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=3e38), out_dir=tmp_path,
                      progress=False)
    with np.errstate(over="ignore"), pytest.raises(NonFiniteError, match="end of the epoch") as info:
        trainer.fit([(x, y)], epochs=2)  # finite loss and gradients; the step overflows the weights
    assert (info.value.epoch, info.value.batch, info.value.what, info.value.checkpoint) == (1, None, "weight", None)
    assert not (tmp_path / "last.safetensors").exists() and not (tmp_path / "best.safetensors").exists()


def test_nan_validation_values_are_never_the_best_and_resume_keeps_them(tmp_path):
    x, y = _regression()
    xv, yv = _regression(n=16, seed=1)
    yv_nan = yv.numpy().copy()
    yv_nan[3] = np.nan
    val = _Epochs(lambda e: [(xv, nnzoo.tensor(yv_nan) if e in (1, 3) else yv)])

    def run(epochs, resume=None):
        nnzoo.manual_seed(0)
        model = nn.Linear(3, 1)
        trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), out_dir=tmp_path,
                          progress=False)
        trainer.fit([(x, y)], val_loader=val, epochs=epochs, resume=resume)
        return trainer
    trainer = run(2)
    history = trainer.history
    assert np.isnan(history["val_loss"][0]) and np.isfinite(history["val_loss"][1])
    assert trainer.callbacks[1].best_epoch == 1  # the NaN epoch 0 was not picked
    with open(tmp_path / "history.json") as f:
        text = f.read()
    def strict(constant):
        raise AssertionError(f"history.json is not strict JSON: {constant}")
    written = json.loads(text, parse_constant=strict)
    assert written["val_loss"][0] is None and "val_loss[0]" in written["non_finite"]
    trainer = run(4, resume=True)  # the checkpoint kept NaN as NaN
    assert np.isnan(trainer.history["val_loss"][0]) and np.isnan(trainer.history["val_loss"][2])
    assert trainer.callbacks[1].best_epoch in (1, 3) and trainer.epoch == 4
    assert np.isfinite(trainer.callbacks[1].best)


def test_resume_true_without_a_checkpoint_starts_from_scratch(tmp_path):
    x, y = _regression()

    def run(out_dir, resume):
        nnzoo.manual_seed(0)
        model = nn.Linear(3, 1)
        Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), out_dir=out_dir,
                progress=False).fit([(x, y)], epochs=3, resume=resume)
        return _weights(model)
    with pytest.warns(UserWarning, match="no checkpoint at .* starts from scratch"):
        resumed = run(tmp_path / "a", True)
    fresh = run(tmp_path / "b", None)
    assert all(np.array_equal(resumed[k], fresh[k]) for k in fresh)


def test_load_best_says_why_there_is_no_best_checkpoint(tmp_path):
    x, y = _regression()
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(RuntimeError, match="give it an out_dir"):
        Trainer(model, nn.MSELoss(), opt, progress=False).load_best()
    trainer = Trainer(model, nn.MSELoss(), opt, out_dir=tmp_path, progress=False)
    trainer.fit([(x, y)], epochs=0)
    with pytest.raises(RuntimeError, match=r"no epoch has been trained yet \(fit ran 0 epochs\)") as info:
        trainer.load_best()
    assert "out_dir" not in str(info.value)
    yv = y.numpy().copy()
    yv[0] = np.nan
    trainer = Trainer(model, nn.MSELoss(), opt, out_dir=tmp_path / "nan", progress=False)
    trainer.fit([(x, y)], val_loader=[(x, nnzoo.tensor(yv))], epochs=2)
    with pytest.raises(RuntimeError, match="'val_loss' was NaN in all 2 epochs"):
        trainer.load_best()
