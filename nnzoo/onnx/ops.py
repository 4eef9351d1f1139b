"""One converter per nnzoo Op: the ONNX node (or small subgraph) that computes what the op's forward does.

A converter reads the current event through the :class:`~nnzoo.onnx.graph.Builder` (``g.arg(i)`` gives the
ONNX name of argument ``i``, ``g.event.args`` the raw arguments) and names the event's outputs with
``g.bind``. An Op without a converter raises :class:`UnsupportedOperatorError` naming it.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from onnx import helper

from ..ops import (
    activation,
    arith,
    attention,
    conv,
    index,
    linalg,
    nn,
    norm,
    pointwise,
    pool,
    reduce,
    rnn,
    shape,
    unary,
)
from .graph import INT64_MAX, Builder, Ref, UnsupportedOperatorError

CONVERTERS: dict[type, Callable[[Builder], None]] = {}


def converts(*classes: type) -> Callable:
    def register(fn):
        for c in classes:
            CONVERTERS[c] = fn
        return fn
    return register


def convert(g: Builder) -> None:
    """Emit the nodes of the current event."""
    fn = CONVERTERS.get(g.event.cls)
    if fn is None:
        raise UnsupportedOperatorError(
            f"nnzoo.onnx.export: the op {g.event.cls.__name__} (from {g.event.cls.__module__}) has no ONNX "
            "converter yet; the supported layers and ops are listed in nnzoo.onnx's docstring")
    fn(g)


def _unsupported(g: Builder, what: str) -> None:
    raise UnsupportedOperatorError(f"nnzoo.onnx.export: {g.op}: {what} is not supported")


def _rank(g: Builder, i: int) -> int:
    return len(g.shape(g.event.args[i]))


# ---- elementwise ---------------------------------------------------------------------------------------------
_BINARY = {arith.Add: "Add", arith.Sub: "Sub", arith.Mul: "Mul", arith.Div: "Div", arith.Pow: "Pow",
           arith.Maximum: "Max", arith.Minimum: "Min"}


@converts(*_BINARY)
def _binary(g):
    g.bind(g.node(_BINARY[g.event.cls], [g.arg(0), g.arg(1)]))


_UNARY = {unary.Exp: "Exp", unary.Log: "Log", unary.Sqrt: "Sqrt", unary.Reciprocal: "Reciprocal", unary.Sin: "Sin",
          unary.Cos: "Cos", unary.Tan: "Tan", unary.Tanh: "Tanh", unary.Sigmoid: "Sigmoid", unary.Abs: "Abs",
          unary.Relu: "Relu", unary.Erf: "Erf", unary.Floor: "Floor", unary.Ceil: "Ceil", unary.Sign: "Sign",
          arith.Neg: "Neg", arith.Clone: "Identity"}


@converts(*_UNARY)
def _unary(g):
    g.bind(g.node(_UNARY[g.event.cls], [g.arg(0)]))


def _c(g: Builder, v: float) -> str:
    """A scalar constant of the op's output dtype."""
    return g.scalar(v, g.out_dtype())


@converts(unary.Rsqrt)
def _rsqrt(g):
    g.bind(g.node("Reciprocal", [g.node("Sqrt", [g.arg(0)])]))


@converts(unary.Square)
def _square(g):
    x = g.arg(0)
    g.bind(g.node("Mul", [x, x]))


@converts(unary.Log1P)
def _log1p(g):
    g.bind(g.node("Log", [g.node("Add", [g.arg(0), _c(g, 1.0)])]))


@converts(unary.Expm1)
def _expm1(g):
    g.bind(g.node("Sub", [g.node("Exp", [g.arg(0)]), _c(g, 1.0)]))


@converts(unary.Log2, unary.Log10)
def _log_base(g):
    base = 2.0 if g.event.cls is unary.Log2 else 10.0
    g.bind(g.node("Div", [g.node("Log", [g.arg(0)]), _c(g, math.log(base))]))


