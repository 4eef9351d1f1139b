"""``torch.nn.modules.linear``: ``Bilinear``, ``Identity``, ``Linear``, and ``NonDynamicallyQuantizableLinear``
(the ``Linear`` subclass that ``MultiheadAttention.out_proj`` is an instance of, as in PyTorch; named here
because programs list it in ``torch.serialization.safe_globals`` to load a whole Transformer)."""
from ..attention import NonDynamicallyQuantizableLinear  # noqa: F401 - in the module, not its __all__ (as torch)
from ..linear import Bilinear, Identity, Linear

__all__ = ["Bilinear", "Identity", "Linear"]
