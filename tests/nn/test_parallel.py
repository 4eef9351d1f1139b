"""nn.parallel against a CPU-only torch: DataParallel wraps and calls the module (state_dict keys, repr,
outputs and gradients as torch's); data_parallel and DistributedDataParallel raise as torch does here."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import nnzoo
from nnzoo import nn


def _pair():
    th = tnn.Sequential(tnn.Linear(4, 5), tnn.ReLU(), tnn.Linear(5, 2))
    nz = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    nz.load_state_dict({k: v.numpy() for k, v in th.state_dict().items()})
    return nz, th


def test_data_parallel_wraps_and_calls_the_module_as_torch():
    nz, th = _pair()
    pnz, pth = nn.DataParallel(nz, device_ids=[0]), tnn.DataParallel(th, device_ids=[0])
    assert pnz.module is nz and pth.module is th
    assert pnz.device_ids == pth.device_ids == []
    assert list(pnz.state_dict()) == list(pth.state_dict())  # module.0.weight, ...
    assert repr(pnz) == repr(pth)
    assert [n for n, _ in pnz.named_parameters()] == [n for n, _ in pth.named_parameters()]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    a, b = pnz(nnzoo.tensor(x)), pth(torch.tensor(x))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    for p, q in zip(pnz.parameters(), pth.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_data_parallel_state_dict_round_trip_with_the_prefix():
    _, th = _pair()
    sd = {k: v.numpy() for k, v in tnn.DataParallel(th).state_dict().items()}
    fresh = nn.DataParallel(nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)))
    fresh.load_state_dict(sd)
    for k, v in fresh.module.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), th.state_dict()[k].numpy())
    assert nnzoo.nn.parallel.DataParallel is nn.DataParallel


def test_kwargs_and_train_mode_pass_through():
    m = nn.DataParallel(nn.Dropout(0.5))
    m.eval()
    assert not m.module.training
    x = nnzoo.ones(3)
    assert m(input=x) is x


def test_data_parallel_function_and_ddp_raise_as_torch_on_cpu():
    with pytest.raises(RuntimeError) as th:
        tnn.parallel.data_parallel(tnn.Linear(2, 3), torch.ones(1, 2))
    with pytest.raises(RuntimeError) as nz:
        nn.parallel.data_parallel(nn.Linear(2, 3), nnzoo.ones(1, 2))
    assert str(nz.value) == str(th.value)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        tnn.parallel.DistributedDataParallel(tnn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"Default process group has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
