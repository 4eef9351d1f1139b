"""nnzoo.optim.lr_scheduler.SequentialLR against torch.optim.lr_scheduler.SequentialLR: the lrs step by step
(nanoGPT's warm-up then cosine, and three schedulers with two milestones), the state_dict round trip through
nnzoo.save mid-schedule, and PyTorch's errors."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.optim import lr_scheduler as S
from nnzoo.optim.lr_scheduler import SequentialLR


def _schedulers(lib, sequential, kind):
    opt = lib.optim.AdamW([{"params": [lib.zeros(2, requires_grad=True)]},
                           {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5}], lr=1e-3)
    sched = lib.optim.lr_scheduler
    if kind == "warmup_cosine":
        warm = sched.LinearLR(opt, start_factor=1 / 6, end_factor=1.0, total_iters=5)
        cos = sched.CosineAnnealingLR(opt, T_max=15, eta_min=1e-4)
        return opt, sequential(opt, [warm, cos], milestones=[5])
    a = sched.StepLR(opt, step_size=2, gamma=0.5)
    b = sched.ExponentialLR(opt, gamma=0.9)
    c = sched.CosineAnnealingLR(opt, T_max=4)
    return opt, sequential(opt, [a, b, c], milestones=[3, 7])


def _lrs(opt, sched, steps):
    out = [[g["lr"] for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)


@pytest.mark.parametrize("kind", ["warmup_cosine", "three"])
def test_the_lrs_are_pytorchs(kind):
    ours = _lrs(*_schedulers(nnzoo, SequentialLR, kind), 22)
    theirs = _lrs(*_schedulers(torch, torch.optim.lr_scheduler.SequentialLR, kind), 22)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_nanogpts_get_lr():
    """LinearLR from 1 / (W + 1) then CosineAnnealingLR: nanoGPT's lr (it + 1) / (W + 1), then the cosine."""
    opt, sched = _schedulers(nnzoo, SequentialLR, "warmup_cosine")
    lrs = _lrs(opt, sched, 20)[:, 0]
    W, N, lr, lo = 5, 20, 1e-3, 1e-4
    want = [lr * (it + 1) / (W + 1) if it < W else lo + (lr - lo) * (1 + np.cos(np.pi * (it - W) / (N - W))) / 2
            for it in range(N + 1)]
    np.testing.assert_allclose(lrs, want, rtol=1e-12)


def test_state_dict_resumes_mid_schedule(tmp_path):
    opt, sched = _schedulers(nnzoo, SequentialLR, "warmup_cosine")
    whole = _lrs(opt, sched, 12)
    opt, sched = _schedulers(nnzoo, SequentialLR, "warmup_cosine")
    first = _lrs(opt, sched, 4)
    nnzoo.save({"s": sched.state_dict(), "o": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    saved = nnzoo.load(tmp_path / "ckpt.safetensors")
    opt, sched = _schedulers(nnzoo, SequentialLR, "warmup_cosine")
    opt.load_state_dict(saved["o"])
    sched.load_state_dict(saved["s"])
    assert set(sched.state_dict()) == set(torch.optim.lr_scheduler.SequentialLR(*_torch_pair()).state_dict())
    rest = _lrs(opt, sched, 8)
    np.testing.assert_allclose(np.concatenate([first, rest[1:]]), whole, rtol=1e-12)


def _torch_pair():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    return opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.5, total_iters=2),
                 torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)], [2]


def test_errors_are_pytorchs():
    opt = nnzoo.optim.SGD([nnzoo.zeros(1, requires_grad=True)], lr=1.0)
    other = nnzoo.optim.SGD([nnzoo.zeros(1, requires_grad=True)], lr=1.0)
    a, b = S.LinearLR(opt, 0.5, total_iters=2), S.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="at least one scheduler"):
        SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="number of milestone points"):
        SequentialLR(opt, [a, b], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        SequentialLR(opt, [a, S.ExponentialLR(other, 0.9)], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        SequentialLR(opt, [a, S.ReduceLROnPlateau(opt)], milestones=[2])
    with pytest.raises(TypeError, match="should have `optimizer`"):
        SequentialLR(opt, [a, object()], milestones=[2])
