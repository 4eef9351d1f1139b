"""The Module API against PyTorch's behaviour: registration, naming, walking, modes, casts, state dicts
(strict loading and its messages), hooks, containers and repr text."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import nnzoo
from nnzoo import nn


def _net(lib):
    """A small nested model, written once for both libraries."""
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.BatchNorm1d(8))
            self.heads = lib.nn.ModuleDict({"cls": lib.nn.Linear(8, 3), "aux": lib.nn.Linear(8, 1, bias=False)})
            self.blocks = lib.nn.ModuleList([lib.nn.Linear(8, 8) for _ in range(3)] + [lib.nn.Tanh()])
            self.scale = lib.nn.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros(2))
            self.register_buffer("cache", lib.zeros(3), persistent=False)
            self.drop = lib.nn.Dropout(0.1)

        def forward(self, x):
            h = self.features(x)
            for b in self.blocks:
                h = b(h)
            return self.heads["cls"](self.drop(h)) * self.scale
    return Net()


def test_names_counts_and_repr_match_torch():
    nz, th = _net(nnzoo), _net(torch)
    assert [n for n, _ in nz.named_parameters()] == [n for n, _ in th.named_parameters()]
    assert [n for n, _ in nz.named_buffers()] == [n for n, _ in th.named_buffers()]
    assert list(nz.state_dict()) == list(th.state_dict())
    assert "features.0.weight" in nz.state_dict() and "cache" not in nz.state_dict()
    assert [n for n, _ in nz.named_modules()] == [n for n, _ in th.named_modules()]
    assert [n for n, _ in nz.named_children()] == [n for n, _ in th.named_children()]
    assert sum(p.numel() for p in nz.parameters()) == sum(p.numel() for p in th.parameters())
    assert [n for n, _ in nz.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in th.named_parameters(prefix="m", recurse=False)]
    assert repr(nz) == repr(th)
    assert repr(nz.scale) == repr(th.scale)


def test_state_dict_roundtrip_gives_torch_outputs():
    nz, th = _net(nnzoo), _net(torch)
    th.eval()
    with torch.no_grad():
        th.features[2].running_mean.normal_()
        th.features[2].running_var.uniform_(0.5, 2)
    nz.load_state_dict({k: v.numpy() for k, v in th.state_dict().items()})
    nz.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(nz(nnzoo.tensor(x)).detach().numpy(), th(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    th2 = _net(torch)
    th2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in nz.state_dict().items()})
    th2.eval()
    np.testing.assert_allclose(th2(torch.tensor(x)).detach().numpy(), th(torch.tensor(x)).detach().numpy())


def test_state_dict_shares_memory_and_is_detached():
    m = nn.Linear(2, 3)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and sd["weight"].numpy() is not None
    with nnzoo.no_grad():
        m.weight.fill_(2.0)
    assert np.all(sd["weight"].numpy() == 2.0)
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def _errors(lib, sd, strict=True):
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    try:
        return m.load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        return str(e)


def test_strict_loading_errors_match_torch_text():
    th_sd = tnn.Sequential(tnn.Linear(2, 3), tnn.BatchNorm1d(3)).state_dict()
    sd = {k: v.numpy() for k, v in th_sd.items()}
    del sd["0.bias"]
    del sd["1.running_var"]
    sd["0.extra"] = np.zeros(1)
    sd["2.weight"] = np.zeros(1)
    got = _errors(nnzoo, sd)
    want = _errors(torch, {k: torch.tensor(v) for k, v in sd.items()})
    assert got == want
    assert got.startswith("Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: ")
    res = _errors(nnzoo, sd, strict=False)
    ref = _errors(torch, {k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert res.missing_keys == ref.missing_keys and res.unexpected_keys == ref.unexpected_keys
    assert repr(_errors(nnzoo, {k: v.numpy() for k, v in th_sd.items()})) == "<All keys matched successfully>"


def test_size_mismatch_raises_even_when_not_strict():
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape "
                                           r"nnzoo.Size\(\[3, 3\]\) from checkpoint"):
        m.load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(3)}, strict=False)


def test_load_keeps_parameter_identity_and_dtype():
    m = nn.Linear(2, 3)
    w = m.weight
    m.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})  # float64 arrays into float32
    assert m.weight is w and m.weight.dtype == nnzoo.float32 and np.all(w.detach().numpy() == 1)


def test_train_eval_propagate():
    nz = _net(nnzoo)
    assert all(m.training for m in nz.modules())
    assert nz.eval() is nz
    assert not any(m.training for m in nz.modules())
    nz.features.train()
    assert nz.features[2].training and not nz.training
    with pytest.raises(ValueError):
        nz.train("yes")


def test_to_dtype_casts_in_place_keeping_parameters():
    m = _net(nnzoo)
    params = list(m.parameters())
    m(nnzoo.randn(4, 4)).sum().backward()
    assert m.double() is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype == nnzoo.float64 for p in m.parameters())
    assert m.features[0].weight.grad.dtype == nnzoo.float64  # grads follow (heads.aux has none)
    assert m.features[2].running_mean.dtype == nnzoo.float64
    assert m.features[2].num_batches_tracked.dtype == nnzoo.int64  # integer buffers are not cast
    m.to(nnzoo.float32)
    assert all(p.dtype == nnzoo.float32 for p in m.parameters())
    m.to("cpu").float()
    assert m(nnzoo.randn(4, 4)).dtype == nnzoo.float32


def test_zero_grad_and_requires_grad():
    m = nn.Linear(3, 2)
    m(nnzoo.randn(4, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert np.all(m.weight.grad.numpy() == 0)
    m.zero_grad()
    assert m.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(nnzoo.zeros(2))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("b", nnzoo.ones(1))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["b"]
    assert "w" in dir(m) and "sub" in dir(m) and "b" in dir(m)
    with pytest.raises(TypeError, match="cannot assign"):
        m.w = nnzoo.zeros(2)  # a plain tensor can't replace a parameter
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", nnzoo.ones(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        _ = m.nothing
    del m.sub
    assert "sub" not in m._modules
    m.add_module("other", nn.ReLU())
    assert m.get_submodule("other") is m.other
    shared = nn.Linear(2, 2)
    s = nn.Sequential(shared, shared)
    assert len(list(s.parameters())) == 2  # shared parameters counted once, as torch
    with pytest.raises(AttributeError):
        class Bad(nn.Module):
            def __init__(self):
                self.p = nn.Parameter(nnzoo.zeros(1))
        Bad()


def test_apply_visits_children_first():
    seen = []
    nz = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    nz.apply(lambda m: seen.append(type(m).__name__))
    seen_th = []
    tnn.Sequential(tnn.Linear(1, 1), tnn.Sequential(tnn.ReLU())).apply(lambda m: seen_th.append(type(m).__name__))
    assert seen == seen_th


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    y = m(nnzoo.ones(1, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(y.detach().numpy(), m.bias.detach().numpy()[None] + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    calls.clear()
    m(nnzoo.ones(1, 2))
    assert calls == []


def test_sequential_container():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2] and list(s) == layers
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == list(tnn.Sequential(
        tnn.Linear(2, 3), tnn.ReLU(), tnn.Linear(3, 1))[1:]._modules)
    s.append(nn.Sigmoid())
    assert len(s) == 4
    del s[1]
    assert list(s._modules) == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict([("conv", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"] and named.act is named[1]
    assert s(nnzoo.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError):
        s[5]


def test_modulelist_and_moduledict():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh"]
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    assert list(ml.state_dict()) == ["1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Linear(1, 1)
    assert list(md.keys()) == ["a", "b"] and "b" in md and len(md) == 2
    assert list(md.state_dict()) == ["b.weight", "b.bias"]
    md.pop("a")
    assert list(md) == ["b"]
    thl = tnn.ModuleList([tnn.Linear(2, 2), tnn.Linear(2, 2), tnn.ReLU(), tnn.Linear(2, 2)])
    nzl = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])
    assert repr(nzl) == repr(thl)


def test_parameter():
    t = nnzoo.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, nnzoo.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    with nnzoo.no_grad():
        p.add_(1.0)
    assert np.all(t.numpy() == 1.0)  # shares memory with the tensor it was made from
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(3)))
    y = (p * 2).sum()
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0, 2.0])