@converts(unary.Silu)
def _silu(g):
    x = g.arg(0)
    g.bind(g.node("Mul", [x, g.node("Sigmoid", [x])]))


@converts(unary.Softplus)
def _softplus(g):
    x, (beta, threshold) = g.arg(0), g.event.args[1:3]
    bx = g.node("Mul", [x, _c(g, beta)])
    soft = g.node("Div", [g.node("Softplus", [bx]), _c(g, beta)])
    g.bind(g.node("Where", [g.node("Greater", [bx, _c(g, threshold)]), x, soft]))


@converts(unary.LogSigmoid)
def _logsigmoid(g):
    g.bind(g.node("Neg", [g.node("Softplus", [g.node("Neg", [g.arg(0)])])]))


@converts(unary.LeakyRelu)
def _leaky_relu(g):
    g.bind(g.node("LeakyRelu", [g.arg(0)], alpha=float(g.event.args[1])))


@converts(unary.Elu)
def _elu(g):
    g.bind(g.node("Elu", [g.arg(0)], alpha=float(g.event.args[1])))


def _normal_cdf(g: Builder, x: str) -> str:
    """0.5 (1 + erf(x / sqrt 2))."""
    e = g.node("Erf", [g.node("Div", [x, _c(g, math.sqrt(2.0))])])
    return g.node("Mul", [_c(g, 0.5), g.node("Add", [e, _c(g, 1.0)])])


@converts(unary.NormalCdf)
def _normal_cdf_op(g):
    g.bind(_normal_cdf(g, g.arg(0)))


@converts(unary.Erfc)
def _erfc(g):
    g.bind(g.node("Sub", [_c(g, 1.0), g.node("Erf", [g.arg(0)])]))


@converts(unary.Gelu)
def _gelu(g):
    x, approximate = g.arg(0), g.event.args[1]
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, _c(g, 0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, _c(g, math.sqrt(2.0 / math.pi))])])
        g.bind(g.node("Mul", [g.node("Mul", [x, _c(g, 0.5)]), g.node("Add", [t, _c(g, 1.0)])]))
    else:
        g.bind(g.node("Mul", [x, _normal_cdf(g, x)]))


@converts(unary.Hardtanh, unary.Clamp, unary.ClampTensor)
def _clip(g):
    lo = g.arg(1) if g.event.args[1] is not None else ""
    hi = g.arg(2) if g.event.args[2] is not None else ""
    if g.event.cls is unary.ClampTensor:  # tensor bounds broadcast: Max then Min
        y = g.arg(0)
        y = g.node("Max", [y, lo]) if lo else y
        g.bind(g.node("Min", [y, hi]) if hi else g.node("Identity", [y]))
        return
    g.bind(g.node("Clip", [g.arg(0), lo, hi]))


@converts(unary.Round)
def _round(g):
    if g.event.args[1]:
        _unsupported(g, "round with decimals")
    g.bind(g.node("Round", [g.arg(0)]))


@converts(arith.Cast)
def _cast(g):
    from onnx.helper import np_dtype_to_tensor_dtype
    g.bind(g.node("Cast", [g.arg(0)], to=np_dtype_to_tensor_dtype(np.dtype(g.event.args[1]))))


@converts(arith.Where)
def _where(g):
    g.bind(g.node("Where", [_as_bool(g, 0), g.arg(1), g.arg(2)]))


def _as_bool(g: Builder, i: int) -> str:
    a = g.event.args[i]
    name = g.arg(i) if isinstance(a, Ref) else g.raw_const(a, g.event2.args[i], None)
    dt = g.dtype(a) if isinstance(a, Ref) else np.asarray(a).dtype
    return name if dt == np.bool_ else g.node("Cast", [name], to=9)  # 9: BOOL


@converts(index.MaskedFill)
def _masked_fill(g):
    g.bind(g.node("Where", [_as_bool(g, 1), g.arg(2), g.arg(0)]))


