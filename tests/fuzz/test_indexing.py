"""Fuzz: indexing. ``x[key]`` and ``y[key] = v`` with keys mixing ints (negative too), slices (with steps,
out-of-range bounds), None, Ellipsis, bool masks and int arrays/lists (broadcast against each other,
separated so the result's dims move to the front); gather, scatter (src, value, reduce), scatter_add,
index_select, index_add, masked_fill, masked_select, take_along_dim, where (three broadcast shapes,
scalars)."""
import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from . import strategies as S
from .harness import Case, check
from .profiles import fuzz

FAMILY = "indexing"


# ---- keys -------------------------------------------------------------------------------------------------------
@st.composite
def key_items(draw, shape, rng, unique_arrays=False):
    """A key for an array of ``shape``: a list of items, each ("int", i), ("slice", (a, b, c)), ("none",),
    ("ellipsis",), ("mask", bool array), ("array", int array, as_list)."""
    items, d, nd = [], 0, len(shape)
    adv_shape = draw(st.sampled_from([(1,), (2,), (3,), (2, 2), ()]))
    used_mask = used_array = False
    while True:
        options = ["stop", "none"]
        if d < nd:
            options += ["int", "slice", "slice", "array"] + (["mask"] if not used_array else [])
            if "ellipsis" not in [i[0] for i in items]:
                options.append("ellipsis")
        if used_mask:
            options = [o for o in options if o not in ("mask", "array")]
        what = draw(st.sampled_from(options))
        if what == "stop" or len(items) >= 5:
            break
        if what == "none":
            items.append(("none",))
        elif what == "ellipsis":
            items.append(("ellipsis",))
            # after an ellipsis only the last dim may still be indexed
            skip_to = nd - draw(st.integers(0, min(1, nd - d)))
            d = skip_to
        elif what == "int":
            n = shape[d]
            if n == 0:
                break
            items.append(("int", draw(st.integers(-n, n - 1))))
            d += 1
        elif what == "slice":
            n = shape[d]
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            items.append(("slice", (draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3])))))
            d += 1
        elif what == "array":
            n = shape[d]
            if n == 0:
                break
            size = int(np.prod(adv_shape))
            if unique_arrays:
                if size > n or used_array:
                    break
                vals = rng.permutation(n)[:size] - draw(st.sampled_from([0, n]))
            else:
                vals = rng.integers(-n, n, size)
            as_list = draw(st.booleans()) and len(adv_shape) == 1
            items.append(("array", np.asarray(vals, dtype=np.int64).reshape(adv_shape), as_list))
            used_array = True
            d += 1
        else:  # mask over k dims
            k = draw(st.integers(1, nd - d))
            items.append(("mask", rng.random(shape[d:d + k]) < 0.5, False))
            used_mask = True
            d += k
    return items


def build_key(lib, items):
    key = []
    for it in items:
        if it[0] == "int":
            key.append(it[1])
        elif it[0] == "slice":
            key.append(slice(*it[1]))
        elif it[0] == "none":
            key.append(None)
        elif it[0] == "ellipsis":
            key.append(Ellipsis)
        elif it[0] == "mask":
            key.append(lib.from_numpy(it[1].copy()))
        else:
            key.append(it[1].tolist() if it[2] else lib.from_numpy(it[1].copy()))
    return key[0] if len(key) == 1 and draw_single(items) else tuple(key)


def draw_single(items):
    """A one-item key is passed bare (x[3], x[mask]) unless it is an int list (x[[0, 1]] vs x[([0, 1],)])."""
    return not (items[0][0] == "array" and items[0][2])


def show_key(items):
    return [(i[0], i[1].tolist()) if i[0] in ("mask", "array") else i for i in items]


def _numpy_key(items):
    return build_key(type("np_lib", (), {"from_numpy": staticmethod(lambda a: a)}), items)


@st.composite
def getitem_cases(draw):
    dtype = draw(st.sampled_from(S.FLOATS * 3 + ("int64", "bool")))
    shape = draw(S.maybe_empty_shapes(min_dims=1, max_dims=4))
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    items = draw(key_items(shape, rng))
    x = S.make_values(rng, shape, dtype, kind)

    def fn(m, t):
        return t[build_key(m, items)]
    return Case(FAMILY, "getitem", fn, [x], params={"dtype": dtype, "key": show_key(items)}, seed=seed)


@st.composite
def setitem_cases(draw):
    dtype = draw(S.float_dtypes())
    shape = draw(S.shapes(min_dims=1, max_dims=4))
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    items = draw(key_items(shape, rng, unique_arrays=True))
    try:
        sub = np.empty(shape)[_numpy_key(items)].shape
    except IndexError:
        assume(False)
    vshape = draw(st.sampled_from([sub, sub[1:] if sub else sub, ()]))
    x, v = S.make_values(rng, shape, dtype, kind), S.make_values(rng, vshape, dtype, draw(S.kinds()))

    def fn(m, t, val):
        y = t * 1  # a non-leaf copy: both libraries allow the in-place write and differentiate through it
        y[build_key(m, items)] = val
        return y
    return Case(FAMILY, "setitem", fn, [x, v], params={"dtype": dtype, "key": show_key(items),
                                                       "value_shape": vshape}, seed=seed)


@fuzz(300)
@given(getitem_cases())
def test_getitem(case):
    check(case)


@fuzz(150)
@given(setitem_cases())
def test_setitem(case):
    check(case)


# ---- dim-wise indexing ops --------------------------------------------------------------------------------------
def _index_shape(draw, shape, dim, along):
    """An index shape for gather/scatter: ``along`` at ``dim``, at most the input's size elsewhere."""
    return tuple(along if d == dim else draw(st.integers(min(1, n), n)) for d, n in enumerate(shape))


