"""Every layer against its PyTorch twin: weights copied through state_dict (torch -> nnzoo via NumPy arrays,
and nnzoo -> torch), then forward, backward (input and parameter gradients) and buffers compared, in
train and eval mode, for the options each layer has."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import nnzoo
from nnzoo import nn


def _sd_to_numpy(sd):
    return {k: (v.detach().numpy().copy() if isinstance(v, torch.Tensor) else v.numpy().copy())
            for k, v in sd.items()}


def _pair(name, *args, **kwargs):
    th = getattr(tnn, name)(*args, **kwargs).double()
    nz = getattr(nn, name)(*args, **kwargs).double()
    # torch -> nnzoo through plain NumPy arrays
    assert list(nz.state_dict()) == list(th.state_dict()), f"{name}: state_dict keys differ"
    nz.load_state_dict(_sd_to_numpy(th.state_dict()))
    # nnzoo -> torch: a fresh torch module takes nnzoo's (strict) state dict and gets the same values
    th2 = getattr(tnn, name)(*args, **kwargs).double()
    th2.load_state_dict({k: torch.from_numpy(v) for k, v in _sd_to_numpy(nz.state_dict()).items()})
    for k, v in th2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), th.state_dict()[k].numpy())
    return nz, th


def _compare(name, nz, th, inputs, steps=1, rng=None, tol=1e-10):
    """Run ``steps`` forward/backward passes on both; compare outputs, gradients and buffers."""
    rng = rng or np.random.default_rng(0)
    for step in range(steps):
        arrays = [a(rng) if callable(a) else a for a in inputs]
        nz_in = [nnzoo.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        th_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out_nz, out_th = nz(*nz_in), th(*th_in)
        np.testing.assert_allclose(out_nz.detach().numpy(), out_th.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=f"{name}: forward, step {step}")
        if out_th.requires_grad:
            u = rng.standard_normal(tuple(out_th.shape))
            (out_nz * nnzoo.tensor(u)).sum().backward()
            (out_th * torch.tensor(u)).sum().backward()
            for a, b in zip(nz_in, th_in):
                if b.grad is not None:
                    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol,
                                               err_msg=f"{name}: input grad")
            th_params = dict(th.named_parameters())
            for pname, p in nz.named_parameters():
                q = th_params[pname]
                if q.grad is None:
                    assert p.grad is None or not p.grad.numpy().any()
                else:
                    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol,
                                               err_msg=f"{name}: grad of {pname}")
        th_buf = dict(th.named_buffers())
        for bname, b in nz.named_buffers():
            np.testing.assert_allclose(b.numpy(), th_buf[bname].numpy(), rtol=tol, atol=tol,
                                       err_msg=f"{name}: buffer {bname} after step {step}")
    for k, v in th.state_dict().items():
        np.testing.assert_allclose(nz.state_dict()[k].numpy(), v.numpy(), rtol=tol, atol=tol)


def N(*shape):
    return lambda rng: rng.standard_normal(shape)


IDX = np.array([[1, 0, 4], [4, 4, 2]])

LAYERS = [
    ("Linear", (3, 4), {}, [N(5, 3)]),
    ("Linear", (3, 4), dict(bias=False), [N(2, 5, 3)]),
    ("Bilinear", (3, 2, 4), {}, [N(5, 3), N(5, 2)]),
    ("Bilinear", (3, 2, 4), dict(bias=False), [N(5, 3), N(5, 2)]),
    ("Embedding", (6, 3), {}, [IDX]),
    ("Embedding", (6, 3), dict(padding_idx=4), [IDX]),
    ("Embedding", (6, 3), dict(padding_idx=-2, scale_grad_by_freq=True), [IDX]),
    ("Embedding", (6, 3), dict(max_norm=0.8), [IDX]),
    ("LayerNorm", (4,), {}, [N(3, 5, 4)]),
    ("LayerNorm", ((5, 4),), dict(eps=1e-3, elementwise_affine=False), [N(3, 5, 4)]),
    ("LayerNorm", (4,), dict(bias=False), [N(3, 4)]),
    ("GroupNorm", (2, 6), {}, [N(3, 6, 5)]),
    ("GroupNorm", (3, 6), dict(affine=False, eps=1e-3), [N(2, 6, 2, 2)]),
    ("GroupNorm", (3, 6), dict(bias=False), [N(2, 6, 4)]),
    ("ReLU", (), {}, [N(4, 5)]),
    ("LeakyReLU", (0.2,), {}, [N(4, 5)]),
    ("ELU", (0.5,), {}, [N(4, 5)]),
    ("GELU", (), {}, [N(4, 5)]),
    ("GELU", (), dict(approximate="tanh"), [N(4, 5)]),
    ("SiLU", (), {}, [N(4, 5)]),
    ("Sigmoid", (), {}, [N(4, 5)]),
    ("Tanh", (), {}, [N(4, 5)]),
    ("Softmax", (), dict(dim=1), [N(4, 5)]),
    ("LogSoftmax", (), dict(dim=-1), [N(2, 4, 5)]),
    ("Softplus", (), dict(beta=2.0, threshold=1.0), [N(4, 5)]),
    ("LogSigmoid", (), {}, [N(4, 5)]),
    ("Hardtanh", (-0.5, 0.5), {}, [N(4, 5)]),
    ("Flatten", (), {}, [N(2, 3, 4)]),
    ("Flatten", (0, 1), {}, [N(2, 3, 4)]),
    ("Unflatten", (1, (2, 3)), {}, [N(4, 6)]),
    ("Identity", (), {}, [N(3)]),
]


@pytest.mark.parametrize("name,args,kwargs,inputs", LAYERS,
                         ids=[f"{n}-{i}" for i, (n, *_) in enumerate(LAYERS)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_parity(name, args, kwargs, inputs, mode):
    nz, th = _pair(name, *args, **kwargs)
    nz.train(mode == "train")
    th.train(mode == "train")
    _compare(name, nz, th, inputs)


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "SiLU", "Hardtanh"])
def test_inplace_activations(name):
    nz, th = _pair(name, inplace=True)
    assert repr(nz) == repr(th)
    x = np.random.default_rng(1).standard_normal((3, 4))
    a = nnzoo.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = a * 1.0, b * 1.0
    ra, rb = nz(ya), th(yb)
    assert ra is ya and rb is yb
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


BN = [
    ("BatchNorm1d", (3,), {}, [N(6, 3)]),
    ("BatchNorm1d", (3,), dict(momentum=None), [N(4, 3, 5)]),
    ("BatchNorm1d", (3,), dict(momentum=0.3, eps=1e-3, affine=False), [N(6, 3)]),
    ("BatchNorm1d", (3,), dict(track_running_stats=False), [N(6, 3, 2)]),
    ("BatchNorm2d", (3,), {}, [N(2, 3, 4, 4)]),
    ("BatchNorm2d", (3,), dict(bias=False), [N(2, 3, 2, 2)]),
    ("BatchNorm2d", (3,), dict(momentum=None, affine=False), [N(2, 3, 2, 3)]),
    ("BatchNorm2d", (3,), dict(track_running_stats=False, affine=False), [N(2, 3, 2, 2)]),
]


@pytest.mark.parametrize("name,args,kwargs,inputs", BN, ids=[f"{n}-{i}" for i, (n, *_) in enumerate(BN)])
def test_batchnorm_train_then_eval(name, args, kwargs, inputs):
    """Three training steps (running stats, momentum or the cumulative average, num_batches_tracked), then
    eval mode (running estimates; batch statistics when track_running_stats=False)."""
    nz, th = _pair(name, *args, **kwargs)
    if nz.affine:  # non-trivial affine parameters, copied over
        th.weight.data.uniform_(0.5, 1.5)
        if th.bias is not None:
            th.bias.data.normal_()
        nz.load_state_dict(_sd_to_numpy(th.state_dict()))
    rng = np.random.default_rng(3)
    _compare(name, nz, th, inputs, steps=3, rng=rng)
    nz.eval()
    th.eval()
    _compare(name, nz, th, inputs, steps=2, rng=rng)


def test_batchnorm_input_dims_and_repr():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(nnzoo.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(nnzoo.zeros(2, 3))
    for mod in ("BatchNorm1d", "BatchNorm2d"):
        for kw in ({}, dict(momentum=None, affine=False), dict(track_running_stats=False), dict(bias=False)):
            assert repr(getattr(nn, mod)(4, **kw)) == repr(getattr(tnn, mod)(4, **kw))
            assert list(getattr(nn, mod)(4, **kw).state_dict()) == list(getattr(tnn, mod)(4, **kw).state_dict())
    assert nn.BatchNorm1d(3).num_batches_tracked.dtype == nnzoo.int64


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "AlphaDropout"])
def test_dropout_modules(name):
    x = nnzoo.randn(8, 4, 6, 5)
    if name == "Dropout1d":
        x = x[:, :, 0]
    m = getattr(nn, name)(p=0.3)
    assert repr(m) == repr(getattr(tnn, name)(p=0.3))
    assert m.eval()(x) is x  # identity in eval mode
    y = m.train()(x)
    assert y.shape == x.shape and not np.allclose(y.numpy(), x.numpy())
    assert getattr(nn, name)(p=0.0).train()(x) is x
    with pytest.raises(ValueError):
        getattr(nn, name)(p=-0.1)


def test_embedding_from_pretrained_and_padding_init():
    w = nnzoo.randn(5, 3)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and np.array_equal(e(nnzoo.tensor([2])).numpy(), w.numpy()[[2]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    e = nn.Embedding(10, 4, padding_idx=-1)
    assert e.padding_idx == 9 and not e.weight.detach().numpy()[9].any()
    kw = dict(padding_idx=1, max_norm=2.0, norm_type=3.0, scale_grad_by_freq=True)
    assert repr(nn.Embedding(5, 3, **kw)) == repr(tnn.Embedding(5, 3, **kw))


def test_layer_reprs_match_torch():
    cases = [("Linear", (3, 4), {}), ("Linear", (3, 4), dict(bias=False)), ("Bilinear", (2, 3, 4), {}),
             ("LayerNorm", (4,), {}), ("LayerNorm", ((2, 4),), dict(bias=False)),
             ("GroupNorm", (2, 4), {}), ("GroupNorm", (2, 4), dict(affine=False)), ("GELU", (), {}),
             ("GELU", (), dict(approximate="tanh")), ("Softmax", (), {}), ("LogSoftmax", (), dict(dim=1)),
             ("Hardtanh", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (), dict(inplace=True)), ("ELU", (), {}),
             ("Softplus", (), {}), ("LogSigmoid", (), {}), ("SiLU", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
             ("Flatten", (), {}), ("Unflatten", (1, (2, 5)), {}), ("Identity", (), {}),
             ("Dropout", (), {}), ("Embedding", (5, 3), {})]
    for name, args, kw in cases:
        assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(tnn, name)(*args, **kw)), name


def test_float32_parity_of_an_mlp_with_default_dtype():
    """float32 (the default) end to end: a small MLP with torch's weights gives torch's outputs and grads."""
    th = tnn.Sequential(tnn.Linear(6, 8), tnn.LayerNorm(8), tnn.GELU(), tnn.Linear(8, 3))
    nz = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3))
    nz.load_state_dict(th.state_dict())  # torch tensors are accepted directly
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    a, b = nz(nnzoo.tensor(x)), th(torch.tensor(x))
    assert a.dtype == nnzoo.float32
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    for (k, p), q in zip(nz.named_parameters(), th.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


# ---- channel dropout on inputs of other ranks: torch warns, then drops what feature_dropout drops ----------
def _dropout_warning(fn):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in rec if issubclass(w.category, UserWarning)]


def _channel_constant(y, lead):
    """Whether y (of a ones input) is constant over every dim past the first ``lead`` ones."""
    flat = y.reshape(int(np.prod(y.shape[:lead])), -1)
    return bool((flat == flat[:, :1]).all())


@pytest.mark.parametrize("name,shape,lead", [("Dropout2d", (64, 40), 2), ("Dropout2d", (6, 8, 2, 3, 2), 2),
                                             ("Dropout3d", (40, 30), 1), ("Dropout3d", (8, 5, 6), 1),
                                             ("Dropout3d", (6, 5, 2, 2, 3, 2), 1)])
def test_channel_dropout_other_ranks_warn_as_torch(name, shape, lead):
    p = 0.3
    nnzoo.manual_seed(0)
    nz_y, nz_w = _dropout_warning(lambda: getattr(nn, name)(p)(nnzoo.ones(*shape)))
    th_y, th_w = _dropout_warning(lambda: getattr(tnn, name)(p)(torch.ones(*shape)))
    assert nz_w == th_w and len(nz_w) == 1  # the same deprecation message, once
    y, t = nz_y.numpy(), th_y.numpy()
    assert y.shape == t.shape == shape
    assert set(np.unique(y)) <= {0.0, np.float32(1 / (1 - p))} and set(np.unique(t)) <= {0.0, np.float32(1 / (1 - p))}
    assert _channel_constant(y, lead) and _channel_constant(t, lead)
    n = int(np.prod(shape[:lead]))  # channels: about p of them dropped (within 5 binomial sigmas)
    assert abs((y.reshape(n, -1)[:, 0] == 0).mean() - p) <= 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6), (3, 4, 5, 6)])
def test_dropout3d_native_ranks(shape):
    x = nnzoo.ones(*shape, requires_grad=True)
    y, w = _dropout_warning(lambda: nn.Dropout3d(0.5)(x))
    assert w == _dropout_warning(lambda: tnn.Dropout3d(0.5)(torch.ones(*shape)))[1] == []
    assert _channel_constant(y.detach().numpy(), 2 if len(shape) == 5 else 1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # d(x * mask)/dx = mask
    assert repr(nn.Dropout3d(0.2, inplace=True)) == repr(tnn.Dropout3d(0.2, inplace=True))
    assert nn.Dropout3d().eval()(x) is x


def test_dropout2d_one_dim_raises_as_torch_after_the_warning():
    for mod in (nn.Dropout2d(), tnn.Dropout2d()):
        x = (nnzoo if isinstance(mod, nn.Module) else torch).ones(3)
        with pytest.warns(UserWarning, match="Received a 1-D input"), \
                pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            mod(x)


def test_dropout2d_inplace_on_two_dims():
    x = nnzoo.ones(50, 20)
    with pytest.warns(UserWarning):
        y = nn.Dropout2d(0.5, inplace=True)(x)
    assert y is x and set(np.unique(x.numpy())) == {0.0, 2.0}
