"""Hyper-parameter search: the best trial really is the best of the study, the declared space is respected,
seeds make it reproducible, histories are scored by their best epoch, and the test set is used once."""
import math

import numpy as np
import pytest

import nnzoo
from nnzoo import nn, optim
from nnzoo.train import Trainer, evaluate_best, search


def _quadratic(config):
    return (config["x"] - 2.0) ** 2


def test_best_is_the_minimum_over_trials_and_reproducible():
    result = search(_quadratic, {"x": ("float", -10.0, 10.0)}, n_trials=25, sampler="random", seed=0)
    values = [t.value for t in result.study.trials]
    assert len(values) == 25
    assert result.best_value == min(values)
    assert result.best_value == _quadratic(result.best_params)
    again = search(_quadratic, {"x": ("float", -10.0, 10.0)}, n_trials=25, sampler="random", seed=0)
    assert again.best_params == result.best_params
    other = search(_quadratic, {"x": ("float", -10.0, 10.0)}, n_trials=25, sampler="random", seed=1)
    assert other.best_params != result.best_params


def test_maximize_picks_the_largest():
    result = search(lambda c: -_quadratic(c), {"x": ("float", -10.0, 10.0)}, n_trials=15, sampler="random",
                    seed=0, direction="max")
    assert result.best_value == max(t.value for t in result.study.trials)
    assert result.study.direction.name == "MAXIMIZE"


def test_tpe_closes_in_on_the_minimum():
    # TPE's first 10 trials are random (its n_startup_trials); after them it samples near the good ones
    result = search(_quadratic, {"x": ("float", -10.0, 10.0)}, n_trials=40, sampler="tpe", seed=0)
    assert abs(result.best_params["x"] - 2.0) < 0.5
    late = [abs(t.params["x"] - 2.0) for t in result.study.trials[-10:]]
    early = [abs(t.params["x"] - 2.0) for t in result.study.trials[:10]]  # TPE starts with random trials
    assert np.median(late) < np.median(early)


def test_space_kinds_are_respected_and_fixed_values_pass_through():
    space = {"lr": ("float", 1e-4, 1e-1, True), "hidden": ("int", 4, 64, True), "layers": ("int", 1, 3),
             "act": ("categorical", ["relu", "tanh"]), "epochs": 3, "pair": (1, 2)}
    seen = []

    def objective(config):
        seen.append(config)
        return config["lr"] * config["hidden"]

    result = search(objective, space, n_trials=20, sampler="random", seed=0)
    for c in seen:
        assert 1e-4 <= c["lr"] <= 1e-1 and isinstance(c["lr"], float)
        assert 4 <= c["hidden"] <= 64 and isinstance(c["hidden"], int)
        assert c["layers"] in (1, 2, 3) and c["act"] in ("relu", "tanh")
        assert c["epochs"] == 3 and c["pair"] == (1, 2)
    # log-uniform: about half the draws below the geometric middle sqrt(1e-4 * 1e-1) ~ 3.2e-3
    assert 4 <= sum(c["lr"] < math.sqrt(1e-5) for c in seen) <= 16
    assert result.best_params["epochs"] == 3 and set(result.best_params) == set(space)


@pytest.mark.parametrize("space, message", [
    ({"x": ("float", 1.0, 0.0)}, "low 1.0 is above high 0.0"),
    ({"x": ("float", 0.0, 1.0, True)}, "log scale needs low > 0"),
    ({"x": ("int", 0.5, 3)}, "int bounds must be integers"),
    ({"x": ("categorical", [])}, r"expected \('categorical'"),
    ({"x": ("float", 0.0)}, None),  # a 2-tuple float spec is incomplete
])
def test_bad_spaces(space, message):
    with pytest.raises((ValueError, TypeError), match=message):
        search(_quadratic, space, n_trials=1)


def test_seed_reseeds_nnzoo_per_trial():
    draws = []
    search(lambda c: draws.append(nnzoo.rand(1).item()) or 0.0, {"x": ("float", 0.0, 1.0)}, n_trials=3,
           sampler="random", seed=10)
    expected = [nnzoo.rand(1, generator=nnzoo.Generator().manual_seed(10 + i)).item() for i in range(3)]
    assert draws == expected


def _toy_data(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    return [(nnzoo.tensor(x), nnzoo.tensor(y))]


def test_search_over_a_tiny_model_then_test_once():
    train, val, test = _toy_data(0, 64), _toy_data(1, 32), _toy_data(2, 32)
    trainers = []

    def train_fn(config):
        model = nn.Linear(3, 1)
        trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=config["lr"]), progress=False)
        trainer.fit(train, val_loader=val, epochs=config["epochs"])
        trainers.append(trainer)
        return trainer  # scored by the best epoch of its history's val_loss

    result = search(train_fn, {"lr": ("float", 1e-3, 0.5, True), "epochs": 5}, n_trials=4, sampler="random",
                    seed=0)
    scores = [min(t.history["val_loss"]) for t in trainers]
    assert result.best_value == pytest.approx(min(scores))
    best = trainers[int(np.argmin(scores))]
    assert result.best_params["lr"] == best.optimizer.param_groups[0]["lr"]

    calls = []

    def test_fn(config):
        calls.append(config)
        return train_fn(config).evaluate(test)["loss"]

    score = evaluate_best(result, test_fn)
    assert calls == [result.best_params] and result.test_score == score and math.isfinite(score)
    with pytest.raises(RuntimeError, match="only once"):
        evaluate_best(result, test_fn)


def test_history_scoring_and_errors():
    h = {"val_loss": [3.0, 1.0, math.nan, 2.0], "val_accuracy": [0.5, 0.9, 0.8, 0.7]}
    assert search(lambda c: h, {"x": ("float", 0.0, 1.0)}, n_trials=1, seed=0).best_value == 1.0
    assert search(lambda c: h, {"x": ("float", 0.0, 1.0)}, n_trials=1, seed=0, direction="maximize",
                  metric="val_accuracy").best_value == 0.9
    with pytest.raises(KeyError, match="without 'val_f1'"):
        search(lambda c: h, {"x": ("float", 0.0, 1.0)}, n_trials=1, metric="val_f1")
    with pytest.raises(ValueError, match="direction must be"):
        search(_quadratic, {"x": ("float", 0.0, 1.0)}, direction="lowest")
    with pytest.raises(ValueError, match="sampler must be"):
        search(_quadratic, {"x": ("float", 0.0, 1.0)}, sampler="grid")


def test_a_diverged_trial_fails_and_the_search_goes_on():
    from nnzoo.train import NonFiniteError

    def objective(config):  # the Trainer's non-finite guard stops training at large learning rates
        if config["lr"] > 1.0:
            raise NonFiniteError("Trainer: non-finite loss at epoch 1, batch 0", epoch=1, step=0, batch=0,
                                 what="loss")
        return {"val_loss": [1.0 / config["lr"]]}

    result = search(objective, {"lr": ("float", 1e-2, 1e2, True)}, n_trials=12, sampler="random", seed=0)
    states = [t.state.name for t in result.study.trials]
    assert len(states) == 12 and "FAIL" in states and "COMPLETE" in states
    failed = [t for t in result.study.trials if t.state.name == "FAIL"]
    assert all(t.params["lr"] > 1.0 and "non-finite" in t.user_attrs["error"] for t in failed)
    assert result.best_params["lr"] <= 1.0
