"""Extreme learning machines: the ridge read-out against scikit-learn's Ridge (primal and dual forms), the ELM's
predictions against RidgeClassifier on the same random features, the frozen random layer."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.elm import ELM, ridge_solve

linear_model = pytest.importorskip("sklearn.linear_model")


@pytest.mark.parametrize("n,width", [(200, 30), (40, 120)], ids=["primal", "dual"])
@pytest.mark.parametrize("alpha", [1e-3, 1.0])
def test_ridge_solve_equals_scikit_learns_ridge(n, width, alpha):
    rng = np.random.default_rng(0)
    H = rng.normal(size=(n, width))
    T = rng.normal(size=(n, 3))
    beta = ridge_solve(nnzoo.tensor(H), nnzoo.tensor(T), alpha).numpy()
    ref = linear_model.Ridge(alpha=alpha, fit_intercept=False, solver="svd").fit(H, T)
    np.testing.assert_allclose(beta, ref.coef_.T, rtol=1e-7, atol=1e-9)
    # the defining property: the gradient of ‖Hβ - T‖² + α‖β‖² vanishes
    assert np.abs(H.T @ (H @ beta - T) + alpha * beta).max() < 1e-8


def test_elm_predicts_as_ridge_classifier_on_the_same_features():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    elm = ELM(8, 150, 3, alpha=0.5, generator=nnzoo.Generator().manual_seed(0)).double()
    Xt = nnzoo.tensor(X.astype(np.float64))
    H = elm.features(Xt)
    elm.fit(Xt, y, features=H)
    ref = linear_model.RidgeClassifier(alpha=0.5, fit_intercept=False).fit(H.numpy(), y)
    with nnzoo.no_grad():
        ours = elm(Xt).argmax(dim=1).numpy()
    np.testing.assert_array_equal(ours, ref.predict(H.numpy()))
    # ±1 codes (RidgeClassifier's) and one-hot targets differ by a column shared by all classes
    scores = ref.decision_function(H.numpy())
    with nnzoo.no_grad():
        np.testing.assert_allclose(scores, 2 * elm(Xt).numpy() + (scores - 2 * elm(Xt).numpy())[:, :1],
                                   atol=1e-8)


def test_the_hidden_layer_is_random_and_frozen():
    g = nnzoo.Generator().manual_seed(0)
    elm = ELM(400, 500, 10, weight_scale=2.0, generator=g)
    assert not any(p.requires_grad for p in elm.hidden.parameters())
    assert elm.hidden.weight.numpy().std() == pytest.approx(2.0 / 20.0, rel=0.02)
    again = ELM(400, 500, 10, weight_scale=2.0, generator=nnzoo.Generator().manual_seed(0))
    np.testing.assert_array_equal(again.hidden.weight.numpy(), elm.hidden.weight.numpy())
    with pytest.raises(ValueError, match="activation"):
        ELM(4, 5, 2, activation="softsign")
