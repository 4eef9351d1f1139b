"""``torch.nn.modules.module``: ``Module``, and the global module hooks that PyTorch keeps only on this path
(``torch.nn.modules.module.register_module_forward_hook``; ``torch.nn`` itself does not have them)."""
from ..module import (  # noqa: F401  (the hooks: importable from this path, as in PyTorch)
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)

__all__ = ["Module"]
