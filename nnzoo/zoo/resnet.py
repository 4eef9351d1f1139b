"""ResNet: He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016
(arXiv:1512.03385); torchvision's ImageNet models and the paper's CIFAR-10 networks.

A residual block learns a correction F(x) to its input instead of a whole new map: y = relu(F(x) + x).
When F has nothing useful to add it can stay near zero, so a deeper network is never worse than a
shallower one at initialisation, and the identity path carries the gradient straight down the stack.

- :class:`BasicBlock` (two 3x3 convs, ResNet-18/34) and :class:`Bottleneck` (1x1 reduce, 3x3, 1x1 expand
  by 4, ResNet-50/101/152), with torchvision's stride on the 3x3 conv ("ResNet v1.5").
- :class:`ResNet` / :func:`resnet18`, :func:`resnet34`, :func:`resnet50`, :func:`resnet101`,
  :func:`resnet152`: torchvision's modules and ``state_dict`` keys (``conv1``, ``bn1``, ``layer1.0.conv1``,
  ``layer2.0.downsample.0`` / ``.1``, ..., ``fc``), so torchvision weights load unchanged; parameter counts
  at 1000 classes: ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50 25,557,032.
- :class:`CifarResNet` / :func:`resnet20`, :func:`resnet32`, :func:`resnet44`, :func:`resnet56`,
  :func:`resnet110`: the paper's §4.2 networks for 32x32 images: a 3x3 conv of 16 channels, three stages
  of n basic blocks with 16, 32 and 64 channels (depth 6n + 2), global average pooling and a linear layer.
  Shortcuts where the shape changes use the paper's **option A** by default: the identity, subsampled with
  stride 2 and zero-padded with the new channels (no parameters; the 0.27M / 0.46M / 0.85M counts of the
  paper's Table 6 are for this option). ``shortcut="B"`` uses a 1x1 conv + BatchNorm projection instead.

NOTE: ``nn.ReLU()`` and ``out = out + identity`` where torchvision writes ``nn.ReLU(inplace=True)`` and
``out += identity``: the same values and keys, but nnzoo's in-place ops compute out of place and copy back,
so in place would save no memory and cost a copy.
"""
from .. import nn
from ..ops.shape import flatten

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "CifarResNet", "ZeroPadShortcut", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]

F = nn.functional


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding (= dilation, which keeps the size at stride 1), no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias: a per-pixel linear map of the channels."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), two 3x3 convs of ``planes`` channels.

    Args:
        inplanes (int): input channels. planes (int): output channels.
        stride (int): stride of conv1 (2 halves the size). Default: 1.
        downsample (nn.Module, optional): the shortcut when the shape changes (1x1 conv + BN, or
            :class:`ZeroPadShortcut`). Default: None (the identity).
        groups, base_width, dilation: torchvision's; a basic block takes only 1, 64, 1.
        norm_layer: the normalisation class. Default: ``nn.BatchNorm2d``.

    Example::

        >>> BasicBlock(8, 8)(nnzoo.zeros(2, 8, 6, 6)).shape
        nnzoo.Size([2, 8, 6, 6])
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):                       # (N, inplanes, H, W)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))  # (N, planes, H / stride, W / stride)
        out = self.bn2(self.conv2(out))         # (N, planes, H / stride, W / stride)
        if self.downsample is not None:
            identity = self.downsample(x)       # (N, planes, H / stride, W / stride)
        out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)): 1x1 to ``width``,
    3x3 (with the stride), 1x1 to ``planes * 4``.

    ``width = planes * base_width / 64 * groups`` (ResNeXt and wide ResNets change it; 64 and 1 give
    ``planes``). The stride sits on the 3x3 conv as in torchvision (the paper puts it on the first 1x1).

    Example::

        >>> Bottleneck(32, 8)(nnzoo.zeros(2, 32, 6, 6)).shape
        nnzoo.Size([2, 32, 6, 6])
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):                           # (N, inplanes, H, W)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))    # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H / stride, W / stride)
        out = self.bn3(self.conv3(out))             # (N, 4 planes, H / stride, W / stride)
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


