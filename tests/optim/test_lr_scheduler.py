"""Learning-rate schedulers against PyTorch: the same optimizer and schedule give the same lr (and, for
OneCycleLR, momentum) sequence; a scheduler resumed from its state_dict continues identically."""
import math
import warnings

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import optim
from nnzoo.optim import lr_scheduler as nz_sched

STEPS = 60
TOL = dict(rtol=1e-12, atol=1e-15)


def _optimizer(lib, kind="SGD"):
    """Two param groups with different lrs, so per-group values are checked too."""
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal(3), requires_grad=True)
    b = lib.tensor(rng.standard_normal(2), requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.01}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


def _snapshot(opt):
    """The per-group values a schedule may change."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _run(lib, make, steps, metrics=None, kind="SGD"):
    opt = _optimizer(lib, kind)
    sched = make(lib.optim.lr_scheduler, opt)
    out = []
    for i in range(steps):
        out.append((list(sched.get_last_lr()), _snapshot(opt)))
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
    out.append((list(sched.get_last_lr()), _snapshot(opt)))
    return out


def _flat(seq):
    vals = []
    for lrs, snap in seq:
        vals += list(lrs)
        for lr, momentum, betas in snap:
            vals += [lr, -1.0 if momentum is None else momentum] + ([] if betas is None else list(betas))
    return np.array(vals, dtype=np.float64)


def _compare(got, want):
    assert len(got) == len(want)
    np.testing.assert_allclose(_flat(got), _flat(want), **TOL)


# (id, scheduler factory taking (lr_scheduler module, optimizer), optimizer kind, steps)
CASES = [
    ("step", lambda L, o: L.StepLR(o, step_size=7, gamma=0.5), "SGD", STEPS),
    ("multistep", lambda L, o: L.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), "SGD", STEPS),
    ("exponential", lambda L, o: L.ExponentialLR(o, gamma=0.95), "SGD", STEPS),
    ("cosine", lambda L, o: L.CosineAnnealingLR(o, T_max=25), "SGD", 25),
    ("cosine_restart_climb", lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001), "SGD", STEPS),
    ("lambda", lambda L, o: L.LambdaLR(o, lambda e: 0.9 ** e), "SGD", STEPS),
    ("lambda_per_group", lambda L, o: L.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.5 * (e % 3)]), "SGD", 30),
    ("linear_warmup", lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=8), "SGD", 30),
    ("linear_decay", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20), "SGD", 30),
    ("onecycle_cos_sgd", lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.1], total_steps=STEPS), "SGD", STEPS - 1),
    ("onecycle_linear", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=40, anneal_strategy="linear",
                                                  pct_start=0.25), "SGD", 39),
    ("onecycle_three_phase_adam", lambda L, o: L.OneCycleLR(o, max_lr=0.5, epochs=5, steps_per_epoch=10,
                                                            three_phase=True, base_momentum=0.8,
                                                            max_momentum=[0.9, 0.95]), "Adam", 49),
    ("onecycle_no_momentum", lambda L, o: L.OneCycleLR(o, max_lr=0.3, total_steps=30, cycle_momentum=False,
                                                       div_factor=10.0, final_div_factor=100.0), "Adam", 29),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,make,kind,steps", CASES, ids=IDS)
def test_schedule_matches_torch(name, make, kind, steps):
    _compare(_run(nnzoo, make, steps, kind=kind), _run(torch, make, steps, kind=kind))


def test_chained_schedulers_match_torch():
    def run(lib):
        opt = _optimizer(lib)
        L = lib.optim.lr_scheduler
        s1, s2 = L.StepLR(opt, step_size=4, gamma=0.5), L.CosineAnnealingLR(opt, T_max=15)
        lrs = []
        for _ in range(40):
            opt.step()
            s1.step()
            s2.step()
            lrs.append([g["lr"] for g in opt.param_groups])
        return np.array(lrs)
    np.testing.assert_allclose(run(nnzoo), run(torch), **TOL)


def _metrics(n=STEPS, seed=1):
    """A scripted validation curve: improving, then plateaus and noise."""
    rng = np.random.default_rng(seed)
    base = np.concatenate([np.linspace(1.0, 0.5, n // 3), np.full(n - n // 3, 0.5)])
    return list(base + 0.01 * rng.standard_normal(n) * (np.arange(n) % 4 == 0))


PLATEAU_CASES = [
    ("min_default", dict(patience=3)),
    ("max_abs_cooldown", dict(mode="max", threshold_mode="abs", threshold=0.01, patience=2, cooldown=3)),
    ("min_rel_factor_minlr", dict(factor=0.5, patience=1, min_lr=[0.02, 0.004])),
    ("min_abs_eps", dict(threshold_mode="abs", threshold=0.0, patience=0, factor=0.5, min_lr=0.001, eps=1e-3)),
    ("max_rel", dict(mode="max", patience=4, threshold=0.1)),
]


@pytest.mark.parametrize("kwargs", [c[1] for c in PLATEAU_CASES], ids=[c[0] for c in PLATEAU_CASES])
def test_reduce_on_plateau_matches_torch(kwargs):
    metrics = _metrics()
    if kwargs.get("mode") == "max":
        metrics = [1.5 - m for m in metrics]  # an accuracy-like curve, rising then flat
    make = lambda L, o: L.ReduceLROnPlateau(o, **kwargs)  # noqa: E731
    got = _run(nnzoo, make, STEPS, metrics)
    _compare(got, _run(torch, make, STEPS, metrics))
    assert got[-1][0][0] < got[0][0][0]  # the lr did drop


def test_reduce_on_plateau_accepts_a_tensor_metric():
    opt = _optimizer(nnzoo)
    sched = nz_sched.ReduceLROnPlateau(opt, patience=0)
    sched.step(nnzoo.tensor(1.0))
    sched.step(nnzoo.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.001])


def _resume(make, steps, metrics=None, kind="SGD"):
    """Run ``steps``, then save at the midpoint into a fresh optimizer + scheduler and go on."""
    opt = _optimizer(nnzoo, kind)
    sched = make(nz_sched, opt)
    half = steps // 2
    for i in range(half):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    opt2 = _optimizer(nnzoo, kind)
    sched2 = make(nz_sched, opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    out = []
    for i in range(half, steps):
        opt2.step()
        sched2.step() if metrics is None else sched2.step(metrics[i])
        out.append((list(sched2.get_last_lr()), _snapshot(opt2)))
    return out


@pytest.mark.parametrize("name,make,kind,steps", CASES, ids=IDS)
def test_state_dict_resume(name, make, kind, steps):
    straight = _run(nnzoo, make, steps, kind=kind)
    _compare(_resume(make, steps, kind=kind), straight[steps // 2 + 1:])


@pytest.mark.parametrize("kwargs", [c[1] for c in PLATEAU_CASES], ids=[c[0] for c in PLATEAU_CASES])
def test_reduce_on_plateau_resume(kwargs):
    metrics = _metrics()
    make = lambda L, o: L.ReduceLROnPlateau(o, **kwargs)  # noqa: E731
    straight = _run(nnzoo, make, STEPS, metrics)
    _compare(_resume(make, STEPS, metrics), straight[STEPS // 2 + 1:])


def test_state_dict_matches_torch_keys():
    for make in (lambda L, o: L.StepLR(o, 3), lambda L, o: L.ReduceLROnPlateau(o)):
        nz = make(nz_sched, _optimizer(nnzoo)).state_dict()
        th = make(torch.optim.lr_scheduler, _optimizer(torch)).state_dict()
        common = set(nz) & set(th)
        assert {"base_lrs", "last_epoch", "_last_lr", "_step_count"} & set(th) <= set(nz)
        for k in common:
            assert nz[k] == th[k], k


class _Decay:
    """A callable object: LambdaLR saves its attributes in the state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


