"""Plots: valid PNG files, one subplot per quantity holding exactly the history's numbers, decision regions
that follow the model's predictions, and no change to pyplot's global state."""
import json
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo import nn, optim
from nnzoo.train import Trainer
from nnzoo.viz.plots import (
    _predict_labels,
    decision_boundary_figure,
    history_figure,
    plot_decision_boundary,
    plot_history,
    save_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HISTORY = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
           "train_accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.65], "lr": [0.1, 0.1, 0.01],
           "time": [0.2, 0.2, 0.2]}


def _png_shape(path):
    """(height, width) of a PNG, after checking its signature and reading it back with matplotlib."""
    import matplotlib.image
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    return matplotlib.image.imread(path).shape[:2]


def _curves(fig):
    """{subplot title: {legend label: y values}}."""
    return {ax.get_title(): {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
            for ax in fig.axes}


def test_plot_history_writes_a_png_with_one_subplot_per_quantity(tmp_path):
    path = plot_history(HISTORY, tmp_path / "sub" / "history.png")
    assert path == tmp_path / "sub" / "history.png"
    h, w = _png_shape(path)
    assert w > h > 50  # two subplots side by side
    curves = _curves(history_figure(HISTORY))
    assert curves == {"loss": {"train": HISTORY["train_loss"], "val": HISTORY["val_loss"]},
                      "accuracy": {"train": HISTORY["train_accuracy"], "val": HISTORY["val_accuracy"]}}
    with_lr = history_figure(HISTORY, include_lr=True)
    assert _curves(with_lr)["lr"] == {"lr": HISTORY["lr"]}
    assert with_lr.axes[-1].get_yscale() == "log"


def test_history_from_keras_keys_json_file_and_trainer(tmp_path):
    keras = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9], "acc": [0.3, 0.6]}
    assert _curves(history_figure(keras)) == {"loss": {"train": [1.0, 0.5], "val": [1.2, 0.9]},
                                              "acc": {"train": [0.3, 0.6]}}
    (tmp_path / "history.json").write_text(json.dumps(HISTORY))
    assert _curves(history_figure(str(tmp_path / "history.json"))) == _curves(history_figure(HISTORY))

    x = nnzoo.randn(16, 2)
    model = nn.Linear(2, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), progress=False)
    trainer.fit([(x, x[:, :1])], val_loader=[(x, x[:, :1])], epochs=3)
    assert _curves(history_figure(trainer))["loss"] == {"train": trainer.history["train_loss"],
                                                        "val": trainer.history["val_loss"]}


def test_history_errors():
    with pytest.raises(ValueError, match="nothing to plot"):
        history_figure({"epoch": [1, 2], "time": [0.1, 0.1]})
    with pytest.raises(TypeError, match="expected a dict of lists"):
        history_figure([1.0, 0.5])


def test_predicted_labels_from_scores_logits_and_labels():
    rng = np.random.default_rng(0)
    pts = rng.standard_normal((20, 2)).astype(np.float32)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(_predict_labels(lambda p: p @ nnzoo.tensor(w), pts, 0.0), (pts @ w).argmax(1))
    logit = pts[:, 0] - pts[:, 1]
    np.testing.assert_array_equal(_predict_labels(lambda p: (p[:, 0] - p[:, 1]).unsqueeze(1), pts, 0.0), logit > 0)
    np.testing.assert_array_equal(_predict_labels(lambda p: (p[:, 0] - p[:, 1]).sigmoid(), pts, 0.5), logit > 0)
    np.testing.assert_array_equal(_predict_labels(lambda p: (p[:, 0] > 0).long(), pts, 0.0), pts[:, 0] > 0)


def test_plot_decision_boundary_png_and_regions(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 2)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    model = nn.Linear(2, 2)
    path = plot_decision_boundary(model, nnzoo.tensor(X), nnzoo.tensor(y), tmp_path / "b.png", resolution=40,
                                  title="linear")
    assert min(_png_shape(path)) > 50
    fig = decision_boundary_figure(lambda p: p[:, 0] - p[:, 1], X, y, resolution=30)
    ax = fig.axes[0]
    assert ax.collections[-1].get_offsets().shape == (60, 2)  # the data points on top of the regions
    x0, x1 = ax.get_xlim()
    assert x0 == pytest.approx(X[:, 0].min() - 0.5) and x1 == pytest.approx(X[:, 0].max() + 0.5)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\), got \(60, 3\)"):
        decision_boundary_figure(model, np.zeros((60, 3)), y)


def test_save_figure_leaves_pyplot_alone(tmp_path):
    from matplotlib.figure import Figure
    pyplot_before = "matplotlib.pyplot" in sys.modules
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert _png_shape(save_figure(fig, tmp_path / "a" / "b" / "line.png"))
    plot_history(HISTORY, tmp_path / "h.png")
    if not pyplot_before:  # plotting never imported pyplot (no global figures, no backend switch)
        assert "matplotlib.pyplot" not in sys.modules


def test_a_null_in_history_json_is_a_gap_not_a_dropped_curve(tmp_path):
    """history.json writes NaN as null (strict JSON): the curve keeps its other epochs; the skip mode's
    batch count is not a quantity to plot."""
    from nnzoo.io import dumps_json
    history = dict(HISTORY, val_loss=[1.1, float("nan"), 0.7], skipped_batches=[0, 1, 0])
    (tmp_path / "history.json").write_text(dumps_json(history))
    curves = _curves(history_figure(str(tmp_path / "history.json")))
    assert set(curves) == {"loss", "accuracy"}
    val = curves["loss"]["val"]
    assert val[0] == 1.1 and np.isnan(val[1]) and val[2] == 0.7
