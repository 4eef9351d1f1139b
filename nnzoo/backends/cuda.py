"""``torch.backends.cuda``: cuBLAS's matmul flags and the attention-kernel switches, with PyTorch's defaults.
nnzoo has no CUDA (``is_built()`` is False), so they change nothing; ``matmul.allow_tf32`` reads and sets the
float32 matmul precision as in PyTorch."""
from __future__ import annotations

import sys


class _Matmul:
    """``torch.backends.cuda.matmul``: ``allow_tf32`` is ``get_float32_matmul_precision() != "highest"``."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True
    allow_fp16_accumulation = False

    @property
    def allow_tf32(self) -> bool:
        return sys.modules["nnzoo.backends"]._state["matmul_precision"] != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        sys.modules["nnzoo.backends"]._state["matmul_precision"] = "high" if value else "highest"


matmul = _Matmul()
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    return False


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _sdp["cudnn"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]
