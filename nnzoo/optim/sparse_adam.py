"""SparseAdam: Adam for sparse gradients, with moments updated lazily on the rows a step touches."""
from __future__ import annotations

import math
from collections.abc import Callable

from ..autograd.arrays import array, bump_version
from ..autograd.grad_mode import enable_grad
from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _zeros_like


class SparseAdam(Optimizer):
    r"""Adam for sparse gradients (``nn.Embedding(sparse=True)``): the moments and the parameter change only on
    the rows present in the gradient ("lazy" Adam), PyTorch's ``torch.optim.SparseAdam``.

    The algorithm, for each parameter ``p`` with (coalesced) sparse gradient ``g`` on rows ``R`` at step ``t``
    (the step counts the steps this parameter had a gradient; ``m = v = 0`` at the start)::

        if maximize:  g = -g
        m[R] = m[R] + (1 - beta1) * (g - m[R])
        v[R] = v[R] + (1 - beta2) * (g * g - v[R])
        step_size = lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        p[R] = p[R] - step_size * m[R] / (sqrt(v[R]) + eps)

    A dense gradient raises (PyTorch's message: use Adam).

    Args:
        params: an iterable of Tensors or of dicts (param groups).
        lr (float): learning rate. Default: 1e-3.
        betas (Tuple[float, float]): decay rates of the first and second moment. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        maximize (bool): maximize the objective. Default: False.

    State per parameter (PyTorch's layout, so ``state_dict`` loads in torch): ``step`` (a Python int),
    ``exp_avg`` (m) and ``exp_avg_sq`` (v), dense like the parameter.

    Example::

        >>> emb = nnzoo.nn.Embedding(5, 2, sparse=True)
        >>> opt = nnzoo.optim.SparseAdam(emb.parameters(), lr=0.1)
        >>> emb(nnzoo.tensor([1, 3])).sum().backward()
        >>> before = emb.weight.detach().clone()
        >>> opt.step()
        >>> (emb.weight - before).abs().sum(1)       # only rows 1 and 3 moved, each coordinate by lr
        tensor([0.0000, 0.2000, 0.0000, 0.2000, 0.0000], grad_fn=<SumBackward1>)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse = [[i, j] for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"]) if p.is_sparse]
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")

    def step(self, closure: Callable[[], Tensor | float] | None = None) -> Tensor | float | None:
        """Perform one optimization step (the loop in the class docstring); returns the closure's loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            grads = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if not p.grad.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = _zeros_like(array(p))
                    state["exp_avg_sq"] = _zeros_like(array(p))
                state["step"] += 1
                grads.append((p, p.grad, state))
            for p, grad, state in grads:
                self._update_rows(p, grad, state, group["lr"], beta1, beta2, group["eps"], group["maximize"])
        return loss

    @staticmethod
    def _update_rows(p, grad, state, lr, beta1, beta2, eps, maximize):
        if maximize:
            grad = -grad
        g = grad.coalesce()  # the update is non-linear: each row once
        gv = array(g._values())
        if gv.size == 0:
            return
        idx = array(g._indices())
        x, m, v = array(p), array(state["exp_avg"]), array(state["exp_avg_sq"])
        sd = idx.shape[0]
        if sd == 1:
            rows = idx[0]
        else:  # several sparse dims: flat positions over them
            rows = xp.ravel_multi_index(tuple(idx), x.shape[:sd])
            x, m, v = (a.reshape((-1,) + a.shape[sd:]) for a in (x, m, v))
        dt = gv.dtype
        old_m = m[rows]
        upd_m = (gv - old_m) * dt.type(1 - beta1)
        m[rows] = old_m + upd_m
        old_v = v[rows]
        upd_v = (gv * gv - old_v) * dt.type(1 - beta2)
        v[rows] = old_v + upd_v
        numer = upd_m + old_m
        denom = xp.sqrt(upd_v + old_v)
        denom += dt.type(eps)
        t = state["step"]
        step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        x[rows] += dt.type(-step_size) * (numer / denom)
        for buf in (p, state["exp_avg"], state["exp_avg_sq"]):
            bump_version(buf)
