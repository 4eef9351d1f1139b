"""RMSprop: divide the gradient by a running root-mean-square of recent gradients (Hinton's lecture 6e)."""
import numpy as np

from .optimizer import Optimizer, _check_flags, _check_lr, _check_nonneg, _new_step, _scalar_step, _zeros_like


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

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
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

    def step(self, closure=None):
        """One RMSprop step; ``closure`` (optional) re-evaluates the loss, which is returned."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                g = self._grad_array(p, group["maximize"])
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                _scalar_step(state)

                if weight_decay != 0:
                    g = g + weight_decay * p._data
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * (g * g)
                if centered:
                    gbar = state["grad_avg"]._data
                    gbar += (1 - alpha) * (g - gbar)     # a lerp towards g
                    avg = np.sqrt(v - gbar * gbar)
                else:
                    avg = np.sqrt(v)
                avg += eps
                if momentum > 0:
                    b = state["momentum_buffer"]._data
                    b *= momentum
                    b += g / avg
                    p._data -= lr * b
                else:
                    p._data -= lr * (g / avg)
                self._bump(p)
        return loss
