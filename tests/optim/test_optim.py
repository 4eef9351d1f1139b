"""Optimizers against PyTorch: the same problem from the same start gives the same parameter trajectory.

The problem (float64): a least-squares fit ``((X @ w.T + b - Y) ** 2).mean()`` plus a quartic term in
``c`` (negated for ``maximize=True``), with a fourth parameter ``d`` that gets no gradient (skipped by
every optimizer). Two param groups: ``[w]`` with the optimizer's options and ``[b, c, d]`` overriding
some of them.
Expectations come from running torch.optim on the same problem.
"""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import optim

STEPS = 50
RTOL = 1e-7

# (optimizer name, top-level options, options overridden in the second group)
CASES = [
    ("SGD", dict(lr=0.05), dict(lr=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.02, momentum=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5), dict(weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.01)),
    ("SGD", dict(lr=0.05, weight_decay=0.1), dict(weight_decay=0.0)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True), dict(weight_decay=0.3)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True), dict(lr=0.005)),
    ("Adam", dict(lr=0.05), dict(lr=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True), dict(lr=0.02)),
    ("Adam", dict(lr=0.05, weight_decay=0.1), dict(weight_decay=0.0)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6), dict(betas=(0.5, 0.9))),
    ("Adam", dict(lr=0.05, maximize=True), dict(lr=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.2), dict(amsgrad=False)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), dict(weight_decay=0.3)),
    ("AdamW", dict(lr=0.05), dict(lr=0.02)),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.5), dict(weight_decay=0.0)),
    ("AdamW", dict(lr=0.05, betas=(0.7, 0.95), maximize=True), dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01), dict(lr=0.005)),
    ("RMSprop", dict(lr=0.01, momentum=0.9), dict(momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True), dict(lr=0.02)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9), dict(centered=False)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1), dict(alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, maximize=True), dict(alpha=0.5)),
    ("Adagrad", dict(lr=0.1), dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1), dict(lr_decay=0.0)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5), dict(initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6), dict(weight_decay=0.0)),
    ("Adagrad", dict(lr=0.1, maximize=True), dict(lr=0.05)),
    ("Adadelta", dict(), dict(lr=0.5)),
    ("Adadelta", dict(lr=0.5, rho=0.5), dict(rho=0.95)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1, eps=1e-4), dict(weight_decay=0.0)),
    ("Adadelta", dict(lr=1.0, maximize=True), dict(lr=0.5)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return dict(X=rng.standard_normal((8, 4)), Y=rng.standard_normal((8, 3)),
                w=rng.standard_normal((3, 4)), b=rng.standard_normal(3),
                c=rng.standard_normal((2, 2)), d=rng.standard_normal(5))


class Problem:
    """The same objective and parameters in one library (``lib`` is ``nnzoo`` or ``torch``)."""

    def __init__(self, lib, start=None, seed=0, maximize=False):
        data = _data(seed)
        self.sign = -1.0 if maximize else 1.0  # maximizing the negated objective finds the same minimum
        start = start or {k: data[k] for k in "wbcd"}
        self.lib = lib
        self.X, self.Y = lib.tensor(data["X"]), lib.tensor(data["Y"])
        self.params = {k: lib.tensor(np.array(start[k]), requires_grad=True) for k in "wbcd"}

    def loss(self):
        w, b, c = self.params["w"], self.params["b"], self.params["c"]
        fit = ((self.X @ w.t() + b - self.Y) ** 2).mean()
        return (fit + ((c * c).sum() - 1.0) ** 2) * self.sign

    def groups(self, group_kw):
        p = self.params
        return [{"params": [p["w"]]}, {"params": [p["b"], p["c"], p["d"]], **group_kw}]

    def values(self):
        return {k: np.array(v.detach().numpy(), copy=True) for k, v in self.params.items()}

    def closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = self.loss()
            loss.backward()
            return loss
        return closure


def _make(lib, name, problem, kwargs, group_kw):
    return getattr(lib.optim, name)(problem.groups(group_kw), **kwargs)


def _run(problem, opt, steps):
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        problem.loss().backward()
        opt.step()
        traj.append(problem.values())
    return traj


def _compare(got, want, rtol=RTOL, atol=1e-12):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        for k in w:
            np.testing.assert_allclose(g[k], w[k], rtol=rtol, atol=atol, err_msg=f"step {i + 1}, param {k}")


def _nz_to_torch(obj):
    if isinstance(obj, nnzoo.Tensor):
        return torch.from_numpy(np.array(obj.numpy(), copy=True))
    if isinstance(obj, dict):
        return {k: _nz_to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nz_to_torch(v) for v in obj]
    return obj


def _torch_to_nz(obj):
    if isinstance(obj, torch.Tensor):
        return nnzoo.tensor(obj.detach().numpy().copy())
    if isinstance(obj, dict):
        return {k: _torch_to_nz(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_torch_to_nz(v) for v in obj]
    return obj


@pytest.mark.parametrize("name,kwargs,group_kw", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, group_kw):
    mx = kwargs.get("maximize", False)
    nz, th = Problem(nnzoo, maximize=mx), Problem(torch, maximize=mx)
    got = _run(nz, _make(nnzoo, name, nz, kwargs, group_kw), STEPS)
    want = _run(th, _make(torch, name, th, kwargs, group_kw), STEPS)
    _compare(got, want)
    assert not np.allclose(got[-1]["w"], _data()["w"])  # the parameters did move
    np.testing.assert_array_equal(got[-1]["d"], _data()["d"])  # no gradient: untouched


@pytest.mark.parametrize("name,kwargs,group_kw", CASES, ids=IDS)
def test_state_dict_resume(name, kwargs, group_kw):
    mx = kwargs.get("maximize", False)
    """Save at step 25 into a fresh optimizer on fresh parameters: steps 26-50 equal the straight run."""
    full = Problem(nnzoo, maximize=mx)
    straight = _run(full, _make(nnzoo, name, full, kwargs, group_kw), STEPS)

    first = Problem(nnzoo, maximize=mx)
    opt = _make(nnzoo, name, first, kwargs, group_kw)
    _run(first, opt, STEPS // 2)
    saved = opt.state_dict()
    second = Problem(nnzoo, maximize=mx, start=first.values())
    opt2 = _make(nnzoo, name, second, dict(lr=123.0) if name != "Adadelta" else {}, {})  # options come from the dict
    opt2.load_state_dict(saved)
    _run(first, opt, 1)  # the first optimizer goes on: its state must not be shared with opt2
    rest = _run(second, opt2, STEPS - STEPS // 2)
    _compare(rest, straight[STEPS // 2:], rtol=0, atol=0)


@pytest.mark.parametrize("name,kwargs,group_kw", CASES, ids=IDS)
def test_state_dict_layout_and_interop(name, kwargs, group_kw):
    mx = kwargs.get("maximize", False)
    """The state_dict has torch's layout; each library resumes from the other's state_dict."""
    nz, th = Problem(nnzoo, maximize=mx), Problem(torch, maximize=mx)
    opt_nz, opt_th = _make(nnzoo, name, nz, kwargs, group_kw), _make(torch, name, th, kwargs, group_kw)
    _run(nz, opt_nz, 10)
    _run(th, opt_th, 10)
    sd_nz, sd_th = opt_nz.state_dict(), opt_th.state_dict()
    assert [sorted(g) for g in sd_nz["param_groups"]] == [sorted(g) for g in sd_th["param_groups"]]
    assert [g["params"] for g in sd_nz["param_groups"]] == [g["params"] for g in sd_th["param_groups"]]
    assert sorted(sd_nz["state"]) == sorted(sd_th["state"])
    for i, s in sd_th["state"].items():
        assert sorted(sd_nz["state"][i]) == sorted(s)
        for key, value in s.items():
            assert isinstance(sd_nz["state"][i][key], nnzoo.Tensor)
            assert sd_nz["state"][i][key].shape == tuple(value.shape)
            np.testing.assert_allclose(sd_nz["state"][i][key].numpy(), value.numpy(), rtol=RTOL, atol=1e-12)

    # torch's state into nnzoo, and nnzoo's into torch: both continue like the torch run
    nz2 = Problem(nnzoo, maximize=mx, start=th.values())
    opt_nz2 = _make(nnzoo, name, nz2, kwargs, group_kw)
    opt_nz2.load_state_dict(_torch_to_nz(sd_th))
    th2 = Problem(torch, maximize=mx, start=nz.values())
    opt_th2 = _make(torch, name, th2, kwargs, group_kw)
    opt_th2.load_state_dict(_nz_to_torch(sd_nz))
    want = _run(th, opt_th, 10)
    _compare(_run(nz2, opt_nz2, 10), want)
    _compare(_run(th2, opt_th2, 10), want)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_closure(name):
    kwargs = dict(lr=0.01, momentum=0.9) if name != "Adam" else dict(lr=0.01)
    nz, th = Problem(nnzoo), Problem(torch)
    opt_nz, opt_th = _make(nnzoo, name, nz, kwargs, {}), _make(torch, name, th, kwargs, {})
    for _ in range(10):
        with nnzoo.no_grad():  # the closure runs with grad enabled all the same
            loss_nz = opt_nz.step(nz.closure(opt_nz))
        loss_th = opt_th.step(th.closure(opt_th))
        assert isinstance(loss_nz, nnzoo.Tensor)
        np.testing.assert_allclose(loss_nz.item(), loss_th.item(), rtol=RTOL)
    _compare([nz.values()], [th.values()])
    assert opt_nz.step() is None


def test_add_param_group_midway():
    nz, th = Problem(nnzoo), Problem(torch)
    trajs = []
    for lib, prob in ((nnzoo, nz), (torch, th)):
        p = prob.params
        opt = lib.optim.Adam([p["w"]], lr=0.05)
        traj = _run(prob, opt, 5)
        opt.add_param_group({"params": [p["b"], p["c"]], "lr": 0.01, "amsgrad": True})
        traj += _run(prob, opt, 10)
        trajs.append(traj)
        assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # missing options come from the defaults
    _compare(*trajs)


def test_adagrad_state_made_at_construction():
    p = nnzoo.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["step", "sum"]
    np.testing.assert_array_equal(sd["state"][0]["sum"].numpy(), np.full(3, 0.25, np.float32))


def test_zero_grad():
    w = nnzoo.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3, np.float32))
    (w * w).sum().backward()  # accumulates into the zeroed gradient
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 2.0, np.float32))
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradients: nothing happens
    np.testing.assert_array_equal(w.detach().numpy(), np.ones(3, np.float32))


def test_step_is_in_place_and_bumps_version():
    w = nnzoo.ones(3, requires_grad=True)
    data, version = w.detach().numpy(), w._version
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.detach().numpy() is data and w._version == version + 1
    assert w.requires_grad and w.is_leaf
    assert w.dtype == nnzoo.float32 and opt.state[w]["exp_avg"].dtype == nnzoo.float32


def test_float32_close_to_torch():
    nz, th = Problem(nnzoo), Problem(torch)
    for prob in (nz, th):
        for k, v in list(prob.params.items()):
            prob.params[k] = prob.lib.tensor(v.detach().numpy().astype(np.float32), requires_grad=True)
        prob.X, prob.Y = prob.X.float(), prob.Y.float()
    got = _run(nz, optim.Adam(nz.groups({}), lr=0.05), 20)
    want = _run(th, torch.optim.Adam(th.groups({}), lr=0.05), 20)
    _compare(got, want, rtol=1e-4, atol=1e-5)


def test_repr_lists_groups():
    w = nnzoo.ones(2, requires_grad=True)
    text = repr(optim.SGD([w], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text and "lr: 0.1" in text


# ---- errors ----------------------------------------------------------------------------------------
def _param():
    return nnzoo.ones(2, requires_grad=True)


@pytest.mark.parametrize("make,exc,match", [
    (lambda: optim.SGD([_param()], lr=-0.1), ValueError, "Invalid learning rate"),
    (lambda: optim.SGD([_param()], momentum=-1), ValueError, "Invalid momentum"),
    (lambda: optim.SGD([_param()], weight_decay=-1), ValueError, "Invalid weight_decay"),
    (lambda: optim.SGD([_param()], nesterov=True), ValueError, "Nesterov momentum requires"),
    (lambda: optim.SGD([_param()], momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda: optim.Adam([_param()], betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
    (lambda: optim.Adam([_param()], betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda: optim.Adam([_param()], eps=-1e-8), ValueError, "Invalid epsilon"),
    (lambda: optim.AdamW([_param()], lr=-1), ValueError, "Invalid learning rate"),
    (lambda: optim.RMSprop([_param()], alpha=-0.5), ValueError, "Invalid alpha"),
    (lambda: optim.Adagrad([_param()], lr_decay=-1), ValueError, "Invalid lr_decay"),
    (lambda: optim.Adagrad([_param()], initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
    (lambda: optim.Adadelta([_param()], rho=1.5), ValueError, "Invalid rho"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: optim.SGD(_param(), lr=0.1), TypeError, "iterable of Tensors"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda: optim.SGD([_param() * 2], lr=0.1), ValueError, "non-leaf"),
    (lambda: optim.SGD([{"params": {_param()}}], lr=0.1), TypeError, "ordered collections"),
    (lambda: optim.SGD([_param()], lr=0.1, differentiable=True), NotImplementedError, "differentiable"),
])
def test_constructor_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_same_parameter_twice():
    p = _param()
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})


def test_bare_optimizer_and_required_lr():
    p = _param()
    opt = optim.Optimizer([{"params": [p], "lr": 0.1}], dict(lr=optim.optimizer.required))
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        opt.add_param_group({"params": [_param()]})
    with pytest.raises(NotImplementedError):
        opt.step()


def test_load_state_dict_mismatch():
    a, b = _param(), _param()
    opt = optim.Adam([a, b])
    other = optim.Adam([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([a]).load_state_dict(opt.state_dict())


def test_load_state_dict_casts_to_param_dtype():
    src = nnzoo.ones(2, dtype=nnzoo.float64, requires_grad=True)
    opt = optim.Adam([src])
    (src * src).sum().backward()
    opt.step()
    dst = nnzoo.ones(2, requires_grad=True)  # float32
    opt2 = optim.Adam([dst])
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[dst]["exp_avg"].dtype == nnzoo.float32
    assert opt2.state[dst]["step"].item() == 1.0


# ---- the base owns the loop: a subclass gives its math only -----------------------------------------------
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta])
def test_optimizers_give_only_their_math(cls):
    assert "step" not in vars(cls) and cls._update is not optim.Optimizer._update


class _SignSGD(optim.Optimizer):
    """p = p - lr * sign(g), counting its steps: the smallest optimizer written on the base."""

    def __init__(self, params, lr=0.1, weight_decay=0.0, maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _init_state(self, param, state, group):
        state["step"] = nnzoo.tensor(0.0)

    def _update(self, param, grad, state, group):
        return group["lr"] * np.sign(grad)


@pytest.mark.parametrize("options", [dict(), dict(maximize=True), dict(weight_decay=3.0),
                                     dict(weight_decay=0.5, decoupled_weight_decay=True)])
def test_base_does_maximize_weight_decay_state_and_version(options):
    """The base's loop (see Optimizer's docstring) against the same loop written in NumPy here."""
    rng = np.random.default_rng(1)
    start, target = rng.standard_normal(4), rng.standard_normal(4)
    w, skipped = nnzoo.tensor(start, requires_grad=True), nnzoo.tensor(start, requires_grad=True)
    opt = _SignSGD([w, skipped], **options)
    lr, wd, sign = 0.1, options.get("weight_decay", 0.0), -1.0 if options.get("maximize") else 1.0
    want = start.copy()
    for k in range(1, 4):
        opt.zero_grad()
        (sign * ((w - nnzoo.tensor(target)) ** 2).sum()).backward()
        version = w._version
        opt.step()
        g = 2 * (want - target)  # maximizing -loss: the base negates the gradient back
        if options.get("decoupled_weight_decay"):
            want = want * (1 - lr * wd)
        else:
            g = g + wd * want
        want = want - lr * np.sign(g)
        np.testing.assert_allclose(w.detach().numpy(), want, rtol=1e-12)
        assert w._version == version + 1 and opt.state[w]["step"].item() == k
    assert skipped not in opt.state and list(opt.state_dict()["state"]) == [0]
    np.testing.assert_array_equal(skipped.detach().numpy(), start)


def test_gradient_of_the_wrong_shape():
    w = nnzoo.ones(3, requires_grad=True)
    w.grad = nnzoo.ones(4)
    with pytest.raises(RuntimeError, match=r"SGD.step: gradient of shape \(4,\) does not match parameter of shape"):
        optim.SGD([w], lr=0.1).step()


def test_sgd_without_momentum_has_no_state():
    nz, th = Problem(nnzoo), Problem(torch)
    for lib, prob in ((nnzoo, nz), (torch, th)):
        opt = lib.optim.SGD(prob.groups({}), lr=0.1)
        _run(prob, opt, 2)
        assert opt.state_dict()["state"] == {}
