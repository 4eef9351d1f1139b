"""Captioned scenes: generated images of 1-3 items on a grid, each with several templated captions that name the
items, their attributes and their positions: the data of the captioning recipes (``caption``,
``caption-attention``), made without network.

A scene is a ``size`` x ``size`` RGB canvas (black) cut into a ``grid`` x ``grid`` lattice of cells (3 x 3: the
cells are named ``top left``, ``top``, ``top right``, ``left``, ``centre``, ``right``, ``bottom left``, ``bottom``,
``bottom right``). It holds 1 to ``max_items`` items in distinct cells, each drawn at a random offset inside its
cell with its own

============  =================================================================================================
attribute     values
============  =================================================================================================
kind          ``items='shapes'``: square, circle, triangle, cross (drawn, anti-aliased);
              ``items='fashion'``: one of Fashion-MNIST's ten classes (tshirt, trousers, pullover, dress, coat,
              sandal, shirt, sneaker, bag, boot), a random image of the class (training images for the
              training scenes, test images for the others), resized
colour        red, green, blue, yellow (the item's mask times the colour)
size          small, large (half-extent 0.2 or 0.4 of a cell for the shapes; 0.3 / 0.45 for fashion items)
cell          one of the grid's cells, no two items in one cell
============  =================================================================================================

and its bounding box in pixels (kept for measuring where an attention model looks). The captions list the items
in reading order (by cell: rows top to bottom, then left to right), in three paraphrases::

    a small red circle at the top left and a large blue cross at the centre
    there is a small red circle in the top left and a large blue cross in the centre
    the top left has a small red circle and the centre has a large blue cross

(three items: ``A , B and C``). A caption names every attribute of every item and its position, so one vector
summary of the image must hold up to twelve facts: the task is built so that looking at one item at a time
pays. :func:`scene_splits` draws the training, validation and test scenes so that no validation or test scene
has the items (kind, colour, size, cell) of a training scene or of an earlier split's scene: the test scenes are
new combinations.

Everything is drawn from seeded generators: the same arguments give the same scenes.
"""
from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["SHAPE_KINDS", "FASHION_KINDS", "COLOURS", "SIZES", "CELL_NAMES", "TEMPLATES", "SceneItem",
           "CaptionedScenes", "captioned_scenes", "scene_splits", "scene_vocab", "scene_captions", "cell_name"]

SHAPE_KINDS = ("square", "circle", "triangle", "cross")
FASHION_KINDS = ("tshirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
COLOURS = {"red": (1.0, 0.15, 0.1), "green": (0.1, 0.85, 0.2), "blue": (0.2, 0.35, 1.0), "yellow": (1.0, 0.9, 0.1)}
SIZES = ("small", "large")
CELL_NAMES = {3: ("top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right"),
              2: ("top left", "top right", "bottom left", "bottom right")}
TEMPLATES = ("a", "there is", "has")   # the three paraphrases, by their distinctive words (see scene_captions)
_HALF = {"shapes": (0.2, 0.4), "fashion": (0.3, 0.45)}   # half-extent / cell side, small and large


@dataclass(frozen=True)
class SceneItem:
    """One item of a scene: its kind, colour and size words, its cell (row-major index) and its bounding box
    ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive; x to the right, y down)."""
    kind: str
    colour: str
    size: str
    cell: int
    box: tuple

    @property
    def key(self) -> tuple:
        """(kind, colour, size, cell): what the captions say about the item."""
        return (self.kind, self.colour, self.size, self.cell)


def cell_name(cell: int, grid: int = 3) -> str:
    """The words of cell ``cell`` (row-major) of a ``grid`` x ``grid`` lattice: ``cell_name(4) == 'centre'``."""
    return CELL_NAMES[grid][cell]


def _phrase(item: SceneItem) -> str:
    return f"a {item.size} {item.colour} {item.kind}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " , ".join(parts[:-1]) + " and " + parts[-1]


def scene_captions(items, grid: int = 3) -> list[str]:
    """The three paraphrases of a scene's caption (items in reading order; words separated by spaces).

    Example::

        >>> from nnzoo.data.datasets.scenes import SceneItem, scene_captions
        >>> scene_captions([SceneItem("circle", "red", "small", 0, (0, 0, 5, 5))])[1]
        'there is a small red circle in the top left'
    """
    items = sorted(items, key=lambda it: it.cell)
    where = [cell_name(it.cell, grid) for it in items]
    return [_join([f"{_phrase(it)} at the {w}" for it, w in zip(items, where)]),
            "there is " + _join([f"{_phrase(it)} in the {w}" for it, w in zip(items, where)]),
            _join([f"the {w} has {_phrase(it)}" for it, w in zip(items, where)])]


@functools.lru_cache(maxsize=4)
def scene_vocab(items: str = "shapes", grid: int = 3):
    """The word vocabulary of the captions (``nnzoo.data.Vocab``, specials ``<pad> <unk> <bos> <eos>`` at 0-3), a
    function of ``items`` and ``grid`` only, so a trained model's vocabulary is rebuilt from its config."""
    from ..vocab import Vocab
    kinds = SHAPE_KINDS if items == "shapes" else FASHION_KINDS
    words = ["a", "there", "is", "at", "in", "the", "has", "and", ","] + list(SIZES) + list(COLOURS) + list(kinds)
    words += sorted({w for name in CELL_NAMES[grid] for w in name.split()})
    return Vocab(list(dict.fromkeys(words)), tokenizer="word")


# ---- drawing ----------------------------------------------------------------------------------------------------
def _shape_mask(kind: str, half: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Whether the points (dx, dy) (pixels from the item's centre, y down) lie in the shape of half-extent half."""
    u, v = dx / half, dy / half
    if kind == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85
    if kind == "circle":
        return u * u + v * v <= 1.0
    if kind == "triangle":                         # a vertex up, base at v = 0.8, sides through (+-1, 0.8)
        return (v <= 0.8) & (v >= -1.0) & (np.abs(u) <= (v + 1.0) / 1.8)
    if kind == "cross":                            # a plus sign, arms of half-width 0.3
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1.0))
    raise ValueError(f"captioned_scenes: unknown shape {kind!r}")


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    """Bilinear resize of a square greyscale array to ``side`` x ``side`` (pixel centres aligned)."""
    n = img.shape[0]
    pos = (np.arange(side) + 0.5) * n / side - 0.5
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 1)
    i1 = np.clip(i0 + 1, 0, n - 1)
    w = np.clip(pos - i0, 0.0, 1.0)
    rows = img[i0] * (1 - w)[:, None] + img[i1] * w[:, None]
    return rows[:, i0] * (1 - w)[None, :] + rows[:, i1] * w[None, :]


