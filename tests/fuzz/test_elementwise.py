"""Fuzz: elementwise ops, unary (with their parameters), binary (broadcast shapes, mixed dtypes, Python
scalars on either side) and ternary (lerp, addcmul, addcdiv), forward and gradients against PyTorch; the
hyperbolic and inverse trigonometric functions, logit, nan_to_num, hypot, logaddexp, fmod, atan2 and the
activations of issue 15 (selu ... threshold, glu) in tables of their own."""
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

# the pointwise functions and activations added in issue 15
MORE_UNARY = {
    "sinh": (lambda m, x: m.sinh(x), NONE, True),
    "cosh": (lambda m, x: m.cosh(x), NONE, True),
    "asin": (lambda m, x: m.asin(x), NONE, True),
    "acos": (lambda m, x: m.acos(x), NONE, True),
    "atan": (lambda m, x: m.atan(x), NONE, True),
    "asinh": (lambda m, x: m.asinh(x), NONE, True),
    "acosh": (lambda m, x: m.acosh(x), NONE, True),
    "atanh": (lambda m, x: m.atanh(x), NONE, True),
    "logit": (lambda m, x, eps: m.logit(x, eps), st.fixed_dictionaries({"eps": st.sampled_from([None, 1e-6, 0.25])}),
              True),
    "nan_to_num": (lambda m, x, nan, posinf, neginf: m.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
                   st.fixed_dictionaries({"nan": st.sampled_from([0.0, 1.5]), "posinf": st.sampled_from([None, 1e3]),
                                          "neginf": st.sampled_from([None, -7.0])}), True),
    "selu": (lambda m, x: F(m).selu(x), NONE, False),
    "celu": (lambda m, x, alpha: F(m).celu(x, alpha),
             st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0])}), False),
    "softsign": (lambda m, x: F(m).softsign(x), NONE, False),
    "hardswish": (lambda m, x: F(m).hardswish(x), NONE, False),
    "hardsigmoid": (lambda m, x: F(m).hardsigmoid(x), NONE, False),
    "mish": (lambda m, x: F(m).mish(x), NONE, False),
    "tanhshrink": (lambda m, x: F(m).tanhshrink(x), NONE, False),
    "softshrink": (lambda m, x, lambd: F(m).softshrink(x, lambd),
                   st.fixed_dictionaries({"lambd": st.sampled_from([0.5, 0.0, 1.0])}), False),
    "hardshrink": (lambda m, x, lambd: F(m).hardshrink(x, lambd),
                   st.fixed_dictionaries({"lambd": st.sampled_from([0.5, 0.0, 1.0])}), False),
    "threshold": (lambda m, x, threshold, value: F(m).threshold(x, threshold, value),
                  st.fixed_dictionaries({"threshold": st.sampled_from([0.0, 0.5, -1.0]),
                                         "value": st.sampled_from([0.0, -2.0, 20.0])}), False),
}

INT_DTYPES = ("int64", "int32", "bool")


@st.composite
def unary_cases(draw, table=UNARY):
    name = draw(st.sampled_from(sorted(table)))
    fn, params_st, takes_ints = table[name]
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


@fuzz(400)
@given(unary_cases(MORE_UNARY))
def test_more_unary(case):
    check(case)


@st.composite
def glu_cases(draw):
    """glu halves ``dim``: its side even (2 or 4) in the fast cases, odd now and then (both must raise)."""
    dtype = draw(S.float_dtypes())
    shape = list(draw(S.shapes(min_dims=1, max_dims=4)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = draw(st.sampled_from([2, 4, 2, 4, 3]))
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    x = S.make_values(np.random.default_rng(seed), shape, dtype, kind)
    return Case(FAMILY, "glu", lambda m, t: F(m).glu(t, dim), [x], params={"dtype": dtype, "kind": kind, "dim": dim},
                seed=seed)


@fuzz(60)
@given(glu_cases())
def test_glu(case):
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
MORE_BINARY = {
    "hypot": _compare_op("hypot"), "logaddexp": _compare_op("logaddexp"), "fmod": _compare_op("fmod"),
    "atan2": _compare_op("atan2"),
}
# ops that take a Python scalar as the second operand in both libraries (and operators: scalar first)
SCALAR_OK = {"add", "sub", "mul", "div", "pow", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "div_floor",
             "div_trunc", "floor_divide", "add_alpha", "sub_alpha", "fmod"}
REVERSED = {"add": lambda m, s, b: s + b, "sub": lambda m, s, b: s - b, "mul": lambda m, s, b: s * b,
            "div": lambda m, s, b: s / b, "pow": lambda m, s, b: s ** b}
SCALARS = [0.0, 1.0, -1.5, 2, 3, -2, 0, 1e4, float("inf"), float("-inf"), float("nan"), True, False, 0.5]
DTYPES = S.FLOATS * 3 + ("int64", "int32", "bool")


@st.composite
def binary_cases(draw, table=BINARY):
    name = draw(st.sampled_from(sorted(table)))
    form = draw(st.sampled_from(["tensors"] * 4 + (["scalar"] if name in SCALAR_OK else [])
                                + (["reversed"] if name in REVERSED else [])))
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    kind = draw(S.kinds())
    if form == "tensors":
        sa, sb = draw(S.broadcast_pair())
        da, db = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
        a, b = S.make_values(rng, sa, da, kind), S.make_values(rng, sb, db, kind)
        fn = table[name]
        return Case(FAMILY, name, fn, [a, b], params={"dtypes": (da, db), "kind": kind}, seed=seed)
    shape = draw(S.shapes())
    dt = draw(st.sampled_from(DTYPES))
    s = draw(st.sampled_from(SCALARS))
    a = S.make_values(rng, shape, dt, kind)
    if form == "scalar":
        fn = table[name]
        return Case(FAMILY, f"{name}_scalar", lambda m, t: fn(m, t, s), [a],
                    params={"dtype": dt, "scalar": s, "kind": kind}, seed=seed)
    fn = REVERSED[name]
    return Case(FAMILY, f"r{name}_scalar", lambda m, t: fn(m, s, t), [a],
                params={"dtype": dt, "scalar": s, "kind": kind}, seed=seed)


@fuzz(700)
@given(binary_cases())
def test_binary(case):
    check(case)


@fuzz(200)
@given(binary_cases(MORE_BINARY))
def test_more_binary(case):
    check(case)


# ---- ternary -----------------------------------------------------------------------------------------------
TERNARY = {
    "lerp": lambda m, a, b, w, v: m.lerp(a, b, w),
    "lerp_scalar": lambda m, a, b, w, v: m.lerp(a, b, v),
    "addcmul": lambda m, a, b, c, v: m.addcmul(a, b, c, value=v),
    "addcdiv": lambda m, a, b, c, v: m.addcdiv(a, b, c, value=v),
}


@st.composite
def ternary_cases(draw):
    """lerp (tensor or scalar weight), addcmul, addcdiv on three broadcastable float tensors of one dtype."""
    name = draw(st.sampled_from(sorted(TERNARY)))
    dtype = draw(S.float_dtypes())
    shapes = draw(S.broadcast_triple())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    arrays = [S.make_values(rng, sh, dtype, kind) for sh in shapes]
    v = draw(st.sampled_from([1, 0.5, -2.0, 0]))
    fn = TERNARY[name]
    return Case(FAMILY, name, lambda m, a, b, c: fn(m, a, b, c, v), arrays,
                params={"dtype": dtype, "kind": kind, "value": v}, seed=seed)


@fuzz(160)
@given(ternary_cases())
def test_ternary(case):
    check(case)
