"""nnzoo.vision.datasets hand PIL images to the transform (as torchvision); nnzoo.vision.models build the zoo's."""
import numpy as np
import pytest
from PIL import Image

import nnzoo
from nnzoo.data.datasets.mnist import write_idx
from nnzoo.vision import datasets, models, transforms


@pytest.fixture
def mnist_root(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("MNIST", "FashionMNIST"):
        raw = tmp_path / name / "raw"
        raw.mkdir(parents=True)
        for split, n in (("train", 6), ("t10k", 3)):
            write_idx(raw / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
            write_idx(raw / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    return tmp_path


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnists_give_pil_images(mnist_root, cls):
    ds = cls(mnist_root, train=True, download=False)
    image, label = ds[2]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28) and label == 2
    np.testing.assert_array_equal(np.asarray(image), ds.data.numpy()[2])
    ds = cls(str(mnist_root), train=False, transform=transforms.ToTensor(), target_transform=lambda t: t + 10)
    x, y = ds[1]
    assert len(ds) == 3 and tuple(x.shape) == (1, 28, 28) and y == 11
    np.testing.assert_array_equal(x.numpy()[0], ds.data.numpy()[1] / np.float32(255))


def test_cifar10_gives_rgb_images(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        np.concatenate([[4], rng.integers(0, 256, 3072)]).astype(np.uint8).tofile(folder / name)
    (folder / "batches.meta.txt").write_text("\n".join("abcdefghij") + "\n")
    ds = datasets.CIFAR10(tmp_path, train=False)
    image, label = ds[0]
    assert image.mode == "RGB" and image.size == (32, 32) and label == 4
    np.testing.assert_array_equal(np.asarray(image), ds.data[0])


def test_fake_data_is_repeatable():
    ds = datasets.FakeData(size=3, image_size=(1, 5, 5), num_classes=4, transform=transforms.ToTensor())
    a, la = ds[1]
    b, lb = ds[1]
    assert tuple(a.shape) == (1, 5, 5) and la == lb and np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name, zoo_name", [("resnet18", "resnet18"), ("vgg11", "vgg11"), ("alexnet", "alexnet")])
def test_models_are_the_zoos(name, zoo_name):
    model = getattr(models, name)(weights=None, num_classes=7)
    want = getattr(nnzoo.zoo, zoo_name)(num_classes=7)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in want.state_dict().items()]
    with pytest.raises(RuntimeError, match=f"torchvision.models.{name}: pretrained weights .* offline"):
        getattr(models, name)(weights="DEFAULT")


def test_resnet18_forward_shape():
    model = models.resnet18(num_classes=3).eval()
    with nnzoo.no_grad():
        assert tuple(model(nnzoo.randn(2, 3, 32, 32)).shape) == (2, 3)
