"""Adam and AdamW: momentum on the gradient plus a per-coordinate step size from its running square."""
from __future__ import annotations

import math

from ..autograd.arrays import array
from ..backend import xp
from ..kernels import optim as _kernels
from .optimizer import Optimizer, ParamsT, _check_betas, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), optionally AMSGrad and decoupled weight decay.

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t`` (``m = v = v_max = 0``
    at the start)::

        if maximize:      g = -g
        if weight_decay:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)      # AdamW
            else:                       g = g + weight_decay * p             # L2 penalty
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad:  v_max = max(v_max, v);  v_hat = v_max
        else:        v_hat = v
        denom = sqrt(v_hat) / sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-3.
        betas (Tuple[float, float]): decay rates of the first and second moment. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay (L2 penalty, or decoupled). Default: 0.
        amsgrad (bool): use the running maximum of ``v`` (AMSGrad). Default: False.
        maximize (bool): maximize the objective. Default: False.
        decoupled_weight_decay (bool): shrink the weights directly (AdamW). Default: False.
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    State per parameter: ``step`` (a 0-d tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq``.

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()           # the first Adam step moves each coordinate by about lr
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _sparse_error = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        _check_flags(type(self).__name__, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["exp_avg"] = _zeros_like(param)
        state["exp_avg_sq"] = _zeros_like(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(param)

    def _fused_step(self, param, grad, state, group):
        # NOTE: one compiled pass instead of ~13 NumPy passes and their temporaries; bitwise the NumPy path's
        max_sq = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        if group["amsgrad"] and max_sq is None:
            return False
        beta1, beta2 = group["betas"]
        return _kernels.adam_step(param, grad, array(state["exp_avg"]), array(state["exp_avg_sq"]),
                                  None if max_sq is None else array(max_sq), lr=group["lr"], beta1=beta1,
                                  beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                                  decoupled=group["decoupled_weight_decay"], maximize=group["maximize"],
                                  step=float(array(state["step"])))

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        t = float(array(state["step"]))
        m, v = array(state["exp_avg"]), array(state["exp_avg_sq"])
        # NOTE: one scratch array, every step in place: the same arithmetic, in the same order,
        # as the plain expressions in the docstring, without ~7 temporaries per parameter
        tmp = xp.subtract(grad, m, out=xp.empty_like(m))  # out=: a 0-d parameter gets an array, not a scalar
        tmp *= 1 - beta1
        m += tmp                                # m = beta1 m + (1 - beta1) g  (a lerp)
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1 - beta2
        v *= beta2
        v += tmp                                # v = beta2 v + (1 - beta2) g^2
        if group["amsgrad"]:
            v_hat = array(state["max_exp_avg_sq"])
            xp.maximum(v_hat, v, out=v_hat)
        else:
            v_hat = v
        step_size = lr / (1 - beta1 ** t)
        xp.sqrt(v_hat, out=tmp)
        tmp /= math.sqrt(1 - beta2 ** t)
        tmp += eps                              # denom
        xp.divide(m, tmp, out=tmp)
        tmp *= step_size
        return tmp                              # p = p - step_size * m / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``Adam(...,
    decoupled_weight_decay=True)``, with ``weight_decay`` 1e-2 by default.

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t``::

        p = p * (1 - lr * weight_decay)          # the decay does not pass through m and v
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_max, v) if amsgrad else v
        p = p - lr / (1 - beta1 ** t) * m / (sqrt(v_hat) / sqrt(1 - beta2 ** t) + eps)

    Args: as :class:`Adam` (``weight_decay`` default 1e-2).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()           # first shrink by 1 - 0.05, then the Adam step
        >>> w
        tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)
