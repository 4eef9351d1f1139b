"""The differential harness: one :class:`Case` run in nnzoo and in PyTorch, and everything compared.

A case is a function ``fn(lib, *tensors)`` written once for both libraries (``lib`` is ``nnzoo`` or
``torch``), the NumPy arrays it gets as tensors, and the op's name and parameters. :func:`check`

1. runs the forward in both libraries on copies of the same arrays. If PyTorch raises, nnzoo must raise
   too (any exception); if only nnzoo raises, that is a mismatch;
2. compares every output: shape, dtype, and values. Integer and bool outputs must be equal; for floats the
   NaN, +inf and -inf positions must be exactly the same, and the finite values equal within ``TOL`` of
   the output's dtype (signed zeros are not compared);
3. back-propagates the same random upstream gradient (drawn from the case's seed, one per differentiable
   output) in both with ``autograd.grad`` and compares the gradient of every float input and of every
   parameter the case names, the same way (non-finite pattern exact, finite values within ``TOL``);
4. judges each difference that remains against ``accepted.py``: the rounding rule (below), then the
   temporary ``PENDING_FIX`` list, then the accepted differences. Anything else fails the test with the
   case, its seed, the inputs and the offending elements.

The rounding rule (``accepted.ROUNDING``): a finite value that differs by more than the tolerance is
still accepted when nnzoo is about as close to the exact answer as PyTorch is. The exact answer is
estimated by PyTorch in float64 on the same inputs (for a float64 output: PyTorch's own result), and how
much rounding alone can move it by rerunning that float64 reference ``REFERENCE_RUNS`` times on inputs whose
distinct values are each scaled by (1 +- unit roundoff of their dtype), the sign drawn independently (so a
cancelling pair such as 1e4 and -1e4 moves apart in some run). Equal values get the same factor, so ties
(max, relu at 0, maximum of equal operands) are never broken by the perturbation.
The upstream gradients (drawn in the output's dtype) are perturbed the same way. An element passes when
``|nnzoo - exact| <= ROUNDING_K * (|torch - exact| + spread) + atol``. This is what
float32 summation order near cancellation looks like (sum([1e4, 0.1, -1e4])): both libraries are within
rounding of the truth and of each other only relative to the inputs' size, not the output's.

A case is one Hypothesis example: every call of :func:`check` is counted (``COUNTS``, per family and op)
with its outcome (agree, both raise, accepted, pending, mismatch); ``tests/fuzz/conftest.py`` writes the
counters out for ``make fuzz``'s summary.
"""
import os
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

import nnzoo

from . import accepted

# (atol, rtol) per output dtype: forward values and gradients
TOL = {
    "float32": {"fwd": (1e-6, 1e-5), "grad": (1e-5, 1e-4)},
    "float64": {"fwd": (1e-12, 1e-10), "grad": (1e-11, 1e-9)},
}
ROUNDING_K = 4.0
REFERENCE_RUNS = 4  # perturbed float64 runs for the spread
UNIT_ROUNDOFF = {"float32": 2.0 ** -24, "float64": 2.0 ** -53}

# ---- counters (read by conftest.py at the end of the session) ------------------------------------------------
COUNTS = Counter()       # (family, op) -> cases compared
OUTCOMES = Counter()     # (family, outcome) -> cases: "agree", "both_raise", "accepted", "pending", "mismatch"
HITS = Counter()         # (list, key, family, op) -> mismatching comparisons (an output or a gradient) it judged
MISMATCHES = []          # unaccepted mismatches: one dict per op and kind, with a count and the first case
# NNZOO_FUZZ_KEEP_GOING=1: record unaccepted mismatches without failing (triage: see every kind at once)
KEEP_GOING = os.environ.get("NNZOO_FUZZ_KEEP_GOING") == "1"


class WithParams(NamedTuple):
    """What ``fn`` returns when gradients of parameters (a module's weights) are to be compared too:
    the outputs and a list of (name, leaf tensor)."""

    outputs: Any
    params: list


@dataclass
class Case:
    family: str
    op: str
    fn: Callable
    arrays: list
    params: dict = field(default_factory=dict)
    grad: bool = True          # compare gradients at all
    nograd: tuple = ()         # indices of float inputs that do not require grad (weights given as data)
    seed: int = 0

    def __repr__(self):
        return self.describe()

    def describe(self, limit=4000):
        lines = [f"{self.family}/{self.op} {self.params} seed={self.seed}"]
        with np.printoptions(threshold=200, linewidth=120):
            for i, a in enumerate(self.arrays):
                lines.append(f"  input {i}: {a.dtype}{list(a.shape)} = {np.array2string(a, separator=', ')}")
        text = "\n".join(lines)
        return text if len(text) < limit else text[:limit] + " ..."


