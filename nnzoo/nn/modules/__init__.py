"""``torch.nn.modules``: PyTorch's module paths over nnzoo's layers, for code that imports from them
(``from torch.nn.modules.loss import _Loss``); the classes are nnzoo.nn's own, re-exported, not copies.
Each submodule holds the names of its PyTorch namesake that nnzoo has: ``module``, ``linear``, ``conv``,
``activation``, ``loss``, ``batchnorm``, ``normalization``, ``container``, ``dropout``, ``rnn``,
``transformer``, ``pooling``, ``sparse``, ``flatten``, ``fold``, ``pixelshuffle``, ``upsampling``, ``padding``,
``distance``, ``instancenorm``, ``utils``."""
from . import (
    activation,
    batchnorm,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
    utils,
)
from .activation import *  # noqa: F403
from .batchnorm import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .flatten import *  # noqa: F403
from .fold import *  # noqa: F403
from .instancenorm import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import *  # noqa: F403
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pixelshuffle import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sparse import *  # noqa: F403
from .transformer import *  # noqa: F403
from .upsampling import *  # noqa: F403

__all__ = [name for m in (activation, batchnorm, container, conv, distance, dropout, flatten, fold, instancenorm,
                          linear, loss, module, normalization, padding, pixelshuffle, pooling, rnn, sparse,
                          transformer, upsampling)
           for name in m.__all__]
