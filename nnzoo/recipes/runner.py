"""Running a recipe end to end: ``nnzoo train NAME`` and the tour call :func:`run_recipe`.

The workflow the notes teach: split the data into training, validation and test sets; train with
mini-batch SGD (or Adam) while watching the validation metric; lower the learning rate when it plateaus
(``plateau_patience``); keep the weights of the best validation epoch; only then look at the test set,
once. Everything a run writes goes to one folder: ``best.safetensors``, ``last.safetensors``
(resumable), ``history.json``, ``history.png`` and ``result.json``.

Distributed: started by MPI's launcher (``mpirun -np N nnzoo train cnn``), :func:`run_recipe` joins the
process group itself (``nnzoo.distributed.init_process_group()``) and trains data-parallel through the
Trainer: each process loads its share of the training set (``DistributedSampler``, reshuffled every epoch;
``batch_size`` is per process, as in PyTorch, so a step sees N * batch_size samples), gradients are averaged
(``DistributedDataParallel``), the logged metrics are the averages over the processes, validation and test run
on the whole sets, and rank 0 alone writes the folder (``result.json`` then says ``"processes": N``);
``--resume`` resumes on any number of processes. Recipes with their own ``fit`` rule run in one process only.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import time
from typing import Any

from .. import nn
from ..data import DataLoader
from ..io import atomic_write, dumps_json
from ..random import Generator, manual_seed
from ..train import Trainer
from . import Recipe, recipe

__all__ = ["run_recipe", "load_run", "recipe_config", "make_out_dir", "ConfigError", "RunError"]

# The hyper-parameters every recipe takes, with a value of the type each must have (a recipe's own default
# decides the type where it has one). plateau_patience and clip_grad_norm may also be None (off).
_COMMON = {"epochs": 1, "lr": 0.1, "batch_size": 1, "optimizer": "sgd", "weight_decay": 0.0, "momentum": 0.0,
           "plateau_patience": 0, "split_seed": 0, "clip_grad_norm": 1.0}
_NULLABLE = ("plateau_patience", "clip_grad_norm")
_OPTIMIZERS = ("sgd", "adam", "adamw")
_SEED_LIMIT = 2 ** 63

# Range rules of the common keys, and of keys that mean the same in every recipe that has them:
# {key: (check(value, config) -> bool, what is allowed)}. A recipe's own ``constraints`` replace these.
_RULES = {
    "epochs": (lambda v, c: v >= 1, "an integer >= 1"),
    "lr": (lambda v, c: v > 0, "a finite number > 0"),
    "batch_size": (lambda v, c: v >= 1, "an integer >= 1"),
    "optimizer": (lambda v, c: v.lower() in _OPTIMIZERS, " or ".join(_OPTIMIZERS)),
    "weight_decay": (lambda v, c: v >= 0, "a finite number >= 0"),
    "momentum": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "dropout": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "plateau_patience": (lambda v, c: v is None or v >= 0, "an integer >= 0 (0 or null: no plateau schedule)"),
    "split_seed": (lambda v, c: 0 <= v < _SEED_LIMIT, "an integer in [0, 2**63)"),
    "clip_grad_norm": (lambda v, c: v is None or v > 0, "a finite number > 0, or null for no clipping"),
}


class ConfigError(ValueError):
    """A hyper-parameter (or another argument of :func:`run_recipe`) that the recipe cannot take.

    Attributes:
        key (str): the hyper-parameter or argument (``'lr'``, ``'hidden'``, ``'seed'``, ``'out_dir'``).
        problem (str): what is wrong and what is allowed, without the key, e.g. ``'must be a number > 0,
            got -1.0'``; the message is ``'run_recipe(NAME): KEY PROBLEM'``.
    """

    def __init__(self, message: str, key: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.key, self.problem = key, problem if problem is not None else message


class RunError(ValueError):
    """A run folder :func:`load_run` cannot use: its ``result.json`` is unreadable, not JSON, lacks the
    recipe's name or config, names no known recipe, holds a config the recipe cannot take, or its weights
    do not fit the model that config describes. The message names the file."""


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    """A finite int or float (not a bool; not an int too large for a float)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _passes(check, value, config):
    try:
        return bool(check(value, config))
    except (TypeError, ValueError, ArithmeticError):
        return False


