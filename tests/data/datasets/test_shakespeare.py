"""The bundled Shakespeare corpus: 42 works, the 90/5/5 per-work split, exact text, choosing works."""
import importlib
import os
import time
import zipfile

import pytest

from nnzoo.data.datasets.shakespeare import SEPARATOR, shakespeare, shakespeare_works
from nnzoo.data.vocab import word_tokenize

SOURCE = "/work/shared/data/shakespeare"
PARTS = ("train", "valid", "test")
# NOTE: the module itself, whatever nnzoo.data.datasets.shakespeare (module or function) is bound to
mod = importlib.import_module("nnzoo.data.datasets.shakespeare")


def test_42_works_load_quickly():
    mod._texts.cache_clear()
    t = time.perf_counter()
    names = shakespeare_works()
    text = shakespeare("all")
    assert time.perf_counter() - t < 1.0
    assert len(names) == 42 and names == sorted(names) and "hamlet" in names and "sonnets" in names
    t = time.perf_counter()
    shakespeare("train")  # from the in-memory cache
    assert time.perf_counter() - t < 0.2
    assert text == SEPARATOR.join(mod._texts()[n] for n in names)


@pytest.mark.skipif(not os.path.isdir(SOURCE), reason="the source corpus is not on this machine")
def test_bundled_text_is_the_source_byte_for_byte():
    files = sorted(f for f in os.listdir(SOURCE) if f.endswith(".txt"))
    assert [os.path.splitext(f)[0] for f in files] == shakespeare_works()
    for f in files:
        with open(os.path.join(SOURCE, f), encoding="ascii", newline="") as fh:
            assert shakespeare("all", works=os.path.splitext(f)[0]) == fh.read(), f


def test_splits_partition_every_work_about_90_5_5():
    for name in shakespeare_works():
        pieces = [shakespeare(s, works=name) for s in PARTS]
        whole = shakespeare("all", works=name)
        assert "".join(pieces) == whole, name  # disjoint, contiguous, nothing lost
        # each cut is at a line start, moved at most one line past its nominal position
        longest_line = max(len(line) for line in whole.split("\n")) + 1
        for piece, share in zip(pieces, (0.90, 0.05, 0.05)):
            assert abs(len(piece) - share * len(whole)) <= longest_line + 1, name
        assert pieces[0].endswith("\n") and pieces[1].endswith("\n")


def test_split_of_several_works_joins_their_pieces_in_the_given_order():
    works = ["sonnets", "hamlet", "macbeth"]
    for s in PARTS:
        assert shakespeare(s, works=works) == SEPARATOR.join(shakespeare(s, works=w) for w in works)
    total = sum(len(shakespeare(s)) for s in PARTS)
    assert total == len(shakespeare("all")) + 2 * (len(shakespeare_works()) - 1) * len(SEPARATOR)
    assert shakespeare("val", works="hamlet") == shakespeare("valid", works="hamlet")


def test_word_level_is_word_tokenize_of_the_text():
    for s in PARTS:
        assert shakespeare(s, works="macbeth", level="word") == word_tokenize(shakespeare(s, works="macbeth"))
    # cuts fall on line starts, so tokenizing the pieces equals tokenizing the whole work
    pieces = [t for s in PARTS for t in shakespeare(s, works="tempest", level="word")]
    assert pieces == shakespeare("all", works="tempest", level="word")


def test_bad_arguments():
    with pytest.raises(ValueError, match="did you mean hamlet"):
        shakespeare(works="hamlt")
    with pytest.raises(ValueError, match="split"):
        shakespeare("dev")
    with pytest.raises(ValueError, match="level"):
        shakespeare(level="byte")
    with pytest.raises(ValueError, match="empty"):
        shakespeare(works=[])


@pytest.mark.skipif(not os.path.isdir(SOURCE), reason="the source corpus is not on this machine")
def test_build_archive_reproduces_the_bundled_files(tmp_path):
    data = os.path.join(os.path.dirname(mod.__file__), "_data", "shakespeare")
    try:
        assert mod.build_archive(SOURCE, str(tmp_path)) == 42
    finally:
        mod._texts.cache_clear()
    for name in ("shakespeare.zip", "SOURCE.md"):
        with open(tmp_path / name, "rb") as a, open(os.path.join(data, name), "rb") as b:
            assert a.read() == b.read(), name
    with zipfile.ZipFile(tmp_path / "shakespeare.zip") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_LZMA}
    with open(os.path.join(SOURCE, "SOURCE.md"), encoding="utf-8") as f:
        assert (tmp_path / "SOURCE.md").read_text(encoding="utf-8").startswith(f.read())
