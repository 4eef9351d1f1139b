"""Two of the notes' shapes of recurrent networks, on the bundled 8x8 digits read as sequences of 8 rows.

- many-to-one, :class:`SequenceClassifier`: read the rows x_1..x_8 (8 pixels each), classify from the last
  hidden state h_8 (or from both directions' last states). Recipe ``rnn-digits`` (:mod:`nnzoo.recipes.rnn_shapes`).
- one-to-many, :class:`SequenceGenerator`: from one input (the digit's class) write a sequence, each output
  row fed back as the next step's input, as an image captioner writes words from one image's features.
  Trained with teacher forcing (the true previous row as input); :meth:`SequenceGenerator.generate` feeds
  its own rows back.
"""
from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import zeros
from ..ops.shape import cat, stack

__all__ = ["SequenceClassifier", "SequenceGenerator"]

_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _layer(cell, input_size, hidden, layers=1, bidirectional=False):
    if cell not in _LAYERS:
        raise ValueError(f"cell must be one of {', '.join(_LAYERS)}, got {cell!r}")
    return _LAYERS[cell](input_size, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)


class SequenceClassifier(nn.Module):
    """Many-to-one: an RNN/LSTM/GRU reads a sequence and a Linear classifies its final hidden state.

    Images (N, 1, H, W) are read as H steps of W features (one row a step). With ``bidirectional`` the
    forward direction's last state and the backward direction's last state (which has read the whole
    sequence backwards) are concatenated.

    Shape: input (N, T, F) or (N, 1, T, F); output (N, num_classes).

    Example::

        >>> SequenceClassifier(8, 16, 10)(nnzoo.zeros(4, 1, 8, 8)).shape
        nnzoo.Size([4, 10])
    """

    def __init__(self, input_size, hidden, num_classes, cell="lstm", layers=1, bidirectional=False):
        super().__init__()
        self.rnn = _layer(cell, input_size, hidden, layers, bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, x):                        # (N, T, F) or (N, 1, T, F)
        if x.ndim == 4:
            x = x.squeeze(1)                     # (N, T, F)
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state   # (layers * D, N, H)
        if self.rnn.bidirectional:
            last = cat([h[-2], h[-1]], dim=1)    # (N, 2H): the top layer's two directions
        else:
            last = h[-1]                         # (N, H)
        return self.head(last)                   # (N, classes)


class SequenceGenerator(nn.Module):
    """One-to-many: a class label sets the initial hidden state; the network writes ``steps`` vectors, each
    fed back as the next input (the first input is zeros).

    Shape: labels (N,) int64; ``forward(labels, targets)`` with targets (N, T, F) returns predictions
    (N, T, F) under teacher forcing; ``generate(labels, steps)`` returns (N, steps, F).

    Example::

        >>> gen = SequenceGenerator(num_classes=10, output_size=8, hidden=16)
        >>> gen.generate(nnzoo.tensor([3, 7]), steps=8).shape
        nnzoo.Size([2, 8, 8])
    """

    def __init__(self, num_classes, output_size, hidden=64, cell="gru"):
        super().__init__()
        self.output_size = output_size
        self.start = nn.Embedding(num_classes, hidden)     # the label -> h_0
        self.rnn = _layer(cell, output_size, hidden)
        self.out = nn.Linear(hidden, output_size)

    def _h0(self, labels):
        h0 = self.start(labels).unsqueeze(0).tanh()        # (1, N, H)
        return (h0, zeros(h0.shape, dtype=h0.dtype)) if isinstance(self.rnn, nn.LSTM) else h0

    def forward(self, labels, targets):                    # labels (N,), targets (N, T, F)
        N = targets.shape[0]
        first = zeros(N, 1, self.output_size, dtype=targets.dtype)
        inputs = cat([first, targets[:, :-1]], dim=1)      # (N, T, F): the true previous rows
        out, _ = self.rnn(inputs, self._h0(labels))        # (N, T, H)
        return self.out(out)                               # (N, T, F)

    @no_grad()
    def generate(self, labels, steps):
        state = self._h0(labels)
        x = zeros(labels.shape[0], 1, self.output_size)    # (N, 1, F)
        rows = []
        for _ in range(steps):
            out, state = self.rnn(x, state)
            x = self.out(out)                              # (N, 1, F), fed back
            rows.append(x[:, 0])
        return stack(rows, dim=1)                          # (N, steps, F)
