"""RMSprop: divide the gradient by a running root-mean-square of recent gradients (Hinton's lecture 6e)."""
from __future__ import annotations

from ..autograd.arrays import array
from ..backend import xp
from ..kernels import optim as _kernels
from .optimizer import Optimizer, ParamsT, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class RMSprop(Optimizer):
    r"""RMSprop, optionally centered and with momentum.

    The algorithm, for each parameter ``p`` with gradient ``g`` (``v = gbar = b = 0`` at the start)::

        if maximize:      g = -g
        if weight_decay:  g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:                                    # subtract the squared mean: a variance
            gbar = alpha * gbar + (1 - alpha) * g
            avg = sqrt(v - gbar * gbar) + eps
        else:
            avg = sqrt(v) + eps                         # eps outside the square root
        if momentum > 0:
            b = momentum * b + g / avg
            p = p - lr * b
        else:
            p = p - lr * g / avg

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-2.
        alpha (float): smoothing constant. Default: 0.99.
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): L2 penalty. Default: 0.
        momentum (float): momentum factor. Default: 0.
        centered (bool): normalise by an estimate of the gradient's variance. Default: False.
        maximize (bool): maximize the objective. Default: False.
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b, if momentum > 0),
    ``grad_avg`` (gbar, if centered).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.RMSprop([w], lr=0.01, alpha=0.75)
        >>> (w * w).sum().backward()
        >>> opt.step()           # v = 0.25 g^2, so each coordinate moves by lr / 0.5
        >>> w
        tensor([ 0.9800, -1.9800], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon", eps)
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("alpha", alpha)
        _check_flags("RMSprop", differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["square_avg"] = _zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(param)

    def _fused_step(self, param, grad, state, group):
        # NOTE: one compiled pass instead of 6-10 NumPy passes; bitwise the NumPy path's
        centered, momentum = group["centered"], group["momentum"]
        gbar = state.get("grad_avg") if centered else None
        buf = state.get("momentum_buffer") if momentum > 0 else None
        if (centered and gbar is None) or (momentum > 0 and buf is None):
            return False
        return _kernels.rmsprop_step(param, grad, array(state["square_avg"]), None if gbar is None else array(gbar),
                                     None if buf is None else array(buf), lr=group["lr"], alpha=group["alpha"],
                                     eps=group["eps"], weight_decay=group["weight_decay"], momentum=momentum,
                                     maximize=group["maximize"])

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        v = array(state["square_avg"])
        v *= alpha
        v += (1 - alpha) * (grad * grad)
        if group["centered"]:
            gbar = array(state["grad_avg"])
            gbar += (1 - alpha) * (grad - gbar)     # a lerp towards g
            avg = xp.sqrt(v - gbar * gbar)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        momentum = group["momentum"]
        if momentum > 0:
            b = array(state["momentum_buffer"])
            b *= momentum
            b += grad / avg
            return group["lr"] * b
        return group["lr"] * (grad / avg)
