"""Numerical gradients by central differences, and a checker built on them."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .autograd import grad
from .tensor import Tensor, as_tensor


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when analytic and numerical gradients disagree."""


def _as_list(inputs) -> list[Tensor]:
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _scalar(fn: Callable, inputs: list[Tensor], weight: np.ndarray | None) -> float:
    out = fn(*inputs)
    data = np.asarray(out.data, dtype=np.float64)
    return float(np.sum(data if weight is None else data * weight))


def numerical_grad(
    fn: Callable, inputs, eps: float = 1e-6, grad_output: np.ndarray | None = None
) -> list[np.ndarray]:
    """Central-difference gradient of sum(fn(*inputs) * grad_output) for every input.

    grad_output defaults to ones (the gradient of the sum of the output). Inputs are
    perturbed in place one element at a time and restored. fn runs in the caller's grad mode,
    so functions that take gradients themselves (tg.grad inside fn) can be checked.
    """
    inputs = _as_list(inputs)
    result = []
    for x in inputs:
        g = np.zeros(x.shape, dtype=np.float64)
        flat = x.data.reshape(-1)  # a view: writes go to x.data
        if x.data.size and not np.shares_memory(flat, x.data):  # (empty arrays share nothing)
            raise ValueError("numerical_grad: inputs must be contiguous arrays")
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            f_plus = _scalar(fn, inputs, grad_output)
            flat[i] = orig - eps
            f_minus = _scalar(fn, inputs, grad_output)
            flat[i] = orig
            g.reshape(-1)[i] = (f_plus - f_minus) / (2 * eps)
        result.append(g)
    return result


def gradcheck(
    fn: Callable,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare the engine's gradients of fn with central differences.

    The output is weighted by a fixed random upstream gradient (not all ones: a ones seed hides
    transposition bugs). Inputs must be float64 tensors; those with requires_grad=True are
    checked. Returns True, or raises GradcheckError naming the input, the worst index and both
    values.
    """
    inputs = [as_tensor(x) for x in _as_list(inputs)]
    found = first_order_mismatch(fn, inputs, eps, atol, rtol, seed)
    if found is not None:
        i, index, a, n = found
        raise GradcheckError(
            f"gradcheck: input {i} (shape {inputs[i].shape}): gradients differ at index {index}: "
            f"analytic {a!r}, numeric {n!r} (atol={atol}, rtol={rtol})"
        )
    return True


def upstream_weight(shape: tuple, seed: int) -> np.ndarray:
    """The fixed random upstream gradient the checks weight fn's output with: uniform in
    [0.5, 1.5] (never all ones, which hides transposition bugs)."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def first_order_mismatch(
    fn: Callable, inputs: list[Tensor], eps: float, atol: float, rtol: float, seed: int
) -> tuple | None:
    """The check behind `gradcheck` and `tinygrad_kr.testing`: None when the engine's gradient
    of sum(fn(*inputs) * weight) matches central differences for every input that requires
    grad, else (input position, worst index, analytic value, numeric value)."""
    for i, x in enumerate(inputs):
        if x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {x.dtype}; central differences need float64 "
                "inputs (float32 rounding swamps the difference quotient): use .astype(np.float64)"
            )
    wanted = [x for x in inputs if x.requires_grad]
    if not wanted:
        raise ValueError("gradcheck: no input requires grad")
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weight = upstream_weight(out.shape, seed)
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    analytic = grad(out, wanted, grad_outputs=Tensor(weight.astype(out.dtype)), allow_unused=True)
    numeric = numerical_grad(fn, inputs, eps, weight)
    k = 0
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        a = np.zeros(x.shape) if analytic[k] is None else np.asarray(analytic[k].data, np.float64)
        k += 1
        if a.shape != numeric[i].shape:
            raise GradcheckError(
                f"gradcheck: input {i}: gradient shape {a.shape} != input shape {numeric[i].shape}"
            )
        found = worst_mismatch(a, numeric[i], atol, rtol)
        if found is not None:
            return (i, *found)
    return None


def worst_mismatch(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> tuple | None:
    """None when |analytic - numeric| <= atol + rtol * |numeric| everywhere (and analytic is
    finite), else (index, analytic value, numeric value) where it is exceeded most."""
    err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if not err.size or (np.isfinite(analytic).all() and not err.max() > 0):
        return None
    worst = np.unravel_index(int(np.argmax(np.where(np.isfinite(err), err, np.inf))), analytic.shape)
    return tuple(map(int, worst)), float(analytic[worst]), float(numeric[worst])
