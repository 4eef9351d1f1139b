"""Transforms: ToTensor and Normalize against torch arithmetic, crops and flips against index math, the
noise transforms by their statistics (bounds of 5 standard deviations of the estimator, derived from
the sample size: a correct transform fails with probability below 1e-6)."""
import math

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.data.transforms import (
    Compose,
    GaussianNoise,
    Lambda,
    MaskingNoise,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
)


def gen(seed):
    return nnzoo.Generator().manual_seed(seed)


# ---- ToTensor, Normalize ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4, 3), (5, 4), (2, 3, 1)])
def test_to_tensor_matches_torch_arithmetic(shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    hwc = img if img.ndim == 3 else img[:, :, None]
    expected = torch.from_numpy(hwc).permute(2, 0, 1).float().div(255)
    out = ToTensor()(img)
    assert out.dtype == nnzoo.float32 and tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_to_tensor_keeps_other_dtypes_and_checks_dims():
    img = np.random.default_rng(0).standard_normal((3, 2, 2))
    out = ToTensor()(img)
    assert out.dtype == nnzoo.float64
    np.testing.assert_array_equal(out.numpy(), img.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="2 or 3 dimensional"):
        ToTensor()(np.zeros((1, 2, 3, 4), dtype=np.uint8))


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_torch_arithmetic(shape, dtype):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    mean, std = [0.1, -0.2, 0.3], [0.5, 2.0, 0.25]
    t = torch.from_numpy(x.copy())
    expected = (t - torch.tensor(mean, dtype=t.dtype).view(-1, 1, 1)) / torch.tensor(std, dtype=t.dtype).view(-1, 1, 1)
    inp = nnzoo.tensor(x)
    out = Normalize(mean, std)(inp)
    assert out.dtype == inp.dtype
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_array_equal(inp.numpy(), x)  # not in place
    same = Normalize(mean, std, inplace=True)(inp)
    assert same is inp
    np.testing.assert_array_equal(inp.numpy(), expected.numpy())


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        Normalize([0.0], [0.0])(nnzoo.ones(1, 2, 2))
    with pytest.raises(TypeError, match="floating point"):
        Normalize([0.0], [1.0])(nnzoo.ones(1, 2, 2, dtype=nnzoo.int64))
    with pytest.raises(ValueError, match="at least 3 dims"):
        Normalize([0.0], [1.0])(nnzoo.ones(2, 2))


# ---- RandomCrop -----------------------------------------------------------------------------------------------
def _padded_reference(x, left, top, right, bottom, mode, fill):
    """Pad the last two dims by index math: each output position maps to a source index (or the fill)."""
    def source(k, n):
        if mode == "edge":
            return min(max(k, 0), n - 1)
        if mode == "reflect":  # mirror around the border element: -1 -> 1, n -> n - 2
            return -k if k < 0 else (2 * (n - 1) - k if k >= n else k)
        if mode == "symmetric":  # mirror including the border: -1 -> 0, n -> n - 1
            return -k - 1 if k < 0 else (2 * n - 1 - k if k >= n else k)
        return k if 0 <= k < n else None
    h, w = x.shape[-2:]
    out = np.full(x.shape[:-2] + (h + top + bottom, w + left + right), fill, dtype=x.dtype)
    for r in range(out.shape[-2]):
        for c in range(out.shape[-1]):
            sr, sc = source(r - top, h), source(c - left, w)
            if sr is not None and sc is not None:
                out[..., r, c] = x[..., sr, sc]
    return out


def _find_window(big, crop):
    """All (i, j) where ``crop`` equals the window of ``big`` at that offset."""
    h, w = crop.shape[-2:]
    return [(i, j) for i in range(big.shape[-2] - h + 1) for j in range(big.shape[-1] - w + 1)
            if np.array_equal(big[..., i:i + h, j:j + w], crop)]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding, sides", [(2, (2, 2, 2, 2)), ((1, 3), (1, 3, 1, 3)), ((1, 2, 3, 0), (1, 2, 3, 0))])
def test_random_crop_is_a_window_of_the_padded_input(mode, padding, sides):
    x = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6) + 1
    ref = _padded_reference(x, *sides, mode, fill=-1.0)
    crop = RandomCrop((4, 5), padding=padding, fill=-1.0, padding_mode=mode, generator=gen(0))
    seen = set()
    for _ in range(60):
        out = crop(nnzoo.tensor(x)).numpy()
        assert out.shape == (2, 4, 5)
        windows = _find_window(ref, out)
        assert windows, "the crop is no window of the padded input"
        seen.update(windows)
    # offsets are uniform over (H + pads - 4 + 1) x (W + pads - 5 + 1) positions: 60 draws reach several
    assert len(seen) > 5