@st.composite
def dim_cases(draw):
    name = draw(st.sampled_from(["gather", "scatter", "scatter_value", "scatter_reduce", "scatter_add",
                                 "index_select", "index_add", "take_along_dim"]))
    dtype = draw(st.sampled_from(S.FLOATS * 3 + ("int64",)))
    shape = draw(S.shapes(min_dims=1, max_dims=3))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    n = shape[d]
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    x = S.make_values(rng, shape, dtype, kind)
    p = {"dtype": dtype, "dim": dim}
    if name in ("gather", "take_along_dim", "scatter_add"):
        ishape = _index_shape(draw, shape, d, draw(st.integers(1, 4)))
        idx = rng.integers(0, n, ishape)
        arrays = [x]
        if name == "gather":
            fn = lambda m, t: m.gather(t, dim, m.from_numpy(idx.copy()))  # noqa: E731
        elif name == "take_along_dim":
            fn = lambda m, t: m.take_along_dim(t, m.from_numpy(idx.copy()), dim)  # noqa: E731
        else:
            arrays.append(S.make_values(rng, ishape, dtype, draw(S.kinds())))
            fn = lambda m, t, src: m.scatter_add(t, dim, m.from_numpy(idx.copy()), src)  # noqa: E731
    elif name.startswith("scatter"):
        # unique positions along dim in every fibre: which duplicate wins is unspecified in PyTorch
        ishape = _index_shape(draw, shape, d, draw(st.integers(1, n)))
        idx = np.argsort(rng.random(ishape[:d] + (n,) + ishape[d + 1:]), axis=d)
        idx = np.take(idx, np.arange(ishape[d]), axis=d)
        arrays = [x]
        if name == "scatter":
            arrays.append(S.make_values(rng, ishape, dtype, draw(S.kinds())))
            fn = lambda m, t, src: m.scatter(t, dim, m.from_numpy(idx.copy()), src)  # noqa: E731
        elif name == "scatter_value":
            value = draw(st.sampled_from([0.0, -1.5, 2, float("inf"), float("nan")]))
            p["value"] = value
            fn = lambda m, t: m.scatter(t, dim, m.from_numpy(idx.copy()), value)  # noqa: E731
        else:
            reduce = draw(st.sampled_from(["add", "multiply"]))
            p["reduce"] = reduce
            arrays.append(S.make_values(rng, ishape, dtype, draw(S.kinds())))
            fn = lambda m, t, src: m.scatter(t, dim, m.from_numpy(idx.copy()), src, reduce=reduce)  # noqa: E731
    else:
        k = draw(st.integers(0, 5))
        idx = rng.integers(0, n, (k,))
        if name == "index_select":
            arrays = [x]
            fn = lambda m, t: m.index_select(t, dim, m.from_numpy(idx.copy()))  # noqa: E731
        else:
            alpha = draw(st.sampled_from([1, 2.5, -1]))
            p["alpha"] = alpha
            src_shape = shape[:d] + (k,) + shape[d + 1:]
            arrays = [x, S.make_values(rng, src_shape, dtype, draw(S.kinds()))]
            fn = lambda m, t, src: m.index_add(t, dim, m.from_numpy(idx.copy()), src, alpha=alpha)  # noqa: E731
    p["index"] = idx.tolist()
    return Case(FAMILY, name, fn, arrays, params=p, seed=seed)


@fuzz(300)
@given(dim_cases())
def test_dim_indexing(case):
    check(case)


# ---- masks and where --------------------------------------------------------------------------------------------
@st.composite
def mask_cases(draw):
    name = draw(st.sampled_from(["masked_fill", "masked_fill_tensor", "masked_select", "where", "where_scalar"]))
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    kind = draw(S.kinds())
    dtype = draw(st.sampled_from(S.FLOATS * 3 + ("int64",)))
    p = {"dtype": dtype, "kind": kind}
    if name.startswith("where"):
        sc, sa, sb = draw(S.broadcast_triple())
        cond = rng.random(sc) < 0.5
        a = S.make_values(rng, sa, dtype, kind)
        if name == "where":
            db = draw(st.sampled_from(S.FLOATS + ("int64",)))
            b = S.make_values(rng, sb, db, draw(S.kinds()))
            p["other_dtype"] = db
            return Case(FAMILY, name, lambda m, x, y: m.where(m.from_numpy(cond.copy()), x, y), [a, b],
                        params=p, seed=seed)
        s = draw(st.sampled_from([0.0, 1.5, -2, float("nan"), float("-inf")]))
        p["scalar"] = s
        return Case(FAMILY, name, lambda m, x: m.where(m.from_numpy(cond.copy()), x, s), [a],
                    params=p, seed=seed)
    sx, sm = draw(S.broadcast_pair())
    x = S.make_values(rng, sx, dtype, kind)
    mask = rng.random(sm) < 0.5
    if name == "masked_select":
        return Case(FAMILY, name, lambda m, t: m.masked_select(t, m.from_numpy(mask.copy())), [x],
                    params=p, seed=seed)
    value = draw(st.sampled_from([0.0, -1.0, 2.5, float("inf"), float("nan"), 3]))
    p["value"] = value
    if name == "masked_fill":
        return Case(FAMILY, name, lambda m, t: m.masked_fill(t, m.from_numpy(mask.copy()), value), [x],
                    params=p, seed=seed)
    v = np.asarray(value, dtype=dtype if dtype != "int64" or np.isfinite(value) else "float64")
    return Case(FAMILY, name, lambda m, t, val: m.masked_fill(t, m.from_numpy(mask.copy()), val), [x, v],
                params=p, seed=seed)


@fuzz(250)
@given(mask_cases())
def test_masks_and_where(case):
    check(case)