def _checked_type(value, example, nullable):
    """``value`` as the type of ``example`` (a float for an int), or a (None, what is allowed) pair."""
    if value is None and nullable:
        return value, None
    if isinstance(example, bool):
        return (value, None) if isinstance(value, bool) else (None, "true or false")
    if _is_int(example):
        return (value, None) if _is_int(value) else (None, "an integer")
    if isinstance(example, float):
        return (float(value), None) if _is_number(value) else (None, "a finite number")
    if isinstance(example, str):
        return (value, None) if isinstance(value, str) else (None, "a string")
    if isinstance(example, (list, tuple)):
        if isinstance(value, (list, tuple)) and all(_is_int(v) and v >= 1 for v in value):
            return value, None
        return None, "a list of integers >= 1, e.g. " + json.dumps(list(example))
    return value, None


def _default_rule(example):
    """The range rule of a key with neither a common nor a recipe rule: every int hyper-parameter of the zoo
    is a count, a size or a seed, so one whose default is positive must be >= 1, one whose default is 0
    (0 meaning 'all' or 'off', or a seed) >= 0."""
    if _is_int(example):
        low = 1 if example > 0 else 0
        return (lambda v, c: v >= low), f"an integer >= {low}"
    return None


def _config(r, overrides):
    """The recipe's defaults updated with ``overrides``, each value checked: it must have the type of the
    key's default (an int for an int; a float also takes an int; a list of ints >= 1 for a list), be finite,
    and pass the key's range rule: the recipe's ``constraints``, else the common rule (``_RULES``), else the
    rule of its default's kind (see ``_default_rule``). Raises :class:`ConfigError` naming the key."""
    def fail(key, problem):
        raise ConfigError(f"run_recipe({r.name!r}): {key} {problem}", key=key, problem=problem)

    known = {**_COMMON, **r.defaults}
    for key in overrides:
        if key not in known:
            fail(key, f"is not a hyper-parameter of {r.name}; it takes {', '.join(sorted(known))}")
    config = {**r.defaults, **overrides}
    own = r.constraints
    # keys with a recipe rule last: such a rule may read other keys (n_embd a multiple of n_head)
    for key in sorted(config, key=lambda k: k in own):
        value, allowed = _checked_type(config[key], known[key], key in _NULLABLE)
        rule = own.get(key) or _RULES.get(key) or _default_rule(known[key])
        if rule is not None and (allowed is not None or not _passes(rule[0], value, config)):
            allowed = rule[1]   # a rule's words include the type: "an integer >= 1"
            if key in own:      # a recipe's words may show other keys' values: "a multiple of n_head ({n_head})"
                allowed = allowed.format_map(config)
        if allowed is not None:
            fail(key, f"must be {allowed}, got {config[key]!r}")
        config[key] = value
    return config


def recipe_config(name: str, overrides: dict | None = None) -> dict:
    """The config :func:`run_recipe` would train ``name`` with: its defaults updated with ``overrides``,
    every value checked (:class:`ConfigError` names a key the recipe cannot take, and what it allows)."""
    return _config(recipe(name), overrides or {})


def make_out_dir(out_dir: str | os.PathLike) -> pathlib.Path:
    """``out_dir`` as a Path, created; :class:`ConfigError` (key ``out_dir``) when it cannot be."""
    out = pathlib.Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return out
    except OSError as e:
        blocker = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
        if blocker == out:
            problem = f"{str(out)!r} is a file, not a folder; give another one"
        elif blocker is not None:
            problem = f"{str(out)!r} cannot be created: {str(blocker)!r} is a file, not a folder; give another one"
        else:
            problem = f"{str(out)!r} cannot be created ({e.strerror or e}); give another one"
        raise ConfigError(f"run_recipe: out_dir {problem}", key="out_dir", problem=problem) from None


