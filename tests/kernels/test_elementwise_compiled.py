"""The engine's element-wise work: gradient accumulation in place where the engine owns the sum.

No compiled element-wise kernel is kept (a parallel add/mul over Numba's threads lost to NumPy on the
shared two cores at every size measured; benchmarks/README.md), so these tests need no Numba: they
check that accumulating in place never writes an array that another gradient shares, against torch.
"""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.autograd import engine


def _both(build, shapes, seed=0):
    rng = np.random.default_rng(seed)
    vals = [rng.standard_normal(s) for s in shapes]
    grads = []
    for lib in (nnzoo, torch):
        xs = [lib.tensor(v.copy(), requires_grad=True) for v in vals]
        build(lib, *xs).backward()
        grads.append([x.grad.numpy().copy() for x in xs])
    return grads


def test_many_uses_of_one_node():
    """A node read ten times (its gradient summed in place after the first sum) and read again through
    an Add, whose backward hands one array to both of its inputs."""
    def build(lib, x, w):
        h = x * w                       # read by every term below
        n = h + x                       # Add: its gradient goes to h and x as one array
        terms = [(h * (i + 1)).sin() for i in range(10)] + [n * n, n]
        return sum(t.sum() for t in terms) + (x * 5).sum()
    ours, theirs = _both(build, [(3, 4), (3, 4)])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("order", range(4))
def test_add_hands_an_owned_sum_to_two_inputs(order):
    """The owned sum of node n is handed by Add's backward to p and q as one array; whichever of them then
    takes more gradient must not change the other's (the orders put the extra terms before and after)."""
    def build(lib, x, y):
        p, q = x * 1.5, y * -2.0
        n = p + q
        out = (n + n + n + n).sum()     # n's gradient: three accumulations, the last ones in place
        extra = [(p * p).sum(), (q.exp()).sum(), (p.sin()).sum(), (q * 3).sum()]
        terms = [out] + extra if order % 2 == 0 else extra + [out]
        if order >= 2:
            terms = terms[::-1]
        return sum(terms)
    ours, theirs = _both(build, [(5,), (5,)])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_broadcast_and_dtype_keep_the_op_rules():
    def build(lib, x, b):
        y = x + b                       # b broadcast
        return (y * y).sum() + (y + b).sum() + (x.float() * 2).double().sum()
    ours, theirs = _both(build, [(4, 3), (3,)])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulate_matches_the_add_op(dtype):
    """_accumulate gives the Add op's values, in place only into an array it made itself."""
    rng = np.random.default_rng(1)
    a, b, c = (nnzoo.tensor(rng.standard_normal((7, 5)).astype(dtype)) for _ in range(3))
    owned = set()
    a_before = a.numpy().copy()
    s = engine._accumulate(a, b, owned)
    np.testing.assert_array_equal(a.numpy(), a_before)       # a is not the engine's: untouched
    np.testing.assert_array_equal(s.numpy(), (a + b).numpy())
    s2 = engine._accumulate(s, c, owned)
    assert s2 is s                                            # the engine's own sum: in place
    np.testing.assert_array_equal(s2.numpy(), ((a + b) + c).numpy())
    z = engine._accumulate(nnzoo.tensor(np.array(1.5, dtype)), nnzoo.tensor(np.array(2.0, dtype)), owned)
    assert isinstance(z.numpy(), np.ndarray) and z.shape == () and float(z) == 3.5


def test_accumulate_forgets_an_owned_sum_it_replaces():
    # an owned sum replaced by a broadcast sum may be freed: its id must leave `owned`, or a later array that
    # reuses the id (a shared or read-only one) would be written in place
    rng = np.random.default_rng(2)
    a, b = (nnzoo.tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(2))
    owned = set()
    s = engine._accumulate(a, b, owned)
    assert id(s._data) in owned
    row = nnzoo.tensor(rng.standard_normal((1, 3)).astype(np.float32))
    t = engine._accumulate(s, row, owned)  # broadcasting: the op's rules, a new array
    assert t is not s and id(s._data) not in owned
    np.testing.assert_array_equal(t.numpy(), (a + b + row).numpy())
