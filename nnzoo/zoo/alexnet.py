"""AlexNet: Krizhevsky, Sutskever and Hinton, "ImageNet classification with deep convolutional neural
networks", NeurIPS 2012; and torchvision's single-tower variant of it.

The notes' list: 96 filters 11x11 stride 4, local response normalisation (LRN), 3x3 max pooling with
stride 2 (overlapping), 256 5x5, LRN, pool, 384 3x3, 384 3x3, 256 3x3, pool, then fully connected 4096,
4096 and the classes, ReLU everywhere and dropout 0.5 in front of the first two fully connected layers.

- :class:`AlexNet`: the paper's network, as the notes list it. The classifier's input is computed from
  the input size (227 makes the paper's arithmetic work: 227 -> 55 -> 27 -> 13 -> 6; the paper says 224).
  ``groups=2`` reproduces the paper's two-GPU split: conv2, conv4 and conv5 see only the maps of their own
  GPU (the paper's 60M parameters); the default ``groups=1`` is the one-tower network of the notes.
- :class:`TorchvisionAlexNet` / :func:`alexnet`: torchvision's ``alexnet()``: the variant of Krizhevsky,
  "One weird trick for parallelizing convolutional neural networks" (2014): 64/192/384/256/256 filters,
  no LRN, an ``AdaptiveAvgPool2d(6)`` before the classifier; torchvision's module layout, so its
  ``state_dict`` keys (``features.0.weight``, ..., ``classifier.6.bias``) are torchvision's.

NOTE: ``nn.ReLU()`` where torchvision writes ``nn.ReLU(inplace=True)``: the same values and keys, but
nnzoo's in-place ops compute out of place and copy back, so in place would save no memory and cost a copy.
"""
from .. import nn
from ..ops.shape import flatten

__all__ = ["AlexNet", "TorchvisionAlexNet", "alexnet"]


def _out(size, kernel, stride=1, padding=0):
    """floor((n + 2p - k) / s) + 1: one axis of a convolution or pooling output."""
    return (size + 2 * padding - kernel) // stride + 1


class AlexNet(nn.Module):
    """The notes' AlexNet: five conv layers (two followed by LRN and max pooling), three FC layers.

    ======  ==============================================  =============
    layer   what                                            output (227)
    ======  ==============================================  =============
    conv1   Conv2d(3, 96, 11, stride 4), ReLU, LRN, pool    96 @ 27x27
    conv2   Conv2d(96, 256, 5, pad 2), ReLU, LRN, pool      256 @ 13x13
    conv3   Conv2d(256, 384, 3, pad 1), ReLU                384 @ 13x13
    conv4   Conv2d(384, 384, 3, pad 1), ReLU                384 @ 13x13
    conv5   Conv2d(384, 256, 3, pad 1), ReLU, pool          256 @ 6x6
    fc6     Dropout(0.5), Linear(9216, 4096), ReLU          4096
    fc7     Dropout(0.5), Linear(4096, 4096), ReLU          4096
    fc8     Linear(4096, num_classes)                       num_classes
    ======  ==============================================  =============

    LRN is the paper's: size 5, alpha 1e-4, beta 0.75, k 2; pooling 3x3 stride 2. ReLU comes before the
    LRN, as in the paper ("response normalization after applying the ReLU").

    Args:
        num_classes (int): outputs. Default: 1000.
        input_size (int): height = width of the input image; the classifier's input (256 * s * s) is
            computed from it. Default: 227.
        dropout (float): dropout probability in front of fc6 and fc7. Default: 0.5.
        groups (int): 1 for one tower; 2 for the paper's two GPUs (conv2, conv4, conv5 grouped). Default: 1.
        in_channels (int): input channels. Default: 3.

    Shape: input (N, in_channels, input_size, input_size); output (N, num_classes).

    Example::

        >>> m = AlexNet(num_classes=10, input_size=67)
        >>> m(nnzoo.zeros(1, 3, 67, 67)).shape
        nnzoo.Size([1, 10])
        >>> m.classifier[1]
        Linear(in_features=256, out_features=4096, bias=True)
    """

    def __init__(self, num_classes=1000, input_size=227, dropout=0.5, groups=1, in_channels=3):
        super().__init__()
        s = _out(input_size, 11, 4)              # conv1
        s = _out(s, 3, 2)                        # pool1
        s = _out(s, 3, 2)                        # conv2 keeps the size, pool2
        s = _out(s, 3, 2)                        # conv3..5 keep it, pool5
        if s < 1:
            raise ValueError(f"AlexNet: an input of {input_size}x{input_size} is too small (at least 67x67: "
                             f"conv1 11x11/4 and three 3x3/2 max pools)")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),                    # 0 conv1
            nn.ReLU(),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups),             # 4 conv2
            nn.ReLU(),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),                           # 8 conv3 (all maps)
            nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups),            # 10 conv4
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups),            # 12 conv5
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * s * s, 4096),                                            # 1 fc6
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),                                                   # 4 fc7
            nn.ReLU(),
            nn.Linear(4096, num_classes),                                            # 6 fc8
        )

    def forward(self, x):               # (N, 3, 227, 227)
        x = self.features(x)            # (N, 96, 55, 55) -> (N, 96, 27, 27) -> (N, 256, 13, 13) -> (N, 256, 6, 6)
        x = flatten(x, 1)               # (N, 9216)
        return self.classifier(x)       # (N, num_classes)


class TorchvisionAlexNet(nn.Module):
    """torchvision's AlexNet (Krizhevsky 2014, "One weird trick"): 64/192/384/256/256 filters, no LRN.

    The module layout is torchvision's (``features``, ``avgpool``, ``classifier``), so a torchvision
    ``state_dict`` loads unchanged; 61,100,840 parameters at 1000 classes.

    Args:
        num_classes (int): outputs. Default: 1000.
        dropout (float): dropout probability in front of the first two linear layers. Default: 0.5.

    Shape: input (N, 3, H, W) with H, W >= 63; output (N, num_classes).

    Example::

        >>> TorchvisionAlexNet(num_classes=10)(nnzoo.zeros(1, 3, 63, 63)).shape
        nnzoo.Size([1, 10])
    """

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):               # (N, 3, 224, 224)
        x = self.features(x)            # (N, 256, 6, 6)
        x = self.avgpool(x)             # (N, 256, 6, 6) whatever the input size
        x = flatten(x, 1)               # (N, 9216)
        return self.classifier(x)       # (N, num_classes)


def alexnet(num_classes=1000, dropout=0.5):
    """torchvision's ``alexnet()``: a :class:`TorchvisionAlexNet` (no pretrained weights: load a state dict
    exported from torchvision with ``load_state_dict``)."""
    return TorchvisionAlexNet(num_classes=num_classes, dropout=dropout)
