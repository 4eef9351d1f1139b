"""Fuzz: elementwise ops, unary (with their parameters) and binary (broadcast shapes, mixed dtypes,
Python scalars on either side), forward and gradients against PyTorch."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from . import strategies as S
from .harness import Case, check
from .profiles import fuzz

FAMILY = "elementwise"


def F(lib):
    return lib.nn.functional


# name -> (fn(lib, x, **params), params strategy, takes integer/bool inputs)
NONE = st.just({})
UNARY = {
    "abs": (lambda m, x: m.abs(x), NONE, True),
    "neg": (lambda m, x: m.neg(x), NONE, True),
    "exp": (lambda m, x: m.exp(x), NONE, True),
    "expm1": (lambda m, x: m.expm1(x), NONE, True),
    "log": (lambda m, x: m.log(x), NONE, True),
    "log1p": (lambda m, x: m.log1p(x), NONE, True),
    "log2": (lambda m, x: m.log2(x), NONE, True),
    "log10": (lambda m, x: m.log10(x), NONE, True),
    "sqrt": (lambda m, x: m.sqrt(x), NONE, True),
    "rsqrt": (lambda m, x: m.rsqrt(x), NONE, True),
    "reciprocal": (lambda m, x: m.reciprocal(x), NONE, True),
    "square": (lambda m, x: m.square(x), NONE, True),
    "sin": (lambda m, x: m.sin(x), NONE, True),
    "cos": (lambda m, x: m.cos(x), NONE, True),
    "tan": (lambda m, x: m.tan(x), NONE, True),
    "tanh": (lambda m, x: m.tanh(x), NONE, True),
    "sigmoid": (lambda m, x: m.sigmoid(x), NONE, True),
    "erf": (lambda m, x: m.erf(x), NONE, True),
    "erfc": (lambda m, x: m.erfc(x), NONE, True),
    "sign": (lambda m, x: m.sign(x), NONE, True),
    "floor": (lambda m, x: m.floor(x), NONE, True),
    "ceil": (lambda m, x: m.ceil(x), NONE, True),
    "trunc": (lambda m, x: m.trunc(x), NONE, True),
    "round": (lambda m, x, decimals: m.round(x, decimals=decimals),
              st.fixed_dictionaries({"decimals": st.integers(-1, 2)}), True),
    "relu": (lambda m, x: F(m).relu(x), NONE, True),
    "relu6": (lambda m, x: F(m).relu6(x), NONE, False),
    "leaky_relu": (lambda m, x, slope: F(m).leaky_relu(x, slope),
                   st.fixed_dictionaries({"slope": st.sampled_from([0.01, 0.2, -0.5, 0.0, 1.5])}), False),
    "elu": (lambda m, x, alpha: F(m).elu(x, alpha), st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0])}),
            False),
    "gelu": (lambda m, x, approximate: F(m).gelu(x, approximate=approximate),
             st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}), False),
    "silu": (lambda m, x: F(m).silu(x), NONE, False),
    "logsigmoid": (lambda m, x: F(m).logsigmoid(x), NONE, False),
    "softplus": (lambda m, x, beta, threshold: F(m).softplus(x, beta, threshold),
                 st.fixed_dictionaries({"beta": st.sampled_from([1.0, 0.5, 2.0, 10.0]),
                                        "threshold": st.sampled_from([20.0, 1.0, 5.0])}), False),
    "hardtanh": (lambda m, x, lo, hi: F(m).hardtanh(x, lo, hi),
                 st.fixed_dictionaries({"lo": st.sampled_from([-1.0, -2.0, 0.0]),
                                        "hi": st.sampled_from([1.0, 2.0, 0.5])}), False),
    "clamp": (lambda m, x, lo, hi: m.clamp(x, lo, hi),
              st.fixed_dictionaries({"lo": st.sampled_from([None, -1.0, 0.0, 0.5, 2.0]),
                                     "hi": st.sampled_from([None, 1.0, 0.0, -0.5])})
              .filter(lambda p: p["lo"] is not None or p["hi"] is not None), True),
    "pow_scalar": (lambda m, x, e: x ** e,
                   st.fixed_dictionaries({"e": st.sampled_from([2, 3, 0, 1, -1, 0.5, -0.5, 2.5, -2, 0.0])}), True),
    "rpow_scalar": (lambda m, x, b: b ** x,
                    st.fixed_dictionaries({"b": st.sampled_from([2.0, 0.5, 0.0, 1.0, -2.0, 3])}), True),
}

INT_DTYPES = ("int64", "int32", "bool")


@st.composite
def unary_cases(draw):
    name = draw(st.sampled_from(sorted(UNARY)))
    fn, params_st, takes_ints = UNARY[name]
    params = draw(params_st)
    dtype = draw(st.sampled_from(S.FLOATS * 4 + (INT_DTYPES if takes_ints else ())))
    shape = draw(S.maybe_empty_shapes())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    x = S.make_values(np.random.default_rng(seed), shape, dtype, kind)
    return Case(FAMILY, name, lambda m, t: fn(m, t, **params), [x], params={"dtype": dtype, "kind": kind, **params},
                seed=seed)


@fuzz(600)
@given(unary_cases())
def test_unary(case):
    check(case)


# ---- binary ------------------------------------------------------------------------------------------------
def _compare_op(name):
    return lambda m, a, b: getattr(m, name)(a, b)


BINARY = {
    "add": lambda m, a, b: a + b,
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "sub": lambda m, a, b: a - b,
    "sub_alpha": lambda m, a, b: m.sub(a, b, alpha=0.5),
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "floor_divide": lambda m, a, b: m.floor_divide(a, b),
    "remainder": lambda m, a, b: m.remainder(a, b),
    "pow": lambda m, a, b: a ** b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "eq": _compare_op("eq"), "ne": _compare_op("ne"), "lt": _compare_op("lt"),
    "le": _compare_op("le"), "gt": _compare_op("gt"), "ge": _compare_op("ge"),
    "logical_and": _compare_op("logical_and"), "logical_or": _compare_op("logical_or"),
    "logical_xor": _compare_op("logical_xor"),
    "bitwise_and": _compare_op("bitwise_and"), "bitwise_or": _compare_op("bitwise_or"),
}
# ops that take a Python scalar as the second operand in both libraries (and operators: scalar first)
SCALAR_OK = {"add", "sub", "mul", "div", "pow", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "div_floor",
             "div_trunc", "floor_divide", "add_alpha", "sub_alpha"}
REVERSED = {"add": lambda m, s, b: s + b, "sub": lambda m, s, b: s - b, "mul": lambda m, s, b: s * b,
            "div": lambda m, s, b: s / b, "pow": lambda m, s, b: s ** b}
SCALARS = [0.0, 1.0, -1.5, 2, 3, -2, 0, 1e4, float("inf"), float("-inf"), float("nan"), True, False, 0.5]
DTYPES = S.FLOATS * 3 + ("int64", "int32", "bool")


@st.composite
def binary_cases(draw):
    name = draw(st.sampled_from(sorted(BINARY)))
    form = draw(st.sampled_from(["tensors"] * 4 + (["scalar"] if name in SCALAR_OK else [])
                                + (["reversed"] if name in REVERSED else [])))
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    kind = draw(S.kinds())
    if form == "tensors":
        sa, sb = draw(S.broadcast_pair())
        da, db = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
        a, b = S.make_values(rng, sa, da, kind), S.make_values(rng, sb, db, kind)
        fn = BINARY[name]
        return Case(FAMILY, name, fn, [a, b], params={"dtypes": (da, db), "kind": kind}, seed=seed)
    shape = draw(S.shapes())
    dt = draw(st.sampled_from(DTYPES))
    s = draw(st.sampled_from(SCALARS))
    a = S.make_values(rng, shape, dt, kind)
    if form == "scalar":
        fn = BINARY[name]
        return Case(FAMILY, f"{name}_scalar", lambda m, t: fn(m, t, s), [a],
                    params={"dtype": dt, "scalar": s, "kind": kind}, seed=seed)
    fn = REVERSED[name]
    return Case(FAMILY, f"r{name}_scalar", lambda m, t: fn(m, s, t), [a],
                params={"dtype": dt, "scalar": s, "kind": kind}, seed=seed)


@fuzz(700)
@given(binary_cases())
def test_binary(case):
    check(case)
