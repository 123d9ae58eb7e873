"""Dropout layer."""

from __future__ import annotations

from tinygrad_kr._args import check_bool
from tinygrad_kr.tensor import Tensor

from . import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the rest
    by 1 / (1 - p); in eval mode, the identity. Any shape. The mask comes from the project
    generator, so `tg.manual_seed` makes it reproducible. inplace=True (PyTorch's keyword)
    multiplies the input itself by the mask.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = check_bool(inplace, "inplace", "Dropout")

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")