def _check_resumable(out, name, config, model):
    """Refuse to resume from ``out/last.safetensors`` when it holds another recipe's run, or weights of other
    names or shapes than ``model`` (other hyper-parameters): :class:`ConfigError` (key ``resume``). Nothing to
    check when there is no checkpoint yet. A damaged checkpoint raises :class:`~nnzoo.io.CheckpointError`."""
    from ..io import load
    last = out / "last.safetensors"
    if not last.is_file():
        return
    try:
        previous = json.loads((out / "result.json").read_text())
    except (OSError, ValueError):
        previous = None
    where = f"{str(last)!r}"
    if isinstance(previous, dict) and previous.get("name") not in (None, name):
        problem = (f"{where} is from a run of {previous['name']!r}, not {name!r}; resume it with "
                   f"`nnzoo train {previous['name']}`, or give another --out")
        raise ConfigError(f"run_recipe: resume: {problem}", key="resume", problem=problem)
    saved = load(last)
    state = saved.get("model") if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        return   # not a Trainer checkpoint: the Trainer says so
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    if own == theirs:
        return
    diff = sorted(k for k in set(own) | set(theirs) if own.get(k) != theirs.get(k))
    first = diff[0]
    detail = (f"{first} is {theirs[first]} there but {own[first]} here" if first in own and first in theirs
              else f"{first} is {'missing there' if first in own else 'not in this model'}")
    hint = "the hyper-parameters it was trained with"
    if isinstance(previous, dict) and isinstance(previous.get("config"), dict):
        as_set = lambda v: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))  # noqa: E731
        changed = [f"{k}={as_set(v)}" for k, v in previous["config"].items()
                   if k in config and k not in _COMMON and as_set(config[k]) != as_set(v)]
        if changed:
            hint = " ".join(f"--set {c}" for c in changed)
    problem = (f"{where} holds a model of other shapes ({detail}); resume with {hint}, or give another --out")
    raise ConfigError(f"run_recipe: resume: {problem}", key="resume", problem=problem)


def _best_epoch(history, monitor, mode):
    # NOTE: a NaN epoch is never the best (min/max on NaN is arbitrary)
    values = [(v, e) for v, e in zip(history.get(monitor) or [], history.get("epoch", []))
              if v is not None and math.isfinite(v)]
    if not values:
        return len(history.get("epoch", []))
    pick = max if mode == "max" else min
    return pick(values, key=lambda ve: ve[0])[1]


