"""What a CNN sees: filter grids and activation maps written as valid PNGs, the recorded maps equal to the
layers' outputs, hooks removed and the training mode restored afterwards (also when the forward fails)."""
import numpy as np
import pytest

import nnzoo
from nnzoo import nn
from nnzoo.viz.cnn import (
    _filter_tiles,
    _mosaic,
    activation_maps,
    activations_figure,
    filters_figure,
    plot_activations,
    plot_filters,
)
from nnzoo.zoo.lenet import Net
from nnzoo.zoo.tcn import TemporalConvNet

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_shape(path):
    import matplotlib.image
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    return matplotlib.image.imread(path).shape


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_rgb_filters_are_normalised_per_filter(tmp_path):
    conv = nn.Conv2d(3, 6, 5)
    w = np.asarray(conv.weight.detach(), dtype=np.float64)
    tiles, ncols = _filter_tiles(w, max_filters=64)
    assert tiles.shape == (6, 5, 5, 3) and ncols == 3
    f = w[2].transpose(1, 2, 0)  # (kh, kw, RGB)
    np.testing.assert_allclose(tiles[2], (f - f.min()) / (f.max() - f.min()))
    path = plot_filters(conv.weight, tmp_path / "f" / "filters.png", title="conv1")
    assert path == tmp_path / "f" / "filters.png"
    assert _png_shape(path)[2] in (3, 4)
    # a module works as well as its weight
    assert filters_figure(conv).axes[0].get_images()[0].get_array().shape[2] == 3


def test_grey_and_multichannel_filters(tmp_path):
    tiles, ncols = _filter_tiles(np.random.default_rng(0).standard_normal((8, 1, 3, 3)), 64)
    assert tiles.shape == (8, 3, 3) and ncols == 3
    tiles, ncols = _filter_tiles(np.random.default_rng(0).standard_normal((16, 6, 5, 5)), 4)
    assert tiles.shape == (4 * 6, 5, 5) and ncols == 6                   # row f: filter f's 6 channels
    tiles, _ = _filter_tiles(np.zeros((2, 1, 3)), 64)                    # Conv1d weights; constant -> grey
    assert tiles.shape == (2, 1, 3) and np.all(tiles == 0.5)
    assert _png_shape(plot_filters(nn.Conv2d(6, 16, 5).weight, tmp_path / "c2.png"))[0] > 50
    with pytest.raises(ValueError, match="conv weights"):
        _filter_tiles(np.zeros((3, 3)), 64)


def test_mosaic_places_tiles_row_by_row():
    tiles = np.arange(5 * 2 * 2, dtype=float).reshape(5, 2, 2)
    m = _mosaic(tiles, ncols=3, pad=1, fill=-1)
    assert m.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(m[3:5, 3:5], tiles[4])
    np.testing.assert_array_equal(m[0:2, 6:8], tiles[2])
    assert m[2, 0] == -1 and m[4, 7] == -1  # the gap and the unused last slot


def test_activation_maps_are_the_layers_outputs_and_hooks_are_removed():
    net = Net()
    net.train()
    x = nnzoo.randn(3, 32, 32)
    maps = activation_maps(net, x)
    assert list(maps) == ["conv1", "pool", "conv2", "pool#2"]  # Net calls its one pool twice
    assert _hooks(net) == 0 and net.training
    with nnzoo.no_grad():
        c1 = net.conv1(x.unsqueeze(0))
        p1 = net.pool(nn.functional.relu(c1))
    np.testing.assert_allclose(maps["conv1"], np.asarray(c1[0]), rtol=1e-6)
    np.testing.assert_allclose(maps["pool"], np.asarray(p1[0]), rtol=1e-6)
    assert maps["pool#2"].shape == (16, 5, 5)
    assert list(activation_maps(net, x.unsqueeze(0), layers=["conv2"])) == ["conv2"]
    with pytest.raises(KeyError, match="no module 'conv9'"):
        activation_maps(net, x, layers=["conv9"])
    assert _hooks(net) == 0


def test_plot_activations_writes_a_png_and_cleans_up(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 40, 3), nn.Tanh())
    path = plot_activations(model, np.random.default_rng(0).random((3, 16, 16)), tmp_path / "act.png")
    h, w, _ = _png_shape(path)
    assert h > w > 100  # one row per layer: input, conv, relu, pool, conv, tanh
    fig = activations_figure(model, nnzoo.rand(1, 3, 16, 16), max_channels=8)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["input: 3x16x16", "0: 4x16x16", "1: 4x16x16", "2: 4x8x8", "3: 40x6x6 (first 8)",
                      "4: 40x6x6 (first 8)"]
    assert _hooks(model) == 0 and model.training


def test_hooks_are_removed_when_the_forward_fails():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            self.conv(x)
            raise RuntimeError("boom")

    m = Broken()
    with pytest.raises(RuntimeError, match="boom"):
        activation_maps(m, nnzoo.zeros(1, 5, 5))
    assert _hooks(m) == 0 and m.training


def test_sequences_and_grey_images(tmp_path):
    tcn = TemporalConvNet(2, [4, 4], kernel_size=2)
    maps = activation_maps(tcn, nnzoo.randn(2, 20))
    assert all(a.shape == (4, 20) for a in maps.values())
    assert "network.0.conv1" in maps  # a CausalConv1d is a Conv1d: subclasses are captured too
    assert _png_shape(plot_activations(tcn, nnzoo.randn(2, 20), tmp_path / "tcn.png"))[0] > 50
    digits_net = Net(in_channels=1, input_size=8, padding=2)
    assert _png_shape(plot_activations(digits_net, nnzoo.rand(1, 8, 8), tmp_path / "digit.png"))[0] > 50
    with pytest.raises(ValueError, match="one image"):
        activation_maps(digits_net, nnzoo.zeros(2, 1, 8, 8))
