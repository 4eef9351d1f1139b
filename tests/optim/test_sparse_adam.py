"""optim.SparseAdam against torch.optim.SparseAdam: trajectories, lazy rows, errors, state_dict both ways."""
import numpy as np
import pytest
import torch

import nnzoo

W = np.random.default_rng(0).standard_normal((12, 4))
BATCHES = [np.array([1, 2, 1, 7]), np.array([[3, 1], [11, 3]]), np.array([5]), np.array([1, 2, 1, 7])]


def run(L, dtype, steps, maximize=False, opt_state=None):
    e = L.nn.Embedding(12, 4, sparse=True, dtype=getattr(L, dtype))
    with L.no_grad():
        e.weight.copy_(L.tensor(W))
    opt = L.optim.SparseAdam(e.parameters(), lr=0.05, betas=(0.8, 0.95), eps=1e-6, maximize=maximize)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    for k in range(steps):
        opt.zero_grad()
        out = e(L.tensor(BATCHES[k % len(BATCHES)]))
        (out ** 2 * L.tensor(np.linspace(0.5, 2, out.shape[-1]), dtype=out.dtype)).sum().backward()
        opt.step()
    return e, opt


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-6)])
@pytest.mark.parametrize("maximize", [False, True])
def test_trajectory_equals_torch(dtype, tol, maximize):
    en, on = run(nnzoo, dtype, 6, maximize)
    et, ot = run(torch, dtype, 6, maximize)
    np.testing.assert_allclose(en.weight.detach().numpy(), et.weight.detach().numpy(), rtol=tol, atol=tol)
    sn, st = on.state[en.weight], ot.state[et.weight]
    assert sn["step"] == st["step"] == 6
    for k in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(sn[k].numpy(), st[k].numpy(), rtol=tol, atol=tol)


def test_untouched_rows_do_not_move():
    e, opt = run(nnzoo, "float64", 3)
    untouched = [0, 4, 6, 8, 9, 10]
    np.testing.assert_array_equal(e.weight.detach().numpy()[untouched], W[untouched])
    np.testing.assert_array_equal(opt.state[e.weight]["exp_avg"].numpy()[untouched], 0)


def test_dense_gradient_raises_and_bad_args():
    w = nnzoo.zeros(3, requires_grad=True)
    opt = nnzoo.optim.SparseAdam([w])
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        opt.step()
    for kw, msg in [(dict(lr=0.0), "learning rate"), (dict(eps=0.0), "epsilon"), (dict(betas=(1.0, 0.9)), "beta")]:
        with pytest.raises(ValueError, match=msg):
            nnzoo.optim.SparseAdam([w], **kw)


def test_state_dict_round_trips_with_torch():
    en, on = run(nnzoo, "float64", 2)
    sd = on.state_dict()
    tsd = {"param_groups": sd["param_groups"],
           "state": {k: {n: (torch.tensor(v.numpy()) if isinstance(v, nnzoo.Tensor) else v) for n, v in s.items()}
                     for k, s in sd["state"].items()}}
    e2 = torch.nn.Embedding(12, 4, sparse=True, dtype=torch.float64)
    with torch.no_grad():
        e2.weight.copy_(torch.tensor(en.weight.detach().numpy()))
    o2 = torch.optim.SparseAdam(e2.parameters(), lr=0.05, betas=(0.8, 0.95), eps=1e-6)
    o2.load_state_dict(tsd)
    assert o2.state[e2.weight]["step"] == 2
    # and back: torch's state dict into nnzoo, then both take the same further step
    et, ot = run(torch, "float64", 2)
    back = {"param_groups": ot.state_dict()["param_groups"],
            "state": {k: {n: (nnzoo.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v) for n, v in s.items()}
                      for k, s in ot.state_dict()["state"].items()}}
    e3 = nnzoo.nn.Embedding(12, 4, sparse=True, dtype=nnzoo.float64)
    with nnzoo.no_grad():
        e3.weight.copy_(nnzoo.tensor(et.weight.detach().numpy()))
    o3 = nnzoo.optim.SparseAdam(e3.parameters(), lr=0.05, betas=(0.8, 0.95), eps=1e-6)
    o3.load_state_dict(back)
    for L, e, o in ((nnzoo, e3, o3), (torch, et, ot)):
        o.zero_grad()
        e(L.tensor([1, 5])).sum().backward()
        o.step()
    np.testing.assert_allclose(e3.weight.detach().numpy(), et.weight.detach().numpy(), rtol=1e-12)
