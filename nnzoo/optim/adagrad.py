"""Adagrad: per-coordinate step sizes shrinking with the sum of all past squared gradients."""
from __future__ import annotations

from ..autograd.arrays import array
from ..backend import xp
from ..kernels import optim as _kernels
from .optimizer import Optimizer, ParamsT, _check_flags, _check_lr, _check_nonneg, _new_step, _zeros_like


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011).

    The algorithm, for each parameter ``p`` with gradient ``g`` at step ``t``
    (``s = initial_accumulator_value`` at the start)::

        if maximize:      g = -g
        if weight_decay:  g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-2.
        lr_decay (float): learning-rate decay. Default: 0.
        weight_decay (float): L2 penalty. Default: 0.
        initial_accumulator_value (float): starting value of the sum ``s``. Default: 0.
        eps (float): added to the denominator. Default: 1e-10.
        maximize (bool): maximize the objective. Default: False.
        foreach, differentiable, fused: accepted for PyTorch compatibility.

    State per parameter (created at construction, as in PyTorch): ``step`` and ``sum`` (s).

    Example::

        >>> w = nnzoo.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nnzoo.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()           # s = g^2: the first step moves each coordinate by lr
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg("lr_decay", lr_decay)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("initial_accumulator_value", initial_accumulator_value)
        _check_nonneg("epsilon", eps)
        _check_flags("Adagrad", differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # NOTE: as in PyTorch, the sums made here start at the constructor's initial_accumulator_value
        # even for a group that sets its own (that value only applies to groups added later).
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p.detach().numpy(), self.state[p], self.defaults)

    def _init_state(self, param, state, group):
        state["step"] = _new_step()
        state["sum"] = _zeros_like(param, group["initial_accumulator_value"])

    def _fused_step(self, param, grad, state, group):
        # NOTE: one compiled pass instead of ~6 NumPy passes; bitwise the NumPy path's
        return _kernels.adagrad_step(param, grad, array(state["sum"]), lr=group["lr"], lr_decay=group["lr_decay"],
                                     eps=group["eps"], weight_decay=group["weight_decay"],
                                     maximize=group["maximize"], step=float(array(state["step"])))

    def _sparse_step(self, param, grad, state, group):
        """PyTorch's Adagrad on a sparse gradient (coalesced first): ``s[rows] += g^2``, then
        ``p[rows] -= clr * g / (sqrt(s[rows]) + eps)`` on the touched rows only; weight decay refused."""
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        if group["maximize"]:
            grad = -grad
        if not state:
            self._init_state(array(param), state, group)
        step = state["step"]
        array(step)[...] += 1
        clr = group["lr"] / (1 + (float(array(step)) - 1) * group["lr_decay"])
        g = grad.coalesce()
        rows, gv = array(g._indices())[0], array(g._values())
        if param.dim() != 2 or g.sparse_dim() != 1:
            raise NotImplementedError("Adagrad: sparse gradients with more than one sparse dimension or a "
                                      "non-2-D parameter are not supported")
        s = array(state["sum"])
        s[rows] += gv * gv
        std = xp.sqrt(s[rows])
        std += group["eps"]
        p = array(param)
        p[rows] += (gv / std) * xp.asarray(-clr, dtype=gv.dtype)

    def _update(self, param, grad, state, group):
        t = float(array(state["step"]))
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = array(state["sum"])
        s += grad * grad
        std = xp.sqrt(s)
        std += group["eps"]
        return clr * (grad / std)
