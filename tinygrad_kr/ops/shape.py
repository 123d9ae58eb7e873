"""Shape ops: reshape, transpose, broadcast, indexing, concatenation, padding.

Forward results are numpy views where numpy gives them (no copies); each backward is the
matching inverse op, so these compose to any order of derivative.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, unbroadcast


class Reshape(Function):
    saved_inputs = ()

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"Reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {tuple(self.shape)}"
            ) from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    saved_inputs = ()

    def __init__(self, axes: tuple | None = None):
        self.axes = axes

    def forward(self, x):
        axes = tuple(range(x.ndim))[::-1] if self.axes is None else tuple(self.axes)
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"Transpose: axes {axes} are not a permutation for shape {x.shape}")
        self.perm = axes
        return x.transpose(axes)

    def backward(self, gy):
        return gy.transpose(tuple(np.argsort([a % gy.ndim for a in self.perm])))


class BroadcastTo(Function):
    saved_inputs = ()

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(
                f"BroadcastTo: cannot broadcast shape {x.shape} to {self.shape}"
            ) from None

    def backward(self, gy):
        return unbroadcast(gy, self.inputs[0])


def _is_basic(index: tuple) -> bool:
    """True when an index has only ints, slices, None and Ellipsis (no repeated elements)."""
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in index)


class GetItem(Function):
    saved_inputs = ()

    def __init__(self, index: tuple):
        self.index = index

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"GetItem: {e} (tensor of shape {x.shape})") from None

    def backward(self, gy):
        return IndexAdd(self.index, self.in_shape)(gy)


class IndexAdd(Function):
    """zeros(shape) with `gy` added at `index` (repeated indices accumulate).

    The gradient of GetItem; its own gradient is GetItem again.
    """

    saved_inputs = ()

    def __init__(self, index: tuple, shape: tuple):
        self.index, self.shape = index, shape

    def forward(self, gy):
        gx = np.zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:
            np.add.at(gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return ggx[self.index]


class SetItem(Function):
    """x with x[index] replaced by v (out of place; Tensor.__setitem__ rebinds to it)."""

    saved_inputs = ()

    def __init__(self, index: tuple):
        self.index = index

    def forward(self, x, v):
        y = x.copy()
        y[self.index] = v
        return y

    def backward(self, gy):
        x, v = self.inputs
        gx = None
        if self.needs_grad(0):
            keep = np.ones(x.shape, dtype=bool)
            keep[self.index] = False
            gx = gy * keep
        gv = None
        if self.needs_grad(1):
            gv = unbroadcast(gy[self.index], v)
        return gx, gv


class Concatenate(Function):
    saved_inputs = ()

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        try:
            y = np.concatenate(xs, axis=self.axis)
        except (ValueError, np.exceptions.AxisError) as e:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"Concatenate: cannot join shapes {shapes} on axis {self.axis}: {e}") from None
        self.ax = self.axis % y.ndim
        self.bounds = np.cumsum([0] + [x.shape[self.ax] for x in xs])
        return y

    def backward(self, gy):
        head = (slice(None),) * self.ax
        return tuple(
            gy[head + (slice(int(a), int(b)),)] if self.needs_grad(i) else None
            for i, (a, b) in enumerate(zip(self.bounds[:-1], self.bounds[1:]))
        )


class Pad(Function):
    """Constant padding with numpy's pad_width form ((before, after) per axis)."""

    saved_inputs = ()

    def __init__(self, pad_width, value: float = 0.0):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        pw = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (x.ndim, 2))
        if (pw < 0).any():
            raise ValueError(f"Pad: negative pad_width {self.pad_width}")
        self.crop = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(pw, x.shape))
        return np.pad(x, pw, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return gy[self.crop]
