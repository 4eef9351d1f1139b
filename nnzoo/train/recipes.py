"""Running a zoo recipe end to end: ``nnzoo train NAME`` and the tour call :func:`run_recipe`.

The workflow the notes teach: split the data into training, validation and test sets; train with
mini-batch SGD (or Adam) while watching the validation metric; lower the learning rate when it plateaus
(``plateau_patience``); keep the weights of the best validation epoch; only then look at the test set,
once. Everything a run writes goes to one folder: ``best.safetensors``, ``last.safetensors``
(resumable), ``history.json``, ``history.png`` and ``result.json``.
"""
import json
import os
import pathlib
import time

from .. import optim
from ..io import atomic_write, dumps_json
from ..data import DataLoader
from ..random import Generator, manual_seed
from ..zoo import recipe
from .trainer import Trainer

__all__ = ["run_recipe", "make_optimizer", "load_run"]

_COMMON = ("epochs", "lr", "batch_size", "optimizer", "weight_decay", "momentum", "plateau_patience",
           "split_seed", "clip_grad_norm")


def make_optimizer(config, params):
    """The optimizer a config names: ``optimizer`` = ``'sgd'`` (with ``momentum``), ``'adam'`` or
    ``'adamw'``, at ``lr`` with ``weight_decay``."""
    name = config.get("optimizer", "sgd").lower()
    lr, wd = config["lr"], config.get("weight_decay", 0.0)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=config.get("momentum", 0.0), weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    raise ValueError(f"make_optimizer: unknown optimizer {name!r} (sgd, adam, adamw)")


def _config(r, overrides):
    config = dict(r.defaults)
    unknown = sorted(set(overrides) - set(config) - set(_COMMON))
    if unknown:
        raise ValueError(f"run_recipe: {r.name!r} has no hyper-parameter {', '.join(map(repr, unknown))}; "
                         f"it takes {', '.join(sorted(set(config) | set(_COMMON)))}")
    config.update(overrides)
    return config


def _best_epoch(history, monitor, mode):
    values = history.get(monitor) or []
    if not values:
        return len(history.get("epoch", []))
    pick = max if mode == "max" else min
    return history["epoch"][values.index(pick(values))]


def run_recipe(name, out_dir=None, overrides=None, resume=False, seed=0, progress=True, test=True):
    """Train the zoo recipe ``name`` and test its best checkpoint once.

    Args:
        name: a registered recipe (``nnzoo train --list``).
        out_dir: where the run's files go. Default: ``runs/NAME``.
        overrides (dict): hyper-parameters replacing the recipe's defaults (``epochs``, ``lr``, ...).
        resume (bool): continue from ``out_dir/last.safetensors`` up to ``epochs`` epochs in all.
        seed (int): seeds the default generator (initialisation, dropout) and the shuffling.
        progress (bool): progress bars.
        test (bool): evaluate the best checkpoint on the test set. A hyper-parameter search passes
            False: its choices must see the validation set only. Default: True.

    Returns:
        dict with ``out_dir``, ``config``, ``epochs``, ``best_epoch``, ``val`` and ``test`` (the best
        checkpoint's loss and metrics; ``test`` is None when ``test=False``), ``seconds`` (training time),
        ``figures`` ([(path, caption)]), what the recipe's ``finish`` adds, ``history``, ``model`` (with the
        best weights, in eval mode) and ``test_set``. The same dict, less the last three, is written to
        ``out_dir/result.json``.
    """
    r = recipe(name)
    config = _config(r, overrides or {})
    out = pathlib.Path(out_dir or os.path.join("runs", name))
    out.mkdir(parents=True, exist_ok=True)
    manual_seed(seed)
    data = r.load_data(config)
    if r.loaders is not None:
        train_loader, val_loader, test_loader = r.loaders(config, data, seed)
    else:
        train_set, val_set, test_set = data
        train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                                  generator=Generator().manual_seed(seed))
        val_loader = DataLoader(val_set, batch_size=512)
        test_loader = DataLoader(test_set, batch_size=512)
    model = r.build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    monitor, mode = r.monitor
    scheduler = None
    if config.get("plateau_patience"):
        scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=0.1,
                                                         patience=config["plateau_patience"])
    options = {"clip_grad_norm": config.get("clip_grad_norm"), **r.trainer_options}
    trainer = Trainer(model, r.loss(), optimizer, scheduler=scheduler, metrics=list(r.metrics), out_dir=out,
                      progress=progress, monitor=monitor, mode=mode, **options)
    start = time.perf_counter()
    trainer.fit(train_loader, val_loader, epochs=config["epochs"], resume=True if resume else None)
    seconds = time.perf_counter() - start
    trainer.load_best()
    model.eval()
    val = trainer.evaluate(val_loader)
    test = trainer.evaluate(test_loader) if test else None
    from ..viz.plots import plot_history
    figure = plot_history(trainer.history, out / "history.png", title=f"{name}: {r.description}")
    result = {"name": name, "out_dir": str(out), "config": config, "seed": seed, "epochs": trainer.epoch,
              "best_epoch": _best_epoch(trainer.history, monitor, mode), "monitor": monitor,
              "val": val, "test": test, "seconds": seconds, "figures": [(str(figure), "training history")]}
    if r.finish is not None:
        extra = dict(r.finish(model, config, data, out))
        result["figures"] += extra.pop("figures", [])
        result.update(extra)
    atomic_write(out / "result.json", dumps_json(result, indent=1))
    return {**result, "history": trainer.history, "model": model, "test_set": data[2]}


def load_run(out_dir, checkpoint="best.safetensors"):
    """A trained model back from a :func:`run_recipe` folder: its ``result.json`` names the recipe and the
    config, ``checkpoint`` holds the weights.

    Returns:
        (recipe, config, model): the model in eval mode.

    Raises:
        FileNotFoundError: with what to run first, when the folder holds no finished run.
    """
    from ..io import load
    out = pathlib.Path(out_dir)
    result_path, weights = out / "result.json", out / checkpoint
    if not result_path.is_file() or not weights.is_file():
        raise FileNotFoundError(f"load_run: {out} holds no finished run (need result.json and {checkpoint}); "
                                f"train one first: `nnzoo train MODEL --out {out}` (`nnzoo train --list` names "
                                "the models)")
    result = json.loads(result_path.read_text())
    r = recipe(result["name"])
    config = result["config"]
    model = r.build_model(config)
    model.load_state_dict(load(weights))
    model.eval()
    return r, config, model
