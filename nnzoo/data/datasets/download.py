"""Downloads with checksums and a cache: ``nnzoo_home``, ``download``, ``check_integrity``.

Every file a dataset downloads is streamed to a temporary file next to its target, its SHA-256 (and, where
only an MD5 is published, its MD5) is checked, and only then is it renamed onto the target with
``os.replace``. An interrupted or corrupted download therefore never leaves a file under the expected
name: the next run simply downloads it again. Files that are already present with the right checksum are
not downloaded twice.

Without network access, put the file under the path the error message names (``nnzoo_home()`` is the
cache root, ``$NNZOO_HOME`` moves it) and the loader uses it as is.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import pathlib
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["nnzoo_home", "download", "check_integrity", "DownloadError"]

_CHUNK = 1 << 20  # bytes read per step while downloading and hashing
_TIMEOUT = 30  # seconds without an answer before a mirror counts as unreachable
_USER_AGENT = "nnzoo"  # some servers refuse Python's default user agent


class DownloadError(RuntimeError):
    """No mirror delivered the file (offline, a dead URL, or a checksum mismatch)."""


def nnzoo_home() -> pathlib.Path:
    """The root of nnzoo's download cache: ``$NNZOO_HOME``, else ``$XDG_CACHE_HOME/nnzoo``, else
    ``~/.cache/nnzoo`` (the folder is not created here).

    Returns:
        pathlib.Path

    Example::

        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"NNZOO_HOME": "/tmp/nnzoo-data"}):
        ...     print(nnzoo_home())
        /tmp/nnzoo-data
    """
    home = os.environ.get("NNZOO_HOME")
    if home:
        return pathlib.Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg).expanduser() if xdg else pathlib.Path("~/.cache").expanduser()
    return base / "nnzoo"


def _file_digest(path, algorithm):
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_integrity(path: str | os.PathLike, sha256: str | None = None, md5: str | None = None) -> bool:
    """Whether ``path`` is an existing file whose digests match the ones given (with no digest given, only
    that it exists).

    Args:
        path (str or Path): the file.
        sha256 (str, optional): the expected SHA-256, hex.
        md5 (str, optional): the expected MD5, hex.

    Example::

        >>> import hashlib, pathlib
        >>> _ = pathlib.Path("a.txt").write_bytes(b"abc")
        >>> check_integrity("a.txt", hashlib.sha256(b"abc").hexdigest())
        True
        >>> check_integrity("a.txt", "0" * 64), check_integrity("missing.txt")
        (False, False)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return False
    if sha256 is not None and _file_digest(path, "sha256") != sha256.lower():
        return False
    if md5 is not None and _file_digest(path, "md5") != md5.lower():
        return False
    return True


def _progress_bar(total, desc, enabled):
    """A tqdm bar counting bytes, or ``None`` when disabled or tqdm is not installed."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional extra: download silently without it
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)


def _fetch(url, target, sha256, md5, progress):
    """Stream ``url`` into a temporary file beside ``target``, check it, rename it onto ``target``.

    Raises ``urllib.error.URLError``/``OSError`` when the mirror fails and ``DownloadError`` on a checksum
    mismatch; in every failure the temporary file is removed.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _progress_bar(total, target.name, progress)
            received = 0
            try:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    received += len(chunk)
                    out.write(chunk)
                    for h in hashes.values():
                        h.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
            # NOTE: response.read(n) returns b"" when the server closes early (no IncompleteRead), so a
            # transfer cut short is caught here, by comparing with the announced Content-Length
            if total is not None and received != total:
                raise DownloadError(f"transfer cut short: received {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        for name, want in (("sha256", sha256), ("md5", md5)):
            got = hashes[name].hexdigest()
            if want is not None and got != want.lower():
                raise DownloadError(f"checksum mismatch: expected {name} {want.lower()}, got {got} "
                                    "(the downloaded file was removed)")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise


def download(url: str | os.PathLike | Sequence[str | os.PathLike], path: str | os.PathLike, sha256: str | None = None,
             progress: bool = True, *, md5: str | None = None) -> pathlib.Path:
    """Download ``url`` to ``path`` (atomically, checksum-verified), unless ``path`` is already there and
    intact. Several URLs are mirrors, tried in order until one delivers a file with the right checksum.

    Args:
        url (str or list of str): the URL, or mirrors of the same file in order of preference.
        path (str or Path): where the file goes; its folder is created if needed.
        sha256 (str, optional): the expected SHA-256 (hex); a mismatch is an error and the bad file is
            removed. Without a checksum, an existing file is trusted and a download is not verified.
        progress (bool): show a tqdm progress bar (bytes) while downloading. Default: True.
        md5 (str, optional): an expected MD5 too, for sources that publish only MD5.

    Returns:
        pathlib.Path: ``path``.

    Raises:
        DownloadError: when no mirror delivers the file. The message names every URL tried and why it
            failed, the file expected, and how to put it in place by hand.

    Example::

        >>> import hashlib, pathlib
        >>> src = pathlib.Path("src.bin"); _ = src.write_bytes(b"payload")
        >>> digest = hashlib.sha256(b"payload").hexdigest()
        >>> download(src.resolve().as_uri(), "cache/dst.bin", sha256=digest, progress=False)
        PosixPath('cache/dst.bin')
        >>> pathlib.Path("cache/dst.bin").read_bytes()
        b'payload'
    """
    path = pathlib.Path(path)
    urls = [url] if isinstance(url, (str, os.PathLike)) else list(url)
    if not urls:
        raise ValueError("download: give at least one URL")
    if path.exists() and check_integrity(path, sha256, md5):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for u in urls:
        u = os.fspath(u)
        try:
            _fetch(u, path, sha256, md5, progress)
            return path
        except DownloadError as e:
            failures.append(f"  {u}: {e}")
        # offline, HTTP errors, timeouts, a connection cut mid-transfer (IncompleteRead), malformed URLs
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
            reason = e if isinstance(e, urllib.error.HTTPError) else getattr(e, "reason", e)
            failures.append(f"  {u}: {type(e).__name__}: {reason!s}")
    digest = f" (sha256 {sha256})" if sha256 else (f" (md5 {md5})" if md5 else "")
    raise DownloadError(
        f"download: could not download {path.name}{digest}; every URL failed:\n" + "\n".join(failures) +
        f"\nWithout network access, download the file by hand from one of these URLs and place it at\n"
        f"  {path.resolve()}\n(the cache root is {nnzoo_home()}; set NNZOO_HOME to move it).")
