"""L-BFGS, with an optional strong-Wolfe line search: PyTorch's ``torch.optim.LBFGS`` (minFunc's algorithm)."""
from __future__ import annotations

import math
from collections.abc import Callable

from ..autograd.arrays import array, bump_version, wrap
from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to ``bounds`` (default the
    interval between the points); the middle when the cubic has none (minFunc's polyinterp)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from the point ``x`` (loss ``f``, flat gradient ``g``, slope ``gtd = g.d``) for a
    step ``t`` meeting the strong Wolfe conditions  f(x + t d) <= f + c1 t gtd  and  |g(x + t d).d| <= -c2 gtd:
    bracket an interval that holds one, then zoom in by cubic interpolation. ``obj_func(x, t, d)`` returns
    (loss, flat gradient) at x + t d. Returns (loss, gradient, t, evaluations). All on flat arrays."""
    d_norm = float(xp.abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a cubic step between 1.01 t and 10 t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

    if ls_iter == max_ls:  # out of evaluations: bracket [0, t]
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point meets the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # NOTE: a t within 10% of the bracket's ends twice in a row (or outside it) moves to 10% inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo fails or no lower than the low end: t becomes the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:  # the old low becomes the high end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS: quasi-Newton steps from the last ``history_size`` (s, y) pairs, as ``torch.optim.LBFGS``.

    One ``step(closure)`` runs up to ``max_iter`` iterations on all parameters flattened into one vector x
    (loss f, gradient g)::

        d = -g                                            # first iteration ever
        t = min(1, 1 / sum|g|) * lr
        repeat:
            (after the first) s = t d, y = g - g_prev; if y.s > 1e-10: keep (s, y), rho = 1 / y.s,
                H = y.s / y.y;  d = -H_k g by the two-loop recursion from the kept pairs (H the initial scale)
            t = lr (after the first iteration ever)
            stop if g.d > -tolerance_change
            x = x + t d, with t from a strong-Wolfe line search (line_search_fn="strong_wolfe"),
                else fixed: f, g = closure() (skipped in the last iteration)
            stop on max_iter, max_eval evaluations, max|g| <= tolerance_grad, max|t d| <= tolerance_change
            or |f - f_prev| < tolerance_change

    NOTE: why ``step`` is overridden. The base loop updates each parameter from its own gradient once; L-BFGS
    needs the closure (it re-evaluates the loss several times a step), treats all parameters as one vector
    and keeps one state for all of them. As in PyTorch, that state is registered under the first parameter
    (``state_dict()['state'][0]``: ``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``, ``old_stps``,
    ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``), and only one parameter group is allowed.
    The arithmetic runs on flat arrays in the parameters' dtype; use float64 for trajectories equal to
    PyTorch's to rounding.

    Args:
        params: an iterable of Tensors (one group).
        lr (float): the step length (the line search's first trial). Default: 1.
        max_iter (int): iterations per ``step``. Default: 20.
        max_eval (int): closure evaluations per ``step``. Default: ``max_iter * 5 // 4``.
        tolerance_grad (float): stop when max|g| is at most this. Default: 1e-7.
        tolerance_change (float): stop when the loss or the step changes less than this. Default: 1e-9.
        history_size (int): how many (s, y) pairs to keep. Default: 100.
        line_search_fn (str | None): ``"strong_wolfe"`` or None (fixed steps). Default: None.

    Example::

        >>> x = nnzoo.tensor([-1.5, 2.0], dtype=nnzoo.float64, requires_grad=True)
        >>> opt = nnzoo.optim.LBFGS([x], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2   # Rosenbrock
        ...     loss.backward()
        ...     return loss
        >>> for _ in range(5):
        ...     _ = opt.step(closure)
        >>> [round(v, 4) for v in x.tolist()]
        [1.0, 1.0]
    """

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- the parameters as one flat vector -----------------------------------------------------------------
    def _gather_flat_grad(self):
        return xp.concatenate([xp.zeros(array(p).size, dtype=array(p).dtype) if p.grad is None
                               else array(p.grad).reshape(-1) for p in self._params])

    def _add_grad(self, t, d):
        """x = x + t d, parameter by parameter (in place; versions bumped)."""
        offset = 0
        for p in self._params:
            x = array(p)
            x += t * d[offset:offset + x.size].reshape(x.shape)
            bump_version(p)
            offset += x.size

    def _set_param(self, saved):
        for p, x in zip(self._params, saved):
            array(p)[...] = x
            bump_version(p)

    def _directional_evaluate(self, closure, x, t, d):
        """(loss, flat gradient) at x + t d; the parameters are put back to x afterwards."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ---- the step ------------------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Tensor | float]) -> Tensor | float:  # type: ignore[override]
        """Up to ``max_iter`` L-BFGS iterations (the class docstring's loop).

        Args:
            closure: clears the gradients, re-evaluates the model, calls ``backward`` and returns the loss
                (required: L-BFGS evaluates the loss several times a step).

        Returns:
            the loss of the first evaluation (before this step's updates), as PyTorch.
        """
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        def evaluate():
            with enable_grad():
                return closure()

        # NOTE: one state for all parameters, registered under the first (as PyTorch: load_state_dict casts it)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        # the state's tensors as arrays (wrapped back into tensors at the end)
        def arr(v):
            return array(v) if isinstance(v, Tensor) else v

        d, t = arr(state.get("d")), arr(state.get("t"))
        old_dirs = [arr(v) for v in state.get("old_dirs", [])]
        old_stps = [arr(v) for v in state.get("old_stps", [])]
        ro = [float(arr(v)) for v in state.get("ro", [])]
        h_diag = arr(state.get("H_diag"))
        prev_flat_grad, prev_loss = arr(state.get("prev_flat_grad")), state.get("prev_loss")
        al = None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- the direction -------------------------------------------------------------------------
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair (curvature positive)
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                num_old = len(old_dirs)
                al = [None] * history_size
                # the two-loop recursion: d = -H g
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # ---- the step length -----------------------------------------------------------------------
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [array(p).copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:  # no evaluation after the last iteration (PyTorch's choice)
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stop? ---------------------------------------------------------------------------------
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        def tensor(v):
            return wrap(xp.asarray(v, dtype=flat_grad.dtype)) if v is not None else None

        state["d"] = wrap(d)
        state["t"] = t
        state["old_dirs"] = [wrap(v) for v in old_dirs]
        state["old_stps"] = [wrap(v) for v in old_stps]
        state["ro"] = [tensor(v) for v in ro]
        state["H_diag"] = h_diag if isinstance(h_diag, int) else tensor(h_diag)  # 1 until a pair is kept
        state["prev_flat_grad"] = wrap(prev_flat_grad)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = [tensor(v) for v in al]
        return orig_loss
