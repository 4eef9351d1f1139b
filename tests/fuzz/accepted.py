"""Every difference from PyTorch the fuzzer accepts, in one place, each with its reason.

The harness (``harness.py``) consults this module for each mismatch it finds and nothing else: a mismatch
that no entry here covers fails the test. Entries name the ops they cover (fnmatch patterns on
``family/op``), the kinds of mismatch (``values``, ``nonfinite``, ``raises``, ...) and a predicate on the
mismatch that checks the exact condition under which the difference is accepted (e.g. "the input is NaN at
every offending element"), so that anything else in the same op still fails.

- ``ROUNDING`` is the numerical rule the harness applies itself (see its docstring): nnzoo within rounding
  of the exact answer as PyTorch is, e.g. float32 summation order near cancellation.
- ``ACCEPTED``: deliberate or unavoidable behaviour differences, also listed in README.md ("Known
  differences from PyTorch").
- ``PENDING_FIX``: nnzoo bugs the fuzzer found in files another change is fixing right now, or found in ops
  that are not fixed yet (each reason says what differs). Temporary: an entry is removed when its fix (or
  the decision to accept the difference) lands, and the fuzzer must then pass without it. Empty now.
"""
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Difference:
    key: str
    ops: tuple           # fnmatch patterns on "family/op"
    kinds: tuple         # mismatch kinds covered
    reason: str
    applies: Callable = None   # predicate on the Mismatch; None: every mismatch of these ops and kinds

    def covers(self, m):
        if m.kind not in self.kinds:
            return False
        if not any(fnmatch.fnmatchcase(m.name, p) for p in self.ops):
            return False
        return self.applies is None or bool(self.applies(m))


def lookup(m):
    """(entry, "accepted" | "pending") for the first entry that covers mismatch ``m``, else (None, None)."""
    for entry in PENDING_FIX:  # first: a known bug is reported as such even where a broader rule would pass it
        if entry.covers(m):
            return entry, "pending"
    for entry in ACCEPTED:
        if entry.covers(m):
            return entry, "accepted"
    return None, None


# ---- predicates ---------------------------------------------------------------------------------------------
def _has_nonfinite(arrays):
    return any(not np.isfinite(a).all() for a in arrays)


def _has_subnormal(arrays):
    return any(np.any((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)) for a in arrays if a.dtype.kind == "f")


def _input_special_where_bad(m):
    """The op's (single) input is NaN (hardtanh, relu6, elu: gradients) or +-inf/NaN (gelu: value and gradient)
    at every offending element."""
    x = m.case.arrays[0]
    if m.bad is None or x.shape != m.bad.shape:
        return False
    if m.case.op == "gelu":
        return bool((~np.isfinite(x[m.bad])).all())
    return m.what == "grad of input 0" and bool(np.isnan(x[m.bad]).all())


def _conv_nonfinite(m):
    """An input or weight holds inf/NaN, and at every offending element one library gives NaN, the other not."""
    return (_has_nonfinite(m.case.arrays[:2]) and m.bad is not None
            and bool((np.isnan(m.got[m.bad]) != np.isnan(m.want[m.bad])).all()))


def _groups(m):
    """The rows a normalisation op normalises, as a 2-d array (rows, elements)."""
    x, p = m.case.arrays[0], m.case.params
    if m.case.op == "layer_norm":
        return x.reshape(-1, int(np.prod(p["normalized_shape"])))
    if m.case.op == "group_norm":
        return x.reshape(x.shape[0] * p["num_groups"], -1)
    return np.swapaxes(x, 0, 1).reshape(x.shape[1], -1)  # batch_norm: per channel


