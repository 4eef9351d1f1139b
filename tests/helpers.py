"""The table-driven op harness: every op is checked the same way against PyTorch and finite differences.

An :class:`OpCase` names the op, a function ``fn(lib, *tensors)`` written once for both libraries
(``lib`` is ``nnzoo`` or ``torch``; give ``torch_fn`` where the two spell it differently) and the
input specs. :func:`check_op` then

1. runs the forward in float32 and float64 on the same random inputs in both libraries and compares
   shapes, dtypes and values (float32: atol 1e-6 / rtol 1e-4, float64: 1e-10);
2. back-propagates the same random output weights ``u`` (loss = sum(u * out)) in both and compares
   every input gradient (float32: atol 1e-5 / rtol 1e-3; float64: 1e-9);
3. checks the float64 nnzoo gradient against central differences (eps 1e-6) along random
   directions: u . (f(x + eps d) - f(x - eps d)) / 2 eps  ==  sum(grad * d);
4. repeats 1-2 with non-contiguous (transposed-storage) inputs when ``noncontig`` is set;
5. double backward, float64 only: g = d/dx sum(u * out) with ``create_graph=True`` (u differentiable
   too), then the gradient of sum(g * v) for a random direction v with respect to the inputs and to u,
   compared with torch's (same construction; atol 1e-12, rtol 1e-10), and nnzoo's against central
   differences of its own first-order gradient along one random direction of (x, u) (``fd_tol``). On for
   every differentiable case; a case where PyTorch has no (or a wrong) double backward opts out with
   ``no_double="<the reason>"``.
"""
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import nnzoo

TOL_FWD = {np.float32: dict(atol=1e-6, rtol=1e-4), np.float64: dict(atol=1e-10, rtol=1e-10)}
TOL_BWD = {np.float32: dict(atol=1e-5, rtol=1e-3), np.float64: dict(atol=1e-9, rtol=1e-9)}
TOL_DOUBLE = dict(atol=1e-12, rtol=1e-10)  # second-order gradients, float64
FD_EPS = 1e-6


@dataclass
class Spec:
    """One input: a random float tensor of ``shape`` (normal, or uniform in [low, high]),
    or fixed ``values`` (e.g. int64 indices). ``grad`` marks it differentiable."""

    shape: tuple = ()
    low: float | None = None
    high: float | None = None
    values: Any = None
    grad: bool = True

    def make(self, rng):
        if self.values is not None:
            return np.asarray(self.values)
        if self.low is not None:
            return np.asarray(rng.uniform(self.low, self.high, self.shape))
        return np.asarray(rng.standard_normal(self.shape))


def S(*shape, **kw):
    """Shorthand: ``S(3, 4)`` is a random normal (3, 4) input; ``S(3, low=.5, high=2)`` a positive one."""
    return Spec(shape=tuple(shape), **kw)


def V(values, grad=False):
    """Fixed input values (an int/bool array is never differentiable)."""
    return Spec(values=np.asarray(values), grad=grad)


@dataclass
class OpCase:
    name: str
    fn: Callable
    inputs: list
    torch_fn: Callable | None = None
    dtypes: tuple = (np.float32, np.float64)
    grad: bool = True  # check backward at all
    fd: bool = True  # float64 finite-difference check
    noncontig: bool = True
    fwd_tol: dict = field(default_factory=dict)  # overrides per dtype, e.g. {np.float32: dict(atol=1e-5)}
    bwd_tol: dict = field(default_factory=dict)
    fd_tol: dict = field(default_factory=lambda: dict(atol=1e-6, rtol=1e-5))
    no_double: str = ""  # why the double-backward step (5) is off: PyTorch has no double backward here, ...
    double_tol: dict = field(default_factory=dict)  # overrides TOL_DOUBLE

    def __str__(self):
        return self.name


def _seed(name):
    return zlib.crc32(name.encode())


def _as_list(out):
    if isinstance(out, (nnzoo.Tensor, torch.Tensor)):
        return [out]
    return list(out)


def _float_input(spec, arr):
    return spec.values is None or arr.dtype.kind == "f"


