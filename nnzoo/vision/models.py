"""torchvision's ``models``: ResNet, VGG and AlexNet from :mod:`nnzoo.zoo`, built without weights.

``weights=None`` (and the old ``pretrained=False``) build the network with PyTorch's initialisation.
Pretrained weights are not downloaded (nnzoo runs offline): asking for them raises an error that says how
to load a state dict saved from torchvision instead.
"""
from __future__ import annotations

from typing import Any

from .. import nn
from ..zoo import resnet as _resnet
from ..zoo import vgg as _vgg
from ..zoo.alexnet import TorchvisionAlexNet as AlexNet
from ..zoo.alexnet import alexnet as _zoo_alexnet
from ..zoo.resnet import ResNet
from ..zoo.vgg import VGG

__all__ = ["ResNet", "VGG", "AlexNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11",
           "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "alexnet"]


def _no_weights(name: str, weights: Any, pretrained: bool) -> None:
    if weights is not None or pretrained:
        raise RuntimeError(f"torchvision.models.{name}: pretrained weights ({weights or 'pretrained=True'}) are not "
                           f"available: nnzoo works offline and downloads no weights. Build the model with "
                           f"weights=None and load a state dict saved from torchvision: "
                           f"model.load_state_dict(torch.load('{name}.pth'))")


def _builder(name: str, make):
    def build(*, weights: Any = None, progress: bool = True, pretrained: bool = False, **kwargs: Any) -> nn.Module:
        _no_weights(name, weights, pretrained)
        return make(**kwargs)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"torchvision's ``{name}(weights=None, **kwargs)``: nnzoo.zoo's model (``num_classes=...``); "
                     "pretrained weights raise an error (offline).")
    return build


resnet18 = _builder("resnet18", _resnet.resnet18)
resnet34 = _builder("resnet34", _resnet.resnet34)
resnet50 = _builder("resnet50", _resnet.resnet50)
resnet101 = _builder("resnet101", _resnet.resnet101)
resnet152 = _builder("resnet152", _resnet.resnet152)
vgg11 = _builder("vgg11", _vgg.vgg11)
vgg11_bn = _builder("vgg11_bn", _vgg.vgg11_bn)
vgg13 = _builder("vgg13", _vgg.vgg13)
vgg13_bn = _builder("vgg13_bn", _vgg.vgg13_bn)
vgg16 = _builder("vgg16", _vgg.vgg16)
vgg16_bn = _builder("vgg16_bn", _vgg.vgg16_bn)
vgg19 = _builder("vgg19", _vgg.vgg19)
vgg19_bn = _builder("vgg19_bn", _vgg.vgg19_bn)
alexnet = _builder("alexnet", _zoo_alexnet)
