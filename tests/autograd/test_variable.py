"""The legacy API against torch: autograd.Variable and the typed constructors (FloatTensor, LongTensor, ...):
dtype, shape, values, isinstance and errors as torch's."""
import numpy as np
import pytest
import torch
from torch.autograd import Variable as TorchVariable

import nnzoo
from nnzoo.autograd import Variable

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor"]


def test_variable_is_a_detached_leaf_sharing_data():
    a = nnzoo.ones(2) * 2
    ta = torch.ones(2) * 2
    for rg in (False, True):
        v, tv = Variable(a, requires_grad=rg), TorchVariable(ta, requires_grad=rg)
        assert v is not a and v.requires_grad == tv.requires_grad == rg
        assert v.grad_fn is None and tv.grad_fn is None
        np.testing.assert_array_equal(v.detach().numpy(), tv.detach().numpy())
    v = Variable(a, requires_grad=True)
    (v * v).sum().backward()
    tv = TorchVariable(ta, requires_grad=True)
    (tv * tv).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy())
    assert isinstance(a, Variable) and isinstance(ta, TorchVariable)
    assert not isinstance([1], Variable) and not isinstance([1], TorchVariable)
    assert Variable().shape == TorchVariable().shape == (0,)


def test_variable_rejects_non_tensors_as_torch():
    with pytest.raises(TypeError) as th:
        TorchVariable([1, 2])
    with pytest.raises(TypeError) as nz:
        Variable([1, 2])
    assert str(nz.value) == str(th.value)


ARGS = [(2, 3), ([1, 2],), ((2, 3),), ([[1, 2], [3, 4]],), (), ([True, False],), (np.array([1.0, 2.0]),)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args", ARGS, ids=range(len(ARGS)))
def test_legacy_constructors_as_torch(name, args):
    t, n = getattr(torch, name)(*args), getattr(nnzoo, name)(*args)
    assert str(n.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert tuple(n.shape) == tuple(t.shape)
    if args and not isinstance(args[0], int):  # initialised from data
        np.testing.assert_array_equal(n.numpy(), t.numpy())
    assert isinstance(n, getattr(nnzoo, name)) and isinstance(t, getattr(torch, name))
    others = [m for m in NAMES if m != name]
    assert not any(isinstance(n, getattr(nnzoo, m)) for m in others)
    assert not any(isinstance(t, getattr(torch, m)) for m in others)


def test_legacy_constructors_size_tensor_and_errors():
    assert nnzoo.FloatTensor(nnzoo.Size([2, 3])).shape == torch.FloatTensor(torch.Size([2, 3])).shape
    x, tx = nnzoo.ones(2), torch.ones(2)
    assert nnzoo.FloatTensor(x).numpy().tolist() == torch.FloatTensor(tx).tolist()
    for bad in (lambda m: m.LongTensor(m.ones(2)), lambda m: m.FloatTensor(2.5)):
        with pytest.raises(TypeError):
            bad(torch)
        with pytest.raises(TypeError):
            bad(nnzoo)
    assert nnzoo.FloatTensor.dtype == nnzoo.float32 and not nnzoo.FloatTensor.is_cuda
