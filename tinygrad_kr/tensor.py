"""`Tensor`: a numpy array that remembers the op that made it.

Every math method is one line that calls an op node from `tinygrad_kr.ops`; the node runs
the numpy forward and, when grad mode is on and an input requires grad, records itself as
the output's `grad_fn`.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import numpy as np

from . import autograd
from .autograd import _mode, run_backward
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S
from .random import get_generator


def _to_array(data: Any, dtype=None) -> np.ndarray:
    """The one place where user data becomes an array: floats from Python become float32."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)
    if arr.dtype.kind not in "biufc":
        raise TypeError(
            f"Tensor: unsupported data of dtype {arr.dtype} (shape {arr.shape}); "
            "expected numbers (bool, int or float)"
        )
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def _new(arr: np.ndarray) -> "Tensor":
    """Wrap an array without any checks (the hot path of every op)."""
    t = object.__new__(Tensor)
    t.data = arr
    return t


autograd._new_tensor = _new


_constants: dict = {}


def _constant(x: float, dt: np.dtype) -> "Tensor":
    """A cached 0-d constant: scalar operands (x * 0.5) cost no allocation after the first."""
    key = (x, dt)
    t = _constants.get(key)
    if t is None:
        if len(_constants) > 1024:
            _constants.clear()
        arr = np.asarray(x, dtype=dt)
        arr.flags.writeable = False
        t = _constants[key] = _new(arr)
    return t


def as_tensor(x: Any, like: "Tensor | None" = None) -> "Tensor":
    """x as a Tensor; Python numbers and float arrays take the float dtype of `like`."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        dt = like.data.dtype
        if dt.kind == "f":
            if type(x) is float or type(x) is int:
                return _constant(x, dt)
            if isinstance(x, (bool, np.number)):
                return _new(np.asarray(x, dtype=dt))
            arr = _to_array(x)
            if arr.dtype.kind in "biuf" and arr.dtype != dt:
                arr = arr.astype(dt)
            return _new(arr)
    return Tensor(x)


def _shape_arg(shape: tuple) -> tuple:
    """f(2, 3) and f((2, 3)) both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _root_grad(out: "Tensor", grad: Any, op: str) -> "Tensor":
    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{op}: a gradient can be created implicitly only for a one-element output, "
                f"but the output has shape {out.shape}; pass grad= of that shape"
            )
        return _new(np.ones_like(out.data))
    g = as_tensor(grad, out)
    if g.shape != out.shape:
        raise ValueError(f"{op}: grad has shape {g.shape} but the output has shape {out.shape}")
    if g.data.dtype != out.data.dtype:
        g = _new(g.data.astype(out.data.dtype))
    return g


class _HookHandle:
    def __init__(self, hooks: list, fn: Callable):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


