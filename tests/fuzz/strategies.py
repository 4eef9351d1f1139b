"""Hypothesis strategies for the differential fuzzer: shapes, dtypes and the values in the arrays.

Hypothesis draws everything that decides a case's structure (shapes, dtypes, dims, op parameters, which
*kind* of values, how many special values, a seed) and shrinks it; the values themselves come from a
NumPy generator seeded by the draw (fast for thousands of cases, reproducible from the printed example).

Value kinds (``KINDS``):

- ``normal``: standard normal times 1 or 3;
- ``positive``: |normal| + 0.1 (inside every op's domain: log, sqrt, pow's base, ...);
- ``ties``: integers in [-2, 2] as floats (ties for max/min/sort-like ops, exact zeros for relu/abs/pow);
- ``mixed``: normal values with a share of special values (below) scattered among them;
- ``extreme``: special values only.

Special values per dtype: 0, -0, +-1, +-1e4, +-inf, NaN and +-a subnormal of that dtype.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

FLOATS = ("float32", "float64")
INTS = ("int64", "int32")
KINDS = ("normal", "positive", "ties", "mixed", "extreme")

_SUBNORMAL = {"float32": np.float32(1e-40), "float64": np.float64(1e-310)}


def specials(dtype):
    """The special values of a float dtype, as that dtype."""
    dt = np.dtype(dtype)
    vals = [0.0, -0.0, 1.0, -1.0, 1e4, -1e4, np.inf, -np.inf, np.nan, _SUBNORMAL[dt.name], -_SUBNORMAL[dt.name]]
    return np.array(vals, dtype=dt)


def make_values(rng, shape, dtype, kind, special_share=0.25):
    """An array of ``shape`` and ``dtype`` filled as ``kind`` says (see the module docstring)."""
    dt = np.dtype(dtype)
    shape = tuple(shape)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        lo = 0 if dt.kind == "u" else -5
        return rng.integers(lo, 6, shape).astype(dt)
    if kind == "ties":
        return rng.integers(-2, 3, shape).astype(dt)
    base = rng.standard_normal(shape) * rng.choice([1.0, 3.0])
    if kind == "positive":
        return (np.abs(base) + 0.1).astype(dt)
    out = np.array(base, dtype=dt)
    if kind in ("mixed", "extreme"):
        share = 1.0 if kind == "extreme" else special_share
        mask = rng.random(shape) < share
        out[mask] = rng.choice(specials(dt), size=int(mask.sum()))
    return np.asarray(out)


@st.composite
def seeds(draw):
    return draw(st.integers(0, 2 ** 32 - 1))


def kinds(allowed=KINDS):
    return st.sampled_from(allowed)


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=4):
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def maybe_empty_shapes(min_dims=0, max_dims=4, max_side=4):
    """Shapes with a size-0 side now and then (one case in ~8)."""
    return st.one_of(shapes(min_dims, max_dims, 1, max_side),
                     shapes(max(min_dims, 1), max_dims, 0, max_side))


def broadcast_pair(max_dims=4, max_side=4):
    """Two mutually broadcastable shapes."""
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side) \
        .map(lambda r: r.input_shapes)


def broadcast_triple(max_dims=3, max_side=4):
    return mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=max_dims, max_side=max_side) \
        .map(lambda r: r.input_shapes)


def float_dtypes():
    return st.sampled_from(FLOATS)


def dims(ndim, allow_none=True):
    """A reduction's ``dim``: None, one int (negative too) or a tuple of distinct dims."""
    if ndim == 0:
        return st.sampled_from([None, 0, -1] if allow_none else [0, -1])
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    opts = [one, many]
    if allow_none:
        opts.insert(0, st.none())
    return st.one_of(*opts)
