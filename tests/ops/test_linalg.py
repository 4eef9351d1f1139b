"""Matrix products (matmul, mm, bmm, mv, dot, outer, einsum) against PyTorch, through the harness (double
backward included: every backward is written in Tensor ops, so it differentiates again)."""
import re

import numpy as np
import pytest
import torch
from helpers import OpCase, S, V, cases_params, check_op
from hypothesis import given, settings
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nnzoo

MATMUL_SHAPES = [
    ((4,), (4,)),  # vector . vector -> scalar
    ((4,), (4, 3)),  # 1-D lifted to (1, 4)
    ((3, 4), (4,)),  # 1-D lifted to (4, 1)
    ((3, 4), (4, 5)),
    ((4,), (2, 4, 3)),  # 1-D @ batched
    ((2, 3, 4), (4,)),  # batched @ 1-D
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast: (2, 1) with (5,)
    ((2, 3, 4), (4, 5)),  # matrix broadcast over the batch
    ((3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((1, 4), (4, 1)),
]

CASES = [OpCase(f"matmul_{a}@{b}", lambda m, x, y: m.matmul(x, y), [S(*a), S(*b)]) for a, b in MATMUL_SHAPES]
CASES += [
    OpCase("matmul_operator", lambda m, x, y: x @ y, [S(2, 3, 4), S(4, 2)]),
    OpCase("matmul_method", lambda m, x, y: x.matmul(y), [S(3, 4), S(4)]),
    OpCase("matmul_same_tensor", lambda m, x: x @ x.mT, [S(3, 4)]),
    OpCase("matmul_int64", lambda m, x, y: x @ y, [V(np.arange(6).reshape(2, 3)), V(np.arange(3))], grad=False),
    OpCase("mm", lambda m, x, y: m.mm(x, y), [S(3, 4), S(4, 5)]),
    OpCase("mm_method", lambda m, x, y: x.mm(y), [S(1, 4), S(4, 1)]),
    OpCase("bmm", lambda m, x, y: m.bmm(x, y), [S(2, 3, 4), S(2, 4, 5)]),
    OpCase("bmm_method", lambda m, x, y: x.bmm(y), [S(3, 1, 4), S(3, 4, 2)]),
    OpCase("mv", lambda m, x, y: m.mv(x, y), [S(3, 4), S(4)]),
    OpCase("dot", lambda m, x, y: m.dot(x, y), [S(5), S(5)]),
    OpCase("dot_int64", lambda m, x, y: m.dot(x, y), [V(np.arange(4)), V(np.arange(4) - 2)], grad=False),
    OpCase("outer", lambda m, x, y: m.outer(x, y), [S(3), S(4)]),
    OpCase("outer_method", lambda m, x, y: x.outer(y), [S(1), S(4)]),
    OpCase("ger", lambda m, x, y: m.ger(x, y), [S(3), S(2)]),
    OpCase("outer_promotes", lambda m, x, y: m.outer(x.float(), y.double()), [S(3), S(2)], fd=False),
]

EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    # implicit output: labels seen once, alphabetically (upper case first), ellipsis dims in front
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ba,cb", [(3, 2), (4, 3)]),
    ("aB", [(2, 3)]),
    ("i...j", [(2, 3, 4, 5)]),
    ("...i,...i", [(2, 1, 3), (4, 3)]),
    # ellipsis summed away by an explicit output without '...'
    ("...ij->ij", [(5, 2, 3)]),
    ("i...->...", [(3, 2, 2)]),
    ("...,...->...", [(2, 3), (3,)]),
    # size-1 labels broadcast; labels summed in one operand only; a label only one operand keeps
    ("ij,jk->ik", [(3, 1), (4, 5)]),
    ("i,i->i", [(1,), (4,)]),
    ("ij,jk->i", [(3, 4), (4, 5)]),
    ("ab,cd->", [(2, 3), (4, 5)]),
    ("ij,ij,jk->k", [(1, 3), (4, 1), (3, 5)]),
    # repeated labels in one operand: diagonals
    ("iij->ji", [(3, 3, 2)]),
    ("iii->", [(3, 3, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("bii->b", [(2, 3, 3)]),
    # batched attention-style contractions, bilinear form, 4 operands
    ("bqd,bkd->bqk", [(2, 5, 4), (2, 6, 4)]),
    ("bqk,bkd->bqd", [(2, 5, 6), (2, 6, 4)]),
    ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 2), (2, 3)]),
    ("n c h w -> n h w c", [(2, 3, 2, 2)]),
]
CASES += [OpCase(f"einsum_{eq}_{shapes}", lambda m, *xs, eq=eq: m.einsum(eq, *xs), [S(*s) for s in shapes])
          for eq, shapes in EINSUM]
CASES += [
    OpCase("einsum_operand_list", lambda m, x, y: m.einsum("ij,jk->ik", [x, y]), [S(3, 4), S(4, 2)]),
    OpCase("einsum_same_operand_twice", lambda m, x: m.einsum("ij,ij->", x, x), [S(3, 4)]),
    OpCase("einsum_sublist", lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]), [S(3, 4), S(4, 2)]),
    OpCase("einsum_sublist_ellipsis", lambda m, x, y: m.einsum(x, [..., 1], y, [..., 1], [...]),
           [S(2, 3, 4), S(3, 4)]),
    OpCase("einsum_int64", lambda m, x, y: m.einsum("ij,jk->ik", x, y),
           [V(np.arange(6).reshape(2, 3)), V(np.arange(12).reshape(3, 4))], grad=False),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


