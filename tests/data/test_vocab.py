"""nnzoo.data.vocab: round trips, counting rules against a Counter reference, JSON files, the tokenizer."""
import json
import os
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnzoo
from nnzoo.data.vocab import Vocab, word_tokenize

TEXT = ("To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer "
        "The slings and arrows of outrageous fortune, or to take arms against a sea of troubles.")
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]


# ---- word_tokenize ---------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_word_tokenize_keeps_every_non_space_character_in_order(text):
    tokens = word_tokenize(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert "".join(tokens) == re.sub(r"\s", "", text)


def test_word_tokenize_rules():
    # the rules stated in the docstring, one case each
    assert word_tokenize("don't o'er ne’er") == ["don't", "o'er", "ne’er"]  # apostrophes inside words
    assert word_tokenize("'tis lovers'") == ["'", "tis", "lovers", "'"]  # at the edges: own tokens
    assert word_tokenize("3.14 1,000 42.") == ["3.14", "1,000", "42", "."]  # numbers
    assert word_tokenize("mp3 well-met!?") == ["mp", "3", "well", "-", "met", "!", "?"]
    assert word_tokenize("février Straße") == ["février", "Straße"]  # any alphabet
    assert word_tokenize("Hello World", lower=True) == ["hello", "world"]
    with pytest.raises(TypeError, match="str"):
        word_tokenize(["a"])


# ---- building --------------------------------------------------------------------------------------
def _reference_order(tokens, min_freq=1, max_size=None):
    counts = Counter(tokens)
    kept = [t for t in sorted(counts, key=lambda t: (-counts[t], t)) if counts[t] >= min_freq]
    return kept if max_size is None else kept[:max_size]


@pytest.mark.parametrize("min_freq, max_size", [(1, None), (2, None), (1, 5), (3, 2), (1, 0)])
def test_build_counts_like_a_counter(min_freq, max_size):
    tokens = word_tokenize(TEXT, lower=True)
    v = Vocab.build(tokens, min_freq=min_freq, max_size=max_size)
    assert v.itos == SPECIALS + _reference_order(tokens, min_freq, max_size)
    assert v.pad_index == 0 and len(v) == len(v.itos) == len(v.stoi)
    assert all(v.stoi[t] == i for i, t in enumerate(v.itos))


def test_build_takes_tokens_or_token_sequences_and_ignores_data_order():
    lines = [word_tokenize(line) for line in TEXT.split(",")]
    flat = [t for line in lines for t in line]
    v = Vocab.build(lines)
    assert v == Vocab.build(flat) == Vocab.build(reversed(flat))
    assert v == Vocab.build([lines[0], *flat[len(lines[0]):]])  # mixed: a list, then single tokens
    with pytest.raises(TypeError, match="int"):
        Vocab.build([1, 2])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(flat, min_freq=0)


def test_specials_are_configurable():
    v = Vocab.build("abcab", pad="[PAD]", unk=None, bos=None, eos="[EOS]")
    assert v.itos[:2] == ["[PAD]", "[EOS]"] and v.specials == ["[PAD]", "[EOS]"]
    assert (v.pad_index, v.unk_index, v.bos_index, v.eos_index) == (0, None, None, 1)
    v = Vocab.build("abcab", pad=None)
    assert v.itos[:3] == ["<unk>", "<bos>", "<eos>"] and v.pad_index is None
    with pytest.raises(ValueError, match="differ"):
        Vocab(pad="<x>", unk="<x>")
    # a token equal to a special is not counted twice
    assert Vocab.build(["<eos>", "a"]).itos == SPECIALS + ["a"]


def test_lower_applies_on_the_way_in():
    v = Vocab.words("The the THE cat", lower=True)
    assert v.itos == SPECIALS + ["the", "cat"]
    assert v.encode("THE Cat") == [v.stoi["the"], v.stoi["cat"]]
    assert "CAT" in v and "dog" not in v


# ---- encoding and decoding -------------------------------------------------------------------------
def test_char_round_trip():
    v = Vocab.chars(TEXT)
    assert set(v.itos[4:]) == set(TEXT) and v.tokenizer == "char"
    ids = v.encode(TEXT)
    assert ids == [v.stoi[c] for c in TEXT]
    assert v.decode(ids) == TEXT
    t = v.encode(TEXT, as_tensor=True)
    assert t.dtype == nnzoo.int64 and t.tolist() == ids
    assert v.decode(t) == TEXT


def test_word_round_trip_and_unknowns():
    v = Vocab.words(TEXT)
    tokens = word_tokenize(TEXT)
    assert v.decode(v.encode(TEXT)) == tokens
    assert v.decode(v.encode(tokens)) == tokens
    ids = v.encode("to be a zebra")
    assert ids[-1] == v.unk_index and "zebra" not in v and v["zebra"] == v.unk_index
    assert v.decode(ids) == ["to", "be", "a", "<unk>"]
    no_unk = Vocab.words(TEXT, unk=None)
    with pytest.raises(KeyError, match="zebra"):
        no_unk.encode("a zebra")


def test_bos_eos_and_decode_options():
    v = Vocab.chars("abc")
    ids = v.encode("abc", add_bos=True, add_eos=True)
    assert ids == [v.bos_index] + v.encode("abc") + [v.eos_index]
    assert v.decode(ids) == "<bos>abc<eos>"
    assert v.decode(ids, skip_specials=True) == "abc"
    tail = ids + v.encode("cab") + [v.pad_index] * 2
    assert v.decode(tail, stop_at_eos=True) == "<bos>abc"
    assert v.decode(tail, stop_at_eos=True, skip_specials=True) == "abc"
    assert v.decode(tail, skip_specials=True) == "abccab"
    batch = np.array([v.encode("ab"), v.encode("ca")])
    assert v.decode(nnzoo.tensor(batch)) == ["ab", "ca"]
    with pytest.raises(IndexError, match="out of range"):
        v.decode([len(v)])
    with pytest.raises(ValueError, match="eos"):
        Vocab.chars("abc", eos=None).encode("a", add_eos=True)


# ---- JSON files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: Vocab.chars(TEXT + "éß’"),
                                  lambda: Vocab.words(TEXT, lower=True, min_freq=2, bos=None, pad="_")])
def test_json_round_trip(make, tmp_path):
    v = make()
    path = tmp_path / "vocab.json"
    v.save(path)
    w = Vocab.load(path)
    assert w == v and w.itos == v.itos and w.tokenizer == v.tokenizer and w.lower == v.lower
    assert (w.pad_index, w.unk_index, w.bos_index, w.eos_index) == \
        (v.pad_index, v.unk_index, v.bos_index, v.eos_index)
    assert json.loads(path.read_text(encoding="utf-8"))["itos"] == v.itos  # plain JSON, readable anywhere
    assert os.listdir(tmp_path) == ["vocab.json"]  # the temporary file was renamed away


def test_save_replaces_atomically_and_load_rejects_other_files(tmp_path):
    path = tmp_path / "v.json"
    Vocab.chars("abc").save(path)
    Vocab.chars("xyz").save(path)
    assert Vocab.load(path) == Vocab.chars("xyz")
    (tmp_path / "other.json").write_text(json.dumps({"itos": ["a"]}))
    with pytest.raises(ValueError, match="not a vocabulary file"):
        Vocab.load(tmp_path / "other.json")
    with pytest.raises(FileNotFoundError):
        Vocab.chars("abc").save(tmp_path / "missing_dir" / "v.json")
    assert sorted(os.listdir(tmp_path)) == ["other.json", "v.json"]
