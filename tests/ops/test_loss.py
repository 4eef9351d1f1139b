"""The functional losses against torch.nn.functional through the table-driven harness: every loss x every
reduction x its options, forward, backward, float64 finite differences and double backward; then the fused
cross-entropy against the composed form, and the error messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo
from nnzoo.ops import loss as L

REDUCTIONS = ("none", "mean", "sum")
PROB = dict(low=0.05, high=0.95)  # probabilities away from 0 and 1
POS = dict(low=0.5, high=2.0)  # positive weights
rng = np.random.default_rng(1234)
# the fused Huber / smooth L1 and BCE-with-logits backwards are Tensor ops whose second derivatives agree with
# torch's to the last bits; held to that (the harness's default is atol 1e-12, rtol 1e-10)
EXACT2 = dict(double_tol=dict(atol=1e-14, rtol=1e-12))


def loss_case(label, name, inputs, kw=None, tensor_kw=(), **opts):
    """An OpCase calling ``F.<name>`` in both libraries; the last ``len(tensor_kw)`` inputs are passed
    as those keyword tensors (weight=, pos_weight=), ``kw`` as the other keywords."""
    kw = kw or {}
    k = len(tensor_kw)

    def make(module):
        def fn(m, *ts):
            pos, named = ts[:len(ts) - k], dict(zip(tensor_kw, ts[len(ts) - k:]))
            return getattr(module, name)(*pos, **named, **kw)
        return fn

    return OpCase(label, make(L), inputs, torch_fn=make(TF), **opts)


def W(*shape):
    """A positive weight tensor that does not require grad."""
    return S(*shape, grad=False, **POS)


def targets(c, shape, ignore=None):
    t = rng.integers(0, c, size=shape)
    if ignore is not None:
        t.flat[::3] = ignore
    return V(t)


CASES = []
for r in REDUCTIONS:
    R = dict(reduction=r)
    CASES += [
        loss_case(f"mse_{r}", "mse_loss", [S(3, 4), S(3, 4)], R),
        loss_case(f"mse_weight_{r}", "mse_loss", [S(3, 4), S(3, 4), W(3, 4)], R, ("weight",)),
        loss_case(f"l1_{r}", "l1_loss", [S(3, 4), S(3, 4)], R),
        loss_case(f"l1_weight_{r}", "l1_loss", [S(3, 4), S(3, 4), W(3, 4)], R, ("weight",)),
        loss_case(f"smooth_l1_{r}", "smooth_l1_loss", [S(4, 5), S(4, 5)], R, **EXACT2),
        loss_case(f"smooth_l1_beta_{r}", "smooth_l1_loss", [S(4, 5), S(4, 5)], dict(R, beta=0.5), **EXACT2),
        loss_case(f"smooth_l1_beta0_{r}", "smooth_l1_loss", [S(4, 5), S(4, 5)], dict(R, beta=0.0), **EXACT2),
        loss_case(f"huber_{r}", "huber_loss", [S(4, 5), S(4, 5)], R, **EXACT2),
        loss_case(f"huber_delta_{r}", "huber_loss", [S(4, 5), S(4, 5)], dict(R, delta=0.7), **EXACT2),
        loss_case(f"huber_weight_{r}", "huber_loss", [S(4, 5), S(4, 5), W(4, 5)], R, ("weight",), **EXACT2),
        loss_case(f"bce_{r}", "binary_cross_entropy", [S(3, 4, **PROB), S(3, 4, low=0, high=1)], R),
        # NOTE: bce's second derivative divides by x^2 (1 - x)^2: the weighted sums round to 3e-10 relative
        loss_case(f"bce_weight_{r}", "binary_cross_entropy",
                  [S(3, 4, **PROB), S(3, 4, low=0, high=1), W(4)], R, ("weight",),
                  double_tol=dict(atol=1e-12, rtol=1e-9)),
        loss_case(f"bce_logits_{r}", "binary_cross_entropy_with_logits", [S(3, 4), S(3, 4, low=0, high=1)], R),
        loss_case(f"bce_logits_weight_pos_weight_{r}", "binary_cross_entropy_with_logits",
                  [S(3, 4), S(3, 4, low=0, high=1), W(3, 1), W(4)], R, ("weight", "pos_weight"), **EXACT2),
        loss_case(f"bce_logits_pos_weight_{r}", "binary_cross_entropy_with_logits",
                  [S(2, 3, 4), S(2, 3, 4, low=0, high=1), W(4)], R, ("pos_weight",), **EXACT2),
        # large logits: no overflow, no log(0)
        loss_case(f"bce_logits_extreme_{r}", "binary_cross_entropy_with_logits",
                  [V(np.array([[-200.0, 50.0, 0.3], [30.0, -1.0, -40.0]]), grad=True),
                   V(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]]))], R),
        # logits exactly 0: the gradient there is sigmoid(0) - t (issue 13: it was 1 - t)
        loss_case(f"bce_logits_zero_{r}", "binary_cross_entropy_with_logits",
                  [V(np.array([[0.0, 0.0, 0.0], [0.0, -0.0, 1.5]]), grad=True),
                   V(np.array([[0.5, 0.0, 1.0], [0.25, 1.0, 0.0]]))], R),
        loss_case(f"bce_logits_zero_weight_pos_weight_{r}", "binary_cross_entropy_with_logits",
                  [V(np.array([[0.0, 0.0, 0.0], [0.0, -0.0, 1.5]]), grad=True),
                   V(np.array([[0.5, 0.0, 1.0], [0.25, 1.0, 0.0]])), W(2, 1), W(3)], R,
                  ("weight", "pos_weight")),
        # cross-entropy, class indices: (N, C) (fused), (C,), (N, C, d1, d2) (composed)
        loss_case(f"ce_{r}", "cross_entropy", [S(5, 4), targets(4, 5)], R),
        loss_case(f"ce_weight_{r}", "cross_entropy", [S(5, 4), targets(4, 5), W(4)], R, ("weight",)),
        loss_case(f"ce_ignore_{r}", "cross_entropy", [S(6, 4), targets(4, 6, ignore=-100)], R),
        loss_case(f"ce_weight_ignore_{r}", "cross_entropy", [S(6, 4), targets(4, 6, ignore=2), W(4)],
                  dict(R, ignore_index=2), ("weight",)),
        loss_case(f"ce_smoothing_{r}", "cross_entropy", [S(5, 4), targets(4, 5)], dict(R, label_smoothing=0.1)),
        loss_case(f"ce_smoothing_weight_ignore_{r}", "cross_entropy",
                  [S(6, 4), targets(4, 6, ignore=-100), W(4)], dict(R, label_smoothing=0.25), ("weight",)),
        loss_case(f"ce_vector_{r}", "cross_entropy", [S(4), V(np.int64(2))], R),
        loss_case(f"ce_vector_weight_smoothing_{r}", "cross_entropy", [S(4), V(np.int64(1)), W(4)],
                  dict(R, label_smoothing=0.2), ("weight",)),
        loss_case(f"ce_kdim_{r}", "cross_entropy", [S(2, 4, 3, 2), targets(4, (2, 3, 2))], R),
        loss_case(f"ce_kdim_weight_ignore_smoothing_{r}", "cross_entropy",
                  [S(2, 4, 3), targets(4, (2, 3), ignore=-100), W(4)], dict(R, label_smoothing=0.1),
                  ("weight",)),
        # cross-entropy, class probabilities (the target gets a gradient too)
        loss_case(f"ce_probs_{r}", "cross_entropy", [S(5, 4), S(5, 4, low=0, high=1)], R),
        loss_case(f"ce_probs_weight_smoothing_{r}", "cross_entropy",
                  [S(5, 4), S(5, 4, low=0, high=1), W(4)], dict(R, label_smoothing=0.3), ("weight",)),
        loss_case(f"ce_probs_vector_{r}", "cross_entropy", [S(4), S(4, low=0, high=1)], R),
        loss_case(f"ce_probs_kdim_{r}", "cross_entropy", [S(2, 3, 4), S(2, 3, 4, low=0, high=1), W(3)], R,
                  ("weight",)),
        # nll_loss on log-probabilities
        loss_case(f"nll_{r}", "nll_loss", [S(5, 4), targets(4, 5)], R),
        loss_case(f"nll_weight_ignore_{r}", "nll_loss", [S(6, 4), targets(4, 6, ignore=-100), W(4)], R,
                  ("weight",)),
        loss_case(f"nll_ignore_index_{r}", "nll_loss", [S(6, 3), targets(3, 6, ignore=0)],
                  dict(R, ignore_index=0)),
        loss_case(f"nll_vector_{r}", "nll_loss", [S(4), V(np.int64(3))], R),
        loss_case(f"nll_kdim_{r}", "nll_loss", [S(2, 3, 2, 2), targets(3, (2, 2, 2), ignore=-100), W(3)], R,
                  ("weight",)),
        # kl_div
        loss_case(f"kl_div_{r}", "kl_div", [S(3, 4), S(3, 4, low=0.1, high=1)], R),
        loss_case(f"kl_div_log_target_{r}", "kl_div", [S(3, 4), S(3, 4)], dict(R, log_target=True)),
        loss_case(f"kl_div_zero_target_{r}", "kl_div",
                  [S(2, 3), V(np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]]))], R),
        # embeddings and rankings
        loss_case(f"cosine_embedding_{r}", "cosine_embedding_loss", [S(4, 5), S(4, 5), V([1, -1, 1, -1])], R),
        loss_case(f"cosine_embedding_margin_{r}", "cosine_embedding_loss",
                  [S(6, 3), S(6, 3), V([-1, -1, 1, -1, -1, -1])], dict(R, margin=-0.2)),
        loss_case(f"cosine_embedding_vector_{r}", "cosine_embedding_loss", [S(5), S(5), V(np.int64(-1))],
                  dict(R, margin=-0.5)),
        loss_case(f"margin_ranking_{r}", "margin_ranking_loss",
                  [S(6), S(6), V(np.array([1.0, -1, 1, 1, -1, -1]))], R),
        loss_case(f"margin_ranking_margin_{r}", "margin_ranking_loss",
                  [S(3, 2), S(3, 2), V(np.array([[1.0, -1], [1, 1], [-1, -1]]))], dict(R, margin=0.5)),
    ]

CASES += [
    # a target broadcast against the input (with torch's warning), its gradient summed down
    *(loss_case(f"{name}_broadcast_target_{r}_{k}", name, [S(3, 4, low=-3.0, high=3.0), S(4)], dict(kw, reduction=r),
                **EXACT2)
      for r in REDUCTIONS
      for k, (name, kw) in enumerate([("huber_loss", {}), ("huber_loss", dict(delta=0.7)), ("smooth_l1_loss", {}),
                                      ("smooth_l1_loss", dict(beta=0.5))])),
    loss_case("kl_div_batchmean", "kl_div", [S(3, 4), S(3, 4, low=0.1, high=1)], dict(reduction="batchmean")),
    loss_case("kl_div_batchmean_log_target", "kl_div", [S(2, 3, 4), S(2, 3, 4)],
              dict(reduction="batchmean", log_target=True)),
]


@pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning")  # kl_div's 'mean', in both
@pytest.mark.filterwarnings("ignore:.*target size.*:UserWarning")  # the broadcast targets, in both
@cases_params(CASES)
def test_loss(case):
    check_op(case)


def test_bce_clamps_log_at_minus_100():
    check_op(loss_case("bce_saturated", "binary_cross_entropy",
                       [V(np.array([0.0, 1.0, 0.5, 1e-60, 1.0])), V(np.array([1.0, 0.0, 1.0, 1.0, 1.0]))],
                       dict(reduction="none"), grad=False, dtypes=(np.float64,)))


# probabilities at and within 1e-12 of 0 and 1, against every kind of target
BCE_EDGE_X = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-13, 1 - 1e-13, 1e-60, 1e-6, 0.5, 0.999])
BCE_EDGE_T = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7, 1.0, 0.0, 1.0, 0.0, 0.2, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_gradient_at_saturated_probabilities_matches_torch(dtype, reduction, weighted):
    """Where a log is clamped (x = 0 or 1) the gradient is torch's (x - t) / max(x (1 - x), 1e-12),
    e.g. -1e12 at x = 0, t = 1 (it was 0); the target's gradient is torch's -logit(x), unclamped."""
    x, t = BCE_EDGE_X.astype(dtype), BCE_EDGE_T.astype(dtype)
    tw = {"weight": np.linspace(0.5, 2.0, x.size).astype(dtype)} if weighted else None
    tol = dict(rtol=1e-5, atol=0) if dtype == np.float32 else dict(rtol=1e-12, atol=0)
    _assert_same(*_both("binary_cross_entropy", [x, t], dict(reduction=reduction), tw, grad=(0, 1)), **tol)


# ---- the fused cross-entropy against the composed form ----------------------------------------------
def _composed_ce(x, t, weight=None, ignore_index=-100, reduction="mean"):
    return L._nll_composed("cross_entropy", x.log_softmax(1), t, weight, ignore_index, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_fused_cross_entropy_matches_composed(reduction, weighted, ignore):
    g = np.random.default_rng(7)
    x_np = g.standard_normal((8, 5))
    t_np = g.integers(0, 5, 8)
    if ignore:
        t_np[::3] = -100
    w = nnzoo.from_numpy(g.uniform(0.5, 2, 5)) if weighted else None
    t = nnzoo.from_numpy(t_np)
    outs, grads, hess = [], [], []
    for fn in (L.cross_entropy, _composed_ce):
        x = nnzoo.from_numpy(x_np.copy()).requires_grad_()
        out = fn(x, t, weight=w, reduction=reduction)
        u = nnzoo.from_numpy(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)).requires_grad_()
        gx, = nnzoo.autograd.grad((out * u).sum(), [x], create_graph=True)
        # second derivatives through the backward, with respect to x and to the incoming gradient u
        hx, hu = nnzoo.autograd.grad((gx * gx).sum(), [x, u])
        outs.append(out.detach().numpy())
        grads.append(gx.detach().numpy())
        hess.append(np.concatenate([hx.numpy().ravel(), hu.numpy().ravel()]))
    assert "CrossEntropyIndices" in type(L.cross_entropy(
        nnzoo.from_numpy(x_np).requires_grad_(), t, weight=w, reduction=reduction).grad_fn).__name__
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hess[0], hess[1], rtol=1e-10, atol=1e-12)


def _both(name, arrays, kw=None, tensor_kw=None, grad=(0,)):
    """``F.<name>`` on the same arrays in both libraries: [(out, [grads of the inputs in ``grad``])]
    for nnzoo and torch, after backward of out.sum(); ``tensor_kw`` arrays become keyword tensors."""
    res = []
    for lib, F in ((nnzoo, L), (torch, TF)):
        ins = [lib.from_numpy(np.array(a)) for a in arrays]
        for i in grad:
            ins[i].requires_grad_()
        named = {k: lib.from_numpy(np.array(v)) for k, v in (tensor_kw or {}).items()}
        with np.errstate(all="ignore"):
            out = getattr(F, name)(*ins, **named, **(kw or {}))
            out.sum().backward()
        res.append((out.detach().numpy(), [ins[i].grad.numpy() for i in grad]))
    return res


def _assert_same(ours, theirs, **tol):
    tol = tol or dict(rtol=1e-12, atol=1e-12)
    (out_n, grads_n), (out_t, grads_t) = ours, theirs
    assert out_n.shape == out_t.shape
    np.testing.assert_allclose(out_n, out_t, equal_nan=True, err_msg="loss", **tol)
    for gn, gt in zip(grads_n, grads_t):
        assert gn.shape == gt.shape
        np.testing.assert_allclose(gn, gt, equal_nan=True, err_msg="gradient", **tol)


ALL_IGNORED = {  # name, input, target, keywords, class weights
    "cross_entropy": ("cross_entropy", (3, 4), (3,), {}, None),
    "cross_entropy_weight": ("cross_entropy", (3, 4), (3,), {}, True),
    "cross_entropy_smoothing": ("cross_entropy", (3, 4), (3,), dict(label_smoothing=0.1), None),
    "cross_entropy_weight_smoothing": ("cross_entropy", (3, 4), (3,), dict(label_smoothing=0.1), True),
    "cross_entropy_kdim": ("cross_entropy", (3, 4, 2), (3, 2), {}, None),
    "cross_entropy_vector": ("cross_entropy", (4,), (), {}, None),
    "nll_loss": ("nll_loss", (3, 4), (3,), {}, None),
    "nll_loss_weight_kdim": ("nll_loss", (3, 4, 2), (3, 2), {}, True),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(ALL_IGNORED))
def test_all_targets_ignored_matches_torch(case, reduction):
    """Every target ignored: 'mean' is nan (0 / 0) as in torch, but the gradients are 0, not nan."""
    name, xs, ts, kw, weighted = ALL_IGNORED[case]
    g = np.random.default_rng(0)
    tw = {"weight": g.uniform(0.5, 2, 4)} if weighted else None
    for ignore_index in (-100, 2):
        t = np.full(ts, ignore_index, dtype=np.int64)
        _assert_same(*_both(name, [g.standard_normal(xs), t], dict(kw, reduction=reduction,
                                                                   ignore_index=ignore_index), tw))


def test_all_ignored_batch_leaves_the_weights_unchanged():
    """The issue's repro: one SGD step on an all-ignored batch must not turn the weights into nan."""
    nnzoo.manual_seed(0)
    model = nnzoo.nn.Linear(3, 4)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt = nnzoo.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with np.errstate(invalid="ignore"):
        loss = L.cross_entropy(model(nnzoo.randn(5, 3)), nnzoo.full((5,), -100, dtype=nnzoo.int64))
    loss.backward()
    assert np.isnan(loss.item())
    opt.step()
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), b)


