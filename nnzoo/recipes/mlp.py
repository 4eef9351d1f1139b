"""Recipes of :mod:`nnzoo.zoo.mlp`: ``nnzoo train mlp`` and ``nnzoo train logreg``.

The 1,797 8x8 handwritten digits bundled with scikit-learn, a stratified 70/10/20 train/validation/test split
with a fixed seed; the softmax cross-entropy loss; the epoch of best validation accuracy kept.
"""
from .. import nn
from ..zoo.mlp import MLP, LogisticRegression
from . import Recipe, digits_splits, register

register(Recipe(
    name="mlp",
    description="MLP 64-256-256-10 (ReLU, dropout 0.2) on the 8x8 digits, Adam",
    build_model=lambda c: MLP(64, c["hidden"], 10, dropout=c["dropout"]),
    load_data=digits_splits,
    loss=nn.CrossEntropyLoss,
    defaults=dict(epochs=30, lr=1e-3, batch_size=32, optimizer="adam", weight_decay=0.0,
                  hidden=(256, 256), dropout=0.2),
    metrics=("accuracy",),
    monitor=("val_accuracy", "max"),
))

register(Recipe(
    name="logreg",
    description="logistic regression (a linear classifier) on the 8x8 digits, SGD with momentum",
    build_model=lambda c: LogisticRegression(64, 10),
    load_data=digits_splits,
    loss=nn.CrossEntropyLoss,
    defaults=dict(epochs=30, lr=0.1, batch_size=32, optimizer="sgd", momentum=0.9, weight_decay=1e-4),
    metrics=("accuracy",),
    monitor=("val_accuracy", "max"),
))
