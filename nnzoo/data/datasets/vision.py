"""``VisionDataset``: what the image datasets share (torchvision's base class of the same name)."""
from ..dataset import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """An image dataset held in memory: ``ds[i]`` is ``(transform(image), target_transform(target))``.

    Subclasses set ``root``, ``train``, ``transform``, ``target_transform`` and implement
    ``_sample(index) -> (image Tensor, target)``; this class applies the transforms and prints the
    dataset as torchvision does.
    """

    def __getitem__(self, index):
        image, target = self._sample(index)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _sample(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement _sample")

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