NON_FINITE_ROWS = [[-np.inf, 0.0], [np.inf, 0.0], [np.nan, 0.0], [np.inf, -np.inf]]
IGNORED_ROW_CASES = {  # name, keywords, class weights, (N, C) -> (N, C, 1)
    "cross_entropy": ("cross_entropy", {}, None, False),
    "cross_entropy_weight": ("cross_entropy", {}, [1.0, 2.0], False),
    "cross_entropy_smoothing": ("cross_entropy", dict(label_smoothing=0.1), None, False),
    "cross_entropy_weight_smoothing": ("cross_entropy", dict(label_smoothing=0.2), [1.0, 2.0], False),
    "cross_entropy_kdim": ("cross_entropy", {}, None, True),
    "cross_entropy_kdim_weight_smoothing": ("cross_entropy", dict(label_smoothing=0.2), [0.5, 2.0], True),
    "nll_loss": ("nll_loss", {}, None, False),
    "nll_loss_weight": ("nll_loss", {}, [1.0, 2.0], False),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("row", NON_FINITE_ROWS, ids=str)
@pytest.mark.parametrize("case", sorted(IGNORED_ROW_CASES))
def test_ignored_row_with_non_finite_logits_matches_torch(case, row, reduction):
    """An ignored position adds nothing to the loss, whatever its logits (no 0 * inf = nan); its
    gradient is torch's (0 for -inf; torch's log_softmax backward gives nan for a +inf or nan row)."""
    name, kw, weight, kdim = IGNORED_ROW_CASES[case]
    x = np.array([[0.0, 1.0], [0.5, -0.5], row])
    t = np.array([1, 0, 0])
    if kdim:
        x, t = x[:, :, None], t[:, None]
    tw = {"weight": np.array(weight)} if weight else None
    _assert_same(*_both(name, [x, t], dict(kw, reduction=reduction, ignore_index=0), tw))


def test_ignored_row_with_minus_inf_the_issue_repro():
    x = nnzoo.tensor([[0.0, 1.0], [-np.inf, 0.0]], requires_grad=True)
    loss = L.cross_entropy(x, nnzoo.tensor([1, 0]), ignore_index=0)
    loss.backward()
    xt = torch.tensor([[0.0, 1.0], [-np.inf, 0.0]], requires_grad=True)
    want = TF.cross_entropy(xt, torch.tensor([1, 0]), ignore_index=0)
    want.backward()
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)


