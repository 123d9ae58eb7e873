"""nn: layers, losses, initialization and optimizers on top of tinygrad_kr (PyTorch names).

    import nn
    from nn import functional as F
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = F.cross_entropy(model(x), labels)
"""

import importlib as _importlib

from . import functional, init
from .activation import ELU, Flatten, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .dropout import Dropout
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d


def _optional(module: str, names: tuple[str, ...]) -> None:
    """Import names from a submodule that is still being written (skipped until it exists)."""
    try:
        m = _importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{module}":
            raise
        return
    globals()[module] = m
    for n in names:
        globals()[n] = getattr(m, n)


_optional("conv", ("Conv2d",))
_optional("pooling", ("MaxPool2d", "AvgPool2d"))
_optional("rnn", ("RNN", "LSTM", "Embedding"))
_optional("optim", ())
_optional("utils", ())

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "RNN", "LSTM", "Embedding",
    "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Identity", "Flatten",
    "Dropout", "BatchNorm1d", "BatchNorm2d",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "functional", "init", "optim", "utils",
]
