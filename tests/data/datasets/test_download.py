"""nnzoo.data.datasets.download: nnzoo_home, check_integrity and download.

``download`` is tested against a loopback ``http.server`` on 127.0.0.1 (a thread in this process) and a
closed local port; nothing here touches the network. Expected digests come from ``hashlib`` on the
served bytes.
"""
import hashlib
import http.server
import importlib
import pathlib
import socket
import threading

import pytest

from nnzoo.data.datasets.download import DownloadError, check_integrity, download, nnzoo_home

# the module (the package's attribute of the same name is the function)
dl = importlib.import_module("nnzoo.data.datasets.download")

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes: several reads of the stream
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}  # path -> bytes; "/cut" announces more bytes than it sends
    requests = []

    def do_GET(self):
        type(self).requests.append(self.path)
        if self.path == "/cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:100])
            self.wfile.flush()
            self.close_connection = True
            return
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.routes = {"/good.bin": PAYLOAD, "/corrupt.bin": PAYLOAD[:-1] + b"X"}
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def requests():
    _Handler.requests.clear()
    return _Handler.requests


def _closed_port_url():
    """A URL on 127.0.0.1 whose port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/good.bin"


def _leftovers(folder):
    return [p.name for p in pathlib.Path(folder).iterdir() if p.name.endswith(".part")]


# ---- nnzoo_home -------------------------------------------------------------------------------------
def test_nnzoo_home_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NNZOO_HOME", str(tmp_path / "h"))
    assert nnzoo_home() == tmp_path / "h"
    monkeypatch.delenv("NNZOO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert nnzoo_home() == tmp_path / "xdg" / "nnzoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert nnzoo_home() == tmp_path / "home" / ".cache" / "nnzoo"


# ---- check_integrity --------------------------------------------------------------------------------
def test_check_integrity(tmp_path):
    f = tmp_path / "f.bin"
    assert not check_integrity(f)
    f.write_bytes(PAYLOAD)
    assert check_integrity(f) and check_integrity(f, SHA) and check_integrity(f, md5=MD5)
    assert check_integrity(f, SHA.upper(), MD5.upper())  # hex digits in either case
    assert not check_integrity(f, hashlib.sha256(b"other").hexdigest())
    assert not check_integrity(f, SHA, md5=hashlib.md5(b"other").hexdigest())
    assert not check_integrity(tmp_path)  # a folder is not a file


# ---- download ---------------------------------------------------------------------------------------
def test_download_verifies_and_renames(server, requests, tmp_path):
    target = tmp_path / "sub" / "good.bin"
    assert download(f"{server}/good.bin", target, sha256=SHA, progress=False) == target
    assert target.read_bytes() == PAYLOAD
    assert requests == ["/good.bin"]
    assert _leftovers(target.parent) == []


def test_download_skips_an_intact_file_and_replaces_a_bad_one(server, requests, tmp_path):
    target = tmp_path / "good.bin"
    target.write_bytes(PAYLOAD)
    download(f"{server}/good.bin", target, sha256=SHA, progress=False)
    assert requests == []  # already there with the right checksum: no request
    target.write_bytes(b"stale")
    download(f"{server}/good.bin", target, sha256=SHA, progress=False)
    assert requests == ["/good.bin"] and target.read_bytes() == PAYLOAD


def test_download_progress_bar_counts_bytes(server, tmp_path, monkeypatch):
    seen = {}

    class Bar:
        def update(self, k):
            seen["bytes"] = seen.get("bytes", 0) + k

        def close(self):
            seen["closed"] = True

    def fake_bar(total, desc, enabled):
        seen.update(total=total, desc=desc, enabled=enabled)
        return Bar()

    monkeypatch.setattr(dl, "_progress_bar", fake_bar)
    download(f"{server}/good.bin", tmp_path / "good.bin", sha256=SHA)
    assert seen == {"total": len(PAYLOAD), "desc": "good.bin", "enabled": True, "bytes": len(PAYLOAD),
                    "closed": True}


def test_download_real_tqdm_bar(server, tmp_path, capsys):
    download(f"{server}/good.bin", tmp_path / "good.bin", sha256=SHA, progress=True)
    assert "good.bin" in capsys.readouterr().err  # tqdm writes its bar, named after the file, to stderr
    download(f"{server}/good.bin", tmp_path / "again.bin", sha256=SHA, progress=False)
    assert capsys.readouterr().err == ""


def test_download_tries_mirrors_in_order(server, requests, tmp_path):
    target = tmp_path / "good.bin"
    urls = [f"{server}/missing.bin", _closed_port_url(), f"{server}/corrupt.bin", f"{server}/good.bin",
            f"{server}/never.bin"]
    download(urls, target, sha256=SHA, progress=False)
    assert target.read_bytes() == PAYLOAD
    assert requests == ["/missing.bin", "/corrupt.bin", "/good.bin"]  # stops at the first good mirror


def test_download_checksum_mismatch(server, tmp_path):
    target = tmp_path / "corrupt.bin"
    got = hashlib.sha256(_Handler.routes["/corrupt.bin"]).hexdigest()
    with pytest.raises(DownloadError) as info:
        download(f"{server}/corrupt.bin", target, sha256=SHA, progress=False)
    msg = str(info.value)
    assert SHA in msg and got in msg and f"{server}/corrupt.bin" in msg
    assert not target.exists() and _leftovers(tmp_path) == []


def test_download_md5_mismatch(server, tmp_path):
    target = tmp_path / "good.bin"
    wrong = hashlib.md5(b"other").hexdigest()
    with pytest.raises(DownloadError, match=f"expected md5 {wrong}, got {MD5}"):
        download(f"{server}/good.bin", target, md5=wrong, progress=False)
    assert not target.exists()
    download(f"{server}/good.bin", target, sha256=SHA, md5=MD5, progress=False)  # both right: fine
    assert target.read_bytes() == PAYLOAD


def test_download_unreachable_gives_a_clear_error(tmp_path):
    url = _closed_port_url()
    target = tmp_path / "data" / "good.bin"
    with pytest.raises(DownloadError) as info:
        download(url, target, sha256=SHA, progress=False)
    msg = str(info.value)
    assert url in msg  # which URL failed
    assert "good.bin" in msg and str(target.resolve()) in msg  # the file expected, and where
    assert "by hand" in msg and SHA in msg  # how to place it manually
    assert not target.exists() and _leftovers(target.parent) == []


def test_download_http_error_and_cut_transfer(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(f"{server}/missing.bin", tmp_path / "x.bin", progress=False)
    # the server announces 10,240 bytes and sends 100; without a checksum the length still catches it
    with pytest.raises(DownloadError, match="received 100 of 10240 bytes"):
        download(f"{server}/cut", tmp_path / "cut.bin", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_download_without_checksum_and_from_file_urls(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    target = tmp_path / "dst.bin"
    download(src.as_uri(), target, progress=False)
    assert target.read_bytes() == PAYLOAD


def test_download_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one URL"):
        download([], tmp_path / "x.bin")
    with pytest.raises(DownloadError, match="unknown url type"):
        download("not-a-url", tmp_path / "x.bin", progress=False)