EMPTY = [  # name, input shapes (or int64 targets), which inputs require grad
    ("cross_entropy", [(0, 3), "i(0,)"], (0,), {}),
    ("cross_entropy", [(0, 3), "i(0,)"], (0,), dict(label_smoothing=0.1)),
    ("cross_entropy", [(0, 3), "i(0,)"], (0,), dict(weight="w3")),
    ("cross_entropy", [(0, 3), (0, 3)], (0,), {}),
    ("cross_entropy", [(0, 3, 2), "i(0, 2)"], (0,), {}),
    ("cross_entropy", [(2, 3, 0), "i(2, 0)"], (0,), {}),
    ("nll_loss", [(0, 3), "i(0,)"], (0,), {}),
    ("nll_loss", [(0, 3), "i(0,)"], (0,), dict(weight="w3")),
    ("nll_loss", [(0, 3, 2), "i(0, 2)"], (0,), {}),
    ("mse_loss", [(0,), (0,)], (0,), {}),
    ("l1_loss", [(0, 2), (0, 2)], (0,), {}),
    ("smooth_l1_loss", [(0,), (0,)], (0,), {}),
    ("huber_loss", [(0,), (0,)], (0,), {}),
    ("binary_cross_entropy", [(0,), (0,)], (0,), {}),
    ("binary_cross_entropy_with_logits", [(0, 2), (0, 2)], (0,), dict(pos_weight="w2")),
    ("kl_div", [(0,), (0,)], (0,), {}),
    ("cosine_embedding_loss", [(0, 3), (0, 3), (0,)], (0, 1), {}),
    ("margin_ranking_loss", [(0,), (0,), (0,)], (0, 1), {}),
]


@pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning")  # kl_div's 'mean', in both
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,shapes,grad,kw", EMPTY, ids=[f"{e[0]}-{i}" for i, e in enumerate(EMPTY)])
def test_empty_batch_matches_torch(name, shapes, grad, kw, reduction):
    """An empty batch: 'mean' is nan, 'sum' is 0, 'none' is empty, the gradients are empty (as torch)."""
    arrays = [np.zeros(eval(s[1:]), np.int64) if isinstance(s, str) else np.zeros(s) for s in shapes]
    tw = {k: np.linspace(0.5, 1.5, int(v[1])) for k, v in kw.items() if isinstance(v, str)}
    kw = {k: v for k, v in kw.items() if k not in tw}
    _assert_same(*_both(name, arrays, dict(kw, reduction=reduction), tw, grad))


def test_cross_entropy_large_logits_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]], dtype=np.float32)
    t = np.array([2, 0])
    ours = L.cross_entropy(nnzoo.from_numpy(x), nnzoo.from_numpy(t), reduction="none").numpy()
    theirs = TF.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), reduction="none").numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert np.isfinite(ours).all()


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="kl_div: reduction='mean'"):
        L.kl_div(X, X + 0.5)


def test_legacy_size_average_reduce():
    a, b = np.random.default_rng(0).standard_normal((2, 3, 4))
    for size_average, reduce in [(False, None), (None, False), (True, True)]:
        with pytest.warns(UserWarning):
            ours = L.mse_loss(nnzoo.from_numpy(a), nnzoo.from_numpy(b), size_average, reduce).numpy()
        with pytest.warns(UserWarning):
            theirs = TF.mse_loss(torch.from_numpy(a), torch.from_numpy(b), size_average, reduce).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# ---- errors name the loss and the shapes ------------------------------------------------------------