# ---- linear algebra, embeddings ----------------------------------------------------------------------------------
@converts(linalg.MatMul, linalg.Dot)
def _matmul(g):
    g.bind(g.node("MatMul", [g.arg(0), g.arg(1)]))


@converts(linalg.Einsum)
def _einsum(g):
    spec = g.event.args[0]
    g.bind(g.node("Einsum", [g.arg(i) for i in range(1, len(g.event.args))], equation=str(spec).replace(" ", "")))


@converts(nn.Linear)
def _linear(g):
    x = g.arg(0)
    b = g.arg(2) if g.event.args[2] is not None else ""
    if _rank(g, 0) == 2:
        g.bind(g.node("Gemm", [x, g.arg(1), b] if b else [x, g.arg(1)], transB=1))
        return
    wv = g.const_value(g.event.args[1])  # a parameter: stored transposed for MatMul
    wt = g.const(np.ascontiguousarray(wv.T)) if wv is not None else g.node("Transpose", [g.arg(1)], perm=[1, 0])
    y = g.node("MatMul", [x, wt])
    g.bind(g.node("Add", [y, b]) if b else y)


@converts(nn.Embedding)
def _embedding(g):
    g.bind(g.node("Gather", [g.arg(0), g.arg(1)], axis=0))


# ---- convolution and pooling -------------------------------------------------------------------------------------
def _conv_attrs(g: Builder):
    spec = g.event.args[3]
    nsp = len(g.shape(g.event.args[1])) - 2
    pads = spec.padding[-nsp:]
    return nsp, dict(kernel_shape=list(g.shape(g.event.args[1])[2:]), strides=list(spec.stride[-nsp:]),
                     dilations=list(spec.dilation[-nsp:]), group=int(spec.groups),
                     pads=[int(p[0]) for p in pads] + [int(p[1]) for p in pads])


@converts(conv.Conv)
def _conv(g):
    if g.event.args[4] is not None:
        _unsupported(g, "a convolution with a fixed output size")
    _, attrs = _conv_attrs(g)
    b = [g.arg(2)] if g.event.args[2] is not None else []
    g.bind(g.node("Conv", [g.arg(0), g.arg(1)] + b, **attrs))


@converts(conv.ConvTranspose)
def _conv_transpose(g):
    nsp, attrs = _conv_attrs(g)
    n_in = g.shape(g.event.args[0])[2:]
    out = tuple(g.event.args[4])[-nsp:]
    lo, hi = attrs["pads"][:nsp], attrs["pads"][nsp:]
    natural = [(n - 1) * s - a - b_ + d * (k - 1) + 1 for n, s, a, b_, d, k in
               zip(n_in, attrs["strides"], lo, hi, attrs["dilations"], attrs["kernel_shape"])]
    b = [g.arg(2)] if g.event.args[2] is not None else []
    g.bind(g.node("ConvTranspose", [g.arg(0), g.arg(1)] + b, output_padding=[o - n for o, n in zip(out, natural)],
                  **attrs))


def _pool_axes(g: Builder):
    ah, aw, nd = g.event.args[1], g.event.args[2], g.event.args[3]
    axes = [aw] if nd == 1 else [ah, aw]
    attrs = dict(kernel_shape=[a.k for a in axes], strides=[a.s for a in axes],
                 pads=[a.lo for a in axes] + [max(a.hi, 0) for a in axes])
    if any(a.hi < 0 and -a.hi >= a.s for a in axes):
        _unsupported(g, "a pooling window layout that leaves more than a stride of input unread")
    return nd, axes, attrs


def _planar(g: Builder, nd: int, make: Callable[[str], str]) -> str:
    """Run ``make`` on the input as (N, C, *spatial): an unbatched (C, *spatial) input gets N = 1."""
    x = g.arg(0)
    if _rank(g, 0) == nd + 1:
        return g.squeeze(make(g.unsqueeze(x, [0])), [0])
    return make(x)


