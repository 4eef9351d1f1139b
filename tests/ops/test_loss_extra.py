"""The losses added for issue 15 (triplet_margin_loss, soft_margin_loss, hinge_embedding_loss,
multilabel_soft_margin_loss, multilabel_margin_loss, poisson_nll_loss, gaussian_nll_loss, multi_margin_loss)
against torch.nn.functional through the op harness, then the nn modules (reprs, weight buffers, values) and
the errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo
import nnzoo.nn.functional as F
from nnzoo import nn

POS = dict(low=0.2, high=3.0)
SIGNS = [[1.0, -1.0, -1.0, 1.0], [-1.0, 1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0]]


def _both(name, *args, **kw):
    """The same call in both libraries: F.<name>(inputs..., *args, **kw)."""
    def call(m, *a):
        return getattr(F if m is nnzoo else TF, name)(*a, *args, **kw)
    return call


def _reductions(name, inputs, no_double=""):
    return [OpCase(f"{name}_{r}", _both(name, reduction=r), inputs, no_double=no_double)
            for r in ("mean", "sum", "none")]


NO_ML_DOUBLE = "torch: derivative for aten::multilabel_margin_loss_backward is not implemented"
NO_MM_DOUBLE = "torch: derivative for aten::multi_margin_loss_backward is not implemented"


ML_TARGET = [[3, 0, -1, 1], [1, 1, 2, -1], [-1, 0, 0, 0]]  # padding by -1, a repeated class, no targets
CASES = [
    *_reductions("triplet_margin_loss", [S(4, 5), S(4, 5), S(4, 5)]),
    OpCase("triplet_margin_loss_p1_swap", _both("triplet_margin_loss", margin=2.0, p=1, swap=True),
           [S(4, 5), S(4, 5), S(4, 5)]),
    OpCase("triplet_margin_loss_swap", _both("triplet_margin_loss", swap=True, eps=1e-3), [S(6, 3), S(6, 3), S(6, 3)]),
    OpCase("triplet_margin_loss_1d", _both("triplet_margin_loss", margin=3.0), [S(5), S(5), S(5)]),
    *_reductions("soft_margin_loss", [S(3, 4), V(SIGNS)]),
    OpCase("soft_margin_loss_float_target", _both("soft_margin_loss"), [S(3, 4), S(3, 4, grad=False)]),
    *_reductions("hinge_embedding_loss", [S(3, 4), V(SIGNS)]),
    OpCase("hinge_embedding_loss_margin", _both("hinge_embedding_loss", margin=0.3), [S(3, 4), V(SIGNS)]),
    *_reductions("multilabel_soft_margin_loss", [S(3, 4), V((np.array(SIGNS) > 0).astype(float))]),
    OpCase("multilabel_soft_margin_loss_weight",
           lambda m, x, t, w: (F if m is nnzoo else TF).multilabel_soft_margin_loss(x, t, weight=w),
           [S(3, 4), S(3, 4, low=0.0, high=1.0), S(4, **POS)]),
    *_reductions("multilabel_margin_loss", [S(3, 4), V(ML_TARGET)], NO_ML_DOUBLE),
    OpCase("multilabel_margin_loss_1d", _both("multilabel_margin_loss", reduction="none"), [S(5), V([4, 1, -1, 0, 0])],
           no_double=NO_ML_DOUBLE),
    *_reductions("poisson_nll_loss", [S(3, 4), S(3, 4, low=0.0, high=4.0)]),
    OpCase("poisson_nll_loss_not_log", _both("poisson_nll_loss", log_input=False), [S(3, 4, **POS), S(3, 4, **POS)]),
    OpCase("poisson_nll_loss_full", _both("poisson_nll_loss", full=True, reduction="none"),
           [S(3, 4), S(3, 4, low=0.1, high=5.0)]),
    OpCase("poisson_nll_loss_full_not_log", _both("poisson_nll_loss", False, True, eps=1e-3),
           [S(3, 4, **POS), S(3, 4, low=0.1, high=5.0)]),
    *_reductions("gaussian_nll_loss", [S(3, 4), S(3, 4), S(3, 4, **POS)]),
    OpCase("gaussian_nll_loss_full", _both("gaussian_nll_loss", full=True), [S(3, 4), S(3, 4), S(3, 4, **POS)]),
    OpCase("gaussian_nll_loss_homoscedastic", _both("gaussian_nll_loss"), [S(3, 4), S(3, 4), S(3, **POS)]),
    OpCase("gaussian_nll_loss_one_dim_1", _both("gaussian_nll_loss", reduction="none"),
           [S(2, 3, 4), S(2, 3, 4), S(2, 1, 4, **POS)]),
    OpCase("gaussian_nll_loss_float_var", lambda m, x, t: (F if m is nnzoo else TF).gaussian_nll_loss(
        x, t, 0.7), [S(3, 4), S(3, 4)]),
    *_reductions("multi_margin_loss", [S(4, 5), V([0, 4, 2, 2])], NO_MM_DOUBLE),
    OpCase("multi_margin_loss_p2_margin", _both("multi_margin_loss", p=2, margin=0.5), [S(4, 5), V([1, 0, 3, 2])],
           no_double=NO_MM_DOUBLE),
    OpCase("multi_margin_loss_weight", lambda m, x, t, w: (F if m is nnzoo else TF).multi_margin_loss(
        x, t, weight=w, reduction="none"), [S(4, 5), V([1, 0, 3, 4]), S(5, **POS, grad=False)],
           no_double=NO_MM_DOUBLE),
    OpCase("multi_margin_loss_1d", _both("multi_margin_loss"), [S(5), V(3)], no_double=NO_MM_DOUBLE),
]


@cases_params(CASES)
def test_loss_matches_torch(case):
    check_op(case)


def test_gaussian_nll_loss_clamps_var_for_values_only():
    """var below eps: the value uses eps, the gradient the unclamped var (torch's in-place no_grad clamp)."""
    x, t, v = np.array([0.5, -1.0]), np.array([0.0, 0.5]), np.array([1e-9, 2.0])
    res = []
    for lib, mod in ((nnzoo, F), (torch, TF)):
        var = lib.tensor(v, requires_grad=True)
        out = mod.gaussian_nll_loss(lib.tensor(x), lib.tensor(t), var, eps=1e-6)
        out.backward()
        res.append((out.item(), var.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


MODULES = [
    ("TripletMarginLoss", (), {}, 3), ("TripletMarginLoss", (2.0, 1.0, 1e-3, True), {"reduction": "sum"}, 3),
    ("SoftMarginLoss", (), {}, 2), ("HingeEmbeddingLoss", (0.5,), {}, 2), ("MultiLabelSoftMarginLoss", (), {}, 2),
    ("MultiLabelMarginLoss", (), {"reduction": "none"}, 2), ("PoissonNLLLoss", (False, True), {"eps": 1e-4}, 2),
    ("GaussianNLLLoss", (), {"full": True}, 3), ("MultiMarginLoss", (2, 0.5), {}, 2),
]


@pytest.mark.parametrize("name,args,kw,n", MODULES, ids=[f"{m[0]}{i}" for i, m in enumerate(MODULES)])
def test_loss_modules_as_torch(name, args, kw, n):
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    public = {k: v for k, v in vars(theirs).items() if not k.startswith("_") and k != "training"}
    assert {k: getattr(ours, k) for k in public} == public
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 2.0, (3, 4))
    if name in ("MultiLabelMarginLoss", "MultiMarginLoss"):
        target = np.array(ML_TARGET) if name == "MultiLabelMarginLoss" else np.array([0, 3, 1])
    elif name in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        target = np.array(SIGNS)
    else:
        target = rng.uniform(0.0, 1.0, (3, 4))
    inputs = [x, target] + ([rng.uniform(0.5, 1.5, (3, 4))] if n == 3 else [])
    got = ours(*[nnzoo.tensor(a) for a in inputs])
    want = theirs(*[torch.tensor(a) for a in inputs])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["MultiMarginLoss", "MultiLabelSoftMarginLoss"])
def test_weighted_loss_modules_keep_weight_as_buffer(name):
    w = np.array([1.0, 2.0, 0.5, 1.5])
    ours, theirs = getattr(nn, name)(weight=nnzoo.tensor(w)), getattr(torch.nn, name)(weight=torch.tensor(w))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


def test_errors_as_torch():
    for lib, mod in ((nnzoo, F), (torch, TF)):
        with pytest.raises(ValueError, match="var has negative"):
            mod.gaussian_nll_loss(lib.ones(3), lib.ones(3), -lib.ones(3))
        with pytest.raises(ValueError, match="var is of incorrect size"):
            mod.gaussian_nll_loss(lib.ones(3, 4), lib.ones(3, 4), lib.ones(2))
        with pytest.raises(ValueError, match="only p == 1 and p == 2"):
            mod.multi_margin_loss(lib.ones(2, 3), lib.tensor([0, 1]), p=3)
        with pytest.raises(RuntimeError):
            mod.triplet_margin_loss(lib.ones(2, 3), lib.ones(3), lib.ones(2, 3))
        with pytest.raises(ValueError, match="margin to be greater than 0"):
            lib.nn.TripletMarginLoss(margin=0.0)
