"""nnzoo.vision.utils: make_grid against a NumPy re-statement of torchvision's algorithm; save_image's PNG."""
import math

import numpy as np
import pytest
from PIL import Image

import nnzoo
from nnzoo.vision.utils import make_grid, save_image


def grid_reference(batch, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid restated in NumPy (its loop over rows and columns, narrow + copy)."""
    t = np.array(batch, dtype=np.float64)
    if t.ndim == 2:
        t = t[None]
    if t.ndim == 3:
        t = np.concatenate([t] * 3, 0) if t.shape[0] == 1 else t
        t = t[None]
    if t.shape[1] == 1:
        t = np.concatenate([t] * 3, 1)
    if normalize:
        def norm(img):
            lo, hi = value_range if value_range is not None else (img.min(), img.max())
            return (np.clip(img, lo, hi) - lo) / max(hi - lo, 1e-5)
        t = np.stack([norm(im) for im in t]) if scale_each else norm(t)
    if t.shape[0] == 1:
        return t[0]
    n = t.shape[0]
    xmaps = min(nrow, n)
    ymaps = math.ceil(n / xmaps)
    h, w = t.shape[2] + padding, t.shape[3] + padding
    grid = np.full((t.shape[1], h * ymaps + padding, w * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= n:
                break
            grid[:, y * h + padding:y * h + padding + h - padding, x * w + padding:x * w + padding + w - padding] = t[k]
            k += 1
    return grid


@pytest.mark.parametrize("shape, kw", [
    ((5, 1, 4, 3), {}),
    ((7, 3, 4, 4), {"nrow": 3, "padding": 1, "pad_value": 0.5}),
    ((4, 3, 2, 5), {"normalize": True}),
    ((4, 3, 2, 5), {"normalize": True, "scale_each": True}),
    ((6, 1, 3, 3), {"normalize": True, "value_range": (-1.0, 1.0), "nrow": 4, "padding": 0}),
    ((3, 6, 6), {}),
    ((1, 3, 4, 4), {"normalize": True}),
])
def test_make_grid_matches_torchvision_algorithm(shape, kw):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    got = make_grid(nnzoo.tensor(x), **kw)
    want = grid_reference(x, **kw)
    assert tuple(got.shape) == want.shape and got.dtype == nnzoo.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_make_grid_of_a_list():
    images = [nnzoo.rand(3, 4, 4) for _ in range(3)]
    np.testing.assert_array_equal(make_grid(images, nrow=2).numpy(),
                                  grid_reference(np.stack([i.numpy() for i in images]), nrow=2))


def test_save_image_rounds_as_torchvision(tmp_path):
    x = np.random.default_rng(1).random((4, 3, 5, 5)).astype(np.float32)
    save_image(nnzoo.tensor(x), tmp_path / "g.png", nrow=2, padding=1)
    png = np.asarray(Image.open(tmp_path / "g.png"))
    want = np.clip(grid_reference(x, nrow=2, padding=1) * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(png, want)