@converts(pool.MaxPool)
def _max_pool(g):
    nd, axes, attrs = _pool_axes(g)
    if any(a.d != 1 for a in axes):
        attrs["dilations"] = [a.d for a in axes]
    g.bind(_planar(g, nd, lambda x: g.node("MaxPool", [x], **attrs)))


@converts(pool.AvgPool)
def _avg_pool(g):
    # AveragePool with the padding counted divides every window by k; scale * k restores nnzoo's divisors
    nd, axes, attrs = _pool_axes(g)
    k = math.prod(a.k for a in axes)
    factor = np.asarray(g.event.args[4], dtype=np.float64) * k

    def make(x):
        y = g.node("AveragePool", [x], count_include_pad=1, **attrs)
        if np.allclose(factor, 1.0, rtol=1e-7, atol=0):
            return y
        return g.node("Mul", [y, g.const(factor.astype(g.out_dtype()))])
    g.bind(_planar(g, nd, make))


@converts(pool.Separable)
def _separable(g):
    mh, mw = g.event.args[1], g.event.args[2]
    y = g.arg(0)
    if mh is not None:
        y = g.node("MatMul", [g.const(np.asarray(mh)), y])
    if mw is not None:
        y = g.node("MatMul", [y, g.const(np.ascontiguousarray(np.asarray(mw).T))])
    g.bind(y if y != g.arg(0) else g.node("Identity", [y]))


# ---- normalisation, reductions, softmax ------------------------------------------------------------------------------
@converts(norm.LayerNorm)
def _layer_norm(g):
    x, k, eps = g.arg(0), g.event.args[3], g.event.args[4]
    shape = g.shape(g.event.args[0])[-k:]
    w = g.arg(1) if g.event.args[1] is not None else g.const(np.ones(shape, dtype=g.out_dtype()))
    inputs = [x, w] + ([g.arg(2)] if g.event.args[2] is not None else [])
    g.bind(g.node("LayerNormalization", inputs, axis=-k, epsilon=float(eps)))


def _dims(d) -> list[int] | None:
    if d is None:
        return None
    return [int(d)] if isinstance(d, (int, np.integer)) else [int(i) for i in d]


_REDUCE = {reduce.Sum: "ReduceSum", reduce.Mean: "ReduceMean", reduce.LogSumExp: "ReduceLogSumExp",
           reduce.Prod: "ReduceProd"}


@converts(*_REDUCE)
def _reduce(g):
    g.bind(g.reduce(_REDUCE[g.event.cls], g.arg(0), _dims(g.event.args[1]), g.event.args[2]))


@converts(reduce.AMax)
def _amax(g):
    _, dims, keepdim, largest = g.event.args[:4]
    g.bind(g.reduce("ReduceMax" if largest else "ReduceMin", g.arg(0), _dims(dims), keepdim))


@converts(reduce.MaxDim)
def _max_dim(g):
    _, d, keepdim, largest = g.event.args
    if _rank(g, 0) == 0:
        _unsupported(g, "max/min along a dim of a 0-d tensor")
    x = g.arg(0)
    values = g.reduce("ReduceMax" if largest else "ReduceMin", x, [d], keepdim)
    idx = g.node("ArgMax" if largest else "ArgMin", [x], axis=int(d), keepdims=int(keepdim))
    g.bind([values, idx][:len(g.event.outs)])


