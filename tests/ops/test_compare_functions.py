"""torch.equal, torch.isclose and torch.allclose (functions and methods) against PyTorch: values, nan and inf,
broadcasting, integer dtypes (no wrap-around), the dtype rule and the errors."""
import numpy as np
import pytest
import torch

import nnzoo

NAN, INF = float("nan"), float("inf")

PAIRS = [  # (input, other, dtype): each compared by both libraries
    ([1.0, 2.0, NAN], [1.0, 2.00001, NAN], "float32"),
    ([1.0, 2.0, 3.0], [1.0 + 1e-9, 2.0001, 3.0], "float64"),
    ([INF, -INF, 1.0, INF], [INF, INF, INF, NAN], "float32"),
    ([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.000001], "float32"),  # broadcasting
    ([0.5, 1.0], [0.5004, 1.0], "float16"),
    ([1, 2, 3], [1, 3, 3], "int64"),
    ([1, 2], [3, 1], "uint8"),  # compared as floats: no wrap-around of 1 - 3
    ([-128, 5], [127, 5], "int8"),
    ([True, False], [True, True], "bool"),
    ([], [], "float32"),
    (2.0, [2.0, 2.00001, 3.0], "float32"),  # 0-d against 1-d
]
TOLS = [{}, {"rtol": 0.5, "atol": 0}, {"rtol": 0, "atol": 1}, {"rtol": 0, "atol": 0}, {"equal_nan": True},
        {"atol": 1e-3, "equal_nan": True}]


def _both(a, b, dtype):
    ta, tb = torch.tensor(a, dtype=getattr(torch, dtype)), torch.tensor(b, dtype=getattr(torch, dtype))
    na, nb = nnzoo.tensor(a, dtype=getattr(nnzoo, dtype)), nnzoo.tensor(b, dtype=getattr(nnzoo, dtype))
    return ta, tb, na, nb


@pytest.mark.parametrize("kw", TOLS, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()) or "defaults")
@pytest.mark.parametrize("a,b,dtype", PAIRS, ids=lambda x: x if isinstance(x, str) else None)
def test_isclose_allclose_match_torch(a, b, dtype, kw):
    ta, tb, na, nb = _both(a, b, dtype)
    if dtype == "bool" and kw.get("equal_nan"):
        kw = {k: v for k, v in kw.items() if k != "equal_nan"}
    want = torch.isclose(ta, tb, **kw)
    for got in (nnzoo.isclose(na, nb, **kw), na.isclose(nb, **kw)):
        assert got.dtype == nnzoo.bool and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert nnzoo.allclose(na, nb, **kw) is torch.allclose(ta, tb, **kw)
    assert na.allclose(nb, **kw) is ta.allclose(tb, **kw)


@pytest.mark.parametrize("a,b,da,db", [
    ([1.0, 2.0], [1.0, 2.0], "float32", "float32"),
    ([1.0, 2.0], [1, 2], "float32", "int64"),  # promotion: equal values of different dtypes are equal
    ([1, 2], [1, 2], "int8", "int64"),
    ([0.1], [0.1], "float32", "float64"),     # 0.1 in float32 promoted to float64 is not float64's 0.1
    ([NAN], [NAN], "float32", "float32"),     # nan is not equal to nan
    ([1.0, 2.0], [[1.0, 2.0]], "float32", "float32"),  # no broadcasting: other shapes are not equal
    ([1.0], 1.0, "float32", "float32"),       # 1-d against 0-d
    ([], [], "int64", "int64"),
    ([True, False], [1, 0], "bool", "int64"),
])
def test_equal_matches_torch(a, b, da, db):
    ta, tb = torch.tensor(a, dtype=getattr(torch, da)), torch.tensor(b, dtype=getattr(torch, db))
    na, nb = nnzoo.tensor(a, dtype=getattr(nnzoo, da)), nnzoo.tensor(b, dtype=getattr(nnzoo, db))
    want = torch.equal(ta, tb)
    assert nnzoo.equal(na, nb) is want and na.equal(nb) is want


def test_results_carry_no_graph():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    assert not nnzoo.isclose(x, x.detach()).requires_grad
    assert nnzoo.equal(x, x.detach()) is torch.equal(torch.tensor([1.0, 2.0], requires_grad=True),
                                                    torch.tensor([1.0, 2.0]))


def _error(lib, fn):
    try:
        fn(lib)
    except Exception as e:
        return type(e)
    return None


@pytest.mark.parametrize("name,fn", [
    ("isclose_dtypes", lambda m: m.isclose(m.tensor([1.0, 2.0]), m.tensor([1, 2]))),
    ("allclose_dtypes", lambda m: m.allclose(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64))),
    ("isclose_int_dtypes", lambda m: m.isclose(m.tensor([1], dtype=m.int8), m.tensor([1]))),
    ("allclose_shapes", lambda m: m.allclose(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0]))),
    ("isclose_rtol", lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), rtol=-1)),
    ("isclose_atol", lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), atol=-1)),
    ("isclose_scalar", lambda m: m.isclose(m.tensor([1.0]), 1.0)),
    ("equal_list", lambda m: m.equal(m.tensor([1.0]), [1.0])),
    ("allclose_method_dtypes", lambda m: m.tensor([1.0]).allclose(m.tensor([1]))),
])
def test_errors_match_torch(name, fn):
    want = _error(torch, fn)
    assert want is not None and _error(nnzoo, fn) is want


def test_dtype_error_names_both_dtypes():
    with pytest.raises(RuntimeError, match="Float did not match Long"):
        nnzoo.isclose(nnzoo.tensor([1.0]), nnzoo.tensor([1]))
