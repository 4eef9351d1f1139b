"""Vocabularies: tokens <-> integer ids for character- and word-level models, and a word tokenizer.

A :class:`Vocab` holds its special tokens first (``<pad>`` at index 0, then ``<unk>``, ``<bos>``,
``<eos>``; each can be renamed or left out), then the ordinary tokens, most frequent first. It is saved
as a small JSON file (never pickle).
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..autograd.arrays import as_array
from ..creation import tensor as _tensor
from ..io import atomic_write
from ..tensor import Tensor

__all__ = ["Vocab", "word_tokenize"]

# NOTE: a word is a run of letters, with an apostrophe allowed between letters (don't, o'er, ne’er);
# letters are Unicode letters ([^\W\d_] is \w without digits and '_'), so 'février' is one word.
_TOKEN_RE = re.compile(r"""
      [^\W\d_]+(?:['’][^\W\d_]+)*   # a word, apostrophes inside kept
    | \d+(?:[.,]\d+)*               # a number: 42, 3.14, 1,000
    | [^\w\s]                       # one punctuation mark or symbol
    | _
""", re.VERBOSE)

_FORMAT = "nnzoo.Vocab"
_VERSION = 1
_TOKENIZERS = ("char", "word")


def word_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split text into words, numbers and punctuation marks with one regular expression.

    * a word is a run of letters (any alphabet); an apostrophe between two letters stays inside it
      ("don't", "o'er"), one at a word's edge is a token of its own ("'tis" -> "'", "tis");
    * a number is a run of digits, with ``.`` or ``,`` between digits kept ("3.14", "1,000");
      digits next to letters split off ("mp3" -> "mp", "3");
    * every other non-space character is a token of its own ("--" -> "-", "-"; "well-met" ->
      "well", "-", "met");
    * whitespace separates tokens and is dropped.

    Args:
        text (str): the text.
        lower (bool): lower-case the text first.

    Example::

        >>> from nnzoo.data.vocab import word_tokenize
        >>> word_tokenize("I don't know, 'tis 3.5 o'clock!")
        ['I', "don't", 'know', ',', "'", 'tis', '3.5', "o'clock", '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize: expected a str, got {type(text).__name__}")
    return _TOKEN_RE.findall(text.lower() if lower else text)


class Vocab:
    """A vocabulary: special tokens first, then the given tokens; ``stoi``/``itos`` map between them.

    Args:
        tokens: the ordinary tokens, in index order (duplicates and specials among them are skipped).
            Use :meth:`build`, :meth:`chars` or :meth:`words` to count them from data.
        pad, unk, bos, eos (str or None): the special tokens, at indices 0, 1, 2, 3 in that order;
            None leaves one out (the ones after move up). Without ``unk``, encoding an unknown token
            is an error; with it, unknown tokens map to ``unk_index``.
        tokenizer (str): how :meth:`encode` splits a str: ``'char'`` (into characters) or ``'word'``
            (:func:`word_tokenize`). It also sets what :meth:`decode` returns (a str for ``'char'``, a
            token list for ``'word'``).
        lower (bool): lower-case every token on the way in (when building and when encoding).

    Example::

        >>> from nnzoo.data.vocab import Vocab
        >>> v = Vocab.chars("hello world")
        >>> len(v), v.itos[:7]
        (12, ['<pad>', '<unk>', '<bos>', '<eos>', 'l', 'o', ' '])
        >>> ids = v.encode("hold", add_bos=True)
        >>> ids, v.decode(ids, skip_specials=True)
        ([2, 9, 5, 4, 7], 'hold')
    """

    def __init__(self, tokens: Iterable[str] = (), *, pad: str | None = "<pad>", unk: str | None = "<unk>",
                 bos: str | None = "<bos>", eos: str | None = "<eos>", tokenizer: str = "word",
                 lower: bool = False) -> None:
        if tokenizer not in _TOKENIZERS:
            raise ValueError(f"Vocab: tokenizer must be 'char' or 'word', got {tokenizer!r}")
        named = {"pad": pad, "unk": unk, "bos": bos, "eos": eos}
        for role, tok in named.items():
            if tok is not None and not isinstance(tok, str):
                raise TypeError(f"Vocab: the {role} token must be a str or None, got {type(tok).__name__}")
        specials = [t for t in named.values() if t is not None]
        if len(set(specials)) != len(specials):
            raise ValueError(f"Vocab: the special tokens must differ, got {named}")
        self.tokenizer, self.lower = tokenizer, bool(lower)
        self.pad_token, self.unk_token, self.bos_token, self.eos_token = pad, unk, bos, eos
        self.specials = specials
        self.itos = list(specials)
        self.stoi = {t: i for i, t in enumerate(specials)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"Vocab: tokens must be str, got {tok!r} of type {type(tok).__name__}")
            if self.lower:
                tok = tok.lower()
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)
        self.pad_index, self.unk_index, self.bos_index, self.eos_index = (
            None if t is None else self.stoi[t] for t in (pad, unk, bos, eos))

    # ---- building from data ----------------------------------------------------------------------
    @classmethod
    def build(cls, data: Iterable[str | Sequence[str]], min_freq: int = 1, max_size: int | None = None,
              **kwargs: Any) -> Vocab:
        """Count tokens in ``data`` and keep the frequent ones, most frequent first.

        Order: count descending, ties in code-point order of the token (so the vocabulary does not
        depend on the order of the data); specials are never counted.

        Args:
            data: an iterable of tokens (str) or of token sequences (lists/tuples of str), mixed freely.
                A str is one token: tokenize text first (``build(word_tokenize(line) for line in lines)``),
                or use :meth:`chars` / :meth:`words`.
            min_freq (int): keep tokens seen at least this often.
            max_size (int, optional): keep at most this many ordinary tokens (besides the specials).
            **kwargs: the constructor's options (specials, ``tokenizer``, ``lower``).

        Example::

            >>> from nnzoo.data.vocab import Vocab
            >>> v = Vocab.build([["a", "b", "a"], ["c", "a", "b"], ["d"]], min_freq=2)
            >>> v.itos
            ['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'b']
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, (int, np.integer)) or min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be a positive int, got {min_freq!r}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer))
                                     or max_size < 0):
            raise ValueError(f"Vocab.build: max_size must be a non-negative int or None, got {max_size!r}")
        counts = Counter()
        for item in data:
            if isinstance(item, str):
                counts[item] += 1
            elif isinstance(item, (list, tuple)):
                counts.update(item)
            else:
                raise TypeError(f"Vocab.build: expected tokens (str) or lists/tuples of tokens, got "
                                f"{type(item).__name__}")
        for tok in counts:
            if not isinstance(tok, str):
                raise TypeError(f"Vocab.build: tokens must be str, got {tok!r} of type {type(tok).__name__}")
        if kwargs.get("lower"):
            lowered = Counter()
            for tok, n in counts.items():
                lowered[tok.lower()] += n
            counts = lowered
        vocab = cls(**kwargs)
        kept = sorted((t for t, n in counts.items() if n >= min_freq and t not in vocab.stoi),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, **kwargs)

    @classmethod
    def chars(cls, text: str | Iterable[str], min_freq: int = 1, max_size: int | None = None,
              **kwargs: Any) -> Vocab:
        """A character vocabulary of ``text`` (``tokenizer='char'``): :meth:`build` over its characters."""
        if not isinstance(text, str):
            text = "".join(text)  # e.g. a list of lines
        return cls.build(text, min_freq, max_size, tokenizer="char", **kwargs)

    @classmethod
    def words(cls, text: str, min_freq: int = 1, max_size: int | None = None, lower: bool = False,
              **kwargs: Any) -> Vocab:
        """A word vocabulary of ``text`` (``tokenizer='word'``): :meth:`build` over ``word_tokenize(text)``."""
        return cls.build(word_tokenize(text, lower), min_freq, max_size, tokenizer="word", lower=lower, **kwargs)

    # ---- encoding and decoding ------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """Split a str with this vocabulary's tokenizer (characters, or :func:`word_tokenize`)."""
        if self.lower:
            text = text.lower()
        return list(text) if self.tokenizer == "char" else word_tokenize(text)

    def __getitem__(self, token: str) -> int:
        """The id of ``token`` (``unk_index`` for an unknown token; KeyError without an unk token)."""
        i = self.stoi.get(token)
        if i is None:
            i = self.stoi.get(token.lower(), self.unk_index) if self.lower else self.unk_index
        if i is None:
            raise KeyError(f"Vocab: token {token!r} is not in the vocabulary, which has no unk token")
        return i

    def encode(self, tokens: str | Sequence[str], add_bos: bool = False, add_eos: bool = False,
               as_tensor: bool = False) -> list[int] | Tensor:
        """Token ids of a str (split by :meth:`tokenize`) or of a sequence of tokens.

        Args:
            tokens: a str, or a list/tuple of tokens.
            add_bos, add_eos (bool): put ``bos_index`` before / ``eos_index`` after.
            as_tensor (bool): return a 1-D int64 Tensor instead of a list of ints.
        """
        if isinstance(tokens, str):
            tokens = self.tokenize(tokens)
        ids = [self[t] for t in tokens]
        for flag, name, idx in ((add_bos, "bos", self.bos_index), (add_eos, "eos", self.eos_index)):
            if flag and idx is None:
                raise ValueError(f"Vocab.encode: add_{name}=True, but the vocabulary has no {name} token")
        if add_bos:
            ids.insert(0, self.bos_index)
        if add_eos:
            ids.append(self.eos_index)
        return _tensor(np.array(ids, dtype=np.int64)) if as_tensor else ids

    def decode(self, ids: Sequence[int] | np.ndarray | Tensor, skip_specials: bool = False,
               stop_at_eos: bool = False) -> str | list[str] | list[list[str]]:
        """Tokens of ids: a str for a ``'char'`` vocabulary, a list of tokens for a ``'word'`` one.

        Args:
            ids: a 1-D sequence of ints (list, array or tensor); a 2-D one decodes row by row into a list.
            skip_specials (bool): drop every special token (pad, unk, bos, eos).
            stop_at_eos (bool): stop at the first eos (which is dropped).
        """
        arr = as_array(ids)
        if arr.ndim == 2:
            return [self.decode(row, skip_specials, stop_at_eos) for row in arr]
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"Vocab.decode: expected a 1-D or 2-D sequence of ints, got shape {arr.shape} "
                             f"and dtype {arr.dtype}")
        bad = (arr < 0) | (arr >= len(self.itos))
        if bad.any():
            raise IndexError(f"Vocab.decode: id {int(arr[np.argmax(bad)])} is out of range for a vocabulary of "
                             f"{len(self.itos)} tokens")
        ids = arr.tolist()
        if stop_at_eos and self.eos_index in ids:
            ids = ids[:ids.index(self.eos_index)]
        n_special = len(self.specials)  # NOTE: the specials are exactly ids 0 .. n_special - 1
        tokens = [self.itos[i] for i in ids if not (skip_specials and i < n_special)]
        return "".join(tokens) if self.tokenizer == "char" else tokens

    # ---- container protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and (token in self.stoi or (self.lower and token.lower() in self.stoi))

    def __iter__(self) -> Iterator[str]:
        return iter(self.itos)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self._config() == other._config()

    __hash__ = None  # mutable-looking container: equality by content, no hash

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, tokenizer={self.tokenizer!r}, specials={self.specials})"

    # ---- JSON files ---------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": _VERSION, "tokenizer": self.tokenizer, "lower": self.lower,
                "specials": {"pad": self.pad_token, "unk": self.unk_token, "bos": self.bos_token,
                             "eos": self.eos_token},
                "itos": self.itos}

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary to ``path`` as UTF-8 JSON, atomically (temporary file + ``os.replace``:
        a crash leaves any previous file intact, as ``nnzoo.save`` does)."""
        atomic_write(path, json.dumps(self._config(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`.

        Example::

            >>> from nnzoo.data.vocab import Vocab
            >>> v = Vocab.words("To be, or not to be", lower=True)
            >>> v.save("vocab.json")
            >>> Vocab.load("vocab.json") == v
            True
        """
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        if not isinstance(cfg, dict) or cfg.get("format") != _FORMAT:
            raise ValueError(f"Vocab.load: {os.fspath(path)!r} is not a vocabulary file written by Vocab.save")
        if cfg.get("version") != _VERSION:
            raise ValueError(f"Vocab.load: {os.fspath(path)!r} has format version {cfg.get('version')}, "
                             f"this nnzoo reads version {_VERSION}")
        specials = cfg["specials"]
        n = sum(t is not None for t in specials.values())
        vocab = cls(cfg["itos"][n:], tokenizer=cfg["tokenizer"], lower=cfg["lower"], **specials)
        if vocab.itos != cfg["itos"]:
            raise ValueError(f"Vocab.load: {os.fspath(path)!r} is inconsistent (its specials do not lead its "
                             "token list, or tokens repeat)")
        return vocab