def _constant_rows(m):
    """A normalised row of finite equal values (var = 0: x - mean is rounding noise that 1 / sqrt(eps)
    amplifies), and |nnzoo - torch| <= 16 u max|x| / sqrt(eps) * sum|upstream| * max(1, |weight|) at every
    offending element (u: the dtype's unit roundoff; |weight|: the largest other input): the size that noise
    can reach in a weight gradient."""
    if m.case.op == "batch_norm" and not m.case.params["training"]:
        return False
    rows = _groups(m)
    if rows.size == 0 or m.bad is None or getattr(m, "us", None) is None:
        return False
    finite = np.isfinite(rows).all(axis=1)
    if not (finite & (rows.max(axis=1) == rows.min(axis=1))).any():
        return False
    u = np.finfo(m.want.dtype).eps / 2
    x = rows[finite]
    scale = max([1.0] + [float(np.abs(a).max()) for a in m.case.arrays[1:] if a.dtype.kind == "f" and a.size])
    upstream = sum(float(np.abs(v).sum()) for v in m.us if v is not None)
    bound = 16 * u * float(np.abs(x).max()) / np.sqrt(m.case.params["eps"]) * upstream * scale
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(m.got[m.bad].astype(np.float64) - m.want[m.bad]) <= bound))


def _mean_dwarfs_spread(m):
    """group/layer norm input gradient, and |nnzoo - torch| <= 64 u R max|torch| at every offending element,
    R = the largest |mean| / sqrt(var + eps) of a normalised row: the digits the a x + c form loses."""
    if m.what != "grad of input 0" or m.bad is None:
        return False
    rows = _groups(m).astype(np.float64)
    rows = rows[np.isfinite(rows).all(axis=1)]
    want = m.want[np.isfinite(m.want)]
    if rows.size == 0 or want.size == 0:
        return False
    ratio = float(np.max(np.abs(rows.mean(axis=1)) / np.sqrt(rows.var(axis=1) + m.case.params["eps"])))
    u = np.finfo(m.want.dtype).eps / 2
    with np.errstate(all="ignore"):
        err = np.abs(m.got[m.bad].astype(np.float64) - m.want[m.bad])
    return bool(np.all(err <= 64 * u * max(ratio, 1.0) * float(np.abs(want).max())))


def _std_of_subnormals(m):
    """float32 std whose input is 0 or subnormal at every offending element, nnzoo's gradient 0 there and
    PyTorch's +-inf or NaN."""
    x = m.case.arrays[0]
    if x.dtype != np.float32 or m.bad is None or x.shape != m.bad.shape:
        return False
    xb = x[m.bad]
    return (bool((np.abs(xb) < np.finfo(np.float32).tiny).all()) and bool((m.got[m.bad] == 0).all())
            and not np.isfinite(m.want[m.bad]).any())


def _double_accumulation(m):
    """float32 cumsum/cumprod, and nnzoo computing in float64 (cast back) gives PyTorch's float32 values (NaN/inf
    pattern exact, finite values within the tolerance) at every offending element."""
    if m.want.dtype != np.float32 or m.bad is None or getattr(m, "us", None) is None:
        return False
    from .harness import close_enough, nnzoo_in_float64
    vals = nnzoo_in_float64(m.case, m.us)
    if vals is None or m.index >= len(vals) or vals[m.index] is None:
        return False
    v = vals[m.index].astype(np.float32)
    if v.shape != m.want.shape:
        return False
    return close_enough(v[m.bad], m.want[m.bad], "fwd" if m.what.startswith("output") else "grad")


def pool_window_in_padding(params, spatial):
    """Whether some max-pooling window (``params`` as F.max_pool1d/2d take them, input sizes ``spatial``)
    lies entirely in the padding (possible with dilation > 1)."""
    nsp = len(spatial)

    def axes(v):
        return (v,) * nsp if isinstance(v, int) else tuple(v)
    ks = axes(params["kernel_size"])
    ss = ks if params.get("stride") is None else axes(params["stride"])
    pad, dil, ceil = params.get("padding", 0), params.get("dilation", 1), params.get("ceil_mode", False)
    for n, kk, s in zip(spatial, ks, ss):
        span = dil * (kk - 1) + 1
        n_out = (n + 2 * pad - span + (s - 1 if ceil else 0)) // s + 1
        if ceil and (n_out - 1) * s >= n + pad:
            n_out -= 1
        for o in range(n_out):
            if all(not 0 <= o * s - pad + j * dil < n for j in range(kk)):
                return True
    return False


