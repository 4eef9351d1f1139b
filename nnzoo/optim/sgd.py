"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""
from ..tensor import Tensor
from .optimizer import Optimizer, _check_lr, _check_nonneg, _check_flags


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t``::

        if maximize:      g = -g
        if weight_decay:  g = g + weight_decay * p
        if momentum:
            if t == 1:    b = g                                   # the buffer starts at the gradient
            else:         b = momentum * b + (1 - dampening) * g
            g = g + momentum * b  if nesterov else  b
        p = p - lr * g

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-3.
        momentum (float): momentum factor. Default: 0.
        dampening (float): dampening for momentum. Default: 0.
        weight_decay (float): L2 penalty. Default: 0.
        nesterov (bool): Nesterov momentum (needs momentum > 0 and dampening 0). Default: False.
        maximize (bool): maximize the objective instead of minimizing. Default: False.
        foreach, differentiable, fused: accepted for PyTorch compatibility (one NumPy path here).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr(lr)
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_flags("SGD", differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One SGD step; ``closure`` (optional) re-evaluates the loss, which is returned."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                g = self._grad_array(p, group["maximize"])
                if g is None:
                    continue
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(g.copy())
                    else:
                        b = buf._data
                        b *= momentum
                        b += g if dampening == 0 else (1 - dampening) * g
                    g = g + momentum * buf._data if nesterov else buf._data
                p._data -= lr * g
                self._bump(p)
        return loss
