"""Recipe ``dbn``: a deep belief network (:mod:`nnzoo.zoo.dbn`) on Fashion-MNIST, pretrained against the same
net from random initialisation.

Data: Fashion-MNIST's 60,000 training images scaled to [0, 1] (the RBMs read grey levels as probabilities),
the last ``n_val`` = 5,000 of them held out for validation; the 10,000 test images.

1. Greedy layer-wise pretraining of the RBMs of ``hidden`` (default 256-256) on all the other training images
   (labels unused): CD-``k`` (not persistent), ``pretrain_epochs`` passes each, step ``pretrain_lr``, batches
   of ``pretrain_batch``, shuffled; ``update`` as in the ``rbm`` recipe (``closed_form`` by default here: the
   layers are large, and the step is the same as the autograd one, tested).
2. Fine-tuning by the Trainer: the unrolled net (sigmoid layers initialised from the RBMs, a random softmax
   layer on top) and the same net at its default random initialisation, each trained on the first
   ``n_labelled`` labelled training images with the same optimizer (``optimizer``, ``lr``, ``momentum``,
   ``batch_size``, ``epochs``); each net's best validation epoch is tested.

result.json ``test``: ``accuracy`` (pretrained) and ``accuracy_random`` (random initialisation) on the test
set, and their difference; ``seconds`` (pretraining), the fine-tuning seconds. Pictures: the two learning curves
(validation accuracy and training loss per epoch), the first layer's filters.

::

    nnzoo train dbn --set hidden=[500,500] n_labelled=55000 epochs=10
"""
from __future__ import annotations

import time

import numpy as np

import nnzoo

from .. import nn
from ..data import DataLoader, TensorDataset
from ..train import Trainer
from ..zoo.dbn import DBN
from . import Recipe, default_optimizer, register
from .rbm import image_grid, train_rbm

__all__ = ["fashion_arrays", "pretrain", "finetune"]

DEFAULTS = {"hidden": [256, 256], "pretrain_epochs": 5, "pretrain_lr": 0.05, "pretrain_batch": 64, "k": 1,
            "update": "closed_form", "n_labelled": 10000, "n_val": 5000, "epochs": 20, "lr": 0.1, "momentum": 0.9,
            "optimizer": "sgd", "batch_size": 64, "weight_decay": 0.0}

CONSTRAINTS = {
    "update": (lambda v, c: v in ("autograd", "closed_form"), "autograd or closed_form"),
    "pretrain_epochs": (lambda v, c: v >= 0, "an integer >= 0 (0: no pretraining, both nets random)"),
    "pretrain_lr": (lambda v, c: v > 0, "a number > 0"),
    "n_val": (lambda v, c: 1 <= v <= 30000, "an integer in [1, 30000]"),
    "n_labelled": (lambda v, c: 1 <= v <= 60000 - c["n_val"], "an integer in [1, 60000 - n_val]"),
}


def fashion_arrays(n_val: int) -> dict:
    """Fashion-MNIST as float32 rows in [0, 1]: ``train``/``val`` (the last ``n_val`` training images)/``test``
    images (N, 784) and labels."""
    from ..data.datasets import FashionMNIST, fashion_mnist_root
    out = {}
    for train in (True, False):
        ds = FashionMNIST(fashion_mnist_root(), train=train)
        x = (ds.data.numpy().reshape(-1, 784) / 255.0).astype(np.float32)
        y = ds.targets.numpy().astype(np.int64)
        if train:
            out["train"], out["val"] = (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])
        else:
            out["test"] = (x, y)
    return out


def pretrain(dbn: DBN, x: np.ndarray, config: dict, generator: nnzoo.Generator, progress: bool = False) -> float:
    """Greedy layer-wise CD-k pretraining of ``dbn``'s RBMs on the rows of ``x``; returns the seconds."""
    seconds = 0.0
    data = nnzoo.from_numpy(x)
    for i, rbm in enumerate(dbn.rbms):
        seconds += train_rbm(rbm, data, epochs=config["pretrain_epochs"], lr=config["pretrain_lr"],
                             batch_size=config["pretrain_batch"], k=config["k"], persistent=False,
                             update=config["update"], generator=generator, shuffle=True)
        with nnzoo.no_grad():
            if progress:
                v = data[:2000]
                err = float(((rbm.visible_mean(rbm.hidden_probs(v)) - v) ** 2).sum(1).mean())
                print(f"dbn: RBM {i + 1} pretrained ({seconds:.1f} s), reconstruction error {err:.2f}")
            data = rbm.hidden_probs(data)                          # the next RBM's data
    return seconds


