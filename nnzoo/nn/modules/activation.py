"""``torch.nn.modules.activation``: ``ReLU``, ``Hardtanh``, ``ReLU6``, ``Sigmoid``, ``Tanh``, ``SiLU``, ``ELU``,
``GELU``, ``LeakyReLU``, ``LogSigmoid``, ``Softplus``, ``MultiheadAttention``, ``Softmax``, ``LogSoftmax``."""
from ..activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from ..attention import MultiheadAttention

__all__ = ["ReLU", "Hardtanh", "ReLU6", "Sigmoid", "Tanh", "SiLU", "ELU", "GELU", "LeakyReLU", "LogSigmoid",
           "Softplus", "MultiheadAttention", "Softmax", "LogSoftmax"]
__all__ += ["PReLU", "SELU", "CELU", "Softmin", "Softsign", "Hardswish", "Hardsigmoid", "Mish", "GLU", "Threshold",
            "Hardshrink", "Softshrink", "Tanhshrink", "RReLU", "Softmax2d"]
