"""PyTorch's surface: every op the engine issue lists exists as nnzoo.<name>, and as a Tensor method
wherever PyTorch has that method (the expectation comes from torch itself)."""
import pytest
import torch
import torch.nn.functional as TF

import nnzoo

OPS = """
abs exp log log1p sqrt rsqrt sin cos tanh sigmoid relu clamp clip maximum minimum where sign floor ceil
round add sub mul div pow neg eq ne lt le gt ge
sum mean prod max min amax amin argmax argmin var std logsumexp norm cumsum softmax log_softmax
reshape flatten unflatten transpose permute t squeeze unsqueeze broadcast_to tile flip roll
cat stack split chunk unbind narrow tril triu diagonal
gather scatter scatter_add index_select masked_fill take_along_dim nonzero
matmul bmm mm outer einsum
zeros ones full arange linspace eye rand randn randint zeros_like ones_like empty multinomial bernoulli
randperm manual_seed no_grad enable_grad set_grad_enabled tensor
""".split()

TENSOR_ONLY = "view expand repeat detach clone to float double long bool type_as item tolist numpy " \
              "backward requires_grad_ zero_ fill_ size dim numel".split()

FUNCTIONAL = "relu leaky_relu elu gelu softplus sigmoid tanh softmax log_softmax one_hot pad".split()


@pytest.mark.parametrize("name", OPS)
def test_function_exists(name):
    assert hasattr(torch, name)
    assert callable(getattr(nnzoo, name, None)), f"nnzoo.{name} is missing"


@pytest.mark.parametrize("name", [n for n in OPS if hasattr(torch.Tensor, n)] + TENSOR_ONLY)
def test_method_exists_where_torch_has_it(name):
    assert hasattr(nnzoo.Tensor, name), f"Tensor.{name} is missing (torch.Tensor has it)"


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_nn_functional_exists(name):
    import nnzoo.nn.functional as F
    assert hasattr(TF, name)
    assert callable(getattr(F, name, None)), f"nnzoo.nn.functional.{name} is missing"


def test_dtypes_and_aliases():
    for name in "float32 float64 int64 bool float16 int32 uint8 int8 int16 float double long half".split():
        assert getattr(nnzoo, name).name == str(getattr(torch, name)).split(".")[-1]
    assert nnzoo.Generator().manual_seed(3).initial_seed() == 3
