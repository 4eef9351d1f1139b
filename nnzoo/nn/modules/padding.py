"""``torch.nn.modules.padding``: the padding layers (zero, constant, reflection, replication, circular)."""
from ..padding import *  # noqa: F403
from ..padding import __all__  # noqa: F401
