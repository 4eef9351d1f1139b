"""The captioned scenes: splits disjoint by scene, captions that say what the image holds (checked on the pixels),
the vocabulary, determinism, argument errors."""
import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

from nnzoo.data.datasets.scenes import (
    COLOURS,
    SHAPE_KINDS,
    SceneItem,
    captioned_scenes,
    cell_name,
    scene_captions,
    scene_splits,
    scene_vocab,
)


def test_splits_are_disjoint_by_scene_and_deterministic():
    train, val, test = scene_splits(300, 60, 60, seed=3)
    sigs = [{d.signature(i) for i in range(len(d))} for d in (train, val, test)]
    assert [len(s) for s in sigs] == [300, 60, 60]                      # no repeat inside a split either
    assert not (sigs[0] & sigs[1]) and not (sigs[0] & sigs[2]) and not (sigs[1] & sigs[2])
    again = scene_splits(300, 60, 60, seed=3)[2]
    np.testing.assert_array_equal(again.images, test.images)
    assert again.captions == test.captions


def test_items_are_drawn_in_their_boxes_and_cells_with_their_colour():
    ds = captioned_scenes(60, seed=1, size=48, grid=3, max_items=3)
    assert ds.images.shape == (60, 3, 48, 48) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    counts = [len(items) for items in ds.items]
    assert min(counts) >= 1 and max(counts) <= 3
    for img, items in zip(ds.images, ds.items):
        assert len({it.cell for it in items}) == len(items)               # distinct cells
        covered = np.zeros((48, 48), dtype=bool)
        for it in items:
            x0, y0, x1, y1 = it.box
            assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48
            row, col = divmod(it.cell, 3)                                  # the box lies in the item's cell
            assert col * 16 <= x0 and x1 <= (col + 1) * 16 and row * 16 <= y0 and y1 <= (row + 1) * 16
            patch = img[:, y0:y1, x0:x1].reshape(3, -1)
            brightest = patch[:, patch.sum(0).argmax()]
            colour = np.array(COLOURS[it.colour])
            np.testing.assert_allclose(brightest / brightest.max(), colour / colour.max(), atol=1e-6)   # its colour
            covered[y0:y1, x0:x1] = True
        assert img[:, ~covered].max() == 0                                 # nothing drawn outside the boxes
    small = [np.prod(np.subtract(it.box[2:], it.box[:2])) for items in ds.items for it in items if it.size == "small"]
    large = [np.prod(np.subtract(it.box[2:], it.box[:2])) for items in ds.items for it in items if it.size == "large"]
    assert max(small) < min(large)                                         # the size words are told apart


def test_captions_name_every_item_in_reading_order_and_the_vocabulary_covers_them():
    items = [SceneItem("cross", "blue", "large", 8, (33, 33, 46, 46)), SceneItem("circle", "red", "small", 0,
                                                                                   (1, 1, 8, 8))]
    a, there, has = scene_captions(items)
    assert a == "a small red circle at the top left and a large blue cross at the bottom right"
    assert there == "there is " + a.replace(" at the ", " in the ")
    assert has == "the top left has a small red circle and the bottom right has a large blue cross"
    assert cell_name(4) == "centre" and cell_name(3, grid=2) == "bottom right"
    vocab = scene_vocab()
    ds = captioned_scenes(40, seed=2)
    for caps, its in zip(ds.captions, ds.items):
        assert len(caps) == 3
        for cap in caps:
            assert vocab.unk_index not in vocab.encode(cap)
            words = cap.split()
            assert sum(w in SHAPE_KINDS for w in words) == len(its)
            assert [w for w in words if w in SHAPE_KINDS] == [it.kind for it in its]   # reading order
    assert len(vocab) == 4 + 9 + 2 + 4 + 4 + 5       # specials, glue words, sizes, colours, kinds, place words


def test_grid_two_and_argument_errors():
    ds = captioned_scenes(10, seed=0, size=32, grid=2, max_items=4)
    assert all(c in range(4) for items in ds.items for c in (it.cell for it in items))
    for bad in ({"grid": 4}, {"items": "digits"}, {"max_items": 10}, {"n": 0}, {"size": 16}):
        with pytest.raises(ValueError):
            captioned_scenes(**{"n": 5, **bad})


def test_fashion_items():
    skip_without_fashion_mnist()
    ds = captioned_scenes(6, seed=0, items="fashion")
    vocab = scene_vocab("fashion")
    assert all(vocab.unk_index not in vocab.encode(c) for caps in ds.captions for c in caps)
    for img, items in zip(ds.images, ds.items):
        for it in items:
            x0, y0, x1, y1 = it.box
            assert img[:, y0:y1, x0:x1].max() > 0.05
