"""Metrics: accuracy, top-k accuracy, confusion matrix, perplexity and bits per character.

Two forms of each:

* functions on one batch (``accuracy(logits, y)``), returning Python floats (or a NumPy matrix);
* ``Metric`` objects that accumulate over an epoch (``reset()``, ``update(output, target)`` per batch,
  ``compute()`` at the end), which is how the :class:`~nnzoo.train.Trainer` uses them. Accumulating the
  counts (not averaging per-batch values) makes an epoch's accuracy exact when the last batch is smaller.

Scores follow PyTorch's loss convention: the class dimension is dim 1, so logits are ``(N, C)`` or
``(N, C, d1, ...)`` with targets ``(N,)`` or ``(N, d1, ...)`` (a language model's ``(B, T, V)`` output is
``output.transpose(1, 2)`` or ``output.reshape(-1, V)`` first, as for ``F.cross_entropy``). Inputs may be
nnzoo Tensors or NumPy arrays; metrics never build autograd graphs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.arrays import as_array
from ..tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "perplexity", "bits_per_character", "Metric", "Mean",
           "BatchAverage", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "Perplexity", "BitsPerCharacter",
           "get_metric"]


def _np(x: Any) -> np.ndarray:
    """The NumPy array behind a Tensor (no copy, no graph) or ``np.asarray`` of anything else."""
    return as_array(x)


def _predictions(input, target, threshold, name):
    """Predicted labels from scores (argmax over dim 1) or labels (same shape as target)."""
    input, target = _np(input), _np(target)
    if input.ndim == target.ndim + 1:
        if input.shape[:1] + input.shape[2:] != target.shape:
            raise ValueError(f"{name}: scores of shape {input.shape} (classes on dim 1) do not match targets "
                             f"of shape {target.shape}")
        return input.argmax(axis=1), target
    if input.shape == target.shape:
        return (input > threshold if threshold is not None else input), target
    raise ValueError(f"{name}: expected scores of shape (N, C, ...) with targets (N, ...), or predictions of the "
                     f"targets' shape; got input {input.shape} and target {target.shape}")


def _correct(input, target, threshold, name):
    pred, target = _predictions(input, target, threshold, name)
    return int(np.count_nonzero(pred == target)), target.size


def accuracy(input: Tensor | np.ndarray, target: Tensor | np.ndarray, threshold: float | None = None) -> float:
    """The fraction of samples whose predicted class equals the target.

    Args:
        input (Tensor or array): class scores ``(N, C, ...)`` (logits or probabilities; the prediction is
            the argmax over dim 1), or predicted labels with the target's shape.
        target (Tensor or array): class indices ``(N, ...)``.
        threshold (float, optional): for binary outputs with the target's shape (e.g. one logit per sample
            for ``BCEWithLogitsLoss``): predict 1 where ``input > threshold`` (0.0 for logits, 0.5 for
            probabilities). Default: None (``input`` already holds labels).

    Returns:
        float in [0, 1] (nan for an empty batch).

    Example::

        >>> logits = nnzoo.tensor([[2.0, 0.1], [0.3, 0.9], [1.0, -1.0]])
        >>> accuracy(logits, nnzoo.tensor([0, 1, 1]))
        0.6666666666666666
        >>> accuracy(nnzoo.tensor([0.7, -0.2]), nnzoo.tensor([1.0, 1.0]), threshold=0.0)
        0.5
    """
    correct, total = _correct(input, target, threshold, "accuracy")
    return correct / total if total else math.nan


def _top_k_correct(input, target, k, name):
    input, target = _np(input), _np(target)
    if input.ndim != target.ndim + 1 or input.shape[:1] + input.shape[2:] != target.shape:
        raise ValueError(f"{name}: expected scores (N, C, ...) and targets (N, ...), got input {input.shape} and "
                         f"target {target.shape}")
    if not 1 <= k <= input.shape[1]:
        raise ValueError(f"{name}: k={k} must be in [1, {input.shape[1]}] (the number of classes)")
    target_score = np.take_along_axis(input, np.expand_dims(target, 1).astype(np.intp), axis=1)
    # NOTE: the rank of the target's score is the number of classes scoring strictly higher; the target
    # is in the top k when fewer than k beat it. With tied scores this counts in the target's favour
    # (torch.topk would break the tie by position).
    rank = np.count_nonzero(input > target_score, axis=1)
    return int(np.count_nonzero(rank < k)), target.size


def top_k_accuracy(input: Tensor | np.ndarray, target: Tensor | np.ndarray, k: int = 5) -> float:
    """The fraction of samples whose target is among the ``k`` highest-scoring classes.

    Args:
        input (Tensor or array): class scores ``(N, C, ...)``.
        target (Tensor or array): class indices ``(N, ...)``.
        k (int): how many top classes count as a hit. Default: 5.

    Example::

        >>> scores = nnzoo.tensor([[0.1, 0.5, 0.4], [0.8, 0.15, 0.05]])
        >>> top_k_accuracy(scores, nnzoo.tensor([2, 2]), k=2)
        0.5
    """
    correct, total = _top_k_correct(input, target, k, "top_k_accuracy")
    return correct / total if total else math.nan


def confusion_matrix(input: Tensor | np.ndarray, target: Tensor | np.ndarray,
                     num_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: ``cm[i, j]`` samples of class i predicted as j.

    Rows are true classes and columns predictions, as in ``sklearn.metrics.confusion_matrix``.

    Args:
        input (Tensor or array): class scores ``(N, C, ...)`` or predicted labels ``(N, ...)``.
        target (Tensor or array): class indices ``(N, ...)``.
        num_classes (int, optional): size of the matrix. Default: C for scores, else the largest label + 1.

    Returns:
        np.ndarray of int64, shape ``(num_classes, num_classes)``.

    Example::

        >>> confusion_matrix(nnzoo.tensor([0, 1, 1, 2]), nnzoo.tensor([0, 1, 2, 2]))
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 1, 1]])
    """
    scores = _np(input)
    pred, target = _predictions(scores, target, None, "confusion_matrix")
    pred, target = pred.ravel().astype(np.int64), target.ravel().astype(np.int64)
    if num_classes is None:
        if scores.ndim == target.ndim + 1 and scores.ndim > 1:
            num_classes = scores.shape[1]
        else:
            num_classes = int(max(pred.max(initial=-1), target.max(initial=-1))) + 1
    for what, labels in (("predictions", pred), ("targets", target)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {what} must lie in [0, {num_classes}), got values in "
                             f"[{labels.min()}, {labels.max()}]")
    counts = np.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def perplexity(loss: float | Tensor) -> float:
    """Perplexity ``exp(loss)`` from a mean cross-entropy in nats (e.g. ``F.cross_entropy``'s value).

    Example::

        >>> perplexity(math.log(4.0))  # as unsure as a uniform choice among 4 tokens
        4.0
    """
    return math.exp(float(loss))


