"""``x ** e`` with a Python-number exponent on a (32, 16, 256) float32 tensor: the GELU of minGPT and
makemore (``x.pow(3.0)``) and the other common exponents, each the way PyTorch's CPU kernel computes it.
"""
import numpy as np

from ..registry import workload

EXPONENTS = (2, 3, 0.5, -1, -0.5, 1.5, 4)


@workload("pow_scalar",
          "x ** e for e in (2, 3, 0.5, -1, -0.5, 1.5, 4), x (32, 16, 256) float32 (|x| + 0.1 for the "
          "fractional exponents), no grad: seven forward pows")
def pow_scalar(torch):
    x_np = np.random.default_rng(0).standard_normal((32, 16, 256)).astype(np.float32)
    x = torch.tensor(x_np)
    pos = torch.tensor(np.abs(x_np) + np.float32(0.1))

    def step():
        return tuple((x if float(e).is_integer() else pos) ** e for e in EXPONENTS)
    return step
