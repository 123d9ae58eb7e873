"""Grad mode, anomaly mode and the module scope: the thread-local switches every op reads.

    with tg.no_grad(): ...            # record no graph (weight updates, evaluation)
    @tg.no_grad()                     # the same for a whole function (generator functions too)
    tg.set_grad_enabled(False)        # as a plain call, or `with tg.set_grad_enabled(flag): ...`
    with tg.detect_anomaly(): ...     # check every forward value and gradient for NaN/Inf
    with tg.module_scope(m): ...      # nodes recorded inside belong to module m (nn.Module.__call__)

Each thread has its own switches, so evaluating in one thread never turns recording off in
another.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from typing import Any, Callable

__all__ = [
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "detect_anomaly",
    "is_anomaly_enabled",
    "module_scope",
    "current_scope",
]


class _State(threading.local):
    grad_enabled = True
    anomaly = False
    scope: tuple = ()  # the modules whose forward is running, outermost first


state = _State()  # read by the engine core (autograd.py, tensor.py); users call the functions below


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default). Inside a backward pass it is True exactly
    when that backward is itself being recorded (create_graph=True)."""
    return state.grad_enabled


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()`."""
    return state.anomaly


def current_scope() -> tuple:
    """The modules whose forward is running in this thread, outermost first."""
    return state.scope


class _Switch:
    """Sets one thread-local switch for a `with` block or a decorated function, and restores
    the previous value after (also when the block raises)."""

    _attr = "grad_enabled"

    def __init__(self, value: Any) -> None:
        self._value = value
        self._saved: list = []

    def __enter__(self) -> None:
        self._saved.append(getattr(state, self._attr))
        setattr(state, self._attr, self._value)

    def __exit__(self, *exc: Any) -> None:
        setattr(state, self._attr, self._saved.pop())

    def _fresh(self) -> "_Switch":
        """A new switch with the same value (a decorated function may run in several threads
        or recursively; each call needs its own saved-value stack)."""
        clone = object.__new__(type(self))
        clone._value, clone._saved = self._value, []
        return clone

    def __call__(self, func: Callable) -> Callable:
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, func: Callable) -> Callable:
        # A generator runs in pieces, between which the caller runs in its own mode: the switch
        # is set for each piece (each resume of the generator), not once around its creation.
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)
            try:
                with self._fresh():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self._fresh():
                            gen.close()
                        raise
                    except BaseException:
                        with self._fresh():
                            response = gen.throw(*sys.exc_info()[1:2])
                    else:
                        with self._fresh():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return wrapper


class no_grad(_Switch):
    """Record no graph: `with tg.no_grad(): ...` or `@tg.no_grad()`."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_Switch):
    """Record the graph again inside a `no_grad` region."""

    def __init__(self) -> None:
        super().__init__(True)


class inference_mode(_Switch):
    """PyTorch's name for a region without graph recording; here the same as `no_grad`
    (mode=False records as usual)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__(not _check_flag(mode, "inference_mode", "mode"))


class set_grad_enabled(_Switch):
    """Turn graph recording on or off: at once when called (`tg.set_grad_enabled(False)`),
    or for a block (`with tg.set_grad_enabled(is_training): ...`), restoring it after."""

    def __init__(self, mode: bool) -> None:
        super().__init__(_check_flag(mode, "set_grad_enabled", "mode"))
        self._before = state.grad_enabled
        state.grad_enabled = self._value

    def __enter__(self) -> None:
        self._saved.append(self._before)

    def __call__(self, func: Callable) -> Callable:
        state.grad_enabled = self._before  # used as a decorator: no change until the function runs
        return super().__call__(func)

    def _fresh(self) -> "_Switch":
        clone = object.__new__(_Switch)  # as a decorator: a plain switch, set on each call
        clone._value, clone._saved = self._value, []
        return clone


class detect_anomaly(_Switch):
    """Check every forward output and backward gradient for NaN/Inf.

    Raises `FloatingPointError` at the first non-finite value, naming the op and the line of
    user code that created it. Only ops created inside this context record that line, so
    normal runs pay nothing.
    """

    _attr = "anomaly"

    def __init__(self) -> None:
        super().__init__(True)


class module_scope:
    """`with tg.module_scope(module): ...`: every node recorded inside belongs to `module`
    (its `node.module`; `node.scope` holds the enclosing modules too, outermost first).
    `nn.Module.__call__` opens one around each forward, so the graph renderer can group ops by
    module and name parameters; any object can be a scope."""

    __slots__ = ("_module", "_outer")

    def __init__(self, module: Any) -> None:
        self._module = module

    def __enter__(self) -> None:
        self._outer = state.scope
        state.scope = self._outer + (self._module,)

    def __exit__(self, *exc: Any) -> None:
        state.scope = self._outer


def _check_flag(value: Any, who: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be True or False, got {value!r}")
    return value
