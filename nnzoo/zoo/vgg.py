"""VGG: Simonyan and Zisserman, "Very deep convolutional networks for large-scale image recognition",
ICLR 2015 (arXiv:1409.1556); torchvision's implementation, module for module.

The paper's idea: only 3x3 convolutions (stride 1, padding 1, so they keep the size) and 2x2 max pools
(which halve it). Two stacked 3x3 convs see a 5x5 window and three see 7x7, with fewer parameters and
more nonlinearities than one big filter. The depth is the configuration (the paper's Table 1):

====  ========  ================================================================================
cfg   model     conv widths ("M" = 2x2 max pool)
====  ========  ================================================================================
A     VGG-11    64 M 128 M 256 256 M 512 512 M 512 512 M
B     VGG-13    64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
D     VGG-16    64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
E     VGG-19    64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M
====  ========  ================================================================================

then ``AdaptiveAvgPool2d(7)`` and the classifier FC 4096 -> FC 4096 -> FC classes (ReLU and dropout 0.5
after the first two). ``_bn`` variants put ``BatchNorm2d`` between each conv and its ReLU (not in the
paper; Ioffe and Szegedy 2015). The module layout and ``state_dict`` keys are torchvision's
(``features.0.weight``, ..., ``classifier.6.bias``), so torchvision weights load unchanged; VGG-16 has
138,357,544 parameters at 1000 classes.

NOTE: ``nn.ReLU()`` where torchvision writes ``nn.ReLU(inplace=True)``: the same values and keys, but
nnzoo's in-place ops compute out of place and copy back, so in place would save no memory and cost a copy.

:class:`SmallVGG` is the issue's benchmark network: two VGG stages of 32 and 64 channels on 32x32 images.
"""
from .. import nn
from ..ops.shape import flatten

__all__ = ["VGG", "SmallVGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The ``features`` stack for a configuration: each number is a 3x3 conv (padding 1) of that width
    followed by [BatchNorm2d and] ReLU, each ``"M"`` a 2x2 max pool with stride 2.

    Example::

        >>> make_layers([8, "M", 16])
        Sequential(
          (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (1): ReLU()
          (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
          (3): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (4): ReLU()
        )
        >>> [type(m).__name__ for m in make_layers([8], batch_norm=True)]
        ['Conv2d', 'BatchNorm2d', 'ReLU']
    """
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            in_channels = v
    return nn.Sequential(*layers)


def _last_conv_width(features):
    convs = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("VGG: features has no Conv2d to take the classifier's input width from")
    return convs[-1].out_channels


class VGG(nn.Module):
    """VGG: ``features`` (3x3 convs and max pools), ``AdaptiveAvgPool2d(7)``, and a three-layer classifier.

    Args:
        features (nn.Sequential): the conv stack (:func:`make_layers`).
        num_classes (int): outputs. Default: 1000.
        init_weights (bool): torchvision's initialisation: conv weights ``kaiming_normal_`` (fan_out,
            relu) with zero bias, BatchNorm weight 1 and bias 0, linear weights N(0, 0.01) with zero bias.
            Default: True.
        dropout (float): dropout probability after the first two linear layers. Default: 0.5.
        hidden (int): width of the two hidden linear layers (keyword only; not in torchvision). Default: 4096.
        pool_size (int): the adaptive pool's output size (keyword only; not in torchvision). Default: 7.

    The classifier reads ``C * pool_size**2`` features, C the width of the last conv (512 in every
    configuration, as torchvision hard-codes).

    Shape: input (N, 3, H, W) (any H, W >= 32 with the five pools); output (N, num_classes).

    Example::

        >>> m = VGG(make_layers([8, "M", 16, "M"]), num_classes=10, hidden=32, pool_size=2)
        >>> m(nnzoo.zeros(2, 3, 16, 16)).shape
        nnzoo.Size([2, 10])
    """

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5, *, hidden=4096,
                 pool_size=7):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        width = _last_conv_width(features)
        self.classifier = nn.Sequential(
            nn.Linear(width * pool_size * pool_size, hidden),   # 0
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),                          # 3
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),                     # 6
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):               # (N, 3, 224, 224)
        x = self.features(x)            # (N, 512, 7, 7): five pools halve 224 to 7
        x = self.avgpool(x)             # (N, 512, 7, 7) whatever the input size
        x = flatten(x, 1)               # (N, 25088)
        return self.classifier(x)       # (N, num_classes)


def _vgg(cfg, batch_norm, num_classes, **kwargs):
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), num_classes=num_classes, **kwargs)


def vgg11(num_classes=1000, **kwargs):
    """VGG-11 (configuration A). ``kwargs`` go to :class:`VGG` (``init_weights``, ``dropout``, ...)."""
    return _vgg("A", False, num_classes, **kwargs)


def vgg11_bn(num_classes=1000, **kwargs):
    """VGG-11 (configuration A) with batch normalisation."""
    return _vgg("A", True, num_classes, **kwargs)


def vgg13(num_classes=1000, **kwargs):
    """VGG-13 (configuration B)."""
    return _vgg("B", False, num_classes, **kwargs)


def vgg13_bn(num_classes=1000, **kwargs):
    """VGG-13 (configuration B) with batch normalisation."""
    return _vgg("B", True, num_classes, **kwargs)


def vgg16(num_classes=1000, **kwargs):
    """VGG-16 (configuration D): 138,357,544 parameters at 1000 classes."""
    return _vgg("D", False, num_classes, **kwargs)


def vgg16_bn(num_classes=1000, **kwargs):
    """VGG-16 (configuration D) with batch normalisation."""
    return _vgg("D", True, num_classes, **kwargs)


def vgg19(num_classes=1000, **kwargs):
    """VGG-19 (configuration E)."""
    return _vgg("E", False, num_classes, **kwargs)


def vgg19_bn(num_classes=1000, **kwargs):
    """VGG-19 (configuration E) with batch normalisation."""
    return _vgg("E", True, num_classes, **kwargs)


class SmallVGG(nn.Module):
    """The issue's small VGG: [conv3x3 -> relu -> conv3x3 -> relu -> maxpool2] for 32 then 64 channels,
    flatten, Linear(64 * s * s, 256) -> relu -> Linear(256, num_classes).

    Args:
        num_classes (int): outputs. Default: 10.
        in_channels (int): input channels. Default: 3.
        input_size (int): height = width of the input (a multiple of 4). Default: 32 (s = 8: 4096 features).
        widths (tuple): channels of the two stages. Default: (32, 64).
        hidden (int): the hidden linear layer. Default: 256.

    Shape: input (N, in_channels, input_size, input_size); output (N, num_classes).

    Example::

        >>> SmallVGG()(nnzoo.zeros(2, 3, 32, 32)).shape
        nnzoo.Size([2, 10])
    """

    def __init__(self, num_classes=10, in_channels=3, input_size=32, widths=(32, 64), hidden=256):
        super().__init__()
        w1, w2 = widths
        s = input_size // 4
        self.features = make_layers([w1, w1, "M", w2, w2, "M"], in_channels=in_channels)
        self.classifier = nn.Sequential(nn.Linear(w2 * s * s, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):               # (N, 3, 32, 32)
        x = self.features(x)            # (N, 32, 32, 32) -> (N, 32, 16, 16) -> (N, 64, 16, 16) -> (N, 64, 8, 8)
        x = flatten(x, 1)               # (N, 4096)
        return self.classifier(x)       # (N, num_classes)
