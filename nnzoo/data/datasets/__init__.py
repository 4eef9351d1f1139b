"""Datasets: bundled ones that work offline, and download loaders with checksums and a cache.

Bundled: ``digits``, ``shakespeare``, ``dates``, ``shapes`` (generated, with known factors) and the toy sets of
the notes' linear and nonlinear predictors. Downloaded once into ``$NNZOO_HOME`` (default ``~/.cache/nnzoo``):
``MNIST``, ``FashionMNIST`` (or read from a copy: ``fashion_mnist_root``), ``CIFAR10``, ``tiny_shakespeare``.
``catalog()`` lists them all (``nnzoo datasets``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

# NOTE: eager imports (each module is light: scikit-learn, Faker, Babel and tqdm load when a loader
# runs). A function named like its module (``digits`` in ``digits.py``) must be bound after the module's
# import, or the package attribute would be the module.
from .cifar import CIFAR10
from .dates import DATE_FORMATS, DATE_LOCALES, dates
from .digits import digits
from .download import DownloadError, check_integrity, download, nnzoo_home
from .mnist import MNIST, FashionMNIST, fashion_mnist_root
from .scenes import CaptionedScenes, captioned_scenes, scene_splits, scene_vocab
from .shakespeare import shakespeare, shakespeare_works
from .shapes import shapes
from .tiny_shakespeare import tiny_shakespeare
from .toy import adding_problem, blobs, circles, gaussian_ring, regression_1d, spirals, two_moons, xor

__all__ = ["catalog", "digits", "shakespeare", "shakespeare_works", "dates", "shapes", "captioned_scenes",
           "scene_splits", "scene_vocab", "CaptionedScenes", "DATE_LOCALES", "DATE_FORMATS",
           "two_moons", "circles", "spirals", "xor", "blobs", "gaussian_ring", "regression_1d", "adding_problem",
           "MNIST", "FashionMNIST", "fashion_mnist_root", "CIFAR10", "tiny_shakespeare",
           "nnzoo_home", "download", "check_integrity", "DownloadError"]

_BUNDLED = (digits, shakespeare, dates, shapes, captioned_scenes, two_moons, circles, spirals, xor, blobs,
            gaussian_ring, regression_1d, adding_problem)
_DOWNLOADED = (MNIST, FashionMNIST, CIFAR10, tiny_shakespeare)


@dataclass
class CatalogEntry:
    """One dataset: its loader (a function or class), whether it is bundled or downloaded, and its doc."""
    name: str
    kind: str
    loader: object

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.loader) or ""
        return doc.split("\n", 1)[0].replace("``", "")

    def describe(self) -> str:
        """The loader's signature and its whole docstring (source, license, size, split)."""
        try:
            sig = str(inspect.signature(self.loader))
        except (TypeError, ValueError):
            sig = "(...)"
        return f"{self.name}{sig}  [{self.kind}]\n\n{inspect.getdoc(self.loader) or ''}"


def catalog() -> dict[str, CatalogEntry]:
    """``{name: CatalogEntry}`` for every dataset nnzoo knows, bundled first (``nnzoo datasets``)."""
    entries = [(f, "bundled") for f in _BUNDLED] + [(f, "download") for f in _DOWNLOADED]
    return {f.__name__: CatalogEntry(f.__name__, kind, f) for f, kind in entries}