def bits_per_character(loss: float | Tensor) -> float:
    """Bits per character ``loss / ln 2`` from a mean per-character cross-entropy in nats.

    Example::

        >>> bits_per_character(math.log(2.0))
        1.0
    """
    return float(loss) / math.log(2.0)


def _cross_entropy_sum(input, target, ignore_index):
    """Sum of the per-element cross-entropies (nats) of logits ``(N, C, ...)`` and the count summed."""
    logits, target = _np(input).astype(np.float64), _np(target)
    if logits.ndim != target.ndim + 1 or logits.shape[:1] + logits.shape[2:] != target.shape:
        raise ValueError(f"cross-entropy metric: expected logits (N, C, ...) and targets (N, ...), got "
                         f"{logits.shape} and {target.shape}")
    keep = target != ignore_index
    safe = np.where(keep, target, 0).astype(np.intp)
    # log-softmax over dim 1 with the max subtracted first (log-sum-exp), so large logits do not overflow
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -np.take_along_axis(log_probs, np.expand_dims(safe, 1), axis=1).squeeze(1)
    return float(nll[keep].sum()), int(np.count_nonzero(keep))


# ---- accumulating metrics ------------------------------------------------------------------------
class Metric:
    """A value accumulated over many batches: ``reset()``, ``update(output, target)``, ``compute()``.

    Subclasses keep running sums in plain Python numbers, so ``state_dict()`` (their ``__dict__``) can go
    into a checkpoint. ``name`` is the key the Trainer logs the value under (``'val_' + name`` on the
    validation set).
    """

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        raise NotImplementedError

    def compute(self) -> float | np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """A weighted mean: ``sum(w_i * v_i) / sum(w_i)``; the Trainer's mean loss, weighted by batch size.

    ``update(value, weight=1.0)`` takes a number (or a one-element tensor). Averaging per-batch mean
    losses weighted by the batch sizes gives the exact mean over all samples, also with a short last batch.

    Example::

        >>> m = Mean("loss")
        >>> m.update(1.0, weight=3); m.update(2.0, weight=1)
        >>> m.compute()
        1.25
    """

    def __init__(self, name: str = "mean") -> None:
        self.name = name
        super().__init__()

    def reset(self) -> None:
        self.total = 0.0
        self.weight = 0.0

    def update(self, value: float | Tensor, weight: float = 1.0) -> None:
        self.total += float(value) * float(weight)
        self.weight += float(weight)

    def compute(self) -> float:
        return self.total / self.weight if self.weight else math.nan


class Accuracy(Metric):
    """:func:`accuracy` over all samples seen since ``reset()``.

    Example::

        >>> acc = Accuracy()
        >>> acc.update(nnzoo.tensor([[1.0, 0.0], [0.0, 1.0]]), nnzoo.tensor([0, 0]))
        >>> acc.update(nnzoo.tensor([[0.0, 1.0]]), nnzoo.tensor([1]))
        >>> acc.compute()
        0.6666666666666666
    """

    name = "accuracy"

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = threshold
        super().__init__()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        correct, total = _correct(output, target, self.threshold, "Accuracy")
        self.correct += correct
        self.total += total

    def compute(self) -> float:
        return self.correct / self.total if self.total else math.nan