def finetune(net: nn.Module, arrays: dict, config: dict, out_dir, seed: int, progress: bool) -> dict:
    """Train ``net`` on the labelled images with the Trainer; test its best validation epoch."""
    def loader(split, n=None, shuffle=False):
        x, y = arrays[split]
        ds = TensorDataset(nnzoo.from_numpy(x[:n]), nnzoo.from_numpy(y[:n]))
        return DataLoader(ds, batch_size=config["batch_size"] if shuffle else 1000, shuffle=shuffle,
                          generator=nnzoo.Generator().manual_seed(seed) if shuffle else None)
    trainer = Trainer(net, nn.CrossEntropyLoss(), default_optimizer(config, net), metrics=["accuracy"],
                      out_dir=out_dir, progress=progress, monitor="val_accuracy", mode="max")
    t0 = time.perf_counter()
    trainer.fit(loader("train", config["n_labelled"], shuffle=True), loader("val"), epochs=config["epochs"])
    seconds = time.perf_counter() - t0
    trainer.load_best()
    return {"test": trainer.evaluate(loader("test")), "history": trainer.history, "seconds": seconds}


def fit(model: DBN, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """The ``fit`` hook: pretrain, fine-tune both nets, compare, draw."""
    arrays = fashion_arrays(config["n_val"])
    g = nnzoo.Generator().manual_seed(seed)
    dbn = DBN((784, *config["hidden"]), generator=g)
    seconds = pretrain(dbn, arrays["train"][0], config, g, progress) if config["pretrain_epochs"] else 0.0
    nnzoo.manual_seed(seed + 1)
    pre = finetune(dbn.classifier(10, pretrained=config["pretrain_epochs"] > 0), arrays, config,
                   out_dir / "pretrained", seed, progress)
    nnzoo.manual_seed(seed + 1)
    rnd = finetune(dbn.classifier(10, pretrained=False), arrays, config, out_dir / "random", seed, progress)
    result = {"accuracy": pre["test"]["accuracy"], "accuracy_random": rnd["test"]["accuracy"],
              "accuracy_gain": pre["test"]["accuracy"] - rnd["test"]["accuracy"],
              "loss": pre["test"]["loss"], "loss_random": rnd["test"]["loss"], "seconds": seconds,
              "finetune_seconds": pre["seconds"], "finetune_seconds_random": rnd["seconds"]}
    figures = [(str(_plot_curves(pre["history"], rnd["history"], config, out_dir / "learning_curves.png")),
                "pretrained vs random initialisation: learning curves")]
    figures.append((str(image_grid(dbn.rbms[0].weight.detach().numpy()[:50], (28, 28), out_dir / "filters.png",
                                   "first RBM's filters (50 of them)")), "first-layer filters"))
    return {"epochs": config["epochs"], "val": {"accuracy": max(pre["history"]["val_accuracy"]),
                                                "accuracy_random": max(rnd["history"]["val_accuracy"])},
            "test": result, "figures": figures,
            "curves": {"pretrained": {k: pre["history"][k] for k in ("train_loss", "val_accuracy")},
                       "random": {k: rnd["history"][k] for k in ("train_loss", "val_accuracy")}},
            "history": {"pretrained": pre["history"], "random": rnd["history"]}, "model": dbn}


def _plot_curves(pre, rnd, config, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 3.8))
    for j, (key, label) in enumerate((("val_accuracy", "validation accuracy"), ("train_loss", "training loss"))):
        ax = fig.add_subplot(1, 2, j + 1)
        for hist, name in ((pre, "DBN-pretrained"), (rnd, "random init")):
            ax.plot(range(1, len(hist[key]) + 1), hist[key], marker=".", label=name)
        ax.set_xlabel("fine-tuning epoch")
        ax.set_ylabel(label)
        ax.legend()
    fig.suptitle(f"Fashion-MNIST, 784-{'-'.join(map(str, config['hidden']))}-10, "
                 f"{config['n_labelled']} labelled images")
    return save_figure(fig, path)


register(Recipe(
    name="dbn",
    description="deep belief network on Fashion-MNIST: greedy RBM pretraining then fine-tuning, against the "
                "same net from random initialisation",
    build_model=lambda c: DBN((784, *c["hidden"])),
    load_data=lambda c: None,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