@converts(reduce.Var)
def _var(g):
    _, dims, correction, keepdim, take_sqrt = g.event.args[:5]
    x, rank = g.arg(0), _rank(g, 0)
    dims = _dims(dims) if dims is not None else list(range(rank))
    diff = g.node("Sub", [x, g.reduce("ReduceMean", x, dims, True)])
    s = g.reduce("ReduceSum", g.node("Mul", [diff, diff]), dims, keepdim)
    if any(g.dims(g.event.args[0])[d][0] != g.dims(g.event.args[0])[d][1] for d in dims):  # N at run time
        n = g.node("Cast", [g.reduce("ReduceProd", g.node("Gather", [g.node("Shape", [x]), g.ints(dims)], axis=0),
                                     None, False)], to=helper.np_dtype_to_tensor_dtype(g.out_dtype()))
        denom = g.node("Max", [g.node("Sub", [n, _c(g, correction)]), _c(g, 0.0)])
    else:
        n = math.prod(g.shape(g.event.args[0])[d] for d in dims)
        denom = _c(g, max(0, n - correction))
    y = g.node("Div", [s, denom])
    g.bind(g.node("Sqrt", [y]) if take_sqrt else y)


@converts(reduce.Norm)
def _norm(g):
    _, p, dims, keepdim = g.event.args
    ops = {1: "ReduceL1", 2: "ReduceL2"}
    if p not in ops:
        _unsupported(g, f"norm with p={p}")
    g.bind(g.reduce(ops[p], g.arg(0), _dims(dims), keepdim))


@converts(reduce.Softmax, reduce.LogSoftmax)
def _softmax(g):
    g.bind(g.node(g.event.cls.__name__, [g.arg(0)], axis=int(g.event.args[1])))


@converts(reduce.CumSum)
def _cumsum(g):
    g.bind(g.node("CumSum", [g.arg(0), g.const(np.asarray(g.event.args[1], dtype=np.int64))],
                  reverse=int(bool(g.event.args[2]))))


# ---- shapes ---------------------------------------------------------------------------------------------------
@converts(shape.Reshape)
def _reshape(g):
    src, out = g.dims(g.event.args[0]), g.dims(Ref(g.event.outs[0]))
    free = [i for i, (a, b) in enumerate(out) if a != b and (a, b) not in g.sources
            and not (i < len(src) and src[i] == (a, b))]

    def fallback(i):
        if i < len(src) and src[i] == out[i]:
            return 0  # ONNX Reshape: 0 copies the input's dim
        if len(free) == 1:
            return -1
        raise UnsupportedOperatorError(f"Reshape: to {[a for a, _ in out]}: more than one output dim follows "
                                       "the dynamic axes without being an input's dynamic axis")
    g.bind(g.node("Reshape", [g.arg(0), g.shape_tensor(out, fallback)]))


@converts(shape.Permute)
def _permute(g):
    g.bind(g.node("Transpose", [g.arg(0)], perm=[int(d) for d in g.event.args[1]]))


@converts(shape.Expand)
def _expand(g):
    src, out = g.dims(g.event.args[0]), g.dims(Ref(g.event.outs[0]))
    lead = len(out) - len(src)

    def fallback(i):
        if i >= lead and src[i - lead] == out[i]:
            return 1  # Expand keeps an input dim where the target says 1
        raise UnsupportedOperatorError(f"Expand: to {[a for a, _ in out]}: a dynamic target dim that is not "
                                       "the input's own")
    g.bind(g.node("Expand", [g.arg(0), g.shape_tensor(out, fallback)]))


@converts(shape.Repeat)
def _repeat(g):
    sizes = [int(s) for s in g.event.args[1]]
    x, r = g.arg(0), _rank(g, 0)
    if len(sizes) > r:
        x = g.unsqueeze(x, list(range(len(sizes) - r)))
    g.bind(g.node("Tile", [x, g.ints(sizes)]))


@converts(shape.Flip)
def _flip(g):
    dims = _dims(g.event.args[1])
    n = len(dims)
    g.bind(g.node("Slice", [g.arg(0), g.ints([-1] * n), g.ints([-INT64_MAX] * n), g.ints(dims), g.ints([-1] * n)]))


