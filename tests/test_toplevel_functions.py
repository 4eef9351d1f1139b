"""Layer functions PyTorch also exposes at the top level (torch.selu, torch.cosine_similarity, ...) are
nnzoo's F.* functions under the same names, with the same values as torch's top-level ones. (Not
torch.instance_norm: at the top level it is ATen's nine-argument function, not F.instance_norm.)"""
import numpy as np
import pytest
import torch

import nnzoo

CASES = {
    "selu": lambda m, x, w: m.selu(x),
    "celu": lambda m, x, w: m.celu(x, 0.5),
    "rrelu": lambda m, x, w: m.rrelu(x, training=False),
    "hardshrink": lambda m, x, w: m.hardshrink(x, 0.3),
    "threshold": lambda m, x, w: m.threshold(x, 0.1, 20.0),
    "prelu": lambda m, x, w: m.prelu(x, w[:4]),
    "cosine_similarity": lambda m, x, w: m.cosine_similarity(x, x.flip(0), dim=1),
    "pairwise_distance": lambda m, x, w: m.pairwise_distance(x, x.flip(0)),
    "pdist": lambda m, x, w: m.pdist(x),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_toplevel_function_matches_torch(name):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.uniform(0.1, 0.5, 4)
    got = CASES[name](nnzoo, nnzoo.tensor(x), nnzoo.tensor(w))
    want = CASES[name](torch, torch.tensor(x), torch.tensor(w))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    assert getattr(nnzoo, name) is getattr(nnzoo.nn.functional, name)
