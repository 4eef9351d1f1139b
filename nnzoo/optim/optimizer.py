"""``Optimizer``: the loop and the bookkeeping every optimizer shares (param groups, per-parameter state,
the step counter, weight decay, ``maximize``, closures, ``zero_grad``, ``state_dict``). A subclass gives
only its math: ``_init_state`` (the buffers of one parameter) and ``_update`` (the step of one parameter)."""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from .. import dtypes
from ..autograd.arrays import array, bump_version, wrap
from ..autograd.grad_mode import enable_grad
from ..backend import xp
from ..tensor import SparseNotImplementedError, Tensor

ParamsT: TypeAlias = Iterable[Tensor] | Iterable[dict[str, Any]]


class _RequiredParameter:
    """Marks a hyper-parameter with no default (``lr`` of a bare ``Optimizer``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj):
    return "nnzoo.Tensor" if isinstance(obj, Tensor) else type(obj).__name__


class Optimizer:
    r"""Base class of all optimizers: the loop over groups and parameters, and the bookkeeping.

    Holds ``param_groups`` (a list of dicts: ``'params'`` plus that group's options, missing options
    filled from ``defaults``) and ``state`` (a dict from parameter to that parameter's buffers, made
    on its first ``step``). ``step`` runs, for every parameter ``p`` with a gradient in every group::

        if state is empty:  _init_state(p, state, group)           # the optimizer's buffers
        state["step"] += 1                                          # where the optimizer counts steps
        g = -p.grad if maximize else p.grad
        if weight_decay:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
            else:                       g = g + weight_decay * p
        p = p - _update(p, g, state, group)                         # in place; p's version is bumped

    Where a subclass has a compiled one-pass version of all this (``_fused_step``, Numba installed), the
    loop calls it instead, with the same results.

    A subclass implements ``_update`` (and ``_init_state`` if it keeps buffers) on arrays; it does not
    write the parameter. (An optimizer written PyTorch's way, overriding ``step``, works as well.)

    Args:
        params: an iterable of Tensors, or of dicts each holding ``'params'`` and per-group options.
        defaults: the options (``lr``, ...) used by groups that do not set them.

    Example::

        >>> class SignSGD(nnzoo.optim.Optimizer):        # p = p - lr * sign(g)
        ...     def __init__(self, params, lr=0.1):
        ...         super().__init__(params, dict(lr=lr))
        ...     def _update(self, param, grad, state, group):
        ...         return group["lr"] * np.sign(grad)
        >>> w = nnzoo.zeros(3, requires_grad=True)
        >>> opt = SignSGD([w])
        >>> (w - nnzoo.tensor([1.0, -1.0, 0.0])).pow(2).sum().backward()
        >>> opt.step(); opt.zero_grad()
        >>> w
        tensor([ 0.1000, -0.1000,  0.0000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {_typename(params)}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- param groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer during fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_typename(param_group)}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a "
                            "list instead.")
        else:
            params = list(params) if params is not None else []
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (it was computed from other tensors; "
                                 "optimize the leaves it came from, or .detach().requires_grad_())")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer got a parameter group with duplicate parameters")
        group["params"] = params

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ---- gradients -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to ``None`` (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad = False
                    if p.grad.is_sparse:  # PyTorch's sparse zero_: no entries left
                        p.grad.zero_()
                        continue
                    array(p.grad)[...] = 0
                    bump_version(p.grad)

    # ---- the step ----------------------------------------------------------------------------------
    def _init_state(self, param, state, group):
        """Fill the empty ``state`` of ``param`` (an array) with the optimizer's buffers (Tensors, so that
        ``state_dict`` holds them as PyTorch does); ``'step'``, if made, is counted by ``step``."""

    def _update(self, param, grad, state, group):
        """The step of one parameter: the array ``u`` that ``step`` subtracts (``p = p - u``), from the
        parameter and gradient arrays (after ``maximize`` and weight decay), its ``state`` and its
        ``group``. May return a scratch array it owns; must not write ``param``."""
        raise NotImplementedError(f"{type(self).__name__}._update is not implemented")

    def _sparse_step(self, param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        """The step of one parameter whose gradient is a sparse COO tensor (``nnzoo.sparse``), in place on
        ``param``; ``state`` may be empty (the first step). Optimizers that support sparse gradients (``SGD``,
        ``Adagrad``) override it; the others raise PyTorch's error (``_sparse_error``)."""
        raise RuntimeError(self._sparse_error or f"{type(self).__name__} does not support sparse gradients")

    _sparse_error = None  # PyTorch's message when the optimizer refuses sparse gradients (default: the class name)

    def _fused_step(self, param, grad, state, group):
        """Optional: the whole step of one parameter (``maximize``, weight decay and ``_update``, the write
        of ``param`` included) as one compiled pass from ``nnzoo.kernels.optim``, in place, after ``step``
        has made the state and counted the step. Returns False, having changed nothing, when the kernel
        does not apply (NumPy mode, no Numba, another dtype or layout); ``step`` then runs the NumPy path,
        which stays the reference: the two give the same numbers."""
        return False

    def step(self, closure: Callable[[], Tensor | float] | None = None) -> Tensor | float | None:
        """Perform one optimization step (the loop in the class docstring).

        Args:
            closure: re-evaluates the model and returns the loss (run with gradients enabled, before the
                update); optional for all optimizers here.

        Returns:
            the closure's loss, or None without a closure.
        """
        if type(self)._update is Optimizer._update:
            raise NotImplementedError(f"{type(self).__name__}.step is not implemented")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        init_state, update, states = self._init_state, self._update, self.state
        fused = self._fused_step if _has_fused_step(type(self)) else None
        for group in self.param_groups:
            lr, weight_decay = group.get("lr"), group.get("weight_decay", 0)
            maximize, decoupled = group.get("maximize", False), group.get("decoupled_weight_decay", False)
            for p in group["params"]:
                if p.grad is None:  # no gradient
                    continue
                # NOTE: the private attributes here, not nnzoo.autograd.arrays: this loop is the one place that
                # writes parameters, and three calls a parameter measured 4-5% of an in-context SGD step
                try:
                    x, g = p._data, p.grad._data
                except SparseNotImplementedError:  # a sparse gradient (nn.Embedding(sparse=True))
                    self._sparse_step(p, p.grad, states[p], group)
                    p._vc[0] += 1
                    continue
                if g.shape != x.shape:
                    raise RuntimeError(f"{type(self).__name__}.step: gradient of shape {tuple(g.shape)} does "
                                       f"not match parameter of shape {tuple(x.shape)}")
                state = states[p]
                if not state:
                    init_state(x, state, group)
                counter = state.get("step")
                if counter is not None:
                    counter._data += 1  # a 0-d array, in place
                if fused is not None and fused(x, g, state, group):  # the same step, one compiled pass
                    p._vc[0] += 1
                    continue
                if maximize:
                    g = -g
                if weight_decay != 0:
                    if decoupled:
                        x *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * x
                x -= update(x, g, state, group)
                p._vc[0] += 1  # an in-place write of p: autograd's version counter
        return loss

    # ---- state_dict --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a dict, in PyTorch's layout.

        ``'state'`` maps an integer parameter index (counting through the groups in order) to that
        parameter's buffers (parameters without buffers are left out, as in PyTorch); ``'param_groups'``
        lists each group's options with ``'params'`` as the list of indices. The buffers are referenced,
        not copied (as in PyTorch).
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict`` (from this library or from PyTorch, tensors converted to nnzoo).

        Groups are matched in order and must hold the same number of parameters. Tensors in the
        state are copied and cast to their parameter's dtype (all but ``'step'``).
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the "
                                 f"size of optimizer's group: group {i} has {len(saved['params'])} "
                                 f"parameters in the state dict and {len(group['params'])} here")
        id_map = {old: p for group, saved in zip(self.param_groups, saved_groups)
                  for old, p in zip(saved["params"], group["params"])}

        def cast(param, key, value):
            if isinstance(value, Tensor):
                arr = xp.array(array(value), copy=True)
                if key != "step" and array(param).dtype.kind == "f" and arr.dtype.kind == "f":
                    arr = arr.astype(array(param).dtype, copy=False)
                return wrap(arr)
            if isinstance(value, dict):
                return {k: cast(param, k, v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, key, v) for v in value)
            return copy.deepcopy(value)

        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                p = id_map[key]
                state[p] = cast(p, None, value)
            else:
                state[key] = copy.deepcopy(value)

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: v for k, v in self.defaults.items() if v is not required}
            new.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
            new["params"] = group["params"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    # ---- helpers -----------------------------------------------------------------------------------
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _has_fused_step(cls):
    """Whether ``cls`` has a ``_fused_step`` that is its own math: defined by the class whose ``_update`` and
    ``_init_state`` it uses (a user's subclass that overrides ``_update`` gets the NumPy loop with it)."""
    owner = next(c for c in cls.__mro__ if "_fused_step" in vars(c))
    return owner is not Optimizer and cls._update is owner._update and cls._init_state is owner._init_state


# ---- what the subclasses share: argument checks and state buffers ------------------------------------------
def _check_lr(lr):
    if lr is not required and not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonneg(name, value):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def _check_betas(betas):
    """Adam's family: each of the two betas in [0, 1), PyTorch's error otherwise."""
    for i in range(2):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")


def _check_flags(name, differentiable):
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True is not supported (updates run on "
                                  "the arrays, outside autograd)")


def _new_step():
    """A fresh step counter: a 0-d tensor of the default float dtype (PyTorch keeps it as a tensor)."""
    return wrap(xp.array(0.0, dtype=dtypes.get_default_dtype().np))


def _zeros_like(param, fill=0.0):
    """A state buffer shaped like the parameter array ``param``, filled with ``fill``."""
    return wrap(xp.full_like(param, fill, order="C"))


__all__ = ["Optimizer", "required"]
