"""CIFAR-10 from its binary version, like ``torchvision.datasets.CIFAR10`` but without pickle.

torchvision reads the Python version of CIFAR-10, whose batches are pickles; nnzoo never unpickles, so it
reads the binary version the same authors publish (``cifar-10-binary.tar.gz``, 162 MB), which holds the
same images and labels. The archive unpacks to ``cifar-10-batches-bin/``:

- ``data_batch_1.bin`` .. ``data_batch_5.bin`` (training, 10,000 images each), ``test_batch.bin``
  (test, 10,000): records of 3073 bytes, 1 label byte (0-9) then 3072 pixel bytes: the 1024 red values
  of the 32x32 image in row-major order, then the 1024 green, then the 1024 blue;
- ``batches.meta.txt``: the 10 class names, one a line.

Files live in ``<root>/cifar-10-batches-bin/`` (the archive in ``<root>/cifar-10-binary.tar.gz``). Only
these seven named files are taken out of the archive, each as a regular file under its own name, so a
crafted archive cannot write elsewhere.
"""
from __future__ import annotations

import os
import pathlib
import tarfile
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from ...creation import from_numpy
from ...tensor import Tensor
from .download import download
from .vision import VisionDataset

__all__ = ["CIFAR10"]

_RECORD = 1 + 3 * 32 * 32  # label byte + RGB planes


def _read_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), labels uint8 (N,)) from one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD:
        raise ValueError(f"CIFAR10: {path}: {raw.size} bytes is not a whole number of {_RECORD}-byte records "
                         "(truncated or not a CIFAR-10 binary batch); delete it and extract/download again")
    records = raw.reshape(-1, _RECORD)
    labels = records[:, 0]
    # NOTE: each record stores channel planes (3, 32, 32); torchvision's .data is channels-last (N, 32, 32, 3)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, in 10 classes.

    Args:
        root (str or Path, optional): the data root, holding ``cifar-10-batches-bin/`` (or the archive
            ``cifar-10-binary.tar.gz``, which is unpacked on first use). Default: ``nnzoo_home()``.
        train (bool): the training set (the five data batches) or the test set. Default: True.
        transform (callable, optional): applied to each image tensor.
        target_transform (callable, optional): applied to each label.
        download (bool): download the archive (checksum-verified) if it is missing. Default: False.

    Attributes:
        data (numpy.ndarray): uint8 images, shape (N, 32, 32, 3) (HWC, as torchvision's ``.data``).
        targets (list of int): the labels (a list, as in torchvision).
        classes (list of str): the class names, from ``batches.meta.txt``.

    Shape:
        ``ds[i]`` is ``(image, label)``: a float32 Tensor (3, 32, 32) with values in [0, 1] (torchvision's
        ``ToTensor``), then ``transform``; an int, then ``target_transform``.

    Example::

        >>> folder = pathlib.Path("cifar-10-batches-bin"); folder.mkdir()
        >>> record = np.concatenate([[3], np.full(3072, 255)]).astype(np.uint8)
        >>> for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        ...     record.tofile(folder / name)
        >>> _ = (folder / "batches.meta.txt").write_text("\\n".join("abcdefghij") + "\\n")
        >>> ds = CIFAR10(".", train=True)
        >>> image, label = ds[0]
        >>> len(ds), ds.data.shape, tuple(image.shape), image.max().item(), label, ds.classes[label]
        (5, (5, 32, 32, 3), (3, 32, 32), 1.0, 3, 'd')
    """

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    mirrors = [url]
    filename = "cifar-10-binary.tar.gz"
    # the archive's MD5 is the one on the CIFAR page; the SHA-256 agrees across independent sources
    tgz_sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    meta_file = "batches.meta.txt"

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable[[Tensor], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform)
        if download:
            self.download()
        if not self._check_exists():
            self._extract_if_archive()
        images, labels = [], []
        for name in (self.train_list if train else self.test_list):
            im, lab = _read_batch(self.folder / name)
            images.append(im)
            labels.append(lab)
        self.classes = [line.strip() for line in (self.folder / self.meta_file).read_text().splitlines()
                        if line.strip()]
        labels = np.concatenate(labels)
        if labels.max() >= len(self.classes):
            raise ValueError(f"CIFAR10: label {labels.max()} in {self.folder} but {self.meta_file} names only "
                             f"{len(self.classes)} classes")
        self.data = np.concatenate(images)  # (N, 32, 32, 3) uint8
        self.targets = labels.astype(np.int64).tolist()

    @property
    def folder(self) -> pathlib.Path:
        return self.root / self.base_folder

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _check_exists(self) -> bool:
        return all((self.folder / f).is_file() for f in self.train_list + self.test_list + [self.meta_file])

    def _extract_if_archive(self) -> None:
        archive = self.root / self.filename
        if not archive.is_file():
            missing = [f for f in self.train_list + self.test_list + [self.meta_file]
                       if not (self.folder / f).is_file()]
            raise RuntimeError(
                f"CIFAR10: dataset not found: {', '.join(missing)} missing from {self.folder} and no archive "
                f"{archive}. Pass download=True to fetch it, or, offline, download\n  {self.url}\n"
                f"(the binary version, sha256 {self.tgz_sha256}) by hand and place it at {archive}")
        self.extract(archive)

    def extract(self, archive: str | os.PathLike) -> None:
        """Unpack the seven needed files from the binary archive into ``folder`` (each written atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for name in self.train_list + self.test_list + [self.meta_file]:
                    try:
                        member = tar.getmember(f"{self.base_folder}/{name}")
                    except KeyError:
                        raise RuntimeError(f"CIFAR10: {archive} has no {self.base_folder}/{name}; is it the "
                                           "binary version (cifar-10-binary.tar.gz)?") from None
                    if not member.isfile():
                        raise RuntimeError(f"CIFAR10: {archive}: {member.name} is not a regular file")
                    fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".part")
                    try:
                        with os.fdopen(fd, "wb") as out:
                            out.write(tar.extractfile(member).read())
                        os.replace(tmp, self.folder / name)
                    except BaseException:
                        os.remove(tmp)
                        raise
        except (tarfile.TarError, EOFError, OSError) as e:  # a damaged or cut-short archive
            raise RuntimeError(f"CIFAR10: cannot read the archive {archive} ({e}); delete it and download "
                               "it again") from None

    def download(self) -> None:
        """Download and unpack the archive, unless the batch files are already there."""
        if self._check_exists():
            return
        archive = download(self.mirrors, self.root / self.filename, sha256=self.tgz_sha256, md5=self.tgz_md5)
        self.extract(archive)

    def __len__(self) -> int:
        return len(self.data)

    def _sample(self, index: int) -> tuple[Tensor, int]:
        # NOTE: HWC uint8 -> CHW float32 in [0, 1], as torchvision's ToTensor
        image = from_numpy(np.ascontiguousarray(self.data[index].transpose(2, 0, 1), dtype=np.float32)
                           / np.float32(255))
        target = self.targets[index]
        return image, target
