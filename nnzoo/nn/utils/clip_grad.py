"""Gradient clipping, in place on ``p.grad``, as ``torch.nn.utils``."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ...autograd.arrays import array, bump_version, wrap
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = ||(||g_1||, ..., ||g_n||)||_p;  every g_i *= min(1, max_norm / (total + 1e-6)).
    Returns the total norm (before clipping) as a 0-d tensor. ``norm_type`` may be ``inf``.

    Example::

        >>> w = nnzoo.ones(4, requires_grad=True); (w * 3).sum().backward()
        >>> nnzoo.nn.utils.clip_grad_norm_([w], 1.0)
        tensor(6.)
        >>> w.grad
        tensor([0.5000, 0.5000, 0.5000, 0.5000])
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return wrap(np.zeros((), dtype=np.float32))
    if any(g.is_sparse for g in grads):
        # a sparse gradient's norm is that of its coalesced values (repeated rows summed first); it is scaled by
        # scaling its values. NOTE: PyTorch 2.13 raises here (linalg_vector_norm has no SparseCPU kernel).
        for p in parameters:
            if p.grad is not None and p.grad.is_sparse:
                p.grad = p.grad.coalesce()
        grads = _grads(parameters)
        arrays = [array(g._values()) if g.is_sparse else array(g) for g in grads]
    else:
        arrays = [array(g) for g in grads]
    if math.isinf(norm_type):
        # NOTE: max(max x, -min x) is max |x| (nan if any is nan) without the |x| temporary: two reads, no write
        norms = [np.maximum(a.max(), -a.min()) if a.size else 0.0 for a in arrays]
        total = max(norms)
    elif norm_type == 2.0:
        # NOTE: sqrt(x . x) is what np.linalg.norm computes for a 1-D real array (BLAS dot: one pass of
        # squares), without its checks (~1 us a gradient). A compiled sum of squares was tried: float64
        # accumulation does not vectorise without reassociation, 8-15x slower than the dot (benchmarks/README)
        norms = [np.sqrt(v.dot(v)) if v.dtype.kind == "f" else np.linalg.norm(v) for v in (a.ravel() for a in arrays)]
        total = np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type)
    else:
        norms = [np.linalg.norm(a.ravel(), norm_type) for a in arrays]
        total = np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type)
    dtype = arrays[0].dtype
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"non-finite ({float(total)}), so it cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for g, a in zip(grads, arrays):
        if coef != 1.0:  # NOTE: x * 1 is x, bit for bit (nan and -0 too): nothing to write when nothing is clipped
            np.multiply(a, np.asarray(coef, dtype=a.dtype), out=a)
        bump_version(g)
    return wrap(total)


@no_grad()
def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place.

    Example::

        >>> w = nnzoo.ones(3, requires_grad=True); (w * 3).sum().backward()
        >>> nnzoo.nn.utils.clip_grad_value_([w], 1.0); w.grad
        tensor([1., 1., 1.])
    """
    clip_value = float(clip_value)
    for p in [parameters] if isinstance(parameters, Tensor) else parameters:
        g = p.grad
        if g is None:
            continue
        if g.is_sparse:  # the gradient's elements are its coalesced values (NOTE: PyTorch 2.13 raises here)
            g = p.grad = g.coalesce()
        a = array(g._values()) if g.is_sparse else array(g)
        np.clip(a, -clip_value, clip_value, out=a)
        bump_version(g)
