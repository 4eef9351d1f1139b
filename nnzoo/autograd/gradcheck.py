"""Finite-difference checks of gradients: ``gradcheck`` and ``gradgradcheck`` (float64)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..tensor import Tensor
from .engine import grad as autograd_grad
from .grad_mode import enable_grad, no_grad


def nnzoo_zeros(like: Tensor) -> Tensor:
    return Tensor._make(np.zeros(like.shape, dtype=like._data.dtype))


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def _diff_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Tensor], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, fast_mode: bool = False,
              n_directions: int = 3, seed: int = 0) -> bool:
    """Check the analytical gradient of ``fn`` at ``inputs`` against central differences.

    The full Jacobian is compared column by column (``fast_mode=False``), or only its products with
    ``n_directions`` random directions (``fast_mode=True``, far cheaper for big inputs). Inputs that
    require grad should be float64: float32 differences are too coarse for these tolerances.

    Returns True, or raises ``GradcheckError`` naming the output, input and worst element (returns
    False instead when ``raise_exception=False``).

    Example::

        >>> x = nnzoo.randn(3, dtype=nnzoo.float64, requires_grad=True)
        >>> nnzoo.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
        True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    idx = _diff_inputs(inputs)
    if not idx:
        raise ValueError("gradcheck: no input requires grad")
    for i in idx:
        if inputs[i].dtype.np != np.float64:
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; the check may fail "
                          "from rounding alone", stacklevel=2)
    try:
        if fast_mode:
            _check_directions(fn, inputs, idx, eps, atol, rtol, n_directions, seed)
        else:
            _check_full(fn, inputs, idx, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _numeric_jvp(fn, inputs, idx, directions, eps):
    """(f(x + eps d) - f(x - eps d)) / 2 eps for each output, with ``d`` spread over the inputs."""
    with no_grad():
        saved = [inputs[i]._data.copy() for i in idx]
        for i, d in zip(idx, directions):
            inputs[i]._data += eps * d
        plus = [o._data.astype(np.float64, copy=True) for o in _outputs(fn, inputs)]
        for i, d, s in zip(idx, directions, saved):
            inputs[i]._data[...] = s - eps * d
        minus = [o._data.astype(np.float64, copy=True) for o in _outputs(fn, inputs)]
        for i, s in zip(idx, saved):
            inputs[i]._data[...] = s
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _vjp(fn, inputs, idx, out_index, v):
    outs = _outputs(fn, inputs)
    out = outs[out_index]
    if not out.requires_grad:
        return [np.zeros(inputs[i].shape) for i in idx]
    grads = autograd_grad(out, [inputs[i] for i in idx], Tensor._make(v.astype(out._data.dtype)),
                          allow_unused=True)
    return [np.zeros(inputs[i].shape) if g is None else g._data.astype(np.float64) for i, g in zip(idx, grads)]


def _check_full(fn, inputs, idx, eps, atol, rtol):
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        if out._data.dtype.kind != "f":
            continue
        # analytical Jacobian rows: one vector-Jacobian product per output element
        rows = []
        for j in range(out.numel()):
            v = np.zeros(out.shape)
            v.flat[j] = 1.0
            rows.append(_vjp(fn, inputs, idx, k, v))
        for n, i in enumerate(idx):
            analytical = np.stack([r[n].ravel() for r in rows]) if rows else np.zeros((0, inputs[i].numel()))
            numerical = np.zeros_like(analytical)
            for col in range(inputs[i].numel()):
                d = [np.zeros(inputs[m].shape) for m in idx]
                d[n].flat[col] = 1.0
                numerical[:, col] = _numeric_jvp(fn, inputs, idx, d, eps)[k].ravel()
            _compare(analytical, numerical, atol, rtol, f"output {k}, input {i}")


def _check_directions(fn, inputs, idx, eps, atol, rtol, n_directions, seed):
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        if out._data.dtype.kind != "f":
            continue
        for _ in range(n_directions):
            u = rng.standard_normal(out.shape)
            d = [rng.standard_normal(inputs[i].shape) for i in idx]
            numeric = float(np.sum(u * _numeric_jvp(fn, inputs, idx, d, eps)[k]))
            analytical = float(sum(np.sum(g * dd) for g, dd in zip(_vjp(fn, inputs, idx, k, u), d)))
            _compare(np.array([analytical]), np.array([numeric]), atol, rtol,
                     f"output {k}, random direction (u . J d)")


def _compare(analytical, numerical, atol, rtol, where):
    bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        pos = np.unravel_index(np.argmax(np.abs(analytical - numerical) * bad), analytical.shape)
        raise GradcheckError(
            f"gradcheck: Jacobian mismatch for {where} at {tuple(int(p) for p in pos)}: analytical "
            f"{analytical[pos]:.10g} vs numerical {numerical[pos]:.10g} (atol={atol}, rtol={rtol}); "
            f"{int(bad.sum())} of {bad.size} entries differ")


def gradgradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Tensor], *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of the function ``x -> d(u . fn(x))/dx`` for a random ``u``."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    idx = _diff_inputs(inputs)
    rng = np.random.default_rng(seed)
    us = [rng.standard_normal(o.shape) for o in _outputs(fn, inputs)]

    def first_grad(*xs):
        with enable_grad():  # also while gradcheck evaluates finite differences under no_grad
            outs = _outputs(fn, xs)
            total = sum((o * Tensor._make(u.astype(o._data.dtype))).sum() for o, u in zip(outs, us)
                        if o.requires_grad)
            grads = autograd_grad(total, [xs[i] for i in idx], create_graph=True, allow_unused=True)
        return tuple(nnzoo_zeros(xs[i]) if g is None else g for i, g in zip(idx, grads))

    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
