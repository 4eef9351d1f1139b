"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""
from __future__ import annotations

from .. import dtypes
from ..autograd.arrays import array, wrap
from ..backend import xp
from .optimizer import Optimizer, ParamsT, _check_betas, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose step looks ahead along the momentum, with PyTorch's schedule of the
    momentum coefficient.

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t`` (``m = v = 0``,
    ``mu_product = 1`` at the start)::

        if maximize:      g = -g
        if weight_decay:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
            else:                       g = g + weight_decay * p
        mu      = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
              - lr * mu_next / (1 - mu_product * mu_next) * m / denom

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 2e-3.
        betas (Tuple[float, float]): decay rates of the first and second moment. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay (L2 penalty, or decoupled). Default: 0.
        momentum_decay (float): the momentum schedule's decay psi. Default: 4e-3.
        decoupled_weight_decay (bool): shrink the weights directly (NAdamW). Default: False.
        maximize (bool): maximize the objective. Default: False.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State per parameter: ``step`` and ``mu_product`` (0-d tensors of the default dtype, as PyTorch keeps
    them), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.8944, -1.8944], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("momentum_decay", momentum_decay)
        _check_flags(type(self).__name__, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["mu_product"] = wrap(xp.array(1.0, dtype=dtypes.get_default_dtype().np))
        state["exp_avg"] = _zeros_like(param)
        state["exp_avg_sq"] = _zeros_like(param)

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        t = float(array(state["step"]))
        m, v, mu_product = array(state["exp_avg"]), array(state["exp_avg_sq"]), array(state["mu_product"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product *= mu  # NOTE: in the state's dtype (float32 by default), as PyTorch rounds it
        prod = float(mu_product)
        m += (grad - m) * (1 - beta1)           # m = beta1 m + (1 - beta1) g  (a lerp)
        v *= beta2
        v += grad * grad * (1 - beta2)          # v = beta2 v + (1 - beta2) g^2
        denom = xp.sqrt(v / (1 - beta2 ** t))
        denom += eps
        step = grad * (lr * (1.0 - mu) / (1.0 - prod))
        step += m * (lr * mu_next / (1.0 - prod * mu_next))
        step /= denom
        return step


__all__ = ["NAdam"]
