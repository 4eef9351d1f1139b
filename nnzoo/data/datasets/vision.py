"""``VisionDataset``: what the image datasets share (torchvision's base class of the same name)."""
from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

from ..dataset import Dataset
from .download import nnzoo_home

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """An image dataset held in memory: ``ds[i]`` is ``(transform(image), target_transform(target))``.

    Subclasses call ``super().__init__(root, train, transform, target_transform)`` (``root`` None means
    ``nnzoo_home()``) and implement ``_sample(index) -> (image Tensor, target)``; this class applies the
    transforms and prints the dataset as torchvision does.
    """

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = pathlib.Path(root).expanduser() if root is not None else nnzoo_home()
        self.train = train
        self.transform = transform
        self.target_transform = target_transform

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self._sample(index)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _sample(self, index: int) -> tuple[Any, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement _sample")

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
