"""Gradient clipping, in place on ``p.grad``, as ``torch.nn.utils``."""
import math

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
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
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), dtype=np.float32))
    if math.isinf(norm_type):
        norms = [np.max(np.abs(g._data)) if g._data.size else 0.0 for g in grads]
        total = max(norms)
    else:
        norms = [np.linalg.norm(g._data.ravel(), norm_type) for g in grads]
        total = np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type)
    dtype = grads[0]._data.dtype
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"non-finite ({float(total)}), so it cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for g in grads:
        np.multiply(g._data, np.asarray(coef, dtype=g._data.dtype), out=g._data)
        g._vc[0] += 1
    return Tensor._make(total)


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1
