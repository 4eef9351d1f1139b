"""Hyper-parameter search over a declared space, through Optuna (imported only when a search runs).

The space is a dict ``name -> spec``::

    space = {
        "lr":      ("float", 1e-4, 1e-1, True),         # (kind, low, high, log): log-uniform
        "dropout": ("float", 0.0, 0.5),                 # log defaults to False
        "hidden":  ("int", 16, 128, True),              # integers, here log-uniform
        "act":     ("categorical", ["relu", "tanh"]),   # one of the choices (None/bool/int/float/str)
        "epochs":  5,                                   # anything else is a fixed value, passed as is
    }

``search`` calls ``objective(config)`` once per trial with a config dict holding one value per name and
keeps the configuration with the best validation score. The test set is kept out of the search: after
it, :func:`evaluate_best` runs the chosen configuration on the test set exactly once.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..random import manual_seed
from .trainer import NonFiniteError

__all__ = ["search", "evaluate_best", "SearchResult", "sample_config"]

_KINDS = ("float", "int", "categorical")


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError("nnzoo.train.search needs the 'optuna' package: pip install optuna") from None
    return optuna


@dataclass
class SearchResult:
    """The outcome of :func:`search`.

    Attributes:
        best_params (dict): the best trial's full config (fixed values included).
        best_value (float): its validation score.
        study (optuna.Study): every trial (``study.trials_dataframe()`` tabulates them).
        test_score: set by :func:`evaluate_best`; None until then.
    """

    best_params: dict
    best_value: float
    study: Any
    test_score: Any | None = None


def _is_spec(value):
    return isinstance(value, tuple) and len(value) >= 2 and value[0] in _KINDS


def _check_space(space):
    if not isinstance(space, dict) or not space:
        raise TypeError(f"search: space must be a non-empty dict of name -> spec, got {space!r}")
    for name, spec in space.items():
        if not _is_spec(spec):
            continue
        kind = spec[0]
        if kind == "categorical":
            if len(spec) != 2 or not isinstance(spec[1], (list, tuple)) or not spec[1]:
                raise ValueError(f"search: {name!r}: expected ('categorical', [choices...]), got {spec!r}")
            continue
        if len(spec) not in (3, 4):
            raise ValueError(f"search: {name!r}: expected ({kind!r}, low, high) or ({kind!r}, low, high, log), "
                             f"got {spec!r}")
        low, high = spec[1], spec[2]
        if kind == "int" and not (isinstance(low, int) and isinstance(high, int)):
            raise ValueError(f"search: {name!r}: int bounds must be integers, got {low!r} and {high!r}")
        if not low <= high:
            raise ValueError(f"search: {name!r}: low {low!r} is above high {high!r}")
        if len(spec) == 4 and spec[3] and low <= 0:
            raise ValueError(f"search: {name!r}: a log scale needs low > 0, got {low!r}")


def sample_config(trial: Any, space: dict) -> dict:
    """One config from an Optuna ``trial``: ``trial.suggest_*`` for every spec, fixed values as they are."""
    config = {}
    for name, spec in space.items():
        if not _is_spec(spec):
            config[name] = spec
        elif spec[0] == "categorical":
            config[name] = trial.suggest_categorical(name, list(spec[1]))
        else:
            log = bool(spec[3]) if len(spec) == 4 else False
            suggest = trial.suggest_float if spec[0] == "float" else trial.suggest_int
            config[name] = suggest(name, spec[1], spec[2], log=log)
    return config


def _direction(direction):
    d = {"min": "minimize", "minimize": "minimize", "max": "maximize", "maximize": "maximize"}.get(direction)
    if d is None:
        raise ValueError(f"search: direction must be 'minimize' or 'maximize' (or 'min'/'max'), got {direction!r}")
    return d


def _score(result, metric, direction):
    """A trial's score: a number, or the best epoch of ``metric`` in a history (a dict of lists, or an
    object with ``.history`` such as a Trainer)."""
    history = getattr(result, "history", result)
    if isinstance(history, dict):
        if metric not in history:
            raise KeyError(f"search: the objective returned a history without {metric!r} (has "
                           f"{sorted(history)}); pass metric=... or return a number")
        values = history[metric]
        if not isinstance(values, (list, tuple)):
            return float(values)
        finite = [float(v) for v in values if not math.isnan(float(v))]
        if not finite:
            return math.nan
        return min(finite) if direction == "minimize" else max(finite)
    return float(result)


def _sampler(optuna, sampler, seed):
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    raise ValueError(f"search: sampler must be 'tpe', 'random' or an optuna sampler, got {sampler!r}")


def search(objective: Callable[[dict], Any], space: dict, n_trials: int = 20, sampler: str = "tpe",
           seed: int | None = None, direction: str = "minimize", metric: str = "val_loss",
           timeout: float | None = None, verbose: bool = False) -> SearchResult:
    """Search ``space`` for the config with the best validation score of ``objective``.

    Args:
        objective (callable): ``objective(config) -> score``. The score is a number, or a training history
            (a dict of per-epoch lists, or a Trainer, i.e. anything with ``.history``) whose ``metric``
            is scored by its best epoch. It must come from validation data, never the test set.
        space (dict): name -> spec (see the module docstring).
        n_trials (int): number of configurations tried. Default: 20.
        sampler (str or optuna sampler): ``'tpe'`` (Tree-structured Parzen Estimator: later trials sample
            near the good ones) or ``'random'``. Default: ``'tpe'``.
        seed (int, optional): seeds the sampler, and ``nnzoo.manual_seed(seed + trial number)`` runs before
            each trial, so a trial's initialisation and shuffling do not depend on the trials before it.
        direction (str): ``'minimize'`` or ``'maximize'`` (``'min'``/``'max'`` too). Default: ``'minimize'``.
        metric (str): the history key scored when the objective returns a history. Default: ``'val_loss'``.
            A trial whose training diverged (the objective raised :class:`~nnzoo.train.NonFiniteError`) or
            whose score is NaN is a failed trial (Optuna logs a warning), and the search goes on.
        timeout (float, optional): stop starting trials after this many seconds.
        verbose (bool): let Optuna log every trial. Default: False.

    Returns:
        SearchResult: ``best_params``, ``best_value`` and the Optuna ``study``.

    Example::

        >>> result = search(lambda c: (c["x"] - 2.0) ** 2, {"x": ("float", -10.0, 10.0)}, n_trials=30,
        ...                 sampler="random", seed=0)
        >>> result.best_value == min(t.value for t in result.study.trials)
        True
        >>> abs(result.best_params["x"] - 2.0) < 2.0
        True
    """
    optuna = _optuna()
    _check_space(space)
    direction = _direction(direction)
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"search: n_trials must be a positive integer, got {n_trials!r}")

    def run_trial(trial):
        config = sample_config(trial, space)
        if seed is not None:
            manual_seed(seed + trial.number)
        try:
            result = objective(config)
        except NonFiniteError as error:  # a diverged configuration fails its trial, not the whole search
            trial.set_user_attr("error", str(error))
            return math.nan
        return _score(result, metric, direction)

    optuna_logger = logging.getLogger("optuna")
    level = optuna_logger.level
    if not verbose:
        optuna_logger.setLevel(logging.WARNING)
    try:
        study = optuna.create_study(direction=direction, sampler=_sampler(optuna, sampler, seed))
        study.optimize(run_trial, n_trials=n_trials, timeout=timeout)
    finally:
        optuna_logger.setLevel(level)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"search: none of the {len(study.trials)} trials completed (did the objective "
                           "return NaN every time?)")
    best = study.best_trial
    params = {name: (best.params[name] if _is_spec(spec) else spec) for name, spec in space.items()}
    return SearchResult(best_params=params, best_value=best.value, study=study)


def evaluate_best(result: SearchResult, test_fn: Callable[[dict], float]) -> float:
    """Run the best configuration on the test set, once: ``result.test_score = test_fn(result.best_params)``.

    ``test_fn`` typically retrains with the config on train (+ validation) data and returns the test
    metric (a number or a dict from ``Trainer.evaluate``). Calling it a second time is an error: a test
    score chosen among several looks is no longer an unbiased estimate.

    Example::

        >>> res = SearchResult(best_params={"x": 2.0}, best_value=0.0, study=None)
        >>> evaluate_best(res, lambda c: c["x"] * 10)
        20.0
    """
    if result.test_score is not None:
        raise RuntimeError("evaluate_best: this result has already been evaluated on the test set "
                           f"(test_score={result.test_score!r}); evaluate the test set only once")
    result.test_score = test_fn(result.best_params)
    return result.test_score