@dataclass
class Mismatch:
    case: Case
    what: str          # "output 0", "grad of input 1", "grad of weight_ih_l0", "forward", "backward"
    kind: str          # shape, dtype, values, nonfinite, raises, not_differentiable, no_grad
    got: Any = None
    want: Any = None
    bad: Any = None    # bool mask of the offending elements
    detail: str = ""
    index: int = -1    # which output (0..) or gradient (n_outputs + j) it is, for the float64 reference
    exact: Any = None  # the float64 reference there, when the harness computed one

    @property
    def name(self):
        return f"{self.case.family}/{self.case.op}"

    def describe(self):
        text = f"{self.name}: {self.what}: {self.kind}"
        if self.detail:
            text += f": {self.detail}"
        if self.bad is not None and self.got is not None:
            idx = np.argwhere(self.bad)[:6]
            pairs = [f"{tuple(int(j) for j in i)}: nnzoo {self.got[tuple(i)]!r} torch {self.want[tuple(i)]!r}"
                     for i in idx]
            text += f" at {int(self.bad.sum())} of {self.bad.size} elements, e.g. " + "; ".join(pairs)
        return text


class Side:
    """One library's run of a case: its error, outputs, leaves and their gradients."""

    def __init__(self):
        self.error = None
        self.grad_error = None
        self.outs = []
        self.leaves = []   # (name, tensor)
        self.grads = None  # list aligned with leaves: arrays or None


def _np(t):
    return t.detach().numpy()


def _as_outputs(res):
    if isinstance(res, (nnzoo.Tensor, torch.Tensor)):
        return [res]
    return list(res)


def _run(lib, case, arrays, upstream):
    """Forward (and backward with the upstream gradients ``upstream(torch_outs)``) in one library."""
    side = Side()
    tensors = []
    for i, a in enumerate(arrays):
        t = lib.from_numpy(np.array(a))
        if case.grad and a.dtype.kind == "f" and i not in case.nograd:
            t.requires_grad_()
            side.leaves.append((f"input {i}", t))
        tensors.append(t)
    try:
        with warnings.catch_warnings():
            # NumPy's RuntimeWarnings (inf * 0, ...) are a known difference (README), and warnings (e.g. a
            # variance with correction >= n) are not what is compared: the values are
            warnings.simplefilter("ignore")
            res = case.fn(lib, *tensors)
    except Exception as e:
        side.error = e
        return side
    if isinstance(res, WithParams):
        side.leaves += list(res.params)
        res = res.outputs
    side.outs = _as_outputs(res)
    return side


def _backward(lib, side, us):
    """Gradients of sum(u_k * out_k) over the outputs that get an upstream gradient (us[k] not None)."""
    leaves = [t for _, t in side.leaves]
    if not leaves:
        side.grads = []
        return
    outs, grads = [], []
    for o, u in zip(side.outs, us):
        if u is None:
            continue
        if not o.requires_grad:
            continue  # reported by the caller as not differentiable
        outs.append(o)
        grads.append(lib.from_numpy(u.astype(_np(o).dtype)))
    if not outs:
        side.grads = [None] * len(leaves)
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = lib.autograd.grad(outs, leaves, grad_outputs=grads, allow_unused=True)
    except Exception as e:
        side.grad_error = e
        return
    side.grads = [None if g is None else _np(g) for g in res]


def _upstream(case, th):
    """One random upstream gradient per differentiable PyTorch output (None for the others)."""
    rng = np.random.default_rng(case.seed)
    us = []
    for o in th.outs:
        if o is not None and o.requires_grad and o.dtype.is_floating_point:
            # in the output's dtype from the start, so the float64 reference sees the same (rounded) values
            us.append(rng.standard_normal(tuple(o.shape)).astype(_np(o).dtype))
        else:
            us.append(None)
    return us


def _tol(dtype, which):
    return TOL.get(np.dtype(dtype).name, TOL["float64"])[which]


def _compare(case, what, got, want, which):
    """A Mismatch, or None when ``got`` (nnzoo) agrees with ``want`` (torch)."""
    if got.shape != want.shape:
        return Mismatch(case, what, "shape", detail=f"nnzoo {got.shape}, torch {want.shape}")
    if got.dtype != want.dtype:
        return Mismatch(case, what, "dtype", detail=f"nnzoo {got.dtype}, torch {want.dtype}")
    if want.dtype.kind not in "fc":
        bad = got != want
        return Mismatch(case, what, "values", got, want, bad) if bad.any() else None
    pattern = ((np.isnan(got) != np.isnan(want)) | (np.isposinf(got) != np.isposinf(want))
               | (np.isneginf(got) != np.isneginf(want)))
    if pattern.any():
        return Mismatch(case, what, "nonfinite", got, want, pattern)
    atol, rtol = _tol(want.dtype, which)
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bad = np.isfinite(want) & (err > atol + rtol * np.abs(want.astype(np.float64)))
    return Mismatch(case, what, "values", got, want, bad) if bad.any() else None