def _build(case, arrays, dtype, noncontig=False):
    """The nnzoo and torch inputs for one dtype; floats are cast, other values kept as they are."""
    nz_in, th_in = [], []
    for spec, arr in zip(case.inputs, arrays):
        a = arr.astype(dtype) if _float_input(spec, arr) else arr
        wants_grad = spec.grad and a.dtype.kind == "f"
        nz_arr = a
        if noncontig and _can_transpose(a):
            nz_arr = np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)
            assert not nz_arr.flags.c_contiguous and np.array_equal(nz_arr, a)
        nt = nnzoo.from_numpy(nz_arr.copy() if not noncontig else nz_arr)
        tt = torch.from_numpy(np.array(a))
        if wants_grad:
            nt.requires_grad_()
            tt.requires_grad_()
        nz_in.append(nt)
        th_in.append(tt)
    return nz_in, th_in


def _can_transpose(a):
    return a.ndim >= 2 and a.shape[0] > 1 and a.shape[1] > 1


def _np(t):
    return t.detach().numpy()


def _compare(name, what, got, want, tol):
    assert got.shape == want.shape, f"{name}: {what}: shape {got.shape} != torch's {want.shape}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=f"{name}: {what}")
    else:
        np.testing.assert_allclose(got, want, err_msg=f"{name}: {what}", equal_nan=True, **tol)


def run_forward(case, nz_in, th_in, dtype, label):
    out_nz = _as_list(case.fn(nnzoo, *nz_in))
    out_th = _as_list((case.torch_fn or case.fn)(torch, *th_in))
    assert len(out_nz) == len(out_th), f"{case.name}: {len(out_nz)} outputs, torch gives {len(out_th)}"
    tol = {**TOL_FWD[dtype], **case.fwd_tol.get(dtype, {})}
    for k, (a, b) in enumerate(zip(out_nz, out_th)):
        assert isinstance(a, nnzoo.Tensor), f"{case.name}: output {k} is {type(a).__name__}, not a Tensor"
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], \
            f"{case.name}: output {k} dtype {a.dtype} != torch's {b.dtype}"
        _compare(case.name, f"{label} forward output {k}", _np(a), _np(b), tol)
    return out_nz, out_th


def run_backward(case, nz_in, th_in, out_nz, out_th, dtype, rng, label):
    pairs = [(a, b) for a, b in zip(out_nz, out_th) if b.requires_grad]
    if not pairs:
        return
    us = [np.asarray(rng.standard_normal(tuple(b.shape)), dtype=dtype) for _, b in pairs]
    loss_nz = sum((a * nnzoo.from_numpy(u)).sum() for (a, _), u in zip(pairs, us))
    loss_th = sum((b * torch.from_numpy(u)).sum() for (_, b), u in zip(pairs, us))
    loss_nz.backward()
    loss_th.backward()
    tol = {**TOL_BWD[dtype], **case.bwd_tol.get(dtype, {})}
    for i, (a, b) in enumerate(zip(nz_in, th_in)):
        if not b.requires_grad:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(_np(a.grad)), f"{case.name}: input {i} got a grad, torch none"
            continue
        assert a.grad is not None, f"{case.name}: {label} input {i} got no gradient"
        assert a.grad.shape == a.shape, f"{case.name}: grad shape {a.grad.shape} != input {a.shape}"
        _compare(case.name, f"{label} grad of input {i}", _np(a.grad), _np(b.grad), tol)


def finite_difference_check(case, arrays, rng, n_directions=2):
    """float64 nnzoo gradient vs central differences along random directions."""
    nz_in, _ = _build(case, arrays, np.float64)
    idx = [i for i, t in enumerate(nz_in) if t.requires_grad]
    if not idx:
        return
    outs = _as_list(case.fn(nnzoo, *nz_in))
    us = [np.asarray(rng.standard_normal(tuple(o.shape))) if o.requires_grad else None for o in outs]
    if all(u is None for u in us):
        return

    def objective(tensors):
        with nnzoo.no_grad():
            res = _as_list(case.fn(nnzoo, *tensors))
        return sum(float(np.sum(u * _np(o))) for o, u in zip(res, us) if u is not None)

    loss = sum((o * nnzoo.from_numpy(u)).sum() for o, u in zip(outs, us) if u is not None)
    grads = nnzoo.autograd.grad(loss, [nz_in[i] for i in idx], allow_unused=True)
    grads = [np.zeros(nz_in[i].shape) if g is None else _np(g) for i, g in zip(idx, grads)]
    for _ in range(n_directions):
        ds = [np.asarray(rng.standard_normal(nz_in[i].shape)) for i in idx]
        plus = [t.detach().clone() for t in nz_in]
        minus = [t.detach().clone() for t in nz_in]
        for i, d in zip(idx, ds):
            plus[i] = nnzoo.from_numpy(np.asarray(_np(nz_in[i]) + FD_EPS * d))
            minus[i] = nnzoo.from_numpy(np.asarray(_np(nz_in[i]) - FD_EPS * d))
        numeric = (objective(plus) - objective(minus)) / (2 * FD_EPS)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, ds))
        tol = case.fd_tol
        assert abs(numeric - analytic) <= tol["atol"] + tol["rtol"] * max(abs(numeric), abs(analytic)), \
            f"{case.name}: finite differences {numeric!r} vs analytical {analytic!r}"


