"""``torch.backends.cpu``: what the CPU offers. nnzoo runs NumPy's kernels, which pick their own SIMD paths."""
from __future__ import annotations


def get_cpu_capability() -> str:
    """The widest SIMD extension NumPy's kernels use here ("AVX512", "AVX2", "NEON", ...; "DEFAULT" if none)."""
    import numpy as np
    try:
        features = np._core._multiarray_umath.__cpu_features__
    except AttributeError:  # NumPy's private table moved: report the baseline
        return "DEFAULT"
    for name, label in (("AVX512F", "AVX512"), ("AVX2", "AVX2"), ("ASIMD", "NEON"), ("SVE", "SVE")):
        if features.get(name):
            return label
    return "DEFAULT"
