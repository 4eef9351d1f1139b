"""Fuzz: convolutions (conv1d/2d, conv_transpose1d/2d: stride, padding incl. 'same'/'valid', dilation,
groups, bias, output_padding, unbatched inputs, empty batches) and pooling (max/avg 1d/2d with padding,
dilation, ceil_mode, count_include_pad, divisor_override, return_indices; adaptive avg/max pools).
Gradients of the input, the weight and the bias are compared."""
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from . import strategies as S
from .accepted import pool_window_in_padding
from .harness import Case, check
from .profiles import fuzz

FAMILY = "conv_pool"


def F(lib):
    return lib.nn.functional


def _per_axis(draw, nsp, strategy):
    """One value for every spatial axis (an int for 1-D, an int or a tuple for 2-D)."""
    vals = tuple(draw(strategy) for _ in range(nsp))
    return vals[0] if nsp == 1 or (vals[0] == vals[-1] and draw(st.booleans())) else vals


def _per_axis_st(nsp, strategy):
    return st.composite(lambda draw: _per_axis(draw, nsp, strategy))()


def _axes(v, nsp):
    return (v,) * nsp if isinstance(v, int) else tuple(v)


@st.composite
def conv_cases(draw):
    transpose = draw(st.booleans())
    nsp = draw(st.sampled_from([1, 2]))
    name = ("conv_transpose" if transpose else "conv") + f"{nsp}d"
    dtype = draw(S.float_dtypes())
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    k = _per_axis(draw, nsp, st.integers(1, 3))
    stride = _per_axis(draw, nsp, st.integers(1, 3))
    dilation = _per_axis(draw, nsp, st.integers(1, 2))
    p = {"stride": stride, "dilation": dilation, "groups": groups}
    if transpose:
        p["padding"] = _per_axis(draw, nsp, st.integers(0, 2))
        strides, dils = _axes(stride, nsp), _axes(dilation, nsp)
        p["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(strides, dils))
        if nsp == 1:
            p["output_padding"] = p["output_padding"][0]
        wshape = (cin, cout // groups) + _axes(k, nsp)
    else:
        p["padding"] = draw(st.one_of(st.sampled_from(["valid", "same"]), _per_axis_st(nsp, st.integers(0, 2))))
        if p["padding"] == "same":
            p["stride"] = 1
        wshape = (cout, cin // groups) + _axes(k, nsp)
    batch = draw(st.sampled_from([(), (1,), (2,), (3,), (0,)]))
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(nsp))
    xshape = batch + (cin,) + spatial
    bias = draw(st.booleans())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    arrays = [S.make_values(rng, xshape, dtype, kind),
              S.make_values(rng, wshape, dtype, draw(st.sampled_from(["normal", "normal", "ties", "mixed"])))]
    if bias:
        arrays.append(S.make_values(rng, (wshape[1] * groups if transpose else cout,), dtype, "normal"))

    def fn(m, x, w, b=None):
        return getattr(F(m), name)(x, w, b, **p)
    return Case(FAMILY, name, fn, arrays, params={"dtype": dtype, "kind": kind, **p}, seed=seed)


@fuzz(400)
@given(conv_cases())
def test_conv(case):
    check(case)


@st.composite
def pool_cases(draw):
    op = draw(st.sampled_from(["max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool"]))
    nsp = 2 if op == "adaptive_max_pool" else draw(st.sampled_from([1, 2]))
    name = f"{op}{nsp}d"
    dtype = draw(S.float_dtypes())
    batch = draw(st.sampled_from([(), (1,), (2,), (0,)]))
    c = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(nsp))
    shape = batch + (c,) + spatial
    p = {}
    if op.startswith("adaptive"):
        sizes = tuple(draw(st.integers(1, 5)) for _ in range(nsp))
        if nsp == 2 and draw(st.booleans()):
            sizes = (sizes[0], None)
        p["output_size"] = sizes[0] if nsp == 1 else sizes
        if op == "adaptive_max_pool":
            p["return_indices"] = draw(st.booleans())
    else:
        k = tuple(draw(st.integers(1, 4)) for _ in range(nsp))
        p["kernel_size"] = k[0] if nsp == 1 else k
        p["stride"] = draw(st.one_of(st.none(), st.integers(1, 3)))
        p["padding"] = draw(st.integers(0, max(min(k) // 2, 0)))
        p["ceil_mode"] = draw(st.booleans())
        if op == "max_pool":
            p["dilation"] = draw(st.integers(1, 2))
            p["return_indices"] = draw(st.booleans())
            # a window wholly in the padding: PyTorch's backward writes out of bounds (accepted.py explains)
            assume(not pool_window_in_padding(p, spatial))
        else:
            p["count_include_pad"] = draw(st.booleans())
            if nsp == 2:
                p["divisor_override"] = draw(st.sampled_from([None, None, 1, 3]))
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    x = S.make_values(np.random.default_rng(seed), shape, dtype, kind)

    def fn(m, t):
        out = getattr(F(m), name)(t, **p)
        return tuple(out) if isinstance(out, tuple) else out
    return Case(FAMILY, name, fn, [x], params={"dtype": dtype, "kind": kind, **p}, seed=seed)


@fuzz(400)
@given(pool_cases())
def test_pool(case):
    check(case)
