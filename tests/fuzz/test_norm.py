"""Fuzz: batch_norm (training with and without running statistics, whose updates are compared too; eval
with given statistics), layer_norm (1-3 normalised dims, with and without affine parameters) and
group_norm, with every value kind, small and empty batches, and gradients of input, weight and bias."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from . import strategies as S
from .harness import Case, check
from .profiles import fuzz

FAMILY = "norm"


def F(lib):
    return lib.nn.functional


@st.composite
def batch_norm_cases(draw):
    dtype = draw(S.float_dtypes())
    c = draw(st.integers(1, 4))
    shape = (draw(st.integers(1, 4)), c) + tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 2))))
    training = draw(st.booleans())
    stats = draw(st.booleans()) or not training
    affine = draw(st.booleans())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    arrays = [S.make_values(rng, shape, dtype, kind)]
    if stats:
        arrays += [np.asarray(rng.standard_normal(c), dtype=dtype), np.asarray(rng.uniform(0.1, 2, c), dtype=dtype)]
    if affine:
        arrays += [S.make_values(rng, (c,), dtype, "normal"), S.make_values(rng, (c,), dtype, "normal")]
    p = {"training": training, "momentum": draw(st.sampled_from([0.1, 0.5, 1.0])),
         "eps": draw(st.sampled_from([1e-5, 1e-3]))}

    def fn(m, x, *rest):
        rest = list(rest)
        rm, rv = (rest.pop(0), rest.pop(0)) if stats else (None, None)
        w, b = (rest.pop(0), rest.pop(0)) if affine else (None, None)
        out = F(m).batch_norm(x, rm, rv, w, b, **p)
        return (out, rm, rv) if stats else out
    nograd = (1, 2) if stats else ()
    return Case(FAMILY, "batch_norm", fn, arrays, params={"dtype": dtype, "kind": kind, "stats": stats,
                                                          "affine": affine, **p}, nograd=nograd, seed=seed)


@st.composite
def layer_group_cases(draw):
    name = draw(st.sampled_from(["layer_norm", "group_norm"]))
    dtype = draw(S.float_dtypes())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    affine = draw(st.sampled_from(["none", "weight", "both"]))
    p = {"eps": draw(st.sampled_from([1e-5, 1e-3]))}
    if name == "layer_norm":
        shape = draw(S.maybe_empty_shapes(min_dims=1, max_dims=4))
        k = draw(st.integers(1, len(shape)))
        norm_shape = tuple(shape[-k:])
        p["normalized_shape"] = norm_shape
        pshape = norm_shape
    else:
        groups = draw(st.integers(1, 3))
        c = groups * draw(st.integers(1, 3))
        shape = (draw(st.integers(0, 3)), c) + tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
        p["num_groups"] = groups
        pshape = (c,)
    arrays = [S.make_values(rng, shape, dtype, kind)]
    if affine != "none":
        arrays.append(S.make_values(rng, pshape, dtype, "normal"))
    if affine == "both":
        arrays.append(S.make_values(rng, pshape, dtype, "normal"))

    def fn(m, x, *wb):
        w = wb[0] if wb else None
        b = wb[1] if len(wb) > 1 else None
        if name == "layer_norm":
            return F(m).layer_norm(x, p["normalized_shape"], w, b, p["eps"])
        return F(m).group_norm(x, p["num_groups"], w, b, p["eps"])
    return Case(FAMILY, name, fn, arrays, params={"dtype": dtype, "kind": kind, "affine": affine, **p},
                seed=seed)


@fuzz(250)
@given(batch_norm_cases())
def test_batch_norm(case):
    check(case)


@fuzz(250)
@given(layer_group_cases())
def test_layer_and_group_norm(case):
    check(case)