def circular_pad_overreads(pad, shape):
    """Whether F.pad(mode='circular') with ``pad`` would, on an input of ``shape``, pad a side by more than
    what the other side's crop leaves (but no more than the size): PyTorch then reads out of bounds."""
    for i in range(len(pad) // 2):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        n = shape[len(shape) - 1 - i]
        if lo > n + min(hi, 0) or hi > n + min(lo, 0):
            return True
    return False


def _circular_overread(m):
    return m.detail.startswith("nnzoo raises") and circular_pad_overreads(m.case.params["pad"],
                                                                           m.case.arrays[0].shape)


def _torch_internal_assert(m):
    return m.detail.startswith("only torch raises") and "INTERNAL ASSERT FAILED" in m.detail


def _window_in_padding(m):
    nsp = 1 if m.case.op.endswith("1d") else 2
    return pool_window_in_padding(m.case.params, m.case.arrays[0].shape[-nsp:])


def _quotient_overflows(m):
    """remainder where a / b overflows to +-inf (b subnormal, a large) at every offending element, and PyTorch
    gives NaN there."""
    if m.bad is None or m.what != "output 0":
        return False
    a = m.case.arrays[0]
    b = m.case.arrays[1] if len(m.case.arrays) > 1 else np.asarray(m.case.params.get("scalar"))
    dt = m.want.dtype
    with np.errstate(all="ignore"):
        q = np.broadcast_to(a.astype(dt) / np.asarray(b).astype(dt), m.bad.shape)
    return bool(np.isinf(q[m.bad]).all()) and bool(np.isnan(m.want[m.bad]).all())


def _reciprocal_overflows(m):
    """scalar / x where 1 / x overflows (|x| below 1 / the dtype's max) at every offending element."""
    x = m.case.arrays[0]
    if m.bad is None or x.shape != m.bad.shape or x.dtype.kind != "f":
        return False
    xb = np.abs(x[m.bad])
    return bool(((xb > 0) & (xb < 1.0 / np.finfo(x.dtype).max)).all())


def _floor_divide_backward(m):
    return m.what == "backward" and "derivative for aten::floor_divide is not implemented" in m.detail


def _round_int_decimals(m):
    return (m.case.arrays[0].dtype.kind in "iu" and m.case.params.get("decimals") == 0
            and m.detail.startswith("torch raises"))


def _transpose_output_empty(m):
    """conv_transpose whose output length is 0 along some axis (PyTorch raises, nnzoo returns it)."""
    p, x, w = m.case.params, m.case.arrays[0], m.case.arrays[1]
    nsp = w.ndim - 2

    def axes(v):
        return (v,) * nsp if isinstance(v, int) else tuple(v)
    sizes = [(n - 1) * s - 2 * pd + d * (k - 1) + o + 1 for n, s, pd, d, k, o in zip(
        x.shape[-nsp:], axes(p["stride"]), axes(p["padding"]), axes(p["dilation"]), w.shape[2:],
        axes(p["output_padding"]))]
    return m.detail.startswith("torch raises") and 0 in sizes


def _subnormal_precision(m):
    """Subnormal inputs, and nnzoo within 1e-3 (relative) of the float64 reference at every offending element."""
    exact = getattr(m, "exact", None)
    if exact is None or not _has_subnormal(m.case.arrays) or exact.shape != m.got.shape:
        return False
    with np.errstate(all="ignore"):
        err = np.abs(m.got.astype(np.float64) - exact)
        return bool(np.all(err[m.bad] <= 1e-3 * np.abs(exact[m.bad]) + 1e-6))


def _logit_simd_edge(m):
    """logit's input gradient where the input is -0.0 (eps=None) or NaN (eps given) at every offending element."""
    x = m.case.arrays[0]
    if m.what != "grad of input 0" or m.bad is None or x.shape != m.bad.shape:
        return False
    xb = x[m.bad]
    if m.case.params.get("eps") is None:
        return bool(((xb == 0) & np.signbit(xb)).all())
    return bool(np.isnan(xb).all())


def _float32_sixth(m):
    """float64 hardsigmoid input gradient, and nnzoo's value (g / 6) times 6 float32(1/6) is PyTorch's
    (g float32(1/6)) within 4 ulp at every offending element."""
    if m.want.dtype != np.float64 or m.what != "grad of input 0" or m.bad is None:
        return False
    rescaled = m.got[m.bad] * (6.0 * float(np.float32(1.0 / 6.0)))
    want = m.want[m.bad]
    return bool(np.all(np.abs(rescaled - want) <= 4 * np.finfo(np.float64).eps * np.abs(want)))


def _soft_margin_overflow(m):
    """soft_margin_loss where -y x > 80 (exp overflows in float32 at 88.7) for some element (an inf or 1e4
    input), and nnzoo finite at every offending element."""
    x, y = m.case.arrays[0], m.case.arrays[1]
    with np.errstate(all="ignore"):
        z = -(x.astype(np.float64) * y)
    return bool((z > 80).any()) and m.bad is not None and bool(np.isfinite(m.got[m.bad]).all())


def _poisson_masked_stirling(m):
    """poisson_nll_loss(full=True)'s target gradient, the target <= 1 and PyTorch NaN (nnzoo not: -x, inf for an
    input of -inf) at every offending element."""
    t = m.case.arrays[1]
    if not m.case.params.get("full") or m.what != "grad of input 1" or m.bad is None or t.shape != m.bad.shape:
        return False
    return (bool((t[m.bad] <= 1).all()) and bool(np.isnan(m.want[m.bad]).all())
            and not np.isnan(m.got[m.bad]).any())


def _bool_operand_backward(m):
    return (m.what == "backward" and m.detail.startswith("only torch raises") and "bool tensor" in m.detail
            and any(a.dtype == np.bool_ for a in m.case.arrays))


def _tie_pick(m):
    """topk/kthvalue: the indices output differs only among equal values (nnzoo's and PyTorch's indices
    select the same values, NaN-equal), or a gradient where the input holds ties."""
    x = m.case.arrays[0]
    if not m.what.startswith("output"):
        return x.size > 0 and np.unique(x).size < x.size
    if m.got.dtype != np.int64 or x.ndim == 0 or m.got.shape != m.want.shape:
        return False
    d = m.case.params["dim"] % x.ndim
    got, want = m.got, m.want
    if m.case.op == "kthvalue" and not m.case.params.get("keepdim"):
        got, want = np.expand_dims(got, d), np.expand_dims(want, d)
    a, b = np.take_along_axis(x, got, d), np.take_along_axis(x, want, d)
    return bool(np.array_equal(a, b, equal_nan=x.dtype.kind == "f"))


ROUNDING = Difference(
    "rounding", ("*",), ("values",),
    "Floating-point rounding: nnzoo's value differs from PyTorch's by more than the tolerance but is as close "
    "to the exact answer (PyTorch in float64, with the spread that rounding the inputs alone causes) as "
    "PyTorch's is, within a factor 4. Summation order near cancellation (sum/mean/var/conv/matmul over values "
    "of 1e4 and 1) and fused vs composed formulas give such differences; neither result is more correct.")


ACCEPTED = [
    Difference(
        "subnormal_precision", ("*",), ("values",),
        "Subnormal inputs (|x| < 1.2e-38 in float32, 2.2e-308 in float64) keep only the bits above the smallest "
        "subnormal, so products and quotients that pass through them carry relative errors up to ~1e-4 "
        "instead of 1e-7 (float32), and where an intermediate underflows the two libraries round differently "
        "(e.g. batch_norm over subnormal values, an LSTM whose weights hold subnormals). Accepted within 1e-3 "
        "relative of the float64 reference.",
        _subnormal_precision),
    Difference(
        "double_accumulation", ("reduction/cumsum", "reduction/cumprod", "reduction/var", "reduction/std",
                                "reduction/prod"),
        ("values", "nonfinite"),
        "float32 cumsum/cumprod/var/std: PyTorch accumulates them in double on the CPU, nnzoo in float32. A running "
        "product that underflows to 0 (or overflows to inf) in float32 does not in double, so a later inf (or "
        "0) gives +-inf (or a finite value) in PyTorch where float32 gives NaN, and sums of 1e4-sized terms "
        "round differently; squared deviations of subnormals underflow to 0 in float32 (var 0/0 = NaN against "
        "PyTorch's inf at N = correction). prod's gradient goes through that double cumprod in PyTorch when the "
        "input holds a zero (e.g. [1e-40, -1e-40, -inf, NaN]: 1e-80 (-inf) is inf in double, -0 (-inf) NaN in "
        "float32). Accepted where nnzoo computing in float64 reproduces PyTorch's float32 result.",
        _double_accumulation),
    Difference(
        "norm_constant_rows", ("norm/*",), ("values",),
        "layer/group/batch norm over a row of equal values: the exact x - mean is 0 and both libraries compute "
        "rounding noise of ~u |x| instead (PyTorch's kernels accumulate (x - mean) rstd, nnzoo's fused layer "
        "norm forms the weight gradient as rstd @ (g x) - (mean rstd) @ g), which 1 / sqrt(var + eps) = "
        "1 / sqrt(eps) amplifies: e.g. a float32 weight gradient of 3e-5 against PyTorch's 7e-7 where the exact "
        "value is 0. Accepted when such a row is present, within 16 u max|x| / sqrt(eps) sum|upstream| max(1, "
        "|weight|).",
        _constant_rows),
    Difference(
        "norm_mean_dwarfs_spread", ("norm/group_norm", "norm/layer_norm"), ("values",),
        "group_norm / layer_norm input gradient where a row's |mean| dwarfs its spread: nnzoo's fused kernel "
        "forms dx as rstd g w + a x + c (PyTorch's layer_norm CPU form), which loses log10(|mean| / std) digits; "
        "PyTorch's group_norm kernel works on x - mean and does not (e.g. 4.105713 vs 4.105225 in float32 for a "
        "group of 0.842 and 0.824). Accepted within 64 u (|mean| / std) max|gradient|.",
        _mean_dwarfs_spread),
    Difference(
        "std_of_subnormals", ("reduction/std",), ("nonfinite",),
        "float32 std over values that are 0 or subnormal: the squared deviations underflow to 0 in nnzoo's float32 "
        "sums (std 0, gradient 0 by PyTorch's own subgradient rule) while PyTorch's double accumulation keeps std "
        "~1e-40 and its backward g / (2 std) overflows to +-inf (NaN where x - mean is 0).",
        _std_of_subnormals),
    Difference(
        "conv_nonfinite_through_padding", ("conv_pool/conv*",), ("nonfinite",),
        "Convolutions with inf/NaN in the input or the weight: nnzoo computes a convolution (and the input "
        "gradient, a full correlation of the output gradient) as GEMMs on zero-padded arrays, so a non-finite "
        "value meets padding zeros (0 * inf = NaN) where PyTorch's kernels skip the out-of-range taps, and "
        "PyTorch's transposed convolution (col2im) does the same at positions where nnzoo's does not. One "
        "library gives NaN, the other a finite value or inf, at those positions. Finite inputs and weights "
        "agree.",
        _conv_nonfinite),
    Difference(
        "conv_transpose_empty_output", ("conv_pool/conv_transpose*",), ("raises",),
        "conv_transpose with an output length of 0 ((L-1) stride - 2 padding + dilation (k-1) + output_padding "
        "+ 1 = 0): PyTorch returns the empty tensor or raises 'Output size is too small' depending on the dtype, "
        "the batch size and groups (its oneDNN float32 path returns it, its reference path raises unless the "
        "batch is empty); nnzoo always returns the empty tensor, with zero gradients.",
        _transpose_output_empty),
    Difference(
        "pool_window_in_padding", ("conv_pool/max_pool*",), ("values", "nonfinite"),
        "A max-pooling window lying entirely in the padding (possible with dilation > 1): both libraries output "
        "-inf, but PyTorch returns an index past the end of the row and its backward writes that window's "
        "gradient out of bounds (into a neighbouring plane, or corrupting the heap: 'double free or "
        "corruption'); nnzoo clips the index to the nearest input element and sends the window no gradient. "
        "The strategies do not generate such windows (PyTorch's write could crash the test process); the "
        "entry documents the difference.",
        _window_in_padding),
    Difference(
        "circular_pad_overread", ("shape/pad",), ("raises",),
        "F.pad(mode='circular') where one side pads by more than what the other side's crop leaves (e.g. "
        "(-1, 2) on a dim of size 2): PyTorch returns values read past the cropped input (uninitialised memory, "
        "different from run to run); nnzoo raises. The strategies do not generate such pads; the entry "
        "documents the difference.",
        _circular_overread),
    Difference(
        "torch_internal_assert", ("elementwise/rpow_scalar",), ("raises",),
        "PyTorch bugs: the backward of a Python bool raised to a tensor power (True ** x) fails with "
        "'INTERNAL ASSERT FAILED ... unknown ivalue tag'; nnzoo differentiates it as 1 ** x.",
        _torch_internal_assert),
    Difference(
        "special_value_simd_tail", ("elementwise/hardtanh", "elementwise/relu6", "elementwise/elu",
                                    "elementwise/gelu", "elementwise/selu", "elementwise/celu",
                                    "elementwise/hardswish", "elementwise/hardshrink", "elementwise/softshrink"),
        ("values", "nonfinite"),
        "PyTorch's result depends on where the element sits in memory (its vectorised loop and its scalar "
        "tail disagree): the gradient at a NaN input of hardtanh/relu6/hardshrink/softshrink (0 vs passed "
        "through) and elu/selu/celu/hardswish (NaN vs passed through), and gelu(+inf) in float32 (NaN vs inf) "
        "with its gradient; a tensor of 40 such values gets both answers (float32: the first 32 elements take "
        "the vectorised rule, the last 8 the scalar one; measured on torch 2.13). nnzoo applies one rule "
        "everywhere (hardtanh, hardshrink, softshrink: the gradient passes; elu, selu, celu, hardswish: NaN; "
        "gelu(inf) = inf).",
        _input_special_where_bad),
    Difference(
        "remainder_huge_quotient", ("elementwise/remainder*", "elementwise/fmod*"), ("nonfinite",),
        "remainder(a, b) and fmod(a, b) where a / b overflows (b subnormal, a ~1e4): PyTorch's vectorised loop "
        "gives NaN (its fmod goes through a / b; float64 fmod is NaN at every position, float32 in the first 32 "
        "of 40 elements), its scalar tail and nnzoo (NumPy's fmod) the exact remainder.",
        _quotient_overflows),
    Difference(
        "rdiv_reciprocal", ("elementwise/rdiv_scalar",), ("values", "nonfinite"),
        "number / tensor: PyTorch's Tensor.__rtruediv__ is reciprocal(x) * number, nnzoo divides (one rounding). "
        "Where 1 / x overflows (a subnormal x) PyTorch gives inf * 0 = NaN for 0 / x and inf for 1e-300 / x, "
        "nnzoo the quotient (0, 1e10).",
        _reciprocal_overflows),
    Difference(
        "floor_divide_gradient", ("elementwise/floor_divide*",), ("raises",),
        "floor_divide's backward: PyTorch raises 'derivative for aten::floor_divide is not implemented'; nnzoo "
        "gives zero gradients, as both libraries do for div(rounding_mode='floor').",
        _floor_divide_backward),
    Difference(
        "round_int_decimals_0", ("elementwise/round",), ("raises",),
        "round(integer_tensor, decimals=0): PyTorch's decimals overload is not implemented for integers "
        "(while round(integer_tensor) returns a copy); nnzoo returns the copy both ways.",
        _round_int_decimals),
    Difference(
        "logit_simd_tail", ("elementwise/logit",), ("nonfinite",),
        "logit's input gradient where PyTorch's vectorised loop and its scalar tail disagree, so the answer "
        "depends on where the element sits in memory (the first 32 of 40 elements vectorised): at x = -0.0 "
        "(eps=None) the scalar loop gives g * inf (the sign of g, its rule at x = 0 and 1), the vectorised one "
        "g / (x (1 - x)) = g / -0 (the opposite sign); at a NaN input with eps given the scalar loop gives NaN, "
        "the vectorised one 0. nnzoo applies the scalar rules everywhere (g * inf at +-0 and 1; NaN at NaN).",
        _logit_simd_edge),
    Difference(
        "hardsigmoid_float32_slope", ("elementwise/hardsigmoid",), ("values",),
        "float64 hardsigmoid input gradient: PyTorch's backward multiplies by the float constant 1.0f / 6.0f even "
        "for double (g * 0.16666667163372, 3e-8 relative off), nnzoo by the exact 1/6 of the dtype; matching a "
        "float32 constant in float64 would make nnzoo less accurate. Accepted where nnzoo's value times "
        "6 * float32(1/6) is PyTorch's.",
        _float32_sixth),
    Difference(
        "soft_margin_stable", ("loss/soft_margin_loss",), ("nonfinite",),
        "soft_margin_loss where -y x exceeds exp's range (|x| = 1e4 or inf): PyTorch's log(1 + exp(-y x)) "
        "overflows to inf and its gradient exp / (1 + exp) to inf / inf = NaN; nnzoo's stable softplus (linear "
        "above 20) gives the finite loss and gradient. Accepted where nnzoo is finite and -y x > 80 somewhere.",
        _soft_margin_overflow),
    Difference(
        "poisson_nll_full_target_grad", ("loss/poisson_nll_loss",), ("nonfinite",),
        "poisson_nll_loss(full=True)'s target gradient at targets <= 1: PyTorch computes the Stirling term "
        "t log t - t + log(2 pi t) / 2 everywhere and masks it (masked_fill) where t <= 1, so its backward "
        "forms 0 * log(0) = NaN at t = 0; nnzoo's gradient there is that of the other terms (-x, or "
        "-log(x + eps)): the Stirling term is absent, its derivative 0.",
        _poisson_masked_stirling),
    Difference(
        "bool_operand_backward", ("elementwise/atan2", "elementwise/logaddexp"), ("raises",),
        "atan2/logaddexp of a bool tensor and a float tensor: PyTorch computes the forward but its backward "
        "raises (it negates or subtracts the bool operand: 'Negation, the `-` operator, on a bool tensor is not "
        "supported'); nnzoo differentiates with the bool operand as 0/1 floats (the float operand's gradient is "
        "well defined; raising only at backward would make nnzoo worse).",
        _bool_operand_backward),
    Difference(
        "tie_order", ("reduction/topk", "reduction/kthvalue"), ("values",),
        "topk/kthvalue over tied values: PyTorch's CPU kernels select with std::nth_element/std::partial_sort "
        "(topk) and a quickselect of its own (kthvalue), whose order among equal values is deterministic but "
        "undocumented and follows no index rule (measured on torch 2.13 over 200 random rows of integers in "
        "[-2, 2] per length: topk agrees with 'lowest index first' on 100% of rows of 3, ~55% of 4, ~5% of 16, "
        "0% of 100; kthvalue on 84%, 38%, 4%; the top 3 of [1, 3, 3, 2, 3, 3, 0, 3] are indices [4, 7, 5]). "
        "Reproducing it means porting those algorithms row by row; nnzoo picks the lowest indices among ties "
        "(one stable sort). Accepted where both libraries' indices select equal values (and, for gradients, "
        "where the input holds ties).",
        _tie_pick),
]


# ---- temporary: bugs in files another change owns right now ------------------------------------------------
# (none: the issue-15 entries found by the fuzzer were fixed in the engine or moved to ACCEPTED above)
PENDING_FIX = []
