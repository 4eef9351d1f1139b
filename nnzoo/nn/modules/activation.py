"""``torch.nn.modules.activation``: ``ReLU``, ``Hardtanh``, ``ReLU6``, ``Sigmoid``, ``Tanh``, ``SiLU``, ``ELU``,
``GELU``, ``LeakyReLU``, ``LogSigmoid``, ``Softplus``, ``MultiheadAttention``, ``Softmax``, ``LogSoftmax``."""
from ..activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from ..attention import MultiheadAttention

__all__ = ["ReLU", "Hardtanh", "ReLU6", "Sigmoid", "Tanh", "SiLU", "ELU", "GELU", "LeakyReLU", "LogSigmoid",
           "Softplus", "MultiheadAttention", "Softmax", "LogSoftmax"]