def _th_np(t):
    """A torch tensor as a NumPy array (a ZeroTensor, as torch returns for some second derivatives, included)."""
    return t.detach().numpy(force=True)


def _second_order(lib, ins, outs, idx, us, vs):
    """d/d(x, u) sum(v * g), g = d/dx sum(u * out) built with create_graph=True; None where unused."""
    u_t = [lib.from_numpy(u.copy()).requires_grad_() for u in us]
    loss = sum((o * u).sum() for o, u in zip(outs, u_t))
    grads = lib.autograd.grad(loss, [ins[i] for i in idx], create_graph=True, allow_unused=True)
    terms = [(g * lib.from_numpy(v)).sum() for g, v in zip(grads, vs) if g is not None and g.requires_grad]
    if not terms:
        return None
    return lib.autograd.grad(sum(terms), [ins[i] for i in idx] + u_t, allow_unused=True)


def double_backward_check(case: OpCase, arrays: list[np.ndarray], rng: np.random.Generator) -> None:
    """Step 5 of the module docstring: second-order gradients against torch's and against finite
    differences of the first-order gradient."""
    nz_in, th_in = _build(case, arrays, np.float64)
    idx = [i for i, t in enumerate(th_in) if t.requires_grad]
    out_nz, out_th = _as_list(case.fn(nnzoo, *nz_in)), _as_list((case.torch_fn or case.fn)(torch, *th_in))
    keep = [k for k, b in enumerate(out_th) if b.requires_grad]
    if not idx or not keep:
        return
    us = [np.asarray(rng.standard_normal(tuple(out_th[k].shape))) for k in keep]
    vs = [np.asarray(rng.standard_normal(tuple(th_in[i].shape))) for i in idx]
    got = _second_order(nnzoo, nz_in, [out_nz[k] for k in keep], idx, us, vs)
    try:
        want = _second_order(torch, th_in, [out_th[k] for k in keep], idx, us, vs)
    except (RuntimeError, NotImplementedError) as e:
        raise AssertionError(f"{case.name}: torch has no double backward here ({e}); "
                             "give the case no_double='<the reason>'") from e
    if want is None:  # torch's first-order gradient is a constant (e.g. empty): nnzoo's second order is 0
        assert got is None or not any(np.any(_np(g)) for g in got if g is not None), \
            f"{case.name}: torch's first-order gradient has no graph, nnzoo's second-order gradient is not 0"
        return
    assert got is not None, f"{case.name}: nnzoo's first-order gradient has no graph (create_graph=True)"
    tol = {**TOL_DOUBLE, **case.double_tol}
    names = [f"x{i}" for i in idx] + [f"u{k}" for k in keep]
    for name, a, b in zip(names, got, want):
        b = None if b is None else _th_np(b)
        a = None if a is None else _np(a)
        if b is None or a is None:
            assert not np.any(a if b is None else b), f"{case.name}: second-order grad of {name} in one library only"
            continue
        _compare(case.name, f"second-order grad of {name}", a, b, tol)
    if case.fd:
        _double_fd(case, nz_in, [out_nz[k] for k in keep], idx, keep, us, vs, got, rng)


