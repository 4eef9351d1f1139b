"""Recipe of :mod:`nnzoo.zoo.rnn_shapes`: ``nnzoo train rnn-digits``, the many-to-one LSTM reading the 8x8
digits one row at a time (the digits' stratified 70/10/20 split, Adam)."""
from .. import nn
from ..zoo.rnn_shapes import SequenceClassifier
from . import Recipe, digits_splits, register

_CELLS = ("rnn", "lstm", "gru")

register(Recipe(
    name="rnn-digits",
    description="many-to-one LSTM reading the 8x8 digits one row at a time",
    build_model=lambda c: SequenceClassifier(8, c["hidden"], 10, cell=c["cell"], layers=c["layers"],
                                             bidirectional=c["bidirectional"]),
    load_data=digits_splits,
    loss=nn.CrossEntropyLoss,
    defaults={"cell": "lstm", "hidden": 128, "layers": 1, "bidirectional": False, "epochs": 30, "lr": 3e-3,
              "batch_size": 64, "optimizer": "adam"},
    constraints={"cell": (lambda v, c: v in _CELLS, " or ".join(_CELLS))},
))
