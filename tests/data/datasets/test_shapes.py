"""The generated shapes: determinism, factor ranges, one-factor batches, and the rendering checked against
geometry (areas, centroids, the ellipse's axis)."""
import math

import numpy as np
import pytest

from nnzoo.data.datasets.shapes import FACTOR_RANGES, FACTORS, SHAPES, one_factor_batch, render_shapes, shapes


def test_same_seed_same_data_and_factors_in_their_ranges():
    a_img, a_f = shapes(200, seed=3).tensors
    b_img, b_f = shapes(200, seed=3).tensors
    np.testing.assert_array_equal(a_img.numpy(), b_img.numpy())
    np.testing.assert_array_equal(a_f.numpy(), b_f.numpy())
    assert not np.array_equal(a_f.numpy(), shapes(200, seed=4).tensors[1].numpy())
    assert a_img.shape == (200, 1, 32, 32) and a_f.shape == (200, len(FACTORS))
    img, f = a_img.numpy(), a_f.numpy()
    assert img.min() >= 0 and img.max() <= 1 and (img.reshape(200, -1).max(axis=1) == 1).all()
    assert set(np.unique(f[:, 0])) == set(range(len(SHAPES)))
    for j, name in enumerate(FACTORS):
        lo, hi = FACTOR_RANGES[name]
        assert lo <= f[:, j].min() and f[:, j].max() <= hi, name
    # every shape stays inside the image: no lit pixel on the border
    assert img[:, 0, [0, -1], :].max() == 0 and img[:, 0, :, [0, -1]].max() == 0
    with pytest.raises(ValueError):
        shapes(0)


@pytest.mark.parametrize("factor", range(len(FACTORS)))
def test_one_factor_batch_varies_only_its_factor(factor):
    images, f = one_factor_batch(factor, 16, np.random.default_rng(factor))
    others = [j for j in range(len(FACTORS)) if j != factor]
    assert (f[:, others] == f[:1, others]).all()
    assert len(np.unique(f[:, factor])) > 1 and images.shape == (16, 32, 32)
    np.testing.assert_array_equal(images, render_shapes(f))


@pytest.mark.parametrize("shape, area", [(0, 1.6 ** 2), (1, math.pi * 0.5), (2, 3 * math.sqrt(3) / 4)])
def test_rendering_matches_the_geometry(shape, area):
    """Area (in units of the shape's size r²: square of half-side 0.8, ellipse 1 x 0.5, triangle of circumradius
    1) and centroid (the centre (x, y) for all three) measured on a fine render."""
    size, scale, x, y = 256, 0.9, 0.2, -0.3
    img = render_shapes([[shape, scale, 0.3, x, y]], size=size)[0].astype(np.float64)
    pixel = (2 / size) ** 2                                             # pixel area in [-1, 1]² units
    r = 0.45 * scale
    np.testing.assert_allclose(img.sum() * pixel, area * r * r, rtol=0.01)
    centres = (np.arange(size) + 0.5) / size * 2 - 1
    np.testing.assert_allclose((img.sum(axis=0) @ centres) / img.sum(), x, atol=2 / size)
    np.testing.assert_allclose((img.sum(axis=1) @ centres) / img.sum(), y, atol=2 / size)


def test_rotation_turns_the_ellipse_axis():
    """The ellipse's major axis, from the second moments of the pixels, points at −rotation in image coordinates
    (y down): a counter-clockwise turn on screen."""
    size = 128
    centres = (np.arange(size) + 0.5) / size * 2 - 1
    gy, gx = np.meshgrid(centres, centres, indexing="ij")
    for rot in np.linspace(*FACTOR_RANGES["rotation"], 5):
        w = render_shapes([[1, 1.0, rot, 0, 0]], size=size)[0].astype(np.float64)
        cov = np.cov(np.stack([gx.ravel(), gy.ravel()]), aweights=w.ravel())
        _, vecs = np.linalg.eigh(cov)
        major = vecs[:, 1]
        angle = math.atan2(major[1], major[0])
        diff = (angle + rot + math.pi / 2) % math.pi - math.pi / 2       # angle == -rot modulo π
        assert abs(diff) < 0.02, (rot, angle)
