"""What a CNN sees: its first-layer filters and the activation maps of every layer, saved as PNG files.

The notes: a conv layer with 6 filters of 5x5x3 slides each over a 32x32x3 image, giving 6 maps of
28x28, "we stack these up to get a new image of size 28x28x6". :func:`plot_activations` shows that new
image, channel by channel, for every conv, pooling and activation layer of a model on one input;
:func:`plot_filters` shows the filters themselves (as RGB pictures when they read an RGB image).

Every picture is normalised on its own (min to black, max to white) so that filters and maps with
small values are as visible as large ones: compare shapes within a tile, not brightness across tiles.

Figures are made with ``matplotlib.figure.Figure`` and its Agg canvas directly, never through ``pyplot``
(see :mod:`nnzoo.viz.plots`).
"""
import numpy as np

from .plots import _figure, save_figure

__all__ = ["filters_figure", "plot_filters", "activation_maps", "activations_figure", "plot_activations",
           "CAPTURED_LAYERS"]

# the nnzoo.nn classes (and their subclasses) whose outputs plot_activations captures when no layers are named
CAPTURED_LAYERS = ("Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
                   "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
                   "LocalResponseNorm", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid",
                   "Hardtanh", "Softplus")


def _numpy(x):
    """A float64 NumPy array from a Tensor, a Parameter, a module with ``.weight``, or an array."""
    x = getattr(x, "weight", x)
    if hasattr(x, "detach"):
        x = x.detach()
    return np.asarray(x, dtype=np.float64)


def _normalise(a, axes):
    """Min-max scale each item of ``a`` to [0, 1] over ``axes``; a constant item becomes 0.5."""
    lo = a.min(axis=axes, keepdims=True)
    span = a.max(axis=axes, keepdims=True) - lo
    # NOTE: a constant tile (a dead ReLU map, a zero filter) has span 0: show it mid-grey, not 0/0 = nan
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1.0), 0.5)


def _mosaic(tiles, ncols, pad=1, fill=1.0):
    """Tile ``tiles`` (n, h, w) or (n, h, w, 3) row by row into one image with ``pad`` pixels of ``fill``
    between them."""
    n, h, w = tiles.shape[:3]
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad) + tiles.shape[3:], fill)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tiles[i]
    return out


def _filter_tiles(w, max_filters):
    """Tiles and grid width for conv weights ``w`` (C_out, C_in, kh, kw): RGB when C_in == 3, grey
    otherwise (one tile per filter when C_in == 1, one row of C_in tiles per filter when more)."""
    if w.ndim == 3:                                   # Conv1d weights (C_out, C_in, k): one-row pictures
        w = w[:, :, None, :]
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected conv weights (C_out, C_in, kH, kW), got shape {w.shape}")
    w = w[:max_filters]
    c_out, c_in = w.shape[:2]
    w = _normalise(w, axes=(1, 2, 3))                 # per filter, across all its input channels
    if c_in == 3:
        return w.transpose(0, 2, 3, 1), int(np.ceil(np.sqrt(c_out)))   # (C_out, kh, kw, 3)
    if c_in == 1:
        return w[:, 0], int(np.ceil(np.sqrt(c_out)))                 # (C_out, kh, kw)
    return w.reshape(c_out * c_in, *w.shape[2:]), c_in                  # row f: filter f's channels


