"""nn: layers, losses, initialization and optimizers on top of tinygrad_kr (PyTorch names)."""

from . import init
from .module import Module, ModuleList, Parameter, Sequential
