"""Dtype rules, in one place: what a Tensor can hold, and the dtype of a result.

Tensors hold bool, integer or floating point numbers (complex numbers are refused rather than
half supported). Results follow PyTorch's type promotion:

* categories order bool < integer < float; within a category numpy's rule applies
  (int8 + uint8 -> int16, float16 + float32 -> float32), across categories the higher
  category's dtype wins (int64 + float16 -> float16);
* operands come in three priorities: tensors with dimensions, 0-d tensors, Python numbers.
  A lower-priority operand changes the result only when its category is higher. So a float32
  tensor stays float32 against an int64 tensor, a 0-d float64 tensor or a Python float, while
  float32 * float64 with both dimensioned is float64, and an int64 tensor * 2.5 is float32;
* Python floats count as float32 (the default float dtype), ints as int64, bools as bool;
* ops that only make sense on floats (division, exp, sqrt, ...) give float32 for integer or
  bool inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_FLOAT",
    "category",
    "check_supported",
    "promote_types",
    "result_type",
    "float_dtype",
    "float16",
    "float32",
    "float64",
    "int32",
    "int64",
    "bool_",
]

DEFAULT_FLOAT = np.dtype(np.float32)

# PyTorch's dtype names, as numpy dtypes (tg.float32, ...; tinygrad_kr exports bool_ as tg.bool:
# defining `bool` here would hide Python's bool in this module)
float16, float32, float64 = np.dtype(np.float16), DEFAULT_FLOAT, np.dtype(np.float64)
int32, int64 = np.dtype(np.int32), np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
_PY_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: DEFAULT_FLOAT}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return _CATEGORY[dtype.kind]


def check_supported(dtype: np.dtype, who: str, shape: tuple) -> None:
    """Raise TypeError unless `dtype` is bool, integer or floating point."""
    if dtype.kind not in _CATEGORY:
        what = "complex numbers are not supported" if dtype.kind == "c" else "expected numbers"
        raise TypeError(
            f"{who}: unsupported data of dtype {dtype} (shape {shape}); {what} (bool, int or float)"
        )


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype that tensors of dtypes a and b combine to (torch.promote_types)."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _operand_dtype(x: Any) -> tuple[int, np.dtype]:
    """(priority, dtype): 2 for dimensioned tensors/arrays, 1 for 0-d ones, 0 for Python numbers."""
    data = getattr(x, "data", x)
    if isinstance(data, np.ndarray):
        return (2 if data.ndim else 1), data.dtype
    if isinstance(data, np.generic):
        return 1, data.dtype
    for py, dt in _PY_DTYPES.items():  # bool before int: True is an int too
        if isinstance(data, py):
            return 0, dt
    arr = np.asarray(data)
    return (2 if arr.ndim else 1), arr.dtype


def result_type(*operands: Any) -> np.dtype:
    """The dtype of an elementwise result of `operands` (Tensors, arrays, numpy scalars or
    Python numbers) under the rules in the module docstring."""
    best: list = [None, None, None]  # promoted dtype per priority
    for x in operands:
        prio, dt = _operand_dtype(x)
        best[prio] = dt if best[prio] is None else promote_types(best[prio], dt)
    result = None
    for dt in best:  # lowest priority first: a higher-priority operand wins unless outranked
        if dt is None:
            continue
        if result is None or _CATEGORY[dt.kind] >= _CATEGORY[result.kind]:
            result = dt
        else:
            result = promote_types(dt, result)
    return result


def float_dtype(dtype: np.dtype) -> np.dtype:
    """dtype itself when it is floating point, else the default float (float32)."""
    return dtype if dtype.kind == "f" else DEFAULT_FLOAT
