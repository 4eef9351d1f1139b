"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``NAdam``, ``RAdam``, ``Adamax``, ``RMSprop``, ``Adagrad``, ``Adadelta``,
``LBFGS``, ``SparseAdam``) and learning-rate schedules (``optim.lr_scheduler``), with PyTorch's names, options and
``state_dict`` layout."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "SparseAdam", "lr_scheduler"]
