"""Neural-network building blocks (``nnzoo.nn``): ``Module`` and ``Parameter``, the layers, ``init``,
and the functional interface ``nn.functional``."""
from . import (
    functional,
    init,
    modules,
    parallel,
    utils,
)
from . import pool as _pool
from .activation import (
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
from .attention import BahdanauAttention, LuongAttention, MultiheadAttention
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Fold, Unfold
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from .embedding import Embedding, EmbeddingBag
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm
from .padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .parallel import DataParallel
from .parameter import Parameter
from .pool import *  # noqa: F403  (pooling, upsampling, LocalResponseNorm, PixelShuffle)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .recurrent_variants import (
    Bidirectional,
    ChoGRUCell,
    ConvLSTMCell,
    CoupledLSTMCell,
    MUT1Cell,
    MUT2Cell,
    MUT3Cell,
    PeepholeLSTMCell,
    Recurrent,
)
from .transformer import (
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["functional", "init", "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity",
           "Flatten", "Unflatten", "Linear", "Bilinear", "Embedding", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "AlphaDropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "ReLU", "ReLU6", "LeakyReLU",
           "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "LogSigmoid", "Softplus", "Hardtanh",
           "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "utils",
           "parallel", "DataParallel", "modules"]
__all__ += _pool.__all__
__all__ += ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Unfold", "Fold"]
__all__ += ["PeepholeLSTMCell", "CoupledLSTMCell", "ConvLSTMCell", "ChoGRUCell", "MUT1Cell", "MUT2Cell", "MUT3Cell",
            "Recurrent", "Bidirectional"]
__all__ += ["MultiheadAttention", "BahdanauAttention", "LuongAttention", "Transformer", "TransformerEncoder",
            "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer", "SinusoidalPositionalEncoding",
            "LearnedPositionalEncoding"]
__all__ += ["PReLU", "SELU", "CELU", "Softmin", "Softsign", "Hardswish", "Hardsigmoid", "Mish", "GLU", "Threshold",
            "Hardshrink", "Softshrink", "Tanhshrink", "RReLU", "Softmax2d"]
__all__ += ["CosineSimilarity", "PairwiseDistance"]
__all__ += ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d",
            "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
            "CircularPad1d", "CircularPad2d", "CircularPad3d"]
__all__ += ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "ParameterList", "ParameterDict"]
__all__ += ["TripletMarginLoss", "SoftMarginLoss", "HingeEmbeddingLoss", "MultiLabelSoftMarginLoss",
            "MultiLabelMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss"]
__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
__all__ += ["EmbeddingBag"]
