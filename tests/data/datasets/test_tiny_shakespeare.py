"""nnzoo.data.datasets.tiny_shakespeare: reading the corpus from the cache and downloading it.

No network: the text is a small stand-in written to tmp_path, and ``download=True`` is pointed at a
``file://`` URL through the module's URL list (monkeypatched).
"""
import hashlib
import importlib

import pytest

from nnzoo.data.datasets.download import DownloadError
from nnzoo.data.datasets.tiny_shakespeare import tiny_shakespeare

# the module (the package's attribute of the same name is the function)
ts = importlib.import_module("nnzoo.data.datasets.tiny_shakespeare")

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def test_reads_the_cached_file(tmp_path):
    folder = tmp_path / "tiny_shakespeare"
    folder.mkdir()
    (folder / "input.txt").write_bytes(TEXT.encode())
    assert tiny_shakespeare(tmp_path) == TEXT


def test_default_root_is_nnzoo_home(tmp_path, monkeypatch):
    (tmp_path / "tiny_shakespeare").mkdir()
    (tmp_path / "tiny_shakespeare" / "input.txt").write_text(TEXT)
    monkeypatch.setenv("NNZOO_HOME", str(tmp_path))
    assert tiny_shakespeare() == TEXT


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(RuntimeError) as info:
        tiny_shakespeare(tmp_path)
    msg = str(info.value)
    assert "download=True" in msg and ts.URLS[0] in msg and ts.SHA256 in msg
    assert str(tmp_path / "tiny_shakespeare" / "input.txt") in msg


def test_download(tmp_path, monkeypatch):
    src = tmp_path / "served.txt"
    src.write_text(TEXT)
    monkeypatch.setattr(ts, "URLS", [(tmp_path / "missing.txt").as_uri(), src.as_uri()])
    monkeypatch.setattr(ts, "SHA256", hashlib.sha256(TEXT.encode()).hexdigest())
    assert tiny_shakespeare(tmp_path / "root", download=True) == TEXT
    assert (tmp_path / "root" / "tiny_shakespeare" / "input.txt").read_text() == TEXT


def test_download_rejects_a_different_file(tmp_path, monkeypatch):
    """The real checksum: a file that is not the corpus fails and is not kept."""
    src = tmp_path / "served.txt"
    src.write_text(TEXT)
    monkeypatch.setattr(ts, "URLS", [src.as_uri()])
    with pytest.raises(DownloadError, match=ts.SHA256):
        tiny_shakespeare(tmp_path / "root", download=True)
    assert not (tmp_path / "root" / "tiny_shakespeare" / "input.txt").exists()
