"""The 8x8 hand-written digits bundled with scikit-learn: a real image set that works offline."""
from __future__ import annotations

import numpy as np

from ...creation import from_numpy
from ..dataset import TensorDataset

__all__ = ["digits"]


def digits() -> TensorDataset:
    """The 1797 hand-written digits (8x8 grey images, 10 classes) as a ``TensorDataset(X, y)``.

    Source: the UCI Machine Learning Repository's "Optical Recognition of Handwritten Digits" (E. Alpaydin,
    C. Kaynak, 1998; the 1797 images are its test part), through the copy bundled with scikit-learn
    (``sklearn.datasets.load_digits``), so nothing is downloaded. License: the UCI data set is CC BY 4.0;
    scikit-learn is BSD-3-Clause. Each image is a 32x32 bitmap of a digit, counted in 4x4 blocks: pixel
    values are integers 0..16, here divided by 16. About 180 images per class.

    There is no train/test split: splitting is the user's (``nnzoo.data.train_val_test_split`` or
    ``random_split``).

    Needs scikit-learn (the ``data`` extra: ``pip install nnzoo[data]``).

    Returns:
        TensorDataset: ``X`` float32 (1797, 1, 8, 8) in [0, 1], ``y`` int64 (1797,) in 0..9.

    Example::

        >>> X, y = digits().tensors
        >>> tuple(X.shape), X.dtype, y.dtype, X.max().item(), int(y.max())
        ((1797, 1, 8, 8), nnzoo.float32, nnzoo.int64, 1.0, 9)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits: needs scikit-learn, which bundles the data set: pip install scikit-learn "
                          "(or pip install nnzoo[data])") from None
    bunch = load_digits()
    # NOTE: pixel values are counts 0..16 (a 4x4 block of a 32x32 bitmap), so /16 maps them onto [0, 1]
    X = (bunch.images[:, None, :, :] / 16.0).astype(np.float32)  # (1797, 1, 8, 8)
    y = bunch.target.astype(np.int64)  # (1797,)
    return TensorDataset(from_numpy(X), from_numpy(y))
