"""MNIST and Fashion-MNIST from their IDX files, like ``torchvision.datasets.MNIST``/``FashionMNIST``.

The files live where torchvision keeps them, ``<root>/<ClassName>/raw/``, so a folder torchvision has
already filled works unchanged (and the other way round). Each set is four gzip-compressed IDX files
(uncompressed copies are read too):

==============================  ============================
``train-images-idx3-ubyte.gz``  60,000 images, uint8 (N, 28, 28)
``train-labels-idx1-ubyte.gz``  60,000 labels, uint8 (N,)
``t10k-images-idx3-ubyte.gz``   10,000 images
``t10k-labels-idx1-ubyte.gz``   10,000 labels
==============================  ============================

The IDX format (LeCun's), all integers big-endian: a 4-byte magic number ``0x00 0x00 <type> <ndim>``
(type 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), then ``ndim`` uint32
sizes, then the values in row-major order.

Downloads are checked against the SHA-256 digests below and the MD5 digests torchvision publishes
(``MNIST.resources``); files loaded from ``raw/`` are checked for format (magic, sizes, length), not digest.

A root that holds the four files itself (no ``<ClassName>/raw/`` inside: a copy such as the Debian packaging
of Fashion-MNIST, whose ``.gz`` bytes were re-compressed and so differ from the downloads) is read too; its
files are checked against the MD5 digests of their *decompressed* content (``content_md5``), which every
correct copy shares whatever its compression. :func:`fashion_mnist_root` finds such a copy.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ...creation import from_numpy
from ...tensor import Tensor
from .download import download
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_idx", "write_idx", "fashion_mnist_root"]

_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    raw = pathlib.Path(path).read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; EOFError: cut short
        raise ValueError(f"read_idx: {path}: corrupt or truncated gzip data ({e}); delete the file and "
                         "download it again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array in native byte order.

    Args:
        path (str or Path): the file.

    Returns:
        numpy.ndarray: with the dtype and shape the header gives.

    Raises:
        ValueError: on a bad magic number, or data shorter or longer than the header says.

    Example::

        >>> import struct
        >>> _ = open("x.idx", "wb").write(struct.pack(">BBBBII", 0, 0, 0x08, 2, 2, 3) + bytes(range(6)))
        >>> read_idx("x.idx")
        array([[0, 1, 2],
               [3, 4, 5]], dtype=uint8)
    """
    return _parse_idx(_read_bytes(path), path)


