"""nnzoo.data.datasets.digits: scikit-learn's bundled 8x8 digits as a TensorDataset.

The expected values are scikit-learn's own ``load_digits`` arrays.
"""
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo.data import TensorDataset
from nnzoo.data.datasets.digits import digits

load_digits = pytest.importorskip("sklearn.datasets").load_digits  # digits() needs the `data` extra


def test_digits_matches_sklearn():
    ds = digits()
    ref = load_digits()
    assert isinstance(ds, TensorDataset) and len(ds.tensors) == 2
    X, y = ds.tensors
    assert X.dtype == nnzoo.float32 and tuple(X.shape) == (len(ref.target), 1, 8, 8) == (1797, 1, 8, 8)
    assert y.dtype == nnzoo.int64 and tuple(y.shape) == (1797,)
    np.testing.assert_array_equal(X.numpy()[:, 0] * 16, ref.images)  # /16 is exact in float32
    np.testing.assert_array_equal(y.numpy(), ref.target)
    assert X.numpy().min() == 0.0 and X.numpy().max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


def test_digits_samples():
    ds = digits()
    image, label = ds[5]
    assert tuple(image.shape) == (1, 8, 8) and label.item() == load_digits().target[5]


def test_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn...` raise ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="digits: needs scikit-learn"):
        digits()
