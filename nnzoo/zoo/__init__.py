"""The zoo: every network the course teaches, one readable file per family.

Each family file defines its models (plain ``nn.Module`` classes) and registers the *recipes* that train
them on real data: which dataset, which model, which loss and default hyper-parameters. ``nnzoo train NAME``
and the tour run a recipe through :mod:`nnzoo.train`; ``nnzoo.zoo.recipes()`` lists them.
"""
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Recipe", "register", "recipe", "recipes", "digits_splits",
           "MLP", "LogisticRegression", "Net", "LeNet5", "DigitsCNN", "DigitsCNNConfig",
           "AlexNet", "TorchvisionAlexNet", "alexnet", "VGG", "SmallVGG", "make_layers", "vgg11", "vgg11_bn",
           "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "BasicBlock", "Bottleneck", "ResNet",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "CifarResNet", "ZeroPadShortcut",
           "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "CausalConv1d", "TemporalBlock",
           "TemporalConvNet", "TCN", "CharRNN", "CharRNNConfig", "SequenceClassifier", "SequenceGenerator",
           "gradient_flow", "GPT", "GPTConfig", "Seq2Seq", "Seq2SeqConfig", "TransformerSeq2Seq",
           "TransformerSeq2SeqConfig"]

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
        loaders: ``(config, (train, val, test), seed) -> (train_loader, val_loader, test_loader)``; default:
            ``DataLoader``s, the training one shuffled with ``batch_size``.
        trainer_options: more :class:`~nnzoo.train.Trainer` arguments (``carry_state``, ``clip_grad_norm``).
        finish: ``(model, config, (train, val, test), out_dir) -> dict`` run after testing, e.g. to write
            samples; its items join the run's result (``figures`` are appended).
        sample: ``(model, config, prompt, length, temperature, top_k, generator) -> str`` for the models that
            write text (``nnzoo sample``).
        constraints: ``{key: (check, allowed)}``, the rules of hyper-parameters with a meaning of their own:
            ``check(value, config) -> bool`` and ``allowed`` words for the error (``"an integer >= 0 (0:
            one-hot inputs)"``; ``{key}`` shows another key's value). A key's rule here replaces the one
            ``run_recipe`` derives from its default (an int default > 0: an integer >= 1; see
            ``nnzoo.train.recipes``); the type check stays.
    """

    name: str
    description: str
    build_model: Callable
    load_data: Callable
    loss: Callable
    defaults: dict = field(default_factory=dict)
    metrics: tuple = ("accuracy",)
    monitor: tuple = ("val_loss", "min")
    loaders: Callable = None
    trainer_options: dict = field(default_factory=dict)
    finish: Callable = None
    sample: Callable = None
    constraints: dict = field(default_factory=dict)


def register(r):
    """Add a recipe to the registry (a name can be registered once)."""
    if r.name in _RECIPES:
        raise ValueError(f"zoo: a recipe named {r.name!r} is already registered")
    _RECIPES[r.name] = r
    return r


def recipes():
    """``{name: Recipe}`` for every registered recipe, in registration order."""
    return dict(_RECIPES)


def digits_splits(config):
    """The 8x8 digits in a stratified 70/10/20 train/validation/test split (seed ``config['split_seed']``,
    default 0): the data of the digits recipes."""
    from ..data import train_val_test_split
    from ..data.datasets import digits
    ds = digits()
    return train_val_test_split(ds, val=0.1, test=0.2, stratify=ds.tensors[1], seed=config.get("split_seed", 0))


def recipe(name):
    """The recipe called ``name``; the error lists the known ones."""
    try:
        return _RECIPES[name]
    except KeyError:
        raise KeyError(f"zoo: no model called {name!r}; known: {', '.join(_RECIPES) or 'none'}") from None


# the families (each registers its recipes on import)
from .mlp import LogisticRegression, MLP  # noqa: E402
from .lenet import DigitsCNN, DigitsCNNConfig, LeNet5, Net  # noqa: E402
from .alexnet import AlexNet, TorchvisionAlexNet, alexnet  # noqa: E402
from .vgg import (VGG, SmallVGG, make_layers, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn,  # noqa: E402
                  vgg19, vgg19_bn)
from .resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet, ZeroPadShortcut, resnet18,  # noqa: E402
                     resnet20, resnet32, resnet34, resnet44, resnet50, resnet56, resnet101, resnet110, resnet152)
from .tcn import TCN, CausalConv1d, TemporalBlock, TemporalConvNet  # noqa: E402
from .char_rnn import CharRNN, CharRNNConfig  # noqa: E402
from .gpt import GPT, GPTConfig  # noqa: E402
from .seq2seq import Seq2Seq, Seq2SeqConfig, TransformerSeq2Seq, TransformerSeq2SeqConfig  # noqa: E402
from .rnn_shapes import SequenceClassifier, SequenceGenerator  # noqa: E402
from . import gradient_flow  # noqa: E402,F401
