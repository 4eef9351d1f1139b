"""torchvision's ``datasets``: MNIST, FashionMNIST and CIFAR10 over nnzoo's loaders, images as PIL images.

The files are where :mod:`nnzoo.data.datasets` keeps them (``root/MNIST/raw/``, ``root/FashionMNIST/raw/``,
``root/cifar-10-batches-bin/``). As in torchvision, ``ds[i]`` hands ``transform`` a PIL image (grey ``"L"``
for the MNISTs, ``"RGB"`` for CIFAR-10) and ``target_transform`` an int; without a transform the PIL image
itself is returned, so ``transforms.ToTensor()`` is what makes it a tensor. ``ImageFolder`` reads
``root/<class>/<image>`` trees and ``FakeData`` draws random images (no files at all).
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ..data import datasets as _nnzoo_datasets
from ..data.dataset import Dataset
from ..random import Generator

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "ImageFolder", "FakeData"]


class MNIST(_nnzoo_datasets.MNIST):
    """torchvision's ``MNIST``: ``ds[i]`` is ``(transform(PIL image "L" 28x28), target_transform(label))``.

    Args: as :class:`nnzoo.data.datasets.MNIST` (``root``, ``train``, ``transform``, ``target_transform``,
    ``download``).

    Example::

        >>> from nnzoo.data.datasets.mnist import write_idx
        >>> raw = pathlib.Path("data/MNIST/raw"); raw.mkdir(parents=True)
        >>> for split, n in (("train", 3), ("t10k", 2)):
        ...     write_idx(raw / f"{split}-images-idx3-ubyte.gz", np.full((n, 28, 28), 255, np.uint8))
        ...     write_idx(raw / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
        >>> image, label = MNIST("data", train=False)[1]
        >>> image.mode, image.size, label
        ('L', (28, 28), 1)
    """

    def _sample(self, index: int) -> tuple[Image.Image, int]:
        images = self.__dict__.get("_images")
        if images is None:
            images = self._images = self.data.numpy()
        return Image.fromarray(images[index], mode="L"), int(self.targets[index].item())


class FashionMNIST(_nnzoo_datasets.FashionMNIST, MNIST):
    """torchvision's ``FashionMNIST`` (files in ``root/FashionMNIST/raw/``); as :class:`MNIST`."""


class CIFAR10(_nnzoo_datasets.CIFAR10):
    """torchvision's ``CIFAR10``: ``ds[i]`` is ``(transform(PIL image "RGB" 32x32), target_transform(label))``.

    Reads the binary version of CIFAR-10 (``root/cifar-10-batches-bin/``, see
    :class:`nnzoo.data.datasets.CIFAR10`).
    """

    def _sample(self, index: int) -> tuple[Image.Image, int]:
        return Image.fromarray(self.data[index], mode="RGB"), int(self.targets[index])


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path: str | os.PathLike) -> Image.Image:
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


class ImageFolder(Dataset):
    """Images in ``root/<class name>/<file>``: classes sorted by name, samples as ``(transform(image), class)``.

    Example::

        >>> for c in ("cat", "dog"):
        ...     pathlib.Path("pets", c).mkdir(parents=True)
        ...     Image.new("RGB", (4, 4)).save(f"pets/{c}/0.png")
        >>> ds = ImageFolder("pets")
        >>> ds.classes, len(ds), ds[1][1]
        (['cat', 'dog'], 2, 1)
    """

    def __init__(self, root: str | os.PathLike, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 loader: Callable[[str], Any] = pil_loader,
                 is_valid_file: Callable[[str], bool] | None = None) -> None:
        self.root = pathlib.Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: no folder {str(self.root)!r}")
        self.classes = sorted(d.name for d in os.scandir(self.root) if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: couldn't find any class folder in {self.root}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file or (lambda p: p.lower().endswith(IMG_EXTENSIONS))
        self.samples = [(os.path.join(dirpath, name), self.class_to_idx[c])
                        for c in self.classes
                        for dirpath, _, names in sorted(os.walk(self.root / c, followlinks=True))
                        for name in sorted(names) if valid(os.path.join(dirpath, name))]
        self.imgs = self.samples
        self.targets = [t for _, t in self.samples]
        self.loader = loader
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target


class FakeData(Dataset):
    """``size`` random images of ``image_size`` (C, H, W) with random labels; image ``i`` is the same each time.

    Example::

        >>> image, label = FakeData(size=4, image_size=(3, 8, 8))[2]
        >>> image.mode, image.size, 0 <= label < 10
        ('RGB', (8, 8), True)
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, random_offset: int = 0) -> None:
        self.size = size
        self.image_size = tuple(image_size)
        self.num_classes = num_classes
        self.transform = transform
        self.target_transform = target_transform
        self.random_offset = random_offset

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not 0 <= index < self.size:
            raise IndexError(f"FakeData: index {index} is out of range for a dataset of {self.size}")
        g = Generator().manual_seed(index + self.random_offset)
        from ..random import randint, randn
        img = randn(*self.image_size, generator=g).numpy()
        target = int(randint(0, self.num_classes, (1,), generator=g).item())
        from .transforms.functional import to_pil_image
        pixels = (np.clip(img, -3, 3) + 3) / 6   # into [0, 1]
        image = to_pil_image(np.ascontiguousarray(pixels.transpose(1, 2, 0)).astype(np.float32))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target