def _parse_idx(data: bytes, path: str | os.PathLike) -> np.ndarray:
    """The array held by the IDX bytes ``data`` (read from ``path``, named in errors)."""
    if len(data) < 4:
        raise ValueError(f"read_idx: {path}: {len(data)} bytes is too short for an IDX header")
    zero1, zero2, code, ndim = data[:4]
    if zero1 != 0 or zero2 != 0 or code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path}: bad magic number 0x{data[:4].hex()} (expected 0x0000TTDD with "
                         f"type TT in {sorted(hex(t) for t in _IDX_TYPES)}); not an IDX file")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path}: truncated header ({len(data)} bytes, {ndim} dims need {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"read_idx: {path}: {what}: the header says shape {shape} of {dtype.newbyteorder('=')}"
                         f" = {expected} data bytes, the file holds {got}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def write_idx(path: str | os.PathLike, array: np.ndarray | Tensor) -> None:
    """Write a NumPy array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    Args:
        path (str or Path): the file to write.
        array (numpy.ndarray or Tensor): uint8, int8, int16, int32, float32 or float64.

    Example::

        >>> write_idx("y.idx.gz", np.arange(4, dtype=np.uint8))
        >>> read_idx("y.idx.gz")
        array([0, 1, 2, 3], dtype=uint8)
    """
    arr = np.asarray(array.numpy() if hasattr(array, "numpy") else array)
    codes = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}
    if arr.dtype not in codes:
        raise TypeError(f"write_idx: IDX cannot hold dtype {arr.dtype}; use one of "
                        f"{sorted(str(d) for d in codes)}")
    body = (struct.pack(">BBBB", 0, 0, codes[arr.dtype], arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder(">")).tobytes())
    path = pathlib.Path(path)
    path.write_bytes(gzip.compress(body, mtime=0) if path.name.endswith(".gz") else body)


class MNIST(VisionDataset):
    """The MNIST hand-written digits: 60,000 training and 10,000 test images, 28x28 grey, 10 classes.

    Args:
        root (str or Path, optional): the data root; files go in ``root/MNIST/raw/``.
            Default: ``nnzoo_home()``.
        train (bool): the training set (True) or the test set (False). Default: True.
        transform (callable, optional): applied to each image tensor.
        target_transform (callable, optional): applied to each label.
        download (bool): download missing files (checksum-verified) into ``root``. Default: False.

    Attributes:
        data (Tensor): uint8 images, shape (N, 28, 28).
        targets (Tensor): int64 labels, shape (N,).
        classes (list of str): the class names.

    Shape:
        ``ds[i]`` is ``(image, label)``: a float32 Tensor (1, 28, 28) with values in [0, 1] (pixel / 255,
        torchvision's ``ToTensor``), then ``transform``; an int, then ``target_transform``.

    Example::

        >>> raw = pathlib.Path("data/MNIST/raw"); raw.mkdir(parents=True)
        >>> for split, n in (("train", 6), ("t10k", 2)):
        ...     write_idx(raw / f"{split}-images-idx3-ubyte.gz", np.full((n, 28, 28), 255, np.uint8))
        ...     write_idx(raw / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
        >>> ds = MNIST("data", train=True)
        >>> image, label = ds[1]
        >>> len(ds), tuple(image.shape), image.dtype, image.max().item(), label
        (6, (1, 28, 28), nnzoo.float32, 1.0, 1)
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's first mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",  # the original site (often refuses plain downloads)
    ]
    # (file name, SHA-256, MD5); the MD5s are torchvision's, the SHA-256s agree across independent sources
    resources = [
        ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
         "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
         "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
         "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
         "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable[[Tensor], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform)
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        images = self._read(f"{prefix}-images-idx3-ubyte.gz")
        labels = self._read(f"{prefix}-labels-idx1-ubyte.gz")
        name = type(self).__name__
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{name}: expected uint8 images of shape (N, 28, 28), got {images.dtype} "
                             f"{images.shape} in {self.raw_folder}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(f"{name}: {images.shape[0]} images but labels of shape {labels.shape} "
                             f"in {self.raw_folder}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"{name}: labels must be in [0, {len(self.classes)}), found "
                             f"{labels.min()}..{labels.max()} in {self.raw_folder}")
        self.data = from_numpy(images)  # (N, 28, 28) uint8
        self.targets = from_numpy(labels.astype(np.int64))  # (N,)

    # MD5 of each file's decompressed content (None: not known, so a flat copy cannot be used)
    content_md5: dict[str, str] = {}

    @property
    def raw_folder(self) -> pathlib.Path:
        """Where the files are: ``root/<ClassName>/raw/``, or ``root`` itself when it holds the training images
        and ``root/<ClassName>/raw/`` does not exist (a flat copy, checked by content digest)."""
        raw = self.root / type(self).__name__ / "raw"
        if not raw.is_dir() and any((self.root / f).is_file() for f in ("train-images-idx3-ubyte.gz",
                                                                         "train-images-idx3-ubyte")):
            return self.root
        return raw

    def _read(self, filename: str) -> np.ndarray:
        """The array of ``filename``; in a flat copy, refused unless its decompressed content has the known MD5."""
        path = self._find(filename)
        if self.raw_folder == self.root / type(self).__name__ / "raw":
            return read_idx(path)
        data = _read_bytes(path)
        key = filename.removesuffix(".gz")
        expected = self.content_md5.get(key)
        name = type(self).__name__
        if expected is None:
            raise RuntimeError(f"{name}: {path}: no content digest is known for {key}, so a copy outside "
                               f"{self.root / name / 'raw'} cannot be checked; put the files there")
        got = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if got != expected:
            raise RuntimeError(f"{name}: {path}: the decompressed content has MD5 {got}, not {expected} "
                               f"({key} of {name}); the copy is damaged or another dataset")
        return _parse_idx(data, path)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self, filename: str) -> pathlib.Path:
        """The path of ``filename`` in the raw folder, or of its uncompressed copy (torchvision keeps both)."""
        for candidate in (self.raw_folder / filename, self.raw_folder / filename.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
        urls = "\n".join(f"  {m}{f}" for f, _, _ in self.resources for m in self.mirrors[:1])
        raise RuntimeError(
            f"{type(self).__name__}: dataset not found: {filename} is missing from {self.raw_folder}. "
            f"Pass download=True to fetch it, or, offline, download the four files by hand\n{urls}\n"
            f"(other mirrors: {', '.join(self.mirrors[1:])}) and place them in {self.raw_folder}")

    def download(self) -> None:
        """Download the files that are missing (both splits), checksum-verified, into ``raw_folder``."""
        for filename, sha256, md5 in self.resources:
            path = self.raw_folder / filename
            if path.is_file() or path.with_suffix("").is_file():
                continue
            download([m + filename for m in self.mirrors], path, sha256=sha256, md5=md5)

    def __len__(self) -> int:
        return self.data.shape[0]

    def _sample(self, index: int) -> tuple[Tensor, int]:
        # NOTE: the uint8 image becomes float32 in [0, 1] (ToTensor), with a channel dimension: (1, 28, 28)
        image = from_numpy(self.data.numpy()[index].astype(np.float32)[None] / np.float32(255))
        target = int(self.targets.numpy()[index])
        return image, target


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60,000 training and 10,000 test images of clothes, 28x28 grey, 10 classes.

    A drop-in replacement for ``MNIST`` (same files, same format; MIT license). Files go in
    ``root/FashionMNIST/raw/``.

    Args, Attributes, Shape: as ``MNIST``.

    Example::

        >>> FashionMNIST.classes[:3]
        ['T-shirt/top', 'Trouser', 'Pullover']
    """

    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # torchvision's mirror
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
         "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
         "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
         "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
         "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    # the decompressed IDX files (the dataset's README lists them; the same for torchvision's and Debian's .gz)
    content_md5 = {"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                   "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                   "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                   "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"}


def fashion_mnist_root(root: str | os.PathLike | None = None) -> pathlib.Path:
    """A folder ``FashionMNIST(root)`` reads: ``root``, else ``$NNZOO_FASHION_MNIST``, else
    ``../shared/data/fashion-mnist`` next to the nnzoo source tree (a flat copy), else ``nnzoo_home()`` when
    it holds ``FashionMNIST/raw/``. FileNotFoundError (naming where it looked) otherwise.

    Example::

        >>> FashionMNIST(fashion_mnist_root(), train=False).data.shape  # doctest: +SKIP
        nnzoo.Size([10000, 28, 28])
    """
    from .download import nnzoo_home
    shared = pathlib.Path(__file__).resolve().parents[4] / "shared" / "data" / "fashion-mnist"
    candidates = [root] if root is not None else [os.environ.get("NNZOO_FASHION_MNIST"), shared, nnzoo_home()]
    for c in candidates:
        if not c:
            continue
        c = pathlib.Path(c).expanduser()
        for folder in (c, c / "FashionMNIST" / "raw"):
            if any((folder / f).is_file() for f in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")):
                return c
    raise FileNotFoundError("FashionMNIST: no train-images-idx3-ubyte(.gz) in " + ", ".join(
        str(c) for c in candidates if c) + "; set NNZOO_FASHION_MNIST to a folder with the four IDX files, or "
        "run FashionMNIST(download=True)")
