"""Feed-forward classifiers: a multi-layer perceptron and its linear baseline, logistic regression.

The notes' feed-forward network: f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L with ReLU as σ, trained
with the softmax cross-entropy loss. Logistic regression is the same model with no hidden layer: the
linear predictor f(x) = Wx + b that the notes start from.

Recipes (``nnzoo train mlp``, ``nnzoo train logreg``): the 1,797 8x8 handwritten digits bundled with
scikit-learn, a stratified 70/10/20 train/validation/test split with a fixed seed.
"""
from .. import nn
from . import Recipe, digits_splits, register

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


# ---- recipes: the digits ---------------------------------------------------------------------------
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
