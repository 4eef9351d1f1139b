"""Convolution layers against their PyTorch twins: parameter names and shapes, state_dict keys, default
initialisation statistics, repr, forward/backward with weights loaded from a torch state_dict (every padding
mode, groups, 'same', ConvTranspose output_size), Unfold/Fold, and the constructor errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import nnzoo
from nnzoo import nn

CONFIGS = [
    ("Conv1d", (4, 6, 3), {}),
    ("Conv1d", (4, 6, 4), dict(stride=2, padding=1, dilation=2, groups=2, bias=False)),
    ("Conv1d", (3, 3, 4), dict(padding="same", padding_mode="reflect")),
    ("Conv1d", (3, 2, 3), dict(padding=2, padding_mode="circular")),
    ("Conv2d", (3, 6, 5), {}),  # the notes' CIFAR Net conv1
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect")),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), padding_mode="replicate", bias=False)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="circular", stride=2)),
    ("Conv2d", (3, 4, (4, 3)), dict(padding="same", dilation=(1, 2), padding_mode="replicate")),
    ("Conv2d", (4, 4, 3), dict(padding="same", groups=4)),
    ("Conv2d", (3, 4, 2), dict(padding="valid")),
    ("ConvTranspose1d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("ConvTranspose1d", (4, 6, 2), dict(groups=2, dilation=3, bias=False)),
    ("ConvTranspose2d", (3, 4, 3), {}),
    ("ConvTranspose2d", (4, 2, (3, 2)), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CONFIGS)]


def _input(name, in_channels, rng, batched=True):
    shape = (2, in_channels) + ((9,) if name.endswith("1d") else (8, 7))
    return rng.standard_normal(shape if batched else shape[1:])


def _pair(name, args, kw, dtype=torch.float64):
    th = getattr(tnn, name)(*args, **kw).to(dtype)
    nz = getattr(nn, name)(*args, **kw).to(nnzoo.float64 if dtype == torch.float64 else nnzoo.float32)
    assert list(nz.state_dict()) == list(th.state_dict())
    nz.load_state_dict({k: v.detach().numpy().copy() for k, v in th.state_dict().items()})
    return nz, th


@pytest.mark.parametrize("name,args,kw", CONFIGS, ids=IDS)
def test_parameters_and_state_dict_match_torch(name, args, kw):
    th = getattr(tnn, name)(*args, **kw)
    nz = getattr(nn, name)(*args, **kw)
    assert [(k, tuple(p.shape)) for k, p in nz.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in th.named_parameters()]
    assert list(nz.state_dict()) == list(th.state_dict())
    assert nz.weight.dtype == nnzoo.float32
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "transposed",
                 "output_padding", "groups", "padding_mode", "_reversed_padding_repeated_twice"):
        assert getattr(nz, attr) == getattr(th, attr), attr
    assert repr(nz) == repr(th)


@pytest.mark.parametrize("name,args,kw", CONFIGS, ids=IDS)
def test_forward_backward_with_torch_weights(name, args, kw):
    nz, th = _pair(name, args, kw)
    rng = np.random.default_rng(len(IDS))
    for batched in (True, False):
        x = _input(name, args[0], rng, batched)
        xn, xt = nnzoo.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yn, yt = nz(xn), th(xt)
        np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        u = rng.standard_normal(tuple(yt.shape))
        (yn * nnzoo.tensor(u)).sum().backward()
        (yt * torch.tensor(u)).sum().backward()
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
        tp = dict(th.named_parameters())
        for k, p in nz.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tp[k].grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=k)
        nz.zero_grad()
        th.zero_grad()


def test_float32_module_matches_torch():
    nz, th = _pair("Conv2d", (3, 8, 3), dict(padding=1), dtype=torch.float32)
    x = np.random.default_rng(0).standard_normal((4, 3, 10, 10)).astype(np.float32)
    y = nz(nnzoo.tensor(x))
    assert y.dtype == nnzoo.float32
    np.testing.assert_allclose(y.detach().numpy(), th(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,args,kw", [
    ("Conv2d", (16, 32, 3), {}),
    ("Conv2d", (8, 8, (3, 5)), dict(groups=4)),
    ("Conv1d", (6, 40, 7), {}),
    ("ConvTranspose2d", (32, 16, 3), {}),  # fan_in = weight.size(1) * k * k = 16 * 9
])
def test_default_init_statistics_match_torch(name, args, kw):
    """weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from the weight's dims 1.. : the bound
    holds, and the empirical mean/std agree with torch's own module (std of U(-b, b) = b/sqrt(3))."""
    nnzoo.manual_seed(0)
    torch.manual_seed(0)
    nz = getattr(nn, name)(*args, **kw)
    th = getattr(tnn, name)(*args, **kw)
    fan_in = th.weight.shape[1] * math.prod(th.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for pn in ("weight", "bias"):
        a, b = getattr(nz, pn).detach().numpy(), getattr(th, pn).detach().numpy()
        assert np.abs(a).max() <= bound + 1e-7 and np.abs(b).max() <= bound + 1e-7
        if a.size >= 1000:  # enough samples for the statistics
            assert abs(a.mean()) < 0.1 * bound
            assert abs(a.std() - b.std()) < 0.05 * bound
            assert abs(a.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_reset_parameters_redraws():
    m = nn.Conv2d(3, 4, 3)
    before = m.weight.detach().numpy().copy()
    m.reset_parameters()
    assert not np.array_equal(before, m.weight.detach().numpy())


def test_conv_transpose_output_size():
    """output_size picks output_padding within [min, min + stride - 1], as PyTorch (batch/channel dims
    may be included in it)."""
    rng = np.random.default_rng(1)
    nz, th = _pair("ConvTranspose2d", (4, 2, 3), dict(stride=3, padding=1))
    x = rng.standard_normal((2, 4, 5, 6))
    for size in ([13, 16], [15, 18], [2, 2, 14, 17]):
        yn, yt = nz(nnzoo.tensor(x), output_size=size), th(torch.tensor(x), output_size=size)
        assert tuple(yn.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    y1 = nz(nnzoo.tensor(x[0]), output_size=[14, 16])  # unbatched
    assert tuple(y1.shape) == (2, 14, 16)
    with pytest.raises(ValueError, match=r"requested an output size of \[16, 16\], but valid sizes range from "
                                         r"\[13, 16\] to \[15, 18\]"):
        nz(nnzoo.tensor(x), output_size=[16, 16])
    with pytest.raises(ValueError):
        th(torch.tensor(x), output_size=[16, 16])
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        nz(nnzoo.tensor(x), output_size=[1, 13, 16])


def test_unfold_fold_modules():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    for nz, th in ((nn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=(2, 1)),
                    tnn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=(2, 1))),):
        assert repr(nz) == repr(th)
        np.testing.assert_allclose(nz(nnzoo.tensor(x)).numpy(), th(torch.tensor(x)).numpy())
    cols = rng.standard_normal((2, 3 * 4, 12))
    nz, th = nn.Fold((4, 5), 2), tnn.Fold((4, 5), 2)
    assert repr(nz) == repr(th)
    np.testing.assert_allclose(nz(nnzoo.tensor(cols)).numpy(), th(torch.tensor(cols)).numpy(), rtol=1e-12)


CTOR_ERRORS = [
    ("Conv2d", (3, 6, 3), dict(groups=2), "in_channels must be divisible by groups"),
    ("Conv2d", (4, 6, 3), dict(groups=4), "out_channels must be divisible by groups"),
    ("Conv2d", (4, 4, 3), dict(groups=0), "groups must be a positive integer"),
    ("Conv2d", (3, 4, 3), dict(padding="full"), "invalid padding string 'full'"),
    ("Conv2d", (3, 4, 3), dict(padding="same", stride=2), "padding='same' is not supported for strided"),
    ("Conv2d", (3, 4, 3), dict(padding_mode="mirror"), "padding_mode must be one of"),
    ("ConvTranspose2d", (3, 4, 3), dict(padding_mode="reflect"), 'only "zeros" padding mode is supported'),
]


@pytest.mark.parametrize("name,args,kw,match", CTOR_ERRORS, ids=[str(i) for i in range(len(CTOR_ERRORS))])
def test_constructor_errors_like_torch(name, args, kw, match):
    with pytest.raises(ValueError, match=match):
        getattr(nn, name)(*args, **kw)
    with pytest.raises(ValueError):
        getattr(tnn, name)(*args, **kw)


def test_forward_error_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"conv2d: input \(2, 4, 8, 8\) has 4 channels but weight "
                                           r"\(6, 3, 5, 5\) expects 3 \(groups=1\)"):
        nn.Conv2d(3, 6, 5)(nnzoo.zeros(2, 4, 8, 8))


