"""nn.utils against torch.nn.utils: gradient clipping and parameter vectors."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.nn import utils


def _pair(seed):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    vals = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal(s) * 3 for s in shapes]
    out = []
    for m in (nnzoo, torch):
        ps = [m.tensor(v, requires_grad=True) for v in vals]
        for p, g in zip(ps, grads):
            p.grad = m.tensor(g)
        out.append(ps)
    return out


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _pair(0)
    n1 = utils.clip_grad_norm_(ours, max_norm, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(n1.item(), n2.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_nonfinite_error():
    ours, _ = _pair(1)
    ours[0].grad.numpy()[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    ours, theirs = _pair(2)
    utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _pair(3)
    v1 = utils.parameters_to_vector(ours)
    v2 = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_allclose(v1.detach().numpy(), v2.detach().numpy())
    assert v1.requires_grad
    new = np.arange(v1.numel(), dtype=np.float64)
    utils.vector_to_parameters(nnzoo.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(RuntimeError, match="has 3 elements"):
        utils.vector_to_parameters(nnzoo.ones(3), ours)
