"""Gradient clipping: `clip_grad_norm_` and `clip_grad_value_` (PyTorch semantics, in place)."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from tinygrad_kr.tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor], fn: str) -> list[np.ndarray]:
    """The gradient arrays of the parameters that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameter {i} is a {type(p).__name__}, expected a Tensor")
        if p.grad is not None:
            grads.append(p.grad.data)
    return grads


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale the gradients in place so that their total norm is at most `max_norm`.

    The total norm is the `norm_type`-norm of all gradients together, as if concatenated into
    one vector ('inf' or math.inf for the max-abs norm). When it exceeds max_norm, every
    gradient is multiplied by max_norm / (total_norm + 1e-6). Parameters without a gradient
    are skipped. Returns the total norm (before clipping) as a float; 0.0 if no gradient.
    error_if_nonfinite: raise RuntimeError if the total norm is NaN or infinite.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return 0.0
    norms = np.array([np.linalg.vector_norm(g, ord=norm_type) for g in grads], dtype=np.float64)
    total = float(np.linalg.vector_norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients of "
            f"{len(grads)} parameters is non-finite ({total}), so it cannot be clipped; pass "
            "error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):  # a NaN norm spreads to the gradients, as in PyTorch
        for g in grads:
            g *= coef  # a Python float: the gradient keeps its dtype
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]; parameters without a
    gradient are skipped."""
    clip_value = float(clip_value)
    for g in _grads(parameters, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)