def test_conv_net_learns_a_tiny_task():
    """A two-conv net fits a fixed random batch (loss falls by 10x in 60 SGD steps): the layers' gradients
    are usable for training, not just equal to torch's."""
    nnzoo.manual_seed(0)
    rng = np.random.default_rng(0)
    x = nnzoo.tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    y = nnzoo.tensor(rng.integers(0, 3, 16))
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 3 * 3, 3))
    opt = nnzoo.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 10


# a bad argument raises what PyTorch raises (TypeError for a non-int, RuntimeError for a tuple of the wrong length),
# in the function and in the layer; nnzoo's layers raise in the constructor, PyTorch's in the forward
BAD_ARGUMENTS = [
    ("conv2d", dict(stride=(1, 2, 3))), ("conv2d", dict(padding=(1, 2, 3))), ("conv2d", dict(dilation=())),
    ("conv2d", dict(stride=1.5)), ("conv2d", dict(stride=(1.5, 1))), ("conv2d", dict(stride=True)),
    ("conv2d", dict(groups=1.0)), ("conv2d", dict(groups=0)), ("conv1d", dict(stride=(1, 2))),
    ("conv_transpose2d", dict(output_padding=(0, 0, 0))), ("conv_transpose1d", dict(padding=(1, 1))),
]


def _bad_call(lib, fn, kw):
    nd = 1 if fn.endswith("1d") else 2
    cin = 4 if "transpose" in fn else 3
    x, w = lib.zeros((1, cin) + (6,) * nd), lib.zeros((4, 3) + (3,) * nd)
    getattr(lib.nn.functional, fn)(x, w, **kw)


def _bad_layer(lib, fn, kw):
    nd = 1 if fn.endswith("1d") else 2
    name = ("ConvTranspose" if "transpose" in fn else "Conv") + f"{nd}d"
    layer = getattr(lib.nn, name)(3, 4, 3, **kw)
    layer(lib.zeros((1, 3) + (6,) * nd))


@pytest.mark.parametrize("fn,kw", BAD_ARGUMENTS, ids=[f"{f}-{k}" for f, k in BAD_ARGUMENTS])
def test_bad_arguments_raise_what_torch_raises(fn, kw):
    for call in (_bad_call, _bad_layer):
        if call is _bad_layer and "groups" in kw:
            continue  # the layers check groups with a ValueError, in both libraries (see CTOR_ERRORS)
        kinds = []
        for lib in (nnzoo, torch):
            try:
                call(lib, fn, kw)
                kinds.append(None)
            except (TypeError, RuntimeError, ValueError) as e:
                kinds.append(type(e))
        assert kinds[0] is kinds[1] and kinds[0] is not None, (call.__name__, kinds)