def test_lambda_state_dict_keeps_callable_objects():
    opt = _optimizer(nnzoo)
    sched = nz_sched.LambdaLR(opt, [_Decay(0.5), lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    other = nz_sched.LambdaLR(_optimizer(nnzoo), [_Decay(0.9), lambda e: 1.0])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5


def test_last_epoch_resume_matches_torch():
    """Constructing with last_epoch >= 0 (groups already hold initial_lr) keeps the lr, then goes on."""
    def run(lib):
        opt = _optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, last_epoch=5)
        lrs = [list(sched.get_last_lr())]
        for _ in range(10):
            opt.step()
            sched.step()
            lrs.append(list(sched.get_last_lr()))
        return np.array(lrs)
    np.testing.assert_allclose(run(nnzoo), run(torch), **TOL)


@pytest.mark.parametrize("make", [
    lambda L, o: L.StepLR(o, step_size=3, gamma=0.5),
    lambda L, o: L.MultiStepLR(o, milestones=[2, 5], gamma=0.5),
    lambda L, o: L.ExponentialLR(o, gamma=0.9),
    lambda L, o: L.CosineAnnealingLR(o, T_max=10),
    lambda L, o: L.LinearLR(o, start_factor=0.5, total_iters=4),
], ids=["step", "multistep", "exponential", "cosine", "linear"])
def test_step_with_epoch_uses_closed_form_like_torch(make):
    def run(lib):
        opt = _optimizer(lib)
        sched = make(lib.optim.lr_scheduler, opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [3, 7, 1, 12]:
                opt.step()
                sched.step(epoch)
                out.append(list(sched.get_last_lr()))
        return np.array(out)
    np.testing.assert_allclose(run(nnzoo), run(torch), **TOL)


def test_cosine_closed_form():
    opt = _optimizer(nnzoo)
    sched = nz_sched.CosineAnnealingLR(opt, T_max=30, eta_min=0.002)
    for t in range(1, 31):
        opt.step()
        sched.step()
        want = 0.002 + (0.1 - 0.002) * (1 + math.cos(math.pi * t / 30)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-12)


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,exc,match", [
    (lambda o: nz_sched.StepLR(object(), 3), TypeError, "not an Optimizer"),
    (lambda o: nz_sched.StepLR(o, 3, last_epoch=4), KeyError, "initial_lr"),
    (lambda o: nz_sched.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas"),
    (lambda o: nz_sched.LinearLR(o, start_factor=0.0), ValueError, "Starting multiplicative factor"),
    (lambda o: nz_sched.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative factor"),
    (lambda o: nz_sched.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps OR"),
    (lambda o: nz_sched.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "positive integer total_steps"),
    (lambda o: nz_sched.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: nz_sched.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: nz_sched.OneCycleLR(o, max_lr=[1.0], total_steps=10), ValueError, "expected 2 values for max_lr"),
    (lambda o: nz_sched.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda o: nz_sched.ReduceLROnPlateau(o, mode="up"), ValueError, "mode 'up' is unknown"),
    (lambda o: nz_sched.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold mode 'pct'"),
    (lambda o: nz_sched.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs"),
])
def test_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make(_optimizer(nnzoo))


def test_onecycle_needs_momentum_and_stops_at_total_steps():
    w = nnzoo.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        nz_sched.OneCycleLR(optim.Adagrad([w]), max_lr=1.0, total_steps=10)
    opt = _optimizer(nnzoo)
    sched = nz_sched.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(5):  # as in PyTorch, last_epoch may reach total_steps; one more step is an error
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        sched.step()
