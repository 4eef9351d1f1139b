"""``nn.Module``: the base of every layer and model. It does bookkeeping only: registering parameters,
buffers and submodules by attribute assignment, walking them, train/eval, dtype casts, state dicts and
hooks (forward, forward-pre, full backward and backward-pre, per module and global), all with PyTorch's names,
key formats and call order."""
from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.arrays import array, assign_, bump_version
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.hooks import RemovableHandle
from ..tensor import Size, Tensor
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook"]

# ---- global hooks (torch.nn.modules.module.register_module_*): they run for every module, before its own ----
_global_forward_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict[int, bool] = OrderedDict()
_global_forward_hooks_always_called: OrderedDict[int, bool] = OrderedDict()
_global_backward_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_backward_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
# every global hook's id, whatever its kind: Module.__call__'s fast path tests this one dict
_global_any: OrderedDict[int, bool] = OrderedDict()


def _register_global(table: OrderedDict, hook: Callable[..., Any], *flags: OrderedDict) -> RemovableHandle:
    handle = RemovableHandle(table, extra_dict=[_global_any, *flags])
    table[handle.id] = hook
    _global_any[handle.id] = True
    return handle


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``hook(module, args)`` before every module's ``forward`` (and before the module's own pre-hooks); a returned
    value replaces the args. Returns the handle that removes it."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable[..., Any], *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``) after every
    module's ``forward``; a returned value replaces the output; ``always_call`` runs it even when forward raises."""
    handle = _register_global(_global_forward_hooks, hook, _global_forward_hooks_with_kwargs,
                              _global_forward_hooks_always_called)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``hook(module, grad_output)`` for every module, as ``Module.register_full_backward_pre_hook``."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``hook(module, grad_input, grad_output)`` for every module, as ``Module.register_full_backward_hook``."""
    return _register_global(_global_backward_hooks, hook)


class BackwardHookFunction(Function):
    """The identity on a module's input (or output) tensors whose backward hands their gradients to the module's
    backward hooks (``torch.nn.modules._functions.BackwardHookFunction``). Its outputs may not be changed in
    place while grad is on (the in-place op would replace this node and skip the hooks): that raises, as PyTorch.
    """

    _forbid_inplace = True

    @staticmethod
    def forward(ctx, on_grads, materialize, *tensors):
        # NOTE: PyTorch's hooks see None for a module output that got no gradient (a pre-hook on this node) but
        # zeros for an input tensor that got none, even one that does not require grad (a post-hook): the
        # output side passes materialize=False, the input side True
        ctx.on_grads = on_grads
        ctx.set_materialize_grads(materialize)
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, None, *ctx.on_grads(grads))


class _BackwardHook:
    """One call's link between the gradients of a module's outputs and those of its inputs
    (``torch.utils.hooks.BackwardHook``): the output node runs the backward pre-hooks on grad_output and keeps
    it; the input node then calls the full backward hooks with (grad_input, grad_output), whose returns replace
    grad_input. Non-tensor arguments appear as None in both tuples."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_index = self.output_index = None

    @staticmethod
    def _pack(index, values, size):
        res = [None] * size
        for i, v in zip(index, values):
            res[i] = v
        return tuple(res)

    def _wrap(self, on_grads, args, materialize):
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in index]
        if not (any(t.requires_grad for t in tensors) and is_grad_enabled()):
            return args, None
        wrapped = BackwardHookFunction.apply(on_grads, materialize, *tensors)
        out = list(args)
        for i, t in zip(index, wrapped):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args):
        def on_grads(grad_input):
            if self.grad_outputs is None:
                return grad_input
            res = self._pack(self.input_index, grad_input, self.n_inputs)
            for hook in self.hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_index)
        res, self.input_index = self._wrap(on_grads, args, True)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        def on_grads(grad_output):
            self.grad_outputs = self._pack(self.output_index, grad_output, self.n_outputs)
            for pre_hook in self.pre_hooks:
                out = pre_hook(self.module, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(self.grad_outputs):
                    raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                       f"got {len(out)}, but expected {len(self.grad_outputs)}")
                self.grad_outputs = out
            local = self.grad_outputs
            if self.input_index is None:  # no input requires grad: the hooks fire here, grad_input all None
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients.", stacklevel=2)
                grad_inputs = (None,) * self.n_inputs
                for hook in self.hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                           "always return None or None for all gradients.")
                self.grad_outputs = None
            return tuple(local[i] for i in self.output_index)
        is_tuple = isinstance(result, tuple)
        outs = result if is_tuple else (result,)
        res, self.output_index = self._wrap(on_grads, outs, False)
        self.n_outputs = len(outs)
        return res if is_tuple else res[0]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the state dict lacked and those it had in excess."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _indent(text, spaces):
    """Every line of ``text`` after the first indented by ``spaces``."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _as_array(value):
    """The values of a state-dict entry as a NumPy array: an nnzoo Tensor, a NumPy array, or anything
    with ``__array__`` (a PyTorch tensor, for interop)."""
    if isinstance(value, Tensor):
        return array(value)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


