"""Argument checks shared by the package: tg.data, tg.train, tg.callbacks, nn.optim.lr_scheduler,
and the PyTorch spellings (`also_accepts`, devices, dtypes, `.to(...)`) of Tensor and nn.

Each one runs where the user's call enters and raises a ValueError (TypeError for a bool
argument or a wrong kind of value) that names the function, the argument and the value it got.
"""

from __future__ import annotations

import functools
import inspect
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


# ---- PyTorch's spellings -----------------------------------------------------------------------


def also_accepts(**aliases: str | tuple[str, Callable]) -> Callable:
    """Let a function also take the other library's spelling of some arguments (PyTorch's beside
    numpy's, or numpy's beside PyTorch's for a function with PyTorch's names, such as norm).

        @also_accepts(dim="axis", keepdim="keepdims")
        def sum(self, axis=None, keepdims=False): ...

    makes `sum(dim=1, keepdim=True)` the same call as `sum(axis=1, keepdims=True)`. Giving one
    argument in two spellings (`sum(1, dim=1)`, `sum(axis=1, dim=1)`) is a TypeError naming the
    function. An alias may be (name, convert) when its value needs converting (unbiased=True is
    ddof=1). The aliases are added to the signature as keyword-only parameters, so help() and
    editors show them.
    """
    rename = {t: (a, None) if isinstance(a, str) else a for t, a in aliases.items()}

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        names = list(sig.parameters)
        position = {n: names.index(n) for n, _ in rename.values()}  # where each may come positionally
        who = fn.__qualname__.removesuffix(".__init__")

        def respell(args: tuple, kwargs: dict) -> None:
            used: dict = {}
            for alias, (name, convert) in rename.items():
                if alias not in kwargs:
                    continue
                if name in kwargs or len(args) > position[name]:
                    raise TypeError(
                        f"{who}() got {used.get(name, name)}= and {alias}=, two spellings of the same "
                        "argument; pass only one of them"
                    )
                value = kwargs.pop(alias)
                kwargs[name] = value if convert is None else convert(value)
                used[name] = alias

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if kwargs and not rename.keys().isdisjoint(kwargs):  # (the common call pays one check)
                respell(args, kwargs)
            return fn(*args, **kwargs)

        params = list(sig.parameters.values())
        extra = [inspect.Parameter(t, inspect.Parameter.KEYWORD_ONLY, default=None) for t in rename]
        tail = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
        head = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        wrapper.__signature__ = sig.replace(parameters=head + extra + tail)
        return wrapper

    return decorate


def check_device(device: Any, who: str) -> None:
    """Accept PyTorch's device argument when it names the CPU (None, "cpu", "cpu:0" or a
    torch.device of the CPU); any other device is an error: everything here runs on numpy."""
    if device is None or str(device) in ("cpu", "cpu:0"):
        return
    raise ValueError(
        f"{who}: device {str(device)!r} is not available; tinygrad_kr computes on the CPU with numpy "
        "(pass device='cpu' or leave it out)"
    )


def dtype_arg(value: Any, who: str) -> np.dtype:
    """A dtype given as a numpy dtype or type (np.float32, tg.float32), a Python type or a name
    ("float32"), as a numpy dtype; anything else is a TypeError naming the caller."""
    try:
        return np.dtype(value)
    except TypeError:
        raise TypeError(
            f"{who}: expected a dtype (tg.float32, np.float64, 'int64', ...), got {value!r}"
        ) from None


def _names_a_dtype(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def to_args(args: tuple, device: Any, dtype: Any, who: str) -> np.dtype | None:
    """The dtype asked for by PyTorch's `.to(...)` arguments, or None to keep it.

    args: what `.to` got positionally, in any of PyTorch's forms: (dtype), (device), (device,
    dtype) or (tensor), whose dtype is taken; a string is a dtype when numpy knows it
    ("float16"), else a device. device/dtype: the keyword forms. A device must be the CPU
    (`check_device`); a dtype or device given twice is a TypeError.
    """
    if len(args) > 2:
        raise TypeError(f"{who}: expected at most (device, dtype) positionally, got {len(args)} arguments")
    for a in args:
        if (isinstance(a, str) and not _names_a_dtype(a)) or type(a).__name__ == "device":
            if device is not None:
                raise TypeError(f"{who}: the device was given twice ({device!r} and {a!r})")
            device = a
            continue
        if dtype is not None:
            raise TypeError(f"{who}: the dtype was given twice ({dtype!r} and {a!r})")
        is_array_like = hasattr(a, "shape") and hasattr(a, "dtype") and not isinstance(a, (type, np.dtype))
        dtype = a.dtype if is_array_like else a
    check_device(device, who)
    return None if dtype is None else dtype_arg(dtype, who)
