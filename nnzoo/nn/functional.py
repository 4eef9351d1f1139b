"""``import nnzoo.nn.functional as F``: the functions live in ``nnzoo/functional.py``."""
from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401