@converts(shape.Cat)
def _cat(g):
    dim, skip = g.event.args[:2]
    parts = [g.arg(i + 2) for i in range(len(g.event.args) - 2) if skip is None or not skip[i]]
    g.bind(g.node("Concat", parts, axis=int(dim)))


@converts(shape.Stack)
def _stack(g):
    dim = int(g.event.args[0])
    rank = len(g.shape(Ref(g.event.outs[0])))
    dim = dim + rank if dim < 0 else dim
    parts = [g.unsqueeze(g.arg(i), [dim]) for i in range(1, len(g.event.args))]
    g.bind(g.node("Concat", parts, axis=dim))


def _slice(g: Builder, x: str, dim: int, start: int, end: int) -> str:
    return g.node("Slice", [x, g.ints([start]), g.ints([end]), g.ints([dim])])


@converts(shape.Split)
def _split(g):
    _, dim, bounds = g.event.args
    bounds2 = g.event2.args[2]
    if list(bounds[:-1]) != list(bounds2[:-1]):
        _unsupported(g, "split sizes that follow a dynamic axis")
    ends = list(bounds[1:-1]) + [INT64_MAX]
    g.bind([_slice(g, g.arg(0), int(dim), int(a), int(b)) for a, b in zip(bounds[:-1], ends)])


@converts(attention._PackedSplit)
def _packed_split(g):
    """q, k, v: the three equal blocks of the packed projection's last axis (its width, 3E, is static)."""
    rank, e = _rank(g, 0), int(g.shape(g.event.args[0])[-1]) // 3
    x = g.arg(0)
    g.bind([_slice(g, x, rank - 1, 0, e), _slice(g, x, rank - 1, e, 2 * e), _slice(g, x, rank - 1, 2 * e, INT64_MAX)])


@converts(shape.Unbind)
def _unbind(g):
    x, dim = g.arg(0), int(g.event.args[1])
    g.bind([g.node("Gather", [x, g.const(np.asarray(i, dtype=np.int64))], axis=dim) for i in range(len(g.event.outs))])


@converts(shape.Narrow)
def _narrow(g):
    _, dim, start, length = g.event.args
    if (start, length) != tuple(g.event2.args[2:4]):
        _unsupported(g, "narrow with bounds that follow a dynamic axis")
    g.bind(_slice(g, g.arg(0), int(dim), int(start), int(start + length)))


@converts(shape.ConstantPad, shape.Pad)
def _pad(g):
    _, widths, extra = g.event.args
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    if g.event.cls is shape.ConstantPad:
        g.bind(g.node("Pad", [g.arg(0), g.ints(pads), _c(g, extra)], mode="constant"))
        return
    mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[extra]
    if mode == "wrap" and g.opset < 19:
        _unsupported(g, "circular padding below opset 19")
    g.bind(g.node("Pad", [g.arg(0), g.ints(pads)], mode=mode))


@converts(shape.Triangle)
def _triangle(g):
    _, k, upper = g.event.args
    g.bind(g.node("Trilu", [g.arg(0), g.const(np.asarray(k, dtype=np.int64))], upper=int(bool(upper))))


# ---- indexing -------------------------------------------------------------------------------------------------
def _basic_key(g: Builder, x: str, key, key2, dims) -> str:
    """x[key] for a basic key (ints, slices with step > 0, None), one Slice/Gather/Unsqueeze per item."""
    key = key if isinstance(key, tuple) else (key,)
    key2 = key2 if isinstance(key2, tuple) else (key2,)
    cur = d = 0  # the current axis of the result, the next dim of x
    for k, k2 in zip(key, key2):
        if k is None:
            x = g.unsqueeze(x, [cur])
            cur += 1
        elif isinstance(k, slice):
            n1, n2 = dims[d]
            s1, s2 = k.indices(n1), k2.indices(n2)
            if s1 != (0, n1, 1) or s2 != (0, n2, 1):
                if k.start != k2.start or k.step != k2.step or (k.stop != k2.stop and not (
                        k.stop >= n1 and k2.stop >= n2)):
                    _unsupported(g, "a slice whose bounds follow a dynamic axis")
                stop = INT64_MAX if k.stop is None or (k.stop != k2.stop) else int(k.stop)
                x = g.node("Slice", [x, g.ints([0 if k.start is None else int(k.start)]), g.ints([stop]),
                                     g.ints([cur]), g.ints([1 if k.step is None else int(k.step)])])
            cur, d = cur + 1, d + 1
        elif k is Ellipsis:
            _unsupported(g, "an unparsed Ellipsis key")
        else:
            if k != k2:
                _unsupported(g, "an integer index that follows a dynamic axis")
            x = g.node("Gather", [x, g.const(np.asarray(int(k), dtype=np.int64))], axis=cur)
            d += 1
    return x


