"""Word corpora as sentences of tokens, for word embeddings: gensim's ``LineSentence`` format, WikiText-2, Shakespeare.

A sentence is a list of str tokens; a corpus is a list of sentences. word2vec's windows never cross a sentence's
end, so what a sentence is matters: a line of a ``LineSentence`` file, a paragraph of WikiText-2 (one line of its
files), a speech of Shakespeare (a paragraph between blank lines).

WikiText-2 (Merity et al. 2016, CC BY-SA) is not shipped with nnzoo: :func:`wikitext2_sentences` reads its raw
``valid.txt``/``test.txt`` from a folder (``root``, else ``$NNZOO_WIKITEXT2``, else ``../shared/data/wikitext-2``
beside the source tree), whose ``SOURCE.md`` holds the attribution.

Example::

    >>> from nnzoo.data.text import shakespeare_sentences
    >>> shakespeare_sentences(works="sonnets")[2][:6]
    ['from', 'fairest', 'creatures', 'we', 'desire', 'increase']
"""
from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterator, Sequence

from .vocab import word_tokenize

__all__ = ["LineSentence", "keep_words", "wikitext2_root", "wikitext2_sentences", "shakespeare_sentences",
           "corpus_sentences", "CORPORA"]

CORPORA = ("shakespeare", "wikitext2", "both")
_WORD = re.compile(r"\w")


def keep_words(tokens: Sequence[str], lower: bool = True) -> list[str]:
    """The tokens holding a letter or a digit (punctuation and WikiText's ``@-@`` markers dropped), lower-cased."""
    return [t.lower() if lower else t for t in tokens if _WORD.search(t)]


class LineSentence:
    """gensim's ``LineSentence``: a text file of one sentence per line, tokens separated by whitespace; iterable
    more than once (each epoch reads the file again). Lines longer than ``max_sentence_length`` tokens are cut.

    Args:
        path: the file (UTF-8). max_sentence_length: the longest sentence. limit: read at most this many lines.
        lower: lower-case the tokens (gensim's does not; the recipes do, as the evaluation is case-blind).
    """

    def __init__(self, path: str | os.PathLike, max_sentence_length: int = 10000, limit: int | None = None,
                 lower: bool = False) -> None:
        self.path, self.max_sentence_length, self.limit, self.lower = path, max_sentence_length, limit, lower

    def __iter__(self) -> Iterator[list[str]]:
        with open(self.path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if self.limit is not None and i >= self.limit:
                    break
                tokens = line.split()
                if self.lower:
                    tokens = [t.lower() for t in tokens]
                for a in range(0, len(tokens), self.max_sentence_length):
                    yield tokens[a:a + self.max_sentence_length]


def wikitext2_root(root: str | os.PathLike | None = None) -> pathlib.Path:
    """The WikiText-2 folder: ``root``, else ``$NNZOO_WIKITEXT2``, else ``../shared/data/wikitext-2`` next to the
    nnzoo source tree. FileNotFoundError (with where it looked) when it holds no ``valid.txt``."""
    candidates = [root] if root is not None else [os.environ.get("NNZOO_WIKITEXT2"),
                                                  pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
                                                  / "wikitext-2"]
    for c in candidates:
        if c and (pathlib.Path(c) / "valid.txt").is_file():
            return pathlib.Path(c)
    raise FileNotFoundError("wikitext2: no valid.txt in " + ", ".join(str(c) for c in candidates if c)
                            + "; set NNZOO_WIKITEXT2 to the folder of WikiText-2's raw valid.txt and test.txt "
                            "(CC BY-SA, https://blog.salesforceairesearch.com/the-wikitext-long-term-dependency-"
                            "language-modeling-dataset/)")


def wikitext2_sentences(splits: Sequence[str] = ("valid", "test"), root: str | os.PathLike | None = None,
                        limit: int | None = None) -> list[list[str]]:
    """WikiText-2's paragraphs (one line each; headings ``= Title =`` are short sentences) as lower-cased words:
    ``splits`` from ``valid``/``test`` (and ``train`` when the folder has it); ``limit`` sentences at most."""
    folder = wikitext2_root(root)
    out = []
    for split in splits:
        for line in LineSentence(folder / f"{split}.txt"):
            words = keep_words(line)
            if words:
                out.append(words)
                if limit is not None and len(out) >= limit:
                    return out
    return out


def shakespeare_sentences(split: str = "all", works: str | Sequence[str] | None = None,
                          limit: int | None = None) -> list[list[str]]:
    """The bundled Shakespeare as speeches (paragraphs between blank lines: a speaker's words, a stage direction,
    a stanza), lower-cased words (``word_tokenize``, punctuation dropped): about 900k words for ``'all'``."""
    from .datasets.shakespeare import shakespeare
    out = []
    for paragraph in shakespeare(split, works=works).split("\n\n"):
        words = keep_words(word_tokenize(paragraph))
        if words:
            out.append(words)
            if limit is not None and len(out) >= limit:
                break
    return out


def corpus_sentences(corpus: str, limit: int | None = None) -> list[list[str]]:
    """The sentences a word2vec recipe's ``corpus`` names: ``shakespeare``, ``wikitext2`` (valid + test),
    ``both``, or the path of a ``LineSentence`` file (lower-cased)."""
    if corpus == "shakespeare":
        return shakespeare_sentences(limit=limit)
    if corpus == "wikitext2":
        return wikitext2_sentences(limit=limit)
    if corpus == "both":
        return shakespeare_sentences(limit=limit) + wikitext2_sentences(limit=limit)
    if not os.path.isfile(corpus):
        raise FileNotFoundError(f"corpus: {corpus!r} is neither {', '.join(CORPORA)} nor a file")
    return [s for s in LineSentence(corpus, limit=limit, lower=True) if s]