def _t(x):
    return nnzoo.tensor(x)


X = nnzoo.zeros(4, 3)


@pytest.mark.parametrize("fn, exc, match", [
    (lambda: L.mse_loss(X, X, reduction="avg"), ValueError, r"mse_loss: 'avg' is not a valid value"),
    (lambda: L.kl_div(X, X, reduction="batch"), ValueError, r"kl_div: 'batch' is not a valid value"),
    (lambda: L.cross_entropy(X, _t([0, 1, 2]), reduction="avg"), ValueError, r"cross_entropy: 'avg'"),
    (lambda: L.cross_entropy(X, _t([0, 1, 2])), ValueError,
     r"cross_entropy: expected input batch_size \(4\) to match target batch_size \(3\)"),
    (lambda: L.cross_entropy(X, _t([0, 1, 2, 3])), IndexError,
     r"cross_entropy: target 3 is out of bounds: class indices must be in \[0, 3\)"),
    (lambda: L.cross_entropy(X, _t([0, -1, 2, 1])), IndexError, r"cross_entropy: target -1 is out of bounds"),
    (lambda: L.cross_entropy(nnzoo.zeros(2, 3, 4), nnzoo.zeros(2, 3, dtype=nnzoo.int64)), RuntimeError,
     r"cross_entropy: expected target of shape \(2, 4\) for input of shape \(2, 3, 4\), got \(2, 3\)"),
    (lambda: L.cross_entropy(X, nnzoo.zeros(4)), RuntimeError, r"cross_entropy: expected target dtype"),
    (lambda: L.cross_entropy(X, _t([0, 1, 2, 1]), weight=nnzoo.ones(4)), RuntimeError,
     r"cross_entropy: weight tensor should be defined either for all 3 classes .* shape: \(4,\)"),
    (lambda: L.cross_entropy(X, _t([0, 1, 2, 1]), label_smoothing=1.5), RuntimeError,
     r"label_smoothing must be between 0.0 and 1.0"),
    (lambda: L.cross_entropy(nnzoo.tensor(1.0), _t(0)), RuntimeError, r"cross_entropy: input must have"),
    (lambda: L.nll_loss(nnzoo.zeros(2, 3, 4, 5), nnzoo.zeros(2, 4, 4, dtype=nnzoo.int64)), RuntimeError,
     r"nll_loss: expected target of shape \(2, 4, 5\)"),
    (lambda: L.nll_loss(X, _t([0, 1, 5, 1])), IndexError, r"nll_loss: target 5 is out of bounds"),
    (lambda: L.binary_cross_entropy(X, nnzoo.zeros(3)), ValueError,
     r"binary_cross_entropy: target size \(3,\) must be the same as input size \(4, 3\)"),
    (lambda: L.binary_cross_entropy(X + 2, X), RuntimeError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: L.binary_cross_entropy_with_logits(X, nnzoo.zeros(3)), ValueError,
     r"binary_cross_entropy_with_logits: target size \(3,\) must be the same as input size \(4, 3\)"),
    (lambda: L.mse_loss(X, X, weight=nnzoo.ones(3)), ValueError, r"mse_loss: weight of shape \(3,\)"),
    (lambda: L.margin_ranking_loss(X, X, nnzoo.zeros(3)), RuntimeError,
     r"margin_ranking_loss: .* input1 \(4, 3\), input2 \(4, 3\), target \(3,\)"),
    (lambda: L.cosine_embedding_loss(X, nnzoo.zeros(3, 3), nnzoo.zeros(4)), RuntimeError,
     r"cosine_embedding_loss: .* input1 \(4, 3\), input2 \(3, 3\), target \(4,\)"),
    (lambda: L.smooth_l1_loss(X, X, beta=-1.0), RuntimeError, r"smooth_l1_loss: beta must be non-negative"),
])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("name, make", [
    ("cross_entropy", lambda m: (m.zeros(4, 3), m.tensor([0, 1, 2]))),
    ("cross_entropy", lambda m: (m.zeros(4, 3), m.tensor([0, 1, 2, 3]))),
    ("binary_cross_entropy", lambda m: (m.zeros(4, 3), m.zeros(3))),
    ("mse_loss", lambda m: (m.zeros(2), m.zeros(2))),
])
def test_error_types_match_torch(name, make):
    """Where torch raises, we raise the same exception type (and where it does not, neither do we)."""
    def outcome(fn, args):
        try:
            fn(*args)
        except Exception as e:
            return type(e)
        return None
    assert outcome(getattr(L, name), make(nnzoo)) is outcome(getattr(TF, name), make(torch))


