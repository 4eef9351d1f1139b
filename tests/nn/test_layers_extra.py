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