class Tensor:
    """A numpy array with autograd.

    Tensor(data, requires_grad=False, dtype=None, name=None). data: Python scalar, nested
    list, numpy array (used without a copy) or Tensor. Python floats become float32; float
    arrays keep their dtype. Only float tensors can require grad.
    """

    # Class-level defaults keep construction cheap: an op output sets only `data`.
    grad = None
    requires_grad = False
    grad_fn = None
    name = None
    _version = 0
    _hooks = None
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _to_array(data, dtype)
        if requires_grad:
            if self.data.dtype.kind != "f":
                raise TypeError(
                    f"Tensor: only floating point tensors can require grad, got dtype "
                    f"{self.data.dtype}; convert with .astype(np.float32) or pass dtype="
                )
            self.requires_grad = True
        if name is not None:
            self.name = name

    # ---- properties ------------------------------------------------------------------------

    shape = property(lambda self: self.data.shape, doc="The shape tuple.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype.")

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op that records a graph)."""
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    @property
    def mT(self) -> "Tensor":
        """Transpose of the last two axes."""
        axes = list(range(self.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return S.Transpose(tuple(axes))(self)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", threshold=100)
        extra = f"shape={self.shape}, dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}, {extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same data (shared) outside the graph."""
        return _new(self.data)

    def astype(self, dtype) -> "Tensor":
        """Convert the dtype; differentiable between float dtypes."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return E.Cast(dtype)(self)
        return _new(self.data.astype(dtype))

    # ---- autograd --------------------------------------------------------------------------

    def backward(self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        grad: the upstream gradient (same shape as self); optional for one-element tensors.
        retain_graph: keep the graph's saved values for another backward.
        create_graph: record the backward pass too (for higher-order derivatives).
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"backward: tensor of shape {self.shape} does not require grad and has no "
                "grad_fn; set requires_grad=True on the inputs (and don't compute it under no_grad)"
            )
        run_backward([self], [_root_grad(self, grad, "backward")], retain_graph or create_graph, create_graph)

    def register_hook(self, fn: Callable) -> _HookHandle:
        """Call fn(grad) when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.out_hooks is None:
                self.grad_fn.out_hooks = []
            hooks = self.grad_fn.out_hooks
        hooks.append(fn)
        return _HookHandle(hooks, fn)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.retain_ref = weakref.ref(self)

    # ---- arithmetic ------------------------------------------------------------------------

    def __add__(self, other):
        return E.Add()(self, as_tensor(other, self))

    def __radd__(self, other):
        return E.Add()(as_tensor(other, self), self)

    def __sub__(self, other):
        return E.Sub()(self, as_tensor(other, self))

    def __rsub__(self, other):
        return E.Sub()(as_tensor(other, self), self)

    def __mul__(self, other):
        return E.Mul()(self, as_tensor(other, self))

    def __rmul__(self, other):
        return E.Mul()(as_tensor(other, self), self)

    def __truediv__(self, other):
        return E.Div()(self, as_tensor(other, self))

    def __rtruediv__(self, other):
        return E.Div()(as_tensor(other, self), self)

    def __pow__(self, other):
        return E.Pow()(self, as_tensor(other, self))

    def __rpow__(self, other):
        return E.Pow()(as_tensor(other, self), self)

    def __neg__(self):
        return E.Neg()(self)

    def __matmul__(self, other):
        return _matmul(self, as_tensor(other, self))

    def __rmatmul__(self, other):
        return _matmul(as_tensor(other, self), self)

    # comparisons: bool tensors outside the graph
    def __lt__(self, other):
        return _new(self.data < as_tensor(other, self).data)

    def __le__(self, other):
        return _new(self.data <= as_tensor(other, self).data)

    def __gt__(self, other):
        return _new(self.data > as_tensor(other, self).data)

    def __ge__(self, other):
        return _new(self.data >= as_tensor(other, self).data)

    def __eq__(self, other):
        return _new(self.data == as_tensor(other, self).data)

    def __ne__(self, other):
        return _new(self.data != as_tensor(other, self).data)

    # ---- in place --------------------------------------------------------------------------

    def _inplace(self, other: Any, op: Callable, ufunc: np.ufunc, sym: str) -> "Tensor":
        other = as_tensor(other, self)
        if self.grad_fn is not None and self.grad_fn.save_output:
            self.grad_fn.output_version = self._version + 1  # its backward reads this array
        if _mode.enabled and (self.requires_grad or other.requires_grad):
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"in-place {sym} on a leaf tensor of shape {self.shape} that requires grad; "
                    "do it under `with tg.no_grad():` (e.g. a weight update) or write x = x "
                    f"{sym[0]} y"
                )
            # Record out of place on a stand-in for the old value, then rebind: arrays saved by
            # earlier nodes stay intact, and the version bump flags nodes that saved `self`.
            res = op(self._stand_in(), other)
            if res.shape != self.shape:
                raise ValueError(
                    f"in-place {sym}: result shape {res.shape} differs from the tensor's shape {self.shape}"
                )
            if res.data.dtype != self.data.dtype:
                res = res.astype(self.data.dtype)
            self.data, self.grad_fn, self.requires_grad = res.data, res.grad_fn, True
        else:
            try:
                ufunc(self.data, other.data, out=self.data, casting="same_kind")
            except (TypeError, ValueError) as e:
                raise type(e)(
                    f"in-place {sym}: cannot apply to tensor of shape {self.shape} dtype "
                    f"{self.dtype} with operand of shape {other.shape} dtype {other.dtype}: {e}"
                ) from None
        self._version += 1
        return self

    def _stand_in(self) -> "Tensor":
        t = _new(self.data)
        t.grad_fn, t.requires_grad = self.grad_fn, self.requires_grad
        return t

    def __iadd__(self, other):
        return self._inplace(other, Tensor.__add__, np.add, "+=")

    def __isub__(self, other):
        return self._inplace(other, Tensor.__sub__, np.subtract, "-=")

    def __imul__(self, other):
        return self._inplace(other, Tensor.__mul__, np.multiply, "*=")

    def __itruediv__(self, other):
        return self._inplace(other, Tensor.__truediv__, np.true_divide, "/=")

    # ---- indexing --------------------------------------------------------------------------

    def __getitem__(self, index):
        return S.GetItem(_index(index))(self)

    def __setitem__(self, index, value):
        index = _index(index)
        value = as_tensor(value, self)
        if _mode.enabled and (self.requires_grad or value.requires_grad):
            self._inplace(value, lambda x, v: S.SetItem(index)(x, v), None, "[]=")
            return
        if self.grad_fn is not None and self.grad_fn.save_output:
            self.grad_fn.output_version = self._version + 1
        self.data[index] = value.data
        self._version += 1

    # ---- elementwise -----------------------------------------------------------------------

    def exp(self):
        return E.Exp()(self)

    def log(self):
        return E.Log()(self)

    def sqrt(self):
        return E.Sqrt()(self)

    def abs(self):
        return E.Abs()(self)

    def sin(self):
        return E.Sin()(self)

    def cos(self):
        return E.Cos()(self)

    def tanh(self):
        return E.Tanh()(self)

    def sigmoid(self):
        return E.Sigmoid()(self)

    def relu(self):
        return E.ReLU()(self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return E.LeakyReLU(negative_slope)(self)

    def elu(self, alpha: float = 1.0):
        return E.ELU(alpha)(self)

    def clip(self, min=None, max=None):
        return E.Clip(min, max)(self)

    def maximum(self, other):
        return E.Maximum()(self, as_tensor(other, self))

    def minimum(self, other):
        return E.Minimum()(self, as_tensor(other, self))

    def square(self):
        return self * self

    # ---- reductions ------------------------------------------------------------------------

    def sum(self, axis=None, keepdims: bool = False):
        return R.Sum(axis, keepdims)(self)

    def mean(self, axis=None, keepdims: bool = False):
        return self.sum(axis, keepdims) / _count(self, axis)

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) / (_count(self, axis) - ddof)

    def max(self, axis=None, keepdims: bool = False):
        return R.Max(axis, keepdims)(self)

    def min(self, axis=None, keepdims: bool = False):
        return R.Min(axis, keepdims)(self)

    def logsumexp(self, axis=None, keepdims: bool = False):
        return R.LogSumExp(axis, keepdims)(self)

    def argmax(self, axis=None):
        """Indices of the maxima (int64, not differentiable)."""
        return _new(np.asarray(np.argmax(self.data, axis=axis)))

    def argmin(self, axis=None):
        """Indices of the minima (int64, not differentiable)."""
        return _new(np.asarray(np.argmin(self.data, axis=axis)))

    def softmax(self, axis: int = -1):
        return R.Softmax(axis)(self)

    def log_softmax(self, axis: int = -1):
        return R.LogSoftmax(axis)(self)

    # ---- shape -----------------------------------------------------------------------------

    def reshape(self, *shape):
        return S.Reshape(_shape_arg(shape))(self)

    def transpose(self, *axes):
        return S.Transpose(_shape_arg(axes) or None)(self)

    def flatten(self, start_axis: int = 0):
        start = start_axis % max(self.ndim, 1)
        return self.reshape(self.shape[:start] + (-1,))

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = R.normalize_axis(axis, self.ndim, "squeeze")
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def expand_dims(self, axis: int):
        shape = list(self.shape)
        pos = axis if axis >= 0 else self.ndim + 1 + axis
        if not 0 <= pos <= self.ndim:
            raise ValueError(f"expand_dims: axis {axis} is out of range for shape {self.shape}")
        shape.insert(pos, 1)
        return self.reshape(tuple(shape))

    def broadcast_to(self, *shape):
        return S.BroadcastTo(_shape_arg(shape))(self)

    def pad(self, pad_width, value: float = 0.0):
        return S.Pad(pad_width, value)(self)