class TopKAccuracy(Accuracy):
    """:func:`top_k_accuracy` over all samples seen since ``reset()``; logged as ``top{k}_accuracy``."""

    def __init__(self, k: int = 5) -> None:
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        correct, total = _top_k_correct(output, target, self.k, "TopKAccuracy")
        self.correct += correct
        self.total += total


class ConfusionMatrix(Metric):
    """:func:`confusion_matrix` summed over batches; ``compute()`` returns the ``(C, C)`` count matrix.

    Example::

        >>> cm = ConfusionMatrix(num_classes=2)
        >>> cm.update(nnzoo.tensor([0, 1]), nnzoo.tensor([0, 0])); cm.update(nnzoo.tensor([1]), nnzoo.tensor([1]))
        >>> cm.compute()
        array([[1, 1],
               [0, 1]])
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        super().__init__()

    def reset(self) -> None:
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        self.matrix += confusion_matrix(output, target, self.num_classes)

    def compute(self) -> np.ndarray:
        return self.matrix.copy()

    def state_dict(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "matrix": self.matrix.tolist()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.num_classes = state_dict["num_classes"]
        self.matrix = np.asarray(state_dict["matrix"], dtype=np.int64).reshape(self.num_classes, self.num_classes)


class Perplexity(Metric):
    """Perplexity ``exp(mean cross-entropy)`` of logits ``(N, C, ...)`` over every target token seen.

    Computes the cross-entropy itself (in float64, from the logits), so the mean is over tokens, whatever
    the loss function; targets equal to ``ignore_index`` (padding) are left out, as in ``F.cross_entropy``.
    ``class_dim`` says where the classes are (``-1`` for a language model's ``(T, B, V)`` scores).

    Example::

        >>> ppl = Perplexity()
        >>> ppl.update(nnzoo.zeros(2, 4), nnzoo.tensor([1, 3]))  # uniform over 4 classes
        >>> round(ppl.compute(), 6)
        4.0
    """

    name = "perplexity"

    def __init__(self, ignore_index: int = -100, class_dim: int = 1) -> None:
        self.ignore_index = ignore_index
        self.class_dim = class_dim
        super().__init__()

    def reset(self) -> None:
        self.nats = 0.0
        self.count = 0

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        if self.class_dim != 1:  # e.g. a language model's (T, B, V) scores: classes last
            output = np.moveaxis(_np(output), self.class_dim, 1)
        nats, count = _cross_entropy_sum(output, target, self.ignore_index)
        self.nats += nats
        self.count += count

    def mean_cross_entropy(self) -> float:
        return self.nats / self.count if self.count else math.nan

    def compute(self) -> float:
        return perplexity(self.mean_cross_entropy())


class BitsPerCharacter(Perplexity):
    """Bits per character ``mean cross-entropy / ln 2`` over every target character seen (see
    :class:`Perplexity`); logged as ``bpc``."""

    name = "bpc"

    def compute(self) -> float:
        return bits_per_character(self.mean_cross_entropy())


class BatchAverage(Metric):
    """Any ``fn(output, target) -> float`` per batch, averaged over batches weighted by their size
    (``len(target)``): how the Trainer accumulates a plain function given as a metric.

    Example::

        >>> mae = BatchAverage(lambda out, y: float(np.abs(np.asarray(out) - np.asarray(y)).mean()), "mae")
        >>> mae.update(nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([1.0, 1.0])); mae.compute()
        0.5
    """

    def __init__(self, fn: Callable[[Any, Any], float], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "metric")
        super().__init__()

    def reset(self) -> None:
        self.mean = Mean(self.name)

    def update(self, output: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        n = _np(target).shape[0] if _np(target).ndim else 1
        self.mean.update(self.fn(output, target), n)

    def compute(self) -> float:
        return self.mean.compute()

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.mean.total, "weight": self.mean.weight}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.mean.total, self.mean.weight = state_dict["total"], state_dict["weight"]


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy, "perplexity": Perplexity, "ppl": Perplexity,
            "bpc": BitsPerCharacter, "bits_per_character": BitsPerCharacter}


def get_metric(spec: str | Metric | Callable[[Any, Any], float]) -> Metric:
    """A :class:`Metric` from a name (``'accuracy'``, ``'top5_accuracy'``, ``'perplexity'``, ``'bpc'``), a
    Metric (returned as it is) or a function ``fn(output, target) -> float`` (a :class:`BatchAverage`).

    Example::

        >>> get_metric("top3_accuracy")
        TopKAccuracy(name='top3_accuracy')
    """
    if isinstance(spec, Metric):
        return spec
    if callable(spec) and not isinstance(spec, str):
        return BatchAverage(spec)
    if isinstance(spec, str):
        key = spec.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        if key.startswith("top") and key.endswith("_accuracy") and key[3:-9].isdigit():
            return TopKAccuracy(int(key[3:-9]))
        raise ValueError(f"get_metric: unknown metric {spec!r}; known: {sorted(_BY_NAME)} and 'top<k>_accuracy'")
    raise TypeError(f"get_metric: expected a metric name or a Metric, got {type(spec).__name__}")

