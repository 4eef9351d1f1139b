"""PyTorch's ``out=`` argument of add/sub/mul/div/matmul/mm/bmm, against torch."""
import numpy as np
import pytest
import torch

import nnzoo

CASES = [
    ("add", (3, 4), (4,), {}),
    ("add", (3, 4), (3, 4), {"alpha": 2}),
    ("sub", (3, 4), (3, 4), {"alpha": 0.5}),
    ("mul", (3, 4), (1, 4), {}),
    ("div", (3, 4), (3, 4), {}),
    ("div", (3, 4), (3, 4), {"rounding_mode": "floor"}),
    ("matmul", (2, 3, 4), (4, 5), {}),
    ("matmul", (4,), (4, 5), {}),
    ("mm", (3, 4), (4, 5), {}),
    ("bmm", (2, 3, 4), (2, 4, 5), {}),
]


@pytest.mark.parametrize("op,sa,sb,kw", CASES)
@pytest.mark.parametrize("out_shape", ["same", "empty"])
def test_out_matches_torch(op, sa, sb, kw, out_shape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32) + 3
    expected = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b), **kw)
    shape = tuple(expected.shape) if out_shape == "same" else (0,)
    t_out, n_out = torch.empty(shape), nnzoo.empty(shape)
    t_ret = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b), **kw, out=t_out)
    n_ret = getattr(nnzoo, op)(nnzoo.tensor(a), nnzoo.tensor(b), **kw, out=n_out)
    assert t_ret is t_out and n_ret is n_out
    assert tuple(n_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(n_out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-6)


def test_out_with_grad_raises_as_torch():
    for lib in (torch, nnzoo):
        a = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError):
            lib.mul(a, a, out=lib.empty(2))
        with lib.no_grad():
            out = lib.empty(2)
            assert lib.mul(a, a, out=out) is out


def test_out_int_dtype_of_float_result_raises_as_torch():
    for lib in (torch, nnzoo):
        with pytest.raises(RuntimeError):
            lib.div(lib.ones(2), lib.ones(2), out=lib.zeros(2, dtype=lib.int64))
    t_out, n_out = torch.zeros(2, dtype=torch.float64), nnzoo.zeros(2, dtype=nnzoo.float64)
    torch.add(torch.ones(2), 1, out=t_out)
    nnzoo.add(nnzoo.ones(2), 1, out=n_out)
    assert str(n_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    np.testing.assert_array_equal(n_out.numpy(), t_out.numpy())
