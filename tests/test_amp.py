"""nnzoo.amp / nnzoo.cuda.amp against torch's CPU build: GradScaler disabled for CUDA (torch's warnings), enabled
and scaling on the CPU (the same scales, skips and state dicts as torch), autocast as a float32 no-op."""
import warnings

import numpy as np
import pytest
import torch

import nnzoo


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [(w.category, str(w.message).replace("nnzoo", "torch")) for w in caught]


SCALERS = [
    ("amp cuda", lambda m: m.amp.GradScaler("cuda")),
    ("amp default", lambda m: m.amp.GradScaler()),
    ("amp cuda disabled", lambda m: m.amp.GradScaler("cuda", enabled=False)),
    ("cuda.amp", lambda m: m.cuda.amp.GradScaler()),
    ("cuda.amp disabled", lambda m: m.cuda.amp.GradScaler(enabled=False)),
    ("cuda.amp options", lambda m: m.cuda.amp.GradScaler(init_scale=2.0 ** 10, growth_interval=3)),
]


@pytest.mark.parametrize("make", [f for _, f in SCALERS], ids=[n for n, _ in SCALERS])
def test_cuda_grad_scaler_is_disabled_as_torch(make):
    ours, our_warnings = _warnings_of(lambda: make(nnzoo))
    theirs, their_warnings = _warnings_of(lambda: make(torch))
    assert our_warnings == their_warnings
    assert ours.is_enabled() == theirs.is_enabled() is False
    assert ours.get_scale() == theirs.get_scale() and ours.state_dict() == theirs.state_dict() == {}
    # a training step through the disabled scaler is a plain step
    n_model, t_model = _models()
    n_opt = nnzoo.optim.SGD(n_model.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(t_model.parameters(), lr=0.1)
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    n_loss = n_model(nnzoo.tensor(x)).pow(2).mean()
    t_loss = t_model(torch.tensor(x)).pow(2).mean()
    assert ours.scale(n_loss) is n_loss and theirs.scale(t_loss) is t_loss
    n_loss.backward()
    t_loss.backward()
    assert ours.unscale_(n_opt) is None and theirs.unscale_(t_opt) is None
    assert ours.step(n_opt) is None and theirs.step(t_opt) is None
    ours.update()
    theirs.update()
    ours.load_state_dict({})
    np.testing.assert_allclose(n_model.weight.detach().numpy(), t_model.weight.detach().numpy(), rtol=1e-6)


def _models():
    n_model, t_model = nnzoo.nn.Linear(4, 1), torch.nn.Linear(4, 1)
    w = np.arange(4, dtype=np.float32).reshape(1, 4) / 10
    with torch.no_grad():
        t_model.weight.copy_(torch.tensor(w))
        t_model.bias.fill_(0.5)
    n_model.weight.data = nnzoo.tensor(w)
    n_model.bias.data = nnzoo.tensor([0.5])
    return n_model, t_model


def test_cpu_grad_scaler_scales_skips_and_grows_as_torch():
    n_model, t_model = _models()
    n_opt = nnzoo.optim.SGD(n_model.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(t_model.parameters(), lr=0.1)
    kw = dict(init_scale=2.0 ** 8, growth_factor=3.0, backoff_factor=0.25, growth_interval=2)
    ours, theirs = nnzoo.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    assert ours.is_enabled() and theirs.is_enabled() and ours.state_dict() == theirs.state_dict()
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    for step in range(6):
        n_opt.zero_grad()
        t_opt.zero_grad()
        n_loss = ours.scale(n_model(nnzoo.tensor(x)).pow(2).mean())
        t_loss = theirs.scale(t_model(torch.tensor(x)).pow(2).mean())
        np.testing.assert_allclose(n_loss.item(), t_loss.item(), rtol=1e-5)
        n_loss.backward()
        t_loss.backward()
        if step == 2:  # an overflowing step: skipped, the scale backs off
            n_model.weight.grad.numpy()[0, 0] = np.inf
            with torch.no_grad():
                t_model.weight.grad[0, 0] = float("inf")
        if step == 4:  # unscale_ first (as before clipping), then step
            ours.unscale_(n_opt)
            theirs.unscale_(t_opt)
            np.testing.assert_allclose(n_model.weight.grad.numpy(), t_model.weight.grad.numpy(), rtol=1e-5)
            with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
                ours.unscale_(n_opt)
        assert ours.step(n_opt) == theirs.step(t_opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            ours.step(n_opt)
        ours.update()
        theirs.update()
        assert ours.get_scale() == theirs.get_scale(), step
        assert ours.state_dict() == theirs.state_dict(), step
        np.testing.assert_allclose(n_model.weight.detach().numpy(), t_model.weight.detach().numpy(), rtol=1e-5)
    ours.update(2.0 ** 4)
    theirs.update(2.0 ** 4)
    assert ours.get_scale() == theirs.get_scale()
    fresh = nnzoo.amp.GradScaler("cpu")
    fresh.load_state_dict(theirs.state_dict())
    assert fresh.state_dict() == theirs.state_dict()
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        fresh.load_state_dict({})
    assert [t.item() for t in ours.scale([nnzoo.tensor(1.0), nnzoo.tensor(2.0)])] == \
        [t.item() for t in theirs.scale([torch.tensor(1.0), torch.tensor(2.0)])]


AUTOCASTS = [
    ("cpu bf16", lambda m: m.autocast("cpu", dtype=m.bfloat16)),
    ("cpu default", lambda m: m.autocast(device_type="cpu")),
    ("cpu f16", lambda m: m.autocast("cpu", dtype=m.float16)),
    ("cpu f64", lambda m: m.autocast("cpu", dtype=m.float64)),
    ("cuda", lambda m: m.autocast("cuda")),
    ("cuda disabled", lambda m: m.autocast("cuda", enabled=False)),
    ("amp cuda bf16", lambda m: m.amp.autocast("cuda", dtype=m.bfloat16)),
    ("cuda.amp", lambda m: m.cuda.amp.autocast()),
    ("cuda.amp disabled", lambda m: m.cuda.amp.autocast(enabled=False)),
]


@pytest.mark.parametrize("make", [f for _, f in AUTOCASTS], ids=[n for n, _ in AUTOCASTS])
def test_autocast_warns_as_torch_and_keeps_float32(make):
    ours, our_warnings = _warnings_of(lambda: make(nnzoo))
    theirs, their_warnings = _warnings_of(lambda: make(torch))
    assert our_warnings == their_warnings
    assert ours._enabled == theirs._enabled and ours.device == theirs.device
    with ours:
        y = nnzoo.ones(2, 3) @ nnzoo.ones(3, 2)
        assert not nnzoo.amp.is_autocast_enabled("cpu")
    assert y.dtype == nnzoo.float32  # NOTE: nnzoo's autocast is a documented no-op (torch computes in bf16 here)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same warnings as above, once more
        decorator = make(nnzoo)

    @decorator
    def f(x):
        return x * 2

    assert f(nnzoo.ones(2)).dtype == nnzoo.float32


def test_autocast_rejects_what_torch_rejects():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda") as ours:
        nnzoo.autocast("foo")
    with pytest.raises(RuntimeError) as theirs:
        torch.autocast("foo")
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        nnzoo.autocast(0)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        torch.autocast(0)
