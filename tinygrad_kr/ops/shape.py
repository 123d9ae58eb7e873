"""Shape ops: reshape, transpose, copies, broadcast, indexing, item assignment, concatenation and
padding.

Forward results are numpy views where numpy gives them (no copies); each backward is the
matching inverse op, so these compose to any order of derivative. Index arrays (integer or
boolean) are inputs of the indexing nodes, after the tensor being indexed: they are saved
like any input, so changing one in place before backward is an error, not a gradient sent to
other rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function

TENSOR_INDEX = object()  # marks, in an index template, where the next index tensor goes


def fill_index(template: tuple, arrays: tuple | list) -> tuple:
    """The numpy index: the template with its TENSOR_INDEX marks replaced by `arrays` in order."""
    if not arrays:
        return template
    it = iter(arrays)
    return tuple(next(it) if i is TENSOR_INDEX else i for i in template)


def _has_int_array(index: tuple) -> bool:
    """True when an index holds integer arrays, which may repeat an element."""
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in index)


def view_positions(base: np.ndarray, view: np.ndarray) -> tuple:
    """The index (a tuple of integer arrays) with base[index] == view, element for element,
    for an array `view` that shares base's memory (any slicing, transposing or reshaping)."""
    itemsize = base.itemsize
    start = min(np.lib.array_utils.byte_bounds(base)[0], np.lib.array_utils.byte_bounds(view)[0])

    def offsets(a: np.ndarray) -> np.ndarray:  # element offset from `start` of every element of a
        off = np.full(a.shape, (a.__array_interface__["data"][0] - start) // itemsize, dtype=np.int64)
        for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
            shape = [1] * a.ndim
            shape[axis] = n
            off = off + (np.arange(n, dtype=np.int64) * (stride // itemsize)).reshape(shape)
        return off

    if base.ndim == 0:
        return ()
    if view.size == 0:
        return tuple(np.zeros(view.shape, dtype=np.int64) for _ in base.shape)
    ob, ov = offsets(base), offsets(view)
    lookup = np.full(int(max(ob.max(), ov.max())) + 1, -1, dtype=np.int64)
    lookup[ob.reshape(-1)] = np.arange(base.size)
    flat = lookup[ov]
    if (flat < 0).any():
        raise ValueError(
            f"view_positions: an array of shape {view.shape} is not a view of one of shape {base.shape}"
        )
    return np.unravel_index(flat, base.shape)


class Reshape(Function):
    array_backward = True

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError as e:
            raise ValueError(
                f"Reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {tuple(self.shape)}"
            ) from e

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    array_backward = True

    def __init__(self, axes: tuple | None = None):
        self.axes = axes

    def forward(self, x):
        axes = tuple(range(x.ndim))[::-1] if self.axes is None else tuple(self.axes)
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"Transpose: axes {axes} are not a permutation for shape {x.shape}")
        self.perm = axes
        return x.transpose(axes)

    def backward(self, gy):
        return gy.transpose(tuple(int(i) for i in np.argsort([a % gy.ndim for a in self.perm])))


class Clone(Function):
    """A copy of x in new memory: order "K" keeps x's memory layout (Tensor.clone), "C" makes it
    C-contiguous (Tensor.contiguous). Gradient: gy."""

    array_backward = True

    def __init__(self, order: str = "K"):
        self.order = order

    def forward(self, x):
        return x.copy(order=self.order)

    def backward(self, gy):
        return gy


class BroadcastTo(Function):
    """x repeated to `shape` (a read-only view). Gradient: gy, summed down by the engine."""

    array_backward = True

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError as e:
            raise ValueError(f"BroadcastTo: cannot broadcast shape {x.shape} to {self.shape}") from e

    def backward(self, gy):
        return gy


class GetItem(Function):
    """x[index]; the index tensors (integer or boolean) are the inputs after x."""

    def __init__(self, index: tuple):
        self.index = index

    def forward(self, x, *index_arrays):
        self.save_for_backward(*index_arrays)
        self.in_shape = x.shape
        try:
            return x[fill_index(self.index, index_arrays)]
        except IndexError as e:
            raise IndexError(f"GetItem: {e} (tensor of shape {x.shape})") from e

    def backward(self, gy):
        idx = self.saved_tensors
        return (IndexAdd(self.index, self.in_shape)(gy, *idx),) + (None,) * len(idx)


class IndexAdd(Function):
    """zeros(shape) with `g` added at `index` (repeated indices accumulate).

    The gradient of GetItem; its own gradient is GetItem again.
    """

    def __init__(self, index: tuple, shape: tuple):
        self.index, self.shape = index, shape

    def forward(self, g, *index_arrays):
        self.save_for_backward(*index_arrays)
        index = fill_index(self.index, index_arrays)
        gx = np.zeros(self.shape, dtype=g.dtype)
        if _has_int_array(index):
            np.add.at(gx, index, g)
        else:
            gx[index] = g
        return gx

    def backward(self, ggx):
        idx = self.saved_tensors
        return (GetItem(self.index)(ggx, *idx),) + (None,) * len(idx)


class SetItem(Function):
    """x with x[index] replaced by v (out of place; Tensor.__setitem__ writes it back).
    Gradients: gy with the replaced region zeroed for x, gy[index] for v."""

    def __init__(self, index: tuple):
        self.index = index

    def forward(self, x, v, *index_arrays):
        self.save_for_backward(*index_arrays)
        y = x.copy()
        y[fill_index(self.index, index_arrays)] = v
        return y

    def backward(self, gy):
        idx = self.saved_tensors
        gx = gv = None
        if self.needs_input_grad[0]:
            keep = np.ones(gy.shape, dtype=bool)
            keep[fill_index(self.index, [t.data for t in idx])] = False
            gx = gy * keep
        if self.needs_input_grad[1]:
            gv = GetItem(self.index)(gy, *idx)
        return (gx, gv) + (None,) * len(idx)


class Overwrite(Function):
    """src broadcast to old's shape: the value of `old.copy_(src)`. Gradients: zeros for old
    (its values are gone), gy for src (summed down by the engine), as in PyTorch."""

    array_backward = True

    def forward(self, old, src):
        return np.broadcast_to(src, old.shape)

    def backward(self, gy):
        return gy * 0, gy


class Concatenate(Function):
    array_backward = True

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *xs):
        try:
            y = np.concatenate(xs, axis=self.axis)
        except (ValueError, np.exceptions.AxisError) as e:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"Concatenate: cannot join shapes {shapes} on axis {self.axis}: {e}") from e
        self.ax = self.axis % y.ndim
        self.bounds = np.cumsum([0] + [x.shape[self.ax] for x in xs])
        return y

    def backward(self, gy):
        head = (slice(None),) * self.ax
        return tuple(
            gy[head + (slice(int(a), int(b)),)] if self.needs_input_grad[i] else None
            for i, (a, b) in enumerate(zip(self.bounds[:-1], self.bounds[1:]))
        )


class Pad(Function):
    """Constant padding with numpy's pad_width form ((before, after) per axis)."""

    array_backward = True

    def __init__(self, pad_width: Any, value: float = 0.0):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        pw = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (x.ndim, 2))
        if (pw < 0).any():
            raise ValueError(f"Pad: negative pad_width {self.pad_width}")
        self.crop = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(pw, x.shape))
        return np.pad(x, pw, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return gy[self.crop]