@settings(max_examples=25, deadline=None)
@given(shapes=mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=4))
def test_matmul_shapes_hypothesis(shapes):
    a, b = shapes.input_shapes
    check_op(OpCase(f"hyp_matmul_{a}@{b}", lambda m, x, y: x @ y, [S(*a), S(*b)], noncontig=False))


# ---- errors name the op and the shapes ---------------------------------------------------------------
def test_matmul_inner_dimension_error_message():
    msg = "matmul: (32, 784) @ (10, 784): inner dimensions 784 and 10 differ"
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        nnzoo.matmul(nnzoo.ones(32, 784), nnzoo.ones(10, 784))
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        nnzoo.ones(32, 784) @ nnzoo.ones(10, 784)
    with pytest.raises(RuntimeError):
        torch.ones(32, 784) @ torch.ones(10, 784)


@pytest.mark.parametrize("fn,match", [
    (lambda m: m.matmul(m.ones(3), m.ones(4)), r"matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4 differ"),
    (lambda m: m.matmul(m.ones(2, 3), m.ones(2, 4, 5)), r"matmul: \(2, 3\) @ \(2, 4, 5\)"),
    (lambda m: m.matmul(m.ones(2, 3, 4), m.ones(3, 4, 5)),
     r"matmul: \(2, 3, 4\) @ \(3, 4, 5\): batch dimensions \(2,\) and \(3,\) do not broadcast"),
    (lambda m: m.matmul(m.ones(()), m.ones(3)), r"matmul: .*at least 1 dimension.*\(\) and \(3,\)"),
    (lambda m: m.matmul(m.ones(2, 3), m.ones(3, 2, dtype=m.float64)), r"matmul: .*same dtype.*float32.*float64"),
    (lambda m: m.mm(m.ones(3), m.ones(3, 2)), r"mm: expected two 2-D matrices, got shapes \(3,\) and \(3, 2\)"),
    (lambda m: m.mm(m.ones(2, 3, 4), m.ones(4, 2)), r"mm: expected two 2-D matrices, got shapes \(2, 3, 4\)"),
    (lambda m: m.mm(m.ones(2, 3), m.ones(4, 2)), r"mm: \(2, 3\) @ \(4, 2\): inner dimensions 3 and 4 differ"),
    (lambda m: m.mm(m.ones(2, 3), m.ones(3, 2, dtype=m.float64)), r"mm: .*same dtype"),
    (lambda m: m.bmm(m.ones(3, 4), m.ones(4, 5)), r"bmm: expected two 3-D tensors, got shapes \(3, 4\) and \(4, 5\)"),
    (lambda m: m.bmm(m.ones(2, 3, 4), m.ones(3, 4, 5)), r"bmm: \(2, 3, 4\) @ \(3, 4, 5\): batch sizes 2 and 3 differ"),
    (lambda m: m.bmm(m.ones(2, 3, 4), m.ones(2, 5, 5)), r"bmm: \(2, 3, 4\) @ \(2, 5, 5\): inner dimensions 4 and 5"),
    (lambda m: m.mv(m.ones(2, 3), m.ones(4)), r"mv: \(2, 3\) @ \(4,\): inner dimensions 3 and 4 differ"),
    (lambda m: m.mv(m.ones(3), m.ones(3)), r"mv: expected a 2-D matrix and a 1-D vector, got shapes \(3,\) and \(3,\)"),
    (lambda m: m.dot(m.ones(3), m.ones(4)), r"dot: shapes \(3,\) and \(4,\): lengths 3 and 4 differ"),
    (lambda m: m.dot(m.ones(3, 1), m.ones(3)), r"dot: expected two 1-D tensors, got shapes \(3, 1\) and \(3,\)"),
    (lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64)), r"dot: .*same dtype"),
    (lambda m: m.outer(m.ones(3, 1), m.ones(3)), r"outer: expected two 1-D tensors, got shapes \(3, 1\) and \(3,\)"),
])
def test_shape_errors(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn(nnzoo)
    with pytest.raises(RuntimeError):  # PyTorch refuses the same call
        fn(torch)


@pytest.mark.parametrize("eq,shapes,match", [
    ("ij,jk->ik", [(2, 3)], r"2 input term\(s\) but 1 operand"),
    ("ij", [(2, 3), (3, 4)], r"1 input term\(s\) but 2 operand"),
    ("ij", [(2, 3, 4)], r"operand 0 has 2 subscript\(s\) but 3 dimension"),
    ("ij...", [(2,)], r"operand 0 has 2 subscript\(s\) and an ellipsis but 1 dimension"),
    ("ij,jk->ik", [(2, 3), (4, 5)], r"subscript j has size 4 in operand 1, which does not broadcast with size 3"),
    ("...i,...i", [(2, 3), (4, 3)], r"subscript '...' has size 4 in operand 1"),
    ("ii->i", [(3, 4)], r"subscript i is repeated in operand 0 with different sizes 3 and 4"),
    ("ij->k", [(2, 3)], r"output subscript k does not appear in any input"),
    ("ij->ii", [(3, 3)], r"an output subscript appears more than once"),
    ("i1", [(3, 3)], r"operand 0: invalid subscript '1'"),
    ("i..j", [(3, 3)], r"operand 0: found '.' that is not part of a single '...' ellipsis"),
    ("ij->j->", [(3, 3)], r"'->' may appear once"),
])
def test_einsum_errors(eq, shapes, match):
    nz = [nnzoo.ones(*s) for s in shapes]
    with pytest.raises(RuntimeError, match=match) as info:
        nnzoo.einsum(eq, *nz)
    msg = str(info.value)  # every message names the op, the equation and the operand shapes
    assert msg.startswith("einsum: ") and repr(eq) in msg and str(tuple(shapes[0])) in msg
    with pytest.raises(RuntimeError):
        torch.einsum(eq, *[torch.ones(*s) for s in shapes])


def test_einsum_dtype_and_type_errors():
    with pytest.raises(RuntimeError, match=r"einsum: equation 'ij,jk': .*same dtype, got nnzoo.float32, "
                                           r"nnzoo.float64 \(shapes \(2, 3\), \(3, 2\)\)"):
        nnzoo.einsum("ij,jk", nnzoo.ones(2, 3), nnzoo.ones(3, 2, dtype=nnzoo.float64))
    with pytest.raises(RuntimeError):
        torch.einsum("ij,jk", torch.ones(2, 3), torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="einsum: operand 1 is a int, expected a Tensor"):
        nnzoo.einsum("i,i", nnzoo.ones(3), 3)
    with pytest.raises(TypeError, match="matmul: expected Tensors"):
        nnzoo.matmul(nnzoo.ones(3), [1.0, 2.0, 3.0])


def test_einsum_output_owns_its_memory():
    # NumPy's einsum returns a view for a diagonal; the op output must not alias the input
    x = nnzoo.randn(3, 3)
    d = nnzoo.einsum("ii->i", x)
    d.add_(1.0)
    want = torch.from_numpy(x.numpy().copy()).diagonal()
    np.testing.assert_array_equal(d.numpy(), want.numpy() + 1.0)
    np.testing.assert_array_equal(np.diag(x.numpy()), want.numpy())


def test_einsum_no_grad_and_requires_grad_flags():
    a = nnzoo.randn(2, 3, requires_grad=True)
    b = nnzoo.randn(3, 4)
    out = nnzoo.einsum("ij,jk->ik", a, b)
    assert out.requires_grad and out.grad_fn is not None
    with nnzoo.no_grad():
        assert not nnzoo.einsum("ij,jk->ik", a, b).requires_grad
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad is None


@pytest.mark.parametrize("sa,sb", [((64, 30, 1), (64, 1, 12)), ((19, 1), (1, 6)), ((2, 5, 1), (1, 3))])
def test_matmul_with_inner_dimension_one_matches_torch(sa, sb):
    # computed as a broadcast multiply (see linalg._matmul): same values, shapes and gradients as torch
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    an, bn = nnzoo.tensor(a, requires_grad=True), nnzoo.tensor(b, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    yn, yt = an @ bn, at @ bt
    assert tuple(yn.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yn.backward(nnzoo.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(an.grad.numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.grad.numpy(), bt.grad.numpy(), rtol=1e-5, atol=1e-5)
