"""``torch.utils.data.dataloader``: ``DataLoader`` and its collate helpers (``nnzoo.data.loader``) under
PyTorch's module path."""
from ...data.loader import DataLoader, default_collate, default_convert, get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
