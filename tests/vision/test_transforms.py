"""nnzoo.vision.transforms: PIL images and tensor images, checked against Pillow and NumPy references."""
import numpy as np
import pytest
from PIL import Image

import nnzoo
from nnzoo.vision import transforms as T
from nnzoo.vision.transforms import functional as F


def _rgb(h=6, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_to_tensor_and_back():
    arr = _rgb()
    x = T.ToTensor()(Image.fromarray(arr))
    assert x.dtype == nnzoo.float32 and tuple(x.shape) == (3, 6, 8)
    np.testing.assert_array_equal(x.numpy(), arr.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    assert T.PILToTensor()(Image.fromarray(arr)).dtype == nnzoo.uint8
    grey = T.ToTensor()(Image.fromarray(arr[:, :, 0], mode="L"))
    assert tuple(grey.shape) == (1, 6, 8)
    back = T.ToPILImage()(x)
    assert back.mode == "RGB"
    # floats become bytes by mul(255).byte(): truncation, so k/255 comes back as k up to one step of rounding
    assert np.abs(np.asarray(back).astype(int) - arr).max() <= 1
    assert T.ToTensor()(Image.fromarray(arr[:, :, 0] > 100)).max().item() == 1.0   # mode "1" -> 0/1


def test_normalize_and_compose():
    arr = _rgb()
    t = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))])
    want = (arr.transpose(2, 0, 1) / np.float32(255) - np.array([0.5, 0.4, 0.3], np.float32)[:, None, None]) \
        / np.array([0.2, 0.25, 0.5], np.float32)[:, None, None]
    np.testing.assert_allclose(t(Image.fromarray(arr)).numpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("size, expected", [(4, (4, 5)), ([3, 7], (3, 7)), ((5,), (5, 6))])
def test_resize_follows_torchvision_size_rule_and_pillow(size, expected):
    arr = _rgb(6, 8)
    img = T.Resize(size)(Image.fromarray(arr))
    assert (img.height, img.width) == expected
    np.testing.assert_array_equal(np.asarray(img), np.asarray(Image.fromarray(arr).resize(expected[::-1],
                                                                                          Image.Resampling.BILINEAR)))
    # a tensor image resizes like its channels as float images in Pillow
    x = T.ToTensor()(Image.fromarray(arr))
    out = T.Resize(size)(x)
    ref = np.stack([np.asarray(Image.fromarray(c, mode="F").resize(expected[::-1], Image.Resampling.BILINEAR))
                    for c in x.numpy()])
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)


def test_center_crop_and_crop_padding():
    x = nnzoo.arange(7 * 9).reshape(1, 7, 9)
    a = x.numpy()[0]
    # torchvision: top = round((H - h) / 2), left = round((W - w) / 2)
    np.testing.assert_array_equal(T.CenterCrop((3, 4))(x).numpy()[0], a[2:5, 2:6])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((3, 4))(Image.fromarray(a.astype(np.uint8)))),
                                  a[2:5, 2:6].astype(np.uint8))
    big = T.CenterCrop(11)(x).numpy()[0]    # larger than the image: zero padding around it
    ref = np.zeros((11, 11), a.dtype)
    ref[2:9, 1:10] = a
    np.testing.assert_array_equal(big, ref)


def test_pad_modes_match_numpy():
    arr = _rgb(4, 5)
    for mode in ("constant", "edge", "reflect", "symmetric"):
        img = T.Pad((1, 2, 3, 1), fill=7, padding_mode=mode)(Image.fromarray(arr))
        kw = {"constant_values": 7} if mode == "constant" else {}
        np.testing.assert_array_equal(np.asarray(img), np.pad(arr, [(2, 1), (1, 3), (0, 0)], mode=mode, **kw))
    x = nnzoo.ones(2, 3, 3)
    np.testing.assert_array_equal(T.Pad(1, fill=(5, 6))(x).numpy()[:, 0, 0], [5.0, 6.0])


def test_random_crop_flip_rotation_on_pil_and_tensor():
    nnzoo.manual_seed(0)
    arr = _rgb(10, 10)
    img = Image.fromarray(arr)
    crop = T.RandomCrop(6, padding=2)(img)
    assert crop.size == (6, 6)
    flipped = T.RandomHorizontalFlip(p=1.0)(img)
    np.testing.assert_array_equal(np.asarray(flipped), arr[:, ::-1])
    chw = arr.transpose(2, 0, 1)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(nnzoo.tensor(chw)).numpy(), chw[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    assert T.RandomRotation((90, 90))(img).size == (10, 10)
    np.testing.assert_array_equal(np.asarray(T.RandomRotation((90, 90))(img)), np.asarray(img.rotate(90)))
    rot = T.RandomRotation((180, 180))(T.ToTensor()(img))
    np.testing.assert_allclose(rot.numpy(), T.ToTensor()(img).numpy()[:, ::-1, ::-1], atol=1e-7)
    assert T.RandomResizedCrop(5)(img).size == (5, 5)
    assert tuple(T.RandomResizedCrop((4, 3))(T.ToTensor()(img)).shape) == (3, 4, 3)


def test_grayscale_is_itu_601():
    arr = _rgb()
    x = T.ToTensor()(Image.fromarray(arr))
    g = T.Grayscale()(x).numpy()
    r, gr, b = x.numpy()
    np.testing.assert_allclose(g[0], np.float32(0.2989) * r + np.float32(0.587) * gr + np.float32(0.114) * b,
                               rtol=1e-6)
    assert T.Grayscale(3)(Image.fromarray(arr)).mode == "RGB"
    np.testing.assert_array_equal(np.asarray(T.Grayscale()(Image.fromarray(arr))),
                                  np.asarray(Image.fromarray(arr).convert("L")))


def test_lambda_and_convert_dtype():
    assert T.Lambda(lambda v: v * 2)(nnzoo.tensor([1.0])).item() == 2.0
    u8 = nnzoo.tensor([[[0, 128, 255]]], dtype=nnzoo.uint8)
    np.testing.assert_allclose(T.ConvertImageDtype(nnzoo.float32)(u8).numpy(), u8.numpy() / np.float32(255))
    assert F.get_dimensions(Image.new("RGB", (5, 4))) == [3, 4, 5]