class Module:
    """Base class of all layers and models: subclass it, create parameters and submodules in
    ``__init__`` (assigning them to attributes registers them) and write ``forward``.

    Example::

        >>> from nnzoo import nn
        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = nn.Linear(4, 8)
        ...         self.fc2 = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(nnzoo.relu(self.fc1(x)))
        >>> sorted(MLP().state_dict())
        ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']
    """

    training: bool
    _version = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_backward_pre_hooks", OrderedDict())
        set_(self, "_backward_hooks", OrderedDict())
        set_(self, "_is_full_backward_hook", None)  # PyTorch's flag: True once a full backward hook is registered
        set_(self, "_forward_hooks", OrderedDict())
        set_(self, "_forward_hooks_with_kwargs", OrderedDict())
        set_(self, "_forward_hooks_always_called", OrderedDict())
        set_(self, "_forward_pre_hooks", OrderedDict())
        set_(self, "_forward_pre_hooks_with_kwargs", OrderedDict())

    def forward(self, *args, **kwargs) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ---- calling -------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or _global_any):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        """PyTorch's ``_call_impl``: global then own forward pre-hooks, the input side of the backward hooks,
        forward, global then own forward hooks, the output side of the backward hooks; when forward (or a hook)
        raises, the ``always_call`` forward hooks not yet run are run (their own errors become warnings)."""
        result = None
        called = set()
        try:
            for hid, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hid in self._forward_pre_hooks_with_kwargs:
                    res = hook(self, args, kwargs)
                    if res is not None:
                        if isinstance(res, tuple) and len(res) == 2:
                            args, kwargs = res
                        else:
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {res}.")
                else:
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
            bw_hook = None
            own = self._backward_hooks
            if own and self.__dict__.get("_is_full_backward_hook") is False:  # from a PyTorch file
                warnings.warn(f"{type(self).__name__}: its backward hooks were registered with PyTorch's deprecated "
                              "register_backward_hook, which nnzoo does not run; use register_full_backward_hook",
                              stacklevel=2)
                own = {}
            hooks = [*_global_backward_hooks.values(), *own.values()]
            pre_hooks = [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
            if hooks or pre_hooks:
                bw_hook = _BackwardHook(self, hooks, pre_hooks)
                args = bw_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hid, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hid in self._forward_hooks_always_called or hid in _global_forward_hooks_always_called:
                    called.add(hid)
                if hid in self._forward_hooks_with_kwargs or hid in _global_forward_hooks_with_kwargs:
                    res = hook(self, args, kwargs, result)
                else:
                    res = hook(self, args, result)
                if res is not None:
                    result = res
            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", stacklevel=2)
                else:
                    result = bw_hook.setup_output_hook(result)
            return result
        except Exception:
            for where, table, always in (("global module", _global_forward_hooks, _global_forward_hooks_always_called),
                                         ("module", self._forward_hooks, self._forward_hooks_always_called)):
                for hid, hook in table.items():
                    if hid not in always or hid in called:
                        continue
                    try:
                        if hid in self._forward_hooks_with_kwargs or hid in _global_forward_hooks_with_kwargs:
                            res = hook(self, args, kwargs, result)
                        else:
                            res = hook(self, args, result)
                        if res is not None:
                            result = res
                    except Exception as e:
                        warnings.warn(f"{where} forward hook with ``always_call=True`` raised an exception that was "
                                      f"silenced as another error was raised in forward: {e}", stacklevel=2)
            raise

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a returned value replaces the args (a non-tuple is
        wrapped in one). With ``with_kwargs``, ``hook(module, args, kwargs)`` returns None or ``(args, kwargs)``.
        ``prepend`` puts it before the hooks already registered. Returns a handle whose ``remove()`` unregisters it.
        """
        handle = RemovableHandle(self._forward_pre_hooks, extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a returned value replaces the output. With
        ``with_kwargs``, ``hook(module, args, kwargs, output)``; with ``always_call`` it also runs when forward
        raises (with output None, its own error then only warns)."""
        handle = RemovableHandle(self._forward_hooks, extra_dict=[self._forward_hooks_with_kwargs,
                                                                  self._forward_hooks_always_called])
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output) -> tuple | None`` runs when the gradients w.r.t. the module's outputs are
        computed, before those w.r.t. its inputs; a returned tuple (one entry per output, None for non-tensors)
        replaces grad_output. Returns a handle whose ``remove()`` unregisters it."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> tuple | None`` runs once the gradients w.r.t. the module's
        positional tensor inputs are computed; a returned tuple (one entry per positional argument) replaces
        grad_input. Non-tensor arguments and outputs are None in the tuples; when no input requires grad the
        hook fires with grad_input all None. The module's forward may not change its inputs or outputs in place
        while such a hook is registered (PyTorch's rule; e.g. ``ReLU(inplace=True)`` raises).

        Example::

            >>> lin = nnzoo.nn.Linear(3, 2)
            >>> h = lin.register_full_backward_hook(lambda m, gi, go: print(gi[0].shape, go[0].shape))
            >>> lin(nnzoo.ones(4, 3, requires_grad=True)).sum().backward()
            nnzoo.Size([4, 3]) nnzoo.Size([4, 2])
        """
        if self.__dict__.get("_is_full_backward_hook") is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        object.__setattr__(self, "_is_full_backward_hook", True)
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    # ---- registration ----------------------------------------------------------------------------
    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a Tensor (or None) that is state but not a parameter (e.g. BatchNorm's running_mean);
        persistent buffers are part of the state dict."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(nnzoo Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(nnzoo.nn.Parameter or None required)")
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a submodule (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nnzoo.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._buffers)
            modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(nnzoo.nn.Module or None expected)")
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(nnzoo Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *dicts):
        for dct in dicts:
            if name in dct:
                del dct[name]

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            members = d.get(store)
            if members is not None and name in members:
                return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # ---- walking the tree ---------------------------------------------------------------------------
    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(qualified name, module) for this module and every descendant, depth first; each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in get(mod):
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(qualified name, Parameter) pairs, e.g. ('features.0.weight', ...); shared parameters once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` ('' is this module)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{mod._get_name()} has no parameter `{name}`")
        return mod._parameters[name]

    # ---- modes and casts ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant (Dropout and BatchNorm read it)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad = p.grad.detach()
                else:
                    p.grad.requires_grad_(False)
                assign_(p.grad, 0)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn(module)`` on every descendant (children first) and on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _cast(self, npdt, floating_only=True):
        """Cast parameters (keeping their identity), their grads and buffers to ``npdt`` in place."""
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None or (floating_only and not t.is_floating_point()) or array(t).dtype == npdt:
                        continue
                    t.data = array(t).astype(npdt)  # a new array behind the same tensor, as PyTorch's .data =
                    if t.grad is not None:
                        t.grad.data = array(t.grad).astype(npdt)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``, with ``non_blocking=``: floating
        parameters and buffers are cast in place (the Parameter objects stay the same, so an optimizer built
        before still holds them). The CPU is the only device: ``"cpu"``/``device("cpu")`` change nothing, a CUDA
        device raises as a CPU-only PyTorch build does."""
        from ..tensor import _to_args
        dtype, _ = _to_args(args, kwargs.pop("dtype", None), kwargs)
        if dtype is not None:
            if not dtype.is_floating_point:
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
            self._cast(dtype.np)
        return self

    def float(self) -> Module:
        return self._cast(np.dtype(np.float32))

    def double(self) -> Module:
        return self._cast(np.dtype(np.float64))

    def half(self) -> Module:
        return self._cast(np.dtype(np.float16))

    def bfloat16(self) -> Module:
        return self._cast(dtypes.bfloat16.np)

    def type(self, dst_type: dtypes.dtype) -> Module:
        return self._cast(dst_type.np)

    def cpu(self) -> Module:
        """The module on the CPU: itself (nnzoo's parameters always live there)."""
        return self

    def share_memory(self) -> Module:
        """Move every parameter and buffer (and each gradient already there) into shared memory, in place.

        The Parameter objects stay the same (an optimizer built before still holds them); their values now live
        where processes started afterwards write too (``Tensor.share_memory_``): Hogwild training, where each
        process of ``torch.multiprocessing`` runs optimizer steps on one shared model. Gradients made later (by
        a ``backward`` in a child) are private to that process, as in PyTorch.

        Example::

            >>> from nnzoo import nn
            >>> m = nn.Linear(2, 1).share_memory()
            >>> all(p.is_shared() for p in m.parameters())
            True
        """
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None:
                        continue
                    t.share_memory_()
                    if t.grad is not None:
                        t.grad.share_memory_()
        return self

    def cuda(self, device: int | str | None = None) -> Module:
        """Raises as a CPU-only PyTorch build does (``nnzoo.cuda.is_available()`` is False)."""
        from .._device import NotCompiledError, check
        check("cuda" if device is None else device, "to")
        raise NotCompiledError("Torch not compiled with CUDA enabled")

    # ---- state dicts --------------------------------------------------------------------------------
    def state_dict(self, *args, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """An OrderedDict of every parameter and persistent buffer by qualified name ('0.weight',
        'bn.running_mean', ...), sharing memory with the module (detached unless ``keep_vars``)."""
        if args:  # the legacy positional form state_dict(destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, missing_keys, unexpected_keys, error_msgs, assign):
        """Copy this module's own entries (not its children's) out of ``state_dict``."""
        persistent = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local = {**{k: v for k, v in self._parameters.items() if v is not None},
                 **{k: v for k, v in persistent.items() if v is not None}}
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            arr = _as_array(state_dict[key])
            if tuple(arr.shape) != tuple(param.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {_size(arr.shape)} from "
                                  f"checkpoint, the shape in current model is {_size(param.shape)}.")
                continue
            try:
                with no_grad():
                    if assign:
                        dtype = array(param).dtype if arr.dtype.kind == "f" and param.is_floating_point() \
                            else arr.dtype
                        param.data = np.array(arr, dtype=dtype)
                        bump_version(param)
                    else:
                        assign_(param, arr)
            except Exception as e:  # pragma: no cover - unusual values
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the model are '
                                  f"{_size(param.shape)} and whose dimensions in the checkpoint are "
                                  f"{_size(arr.shape)}, an exception occurred : {e.args}.")
        for key in state_dict:
            if key.startswith(prefix):
                first = key[len(prefix):].split(".", 1)[0]
                if first not in self._modules and first not in local:
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` (nnzoo or PyTorch tensors, NumPy arrays).

        With ``strict`` (default) missing or unexpected keys raise a RuntimeError listing them;
        otherwise they are returned as a NamedTuple ``(missing_keys, unexpected_keys)``. A shape
        mismatch always raises."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        for prefix_name, module in self.named_modules(remove_duplicate=False):
            prefix = prefix_name + "." if prefix_name else ""
            module._load_from_state_dict(state_dict, prefix, missing, unexpected, errors, assign)
        if strict:
            head = []
            if missing:
                head.append("Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
            if unexpected:
                head.append("Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            errors = head + errors
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self) -> str:
        """The options printed inside this module's repr; layers override it."""
        return ""

    def _child_lines(self):
        return [f"({name}): " + _indent(repr(m), 2) for name, m in self._modules.items()]

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = self._child_lines()
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


def _size(shape):
    return repr(Size(shape))
