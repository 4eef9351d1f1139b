"""nn.EmbeddingBag / F.embedding_bag against PyTorch: modes, offsets, 2-D input, per_sample_weights, padding_idx,
sparse gradients; forward and backward."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.nn.embedding import EmbeddingBag

W = np.random.default_rng(0).standard_normal((10, 3))
CASES = [dict(input=[1, 2, 4, 5, 4, 3, 2, 9], offsets=[0, 4, 4, 6], mode=m, pad=p, ilo=False, psw=psw, sparse=sp)
         for m in ("sum", "mean", "max") for p in (None, 2) for psw in ((False, True) if m == "sum" else (False,))
         for sp in ((False, True) if m != "max" else (False,))]
CASES += [dict(input=[[1, 2, 4], [4, 3, 2]], offsets=None, mode=m, pad=p, ilo=False, psw=False, sparse=False)
          for m in ("sum", "mean", "max") for p in (None, 4)]
CASES += [dict(input=[1, 2, 4, 5, 4], offsets=[0, 2, 2, 5], mode=m, pad=None, ilo=True, psw=False, sparse=False)
          for m in ("sum", "mean", "max")]
CASES += [dict(input=[[7]], offsets=None, mode="mean", pad=None, ilo=False, psw=True, sparse=False)]


def run(L, Bag, c, dtype):
    b = Bag(10, 3, mode=c["mode"] if not c["psw"] else "sum", padding_idx=c["pad"],
            include_last_offset=c["ilo"], sparse=c["sparse"], dtype=getattr(L, dtype))
    with L.no_grad():
        b.weight.copy_(L.tensor(W))
    inp = L.tensor(c["input"])
    off = None if c["offsets"] is None else L.tensor(c["offsets"])
    psw = None
    if c["psw"]:
        psw = L.tensor(np.linspace(0.5, 2, inp.numel()).reshape(tuple(inp.shape)), dtype=getattr(L, dtype),
                       requires_grad=True)
    out = b(inp, off, per_sample_weights=psw)
    (out * L.tensor(np.arange(out.numel()).reshape(tuple(out.shape)), dtype=out.dtype)).sum().backward()
    g = b.weight.grad
    return out.detach().numpy(), g.to_dense().numpy() if g.is_sparse else g.numpy(), g.is_sparse, \
        None if psw is None else psw.grad.numpy()


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("k", range(len(CASES)))
def test_forward_backward_match_torch(k, dtype, tol):
    c = CASES[k]
    a = run(nnzoo, EmbeddingBag, c, dtype)
    b = run(torch, torch.nn.EmbeddingBag, c, dtype)
    np.testing.assert_allclose(a[0], b[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(a[1], b[1], rtol=tol, atol=tol)
    assert a[2] == b[2]
    if a[3] is not None:
        np.testing.assert_allclose(a[3], b[3], rtol=tol, atol=tol)


def test_functional_form():
    x, off = [1, 2, 3], [0, 1]
    a = nnzoo.nn.functional.embedding_bag(nnzoo.tensor(x), nnzoo.tensor(W), nnzoo.tensor(off), mode="sum")
    b = torch.nn.functional.embedding_bag(torch.tensor(x), torch.tensor(W), torch.tensor(off), mode="sum")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_errors_like_torch():
    b = EmbeddingBag(10, 3, mode="mean")
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        b(nnzoo.tensor([[1, 2]]), per_sample_weights=nnzoo.ones(1, 2))
    with pytest.raises(ValueError, match="offsets has to be None"):
        b(nnzoo.tensor([[1, 2]]), nnzoo.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        b(nnzoo.tensor([1, 2]))
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        EmbeddingBag(10, 3, mode="max", sparse=True)(nnzoo.tensor([[1]]))


def test_repr_and_from_pretrained():
    b = EmbeddingBag.from_pretrained(nnzoo.tensor(W), mode="sum")
    assert not b.weight.requires_grad
    assert repr(b) == repr(torch.nn.EmbeddingBag(10, 3, mode="sum")) == "EmbeddingBag(10, 3, mode='sum')"
