"""Fuzz: the loss functions, every reduction, with their options (class weights, ignore_index, label
smoothing, class-probability targets, pos_weight, log targets, beta/delta), on every value kind for the
inputs and targets drawn from their valid sets with the edges included (probabilities exactly 0 and 1,
targets equal to ignore_index, all of them ignored)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from . import strategies as S
from .harness import Case, check
from .profiles import fuzz

FAMILY = "loss"
REDUCTIONS = ("none", "mean", "sum")


def F(lib):
    return lib.nn.functional


def _probabilities(rng, shape, dtype, edges):
    """Values in [0, 1]; with ``edges`` a share of them exactly 0, 1 or 0.5."""
    p = rng.random(shape)
    if edges:
        mask = rng.random(shape) < 0.3
        p[mask] = rng.choice([0.0, 1.0, 0.5], size=int(mask.sum()))
    return np.asarray(p, dtype=dtype)


@st.composite
def pointwise_cases(draw):
    """mse, l1, smooth_l1, huber: input and target of one shape, both differentiable."""
    name = draw(st.sampled_from(["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]))
    dtype = draw(S.float_dtypes())
    shape = draw(S.maybe_empty_shapes(max_dims=3))
    kind_x, kind_t = draw(S.kinds()), draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    x, t = S.make_values(rng, shape, dtype, kind_x), S.make_values(rng, shape, dtype, kind_t)
    p = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if name == "smooth_l1_loss":
        p["beta"] = draw(st.sampled_from([1.0, 0.5, 2.0, 0.0]))
    if name == "huber_loss":
        p["delta"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
    return Case(FAMILY, name, lambda m, a, b: getattr(F(m), name)(a, b, **p), [x, t],
                params={"dtype": dtype, "kinds": (kind_x, kind_t), **p}, seed=seed)


@st.composite
def binary_cases(draw):
    """binary_cross_entropy (probabilities, exact 0/1 included; NaN or out-of-range inputs must raise in both)
    and binary_cross_entropy_with_logits (any logits, weight, pos_weight)."""
    name = draw(st.sampled_from(["binary_cross_entropy", "binary_cross_entropy_with_logits"]))
    dtype = draw(S.float_dtypes())
    shape = draw(S.maybe_empty_shapes(min_dims=1, max_dims=3))
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    p = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if name == "binary_cross_entropy":
        form = draw(st.sampled_from(["probabilities", "edges", "any"]))
        x = (S.make_values(rng, shape, dtype, draw(S.kinds())) if form == "any"
             else _probabilities(rng, shape, dtype, form == "edges"))
        p["form"] = form
    else:
        kind = draw(S.kinds())
        x = S.make_values(rng, shape, dtype, kind)
        p["kind"] = kind
    t = _probabilities(rng, shape, dtype, draw(st.booleans()))
    arrays = [x, t]
    extra = draw(st.sampled_from(["none", "weight"] + (["pos_weight", "both"] if name.endswith("logits") else [])))
    p["extra"] = extra
    if extra in ("weight", "both"):
        arrays.append(np.asarray(rng.uniform(0, 2, shape[-1:]), dtype=dtype))
    if extra in ("pos_weight", "both"):
        arrays.append(np.asarray(rng.choice([0.5, 1.0, 3.0, 0.0], shape[-1:]), dtype=dtype))
    grad_target = draw(st.booleans())
    # weight and pos_weight are data: PyTorch's BCE losses are not differentiable with respect to them
    nograd = tuple(range(2, len(arrays))) + (() if grad_target else (1,))

    def fn(m, x, t, *w):
        kw = dict(p)
        kw.pop("form", None), kw.pop("kind", None), kw.pop("extra", None)
        if extra == "weight":
            kw["weight"] = w[0]
        elif extra == "pos_weight":
            kw["pos_weight"] = w[0]
        elif extra == "both":
            kw["weight"], kw["pos_weight"] = w
        return getattr(F(m), name)(x, t, **kw)
    return Case(FAMILY, name, fn, arrays, params={"dtype": dtype, "grad_target": grad_target, **p},
                nograd=nograd, seed=seed)


@st.composite
def class_cases(draw):
    """cross_entropy (class indices with ignore_index, weights, label smoothing; or class probabilities)
    and nll_loss, on (C,), (N, C) and (N, C, d) inputs."""
    name = draw(st.sampled_from(["cross_entropy", "cross_entropy", "nll_loss"]))
    dtype = draw(S.float_dtypes())
    c = draw(st.integers(1, 5))
    layout = draw(st.sampled_from(["unbatched", "batched", "batched", "spatial"]))
    n = draw(st.integers(0, 4) if draw(st.integers(0, 9)) == 0 else st.integers(1, 4))
    d = draw(st.integers(1, 3))
    shape = {"unbatched": (c,), "batched": (n, c), "spatial": (n, c, d)}[layout]
    tshape = {"unbatched": (), "batched": (n,), "spatial": (n, d)}[layout]
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    x = S.make_values(rng, shape, dtype, kind)
    probs = name == "cross_entropy" and draw(st.integers(0, 3)) == 0
    p = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if probs:
        t = _probabilities(rng, shape, dtype, draw(st.booleans()))
        if draw(st.booleans()):  # rows that sum to 1
            t = np.asarray(t / np.maximum(t.sum(min(1, t.ndim - 1), keepdims=True), 1e-3), dtype=dtype)
    else:
        ignore = draw(st.sampled_from([-100, 0, c - 1]))
        if ignore != -100:
            p["ignore_index"] = ignore
        t = rng.integers(0, c, tshape).astype(np.int64)
        share = draw(st.sampled_from([0.0, 0.3, 1.0]))
        t = np.asarray(np.where(rng.random(tshape) < share, ignore, t), dtype=np.int64)
    arrays = [x, t]
    weighted = draw(st.booleans())
    if weighted:
        arrays.append(np.asarray(rng.choice([0.0, 0.5, 1.0, 2.0], c), dtype=dtype))
    if name == "cross_entropy":
        p["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]))
    grad_target = probs and draw(st.booleans())
    # class weights are data: PyTorch's nll_loss is not differentiable with respect to them
    nograd = (() if grad_target else (1,)) + ((2,) if weighted else ())

    def fn(m, x, t, *w):
        return getattr(F(m), name)(x, t, weight=w[0] if w else None, **p)
    return Case(FAMILY, name + ("_probs" if probs else ""), fn, arrays,
                params={"dtype": dtype, "kind": kind, "weighted": weighted, **p}, nograd=nograd, seed=seed)


@st.composite
def divergence_cases(draw):
    """kl_div (log-prob inputs; probability or log targets; batchmean), cosine_embedding_loss,
    margin_ranking_loss."""
    name = draw(st.sampled_from(["kl_div", "kl_div", "cosine_embedding_loss", "margin_ranking_loss"]))
    dtype = draw(S.float_dtypes())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    kind = draw(S.kinds())
    p = {"reduction": draw(st.sampled_from(REDUCTIONS + (("batchmean",) if name == "kl_div" else ())))}
    if name == "kl_div":
        shape = draw(S.shapes(min_dims=1, max_dims=3))
        x = S.make_values(rng, shape, dtype, kind)
        p["log_target"] = draw(st.booleans())
        t = (S.make_values(rng, shape, dtype, draw(S.kinds())) if p["log_target"]
             else _probabilities(rng, shape, dtype, draw(st.booleans())))
        arrays = [x, t]
    elif name == "cosine_embedding_loss":
        n, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        shape = draw(st.sampled_from([(n, d), (d,)]))
        arrays = [S.make_values(rng, shape, dtype, kind), S.make_values(rng, shape, dtype, draw(S.kinds())),
                  rng.choice([1, -1], shape[:-1]).astype(np.int64)]
        p["margin"] = draw(st.sampled_from([0.0, 0.5, -0.5]))
    else:
        shape = draw(S.shapes(min_dims=1, max_dims=2))
        arrays = [S.make_values(rng, shape, dtype, kind), S.make_values(rng, shape, dtype, draw(S.kinds())),
                  rng.choice([1.0, -1.0], shape).astype(dtype)]
        p["margin"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    grad_target = name == "kl_div" and draw(st.booleans())
    nograd = () if grad_target else (len(arrays) - 1,) if name != "kl_div" else (1,)

    def fn(m, *ts):
        return getattr(F(m), name)(*ts, **p)
    return Case(FAMILY, name, fn, arrays, params={"dtype": dtype, "kind": kind, **p}, nograd=nograd, seed=seed)


@fuzz(250)
@given(pointwise_cases())
def test_pointwise_losses(case):
    check(case)


@fuzz(300)
@given(binary_cases())
def test_binary_losses(case):
    check(case)


@fuzz(400)
@given(class_cases())
def test_class_losses(case):
    check(case)


@fuzz(250)
@given(divergence_cases())
def test_divergence_losses(case):
    check(case)


# ---- the losses added in issue 15 ------------------------------------------------------------------------------
@st.composite
def margin_cases(draw):
    """soft_margin, hinge_embedding, multilabel_soft_margin, multilabel_margin, multi_margin, poisson_nll,
    gaussian_nll and triplet_margin losses, with their options; targets drawn from their valid sets (labels
    +-1, multi-label index lists ended by -1, class indices), class weights and variances as data."""
    name = draw(st.sampled_from(["soft_margin_loss", "hinge_embedding_loss", "multilabel_soft_margin_loss",
                                 "multilabel_margin_loss", "multi_margin_loss", "poisson_nll_loss",
                                 "gaussian_nll_loss", "triplet_margin_loss"]))
    dtype = draw(S.float_dtypes())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    p = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    shape = draw(st.sampled_from([(n, c), (c,)]))
    x = S.make_values(rng, shape, dtype, kind)
    nograd = ()
    if name in ("soft_margin_loss", "hinge_embedding_loss"):
        arrays = [x, rng.choice([1.0, -1.0], shape).astype(dtype)]
        nograd = (1,)
        if name == "hinge_embedding_loss":
            p["margin"] = draw(st.sampled_from([1.0, 0.0, 0.5]))
    elif name == "multilabel_soft_margin_loss":
        arrays = [x, rng.integers(0, 2, shape).astype(dtype)]
        nograd = (1,)
        if draw(st.booleans()):
            arrays.append(np.asarray(rng.uniform(0, 2, (c,)), dtype=dtype))
            nograd = (1, 2)
    elif name == "multilabel_margin_loss":
        t = rng.integers(-1, c, shape).astype(np.int64)  # labels, the first -1 ends each row's list
        arrays = [x, t]
    elif name == "multi_margin_loss":
        x = S.make_values(rng, (n, c), dtype, kind) if draw(st.booleans()) else x
        arrays = [x, rng.integers(0, c, x.shape[:-1]).astype(np.int64)]
        p["p"], p["margin"] = draw(st.sampled_from([1, 2])), draw(st.sampled_from([1.0, 0.5, 0.0]))
        if draw(st.booleans()):
            arrays.append(np.asarray(rng.uniform(0, 2, (c,)), dtype=dtype))
            nograd = (2,)
    elif name == "poisson_nll_loss":
        p["log_input"], p["full"] = draw(st.booleans()), draw(st.booleans())
        p["eps"] = draw(st.sampled_from([1e-8, 0.5]))
        if not p["log_input"]:
            x = np.abs(x)
        t = np.floor(np.abs(S.make_values(rng, shape, dtype, "positive")) * 2).astype(dtype)
        arrays = [x, t]
        nograd = (1,) if draw(st.booleans()) else ()
    elif name == "gaussian_nll_loss":
        var_shape = draw(st.sampled_from([shape, shape[:-1] + (1,)]))
        var = np.asarray(np.abs(rng.standard_normal(var_shape)) + draw(st.sampled_from([0.0, 0.1])), dtype=dtype)
        arrays = [x, S.make_values(rng, shape, dtype, draw(S.kinds())), var]
        p["full"], p["eps"] = draw(st.booleans()), draw(st.sampled_from([1e-6, 0.5]))
    else:
        arrays = [x] + [S.make_values(rng, shape, dtype, draw(S.kinds())) for _ in range(2)]
        p["margin"], p["p"] = draw(st.sampled_from([1.0, 0.0, 2.0])), draw(st.sampled_from([2.0, 1.0, 3.0]))
        p["eps"], p["swap"] = draw(st.sampled_from([1e-6, 0.5])), draw(st.booleans())

    def fn(m, *ts):
        if name in ("multilabel_soft_margin_loss", "multi_margin_loss") and len(ts) == 3:
            return getattr(F(m), name)(ts[0], ts[1], weight=ts[2], **p)
        return getattr(F(m), name)(*ts, **p)
    return Case(FAMILY, name, fn, arrays, params={"dtype": dtype, "kind": kind, **p}, nograd=nograd, seed=seed)


@fuzz(400)
@given(margin_cases())
def test_margin_and_likelihood_losses(case):
    check(case)
