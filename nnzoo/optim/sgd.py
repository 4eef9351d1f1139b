"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from ..autograd.arrays import array, wrap
from ..autograd.grad_mode import no_grad
from ..backend import xp
from ..kernels import optim as _kernels
from ..sparse import add_dense_
from .optimizer import Optimizer, ParamsT, _check_flags, _check_lr, _check_nonneg


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
        foreach, differentiable, fused: accepted for PyTorch compatibility (one path here: a compiled pass per
            parameter where Numba is installed, else NumPy; the same numbers).

    State per parameter: ``momentum_buffer`` (b, if momentum > 0; made from the first gradient).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
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

    # no _init_state: the momentum buffer is made from the first gradient, in _update (as in PyTorch)

    def _fused_step(self, param, grad, state, group):
        # NOTE: one compiled pass (decay, momentum, Nesterov and the write) instead of 3-6 NumPy passes
        momentum = group["momentum"]
        buf = state.get("momentum_buffer") if momentum != 0 else None
        first = momentum != 0 and buf is None
        b = xp.empty_like(param) if first else (None if buf is None else array(buf))
        done = _kernels.sgd_step(param, grad, b, lr=group["lr"], weight_decay=group["weight_decay"],
                                 momentum=momentum, dampening=group["dampening"], nesterov=group["nesterov"],
                                 maximize=group["maximize"], first=first)
        if done and first:
            state["momentum_buffer"] = wrap(b)
        return done

    def _sparse_step(self, param, grad, state, group):
        """PyTorch's SGD on a sparse gradient: weight decay refused (sparse + dense); the momentum buffer is a
        sparse tensor that keeps every step's entries (``buf * momentum + (1 - dampening) * g``, concatenated);
        the update scatter-adds ``-lr * g`` into the touched rows only."""
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.clone().detach()
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        with no_grad():
            add_dense_(param, grad, -group["lr"])  # param.add_(grad, alpha=-lr), without scaling a copy first

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = wrap(grad.copy())
            else:
                b, dampening = array(buf), group["dampening"]
                b *= momentum
                b += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * array(buf) if group["nesterov"] else array(buf)
        return group["lr"] * grad