def _init_resnet(model, zero_init_residual):
    """torchvision's initialisation: conv weights ``kaiming_normal_`` (fan_out, relu), norm layers weight 1
    and bias 0; with ``zero_init_residual`` the last BN of each block starts at 0, so every residual
    block starts as the identity (Goyal et al. 2017, "Accurate, large minibatch SGD")."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                nn.init.constant_(m.bn3.weight, 0)
            elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                nn.init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """torchvision's ResNet: a 7x7/2 conv stem and 3x3/2 max pool, four stages of residual blocks
    (64, 128, 256, 512 planes; stages 2-4 halve the size), global average pooling and a linear layer.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers (list of 4 ints): blocks per stage ([2, 2, 2, 2] is ResNet-18).
        num_classes (int): outputs. Default: 1000.
        zero_init_residual (bool): start each block's last BN weight at 0. Default: False.
        groups (int), width_per_group (int): the bottleneck's grouped 3x3 conv (ResNeXt) and its width
            (wide ResNet). Default: 1, 64.
        replace_stride_with_dilation (list of 3 bools, optional): dilate stages 2-4 instead of striding.
        norm_layer: the normalisation class. Default: ``nn.BatchNorm2d``.
        in_channels (int): input channels (keyword only; not in torchvision). Default: 3.

    Shape: input (N, 3, H, W); output (N, num_classes). 224x224 gives 56x56 maps in stage 1 and 7x7 in
    stage 4; any H, W >= 32 work.

    Example::

        >>> m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
        >>> m(nnzoo.zeros(1, 3, 64, 64)).shape
        nnzoo.Size([1, 10])
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
                 replace_stride_with_dilation=None, norm_layer=None, *, in_channels=3):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, got "
                             f"{replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        """One stage: the first block changes the size/width (with a 1x1 conv + BN shortcut), the rest keep it."""
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),    # downsample.0
                norm_layer(planes * block.expansion),                        # downsample.1
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):                           # (N, 3, 224, 224)
        x = self.relu(self.bn1(self.conv1(x)))      # (N, 64, 112, 112)
        x = self.maxpool(x)                         # (N, 64, 56, 56)
        x = self.layer1(x)                          # (N, 64 e, 56, 56)   e = block.expansion
        x = self.layer2(x)                          # (N, 128 e, 28, 28)
        x = self.layer3(x)                          # (N, 256 e, 14, 14)
        x = self.layer4(x)                          # (N, 512 e, 7, 7)
        x = self.avgpool(x)                         # (N, 512 e, 1, 1)
        x = flatten(x, 1)                           # (N, 512 e)
        return self.fc(x)                           # (N, num_classes)


def resnet18(num_classes=1000, **kwargs):
    """ResNet-18: basic blocks [2, 2, 2, 2]; 11,689,512 parameters at 1000 classes. ``kwargs`` go to
    :class:`ResNet` (``zero_init_residual``, ...)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **kwargs)


def resnet34(num_classes=1000, **kwargs):
    """ResNet-34: basic blocks [3, 4, 6, 3]; 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, **kwargs)


def resnet50(num_classes=1000, **kwargs):
    """ResNet-50: bottlenecks [3, 4, 6, 3]; 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, **kwargs)


def resnet101(num_classes=1000, **kwargs):
    """ResNet-101: bottlenecks [3, 4, 23, 3]."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, **kwargs)


def resnet152(num_classes=1000, **kwargs):
    """ResNet-152: bottlenecks [3, 8, 36, 3]."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes=num_classes, **kwargs)


# ---- the paper's CIFAR-10 networks (§4.2) ---------------------------------------------------------------
class ZeroPadShortcut(nn.Module):
    """The paper's option A shortcut: x[:, :, ::stride, ::stride] with zero channels added, no parameters.

    The new ``planes - inplanes`` channels are split between the front and the back (as the widely used
    PyTorch reimplementation of the paper's CIFAR models does), so the old channels sit in the middle.

    Example::

        >>> ZeroPadShortcut(16, 32, 2)(nnzoo.ones(1, 16, 8, 8)).shape
        nnzoo.Size([1, 32, 4, 4])
    """

    def __init__(self, inplanes, planes, stride=2):
        super().__init__()
        if planes < inplanes:
            raise ValueError(f"ZeroPadShortcut: can't pad {inplanes} channels down to {planes}")
        self.inplanes, self.planes, self.stride = inplanes, planes, stride

    def forward(self, x):                                   # (N, inplanes, H, W)
        x = x[:, :, ::self.stride, ::self.stride]           # (N, inplanes, H / s, W / s)
        extra = self.planes - self.inplanes
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))  # (N, planes, H / s, W / s)

    def extra_repr(self):
        return f"{self.inplanes}, {self.planes}, stride={self.stride}"


