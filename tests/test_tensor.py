"""Tensor basics against PyTorch: construction, dtypes, conversions, metadata, in-place ops, errors."""
import numpy as np
import pytest
import torch

import nnzoo


def _same_dtype(a, b):
    return str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]


@pytest.mark.parametrize("data", [
    1.5, 3, True, [1.0, 2.0], [1, 2, 3], [[True, False]], [[1, 2], [3, 4]],
    np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), np.array([1.0], dtype=np.float32),
])
def test_tensor_dtype_inference_matches_torch(data):
    n, t = nnzoo.tensor(data), torch.tensor(data)
    assert _same_dtype(n, t)
    assert tuple(n.shape) == tuple(t.shape)
    np.testing.assert_array_equal(n.numpy(), t.numpy())


def test_metadata():
    x = nnzoo.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert x.dtype == nnzoo.float32 and x.is_floating_point() and x.is_contiguous()
    assert x.stride() == torch.zeros(2, 3, 4).stride()
    assert repr(x.shape) == "nnzoo.Size([2, 3, 4])"
    assert x.device == "cpu"
    with pytest.raises(IndexError, match="size: dimension out of range"):
        x.size(3)


def test_item_tolist_numpy_share_memory():
    x = nnzoo.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x[1, 0].item() == 3.0
    x.numpy()[0, 0] = 10.0
    assert x[0, 0].item() == 10.0
    a = np.arange(3.0)
    t = nnzoo.from_numpy(a)
    a[0] = 7.0
    assert t[0].item() == 7.0
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        nnzoo.tensor([1.0, 2.0]).item()


def test_numpy_refuses_tensor_requiring_grad():
    x = nnzoo.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().shape == (2,)


@pytest.mark.parametrize("conv", ["float", "double", "long", "bool", "int", "half"])
def test_conversions_match_torch(conv):
    v = np.array([-1.5, 0.0, 2.7])
    n, t = getattr(nnzoo.tensor(v), conv)(), getattr(torch.tensor(v), conv)()
    assert _same_dtype(n, t)
    np.testing.assert_array_equal(n.numpy(), t.numpy())


def test_to_and_type_as_and_gradient_through_cast():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(nnzoo.float64)
    assert y.dtype == nnzoo.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == nnzoo.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert x.to(nnzoo.float32) is x
    assert nnzoo.ones(2).type_as(nnzoo.zeros(1, dtype=nnzoo.int64)).dtype == nnzoo.int64
    assert x.to("cpu") is x
    with pytest.raises(RuntimeError, match="not available"):
        x.to("cuda")


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="only floating point"):
        nnzoo.tensor([1, 2], requires_grad=True)


def test_clone_is_differentiable_copy():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None
    with nnzoo.no_grad():
        c.mul_(0)
    assert x[0].item() == 1.0


def test_python_scalar_ops_keep_dtype_like_torch():
    for dt in ("float32", "float64", "int64"):
        n = nnzoo.ones(2, dtype=getattr(nnzoo, dt))
        t = torch.ones(2, dtype=getattr(torch, dt))
        for f in (lambda a: a * 2, lambda a: a + 1.5, lambda a: 2 ** a, lambda a: a / 2, lambda a: -a):
            assert _same_dtype(f(n), f(t)), (dt, f(n).dtype, f(t).dtype)


def test_reflected_ops_with_numpy_scalars():
    x = nnzoo.ones(2)
    y = np.float32(3.0) * x
    assert isinstance(y, nnzoo.Tensor)
    np.testing.assert_allclose(y.numpy(), [3.0, 3.0])


def test_bool_of_multi_element_tensor_raises():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(nnzoo.ones(2))
    assert bool(nnzoo.ones(1))


def test_tensor_constructor_forms():
    assert nnzoo.Tensor(2, 3).shape == (2, 3)
    t = nnzoo.Tensor([1, 2])
    assert t.dtype == nnzoo.float32 and t.tolist() == [1.0, 2.0]


def test_repr_mentions_grad_fn_and_dtype():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulBackward0>" in repr(x * 2)
    assert "dtype=nnzoo.float64" in repr(nnzoo.zeros(2, dtype=nnzoo.float64))


def test_pickle_is_refused():
    import pickle
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(nnzoo.ones(2))


def test_data_property_is_detached_view():
    x = nnzoo.ones(3, requires_grad=True)
    d = x.data
    assert not d.requires_grad
    d.mul_(2)  # allowed: .data is outside the graph, like PyTorch
    np.testing.assert_allclose(x.detach().numpy(), [2.0] * 3)


def test_default_dtype_switch():
    nnzoo.set_default_dtype(nnzoo.float64)
    try:
        assert nnzoo.tensor([1.0]).dtype == nnzoo.float64
        assert nnzoo.zeros(2).dtype == nnzoo.float64
    finally:
        nnzoo.set_default_dtype(nnzoo.float32)
    assert nnzoo.tensor([1.0]).dtype == nnzoo.float32


def test_deepcopy_copies_leaves_and_modules():
    import copy
    w = nnzoo.randn(3, requires_grad=True)
    w.grad = nnzoo.ones(3)
    c = copy.deepcopy(w)
    assert c is not w and c.requires_grad and c.grad_fn is None and c.grad is not w.grad
    np.testing.assert_array_equal(c.detach().numpy(), w.detach().numpy())
    with nnzoo.no_grad():
        c.add_(1)
    assert not np.array_equal(c.detach().numpy(), w.detach().numpy())  # no shared memory
    model = nnzoo.nn.Sequential(nnzoo.nn.Linear(3, 2), nnzoo.nn.BatchNorm1d(2))
    twin = copy.deepcopy(model)
    assert type(twin[0].weight) is nnzoo.nn.Parameter and list(twin.state_dict()) == list(model.state_dict())
    for a, b in zip(twin.state_dict().values(), model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    shared = nnzoo.nn.Linear(2, 2)
    pair = copy.deepcopy(nnzoo.nn.Sequential(shared, shared))
    assert pair[0].weight is pair[1].weight  # the memo keeps tied weights tied
    with pytest.raises(RuntimeError, match="deepcopy protocol"):
        copy.deepcopy(w * 2)
