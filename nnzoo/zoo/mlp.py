"""Feed-forward classifiers: a multi-layer perceptron and its linear baseline, logistic regression.

The notes' feed-forward network: f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L with ReLU as σ, trained
with the softmax cross-entropy loss. Logistic regression is the same model with no hidden layer: the
linear predictor f(x) = Wx + b that the notes start from.

Trained by the recipes ``mlp`` and ``logreg`` (:mod:`nnzoo.recipes.mlp`) on the 8x8 digits.
"""
from .. import nn

__all__ = ["MLP", "LogisticRegression"]


class MLP(nn.Module):
    """Flatten, then ``len(hidden)`` blocks of Linear → ReLU → Dropout, then a Linear to the classes.

    Args:
        in_features: size of one flattened input.
        hidden: widths of the hidden layers. Default: (256, 256).
        num_classes: number of outputs (logits).
        dropout: dropout probability after each hidden activation. Default: 0.

    Shape: input (N, *) with in_features elements per sample; output (N, num_classes).

    Example::

        >>> MLP(64, (32,), 10)(nnzoo.zeros(5, 1, 8, 8)).shape
        nnzoo.Size([5, 10])
    """

    def __init__(self, in_features, hidden=(256, 256), num_classes=10, dropout=0.0):
        super().__init__()
        layers = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):           # (N, *)
        return self.net(x)          # (N, num_classes)


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: logits = W flatten(x) + b (softmax inside the loss).

    Example::

        >>> LogisticRegression(64, 10)(nnzoo.zeros(5, 1, 8, 8)).shape
        nnzoo.Size([5, 10])
    """

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):                        # (N, *)
        return self.linear(self.flatten(x))      # (N, num_classes)
