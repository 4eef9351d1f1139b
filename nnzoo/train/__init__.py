"""Training: the ``Trainer`` loop, metrics, callbacks and hyper-parameter search.

``nnzoo.train.search`` needs Optuna, imported only when a search runs. How each zoo model is trained on its
task (its recipe: data, loss, metrics, optimizer, schedule) is a layer above, :mod:`nnzoo.recipes`;
nothing here imports it or the zoo.
"""
from . import callbacks, metrics
from .callbacks import Callback, EarlyStopping, History, LRSchedulerCallback, ModelCheckpoint, ProgressBar, TensorBoard
from .metrics import (
    Accuracy,
    BatchAverage,
    BitsPerCharacter,
    ConfusionMatrix,
    Mean,
    Metric,
    Perplexity,
    TopKAccuracy,
    accuracy,
    bits_per_character,
    confusion_matrix,
    perplexity,
    top_k_accuracy,
)
from .search import SearchResult, evaluate_best, search
from .trainer import NonFiniteError, StepOutput, Trainer, detach_state, fit

__all__ = ["Trainer", "StepOutput", "fit", "detach_state", "NonFiniteError", "callbacks", "metrics", "Callback",
           "History", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "ProgressBar", "TensorBoard",
           "Metric", "Mean", "BatchAverage", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "Perplexity",
           "BitsPerCharacter", "accuracy", "top_k_accuracy", "confusion_matrix", "perplexity", "bits_per_character",
           "search", "evaluate_best", "SearchResult"]
