"""``torch.utils.tensorboard``: ``SummaryWriter`` writing real TensorBoard event files (through tensorboardX),
accepting nnzoo tensors."""
from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