class CifarResNet(nn.Module):
    """The paper's CIFAR-10 ResNet (§4.2): depth 6n + 2 = a 3x3 conv, 3 stages x n basic blocks x 2 convs,
    and the linear layer.

    =======  ============================================  ==============
    layer    what                                          output (32x32)
    =======  ============================================  ==============
    conv1    3x3 conv 16, BN, ReLU                         16 @ 32x32
    layer1   n basic blocks, 16 channels                   16 @ 32x32
    layer2   n basic blocks, 32 channels (first stride 2)  32 @ 16x16
    layer3   n basic blocks, 64 channels (first stride 2)  64 @ 8x8
    avgpool  global average pooling                        64
    fc       Linear(64, num_classes)                       num_classes
    =======  ============================================  ==============

    Args:
        depth (int): 6n + 2: 20, 32, 44, 56, 110, ... Default: 20.
        num_classes (int): outputs. Default: 10.
        shortcut (str): ``"A"`` (zero-padded identity, no parameters; the paper's CIFAR choice) or ``"B"``
            (1x1 conv + BN projection where the shape changes). Default: ``"A"``.
        in_channels (int): input channels. Default: 3.
        zero_init_residual (bool): start each block's bn2 weight at 0. Default: False.

    Initialisation is torchvision's (conv ``kaiming_normal_`` fan_out, BN 1 and 0; the paper uses He et
    al. 2015's normal init, fan_in), the linear layer PyTorch's default.

    Shape: input (N, in_channels, H, W) (32x32 for CIFAR); output (N, num_classes).

    Example::

        >>> m = CifarResNet(depth=8, num_classes=10)
        >>> m(nnzoo.zeros(2, 3, 16, 16)).shape
        nnzoo.Size([2, 10])
        >>> m.layer2[0].downsample
        ZeroPadShortcut(16, 32, stride=2)
    """

    def __init__(self, depth=20, num_classes=10, shortcut="A", in_channels=3, zero_init_residual=False):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero padding) or 'B' (projection), got {shortcut!r}")
        n = (depth - 2) // 6
        self.depth, self.shortcut = depth, shortcut
        self.inplanes = 16
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(16, n, stride=1)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            if self.shortcut == "A":
                downsample = ZeroPadShortcut(self.inplanes, planes, stride)
            else:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):                           # (N, 3, 32, 32)
        x = self.relu(self.bn1(self.conv1(x)))      # (N, 16, 32, 32)
        x = self.layer1(x)                          # (N, 16, 32, 32)
        x = self.layer2(x)                          # (N, 32, 16, 16)
        x = self.layer3(x)                          # (N, 64, 8, 8)
        x = flatten(self.avgpool(x), 1)             # (N, 64)
        return self.fc(x)                           # (N, num_classes)


def resnet20(num_classes=10, **kwargs):
    """CIFAR ResNet-20 (n = 3): about 0.27M parameters with option A shortcuts."""
    return CifarResNet(20, num_classes, **kwargs)


def resnet32(num_classes=10, **kwargs):
    """CIFAR ResNet-32 (n = 5): about 0.46M parameters."""
    return CifarResNet(32, num_classes, **kwargs)


def resnet44(num_classes=10, **kwargs):
    """CIFAR ResNet-44 (n = 7): about 0.66M parameters."""
    return CifarResNet(44, num_classes, **kwargs)


def resnet56(num_classes=10, **kwargs):
    """CIFAR ResNet-56 (n = 9): about 0.85M parameters."""
    return CifarResNet(56, num_classes, **kwargs)


def resnet110(num_classes=10, **kwargs):
    """CIFAR ResNet-110 (n = 18): about 1.7M parameters."""
    return CifarResNet(110, num_classes, **kwargs)
