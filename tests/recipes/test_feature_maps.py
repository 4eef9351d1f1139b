"""nnzoo.recipes.feature_maps: the feature-map lesson (linear predictors w·φ(x), chosen by validation).

Expectations: the φ whose form matches the generating curve wins on validation; the gradient solution
equals NumPy's closed-form least squares; the feature maps equal their NumPy formulas; the plots are real
PNG files (signature, and matplotlib reads them back).
"""
import time

import numpy as np
import pytest

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.recipes import feature_maps as fm

pytest.importorskip("matplotlib")  # the plots need the viz extra

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("fm")
    start = time.perf_counter()
    r = fm.run(out, seed=0)  # the full (not quick) run: it must stay under 10 s
    r["seconds"] = time.perf_counter() - start
    return r


def test_run_is_fast(result):
    assert result["seconds"] < 10


def test_validation_chooses_the_matching_feature_map(result):
    assert result["chosen"] == "[1, x, sin(3x)]"  # the data is sin(3x) + noise
    assert result["chosen"] == min(result["val_loss"], key=result["val_loss"].get)
    assert set(result["val_loss"]) == set(result["train_loss"]) == set(fm.FEATURE_MAPS)
    # the right φ reaches the noise floor (noise variance 0.1² = 0.01); the others cannot
    assert result["val_loss"]["[1, x, sin(3x)]"] < 0.02 < min(result["val_loss"]["[1, x]"],
                                                               result["val_loss"]["[1, x, x², x³]"])
    assert isinstance(result["test_loss"], float) and result["test_loss"] < 0.02


@pytest.mark.parametrize("kind,want", [("cubic", "[1, x, x², x³]"), ("sine", "[1, x, sin(3x)]")])
@pytest.mark.parametrize("seed", [0, 1])
def test_chosen_feature_map_per_curve(kind, want, seed):
    r = fm.compare_feature_maps(kind, seed=seed, steps=300)
    assert r["chosen"] == want
    # the test loss is that of the chosen φ, on the test indices only
    x, y, test = r["x"], r["y"], r["test"]
    expect = F.mse_loss(fm.FEATURE_MAPS[want](x[test]) @ r["weights"][want], y[test]).item()
    assert r["test_loss"] == pytest.approx(expect)
    sizes = [len(r[p]) for p in ("train", "val", "test")]
    all_idx = np.concatenate([r[p].numpy() for p in ("train", "val", "test")])
    assert sum(sizes) == len(x) and len(np.unique(all_idx)) == len(x)  # a partition


def test_gradient_and_least_squares_agree(result):
    for name in fm.FEATURE_MAPS:
        np.testing.assert_allclose(result["weights"][name], result["lstsq_weights"][name], atol=1e-3)


def test_least_squares_is_numpys_lstsq():
    rng = np.random.default_rng(0)
    Phi, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 1))
    want = np.linalg.pinv(Phi) @ y  # the normal-equation solution, another way
    got = fm.least_squares(nnzoo.tensor(Phi, dtype=nnzoo.float32), nnzoo.tensor(y, dtype=nnzoo.float32))
    assert tuple(got.shape) == (4, 1)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-4)
    fitted = fm.fit(nnzoo.tensor(Phi, dtype=nnzoo.float32), nnzoo.tensor(y, dtype=nnzoo.float32), steps=800)
    np.testing.assert_allclose(fitted.numpy(), want, atol=1e-3)


def test_feature_maps_formulas():
    x = np.linspace(-2, 2, 7, dtype=np.float32)[:, None]
    t = nnzoo.from_numpy(x)
    ones = np.ones_like(x)
    np.testing.assert_allclose(fm.FEATURE_MAPS["[1, x]"](t).numpy(), np.hstack([ones, x]))
    np.testing.assert_allclose(fm.FEATURE_MAPS["[1, x, x², x³]"](t).numpy(), np.hstack([ones, x, x ** 2, x ** 3]),
                               rtol=1e-6)
    np.testing.assert_allclose(fm.FEATURE_MAPS["[1, x, sin(3x)]"](t).numpy(), np.hstack([ones, x, np.sin(3 * x)]),
                               atol=1e-6)
    X = np.array([[0.5, -2.0], [3.0, 1.5]], dtype=np.float32)
    x1, x2 = X[:, :1], X[:, 1:]
    np.testing.assert_allclose(fm.quadratic_features(nnzoo.from_numpy(X)).numpy(),
                               np.hstack([np.ones_like(x1), x1, x2, x1 * x1, x1 * x2, x2 * x2]))
    np.testing.assert_allclose(fm.linear_features(nnzoo.from_numpy(X)).numpy(), np.hstack([np.ones_like(x1), X]))


def test_classifier(result):
    # concentric circles: the quadratic φ separates them, a line cannot do much better than chance
    assert result["accuracy"] > 0.95
    assert result["linear_accuracy"] < 0.7
    assert len(result["classifier_weights"]) == 6


def test_pngs(result):
    from matplotlib.image import imread
    assert set(result["plots"]) == {"fits", "boundary"}
    for path in result["plots"].values():
        with open(path, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
        assert image[..., :3].std() > 0.05  # something was drawn


def test_main_prints_the_lesson(tmp_path, capsys):
    fm.main([str(tmp_path), "--quick", "--kind", "cubic"])
    out = capsys.readouterr().out
    assert "[1, x, x², x³]" in out and "<- chosen by L_val" in out and "L_test" in out
    assert (tmp_path / "feature_maps_fits.png").is_file()