def filters_figure(conv_weight, title=None, max_filters=64):
    """A figure of convolution filters as a grid of small pictures.

    Args:
        conv_weight: the weights (C_out, C_in, kH, kW) (a Tensor, an array, or a conv module).
            With 3 input channels each filter is one RGB picture; with 1 one grey picture; otherwise
            each filter is a row of C_in grey pictures.
        title (str, optional): the figure's title.
        max_filters (int): show at most this many filters. Default: 64.

    Returns:
        matplotlib.figure.Figure
    """
    tiles, ncols = _filter_tiles(_numpy(conv_weight), max_filters)
    image = _mosaic(tiles, ncols)
    h, w = image.shape[:2]
    scale = 6.0 / max(h, w)
    fig = _figure(figsize=(max(2.0, w * scale), max(2.0, h * scale) + (0.4 if title else 0)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def plot_filters(conv_weight, path, title=None, max_filters=64, dpi=100):
    """Plot convolution filters (see :func:`filters_figure`) to ``path`` (e.g. a PNG); returns ``path``.

    Example::

        >>> conv = nnzoo.nn.Conv2d(3, 6, 5)
        >>> plot_filters(conv.weight, "filters.png", title="conv1: 6 filters of 3x5x5")
        'filters.png'
    """
    return save_figure(filters_figure(conv_weight, title, max_filters), path, dpi)


def _as_batch(image):
    """An image (C, H, W) / (C, L) or a batch of one as a float Tensor batch (1, C, ...)."""
    from .. import tensor
    from ..tensor import Tensor
    x = image if isinstance(image, Tensor) else tensor(np.asarray(image, dtype=np.float32))
    if x.ndim in (2, 3):
        x = x.unsqueeze(0)
    if x.ndim not in (3, 4) or x.shape[0] != 1:
        raise ValueError(f"plot_activations: expected one image (C, H, W) or (1, C, H, W) (or a sequence "
                         f"(C, L)), got shape {tuple(x.shape)}")
    return x


def activation_maps(model, image, layers=None):
    """The output of every conv, pooling and activation layer of ``model`` for one input.

    Forward hooks on the chosen modules record their outputs during one forward pass (eval mode, no
    gradients); the hooks are removed and the model's training mode restored afterwards, even when the
    forward pass fails.

    Args:
        model (nn.Module): the network.
        image: one input (C, H, W) or (1, C, H, W) (or a sequence (C, L)), a Tensor or an array.
        layers (list of str, optional): module names (as in ``model.named_modules()``) to record.
            Default: every module that is an instance of a class in :data:`CAPTURED_LAYERS`.

    Returns:
        dict: ``{name: array}`` in the order the layers ran, each array the layer's output for the
        image, (C, H, W) or (C, L). A module called more than once (the notes' ``Net`` uses one ``pool``
        twice) gets one entry per call: ``pool``, ``pool#2``.

    Example::

        >>> from nnzoo.zoo.lenet import Net
        >>> maps = activation_maps(Net(), nnzoo.randn(3, 32, 32))
        >>> {name: m.shape for name, m in maps.items()}
        {'conv1': (6, 28, 28), 'pool': (6, 14, 14), 'conv2': (16, 10, 10), 'pool#2': (16, 5, 5)}
    """
    from .. import nn
    from ..autograd.grad_mode import no_grad
    from ..nn.utils import evaluating
    from ..tensor import Tensor
    named = dict(model.named_modules())
    if layers is None:
        kinds = tuple(getattr(nn, n) for n in CAPTURED_LAYERS if hasattr(nn, n))
        chosen = [(name, m) for name, m in named.items() if name and isinstance(m, kinds)]
    else:
        unknown = [name for name in layers if name not in named]
        if unknown:
            raise KeyError(f"plot_activations: the model has no module {', '.join(map(repr, unknown))}; its "
                           f"modules are {', '.join(repr(n) for n in named if n)}")
        chosen = [(name, named[name]) for name in layers]
    maps = {}

    def recorder(name):
        def hook(module, args, output):
            if isinstance(output, Tensor) and output.ndim in (3, 4):
                key, k = name, 1
                while key in maps:
                    k += 1
                    key = f"{name}#{k}"
                maps[key] = np.asarray(output.detach()[0], dtype=np.float64)
        return hook

    x = _as_batch(image)
    handles = [m.register_forward_hook(recorder(name)) for name, m in chosen]
    try:
        with evaluating(model), no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return maps


def _map_tiles(a, max_channels):
    """Tiles (C, H, W) normalised per channel, and a grid width; a sequence (C, L) is one (C, L) picture."""
    if a.ndim == 2:
        return _normalise(a, axes=(1,))[None], 1          # one picture: channel c is row c
    a = a[:max_channels]
    return _normalise(a, axes=(1, 2)), min(len(a), 16)


def activations_figure(model, image, layers=None, max_channels=32, title=None, cmap="viridis"):
    """A figure with one row per recorded layer: the input image, then each layer's channels as a grid.

    Args:
        model, image, layers: as :func:`activation_maps`.
        max_channels (int): show at most this many channels of a layer. Default: 32.
        title (str, optional): the figure's title.
        cmap (str): the colour map of the activation maps. Default: ``'viridis'``.

    Returns:
        matplotlib.figure.Figure
    """
    maps = activation_maps(model, image, layers)
    x = _as_batch(image)
    inp = np.asarray(x.detach()[0], dtype=np.float64)
    rows = []                                               # (label, mosaic, is_rgb)
    if inp.ndim == 3 and inp.shape[0] == 3:
        rows.append((f"input: {'x'.join(map(str, inp.shape))}", _normalise(inp, axes=None).transpose(1, 2, 0), True))
    else:
        tiles, ncols = _map_tiles(inp, max_channels)
        rows.append((f"input: {'x'.join(map(str, inp.shape))}", _mosaic(tiles, ncols, fill=np.nan), False))
    for name, a in maps.items():
        tiles, ncols = _map_tiles(a, max_channels)
        shown = "" if a.ndim == 2 or len(a) <= max_channels else f" (first {max_channels})"
        # NOTE: nan between the tiles is drawn transparent: white gaps whatever the colour map
        rows.append((f"{name}: {'x'.join(map(str, a.shape))}{shown}", _mosaic(tiles, ncols, fill=np.nan), False))
    # NOTE: each row's height follows its mosaic's aspect ratio, so a row of tiles fills the width; a
    # tall picture (the input, a layer with few channels) is capped at 0.4 of the width and drawn smaller
    ratios = [min(0.4, max(0.15, m.shape[0] / m.shape[1])) for _, m, _ in rows]
    width = 8.0
    fig = _figure(figsize=(width, width * sum(ratios) * 0.5 + 0.45 * len(rows)), layout="constrained")
    grid = fig.add_gridspec(len(rows), 1, height_ratios=ratios)
    for i, (label, mosaic, rgb) in enumerate(rows):
        ax = fig.add_subplot(grid[i])
        ax.imshow(mosaic, cmap=None if rgb else cmap, interpolation="nearest", vmin=0, vmax=1,
                  aspect="auto" if mosaic.shape[0] < 4 else "equal")
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def plot_activations(model, image, path, layers=None, max_channels=32, title=None, dpi=100):
    """Plot the activation maps of every conv, pooling and activation layer for one image (see
    :func:`activations_figure`) to ``path``; returns ``path``.

    Example::

        >>> from nnzoo.zoo.lenet import Net
        >>> plot_activations(Net(), nnzoo.rand(3, 32, 32), "activations.png")
        'activations.png'
    """
    return save_figure(activations_figure(model, image, layers, max_channels, title), path, dpi)
