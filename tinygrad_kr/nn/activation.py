"""Activation layers (and Identity, Flatten): thin modules over the engine's ops.

They take PyTorch's keywords: `inplace=True` (ReLU, LeakyReLU, ELU) changes the input tensor
itself through the engine's in-place machinery (the version checks still apply), `dim=` of
Softmax/LogSoftmax is the same as `axis=`.
"""

from __future__ import annotations

from typing import Any

from tinygrad_kr._args import also_accepts, check_bool
from tinygrad_kr.errors import add_note
from tinygrad_kr.tensor import Tensor, as_tensor

from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0), elementwise; any shape. inplace=True changes x itself and returns it."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = check_bool(inplace, "inplace", "ReLU")

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise; any shape (inplace as ReLU)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = check_bool(inplace, "inplace", "LeakyReLU")

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise; any shape (inplace as ReLU)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = check_bool(inplace, "inplace", "ELU")

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softmax(Module):
    """Softmax along `axis` (`dim`, PyTorch's name; default the last axis)."""

    @also_accepts(dim="axis")
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along `axis` (`dim`), computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)


class Identity(Module):
    """Returns its input unchanged (a placeholder that keeps a model's structure)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        try:
            return as_tensor(x).flatten(self.start_dim, self.end_dim)
        except ValueError as e:
            add_note(e, f"in {self._label()}")
            raise

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
