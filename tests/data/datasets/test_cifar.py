"""nnzoo.data.datasets.cifar: CIFAR-10 from the binary version (no pickle).

The archives are small fakes in the exact layout of ``cifar-10-binary.tar.gz``: a folder
``cifar-10-batches-bin`` with ``data_batch_1..5.bin`` and ``test_batch.bin`` (records of 1 label byte and
3072 pixel bytes, the red, green and blue 32x32 planes in turn) and ``batches.meta.txt``. Expected values
are the HWC NumPy images the records were made from. No network: ``download=True`` uses ``file://`` URLs.
"""
import hashlib
import io
import tarfile

import numpy as np
import pytest

import nnzoo
from nnzoo.data.datasets.cifar import CIFAR10
from nnzoo.data.datasets.download import DownloadError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]


def records(images, labels):
    """The binary-version bytes of HWC uint8 ``images`` (N, 32, 32, 3): per image its label, then the R,
    G and B planes, each row-major (built per image with explicit loops, independent of the loader)."""
    out = bytearray()
    for image, label in zip(images, labels):
        out.append(int(label))
        for channel in range(3):
            out += image[:, :, channel].tobytes()
    return bytes(out)


def make_batches(seed=0, per_batch=3, n_test=4):
    rng = np.random.default_rng(seed)
    batches = {}
    for name in TRAIN + ["test_batch.bin"]:
        n = n_test if name == "test_batch.bin" else per_batch
        batches[name] = (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n))
    return batches


META = "\n".join(CLASSES) + "\n\n"


def make_tar(path, batches, meta=META, extra=(), skip=()):
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, (images, labels) in batches.items():
            if name not in skip:
                add(f"cifar-10-batches-bin/{name}", records(images, labels))
        add("cifar-10-batches-bin/batches.meta.txt", meta.encode())
        add("cifar-10-batches-bin/readme.html", b"<html></html>")
        for name, data in extra:
            add(name, data)
    return path


def test_cifar_from_archive(tmp_path):
    batches = make_batches()
    make_tar(tmp_path / "cifar-10-binary.tar.gz", batches)
    ds = CIFAR10(tmp_path, train=True)  # unpacks the archive on first use
    want_images = np.concatenate([batches[n][0] for n in TRAIN])
    want_labels = np.concatenate([batches[n][1] for n in TRAIN])
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == (15, 32, 32, 3)
    np.testing.assert_array_equal(ds.data, want_images)
    assert ds.targets == want_labels.tolist() and all(type(t) is int for t in ds.targets)
    assert ds.classes == CLASSES and ds.class_to_idx["cat"] == 3
    assert sorted(p.name for p in (tmp_path / "cifar-10-batches-bin").iterdir()) == \
        sorted(TRAIN + ["test_batch.bin", "batches.meta.txt"])  # only the needed files, no temporaries

    test = CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(test.data, batches["test_batch.bin"][0])
    assert len(test) == 4 and "Split: Test" in repr(test)


def test_cifar_getitem_is_totensor(tmp_path):
    batches = make_batches(seed=1)
    make_tar(tmp_path / "cifar-10-binary.tar.gz", batches)
    ds = CIFAR10(tmp_path, train=False, transform=lambda x: x - 0.5, target_transform=str)
    images, labels = batches["test_batch.bin"]
    for i in range(len(ds)):
        image, label = ds[i]
        assert isinstance(image, nnzoo.Tensor) and image.dtype == nnzoo.float32
        assert tuple(image.shape) == (3, 32, 32)
        np.testing.assert_allclose(image.numpy(), images[i].transpose(2, 0, 1) / np.float32(255) - 0.5,
                                   atol=1e-6)
        assert label == str(labels[i])


def test_cifar_only_takes_the_named_files(tmp_path):
    """Members outside the expected names (here a path that climbs out of the root) are never written."""
    make_tar(tmp_path / "cifar-10-binary.tar.gz", make_batches(),
             extra=[("../escaped.txt", b"x"), ("cifar-10-batches-bin/../../escaped2.txt", b"x")])
    CIFAR10(tmp_path)
    assert not (tmp_path.parent / "escaped.txt").exists() and not (tmp_path.parent / "escaped2.txt").exists()
    assert not (tmp_path / "readme.html").exists()


def test_cifar_archive_errors(tmp_path):
    make_tar(tmp_path / "cifar-10-binary.tar.gz", make_batches(), skip={"data_batch_3.bin"})
    with pytest.raises(RuntimeError, match=r"has no cifar-10-batches-bin/data_batch_3\.bin; is it the binary"):
        CIFAR10(tmp_path)
    other = tmp_path / "cut"
    other.mkdir()
    data = make_tar(tmp_path / "full.tar.gz", make_batches()).read_bytes()
    (other / "cifar-10-binary.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="cannot read the archive"):
        CIFAR10(other)


def test_cifar_truncated_batch(tmp_path):
    make_tar(tmp_path / "cifar-10-binary.tar.gz", make_batches())
    CIFAR10(tmp_path)
    batch = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    batch.write_bytes(batch.read_bytes()[:-5])
    with pytest.raises(ValueError, match="not a whole number of 3073-byte records"):
        CIFAR10(tmp_path, train=False)


def test_cifar_label_beyond_the_classes(tmp_path):
    make_tar(tmp_path / "cifar-10-binary.tar.gz", make_batches(), meta="a\nb\n")
    with pytest.raises(ValueError, match="names only 2 classes"):
        CIFAR10(tmp_path)


def test_cifar_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(RuntimeError) as info:
        CIFAR10(tmp_path)
    msg = str(info.value)
    assert "download=True" in msg and CIFAR10.url in msg and str(tmp_path / "cifar-10-binary.tar.gz") in msg
    assert CIFAR10.tgz_sha256 in msg


def test_cifar_download(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "served.tar.gz", make_batches(seed=2))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR10, "mirrors", [(tmp_path / "nowhere.tar.gz").as_uri(), archive.as_uri()])
    monkeypatch.setattr(CIFAR10, "tgz_sha256", digest)
    monkeypatch.setattr(CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    ds = CIFAR10(tmp_path / "root", download=True)
    assert len(ds) == 15 and (tmp_path / "root" / "cifar-10-binary.tar.gz").is_file()

    monkeypatch.setattr(CIFAR10, "tgz_sha256", "0" * 64)
    with pytest.raises(DownloadError, match=f"expected sha256 {'0' * 64}, got {digest}"):
        CIFAR10(tmp_path / "other", download=True)
    assert not (tmp_path / "other" / "cifar-10-binary.tar.gz").exists()
