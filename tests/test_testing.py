"""nnzoo.testing.assert_close against torch.testing.assert_close on the same inputs: pass or fail alike, the
same exception type and the same message (dtype and Size reprs aside: nnzoo.float32 for torch.float32)."""
import math
import warnings

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.testing import assert_allclose, assert_close


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # the type and the message are what is compared
        return type(e), str(e).replace("torch.", "nnzoo.").replace("nnzoo.tensor.Tensor", "nnzoo.Tensor")
    return None


# each case builds its inputs from a library (torch or nnzoo), so both sides get the same values
CASES = {
    "close_f32": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0 + 1e-6]), {}),
    "far_f32": lambda m: (m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.5, 3.1]), {}),
    "f64": lambda m: (m.tensor([1.0, 2.0], dtype=m.float64), m.tensor([1.0, 2.0 + 1e-6], dtype=m.float64), {}),
    "f16": lambda m: (m.tensor([1.0, 2.0], dtype=m.float16), m.tensor([1.0, 2.01], dtype=m.float16), {}),
    "mixed_f32_f64": lambda m: (m.ones(2, 2), m.ones(2, 2, dtype=m.float64), {}),
    "unchecked_dtype": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64),
                                  dict(check_dtype=False)),
    "int_vs_float_unchecked": lambda m: (m.ones(2, dtype=m.int64), m.ones(2), dict(check_dtype=False)),
    "shape": lambda m: (m.ones(2), m.ones(3), {}),
    "int_equal": lambda m: (m.tensor([1, 2]), m.tensor([1, 3]), {}),
    "bool": lambda m: (m.tensor([True, False]), m.tensor([True, True]), {}),
    "nan": lambda m: (m.tensor([math.nan, 1.0]), m.tensor([math.nan, 1.0]), {}),
    "nan_equal": lambda m: (m.tensor([math.nan, 1.0]), m.tensor([math.nan, 1.0]), dict(equal_nan=True)),
    "inf": lambda m: (m.tensor([math.inf, 1.0]), m.tensor([math.inf, 1.0]), {}),
    "zero_expected": lambda m: (m.tensor([1.0, 2.0]), m.tensor([0.0, 2.0]), {}),
    "2d_index": lambda m: (m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[1.0, 2.0], [3.0, 4.5]]), {}),
    "0d": lambda m: (m.tensor(1.0), m.tensor(2.0), {}),
    "given_tols": lambda m: (m.ones(2), m.ones(2) * 1.01, dict(rtol=0.02, atol=0.0)),
    "one_tol": lambda m: (m.ones(2), m.ones(2), dict(rtol=1e-5)),
    "msg": lambda m: (m.tensor([1.0]), m.tensor([2.0]), dict(msg="custom")),
    "msg_callable": lambda m: (m.tensor([1.0, 2.0]), m.tensor([1.0, 3.0]), dict(msg=lambda s: "pre: " + s)),
    "list_item": lambda m: ([m.ones(2)], [m.zeros(2)], {}),
    "nested": lambda m: ([1, [2, m.ones(2, 2)]], [1, [2, m.zeros(2, 2)]], {}),
    "dict_item": lambda m: ({"a": m.ones(1)}, {"a": m.zeros(1)}, {}),
    "dict_keys": lambda m: ({"a": 1, "b": 2}, {"a": 1, "c": 2}, {}),
    "seq_len": lambda m: ([1, 2], [1, 2, 3], {}),
    "tuple_vs_list": lambda m: ((1, 2), [1, 2], {}),
    "scalars": lambda m: (1.0, 1.1, {}),
    "int_vs_float": lambda m: (1, 1.0, {}),
    "int_vs_float_unchecked_scalar": lambda m: (1, 1.0, dict(check_dtype=False)),
    "bools": lambda m: (True, False, {}),
    "none": lambda m: (None, None, {}),
    "none_vs_1": lambda m: (None, 1, {}),
    "strings": lambda m: ("ab", "ab", {}),
    "ndarrays": lambda m: (np.ones(2), np.ones(2) * 1.1, {}),
    "tensor_vs_ndarray": lambda m: (m.ones(1), np.ones(1), {}),
    "np_scalars": lambda m: (np.float32(1), np.float32(1.5), {}),
    "requires_grad": lambda m: (m.ones(2, requires_grad=True), m.ones(2), {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_assert_close_as_torch(case):
    ta, te, kw = CASES[case](torch)
    na, ne, _ = CASES[case](nnzoo)
    expected = _outcome(lambda: torch.testing.assert_close(ta, te, **kw))
    got = _outcome(lambda: assert_close(na, ne, **kw))
    assert got == expected


def test_assert_allclose_as_torch():
    for args in [(nnzoo.tensor([1.0]), [1.00001]), (nnzoo.tensor([1.0]), [1.1]), ([1, 2], [1, 2]),
                 (nnzoo.tensor([math.nan]), [math.nan])]:
        targs = tuple(torch.tensor(a.numpy()) if isinstance(a, nnzoo.Tensor) else a for a in args)
        with warnings.catch_warnings(record=True) as w_nz:
            warnings.simplefilter("always")
            got = _outcome(lambda a=args: assert_allclose(*a))
        with warnings.catch_warnings(record=True) as w_th:
            warnings.simplefilter("always")
            expected = _outcome(lambda a=targs: torch.testing.assert_allclose(*a))
        assert got == expected
        assert [(w.category, str(w.message)) for w in w_nz] == [(w.category, str(w.message)) for w in w_th]
