"""Optimizers and learning-rate schedulers with PyTorch's names, options and update rules."""

from . import lr_scheduler
from .adagrad import AdaGrad, Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "AdaGrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