# ---- the rounding rule: a float64 reference and its spread under input rounding ------------------------------
def _perturb(a, rng):
    """``a`` with each distinct finite value scaled by its own (1 +- u), the sign drawn at random, in float64."""
    out = a.astype(np.float64)
    if a.dtype.kind != "f" or a.size == 0:
        return a
    u = UNIT_ROUNDOFF.get(a.dtype.name, UNIT_ROUNDOFF["float64"])
    vals, inv = np.unique(out, return_inverse=True)
    factors = 1.0 + u * rng.choice([-1.0, 1.0], vals.shape)
    with np.errstate(all="ignore"):
        res = np.where(np.isfinite(out), out * factors[inv.reshape(out.shape)], out)
    return res


class _Reference:
    """PyTorch in float64 on the case's inputs (exact-ish answer) and on perturbed copies (spread)."""

    def __init__(self, case, us):
        rng = np.random.default_rng(case.seed + 1)
        up = [None if u is None else u.astype(np.float64) for u in us]
        base = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.arrays]
        self.exact = self._values(case, base, up)
        self.spread = None
        if self.exact is None:
            return
        spread = [np.zeros_like(v) if v is not None else None for v in self.exact]
        for _ in range(REFERENCE_RUNS):
            perturbed_up = [None if u is None else _perturb(u, rng) for u in us]
            vals = self._values(case, [_perturb(a, rng) for a in case.arrays], perturbed_up)
            if vals is None:
                self.exact = None
                return
            for k, (v, e) in enumerate(zip(vals, self.exact)):
                if v is not None and e is not None and v.shape == e.shape:
                    with np.errstate(all="ignore"):
                        spread[k] = np.fmax(spread[k], np.abs(v - e))
        self.spread = spread

    @staticmethod
    def _values(case, arrays, us):
        """Outputs then gradients, as float64 arrays (None where absent)."""
        with torch.random.fork_rng():
            side = _run(torch, case, arrays, None)
        if side.error is not None:
            return None
        _backward(torch, side, us if case.grad else [None] * len(side.outs))
        if side.grad_error is not None:
            return None
        outs = [_np(o).astype(np.float64) if o.dtype.is_floating_point else None for o in side.outs]
        return outs + [None if g is None else g.astype(np.float64) for g in side.grads]

    def value(self, index):
        """The float64 reference of output/gradient ``index`` (None when unavailable)."""
        if self.exact is None or index >= len(self.exact):
            return None
        return self.exact[index]

    def accepts(self, index, m):
        """Whether the rounding rule accepts every offending element of mismatch ``m`` (values kind)."""
        if self.exact is None or index >= len(self.exact) or self.exact[index] is None:
            return False
        exact, spread = self.exact[index], self.spread[index]
        if exact.shape != m.got.shape:
            return False
        atol, _ = _tol(m.want.dtype, "fwd" if m.what.startswith("output") else "grad")
        with np.errstate(all="ignore"):
            got, want = m.got.astype(np.float64), m.want.astype(np.float64)
            ok = np.abs(got - exact) <= ROUNDING_K * (np.abs(want - exact) + spread) + atol
        return bool(np.all(ok[m.bad]))


def close_enough(got, want, which):
    """NaN/inf pattern equal and finite values within TOL of their dtype (arrays of one dtype)."""
    if got.shape != want.shape:
        return False
    pattern = ((np.isnan(got) != np.isnan(want)) | (np.isposinf(got) != np.isposinf(want))
               | (np.isneginf(got) != np.isneginf(want)))
    if pattern.any():
        return False
    atol, rtol = _tol(want.dtype, which)
    fin = np.isfinite(want)
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(got[fin].astype(np.float64) - want[fin]) <= atol + rtol * np.abs(want[fin])))


def nnzoo_in_float64(case, us):
    """nnzoo's outputs then gradients on the case's inputs cast to float64 (for accepted.py's predicates)."""
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.arrays]
    side = _run(nnzoo, case, arrays, None)
    if side.error is not None:
        return None
    _backward(nnzoo, side, [None if u is None else u.astype(np.float64) for u in us])
    if side.grad_error is not None:
        return None
    outs = [_np(o) if o.dtype.is_floating_point else None for o in side.outs]
    return outs + list(side.grads)


