"""Tiny Shakespeare: the 1,115,394-character corpus of Karpathy's char-rnn (``data/tinyshakespeare/input.txt``).

About 40,000 lines from a selection of Shakespeare's plays, the classic character-level language-model
corpus (Karpathy, "The Unreasonable Effectiveness of Recurrent Neural Networks", 2015). The text is in the
public domain. It is plain ASCII text, so characters and bytes coincide.
"""
from __future__ import annotations

import os
import pathlib

from .download import download as _download
from .download import nnzoo_home

__all__ = ["tiny_shakespeare"]

URLS = [
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    "https://raw.githubusercontent.com/jcjohnson/torch-rnn/master/data/tiny-shakespeare.txt",  # same bytes
]
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
FILENAME = "input.txt"
NUM_CHARS = 1_115_394


def tiny_shakespeare(root: str | os.PathLike | None = None, download: bool = False) -> str:
    """Tiny Shakespeare, char-rnn's 1,115,394-character corpus, as one string (downloaded once).

    The file is ``root/tiny_shakespeare/input.txt``; a download is checked against its SHA-256.

    Args:
        root (str or Path, optional): the data root. Default: ``nnzoo_home()``.
        download (bool): download the file (checksum-verified) if it is missing. Default: False.

    Returns:
        str: the whole text (1,115,394 characters for the real file). Splitting it is the caller's.

    Example::

        >>> folder = pathlib.Path("data/tiny_shakespeare"); folder.mkdir(parents=True)
        >>> _ = (folder / "input.txt").write_text("First Citizen:\\nBefore we proceed any further, hear me speak.\\n")
        >>> text = tiny_shakespeare("data")
        >>> text.splitlines()[0], len(set(text)) > 10
        ('First Citizen:', True)
    """
    root = pathlib.Path(root).expanduser() if root is not None else nnzoo_home()
    path = root / "tiny_shakespeare" / FILENAME
    if download and not path.is_file():
        _download(URLS, path, sha256=SHA256)
    if not path.is_file():
        raise RuntimeError(
            f"tiny_shakespeare: {path} not found. Pass download=True to fetch it, or, offline, download\n"
            f"  {URLS[0]}\n(sha256 {SHA256}, {NUM_CHARS} bytes) by hand and place it at {path}")
    return path.read_text(encoding="utf-8")
