"""Fully connected layer with PyTorch's weight layout and default initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_kr.tensor import Tensor

from . import init
from ._checks import factory_dtype
from .functional import linear_checked
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W.T + b.

    x: (..., in_features) -> y: (..., out_features). weight: (out_features, in_features),
    bias: (out_features,). Initialized like PyTorch: weight ~ kaiming_uniform(a=sqrt(5)),
    i.e. U(-1/sqrt(in), 1/sqrt(in)), and bias ~ U(-1/sqrt(in), 1/sqrt(in)), so weights can be
    exchanged with torch.nn.Linear through state_dict. device (the CPU only) and dtype (float32
    by default) as PyTorch's keywords.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ):
        super().__init__()
        dtype = factory_dtype(device, dtype, "Linear")
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights from PyTorch's default distribution (project generator)."""
        if self.in_features == 0:
            init.zeros_(self.weight)
        else:
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., in_features) -> (..., out_features)."""
        return linear_checked(x, self.weight, self.bias, self._label())

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"
