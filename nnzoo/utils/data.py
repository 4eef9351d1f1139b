"""``nnzoo.utils.data``: the same objects as ``nnzoo.data`` (``from nnzoo.utils.data import DataLoader``)."""
from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
