"""normalize, cosine_similarity, pairwise_distance and pdist (nnzoo/ops/distance.py) against
torch.nn.functional through the op harness, then zero vectors (eps), the modules and the errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, cases_params, check_op

import nnzoo
import nnzoo.nn.functional as F
from nnzoo import nn


def _both(name, *args, **kw):
    """The same call in both libraries: F.<name>(inputs..., *args, **kw)."""
    def call(m, *a):
        return getattr(F if m is nnzoo else TF, name)(*a, *args, **kw)
    return call


def _zero_row(name, *args, **kw):
    """The call on inputs whose first row is zeroed (the eps clamps)."""
    def call(m, *a):
        mask = m.ones(a[0].shape[-1], dtype=a[0].dtype)
        a = [x * m.cat([m.zeros(1, x.shape[-1], dtype=x.dtype), m.ones(x.shape[0] - 1, x.shape[-1],
                                                                     dtype=x.dtype)]) * mask for x in a]
        return getattr(F if m is nnzoo else TF, name)(*a, *args, **kw)
    return call


NAN_AT_ZERO = "torch's second derivative of a zero vector's norm is nan (nnzoo's: 0); first order compared"
NO_PDIST_DOUBLE = "torch: derivative for aten::_pdist_backward is not implemented"
CASES = [
    OpCase("normalize", _both("normalize"), [S(3, 4)]),
    OpCase("normalize_p1_dim0", _both("normalize", p=1.0, dim=0), [S(3, 4)]),
    OpCase("normalize_p3_last", _both("normalize", 3.0, -1), [S(2, 3, 4)]),
    OpCase("normalize_zero_row", _zero_row("normalize"), [S(3, 4)], no_double=NAN_AT_ZERO),
    OpCase("normalize_eps_large", _both("normalize", eps=10.0), [S(3, 4)]),
    OpCase("cosine_similarity", _both("cosine_similarity"), [S(3, 4), S(3, 4)]),
    OpCase("cosine_similarity_dim_last", _both("cosine_similarity", dim=-1), [S(2, 3, 4), S(2, 3, 4)]),
    OpCase("cosine_similarity_dim0", _both("cosine_similarity", 0), [S(5, 2), S(5, 2)]),
    OpCase("cosine_similarity_broadcast", _both("cosine_similarity"), [S(3, 4), S(1, 4)]),
    OpCase("cosine_similarity_1d", _both("cosine_similarity", dim=0), [S(6), S(6)]),
    OpCase("cosine_similarity_zero_row", _zero_row("cosine_similarity"), [S(3, 4), S(3, 4)],
           no_double=NAN_AT_ZERO),
    # torch's gradient with a clamped norm is the unclamped norm's (its in-place no_grad clamp), not the
    # derivative of its output: compared with torch, not with finite differences
    OpCase("cosine_similarity_eps", _both("cosine_similarity", eps=3.0), [S(3, 4), S(3, 4)], fd=False),
    OpCase("pairwise_distance", _both("pairwise_distance"), [S(3, 4), S(3, 4)]),
    OpCase("pairwise_distance_p1", _both("pairwise_distance", 1.0), [S(3, 4), S(3, 4)]),
    OpCase("pairwise_distance_p3_keepdim", _both("pairwise_distance", p=3.0, keepdim=True), [S(3, 4), S(3, 4)]),
    OpCase("pairwise_distance_broadcast", _both("pairwise_distance"), [S(3, 4), S(4)]),
    OpCase("pairwise_distance_1d", _both("pairwise_distance", eps=0.1), [S(5), S(5)]),
    OpCase("pdist", _both("pdist"), [S(5, 3)], no_double=NO_PDIST_DOUBLE),
    OpCase("pdist_p1", _both("pdist", 1.0), [S(4, 3)], no_double=NO_PDIST_DOUBLE),
    OpCase("pdist_p3", _both("pdist", p=3.0), [S(4, 6)], no_double=NO_PDIST_DOUBLE),
]


@cases_params(CASES)
def test_distance_matches_torch(case):
    check_op(case)


@pytest.mark.parametrize("args", [(), (0, 1e-3)])
def test_cosine_similarity_module(args):
    x1, x2 = np.random.default_rng(0).standard_normal((2, 4, 5))
    got = nn.CosineSimilarity(*args)(nnzoo.tensor(x1), nnzoo.tensor(x2))
    want = torch.nn.CosineSimilarity(*args)(torch.tensor(x1), torch.tensor(x2))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    assert repr(nn.CosineSimilarity(*args)) == repr(torch.nn.CosineSimilarity(*args))


@pytest.mark.parametrize("args", [(), (1.0, 1e-3, True)])
def test_pairwise_distance_module(args):
    x1, x2 = np.random.default_rng(0).standard_normal((2, 4, 5))
    got = nn.PairwiseDistance(*args)(nnzoo.tensor(x1), nnzoo.tensor(x2))
    want = torch.nn.PairwiseDistance(*args)(torch.tensor(x1), torch.tensor(x2))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    assert repr(nn.PairwiseDistance(*args)) == repr(torch.nn.PairwiseDistance(*args))
    assert vars(nn.PairwiseDistance(*args)).keys() >= {"norm", "eps", "keepdim"}


def test_pdist_empty_and_single_row():
    for n in (0, 1):
        x = np.zeros((n, 3))
        assert tuple(F.pdist(nnzoo.tensor(x)).shape) == tuple(TF.pdist(torch.tensor(x)).shape)


def test_errors_as_torch():
    for lib, mod in ((nnzoo, F), (torch, TF)):
        with pytest.raises(RuntimeError, match="2D"):
            mod.pdist(lib.ones(2, 3, 4))
        with pytest.raises(RuntimeError):
            mod.cosine_similarity(lib.ones(2, 3), lib.ones(2, 4))