def _count(t: Tensor, axis) -> int:
    axes = R.normalize_axis(axis, t.ndim, "mean")
    n = 1
    for a in axes:
        n *= t.shape[a]
    return n


def _index(index: Any) -> Any:
    """Tensors inside an index become arrays; lists become integer/bool arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        out.append(i)
    return tuple(out)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: 0-d operands are not allowed (shapes {a.shape} and {b.shape})")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ValueError(f"MatMul: shapes {a.shape} and {b.shape} are not aligned: "
                             f"{a.shape[0]} (axis 0) != {b.shape[0]} (axis 0)")
        return (a * b).sum()
    if a.ndim == 1:
        out = L.MatMul()(a.reshape(1, -1), b)
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = L.MatMul()(a, b.reshape(-1, 1))
        return out.reshape(out.shape[:-1])
    return L.MatMul()(a, b)


# ---- module-level functions ------------------------------------------------------------------


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    return S.Concatenate(axis)(*tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([t.expand_dims(axis) for t in tensors], axis)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elements of x where cond is true, else of y (cond is not differentiated)."""
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    return E.Where(c.astype(bool, copy=False))(as_tensor(x, like), as_tensor(y, like))


def zeros(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    arr = _to_array(t)
    return Tensor(np.zeros(arr.shape, dtype=dtype or arr.dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    arr = _to_array(t)
    return Tensor(np.ones(arr.shape, dtype=dtype or arr.dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Like np.arange; float ranges are float32 unless dtype says otherwise."""
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and arr.dtype == np.float64:
        dtype = np.float32
    return Tensor(arr, dtype=dtype, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the project generator (see `manual_seed`)."""
    arr = get_generator().standard_normal(_shape_arg(shape), dtype=np.float64).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the project generator (see `manual_seed`)."""
    arr = get_generator().random(_shape_arg(shape)).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)

