"""``nnzoo.vision``: torchvision's names over nnzoo (``nnzoo run`` maps ``torchvision`` here).

- ``datasets``: MNIST, FashionMNIST, CIFAR10 (nnzoo's loaders, images as PIL images), ImageFolder, FakeData;
- ``transforms``: ToTensor, Normalize, Compose, Resize, CenterCrop, RandomCrop, RandomHorizontalFlip, ...;
- ``utils``: ``make_grid`` and ``save_image`` (PNG through Pillow);
- ``models``: resnet18/34/50/..., vgg11/16/..., alexnet from the zoo (no pretrained weights: offline).
"""
from . import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