@converts(index.GetItem)
def _getitem(g):
    g.bind(_basic_key(g, g.arg(0), g.event.args[1], g.event2.args[1], g.dims(g.event.args[0])))


@converts(index.Index)
def _index(g):
    plan, plan2 = g.event.args[1], g.event2.args[1]
    if plan.mask is not None or len(plan.arrays) != 1:
        _unsupported(g, "indexing with a boolean mask or several index tensors")
    x = g.arg(0) if plan.identity else _basic_key(g, g.arg(0), plan.basic, plan2.basic, g.dims(g.event.args[0]))
    idx = g.raw_const(np.asarray(plan.arrays[0], dtype=np.int64), np.asarray(plan2.arrays[0], dtype=np.int64), None)
    g.bind(g.node("Gather", [x, idx], axis=int(plan.axes[0])))


@converts(index.Gather)
def _gather(g):
    g.bind(g.node("GatherElements", [g.arg(0), g.arg(2)], axis=int(g.event.args[1])))


# ---- attention ---------------------------------------------------------------------------------------------------
@converts(attention.ScaledDotProductAttention)
def _sdpa(g):
    q, k, v = g.arg(0), g.arg(1), g.arg(2)
    mask, dropout_p, scale, _safe, weights = g.event.args[3:8]
    if dropout_p > 0:
        _unsupported(g, "attention dropout (export in eval mode)")
    r = _rank(g, 1)
    kt = g.node("Transpose", [k], perm=list(range(r - 2)) + [r - 1, r - 2])
    s = g.node("Mul", [g.node("MatMul", [q, kt]), _c(g, scale)])
    if mask is not None:
        m = g.arg(3)
        dt = g.dtype(mask) if isinstance(mask, Ref) else np.asarray(mask).dtype
        if dt == np.bool_:
            s = g.node("Where", [m, s, _c(g, -np.inf)])
        else:
            s = g.node("Add", [s, m])
    p = g.node("Softmax", [s], axis=-1)
    out = g.node("MatMul", [p, v])
    g.bind([out, p] if weights else out)


# ---- recurrent layers --------------------------------------------------------------------------------------------
_GATES = {"RNN_TANH": (1, [0]), "RNN_RELU": (1, [0]), "LSTM": (4, [0, 3, 1, 2]), "GRU": (3, [1, 0, 2])}
_CELLS = (rnn.RNNTanhCellStep, rnn.RNNReluCellStep, rnn.LSTMCellStep, rnn.GRUCellStep)


