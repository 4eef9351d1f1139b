"""MC dropout's pieces: the classifier against a PyTorch twin with the same weights, MC prediction as the mean of
T stochastic passes (its definition), weight scaling as eval mode, and the calibration figures against NumPy
and PyTorch references. The mc-dropout recipe: tests/recipes/test_mc_dropout.py."""
import itertools

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo.mc_dropout import (
    FashionCNN,
    enable_dropout,
    expected_calibration_error,
    mc_predict,
    nll,
    predict_proba,
    reliability_bins,
)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


def _images(n, seed=0):
    return nnzoo.tensor(np.random.default_rng(seed).uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32))


def test_classifier_matches_torch_in_eval_mode_and_its_features_are_the_penultimate_layer():
    model = FashionCNN(channels=(4, 8), hidden=16, dropout=0.5).double().eval()
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Dropout(0.5), torch.nn.Linear(8 * 49, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5),
        torch.nn.Linear(16, 10)).double().eval()
    ours = dict(model.named_parameters())
    with torch.no_grad():
        for i, name in ((0, "conv1"), (3, "conv2"), (8, "fc1"), (11, "fc2")):
            twin[i].weight.copy_(torch.from_numpy(ours[f"{name}.weight"].detach().numpy()))
            twin[i].bias.copy_(torch.from_numpy(ours[f"{name}.bias"].detach().numpy()))
    x = np.random.default_rng(0).uniform(-1, 1, (5, 1, 28, 28))
    with nnzoo.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(nnzoo.tensor(x)).numpy(), twin(torch.tensor(x)).numpy(), rtol=1e-10)
        np.testing.assert_allclose(model.features(nnzoo.tensor(x)).numpy(), twin[:10](torch.tensor(x)).numpy(),
                                   rtol=1e-10)


def test_enable_dropout_turns_on_dropout_only():
    model = FashionCNN(channels=(2, 2), hidden=4)
    model.add_module("bn", nnzoo.nn.BatchNorm1d(4))      # a module that must stay in eval mode
    enable_dropout(model)
    assert not model.training and not model.bn.training and not model.conv1.training
    assert model.drop1.training and model.drop2.training


def test_mc_prediction_is_the_mean_softmax_of_t_stochastic_passes():
    """The definition, with the same masks: T whole forward passes with dropout on, from the same seed. The
    recipe's shortcut (the conv trunk run once, the head T times) must give the same numbers."""
    model, x, T = FashionCNN(channels=(4, 8), hidden=16, dropout=0.5), _images(7), 5
    nnzoo.manual_seed(3)
    got = mc_predict(model, x, samples=T)
    assert not model.training and not model.drop1.training     # left in eval mode
    nnzoo.manual_seed(3)
    enable_dropout(model)
    with nnzoo.no_grad():
        passes = [nnzoo.nn.functional.softmax(model(x), dim=1).numpy().astype(np.float64) for _ in range(T)]
    np.testing.assert_allclose(got, np.mean(passes, axis=0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(passes[0], passes[1])               # the passes differ: dropout was on
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)


def test_weight_scaling_is_eval_mode_and_equals_mc_dropout_without_dropout():
    model, x = FashionCNN(channels=(4, 8), hidden=16, dropout=0.0), _images(6)
    model.eval()
    with nnzoo.no_grad():
        expected = nnzoo.nn.functional.softmax(model(x), dim=1).numpy()
    np.testing.assert_allclose(predict_proba(model, x), expected, rtol=1e-6)
    np.testing.assert_allclose(mc_predict(model, x, samples=3), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="samples"):
        mc_predict(model, x, samples=0)


def _ece_reference(probs, labels, n_bins):
    """Guo et al.'s ECE, written as in their code: bins (lo, hi], the weighted |accuracy - confidence|."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs((pred[inside] == labels[inside]).mean() - conf[inside].mean())
    return ece


@pytest.mark.parametrize("n_bins", [15, 10, 1])
def test_ece_matches_the_numpy_reference(n_bins):
    rng = np.random.default_rng(n_bins)
    logits = rng.standard_normal((500, 10)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 10, 500)
    labels[:250] = probs[:250].argmax(1)                      # half right: a mix of bins and gaps
    assert expected_calibration_error(probs, labels, n_bins) == pytest.approx(_ece_reference(probs, labels, n_bins))
    bins = reliability_bins(probs, labels, n_bins)
    assert bins["count"].sum() == 500


def test_ece_of_a_calibrated_predictor_is_small_and_of_an_overconfident_one_is_its_gap():
    """Labels drawn from the predicted probabilities: ECE -> 0 (sampling noise only); an always-certain
    predictor that is right 60% of the time: ECE = 1 - 0.6."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3) * 0.5, size=20000)
    labels = np.array([rng.choice(3, p=row) for row in p])
    assert expected_calibration_error(p, labels) < 0.02
    certain = np.eye(3)[np.zeros(1000, dtype=int)]
    labels = np.where(np.arange(1000) < 600, 0, 1)
    assert expected_calibration_error(certain, labels) == pytest.approx(0.4)


def test_nll_matches_torch():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((40, 10))
    labels = rng.integers(0, 10, 40)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)).item()
    assert nll(probs, labels) == pytest.approx(expected, rel=1e-10)
