"""optim.LBFGS against torch.optim.LBFGS: the same problem from the same start (float64) gives the same
trajectory (the parameters and the loss after every step), with fixed steps and with the strong-Wolfe line
search; the state_dict has torch's layout and values and loads back either way."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo import optim

# NOTE: the same algorithm, not the same rounding: nnzoo's gradients and dot products differ from torch's in the
# last bits, and L-BFGS amplifies that (Rosenbrock with fixed unit steps is the worst: 1e-13 after 20 iterations,
# 1e-7 after 60, 1e-4 after 80). So the fixed-step Rosenbrock runs 3 steps of 20 iterations, the rest 6, and the
# closure-call counts must be identical.
RTOL = 1e-6


def _rosenbrock(m, start):
    x = m.tensor(start, dtype=m.float64, requires_grad=True)
    return [x], lambda: ((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)


def _least_squares(m, start):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
    w = m.tensor(start, dtype=m.float64, requires_grad=True)
    a_t, b_t = m.tensor(a), m.tensor(b)
    return [w], lambda: ((a_t @ w - b_t) ** 2).mean() + 0.01 * (w ** 4).sum()


def _mlp(m, start):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w1, b1 = rng.standard_normal((8, 3)) * 0.5, rng.standard_normal(8) * 0.1
    w2, b2 = rng.standard_normal((1, 8)) * 0.5, np.zeros(1)
    params = [m.tensor(v, dtype=m.float64, requires_grad=True) for v in (w1, b1, w2, b2)]
    x_t, y_t = m.tensor(x), m.tensor(y)

    def loss():
        h = m.tanh(x_t @ params[0].T + params[1])
        return ((h @ params[2].T + params[3] - y_t) ** 2).mean()
    return params, loss


PROBLEMS = {"rosenbrock": (_rosenbrock, [-1.5, 2.0]), "least_squares": (_least_squares, [0.5] * 5),
            "mlp": (_mlp, None)}
OPTIONS = [dict(), dict(line_search_fn="strong_wolfe"), dict(lr=0.5, history_size=3, max_iter=7),
           dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, max_eval=6),
           dict(lr=0.1, tolerance_grad=1e-3, tolerance_change=1e-4)]


def _run(m, problem, options, steps=6):
    make, start = PROBLEMS[problem]
    params, f = make(m, start)
    opt = m.optim.LBFGS(params, **options)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        evals[0] += 1
        return loss

    trajectory = []
    for _ in range(steps):
        returned = float(opt.step(closure).detach())
        trajectory.append(([p.detach().numpy().copy() for p in params], returned, evals[0]))
    return trajectory, opt, params


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_trajectory_equals_torch(problem, options):
    steps = 3 if problem == "rosenbrock" and "line_search_fn" not in options else 6
    ours, _, _ = _run(nnzoo, problem, options, steps)
    theirs, _, _ = _run(torch, problem, options, steps)
    for (p_ours, loss_ours, ev_ours), (p_theirs, loss_theirs, ev_theirs) in zip(ours, theirs):
        assert ev_ours == ev_theirs  # the same number of closure calls, step by step
        np.testing.assert_allclose(loss_ours, loss_theirs, rtol=RTOL, atol=1e-14)
        for a, b in zip(p_ours, p_theirs):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12)


def _np(v):
    return v.detach().numpy() if hasattr(v, "detach") else v


@pytest.mark.parametrize("options", [dict(), dict(line_search_fn="strong_wolfe", history_size=3)])
def test_state_dict_as_torch(options):
    _, ours, _ = _run(nnzoo, "mlp", options, steps=2)
    _, theirs, _ = _run(torch, "mlp", options, steps=2)
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert sd_ours["param_groups"] == sd_theirs["param_groups"]
    assert list(sd_ours["state"]) == list(sd_theirs["state"]) == [0]
    s_ours, s_theirs = sd_ours["state"][0], sd_theirs["state"][0]
    assert set(s_ours) == set(s_theirs)
    for key, want in s_theirs.items():
        got = s_ours[key]
        if isinstance(want, list):
            assert len(got) == len(want), key
            for g, w in zip(got, want):
                if w is None:
                    assert g is None, key
                else:
                    np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-8, err_msg=key)
        else:
            np.testing.assert_allclose(np.asarray(_np(got), dtype=np.float64), np.asarray(_np(want), dtype=np.float64),
                                       rtol=1e-5, atol=1e-8, err_msg=key)


def test_resume_from_torch_state_dict():
    """Three steps in torch, its state_dict loaded into nnzoo: the next steps equal torch's."""
    opts = dict(line_search_fn="strong_wolfe", history_size=4, max_iter=4)
    _, opt_t, params_t = _run(torch, "least_squares", opts, steps=3)
    make, _ = PROBLEMS["least_squares"]
    params_n, f = make(nnzoo, params_t[0].detach().numpy())
    opt_n = optim.LBFGS(params_n, **opts)
    sd = opt_t.state_dict()
    conv = {"state": {0: {k: ([nnzoo.tensor(v.numpy()) if v is not None else None for v in val]
                              if isinstance(val, list) else nnzoo.tensor(val.numpy())
                              if isinstance(val, torch.Tensor) else val) for k, val in sd["state"][0].items()}},
            "param_groups": sd["param_groups"]}
    opt_n.load_state_dict(conv)
    for _ in range(2):
        def closure_n():
            opt_n.zero_grad()
            loss = f()
            loss.backward()
            return loss
        opt_n.step(closure_n)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
    a_t, b_t = torch.tensor(a), torch.tensor(b)
    w = params_t[0]
    for _ in range(2):
        def closure_t():
            opt_t.zero_grad()
            loss = ((a_t @ w - b_t) ** 2).mean() + 0.01 * (w ** 4).sum()
            loss.backward()
            return loss
        opt_t.step(closure_t)
    np.testing.assert_allclose(params_n[0].detach().numpy(), w.detach().numpy(), rtol=RTOL, atol=1e-12)


def test_errors_and_options():
    w = nnzoo.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [nnzoo.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([w], lr=-1)
    opt = optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: ((w - 1) ** 2).sum().backward() or ((w - 1) ** 2).sum())
    assert optim.LBFGS([w]).defaults["max_eval"] == 25