# ---- the check -----------------------------------------------------------------------------------------------
def check(case):
    """Run ``case`` in both libraries and compare (see the module docstring); raise on an unaccepted
    difference."""
    key = (case.family, case.op)
    COUNTS[key] += 1
    th = _run(torch, case, case.arrays, None)
    nz = _run(nnzoo, case, case.arrays, None)
    mismatches = []
    if th.error is not None or nz.error is not None:
        if th.error is not None and nz.error is not None:
            OUTCOMES[(case.family, "both_raise")] += 1
            return
        if th.error is not None:
            mismatches.append(Mismatch(case, "forward", "raises", detail=f"torch raises {th.error!r:.300}, "
                                       "nnzoo returns"))
        else:
            mismatches.append(Mismatch(case, "forward", "raises", detail=f"nnzoo raises {nz.error!r:.300}, "
                                       "torch returns"))
        return _judge(case, mismatches, None, None)
    if len(nz.outs) != len(th.outs):
        return _judge(case, [Mismatch(case, "forward", "shape",
                                      detail=f"{len(nz.outs)} outputs, torch gives {len(th.outs)}")], None, None)
    n_out = len(th.outs)
    for k, (a, b) in enumerate(zip(nz.outs, th.outs)):
        if (a is None) != (b is None):
            mismatches.append(Mismatch(case, f"output {k}", "shape", detail=f"nnzoo {a!r:.50}, torch {b!r:.50}"))
            continue
        if b is None:
            continue
        m = _compare(case, f"output {k}", _np(a), _np(b), "fwd")
        if m is not None:
            m.index = k
            mismatches.append(m)
    us = None
    if case.grad and not any(m.kind in ("shape", "dtype") for m in mismatches):
        us = _upstream(case, th)
        for k, (a, u) in enumerate(zip(nz.outs, us)):
            if u is not None and not a.requires_grad and th.leaves:
                mismatches.append(Mismatch(case, f"output {k}", "not_differentiable",
                                           detail="torch's output requires grad, nnzoo's does not"))
        _backward(torch, th, us)
        _backward(nnzoo, nz, us)
        if (th.grad_error is None) != (nz.grad_error is None):
            who = "torch" if th.grad_error is not None else "nnzoo"
            err = th.grad_error if th.grad_error is not None else nz.grad_error
            mismatches.append(Mismatch(case, "backward", "raises", detail=f"only {who} raises {err!r:.300}"))
        elif th.grad_error is None:
            names = [n for n, _ in th.leaves]
            nz_names = [n for n, _ in nz.leaves]
            if names != nz_names:
                mismatches.append(Mismatch(case, "backward", "shape",
                                           detail=f"leaves differ: nnzoo {nz_names}, torch {names}"))
            else:
                for j, (name, g_nz, g_th) in enumerate(zip(names, nz.grads, th.grads)):
                    if g_th is None:
                        if g_nz is not None and np.any(g_nz != 0):
                            mismatches.append(Mismatch(case, f"grad of {name}", "no_grad",
                                                       detail="torch gives None (unused), nnzoo a non-zero grad"))
                        continue
                    if g_nz is None:
                        if np.any(g_th != 0):
                            mismatches.append(Mismatch(case, f"grad of {name}", "no_grad",
                                                       detail="nnzoo gives None, torch a non-zero grad"))
                        continue
                    m = _compare(case, f"grad of {name}", g_nz, g_th, "grad")
                    if m is not None:
                        m.index = n_out + j
                        mismatches.append(m)
    return _judge(case, mismatches, us, n_out)


def _judge(case, mismatches, us, n_out):
    if not mismatches:
        OUTCOMES[(case.family, "agree")] += 1
        return
    ref = None
    left, outcome = [], "accepted"
    for m in mismatches:
        m.us = us
        if m.kind == "values" and m.want.dtype.kind == "f" and us is not None:
            if ref is None:
                ref = _Reference(case, us)
            if ref.accepts(m.index, m):
                HITS[("accepted", accepted.ROUNDING.key, case.family, case.op)] += 1
                continue
            m.exact = ref.value(m.index)  # for the accepted list's predicates
        entry, which = accepted.lookup(m)
        if entry is None:
            left.append(m)
            continue
        HITS[(which, entry.key, case.family, case.op)] += 1
        if which == "pending":
            outcome = "pending"
    if not left:
        OUTCOMES[(case.family, outcome)] += 1
        return
    OUTCOMES[(case.family, "mismatch")] += 1
    sig = sorted({(m.what.split(" ")[0], m.kind) for m in left})
    same = [d for d in MISMATCHES if d["op"] == f"{case.family}/{case.op}" and d["signature"] == sig]
    if same:
        same[0]["count"] += 1
    else:
        MISMATCHES.append({"op": f"{case.family}/{case.op}", "signature": sig, "count": 1,
                           "mismatch": [m.describe()[:600] for m in left], "case": case.describe(1500)})
    if KEEP_GOING:
        return
    raise AssertionError("nnzoo differs from PyTorch\n" + "\n".join(m.describe() for m in left)
                         + "\n" + case.describe())
