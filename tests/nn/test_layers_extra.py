"""The layers of issue 15's coverage work against torch.nn: activations, distances, padding, instance norm,
ParameterList/ParameterDict and the extra losses: reprs, state_dict keys, and module parity (outputs, input and
parameter gradients) through tests/helpers.check_module."""
import numpy as np
import pytest
import torch
from helpers import check_module

import nnzoo
from nnzoo import nn


def _repr(obj):
    return repr(obj).replace("nnzoo.", "torch.")


def _pair(name, *args, **kw):
    return getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


ACTIVATIONS = [
    ("PReLU", (), {}), ("PReLU", (3, 0.1), {}), ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (), {}),
    ("CELU", (0.5, True), {}), ("Softmin", (1,), {}), ("Softmin", (), {}), ("Softsign", (), {}),
    ("Hardswish", (), {}), ("Hardsigmoid", (), {}), ("Mish", (), {}), ("Mish", (True,), {}), ("GLU", (), {}),
    ("GLU", (1,), {}), ("Threshold", (0.1, 20.0), {}), ("Threshold", (0.1, 2.0, True), {}),
    ("Hardshrink", (), {}), ("Hardshrink", (0.3,), {}), ("Softshrink", (), {}), ("Softshrink", (0.3,), {}),
    ("Tanhshrink", (), {}), ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("Softmax2d", (), {}),
]


@pytest.mark.parametrize("name,args,kw", ACTIVATIONS, ids=[f"{a[0]}{i}" for i, a in enumerate(ACTIVATIONS)])
def test_activation_modules_repr_as_torch(name, args, kw):
    ours, theirs = _pair(name, *args, **kw)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name,args", [("PReLU", ()), ("PReLU", (3, 0.1)), ("SELU", ()), ("CELU", (0.5,)),
                                       ("Softmin", (1,)), ("Softsign", ()), ("Hardswish", ()), ("Hardsigmoid", ()),
                                       ("Mish", ()), ("GLU", (1,)), ("Threshold", (0.1, 2.0)), ("Hardshrink", ()),
                                       ("Softshrink", ()), ("Tanhshrink", ()), ("RReLU", ()), ("Softmax2d", ())])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_modules_match_torch(name, args, dtype):
    """Eval mode (RReLU's mean slope), (N, C, H, W) input: outputs, input and parameter gradients."""
    if name == "Hardsigmoid" and dtype == np.float64:
        pytest.skip("torch's backward uses the float32 1/6 in float64; see tests/ops/test_activation_extra.py")
    ours, theirs = _pair(name, *args)
    x = np.random.default_rng(0).uniform(-4, 4, (2, 4 if name == "GLU" else 3, 3, 2))
    check_module(theirs, ours, [x], lambda m, a: m(a), dtype)


def test_prelu_parameter_as_torch():
    ours, theirs = _pair("PReLU", 3, 0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    theirs.weight.data.uniform_()
    ours.load_state_dict(theirs.state_dict())
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


def test_rrelu_module_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = -nnzoo.ones(1000)
    slopes = -m(x).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and len(np.unique(slopes)) > 900
    np.testing.assert_allclose(-m.eval()(x).numpy(), 0.2, rtol=1e-7)


def test_softmax2d_rejects_2d():
    with pytest.raises(ValueError, match="3D or 4D"):
        nn.Softmax2d()(nnzoo.randn(2, 3))


# ---- padding ------------------------------------------------------------------------------------------------
PADS = [
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad1d", ((1, -1),), (3, 5)), ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (3, 4, 5)), ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 5)), ("ConstantPad2d", ((1, 0, 2, 1), -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5), (2, 2, 3, 3)), ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad1d", ((3, 1),), (3, 5)), ("ReflectionPad2d", (1,), (2, 3, 4, 5)),
    ("ReflectionPad2d", ((2, 0, 1, 3),), (3, 4, 5)), ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", (2,), (2, 3, 5)), ("ReplicationPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReplicationPad3d", (1,), (2, 3, 3, 3)), ("CircularPad1d", (2,), (2, 3, 5)),
    ("CircularPad2d", ((1, 2, 0, 1),), (2, 3, 4, 5)), ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", PADS, ids=[f"{p[0]}-{i}" for i, p in enumerate(PADS)])
def test_padding_modules_match_torch(name, args, shape):
    ours, theirs = _pair(name, *args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    x = np.random.default_rng(0).standard_normal(shape)
    for dtype in (np.float32, np.float64):
        check_module(theirs, ours, [x], lambda m, a: m(a), dtype)


def test_padding_errors_as_torch():
    for lib in (nnzoo, torch):
        with pytest.raises(ValueError, match="expected 3D or 4D input"):
            lib.nn.CircularPad2d(1)(lib.ones(2, 3))
        with pytest.raises(RuntimeError):
            lib.nn.ReflectionPad1d(3)(lib.ones(1, 2, 3))  # reflection: padding must be below the dim's size


# ---- instance norm ------------------------------------------------------------------------------------------
INSTANCE = [
    ("InstanceNorm1d", (3,), {}, (4, 3, 7)), ("InstanceNorm1d", (3,), {"affine": True}, (4, 3, 7)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 7)), ("InstanceNorm2d", (3,), {}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 5)),
    ("InstanceNorm2d", (3, 1e-3, 0.3, True, False), {"bias": False}, (2, 3, 4, 5)),
    ("InstanceNorm3d", (2,), {"affine": True}, (2, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,kw,shape", INSTANCE, ids=[f"{c[0]}-{i}" for i, c in enumerate(INSTANCE)])
@pytest.mark.parametrize("train", [True, False])
def test_instance_norm_modules_match_torch(name, args, kw, shape, train):
    """Outputs and gradients in train and eval mode; the running statistics as torch's after the call."""
    ours, theirs = _pair(name, *args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if ours.affine:  # a non-trivial affine map and running statistics
        theirs.weight.data.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            theirs.bias.data.uniform_(-1, 1)
    if theirs.track_running_stats:
        theirs.running_mean.data.uniform_(-1, 1)
        theirs.running_var.data.uniform_(0.5, 2)
    x = np.random.default_rng(0).standard_normal(shape) * 2 + 1
    check_module(theirs, ours, [x], lambda m, a: m(a), np.float64, train=train)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_functional_instance_norm_updates_running_stats_as_torch(use_input_stats):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 6))
    rm, rv, w, b = rng.standard_normal(3), rng.uniform(0.5, 2, 3), rng.standard_normal(3), rng.standard_normal(3)
    outs = []
    for lib in (nnzoo, torch):
        stats = [lib.tensor(rm.copy()), lib.tensor(rv.copy())]
        y = lib.nn.functional.instance_norm(lib.tensor(x), *stats, lib.tensor(w), lib.tensor(b),
                                            use_input_stats=use_input_stats, momentum=0.2, eps=1e-4)
        outs.append([y.numpy()] + [s.numpy() for s in stats])
    for got, want in zip(*outs):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_instance_norm_errors_as_torch():
    for lib in (nnzoo, torch):
        with pytest.raises(ValueError, match="more than 1 spatial element"):
            lib.nn.functional.instance_norm(lib.ones(2, 3, 1))
        with pytest.raises(ValueError, match="expected 2D or 3D input"):
            lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5))
        with pytest.raises(ValueError, match="num_features"):
            lib.nn.InstanceNorm1d(3, affine=True)(lib.ones(2, 4, 5))
        with pytest.warns(UserWarning, match="num_features"):
            lib.nn.InstanceNorm1d(3)(lib.ones(2, 4, 5))