def run_recipe(name: str, out_dir: str | os.PathLike | None = None, overrides: dict | None = None,
               resume: bool = False, seed: int = 0, progress: bool = True, test: bool = True) -> dict[str, Any]:
    """Train the recipe ``name`` and test its best checkpoint once: its data, its model, its optimizer and
    scheduler (the recipe's ``make_optimizer`` and ``make_scheduler`` hooks), the Trainer, the best
    validation epoch's weights, the test set.

    Args:
        name: a registered recipe (``nnzoo train --list``).
        out_dir: where the run's files go. Default: ``runs/NAME``.
        overrides (dict): hyper-parameters replacing the recipe's defaults (``epochs``, ``lr``, ...).
        resume (bool): continue from ``out_dir/last.safetensors`` up to ``epochs`` epochs in all.
        seed (int): seeds the default generator (initialisation, dropout) and the shuffling.
        progress (bool): progress bars.
        test (bool): evaluate the best checkpoint on the test set. A hyper-parameter search passes
            False: its choices must see the validation set only. Default: True.

    A recipe with a ``fit`` hook (models not trained through the Trainer, e.g. word2vec) is trained by that
    hook instead of the Trainer loop; the result has the same keys.

    Returns:
        dict with ``out_dir``, ``config``, ``epochs``, ``best_epoch``, ``val`` and ``test`` (the best
        checkpoint's loss and metrics; ``test`` is None when ``test=False``), ``seconds`` (training time),
        ``figures`` ([(path, caption)]), what the recipe's ``finish`` adds, ``history``, ``model`` (with the
        best weights, in eval mode) and ``test_set``. The same dict, less the last three, is written to
        ``out_dir/result.json``.
    """
    r = recipe(name)
    config = _config(r, overrides or {})
    if not _is_int(seed) or not 0 <= seed < _SEED_LIMIT:
        raise ConfigError(f"run_recipe: seed must be an integer in [0, 2**63), got {seed!r}", key="seed",
                          problem=f"must be an integer in [0, 2**63), got {seed!r}")
    if resume and r.fit is not None:   # a fit hook trains by its own rule in one go: no resumable checkpoint
        raise ConfigError(f"run_recipe: resume: {name} trains in one go (its own fit rule); drop --resume",
                          key="resume", problem=f"is not supported by {name}, which trains in one go; drop --resume")
    world, rank = _join_process_group()
    if world > 1 and r.fit is not None:
        raise ConfigError(f"run_recipe: {name} trains by its own fit rule in one process; run it without mpirun",
                          key="processes", problem=f"must be 1 for {name} (its own fit rule), got {world}")
    out = make_out_dir(out_dir or os.path.join("runs", name))
    manual_seed(seed)
    data = r.load_data(config)
    if r.fit is not None:
        return _run_fit(r, config, data, out, seed=seed, progress=progress, test=test, resume=resume)
    if r.loaders is not None:
        train_loader, val_loader, test_loader = r.loaders(config, data, seed)
        if world > 1 and rank == 0:
            import warnings
            warnings.warn(f"run_recipe: {name} builds its own loaders, so every process trains on the same batches "
                          "(correct, but no faster than one process)", stacklevel=2)
    else:
        train_set, val_set, test_set = data
        if world > 1:
            from ..data import DistributedSampler
            train_loader = DataLoader(train_set, batch_size=config["batch_size"],
                                      sampler=DistributedSampler(train_set, seed=seed))
        else:
            train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                                      generator=Generator().manual_seed(seed))
        val_loader = DataLoader(val_set, batch_size=512)
        test_loader = DataLoader(test_set, batch_size=512)
    model = r.build_model(config)
    if resume:
        _check_resumable(out, name, config, model)
    optimizer = r.make_optimizer(config, model)
    scheduler, interval = r.make_scheduler(config, optimizer, len(train_loader))
    monitor, mode = r.monitor
    options = {"clip_grad_norm": config.get("clip_grad_norm"), **r.trainer_options}
    trainer = Trainer(model, r.loss(), optimizer, scheduler=scheduler, scheduler_interval=interval,
                      metrics=list(r.metrics), out_dir=out, progress=progress, monitor=monitor, mode=mode, **options)
    main = trainer.is_main
    start = time.perf_counter()
    trainer.fit(train_loader, val_loader, epochs=config["epochs"], resume=True if resume else None)
    seconds = time.perf_counter() - start
    trainer.load_best()
    model.eval()
    val = trainer.evaluate(val_loader)
    test = trainer.evaluate(test_loader) if test else None
    from ..viz.plots import plot_history
    figure = out / "history.png"
    if main:
        figure = plot_history(trainer.history, figure, title=f"{name}: {r.description}")
    result = {"name": name, "out_dir": str(out), "config": config, "seed": seed, "epochs": trainer.epoch,
              "best_epoch": _best_epoch(trainer.history, monitor, mode), "monitor": monitor,
              "val": val, "test": test, "seconds": seconds, "figures": [(str(figure), "training history")]}
    if world > 1:
        result["processes"] = world
    if r.finish is not None and main:
        extra = dict(r.finish(model, config, data, out))
        result["figures"] += extra.pop("figures", [])
        result.update(extra)
    if main:
        atomic_write(out / "result.json", dumps_json(result, indent=1))
    return {**result, "history": trainer.history, "model": model, "test_set": data[2]}