def _double_fd(case, nz_in, outs, idx, keep, us, vs, got, rng):
    """phi(x, u) = sum(v * d/dx sum(u * f(x))) along one random direction (d, e) of (x, u): central
    differences of nnzoo's first-order gradient (plain backward) against nnzoo's second-order gradient."""
    ds = [np.asarray(rng.standard_normal(nz_in[i].shape)) for i in idx]
    es = [np.asarray(rng.standard_normal(u.shape)) for u in us]

    def phi(sign):
        ins = [t.detach().clone() for t in nz_in]
        for i, d in zip(idx, ds):
            ins[i] = nnzoo.from_numpy(np.asarray(_np(nz_in[i]) + sign * FD_EPS * d)).requires_grad_()
        res = _as_list(case.fn(nnzoo, *ins))
        loss = sum((res[k] * nnzoo.from_numpy(np.asarray(u + sign * FD_EPS * e))).sum()
                   for k, u, e in zip(keep, us, es))
        grads = nnzoo.autograd.grad(loss, [ins[i] for i in idx], allow_unused=True)
        return sum(float(np.sum(_np(g) * v)) for g, v in zip(grads, vs) if g is not None)

    numeric = (phi(1.0) - phi(-1.0)) / (2 * FD_EPS)
    analytic = sum(float(np.sum(_np(g) * d)) for g, d in zip(got, ds + es) if g is not None)
    tol = case.fd_tol
    assert abs(numeric - analytic) <= tol["atol"] + tol["rtol"] * max(abs(numeric), abs(analytic)), \
        f"{case.name}: second order: finite differences of the gradient {numeric!r} vs analytical {analytic!r}"


def check_op(case: OpCase) -> None:
    """Forward, backward, finite-difference and double-backward checks of one OpCase (see the module
    docstring)."""
    rng = np.random.default_rng(_seed(case.name))
    arrays = [spec.make(rng) for spec in case.inputs]
    variants = [False, True] if case.noncontig and any(_can_transpose(a) for a in arrays) else [False]
    for dtype in case.dtypes:
        for noncontig in variants:
            label = f"{np.dtype(dtype).name}{' non-contiguous' if noncontig else ''}"
            nz_in, th_in = _build(case, arrays, dtype, noncontig)
            out_nz, out_th = run_forward(case, nz_in, th_in, dtype, label)
            if case.grad:
                run_backward(case, nz_in, th_in, out_nz, out_th, dtype, rng, label)
    if case.grad and case.fd and np.float64 in case.dtypes:
        finite_difference_check(case, arrays, rng)
    if case.grad and not case.no_double and np.float64 in case.dtypes:
        double_backward_check(case, arrays, rng)


def cases_params(cases):
    """pytest.mark.parametrize arguments for a list of OpCases, with readable ids."""
    import pytest
    return pytest.mark.parametrize("case", cases, ids=[c.name for c in cases])


# ---- whole models: nnzoo against a torch implementation with the same weights -----------------------
def state_shapes(state_dict):
    """``{key: shape}`` of a state dict (either library's)."""
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def as_f64(t):
    """A tensor of either library (detached) as a float64 NumPy array."""
    return np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach(), dtype=np.float64)


def assert_scaled_close(got, want, what, tol=1e-9):
    """max |got - want| <= tol * max |want|: judged against each array's scale rather than element by
    element (float64 through a deep stack, where batch norm over a few values amplifies rounding)."""
    got, want = as_f64(got), as_f64(want)
    assert got.shape == want.shape, what
    err, scale = np.abs(got - want).max(), np.abs(want).max()
    # NOTE: the 1e-12 floor: a conv bias followed by batch norm has a gradient of exactly 0 in exact
    # arithmetic, rounding noise (1e-17) in each library
    assert err <= tol * scale + 1e-12, f"{what}: max difference {err:.3g}, scale {scale:.3g}"


def check_model_parity(nz, th, x, train):
    """Copy ``th``'s weights into ``nz``, run both in float64 on input ``x`` (train or eval mode), and
    compare the outputs, the input and every parameter gradient, and the buffers (BatchNorm's running
    statistics move the same way)."""
    nz.load_state_dict(th.state_dict())
    nz.double().train(train)
    th.double().train(train)
    xt, xn = torch.tensor(x, requires_grad=True), nnzoo.tensor(x, requires_grad=True)
    yt, yn = th(xt), nz(xn)
    assert_scaled_close(yn, yt, "output")
    u = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (yt * torch.tensor(u)).sum().backward()
    (yn * nnzoo.tensor(u)).sum().backward()
    assert_scaled_close(xn.grad, xt.grad, "input grad")
    params_t = dict(th.named_parameters())
    for name, p in nz.named_parameters():
        assert_scaled_close(p.grad, params_t[name].grad, f"{name}.grad")
    buffers_t = dict(th.named_buffers())
    for name, b in nz.named_buffers():
        assert_scaled_close(b, buffers_t[name], name)