@converts(rnn.RNNTanhLayer, rnn.RNNReluLayer, rnn.LSTMLayer, rnn.GRULayer, *_CELLS)
def _recurrent(g):
    """ONNX's RNN/LSTM/GRU, one direction: the gates reordered (PyTorch i f g o -> ONNX i o f c for the LSTM,
    r z n -> z r h for the GRU, with linear_before_reset=1 as PyTorch computes n)."""
    cls, args = g.event.cls, g.event.args
    cell = cls in _CELLS
    if not cell:
        if args[7] is not None:
            _unsupported(g, "an LSTM with proj_size > 0 (ONNX's LSTM has no projection)")
        if args[8] is not None:
            _unsupported(g, "packed sequences")
    mode, reverse = cls.mode, (False if cell else bool(args[9]))
    n_gates, order = _GATES[mode]
    consts = [None if args[i] is None else g.const_value(args[i]) for i in (3, 4, 5, 6)]
    if any(c is None and args[i] is not None for c, i in zip(consts, (3, 4, 5, 6))):
        _unsupported(g, "recurrent weights computed from the inputs (or export_params=False / "
                     "do_constant_folding=False)")
    w_ih, w_hh, b_ih, b_hh = consts
    hidden = w_hh.shape[1]

    def reorder(a):
        return np.concatenate([np.split(a, n_gates, axis=0)[i] for i in order], axis=0)
    zeros = np.zeros(n_gates * hidden, dtype=w_ih.dtype)
    bias = np.concatenate([reorder(b_ih if b_ih is not None else zeros), reorder(b_hh if b_hh is not None else zeros)])
    x = g.unsqueeze(g.arg(0), [0]) if cell else g.arg(0)

    def state(i):
        if args[i] is None:
            return ""
        c = g.const_value(args[i])
        if c is not None and not np.any(c) and not np.any(g.r2.values[args[i].index].data):
            return ""  # zeros (in both runs): ONNX's default initial state
        return g.unsqueeze(g.arg(i), [0])
    inputs = [x, g.const(reorder(w_ih)[None]), g.const(reorder(w_hh)[None]), g.const(bias[None]), "", state(1)]
    attrs = dict(hidden_size=int(hidden), direction="reverse" if reverse else "forward")
    if mode == "LSTM":
        inputs.append(state(2))
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    if mode.startswith("RNN"):
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"]
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    while inputs and inputs[-1] == "":
        inputs.pop()
    outs = g.node(op_type, inputs, n_out=3 if mode == "LSTM" else 2, **attrs)
    states = [g.squeeze(o, [0]) for o in outs[1:]]
    if cell:
        g.bind(states)
    else:
        g.bind([g.squeeze(outs[0], [1])] + states)


__all__ = ["CONVERTERS", "convert"]



@converts(activation.Hardswish)
def _hardswish(g):
    g.bind(g.node("HardSwish", [g.arg(0)]))


@converts(activation.Hardsigmoid)
def _hardsigmoid(g):
    g.bind(g.node("HardSigmoid", [g.arg(0)], alpha=1.0 / 6.0, beta=0.5))


@converts(pointwise.Addcmul, pointwise.Addcdiv)
def _addc(g):
    x, t1, t2, value = g.arg(0), g.arg(1), g.arg(2), float(g.event.args[3])
    num = g.node("Mul", [t1, _c(g, value)]) if value != 1 else t1
    op = "Mul" if g.event.cls is pointwise.Addcmul else "Div"
    g.bind(g.node("Add", [x, g.node(op, [num, t2])]))


@converts(pointwise.Lerp)
def _lerp(g):
    a, b, w = g.arg(0), g.arg(1), g.event.args[2]
    diff = g.node("Sub", [b, a])
    if isinstance(w, (int, float)):  # a number: PyTorch's form chosen here
        if abs(w) < 0.5:
            g.bind(g.node("Add", [a, g.node("Mul", [diff, _c(g, w)])]))
        else:
            g.bind(g.node("Sub", [b, g.node("Mul", [diff, _c(g, 1.0 - w)])]))
        return
    w = g.arg(2)
    small = g.node("Less", [g.node("Abs", [w]), _c(g, 0.5)])
    lo = g.node("Add", [a, g.node("Mul", [w, diff])])
    hi = g.node("Sub", [b, g.node("Mul", [diff, g.node("Sub", [_c(g, 1.0), w])])])
    g.bind(g.node("Where", [small, lo, hi]))
