"""Reductions and the softmax family (numpy naming: axis, keepdims).

float16 inputs are summed in float32 (and the result cast back), so the mean of 100,000
float16 ones is 1, not inf; PyTorch accumulates the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, where
from .elementwise import Sign


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """axis (None, int, negative int or tuple) -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand(g: Any, shape: tuple) -> Any:
    """g broadcast to `shape`: the BroadcastTo node for a Tensor, np.broadcast_to for an array."""
    return g.broadcast_to(shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def _accumulator(dtype: np.dtype) -> Any:
    return np.float32 if dtype == np.float16 else None


class Sum(Function):
    """Sum over axes. Gradient: gy repeated over the summed axes."""

    array_backward = True

    def __init__(self, axis: Any = None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "sum")
        self.shape = x.shape
        y = np.sum(x, axis=self.axes, keepdims=self.keepdims, dtype=_accumulator(x.dtype))
        if x.dtype == np.float16:
            with np.errstate(over="ignore"):  # a float16 sum may overflow to inf, as in PyTorch
                return y.astype(x.dtype, copy=False)
        return y

    def backward(self, gy):
        return expand(gy.reshape(keepdims_shape(self.shape, self.axes)), self.shape)


class Mean(Function):
    """Mean over axes (floats). Gradient: gy / n repeated over the reduced axes."""

    array_backward = True

    def __init__(self, axis: Any = None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "mean")
        self.shape = x.shape
        self.n = reduced_size(x.shape, self.axes)
        total = np.sum(x, axis=self.axes, keepdims=self.keepdims, dtype=_accumulator(x.dtype))
        with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is nan
            y = total / total.dtype.type(self.n)
        return np.asarray(y).astype(x.dtype, copy=False)

    def backward(self, gy):
        g = gy.reshape(keepdims_shape(self.shape, self.axes))
        return expand(g / max(self.n, 1), self.shape)


def reduced_size(shape: tuple, axes: tuple) -> int:
    """How many values a reduction over `axes` (normalized) combines into each output value."""
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def check_nonempty(x: np.ndarray, axis: Any, axes: tuple, op: str) -> None:
    """max/min of nothing is undefined: PyTorch's errors for an empty tensor or reduced axis."""
    if axis is None and x.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {x.shape}; give the axis to reduce")
    for a in axes:
        if x.shape[a] == 0:
            raise ValueError(f"{op}: expected reduction axis {a} of shape {x.shape} to have non-zero size")


class Max(Function):
    """max over axes; the gradient is split evenly among tied maxima (like torch.amax)."""

    array_backward = True
    _reduce = staticmethod(np.max)
    name = "max"

    def __init__(self, axis: Any = None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, self.name)
        check_nonempty(x, self.axis, self.axes, self.name)
        y = self._reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x, y = self.saved_tensors  # y: keepdims shape
        winners = (x == y).astype(x.dtype)  # NaN maxima have no winner: their gradient is NaN
        with np.errstate(invalid="ignore"):
            return gy.reshape(y.shape) * winners / winners.sum(axis=self.axes, keepdims=True)


class Min(Max):
    _reduce = staticmethod(np.min)
    name = "min"


class VectorNorm(Function):
    """The p-norm over axes, (sum |x|**p) ** (1/p), like torch.linalg.vector_norm: p = inf is
    max |x|, -inf min |x|, 0 the number of non-zeros.

    Gradient, as PyTorch's: p = 2: gy * x / norm; p = 1: gy * sign(x); p = +-inf: gy * sign(x)
    shared evenly by the entries where |x| == norm; p = 0: zeros; any other p: gy * sign(x) *
    |x|**(p-1) / norm**(p-1). Where the norm is 0 the gradient is 0, not NaN.
    """

    def __init__(self, p: float = 2.0, axis: Any = None, keepdims: bool = False):
        self.p, self.axis, self.keepdims = p, axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "norm")
        self.kshape = keepdims_shape(x.shape, self.axes)
        p, axes = self.p, self.axes
        a = np.abs(x).astype(_accumulator(x.dtype) or x.dtype, copy=False)  # float16: in float32
        if np.isinf(p):
            check_nonempty(x, self.axis, axes, "norm")
            y = (a.max if p > 0 else a.min)(axis=axes, keepdims=True)
        elif p == 0:
            y = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            y = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            y = np.sqrt((a * a).sum(axis=axes, keepdims=True))
        else:
            with np.errstate(divide="ignore"):  # 0 ** negative p = inf, as in PyTorch
                y = ((a**p).sum(axis=axes, keepdims=True)) ** (1 / p)
        y = y.astype(x.dtype, copy=False)
        out = y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        self.save_for_backward(x, out)
        return out

    def backward(self, gy):
        x, y = self.saved_tensors  # y: the output (so a recorded backward depends on it)
        p, g, y = self.p, gy.reshape(self.kshape), y.reshape(self.kshape)
        if p == 0:
            return x * 0
        if p == 1:
            return g * Sign()(x)
        zero = y.data == 0
        safe_y = where(zero, 1.0, y)  # the masked entries get 0, and no inf * 0 on the way
        if p == 2:
            return g * where(zero, 0.0, x / safe_y)
        if np.isinf(p):
            a = np.abs(x.data)
            mask = (a == y.data) | np.isnan(a)
            share = (mask / mask.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
            return g * Sign()(x) * share
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = where(x.data == 0, 0.0, x.abs() ** (p - 1)) if p < 1 else x.abs() ** (p - 1)
            return g * Sign()(x) * where(zero & (p > 1), 0.0, scale / safe_y ** (p - 1))


class LogSumExp(Function):
    """log(sum(exp(x))) computed stably (the max is subtracted first); -inf over nothing."""

    def __init__(self, axis: Any = None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "logsumexp")
        kshape = keepdims_shape(x.shape, self.axes)
        if x.size == 0:
            y = np.full(kshape, -np.inf, dtype=x.dtype)
        else:
            m = np.max(x, axis=self.axes, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
            with np.errstate(divide="ignore"):
                y = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        self.kshape = kshape
        out = y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])
        self.save_for_backward(x, out)
        return out

    def backward(self, gy):
        x, y = self.saved_tensors  # y: the output (so a recorded backward depends on it)
        return gy.reshape(self.kshape) * (x - y.reshape(self.kshape)).exp()


class Softmax(Function):
    """exp(x) / sum(exp(x)) along one axis. Gradient: y * gy - y * sum(y * gy)."""

    array_backward = True

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        axes = normalize_axis(self.axis, x.ndim, "softmax")
        self.ax = axes[0] if axes else None
        if x.size == 0:
            y = np.empty_like(x)
        else:
            y = np.exp(x - np.max(x, axis=self.ax, keepdims=True))
            y /= np.sum(y, axis=self.ax, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        gx = y * gy
        return gx - y * gx.sum(axis=self.ax, keepdims=True)


class LogSoftmax(Function):
    """x - logsumexp(x) along one axis. Gradient: gy - softmax(x) * sum(gy)."""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        axes = normalize_axis(self.axis, x.ndim, "log_softmax")
        self.ax = axes[0] if axes else None
        if x.size == 0:
            z = np.empty_like(x)
        else:
            z = x - np.max(x, axis=self.ax, keepdims=True)
            z -= np.log(np.sum(np.exp(z), axis=self.ax, keepdims=True))
        self.save_for_backward(z)
        return z

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy - y.exp() * gy.sum(axis=self.ax, keepdims=True)
