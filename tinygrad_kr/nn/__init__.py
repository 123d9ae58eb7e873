"""nn: layers, losses, initialization and optimizers on top of tinygrad_kr (PyTorch names).

    from tinygrad_kr import nn          # (or `import nn`: the same package, see nn/__init__.py)
    from tinygrad_kr.nn import functional as F
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = F.cross_entropy(model(x), labels)
"""

from . import functional, init, optim, utils
from .activation import ELU, Flatten, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .pooling import AvgPool2d, MaxPool2d, ReLUMaxPool2d
from .rnn import LSTM, RNN, Embedding, LSTMCell, RNNCell
from .summary import ModelSummary, summary

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Linear", "Conv2d", "ConvTranspose2d", "MaxPool2d", "ReLUMaxPool2d", "AvgPool2d",
    "RNN", "LSTM", "RNNCell", "LSTMCell", "Embedding",
    "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity", "Flatten",
    "Dropout", "BatchNorm1d", "BatchNorm2d",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "summary", "ModelSummary",
    "functional", "init", "optim", "utils",
]
