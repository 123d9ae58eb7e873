"""Reductions and the softmax family (numpy naming: axis, keepdims)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function


def normalize_axis(axis, ndim: int, op: str) -> tuple[int, ...]:
    """axis (None, int, negative int or tuple) -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    saved_inputs = ()

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "sum")
        self.shape = x.shape
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims:
            gy = gy.reshape(keepdims_shape(self.shape, self.axes))
        return gy.broadcast_to(self.shape)


class Max(Function):
    """max over axes; the gradient is split evenly among tied maxima (like torch.amax)."""

    _reduce = staticmethod(np.max)
    name = "max"

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, self.name)
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        self.y = self._reduce(x, axis=self.axes, keepdims=True)
        if self.keepdims:
            return self.y
        return self.y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        (x,) = self.inputs
        mask = x.data == self.y
        weight = mask / mask.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        if not self.keepdims:
            gy = gy.reshape(self.y.shape)
        return gy * weight


class Min(Max):
    _reduce = staticmethod(np.min)
    name = "min"


class LogSumExp(Function):
    """log(sum(exp(x))) computed stably (the max is subtracted first)."""

    saved_inputs = ()
    save_output = True

    def __init__(self, axis=None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = normalize_axis(self.axis, x.ndim, "logsumexp")
        m = np.max(x, axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        self.y = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        self.shape = x.shape
        return self.y if self.keepdims else self.y.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes]
        )

    def backward(self, gy):
        (x,) = self.inputs
        if not self.keepdims:
            gy = gy.reshape(keepdims_shape(self.shape, self.axes))
        y = self.output()  # keepdims shape
        return gy * (x - y).exp()


class Softmax(Function):
    saved_inputs = ()
    save_output = True

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.ax,) = normalize_axis(self.axis, x.ndim, "softmax")
        e = np.exp(x - np.max(x, axis=self.ax, keepdims=True))
        e /= np.sum(e, axis=self.ax, keepdims=True)
        self.y = e
        return e

    def backward(self, gy):
        y = self.output()
        gx = y * gy
        return gx - y * gx.sum(axis=self.ax, keepdims=True)


class LogSoftmax(Function):
    saved_inputs = ()
    save_output = True

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        (self.ax,) = normalize_axis(self.axis, x.ndim, "log_softmax")
        z = x - np.max(x, axis=self.ax, keepdims=True)
        z -= np.log(np.sum(np.exp(z), axis=self.ax, keepdims=True))
        self.y = z
        return z

    def backward(self, gy):
        y = self.output()
        return gy - y.exp() * gy.sum(axis=self.ax, keepdims=True)
