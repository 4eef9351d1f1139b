"""Kohonen map: the neighbourhoods, decays, errors and U-matrix against MiniSom's, and training step for step
equal to MiniSom's on the same initial weights and sampling order."""
import numpy as np
import pytest

from nnzoo.dtypes import float64
from nnzoo.zoo.som import SOM, decay

minisom = pytest.importorskip("minisom")


def _data(n=120, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("kind", ["gaussian", "triangle", "bubble"])
def test_neighborhood_is_minisoms(kind):
    ours = SOM(7, 5, 3, sigma=2.0, neighborhood=kind, dtype=float64)
    theirs = minisom.MiniSom(7, 5, 3, sigma=2.0, neighborhood_function=kind)
    for c, s in (((3, 2), 2.0), ((0, 4), 1.3), ((6, 0), 3.0)):
        np.testing.assert_allclose(ours.neighborhood_at(c, s).numpy(), theirs.neighborhood(c, s), atol=1e-12)


def test_decays():
    assert decay(4.0, 0, 100) == 4.0 and decay(4.0, 100, 100) == pytest.approx(4.0 / 3)
    assert decay(0.5, 50, 100, "linear") == pytest.approx(0.25)


@pytest.mark.parametrize("kind", ["gaussian", "triangle"])
def test_training_matches_minisom_step_for_step(kind):
    x = _data()
    ours = SOM(8, 6, 5, sigma=3.0, learning_rate=0.5, neighborhood=kind, seed=3, dtype=float64).pca_init(x)
    theirs = minisom.MiniSom(8, 6, 5, sigma=3.0, learning_rate=0.5, neighborhood_function=kind, random_seed=3)
    theirs.pca_weights_init(x)
    np.testing.assert_allclose(ours.weights.numpy(), theirs.get_weights(), atol=1e-12)
    ours.train(x, 200)
    theirs.train_random(x, 200)  # the same generator state: the same sampling order
    np.testing.assert_allclose(ours.weights.numpy(), theirs.get_weights(), atol=1e-9)
    assert ours.quantization_error(x) == pytest.approx(theirs.quantization_error(x), rel=1e-9)
    assert ours.topographic_error(x) == pytest.approx(theirs.topographic_error(x))
    np.testing.assert_allclose(ours.u_matrix().numpy(), theirs.distance_map(), atol=1e-12)
    assert ours.winner(x[7]) == theirs.winner(x[7])


def test_training_lowers_the_quantisation_error_and_orders_the_map():
    x = _data(300, 2)
    som = SOM(10, 10, 2, sigma=3.0, learning_rate=0.5, neighborhood="gaussian", seed=0)
    som.weights = som.weights * 0.01  # start collapsed
    before = som.quantization_error(x)
    after = som.train(x, 800)
    assert after < 0.5 * before
    assert som.topographic_error(x) < 0.2


def test_bad_arguments():
    with pytest.raises(ValueError, match="neighborhood"):
        SOM(3, 3, 2, neighborhood="mexican")
    with pytest.raises(ValueError, match="sigma"):
        SOM(3, 3, 2, sigma=0)