def test_random_crop_offsets_are_uniform():
    x = nnzoo.arange(36.0).reshape(1, 6, 6)
    crop = RandomCrop(4, generator=gen(1))
    n, k = 3000, 9  # 3 x 3 offsets; the crop's top-left value identifies (i, j)
    firsts = np.array([crop(x)[0, 0, 0].item() for _ in range(n)]).astype(int)
    offsets = (firsts // 6) * 3 + firsts % 6
    counts = np.bincount(offsets, minlength=k)
    p = 1 / k
    assert np.all(np.abs(counts - n * p) <= 5 * math.sqrt(n * p * (1 - p))), counts


def test_random_crop_same_window_for_the_whole_batch_and_pad_if_needed():
    x = np.random.default_rng(0).standard_normal((3, 2, 7, 7))
    out = RandomCrop(5, generator=gen(2))(nnzoo.tensor(x)).numpy()
    windows = _find_window(x, out)
    assert len(windows) == 1
    small = nnzoo.ones(1, 2, 3)
    padded = RandomCrop((4, 5), pad_if_needed=True, generator=gen(0))(small)
    assert tuple(padded.shape) == (1, 4, 5)
    with pytest.raises(ValueError, match=r"crop size \(4, 5\) is larger than the input image size \(2, 3\)"):
        RandomCrop((4, 5))(small)
    exact = nnzoo.ones(1, 4, 5)
    assert np.array_equal(RandomCrop((4, 5))(exact).numpy(), exact.numpy())


def test_random_crop_reproducible():
    x = nnzoo.arange(100.0).reshape(1, 10, 10)
    c1, c2 = RandomCrop(3, generator=gen(7)), RandomCrop(3, generator=gen(7))
    crops = [c1(x).numpy() for _ in range(10)]
    assert all(np.array_equal(a, c2(x).numpy()) for a in crops)
    assert len({a[0, 0, 0] for a in crops}) > 1


def test_random_crop_argument_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        RandomCrop(2, padding_mode="wrap")
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(2, padding=(1, 2, 3))
    with pytest.raises(TypeError, match="fill"):
        RandomCrop(2, fill=(1, 2, 3))


# ---- RandomHorizontalFlip ---------------------------------------------------------------------------------------
def test_horizontal_flip_index_math_and_probability():
    x = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(nnzoo.tensor(x)).numpy(), x[..., ::-1])
    t = nnzoo.tensor(x)
    assert RandomHorizontalFlip(p=0.0)(t) is t
    flip = RandomHorizontalFlip(p=0.3, generator=gen(0))
    n = 4000
    flips = sum(flip(t)[0, 0, 0].item() == x[0, 0, -1] for _ in range(n))
    assert abs(flips - 0.3 * n) <= 5 * math.sqrt(n * 0.3 * 0.7), flips


def test_horizontal_flip_reproducible():
    t = nnzoo.arange(4).reshape(1, 4)
    f1, f2 = RandomHorizontalFlip(generator=gen(3)), RandomHorizontalFlip(generator=gen(3))
    a, b = [f1(t)[0, 0].item() for _ in range(30)], [f2(t)[0, 0].item() for _ in range(30)]
    assert a == b and len(set(a)) == 2


# ---- noise ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [nnzoo.float32, nnzoo.float64])
def test_gaussian_noise_statistics(dtype):
    n, mean, sigma = 200_000, 0.3, 0.5
    x = nnzoo.full((n,), 2.0, dtype=dtype)
    out = GaussianNoise(mean=mean, sigma=sigma, generator=gen(0))(x)
    assert out.dtype == dtype and tuple(out.shape) == (n,)
    noise = out.numpy().astype(np.float64) - 2.0
    # the sample mean has sd sigma / sqrt(n); the sample variance sd sigma^2 sqrt(2 / (n - 1))
    assert abs(noise.mean() - mean) <= 5 * sigma / math.sqrt(n)
    assert abs(noise.var(ddof=1) - sigma ** 2) <= 5 * sigma ** 2 * math.sqrt(2 / (n - 1))


def test_gaussian_noise_clip_and_errors():
    x = nnzoo.full((10_000,), 0.5)
    out = GaussianNoise(sigma=1.0, clip=True, generator=gen(1))(x).numpy()
    assert out.min() == 0.0 and out.max() == 1.0  # P(|z| < 0.5 for all 10^4 draws) is negligible
    out = GaussianNoise(sigma=1.0, clip=(-0.25, 0.75), generator=gen(1))(x).numpy()
    assert out.min() == -0.25 and out.max() == 0.75
    with pytest.raises(TypeError, match="floating point"):
        GaussianNoise()(nnzoo.ones(3, dtype=nnzoo.int64))
    with pytest.raises(ValueError, match="negative"):
        GaussianNoise(sigma=-1.0)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_masking_noise_fraction(p):
    n = 100_000
    x = nnzoo.tensor(np.random.default_rng(0).uniform(1, 2, n).astype(np.float32))
    out = MaskingNoise(p, generator=gen(0))(x).numpy()
    zeroed = out == 0
    np.testing.assert_array_equal(out[~zeroed], x.numpy()[~zeroed])  # kept values untouched, not rescaled
    assert abs(zeroed.sum() - p * n) <= 5 * math.sqrt(n * p * (1 - p))
    assert out.dtype == np.float32


def test_masking_noise_reproducible_and_checks_p():
    x = nnzoo.ones(50)
    m1, m2 = MaskingNoise(0.5, generator=gen(4)), MaskingNoise(0.5, generator=gen(4))
    assert np.array_equal(m1(x).numpy(), m2(x).numpy())
    with pytest.raises(ValueError, match="probability"):
        MaskingNoise(1.5)


# ---- Compose, Lambda -----------------------------------------------------------------------------------------
def test_compose_applies_in_order_and_lambda_checks_callable():
    img = np.random.default_rng(0).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    t = Compose([ToTensor(), Normalize([0.5] * 3, [0.5] * 3), Lambda(lambda x: x * 2)])
    expected = (torch.from_numpy(img).permute(2, 0, 1).float().div(255) - 0.5) / 0.5 * 2
    np.testing.assert_array_equal(t(img).numpy(), expected.numpy())
    assert "Normalize" in repr(t)
    with pytest.raises(TypeError, match="callable"):
        Lambda(3)
