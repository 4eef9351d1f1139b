"""The zoo: every network the course teaches, one readable file per family.

Each family file defines its models (plain ``nn.Module`` classes) and registers the *recipes* that train
them on real data: which dataset, which model, which loss and default hyper-parameters. ``nnzoo train NAME``
and the tour run a recipe through :mod:`nnzoo.train`; ``nnzoo.zoo.recipes()`` lists them.
"""
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Recipe", "register", "recipe", "recipes", "MLP", "LogisticRegression"]

_RECIPES = {}


@dataclass
class Recipe:
    """How to train one zoo model on its task.

    Args:
        name: the name ``nnzoo train`` takes (lower case, dashes).
        description: one line for ``nnzoo train --list`` and the tour's report.
        build_model: ``config -> nn.Module`` (``config`` is the dict of hyper-parameters).
        load_data: ``config -> (train, val, test)`` datasets.
        loss: ``() -> loss module``.
        defaults: hyper-parameters (``epochs``, ``lr``, ``batch_size``, ``optimizer``, ``weight_decay``, ...).
        metrics: metric names the Trainer reports (``"accuracy"``, ...).
        monitor: the validation quantity that picks the best checkpoint, and its mode.
    """

    name: str
    description: str
    build_model: Callable
    load_data: Callable
    loss: Callable
    defaults: dict = field(default_factory=dict)
    metrics: tuple = ("accuracy",)
    monitor: tuple = ("val_loss", "min")


def register(r):
    """Add a recipe to the registry (a name can be registered once)."""
    if r.name in _RECIPES:
        raise ValueError(f"zoo: a recipe named {r.name!r} is already registered")
    _RECIPES[r.name] = r
    return r


def recipes():
    """``{name: Recipe}`` for every registered recipe, in registration order."""
    return dict(_RECIPES)


def recipe(name):
    """The recipe called ``name``; the error lists the known ones."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"zoo: no model called {name!r}; known: {', '.join(_RECIPES) or 'none'}") from None


from .mlp import LogisticRegression, MLP  # noqa: E402  (registers its recipes)
