"""Recipes: how each zoo model is trained on real data, one file per zoo family (``recipes/gpt.py`` trains
``zoo/gpt.py``).

A recipe names the data, the model built from a config, the loss, the metrics, the default hyper-parameters,
and two hooks that build the optimizer and its learning-rate schedule; it may also say what a trained model
can do (``sample`` text, ``translate``). ``nnzoo train NAME``, ``nnzoo sample``, ``nnzoo translate`` and the tour
run recipes through :func:`run_recipe`; :func:`recipes` lists them.

The layers: ``nnzoo.zoo`` holds the models and imports nothing above ``nn``; this package sits above
``nnzoo.data`` and ``nnzoo.train`` and imports them and the zoo.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import nn, optim

__all__ = ["Recipe", "register", "recipe", "recipes", "digits_splits", "default_optimizer", "plateau_scheduler",
           "run_recipe", "recipe_config", "load_run", "make_out_dir", "ConfigError", "RunError"]

_RECIPES: dict[str, Recipe] = {}


def default_optimizer(config: dict, model: nn.Module) -> optim.Optimizer:
    """The optimizer a config names, over all of ``model``'s parameters: ``optimizer`` = ``'sgd'`` (with
    ``momentum``), ``'adam'`` or ``'adamw'``, at ``lr`` with ``weight_decay``. The default ``make_optimizer``
    hook of a :class:`Recipe`.

    Example::

        >>> type(default_optimizer({"optimizer": "adam", "lr": 1e-3}, nnzoo.nn.Linear(2, 1))).__name__
        'Adam'
    """
    name = config.get("optimizer", "sgd").lower()
    params = model.parameters()
    lr, wd = config["lr"], config.get("weight_decay", 0.0)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=config.get("momentum", 0.0), weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    raise ValueError(f"default_optimizer: unknown optimizer {name!r} (sgd, adam, adamw)")


def plateau_scheduler(config: dict, optimizer: optim.Optimizer, steps_per_epoch: int,
                      mode: str = "min") -> tuple[Any, str]:
    """The default ``make_scheduler`` hook: ``ReduceLROnPlateau`` (factor 0.1, patience ``plateau_patience``)
    on the recipe's monitored quantity, stepped after each epoch's validation; no schedule when
    ``plateau_patience`` is 0 or None.

    Returns:
        (scheduler or None, ``'epoch'``).
    """
    if not config.get("plateau_patience"):
        return None, "epoch"
    return optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=0.1,
                                                patience=config["plateau_patience"]), "epoch"


@dataclass
class Recipe:
    """How to train one zoo model on its task.

    Args:
        name: the name ``nnzoo train`` takes (lower case, dashes).
        description: one line for ``nnzoo train --list`` and the tour's report.
        build_model: ``config -> nn.Module`` (``config`` is the dict of hyper-parameters).
        load_data: ``config -> (train, val, test)`` datasets.
        loss: ``() -> loss module`` (None for a recipe with ``fit``).
        defaults: hyper-parameters (``epochs``, ``lr``, ``batch_size``, ``optimizer``, ``weight_decay``, ...).
        metrics: metric names the Trainer reports (``"accuracy"``, ...).
        monitor: the validation quantity that picks the best checkpoint, and its mode.
        loaders: ``(config, (train, val, test), seed) -> (train_loader, val_loader, test_loader)``; default:
            ``DataLoader``s, the training one shuffled with ``batch_size``.
        make_optimizer: ``(config, model) -> Optimizer``. Default: :func:`default_optimizer` (SGD, Adam or
            AdamW as the config's ``optimizer`` says, over all parameters).
        make_scheduler: ``(config, optimizer, steps_per_epoch) -> (scheduler or None, interval)``, the interval
            ``'epoch'`` or ``'batch'`` (when the Trainer steps it). Default: :func:`plateau_scheduler` on
            ``monitor``.
        trainer_options: more :class:`~nnzoo.train.Trainer` arguments (``carry_state``, ``clip_grad_norm``).
        finish: ``(model, config, (train, val, test), out_dir) -> dict`` run after testing, e.g. to write
            samples; its items join the run's result (``figures`` are appended).
        sample: ``(model, config, prompt, length, temperature, top_k, generator) -> str`` for the models that
            write text (``nnzoo sample`` takes a run of any recipe that has it).
        translate: ``(model, config, text) -> (translation, notes)`` for the models that translate a text
            (``nnzoo translate`` takes a run of any recipe that has it); ``notes`` (a list of str) say what of
            the text was dropped or cut; a ValueError says why nothing is left to translate.
        constraints: ``{key: (check, allowed)}``, the rules of hyper-parameters with a meaning of their own:
            ``check(value, config) -> bool`` and ``allowed`` words for the error (``"an integer >= 0 (0:
            one-hot inputs)"``; ``{key}`` shows another key's value). A key's rule here replaces the one
            ``run_recipe`` derives from its default (an int default > 0: an integer >= 1; see
            ``nnzoo.recipes.runner``); the type check stays.
        fit: for models not trained by minibatch gradient descent through the Trainer (word2vec's fused
            Hogwild loop, the classic zoo's closed forms and EM loops): ``(model, config, data, out_dir, *, seed,
            progress, test, resume) -> dict`` trains ``build_model(config)`` on ``load_data(config)``, writes
            its own files into ``out_dir`` and returns the run's figures: ``val`` and ``test`` (dicts of numbers,
            or None), ``epochs``, ``figures`` ([(path, caption)]) and any other JSON items; ``history`` and
            ``model`` in it are returned by :func:`run_recipe` but not written to ``result.json``; ``resume`` is always
            False (``run_recipe`` refuses --resume for these recipes, which train in one go). When set,
            ``loaders``, ``loss``, ``metrics``, ``monitor``, ``make_optimizer``, ``make_scheduler`` and
            ``trainer_options`` are not used, and ``finish`` runs after it as for the other recipes.
    """

    name: str
    description: str
    build_model: Callable
    load_data: Callable
    loss: Callable | None = None
    defaults: dict = field(default_factory=dict)
    metrics: tuple = ("accuracy",)
    monitor: tuple = ("val_loss", "min")
    loaders: Callable | None = None
    make_optimizer: Callable = default_optimizer
    make_scheduler: Callable | None = None
    trainer_options: dict = field(default_factory=dict)
    finish: Callable | None = None
    sample: Callable | None = None
    translate: Callable | None = None
    constraints: dict = field(default_factory=dict)
    fit: Callable | None = None

    def __post_init__(self) -> None:
        if self.make_scheduler is None:
            self.make_scheduler = functools.partial(plateau_scheduler, mode=self.monitor[1])


def register(r: Recipe) -> Recipe:
    """Add a recipe to the registry (a name can be registered once).

    NOTE: the same source file registering the same name again is a second import of one module (pytest's
    ``--import-mode=importlib`` collecting ``nnzoo/recipes/x.py`` on its own, ``importlib.reload``): the newer
    recipe replaces the older. Another file taking a registered name is an error.
    """
    old = _RECIPES.get(r.name)
    if old is not None and _source_file(old) != _source_file(r):
        raise ValueError(f"recipes: a recipe named {r.name!r} is already registered")
    _RECIPES[r.name] = r
    return r


def _source_file(r: Recipe) -> str | None:
    code = getattr(r.build_model, "__code__", None)
    return os.path.realpath(code.co_filename) if code is not None else None


def recipes() -> dict[str, Recipe]:
    """``{name: Recipe}`` for every registered recipe, in registration order."""
    return dict(_RECIPES)


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; the error lists the known ones."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"recipes: no model called {name!r}; known: {', '.join(_RECIPES) or 'none'}") from None


def digits_splits(config: dict) -> tuple:
    """The 8x8 digits in a stratified 70/10/20 train/validation/test split (seed ``config['split_seed']``,
    default 0): the data of the digits recipes."""
    from ..data import train_val_test_split
    from ..data.datasets import digits
    ds = digits()
    return train_val_test_split(ds, val=0.1, test=0.2, stratify=ds.tensors[1], seed=config.get("split_seed", 0))


from .runner import ConfigError, RunError, load_run, make_out_dir, recipe_config, run_recipe  # noqa: E402

# the families, each registering its recipes on import, in the order `nnzoo train --list` shows them
# isort: off
from . import mlp, lenet, char_rnn, gpt, seq2seq, rnn_shapes, word2vec  # noqa: E402
from . import autoencoder, vae, gan, dcgan, mc_dropout  # noqa: E402  (issue 18: the generative zoo)
from . import perceptron, rbf, hopfield, boltzmann, rbm, dbn, markov, som, elm, esn, lsm  # noqa: E402  (issue 19)
from . import ntm, dnc, capsnet, caption, nas_rnn  # noqa: E402  (issue 20: memory, capsules, captions, NAS)
# isort: on
