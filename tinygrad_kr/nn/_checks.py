"""Argument checks shared by nn's functions and layers. Each error names the caller (`who`:
a function name, or a layer's label such as "fc1 (Linear)") and the shapes involved."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_kr._args import check_device, dtype_arg
from tinygrad_kr.tensor import Tensor, as_tensor


def factory_dtype(device: Any, dtype: Any, who: str) -> np.dtype:
    """The parameter dtype of a layer built with PyTorch's device=/dtype= keywords: device must
    be the CPU (or None), dtype a floating point dtype (None: float32)."""
    check_device(device, who)
    dt = np.dtype(np.float32) if dtype is None else dtype_arg(dtype, who)
    if dt.kind != "f":
        raise TypeError(f"{who}: dtype must be a floating point dtype (parameters are trained), got {dt}")
    return dt


def float_tensor(x: Any, who: str, what: str = "input") -> Tensor:
    """x as a floating point Tensor (integer data is an error, never silently cast)."""
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"{who}: {what} must be a floating point tensor, got dtype {x.dtype} (shape {x.shape}); "
            "convert it with .astype(np.float32)"
        )
    return x


def weight_dtype(x: Any, dtype: np.dtype, who: str, what: str = "input") -> Tensor:
    """x as a Tensor of the layer's weight dtype (float64 input to a float32 layer is an error,
    never silently cast)."""
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if x.data.dtype != dtype:
        raise TypeError(
            f"{who}: {what} dtype {x.dtype} differs from the weight dtype {dtype} ({what} shape "
            f"{x.shape}); convert the {what} with .astype(np.{dtype})"
        )
    return x