def _join_process_group() -> tuple[int, int]:
    """(world size, rank): joins nnzoo.distributed's default group when MPI's launcher started several
    processes and no group exists yet; (1, 0) for one process."""
    from .. import distributed as dist
    if not dist.is_initialized():
        sizes = [os.environ.get(k) for k in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")]
        if not any(s is not None and s.isdigit() and int(s) > 1 for s in sizes):
            return 1, 0
        dist.init_process_group()
    return dist.get_world_size(), dist.get_rank()


def _run_fit(r, config, data, out, *, seed, progress, test, resume):
    """``run_recipe`` for a recipe with its own ``fit`` (see :class:`Recipe`): fit, then ``finish``, then
    ``result.json`` with the same keys as a Trainer run (``best_epoch`` and ``monitor`` None)."""
    model = r.build_model(config)
    start = time.perf_counter()
    fitted = dict(r.fit(model, config, data, out, seed=seed, progress=progress, test=test, resume=resume))
    seconds = time.perf_counter() - start
    history, model = fitted.pop("history", None), fitted.pop("model", model)
    tested = fitted.pop("test", None)
    result = {"name": r.name, "out_dir": str(out), "config": config, "seed": seed,
              "epochs": fitted.pop("epochs", config.get("epochs")), "best_epoch": None, "monitor": None,
              "val": fitted.pop("val", None), "test": tested if test else None,
              "seconds": seconds, "figures": list(fitted.pop("figures", []))}
    result.update(fitted)
    if r.finish is not None:
        extra = dict(r.finish(model, config, data, out))
        result["figures"] += extra.pop("figures", [])
        result.update(extra)
    atomic_write(out / "result.json", dumps_json(result, indent=1))
    return {**result, "history": history, "model": model, "test_set": None}


def load_run(out_dir: str | os.PathLike,
             checkpoint: str = "best.safetensors") -> tuple[Recipe, dict, nn.Module]:
    """A trained model back from a :func:`run_recipe` folder: its ``result.json`` names the recipe and the
    config, ``checkpoint`` holds the weights.

    Returns:
        (recipe, config, model): the model in eval mode.

    Raises:
        FileNotFoundError: with what to run first, when the folder holds no finished run.
        RunError: when ``result.json`` is damaged (not JSON, no recipe name or config, an unknown recipe, a
            config the recipe cannot take) or the weights do not fit the model it describes.
        nnzoo.io.CheckpointError: when the weights file is damaged.
    """
    from ..io import load
    out = pathlib.Path(out_dir)
    result_path, weights = out / "result.json", out / checkpoint
    if not result_path.is_file() or not weights.is_file():
        raise FileNotFoundError(f"load_run: {out} holds no finished run (need result.json and {checkpoint}); "
                                f"train one first: `nnzoo train MODEL --out {out}` (`nnzoo train --list` names "
                                "the models)")
    damaged = f"load_run: {result_path} is damaged"
    retrain = f"train the run again (`nnzoo train MODEL --out {out}`)"
    retrain_as = lambda name: f"train the run again (`nnzoo train {name} --out {out}`)"  # noqa: E731
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RunError(f"{damaged} ({type(e).__name__}: {e}); {retrain}") from None
    if not isinstance(result, dict) or not isinstance(result.get("name"), str) \
            or not isinstance(result.get("config"), dict):
        raise RunError(f"{damaged}: it needs a recipe 'name' and a 'config' object; {retrain}")
    try:
        r = recipe(result["name"])
    except KeyError as e:
        raise RunError(f"load_run: {result_path} names {e.args[0][len('recipes: '):]}") from None
    try:
        config = _config(r, result["config"])
    except ConfigError as e:
        raise RunError(f"load_run: the config in {result_path} does not fit {r.name!r}: {e.key} {e.problem}; "
                       f"{retrain_as(r.name)}") from None
    model = r.build_model(config)
    state = load(weights)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        what = " ".join(str(e).split()) or type(e).__name__
        what = what if len(what) <= 160 else what[:157] + "..."
        raise RunError(f"load_run: {weights} does not fit the {r.name!r} model {result_path} describes "
                       f"({what}); {retrain_as(r.name)}") from None
    model.eval()
    return r, config, model
