"""Module hooks against torch: forward pre-hooks and forward hooks (with_kwargs, always_call, prepend), full
backward hooks and backward pre-hooks (their grad_input/grad_output values, order, replacements, handles), the
global ``register_module_*`` hooks, and the in-place rule. Each scenario runs the same code on torch and on nnzoo
(``lib``) with the same weights and compares the logs."""
import warnings

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.nn import module as nz_module

LIBS = pytest.mark.parametrize("lib", [nnzoo, torch], ids=["nnzoo", "torch"])


def _globals(lib):
    return nz_module if lib is nnzoo else torch.nn.modules.module


def _net(lib):
    """Linear(3, 4) -> ReLU -> Linear(4, 2), with torch's seed-0 weights in both libraries."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    if lib is torch:
        return ref
    net = nnzoo.nn.Sequential(nnzoo.nn.Linear(3, 4), nnzoo.nn.ReLU(), nnzoo.nn.Linear(4, 2)).double()
    net.load_state_dict(ref.state_dict())
    return net


def _x(lib, requires_grad=True):
    x = np.linspace(-1.0, 1.0, 15).reshape(5, 3)
    return lib.tensor(x, requires_grad=requires_grad)


def _arr(g):
    return None if g is None else np.asarray(g.detach().numpy()).copy()


def _same(a, b):
    """Two logs of (tag, [array | None | other]) equal: tags and None-ness exactly, arrays to 1e-12."""
    assert len(a) == len(b), (a, b)
    for ea, eb in zip(a, b):
        assert type(ea) is type(eb) and len(ea) == len(eb), (ea, eb)
        for u, v in zip(ea, eb):
            if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
            elif isinstance(u, (list, tuple)):
                _same([tuple(u)], [tuple(v)])
            else:
                assert u == v, (ea, eb)


def _backward_log(lib):
    net = _net(lib)
    log = []
    names = {id(m): n or "net" for n, m in net.named_modules()}
    for m in net.modules():
        m.register_full_backward_pre_hook(
            lambda mod, go: log.append(("pre", names[id(mod)], [_arr(g) for g in go])))
        m.register_full_backward_hook(
            lambda mod, gi, go: log.append(("full", names[id(mod)], [_arr(g) for g in gi], [_arr(g) for g in go])))
    x = _x(lib)
    net(x).pow(2).sum().backward()
    log.append(("x.grad", _arr(x.grad)))
    return log


def test_full_backward_and_pre_hooks_see_torchs_gradients_in_torchs_order():
    _same(_backward_log(nnzoo), _backward_log(torch))


def _replacements(lib):
    net = _net(lib)
    log = []
    h1 = net[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))  # replaces d/dx
    net[2].register_full_backward_pre_hook(lambda m, go: (go[0] * 0.5,))  # replaces grad_output
    net[2].register_full_backward_hook(lambda m, gi, go: log.append(("fc2 sees", _arr(go[0]))))
    x = _x(lib)
    net(x).sum().backward()
    log.append(("x.grad", _arr(x.grad)))
    log.append(("w0.grad", _arr(net[0].weight.grad)))
    h1.remove()
    h1.remove()
    x = _x(lib)
    net(x).sum().backward()
    log.append(("x.grad after remove", _arr(x.grad)))
    return log


def test_hooks_returning_replacements_and_handles_like_torch():
    _same(_replacements(nnzoo), _replacements(torch))


def _no_input_grad(lib):
    net = _net(lib)
    log = []
    net[0].register_full_backward_hook(lambda m, gi, go: log.append(("fc1", list(gi), [_arr(g) for g in go])))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net(_x(lib, requires_grad=False)).sum().backward()
    log.append(("warned", any("no inputs require gradients" in str(w.message) for w in caught)))
    return log


def test_hook_fires_with_none_grad_input_when_no_input_requires_grad():
    _same(_no_input_grad(nnzoo), _no_input_grad(torch))


class _Two:
    """A module with a non-tensor argument, two outputs (one unused) and a keyword argument."""

    @staticmethod
    def make(lib):
        class Two(lib.nn.Module):
            def forward(self, a, k, b, scale=1.0):
                return a * b * k * scale, a + 0 * b

        return Two()


def _tuple_io(lib):
    mod = _Two.make(lib)
    log = []
    mod.register_full_backward_pre_hook(lambda m, go: log.append(("pre", [_arr(g) for g in go])))
    mod.register_full_backward_hook(
        lambda m, gi, go: log.append(("full", [_arr(g) for g in gi], [_arr(g) for g in go])))
    a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([3.0, -1.0], dtype=lib.float64)  # does not require grad: None in grad_input
    out, _unused = mod(a, 2.0, b, scale=0.5)
    out.sum().backward()
    log.append(("a.grad", _arr(a.grad)))
    return log


def test_non_tensor_arguments_and_unused_outputs_are_none_like_torch():
    _same(_tuple_io(nnzoo), _tuple_io(torch))


@LIBS
def test_wrong_number_of_replacements_raises(lib):
    net = _net(lib)
    net[0].register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, but "
                                           "expected 1"):
        net(_x(lib)).sum().backward()
    net = _net(lib)
    net[2].register_full_backward_pre_hook(lambda m, go: ())
    with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of grad_output, got 0"):
        net(_x(lib)).sum().backward()


@LIBS
def test_inplace_forward_with_a_full_backward_hook_raises_like_torch(lib):
    relu = lib.nn.ReLU(inplace=True)
    relu.register_full_backward_hook(lambda m, gi, go: None)
    x = _x(lib)
    with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction is a view and is being modified "
                                           "inplace"):
        relu(x * 1)
    relu_ok = lib.nn.ReLU(inplace=True)  # without the hook the in-place op is fine
    relu_ok(x * 1).sum().backward()


def _forward_hooks(lib):
    lin = _net(lib)[0]
    log = []
    lin.register_forward_pre_hook(lambda m, args: log.append(("pre", len(args))))
    lin.register_forward_pre_hook(lambda m, args: log.append(("pre-first",)), prepend=True)
    lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True)
    lin.register_forward_hook(lambda m, args, out: out + 1)
    lin.register_forward_hook(lambda m, args, kwargs, out: log.append(("kw", sorted(kwargs), _arr(out))),
                              with_kwargs=True)
    h = lin.register_forward_pre_hook(lambda m, args: args[0] * 0)  # a non-tuple return is wrapped in one
    log.append(("zeroed", _arr(lin(_x(lib)))))
    h.remove()
    log.append(("out", _arr(lin(_x(lib)))))
    return log


def test_forward_hooks_with_kwargs_prepend_and_returns_like_torch():
    _same(_forward_hooks(nnzoo), _forward_hooks(torch))


def _always_call(lib):
    class Fails(lib.nn.Module):
        def forward(self, x):
            raise ValueError("forward fails")

    mod = Fails()
    log = []
    mod.register_forward_hook(lambda m, args, out: log.append(("normal",)))
    mod.register_forward_hook(lambda m, args, out: log.append(("always", out)), always_call=True)

    def bad(m, args, out):
        raise KeyError("hook fails")
    mod.register_forward_hook(bad, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="forward fails"):
            mod(_x(lib))
    log.append(("warned", [str(w.message).split(":")[0] for w in caught]))
    return log


def test_always_call_hooks_run_when_forward_raises_like_torch():
    _same(_always_call(nnzoo), _always_call(torch))


@LIBS
def test_forward_pre_hook_with_kwargs_bad_return_raises(lib):
    lin = _net(lib)[0]
    lin.register_forward_pre_hook(lambda m, a, k: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of"):
        lin(_x(lib))


def _global_hooks(lib):
    g = _globals(lib)
    net = _net(lib)
    log = []
    names = {id(m): n or "net" for n, m in net.named_modules()}
    handles = [
        g.register_module_forward_pre_hook(lambda m, args: log.append(("gpre", names.get(id(m))))),
        g.register_module_forward_hook(lambda m, args, out: log.append(("gfwd", names.get(id(m))))),
        g.register_module_full_backward_pre_hook(lambda m, go: log.append(("gbpre", names.get(id(m))))),
        g.register_module_full_backward_hook(lambda m, gi, go: log.append(("gbwd", names.get(id(m))))),
    ]
    net[0].register_forward_pre_hook(lambda m, args: log.append(("own pre", "0")))
    try:
        net(_x(lib)).sum().backward()
    finally:
        for h in handles:
            h.remove()
    net(_x(lib)).sum().backward()  # removed: nothing more is logged
    return log


def test_global_hooks_like_torch():
    _same(_global_hooks(nnzoo), _global_hooks(torch))
