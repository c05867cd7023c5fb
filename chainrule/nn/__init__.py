"""``chainrule.nn``: PyTorch-style modules on chainrule's engine.

Modules are pytrees (parameters and floating buffers are the leaves), so the same model trains PyTorch-style
(``loss.backward()``, then read ``p.grad``) and JAX-style (``value_and_grad(loss_fn)(model)`` returns a model-shaped
gradient; update with ``tree_map``). ``functional`` holds the stateless functions, ``init`` the initialisers.

>>> import chainrule as cr
>>> from chainrule import nn
>>> _ = cr.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> x, y = cr.randn(5, 4), cr.tensor([0, 1, 2, 0, 1])
>>> loss = nn.functional.cross_entropy(model(x), y)
>>> loss.backward()
>>> model[0].weight.grad.shape
(8, 4)
>>> grads = cr.grad(lambda m: nn.functional.cross_entropy(m(x), y))(model)
>>> type(grads).__name__, grads[0].weight.shape
('Sequential', (8, 4))
"""
from . import functional, init, utils
from .module import Module, Parameter, Buffer, functional_call
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear, Flatten, Unflatten
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, GELU, SiLU, Mish, Softplus, Sigmoid, Tanh, Hardtanh,
                         Hardsigmoid, Hardswish, LogSigmoid, Softsign, Tanhshrink, Softmax, LogSoftmax, Softmin, GLU,
                         PReLU, Threshold)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d,
                      AdaptiveMaxPool2d)
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, GroupNorm, RMSNorm, InstanceNorm1d,
                   InstanceNorm2d)
from .dropout import Dropout, Dropout1d, Dropout2d
from .sparse import Embedding
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
from .attention import MultiheadAttention, MultiHeadAttention
from .transformer import TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder
from .residual import Residual, ResidualBlock
from .loss import (CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss,
                   HingeEmbeddingLoss, MultiMarginLoss, KLDivLoss, CosineEmbeddingLoss, MarginRankingLoss,
                   SoftMarginLoss, PoissonNLLLoss, GaussianNLLLoss)

__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "Buffer", "functional_call", "Sequential", "ModuleList",
    "ModuleDict", "ParameterList", "ParameterDict", "Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "ReLU",
    "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "Sigmoid", "Tanh", "Hardtanh",
    "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Softmax", "LogSoftmax", "Softmin", "GLU",
    "PReLU", "Threshold", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d",
    "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "RMSNorm", "InstanceNorm1d",
    "InstanceNorm2d", "Dropout", "Dropout1d", "Dropout2d", "Embedding", "RNNBase", "RNN", "LSTM", "GRU", "RNNCell",
    "LSTMCell", "GRUCell", "MultiheadAttention", "MultiHeadAttention", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Residual", "ResidualBlock",
    "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
    "HingeEmbeddingLoss", "MultiMarginLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss",
    "SoftMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
]
