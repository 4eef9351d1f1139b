"""``Optimizer``: the bookkeeping every optimizer shares (param groups, per-parameter state,
``zero_grad``, ``state_dict``). The update rule itself lives in each subclass's ``step``."""
import copy
from collections import defaultdict

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a hyper-parameter with no default (``lr`` of a bare ``Optimizer``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj):
    return "nnzoo.Tensor" if isinstance(obj, Tensor) else type(obj).__name__


class Optimizer:
    """Base class of all optimizers.

    Holds ``param_groups`` (a list of dicts: ``'params'`` plus that group's options, missing options
    filled from ``defaults``) and ``state`` (a dict from parameter to that parameter's buffers, created
    lazily on the first ``step``). Subclasses implement ``step(closure=None)``.

    Args:
        params: an iterable of Tensors, or of dicts each holding ``'params'`` and per-group options.
        defaults: the options (``lr``, ...) used by groups that do not set them.

    Example::

        >>> w = nnzoo.zeros(3, requires_grad=True)
        >>> opt = nnzoo.optim.SGD([w], lr=0.1)
        >>> (w - 1.0).pow(2).sum().backward()
        >>> opt.step(); opt.zero_grad()
        >>> w
        tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
    """

    def __init__(self, params, defaults):
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
    def add_param_group(self, param_group):
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
    def zero_grad(self, set_to_none=True):
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
                    p.grad._data[...] = 0
                    p.grad._vc[0] += 1

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    @staticmethod
    def _eval_closure(closure):
        """Run the closure (if any) with gradients enabled and return its loss."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _grad_array(self, p, maximize=False):
        """The gradient of ``p`` as an array (negated when maximizing); ``None`` if it has none."""
        if p.grad is None:
            return None
        g = p.grad._data
        if g.shape != p._data.shape:
            raise RuntimeError(f"{type(self).__name__}.step: gradient of shape {tuple(g.shape)} does not "
                               f"match parameter of shape {tuple(p._data.shape)}")
        return -g if maximize else g

    @staticmethod
    def _bump(p):
        """Record an in-place write of ``p._data`` (autograd's version counter)."""
        p._vc[0] += 1

    # ---- state_dict --------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as a dict, in PyTorch's layout.

        ``'state'`` maps an integer parameter index (counting through the groups in order) to that
        parameter's buffers; ``'param_groups'`` lists each group's options with ``'params'`` as the
        list of indices. The buffers are referenced, not copied (as in PyTorch).
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
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
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
                arr = np.array(value._data, copy=True)
                if key != "step" and param._data.dtype.kind == "f" and arr.dtype.kind == "f":
                    arr = arr.astype(param._data.dtype, copy=False)
                return Tensor._make(arr)
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

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_lr(lr):
    if lr is not required and not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonneg(name, value):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def _scalar_step(state):
    """Increment the per-parameter step counter (a 0-d float tensor) and return its value."""
    step = state["step"]._data
    step += 1
    return float(step)


def _new_step():
    """A fresh step counter: a 0-d tensor of the default float dtype (PyTorch keeps it as a tensor)."""
    return Tensor._make(np.array(0.0, dtype=dtypes.get_default_dtype().np))


def _zeros_like(p, fill=0.0):
    return Tensor._make(np.full_like(p._data, fill, order="C"))


__all__ = ["Optimizer", "required"]


def _check_flags(name, differentiable):
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True is not supported (updates run on "
                                  "the arrays, outside autograd)")