# ---- ParameterList / ParameterDict --------------------------------------------------------------------------
def test_parameter_list_as_torch():
    a, b = np.ones((3, 4), np.float32), np.zeros(2, np.float32)
    ours = nn.ParameterList([nn.Parameter(nnzoo.tensor(a)), nnzoo.tensor(b)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(a)), torch.tensor(b)])
    assert _repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours)
    ours.append(nnzoo.ones(5))
    theirs.append(torch.ones(5))
    ours += [nnzoo.ones(1)]
    theirs += [torch.ones(1)]
    assert len(ours) == len(theirs) == 4
    assert [tuple(p.shape) for p in ours[1:3]] == [tuple(p.shape) for p in theirs[1:3]]
    assert tuple(ours[-1].shape) == (1,)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours[0] = nnzoo.zeros(2, 2)
    assert tuple(ours.state_dict()["0"].shape) == (2, 2)
    with pytest.raises(IndexError):
        ours[4]
    with pytest.raises(RuntimeError, match="should not be called"):
        ours(1)


def test_parameter_dict_as_torch():
    values = {"b": np.ones((3, 4), np.float32), "a": np.zeros(2, np.float32)}
    ours = nn.ParameterDict({k: nnzoo.tensor(v) for k, v in values.items()})
    theirs = torch.nn.ParameterDict({k: torch.tensor(v) for k, v in values.items()})
    assert _repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours) == list(theirs) and list(ours.keys()) == list(theirs.keys())
    ours["c"] = nn.Parameter(nnzoo.ones(1))
    theirs["c"] = torch.nn.Parameter(torch.ones(1))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "c" in ours and ours.get("x") is None and len(ours) == 3
    assert tuple(ours.pop("b").shape) == (3, 4) and list(ours) == ["a", "c"]
    ours.update([("z", nnzoo.ones(2))])
    assert list(ours) == ["a", "c", "z"]
    with pytest.raises(TypeError, match="not a string"):
        ours[1] = nnzoo.ones(1)
    # state dicts move between the two libraries
    theirs["c"].data.fill_(3.0)
    ours2 = nn.ParameterDict({k: nnzoo.zeros(*v.shape) for k, v in theirs.items()})
    ours2.load_state_dict(theirs.state_dict())
    np.testing.assert_array_equal(ours2["c"].detach().numpy(), [3.0])


def test_parameter_containers_in_a_model():
    """Parameters in the containers are the model's: an optimizer step moves them."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(nnzoo.ones(3)) for _ in range(2)])
            self.bs = nn.ParameterDict({"b": nn.Parameter(nnzoo.zeros(3))})

        def forward(self, x):
            return (x * self.ws[0] * self.ws[1] + self.bs["b"]).sum()

    m = Model()
    assert list(m.state_dict()) == ["ws.0", "ws.1", "bs.b"]
    opt = nnzoo.optim.SGD(m.parameters(), lr=0.1)
    m(nnzoo.ones(3)).backward()
    opt.step()
    np.testing.assert_allclose(m.bs["b"].detach().numpy(), -0.1)
