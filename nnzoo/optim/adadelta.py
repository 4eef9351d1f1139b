"""Adadelta: step sizes from the ratio of running RMS of past updates to running RMS of gradients."""
from __future__ import annotations

from ..autograd.arrays import array
from ..backend import xp
from .optimizer import Optimizer, ParamsT, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    The algorithm, for each parameter ``p`` with gradient ``g`` (``v = u = 0`` at the start)::

        if maximize:      g = -g
        if weight_decay:  g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): scales ``delta`` before it is applied. Default: 1.0.
        rho (float): decay rate of the running averages. Default: 0.9.
        eps (float): added inside both square roots. Default: 1e-6.
        weight_decay (float): L2 penalty. Default: 0.
        maximize (bool): maximize the objective. Default: False.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State per parameter: ``step``, ``square_avg`` (v) and ``acc_delta`` (u).

    Example::

        >>> w = nnzoo.tensor([1.0], requires_grad=True)
        >>> opt = nnzoo.optim.Adadelta([w], rho=0.0, eps=1.0)
        >>> (w * w).sum().backward()        # g = 2, v = 4, delta = sqrt(1) / sqrt(5) * 2
        >>> opt.step()
        >>> w
        tensor([0.1056], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg("epsilon", eps)
        _check_nonneg("weight_decay", weight_decay)
        _check_flags("Adadelta", differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["square_avg"] = _zeros_like(param)
        state["acc_delta"] = _zeros_like(param)

    def _update(self, param, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        v, u = array(state["square_avg"]), array(state["acc_delta"])
        v *= rho
        v += (1 - rho) * (grad * grad)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * grad
        u *= rho
        u += (1 - rho) * (delta * delta)
        return group["lr"] * delta
