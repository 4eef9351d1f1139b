"""RAdam: Adam with the variance of its adaptive step rectified (Liu et al., 2019)."""
from __future__ import annotations

import math

from ..autograd.arrays import array
from ..backend import xp
from .optimizer import Optimizer, ParamsT, _check_betas, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019): plain momentum SGD while the second-moment estimate is too young to trust
    (rho_t <= 5), then Adam's step scaled by the rectification term r_t.

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t`` (``m = v = 0`` at the start)::

        if maximize:      g = -g
        if weight_decay:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
            else:                       g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            p = p - lr * m_hat * r_t * sqrt(1 - beta2 ** t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-3.
        betas (Tuple[float, float]): decay rates of the first and second moment. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay (L2 penalty, or decoupled). Default: 0.
        decoupled_weight_decay (bool): shrink the weights directly (as AdamW). Default: False.
        maximize (bool): maximize the objective. Default: False.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State per parameter: ``step`` (a 0-d tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()           # the first steps are momentum SGD: m_hat = g
        >>> w
        tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        _check_flags(type(self).__name__, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["exp_avg"] = _zeros_like(param)
        state["exp_avg_sq"] = _zeros_like(param)

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        t = float(array(state["step"]))
        m, v = array(state["exp_avg"]), array(state["exp_avg_sq"])
        m += (grad - m) * (1 - beta1)           # m = beta1 m + (1 - beta1) g  (a lerp)
        v *= beta2
        v += grad * grad * (1 - beta2)          # v = beta2 v + (1 - beta2) g^2
        bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
        step = m / bias1 * lr                   # lr * m_hat
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = xp.sqrt(v)
            denom += eps
            step *= math.sqrt(bias2) / denom
            step *= rect
        return step


__all__ = ["RAdam"]