def test_pointwise_target_broadcast_warns():
    with pytest.warns(UserWarning, match=r"mse_loss: using a target size \(3,\) that is different"):
        L.mse_loss(X, nnzoo.zeros(3))


# ---- special values the differential fuzzer found (tests/fuzz, issue 13) -----------------------------
INF, NAN = np.inf, np.nan
TOL = {np.float32: dict(rtol=1e-6, atol=0), np.float64: dict(rtol=1e-14, atol=0)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("huber_loss", {}), ("huber_loss", dict(delta=0.5)),
                                     ("huber_loss", dict(delta=2.0)), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", dict(beta=0.5)), ("smooth_l1_loss", dict(beta=0.0))])
def test_huber_smooth_l1_gradient_at_infinite_difference_matches_torch(name, kw, reduction, dtype):
    """input - target = +-inf: the gradient is torch's +-delta (huber) / +-1 (smooth_l1), not nan (it was
    inf * 0 from the quadratic branch the select drops); inf - inf and nan stay nan, as torch."""
    x = np.array([-INF, INF, 1.0, INF, NAN, 2.0, 0.3, -0.2, 5.0], dtype)
    t = np.array([1.0, 0.0, INF, INF, 0.0, -INF, 0.1, 0.0, NAN], dtype)
    _assert_same(*_both(name, [x, t], dict(kw, reduction=reduction), grad=(0, 1)), **TOL[dtype])


@pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning")  # kl_div's 'mean', in both
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_target_gradient_at_special_targets_matches_torch(log_target, reduction, dtype):
    """Targets of 0 (and -0, negative, nan, inf): torch's xlogy(t, t) gives a target gradient of
    log t + t / t, nan at t = 0 (it was 1 - input), and nan values for negative targets (they were 0);
    with ``log_target`` a target of -inf or +inf gives torch's nan."""
    x = np.array([[-1.0, -2.0, 0.5, -0.3], [-1.2, 0.0, -4.0, 1.5]], dtype)
    if log_target:
        t = np.array([[0.0, -1.0, -INF, INF], [NAN, -0.0, -2.0, -0.5]], dtype)
    else:
        t = np.array([[0.0, 0.3, -0.0, 1.0], [0.5, 0.0, -0.5, NAN]], dtype)
    _assert_same(*_both("kl_div", [x, t], dict(reduction=reduction, log_target=log_target), grad=(0, 1)),
                 **TOL[dtype])


@pytest.mark.filterwarnings("ignore:.*reduction.*'mean'.*:UserWarning")  # kl_div's 'mean', in both
@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("t", [0.0, 0.4])
def test_kl_div_zero_dim_target_matches_torch(t, reduction):
    _assert_same(*_both("kl_div", [np.array(-0.7), np.array(t)], dict(reduction=reduction), grad=(0, 1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("layout", ["vector", "batched", "spatial", "ignored"])
def test_cross_entropy_smoothing_with_zero_total_weight_matches_torch(layout, smoothing, reduction, dtype):
    """Label smoothing where the targets' classes all weigh 0: 'mean' is torch's nan (its nll part is
    0 / 0), not inf (the smoothing sum / 0); the gradients are torch's."""
    g = np.random.default_rng(3)
    w = np.array([1.0, 0.0, 2.0, 0.0], dtype)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if layout == "vector":
        x, t = g.standard_normal(4), np.array(1)
    elif layout == "spatial":
        x, t = g.standard_normal((2, 4, 3)), np.array([[1, 3, 1], [3, 3, 1]])
    else:
        x, t = g.standard_normal((3, 4)), np.array([1, 3, 1])
        if layout == "ignored":
            t[0], kw["ignore_index"] = 0, 0
    _assert_same(*_both("cross_entropy", [x.astype(dtype), t], kw, dict(weight=w)), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, 0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_gradients_at_infinite_logits_match_torch(weighted, pos_weight, reduction, dtype):
    """Logits of +-inf (and nan): the target's gradient is torch's log sigmoid(-x) - p log sigmoid(x), e.g.
    inf at x = -inf for any p > 0 (it was nan for p = 1 and p < 1: inf - inf)."""
    x = np.array([-INF, INF, -INF, INF, -INF, NAN, 0.0, -3.0, 2.0, -0.0], dtype)
    t = np.array([0.7, 0.7, 0.0, 1.0, 1.0, 0.5, 0.3, 1.0, 0.0, 0.5], dtype)
    tw = {}
    if pos_weight is not None:
        tw["pos_weight"] = np.full(x.shape, pos_weight, dtype)
    if weighted:
        tw["weight"] = np.linspace(0.5, 2.0, x.size).astype(dtype)
    _assert_same(*_both("binary_cross_entropy_with_logits", [x, t], dict(reduction=reduction), tw, grad=(0, 1)),
                 **TOL[dtype])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, -0.5])
def test_cosine_embedding_loss_float64_epsilon_matches_torch(margin, reduction):
    """torch adds the C float 1e-12f (9.99999996e-13) to the squared norms in float64 too: with a zero or
    tiny vector the results differed by ~2e-9 relative (1e-12 in float64)."""
    a = np.array([[0.0, 0.0], [1e-7, 0.0], [0.3, -0.2], [1e-6, 2e-6]])
    b = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [-1.0, 0.5]])
    y = np.array([-1, 1, -1, -1])
    _assert_same(*_both("cosine_embedding_loss", [a, b, y], dict(reduction=reduction, margin=margin), grad=(0, 1)),
                 rtol=1e-14, atol=0)
