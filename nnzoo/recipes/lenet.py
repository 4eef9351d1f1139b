"""Recipe of :mod:`nnzoo.zoo.lenet`: ``nnzoo train cnn``, the small CNN on the 8x8 digits.

The digits' stratified 70/10/20 split, Adam at 1e-3, batches of 32, 20 epochs, the epoch of lowest validation
loss kept.
"""
from .. import nn
from ..zoo.lenet import DigitsCNN
from . import Recipe, digits_splits, register

register(Recipe(
    name="cnn",
    description="CNN on the 8x8 digits: [conv3x3-BN-ReLU-maxpool2] x 2 (32, 64 channels), FC 128, dropout 0.25, Adam",
    build_model=lambda c: DigitsCNN(channels=tuple(c["channels"]), hidden=c["hidden"], dropout=c["dropout"]),
    load_data=digits_splits,
    loss=nn.CrossEntropyLoss,
    defaults=dict(epochs=20, lr=1e-3, batch_size=32, optimizer="adam", weight_decay=0.0, channels=(32, 64),
                  hidden=128, dropout=0.25),
    metrics=("accuracy",),
    # NOTE: 180 validation images make accuracy a coarse signal; the lowest validation loss picks better
    monitor=("val_loss", "min"),
    constraints={"channels": (lambda v, c: len(v) == 2, "two integers >= 1 (the stages' widths), e.g. [32, 64]")},
))