def _fashion_pool(train: bool):
    """{class index: uint8 (n, 28, 28) images} of Fashion-MNIST's training or test split."""
    from ...autograd.arrays import array
    from .mnist import FashionMNIST, fashion_mnist_root
    ds = FashionMNIST(fashion_mnist_root(), train=train)
    data, targets = np.asarray(array(ds.data)), np.asarray(array(ds.targets))
    return {k: data[targets == k] for k in range(10)}


class CaptionedScenes:
    """Scenes with their captions and item boxes (a map-style dataset: ``ds[i]`` is ``(image, captions)``).

    Attributes:
        images: float32 (N, 3, size, size) in [0, 1].
        items: N lists of :class:`SceneItem`.
        captions: N lists of the three paraphrases (str, words separated by spaces).
        size, grid, kinds (``'shapes'`` or ``'fashion'``).
    """

    def __init__(self, images: np.ndarray, items: list, size: int, grid: int, kinds: str) -> None:
        self.images, self.items, self.size, self.grid, self.kinds = images, items, size, grid, kinds
        self.captions = [scene_captions(its, grid) for its in items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple:
        from ...creation import from_numpy
        return from_numpy(self.images[i]), self.captions[i]

    def signature(self, i: int) -> frozenset:
        """What scene i's captions say: the set of its items' (kind, colour, size, cell)."""
        return frozenset(it.key for it in self.items[i])

    def __repr__(self) -> str:
        return f"CaptionedScenes({len(self)} scenes, {self.kinds}, {self.size}x{self.size}, grid {self.grid})"


def _draw_scenes(n, rng, size, grid, max_items, kinds, exclude, pool):
    cell = size / grid
    names = SHAPE_KINDS if kinds == "shapes" else FASHION_KINDS
    ss = 3                                                           # sub-pixels per pixel side (anti-aliasing)
    images = np.zeros((n, 3, size, size), dtype=np.float32)
    all_items, seen = [], set(exclude)
    while len(all_items) < n:
        count = int(rng.integers(1, max_items + 1))
        cells = rng.choice(grid * grid, size=count, replace=False)
        spec = [(names[rng.integers(len(names))], list(COLOURS)[rng.integers(len(COLOURS))],
                 SIZES[rng.integers(len(SIZES))], int(c)) for c in cells]
        sig = frozenset(spec)
        if sig in seen:
            continue                                                 # a scene the caller excludes, or a repeat
        seen.add(sig)
        k = len(all_items)
        items = []
        for kind, colour, size_word, c in spec:
            half = _HALF[kinds][SIZES.index(size_word)] * cell
            slack = max(cell / 2 - half - 1.0, 0.0)
            cx = (c % grid + 0.5) * cell + rng.uniform(-slack, slack)
            cy = (c // grid + 0.5) * cell + rng.uniform(-slack, slack)
            x0, y0 = max(math.floor(cx - half), 0), max(math.floor(cy - half), 0)
            x1, y1 = min(math.ceil(cx + half), size), min(math.ceil(cy + half), size)
            if kinds == "shapes":
                sub = (np.arange((x1 - x0) * ss) + 0.5) / ss + x0 - cx, (np.arange((y1 - y0) * ss) + 0.5) / ss + y0 - cy
                dy, dx = np.meshgrid(sub[1], sub[0], indexing="ij")
                mask = _shape_mask(kind, half, dx, dy).reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
            else:
                imgs = pool[FASHION_KINDS.index(kind)]
                side = round(2 * half)
                patch = _resize(imgs[rng.integers(len(imgs))].astype(np.float32) / 255.0, side)
                px0, py0 = round(cx - half), round(cy - half)
                rows, cols = np.nonzero(patch.max(1) > 0.05)[0], np.nonzero(patch.max(0) > 0.05)[0]
                r0, r1 = (rows[0], rows[-1] + 1) if len(rows) else (0, side)
                c0, c1 = (cols[0], cols[-1] + 1) if len(cols) else (0, side)
                mask = patch[r0:r1, c0:c1]                           # the box: the item's visible pixels
                x0, y0, x1, y1 = px0 + c0, py0 + r0, px0 + c1, py0 + r1
            rgb = np.asarray(COLOURS[colour], dtype=np.float32)[:, None, None]
            region = images[k, :, y0:y1, x0:x1]
            np.maximum(region, mask[None].astype(np.float32) * rgb, out=region)
            items.append(SceneItem(kind, colour, size_word, c, (x0, y0, x1, y1)))
        all_items.append(sorted(items, key=lambda it: it.cell))
    return images, all_items


def captioned_scenes(n: int = 1000, seed: int = 0, size: int = 48, grid: int = 3, max_items: int = 3,
                     items: str = "shapes", exclude=(), train_pool: bool = True) -> CaptionedScenes:
    """``n`` distinct scenes (no two with the same items), none of whose item sets is in ``exclude``.

    Args:
        n: number of scenes.
        seed: seeds the draw.
        size: side of the canvas in pixels (a multiple of ``grid``).
        grid: 3 (nine named cells) or 2 (four).
        max_items: each scene holds 1 to max_items items (uniformly), in distinct cells.
        items: ``'shapes'`` (drawn) or ``'fashion'`` (Fashion-MNIST images, read from ``fashion_mnist_root()``).
        exclude: item sets (frozensets of (kind, colour, size, cell)) not to draw, e.g. another split's.
        train_pool: for ``items='fashion'``, draw the item images from Fashion-MNIST's training split (else its
            test split).

    Returns:
        :class:`CaptionedScenes`.

    Example::

        >>> from nnzoo.data.datasets.scenes import captioned_scenes
        >>> ds = captioned_scenes(4, seed=0)
        >>> ds.images.shape, len(ds.captions[0])
        ((4, 3, 48, 48), 3)
    """
    n = operator.index(n)
    if grid not in CELL_NAMES:
        raise ValueError(f"captioned_scenes: grid must be 2 or 3, got {grid}")
    if items not in ("shapes", "fashion"):
        raise ValueError(f"captioned_scenes: items must be 'shapes' or 'fashion', got {items!r}")
    if n < 1 or size < 8 * grid or not 1 <= max_items <= grid * grid:
        raise ValueError(f"captioned_scenes: need n >= 1, size >= {8 * grid}, 1 <= max_items <= {grid * grid}; "
                         f"got n={n}, size={size}, max_items={max_items}")
    pool = _fashion_pool(train_pool) if items == "fashion" else None
    images, its = _draw_scenes(n, np.random.default_rng(seed), size, grid, max_items, items, exclude, pool)
    return CaptionedScenes(images, its, size, grid, items)


def scene_splits(n_train: int = 20000, n_val: int = 500, n_test: int = 1000, seed: int = 0, size: int = 48,
                 grid: int = 3, max_items: int = 3, items: str = "shapes") -> tuple:
    """(train, val, test) :class:`CaptionedScenes` split by scene: every scene's item set occurs in one split
    only (checked here), so validation and test scenes are combinations the training set never showed.

    NOTE: with the defaults, one-item scenes have only 4 * 4 * 2 * 9 = 288 item sets, which the training set
    nearly exhausts: most test scenes hold two or three items.

    Example::

        >>> from nnzoo.data.datasets.scenes import scene_splits
        >>> train, val, test = scene_splits(50, 10, 10, seed=0)
        >>> len(train), len(val), len(test), any(test.signature(i) in {train.signature(j) for j in range(50)}
        ...                                      for i in range(10))
        (50, 10, 10, False)
    """
    kw = {"size": size, "grid": grid, "max_items": max_items, "items": items}
    train = captioned_scenes(n_train, seed=seed, **kw)
    seen = {train.signature(i) for i in range(len(train))}
    val = captioned_scenes(n_val, seed=seed + 1, exclude=seen, train_pool=False, **kw)
    seen |= {val.signature(i) for i in range(len(val))}
    test = captioned_scenes(n_test, seed=seed + 2, exclude=seen, train_pool=False, **kw)
    if any(test.signature(i) in seen for i in range(len(test))):
        raise RuntimeError("scene_splits: a test scene repeats a training or validation scene")
    return train, val, test
