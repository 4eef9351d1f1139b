"""nnzoo.data.datasets.mnist: the IDX reader/writer and the MNIST / FashionMNIST datasets.

The files are small fakes written in the exact IDX format by an independent ``struct`` encoder below
(LeCun's spec: magic 0x0000TTDD, big-endian uint32 sizes, big-endian values). Expected values come from
the NumPy arrays the fakes were made from. No network: ``download=True`` is pointed at ``file://`` URLs.
"""
import gzip
import hashlib
import struct

import numpy as np
import pytest

import nnzoo
from nnzoo.data.datasets.download import DownloadError
from nnzoo.data.datasets.mnist import MNIST, FashionMNIST, read_idx, write_idx

CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
         np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


def idx_bytes(arr):
    """The IDX encoding of ``arr``, written from the spec with struct (independent of nnzoo)."""
    arr = np.asarray(arr)
    head = struct.pack(">BBBB", 0, 0, CODES[arr.dtype], arr.ndim)
    head += b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def make_split(rng, n):
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_raw(folder, train, test, compress=True):
    """Write the four files of a (fake) MNIST into ``folder``; returns {file name: bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, arr in zip(FILES, [train[0], train[1], test[0], test[1]]):
        body = idx_bytes(arr)
        fname = name + (".gz" if compress else "")
        data = gzip.compress(body, mtime=0) if compress else body
        (folder / fname).write_bytes(data)
        written[fname] = data
    return written


@pytest.fixture
def fake(tmp_path):
    rng = np.random.default_rng(0)
    train, test = make_split(rng, 7), make_split(rng, 3)
    write_raw(tmp_path / "MNIST" / "raw", train, test)
    return tmp_path, train, test


# ---- read_idx / write_idx ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (0, 3)])
def test_read_idx_all_types(tmp_path, dtype, shape):
    rng = np.random.default_rng(1)
    arr = (rng.standard_normal(shape) * 100).astype(dtype)
    (tmp_path / "a.idx").write_bytes(idx_bytes(arr))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    for name in ("a.idx", "a.idx.gz"):
        got = read_idx(tmp_path / name)
        assert got.dtype == dtype and got.dtype.isnative and got.shape == shape
        np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("dtype", list(CODES))
def test_write_idx_matches_the_spec(tmp_path, dtype):
    arr = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", arr)
    assert (tmp_path / "a.idx").read_bytes() == idx_bytes(arr)
    write_idx(tmp_path / "a.idx.gz", nnzoo.from_numpy(arr))  # a Tensor works too
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == idx_bytes(arr)


def test_write_idx_rejects_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="write_idx: IDX cannot hold dtype int64"):
        write_idx(tmp_path / "a.idx", np.arange(3))


def test_read_idx_errors(tmp_path):
    good = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))
    cases = {
        "bad magic": (b"\x00\x01" + good[2:], "bad magic number"),
        "unknown type": (b"\x00\x00\x07" + good[3:], "bad magic number"),
        "too short": (good[:3], "too short"),
        "cut header": (good[:8], "truncated header"),
        "cut data": (good[:-1], r"truncated: the header says shape \(3, 4\) of uint8 = 12 data bytes, the file "
                                r"holds 11"),
        "trailing": (good + b"\x00", "trailing bytes"),
        "cut gzip": (gzip.compress(good)[:-10], "corrupt or truncated gzip"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.idx"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            read_idx(path)


# ---- MNIST ------------------------------------------------------------------------------------------
def test_mnist_loads_both_splits(fake):
    root, train, test = fake
    for split, (images, labels) in ((True, train), (False, test)):
        ds = MNIST(root, train=split)
        assert len(ds) == len(labels)
        assert ds.data.dtype == nnzoo.uint8 and tuple(ds.data.shape) == (len(labels), 28, 28)
        assert ds.targets.dtype == nnzoo.int64
        np.testing.assert_array_equal(ds.data.numpy(), images)
        np.testing.assert_array_equal(ds.targets.numpy(), labels)


def test_mnist_getitem_is_totensor(fake):
    root, (images, labels), _ = fake
    ds = MNIST(root)
    for i in (0, 3, -1):
        image, label = ds[i]
        assert isinstance(image, nnzoo.Tensor) and image.dtype == nnzoo.float32
        assert tuple(image.shape) == (1, 28, 28)
        np.testing.assert_allclose(image.numpy()[0], images[i] / np.float32(255), rtol=0, atol=1e-7)
        assert type(label) is int and label == labels[i]
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0


def test_mnist_transforms(fake):
    root, (images, labels), _ = fake
    ds = MNIST(root, transform=lambda x: x * 2 - 1, target_transform=lambda y: y + 100)
    image, label = ds[2]
    np.testing.assert_allclose(image.numpy()[0], images[2] / np.float32(255) * 2 - 1, atol=1e-6)
    assert label == labels[2] + 100
    assert "Transform" in repr(ds) and "Number of datapoints: 7" in repr(ds)


def test_mnist_follows_a_reassigned_data(fake):
    """The torchvision habit of shrinking a set by assigning ``ds.data``/``ds.targets`` works."""
    root, (_images, labels), _ = fake
    ds = MNIST(root)
    ds.data, ds.targets = ds.data[:2], ds.targets[:2]
    assert len(ds) == 2 and ds[1][1] == labels[1]


def test_mnist_reads_uncompressed_files(tmp_path):
    rng = np.random.default_rng(2)
    train, test = make_split(rng, 4), make_split(rng, 2)
    write_raw(tmp_path / "MNIST" / "raw", train, test, compress=False)  # torchvision's extracted copies
    np.testing.assert_array_equal(MNIST(tmp_path, train=False).data.numpy(), test[0])


def test_mnist_classes():
    assert len(MNIST.classes) == 10 and MNIST.classes[3] == "3 - three"
    assert FashionMNIST.classes[9] == "Ankle boot" and len(FashionMNIST.classes) == 10


def test_fashion_mnist_uses_its_own_folder(tmp_path):
    rng = np.random.default_rng(3)
    train, test = make_split(rng, 5), make_split(rng, 2)
    write_raw(tmp_path / "FashionMNIST" / "raw", train, test)
    ds = FashionMNIST(tmp_path)
    np.testing.assert_array_equal(ds.targets.numpy(), train[1])
    assert ds.class_to_idx["Trouser"] == 1
    with pytest.raises(RuntimeError, match="MNIST: dataset not found"):
        MNIST(tmp_path)  # MNIST looks in MNIST/raw, which is empty


def test_mnist_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path)
    msg = str(info.value)
    assert "download=True" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert MNIST.mirrors[0] + "train-images-idx3-ubyte.gz" in msg


def test_mnist_default_root_is_nnzoo_home(fake, monkeypatch):
    root, train, _ = fake
    monkeypatch.setenv("NNZOO_HOME", str(root))
    np.testing.assert_array_equal(MNIST().targets.numpy(), train[1])


@pytest.mark.parametrize("bad", ["shape", "count", "label"])
def test_mnist_validates_contents(tmp_path, bad):
    rng = np.random.default_rng(4)
    (images, labels), test = make_split(rng, 4), make_split(rng, 2)
    if bad == "shape":
        images = images[:, :27]
    elif bad == "count":
        labels = labels[:3]
    else:
        labels[1] = 10
    write_raw(tmp_path / "MNIST" / "raw", (images, labels), test)
    with pytest.raises(ValueError, match="MNIST: "):
        MNIST(tmp_path)


def test_mnist_download_from_mirrors(tmp_path, monkeypatch):
    """download=True fetches the four files in order of the mirrors and checks their SHA-256 and MD5."""
    rng = np.random.default_rng(5)
    train, test = make_split(rng, 6), make_split(rng, 2)
    written = write_raw(tmp_path / "server", train, test)
    resources = [(f, hashlib.sha256(b).hexdigest(), hashlib.md5(b).hexdigest()) for f, b in written.items()]
    dead = (tmp_path / "dead").as_uri() + "/"  # a folder that does not exist: the first mirror fails
    monkeypatch.setattr(MNIST, "mirrors", [dead, (tmp_path / "server").as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    ds = MNIST(tmp_path / "root", download=True)
    np.testing.assert_array_equal(ds.data.numpy(), train[0])
    assert sorted(p.name for p in (tmp_path / "root" / "MNIST" / "raw").iterdir()) == sorted(written)

    bad = [(f, "0" * 64, md5) for f, _, md5 in resources]
    monkeypatch.setattr(MNIST, "resources", bad)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        MNIST(tmp_path / "other", download=True)
    assert not any((tmp_path / "other" / "MNIST" / "raw").iterdir())


def test_mnist_resource_table_is_well_formed():
    """Each class lists the four files once, with a SHA-256 and an MD5 in hex."""
    for cls in (MNIST, FashionMNIST):
        assert [f for f, _, _ in cls.resources] == [f + ".gz" for f in FILES]
        for _, sha, md5 in cls.resources:
            assert len(sha) == 64 and len(md5) == 32 and int(sha, 16) >= 0 and int(md5, 16) >= 0
        assert all(m.endswith("/") for m in cls.mirrors)


def _flat_copy(tmp_path, n=5):
    """A flat folder with the four files of a small fake Fashion-MNIST, and the content digests it has."""
    digests = {}
    for split, count in (("train", n), ("t10k", 2)):
        for kind, arr in (("images", np.full((count, 28, 28), 7, np.uint8)),
                          ("labels", np.arange(count, dtype=np.uint8) % 10)):
            write_idx(tmp_path / f"{split}-{kind}-idx3-ubyte.gz".replace("labels-idx3", "labels-idx1"), arr)
    for f in tmp_path.iterdir():
        digests[f.name.removesuffix(".gz")] = hashlib.md5(gzip.decompress(f.read_bytes())).hexdigest()
    return digests


def test_fashion_mnist_reads_a_flat_copy_checked_by_content_digest(tmp_path, monkeypatch):
    digests = _flat_copy(tmp_path)
    monkeypatch.setattr(FashionMNIST, "content_md5", digests)
    ds = FashionMNIST(tmp_path, train=True)
    assert ds.raw_folder == tmp_path and len(ds) == 5 and len(FashionMNIST(tmp_path, train=False)) == 2
    # the same content compressed differently (as the Debian packaging did) passes: the digest is of the content
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(gzip.decompress(f.read_bytes()), compresslevel=1, mtime=123))
    assert len(FashionMNIST(tmp_path)) == 5


def test_fashion_mnist_flat_copy_with_other_content_is_refused(tmp_path, monkeypatch):
    digests = _flat_copy(tmp_path)
    monkeypatch.setattr(FashionMNIST, "content_md5", {**digests, "train-images-idx3-ubyte": "0" * 32})
    with pytest.raises(RuntimeError, match="decompressed content has MD5"):
        FashionMNIST(tmp_path)
    # MNIST has no content digests: a flat copy cannot be checked, so it is refused, naming where to put it
    _flat_copy(tmp_path)
    with pytest.raises(RuntimeError, match="no content digest"):
        MNIST(tmp_path)


def test_fashion_mnist_root_finds_a_copy_or_says_where_it_looked(tmp_path, monkeypatch):
    _flat_copy(tmp_path)
    monkeypatch.setenv("NNZOO_FASHION_MNIST", str(tmp_path))
    assert nnzoo.data.datasets.fashion_mnist_root() == tmp_path
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="NNZOO_FASHION_MNIST"):
        nnzoo.data.datasets.fashion_mnist_root(empty)


def test_fashion_mnist_shared_copy_is_the_dataset():
    """The real dataset where this checkout has it (../shared/data): its digests hold and its sizes are right."""
    try:
        root = nnzoo.data.datasets.fashion_mnist_root()
    except FileNotFoundError:
        pytest.skip("no Fashion-MNIST copy on this machine")
    test = FashionMNIST(root, train=False)
    assert tuple(test.data.shape) == (10000, 28, 28) and np.bincount(test.targets.numpy()).tolist() == [1000] * 10
