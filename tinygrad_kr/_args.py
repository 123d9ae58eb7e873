"""Argument checks shared by tg.data, tg.train, tg.callbacks and nn.optim.lr_scheduler.

Each one runs where the user's call enters and raises a ValueError (TypeError for a bool
argument) that names the function, the argument and the value it got.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np


def check_int(value: Any, name: str, who: str, low: int = 0) -> int:
    """value as an int >= low (bools are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{who}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_real(
    value: Any, name: str, who: str, ok: Callable[[float], bool] | None = None, rule: str = "a number"
) -> float:
    """value as a float that is a real number (not NaN, not a bool) for which ok(value) holds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or value != value
        or (ok is not None and not ok(float(value)))
    ):
        raise ValueError(f"{who}: {name} must be {rule}, got {value!r}")
    return float(value)


def check_bool(value: Any, name: str, who: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be True or False, got {value!r}")
    return bool(value)