# ---- module parity (attention and Transformer layers) ----------------------------------------------------
def _as_np(t):
    return None if t is None else t.detach().numpy()


def _close_to(got, want, tol, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got, want, err_msg=what, equal_nan=True, **tol)


def check_module(th, nz, arrays, call, dtype, train=False):
    """Module parity: copy the torch module th's state into the nnzoo module nz, run both on the same inputs in
    ``dtype`` and compare every output, the gradient of every float input and of every parameter (loss = sum
    of u_i * output_i, NaNs skipped)."""
    nz.load_state_dict(th.state_dict())
    to = torch.float64 if dtype == np.float64 else torch.float32
    th.to(to).train(train)
    nz.to(nnzoo.float64 if dtype == np.float64 else nnzoo.float32).train(train)
    t_in, n_in = [], []
    for a in arrays:
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        grad = a.dtype.kind == "f"
        t_in.append(torch.tensor(a, requires_grad=grad))
        n_in.append(nnzoo.tensor(a, requires_grad=grad))
    out_t, out_n = call(th, *t_in), call(nz, *n_in)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    out_n = out_n if isinstance(out_n, tuple) else (out_n,)
    rng = np.random.default_rng(0)
    loss_t = loss_n = 0
    for i, (a, b) in enumerate(zip(out_t, out_n)):
        if a is None:
            assert b is None, f"output {i}: torch gives None"
            continue
        _close_to(_as_np(b), _as_np(a), TOL_FWD[dtype], f"output {i}")
        u = np.where(np.isnan(_as_np(a)), 0.0, rng.standard_normal(tuple(a.shape))).astype(dtype)
        loss_t = loss_t + (torch.nan_to_num(a) * torch.tensor(u)).sum()
        loss_n = loss_n + (b * nnzoo.tensor(u)).sum() if not np.isnan(_as_np(b)).any() else loss_n
    loss_t.backward()
    loss_n.backward()
    for i, (a, b) in enumerate(zip(t_in, n_in)):
        if a.requires_grad and (a.grad is not None or b.grad is not None):  # None in both: input unused
            assert a.grad is not None and b.grad is not None, f"input {i}: a gradient in one library only"
            _close_to(_as_np(b.grad), _as_np(a.grad), TOL_BWD[dtype], f"grad of input {i}")
    params_t = dict(th.named_parameters())
    for name, p in nz.named_parameters():
        _close_to(_as_np(p.grad), _as_np(params_t[name].grad), TOL_BWD[dtype], f"grad of {name}")


def check_same_result_or_error(fn, error=RuntimeError):
    """``fn(lib)`` for nnzoo and torch: where torch raises ``error`` nnzoo must raise it too; otherwise the
    two results (a Tensor or a tuple of Tensors) must be equal to the bit."""
    res = []
    for lib in (nnzoo, torch):
        try:
            out = fn(lib)
        except error:
            res.append(error)
            continue
        res.append(tuple(_np(t) for t in (out if isinstance(out, tuple) else (out,))))
    if res[1] is error:
        assert res[0] is error, f"torch raises {error.__name__}, nnzoo gave {res[0]}"
        return
    assert res[0] is not error, "nnzoo raises where torch gives a result"
    for got, want in zip(*res):
        np.testing.assert_array_equal(got, want)


def both_modes(fn, *args):
    """``(compiled, numpy)``: ``fn(*args)`` under the compiled kernels and under their NumPy references
    (nnzoo/kernels/jit.py), for the tests/kernels/test_*_compiled.py comparisons."""
    from nnzoo.kernels import jit
    with jit.mode("compiled"):
        got = fn(*args)
    with jit.mode("numpy"):
        want = fn(*args)
    return got, want


def skip_without_fashion_mnist():
    """Skip the calling test when no Fashion-MNIST copy is found (``../shared/data/fashion-mnist``,
    ``$NNZOO_FASHION_MNIST`` or nnzoo's download folder): the recipes that train on it need the real files."""
    import pytest

    from nnzoo.data.datasets import fashion_mnist_root
    try:
        fashion_mnist_root()
    except FileNotFoundError as e:
        pytest.skip(f"Fashion-MNIST not found: {e}")
