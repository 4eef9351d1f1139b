"""Adamax: Adam with the infinity norm in place of the second moment (Kingma & Ba, 2014, section 7)."""
from __future__ import annotations

from ..autograd.arrays import array
from ..backend import xp
from .optimizer import Optimizer, ParamsT, _check_betas, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2014): the step divides the momentum by a running maximum of |g| instead of the
    square root of a running mean of g^2.

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t`` (``m = u = 0`` at the start)::

        if maximize:      g = -g
        if weight_decay:  g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1 ** t) * m / u

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 2e-3.
        betas (Tuple[float, float]): decay rates of the momentum and of the infinity norm. Default: (0.9, 0.999).
        eps (float): added to |g|. Default: 1e-8.
        weight_decay (float): weight decay (L2 penalty). Default: 0.
        maximize (bool): maximize the objective. Default: False.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State per parameter: ``step`` (a 0-d tensor), ``exp_avg`` (m), ``exp_inf`` (u).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()           # the first step moves each coordinate by about lr
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        _check_flags(type(self).__name__, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["exp_avg"] = _zeros_like(param)
        state["exp_inf"] = _zeros_like(param)

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        t = float(array(state["step"]))
        m, u = array(state["exp_avg"]), array(state["exp_inf"])
        m += (grad - m) * (1 - beta1)           # m = beta1 m + (1 - beta1) g  (a lerp)
        u *= beta2
        g = xp.abs(grad)
        g += eps
        xp.maximum(u, g, out=u)                 # u = max(beta2 u, |g| + eps)
        step = m / u
        step *= lr / (1 - beta1 ** t)
        return step


__all__ = ["Adamax"]
