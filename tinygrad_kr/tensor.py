"""`Tensor`: a numpy array that remembers the op node that made it.

Every math method is one line that runs an op node from `tinygrad_kr.ops`: the node computes
the numpy forward and, when grad mode is on and an input requires grad, records itself as the
output's `grad_fn` (see `tinygrad_kr.autograd.Function`).

Views and versions. Tensors that share memory (a basic index `x[1:]`, `reshape`, `transpose`,
`.T`, `broadcast_to`, `detach()`, `Tensor(t)`) share one `VersionCounter`; every in-place change
through any of them (operators such as `+=`, `x[i] = v`, the `*_` methods; also under no_grad)
adds one to it. A node that saved a tensor for backward checks the count, so a saved value that
was changed in place is an error, never a silently wrong gradient. A view made by an op (not
`detach()`, which leaves the graph) also remembers its base: an in-place change through the view
changes the base, and the base's history records it, so gradients flow as in PyTorch.

`wrap(array)` is the one way the engine and the ops make a Tensor from an array.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import numpy as np

from . import dtypes
from ._args import also_accepts, check_bool, check_device, check_int, dtype_arg, to_args
from .errors import add_note
from .grad_mode import state as _mode
from .random import get_generator

__all__ = [
    "Tensor",
    "VersionCounter",
    "wrap",
    "version_counter",
    "as_tensor",
    "tensor",
    "from_numpy",
    "concatenate",
    "cat",
    "stack",
    "matmul",
    "allclose",
    "where",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "full",
    "arange",
    "eye",
    "randn",
    "rand",
    "randint",
]


class VersionCounter:
    """How many in-place changes a tensor's memory has had; shared by all views of it."""

    value = 0  # (a class default: a counter gets its own value when first changed)


def wrap(arr: np.ndarray) -> "Tensor":
    """A Tensor around `arr` (no copy, no checks): a leaf that does not require grad. Ops and
    the engine make every Tensor this way."""
    t = object.__new__(Tensor)
    t.data = arr
    return t


def version_counter(t: "Tensor") -> VersionCounter:
    """t's version counter, made when first needed (most op outputs never need one)."""
    c = t._version_counter
    if c is None:
        c = t._version_counter = VersionCounter()
    return c


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """The one place where user data becomes an array: Python floats become float32, Python
    ints int64; numpy arrays are used as they are (no copy) unless `dtype` asks otherwise."""
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
    dtypes.check_supported(arr.dtype, "Tensor", arr.shape)
    if dtype is not None and arr.dtype != np.dtype(dtype):
        arr = arr.astype(dtype)
    return arr


def as_tensor(x: Any, like: "Tensor | None" = None) -> "Tensor":
    """x as a Tensor (a Tensor is returned as it is). With `like`: Python numbers, lists and
    float arrays take like's float dtype (layer arguments such as a bias given as a list)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and like.data.dtype.kind == "f":
        dt = like.data.dtype
        if type(x) is float or type(x) is int:
            return _constant(x, dt)
        arr = _to_array(x)
        if (
            arr.dtype.kind in "biuf"
            and arr.dtype != dt
            and (arr.dtype.kind == "f" or not isinstance(x, np.ndarray))
        ):
            arr = arr.astype(dt)
        return wrap(arr)
    return Tensor(x)


_constants: dict = {}


def _constant(x: float, dt: np.dtype) -> "Tensor":
    """A cached read-only 0-d Tensor for a Python number in dtype dt (x * 0.5 allocates nothing
    after the first time). 0.0 and -0.0 are different constants."""
    key = (x, dt, math.copysign(1.0, x) if x == 0 else 0)
    t = _constants.get(key)
    if t is None:
        if len(_constants) > 1024:
            _constants.clear()
        arr = np.asarray(x, dtype=dt)
        arr.flags.writeable = False
        t = _constants[key] = wrap(arr)
    return t


def _shape_arg(shape: tuple) -> tuple:
    """f(2, 3) and f((2, 3)) both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _cast(t: "Tensor", dt: np.dtype) -> "Tensor":
    """t in dtype dt: through the graph (Cast) when t requires grad, else a plain conversion."""
    if t.data.dtype == dt:
        return t
    if t._requires_grad:
        return E.Cast(dt)(t)
    return wrap(t.data.astype(dt))


def _operands(a: "Tensor", b: Any, float_op: bool = False) -> tuple["Tensor", "Tensor"]:
    """a and b as two Tensors of the dtype their result has (see `tinygrad_kr.dtypes`);
    float_op: the op gives floats (true division), so integer operands become float32."""
    da = a.data.dtype
    tb = type(b)
    if (tb is float or tb is int) and da.kind == "f":  # the hot path: x * 0.5, x + 1
        return a, _constant(b, da)
    if tb is Tensor and b.data.dtype == da and (da.kind == "f" or not float_op):
        return a, b
    if tb is np.ndarray and b.dtype == da and (da.kind == "f" or not float_op):  # e.g. an optimizer's update
        return a, wrap(b)
    dt = dtypes.result_type(a, b)
    if float_op:
        dt = dtypes.float_dtype(dt)
    if tb is float or tb is int or tb is bool:
        return _cast(a, dt), _constant(b, dt)
    b = as_tensor(b)
    return _cast(a, dt), _cast(b, dt)


def _float_input(t: "Tensor") -> "Tensor":
    """t itself when it holds floats, else t converted to float32 (exp, sqrt, ... of ints)."""
    return t if t.data.dtype.kind == "f" else wrap(t.data.astype(dtypes.DEFAULT_FLOAT))


def _float_only(t: "Tensor", who: str) -> None:
    if t.data.dtype.kind != "f":
        raise TypeError(
            f"{who}: needs a floating point tensor, got dtype {t.dtype} (shape {t.shape}); "
            "convert it with .astype(np.float32)"
        )


def _unbiased(flag: Any) -> int:
    """PyTorch's older unbiased=True/False of var and std, as ddof=1/0."""
    return int(check_bool(flag, "unbiased", "var/std"))


def _one_axis(axis: Any, who: str) -> int:
    """axis as one int (softmax normalizes along exactly one axis)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{who}: axis (dim) must be one int, got {axis!r}")
    return axis


def _normalized_dim(dim: Any, ndim: int, who: str) -> int:
    """One axis (negative counts from the end) as a non-negative int; 0-d tensors take 0 or -1."""
    axes = R.normalize_axis(dim, ndim, who)
    return axes[0] if axes else 0


class MaxMin(NamedTuple):
    """What max(dim=...) / min(dim=...) return, as PyTorch: the values and their indices."""

    values: "Tensor"
    indices: "Tensor"


class _HookHandle:
    """Returned by `register_hook`; `.remove()` unregisters the hook."""

    def __init__(self, hooks: list, fn: Callable):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


class Tensor:
    """A numpy array with autograd.

    Tensor(data, requires_grad=False, dtype=None, name=None). data: a Python number or nested
    list (floats become float32, ints int64), a numpy array (used without a copy, dtype kept)
    or a Tensor (its memory is shared). Only floating point tensors can require grad.

    Fields: `data` (the numpy array), `grad` (a Tensor of the same shape and dtype, or None),
    `grad_fn` (the node that made this tensor, None for a leaf), `requires_grad`, `name`.
    Writing through `data` (the numpy array) bypasses version tracking, as PyTorch's `.data`
    does; change a tensor with its in-place methods and operators instead.
    """

    # Class-level defaults keep construction cheap: an op output sets only `data`.
    _grad = None
    _requires_grad = False
    _version_counter: VersionCounter | None = None  # see version_counter()
    grad_fn = None
    name = None
    _hooks = None
    _base = None  # the tensor whose memory this view shares (views made by ops only)
    _view_seen_version = 0  # the counter value when this view's history was last derived
    _view_made_in_no_grad = False
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        self.data = _to_array(data, dtype)
        if isinstance(data, Tensor) and self.data is data.data:
            self._version_counter = version_counter(data)  # the same memory: the same count
        if requires_grad:
            self.requires_grad = True
        if name is not None:
            self.name = name

    # ---- properties ------------------------------------------------------------------------

    shape = property(lambda self: self.data.shape, doc="The shape tuple.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype.")

    def numel(self) -> int:
        """Number of elements (PyTorch's name for `size`, which is numpy's)."""
        return self.data.size

    def dim(self) -> int:
        """Number of dimensions (PyTorch's name for `ndim`)."""
        return self.data.ndim

    @property
    def requires_grad(self) -> bool:
        """True when gradients are computed for this tensor (leaves set it; op outputs inherit it)."""
        if self._base is not None:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {flag!r}")
        if self.grad_fn is not None:
            raise RuntimeError(
                f"requires_grad can only be changed on leaf tensors, but this tensor (shape {self.shape}) "
                f"was made by {type(self.grad_fn).__name__}; use .detach() for a copy outside the graph"
            )
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating point tensors can require grad, got dtype {self.data.dtype}; "
                "convert with .astype(np.float32) or pass dtype="
            )
        self._requires_grad = bool(flag)

    @property
    def grad(self) -> "Tensor | None":
        """The gradient accumulated by backward (None until then): same shape and dtype."""
        return self._grad

    @grad.setter
    def grad(self, g: Any) -> None:
        if g is not None:
            if isinstance(g, np.ndarray):
                g = wrap(g)
            if not isinstance(g, Tensor):
                raise TypeError(f"grad must be a Tensor or None, got {type(g).__name__}")
            if g.shape != self.shape or g.data.dtype != self.data.dtype:
                raise RuntimeError(
                    f"grad: assigned a gradient of shape {g.shape} dtype {g.dtype} to a tensor of "
                    f"shape {self.shape} dtype {self.dtype}; they must match"
                )
        self._grad = g

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an op that records a graph)."""
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (shared with its views)."""
        return 0 if self._version_counter is None else self._version_counter.value

    @property
    def T(self) -> "Tensor":
        """All axes reversed (the transpose of a matrix); a view."""
        return S.Transpose(None)(self)

    @property
    def mT(self) -> "Tensor":
        """Transpose of the last two axes: (..., n, m) -> (..., m, n); a view."""
        axes = list(range(self.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return S.Transpose(tuple(axes))(self)

    def __len__(self) -> int:
        """The size of the first axis (a 0-d tensor has no length: TypeError)."""
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        """The sub-tensors along the first axis, t[0], t[1], ... (views in the graph)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", threshold=100)
        extra = f"shape={self.shape}, dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}, {extra})"

    # ---- Python protocols: bool(t), float(t), int(t), format(t, ".3f"), abs(t) --------------

    def __bool__(self) -> bool:
        """The truth value of a one-element tensor; more or no elements are ambiguous (as PyTorch)."""
        n = self.data.size
        if n != 1:
            what = "no values" if n == 0 else f"{n} values"
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {what} (shape {self.shape}) is ambiguous; "
                "reduce it to one value first, e.g. bool((t > 0).sum())"
            )
        return bool(self.data.item())

    def _python_number(self, who: str) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"{who}: only one-element tensors can be converted to Python numbers, got shape {self.shape}"
            )
        return self.data.item()

    def __float__(self) -> float:
        return float(self._python_number("float()"))

    def __int__(self) -> int:
        return int(self._python_number("int()"))

    def __format__(self, spec: str) -> str:
        """f"{t:.3f}" formats the value of a 0-d tensor (a loss), as PyTorch; other tensors only
        without a format spec (then as str(t))."""
        if self.ndim == 0:
            return format(self.data.item(), spec)
        if not spec:
            return str(self)
        raise TypeError(
            f"format: the spec {spec!r} needs a 0-d tensor, got shape {self.shape}; format t.item() "
            "(one element) or t.tolist() instead"
        )

    def __abs__(self) -> "Tensor":
        return self.abs()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy)."""
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        return self._python_number("item")

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers; a 0-d tensor gives one number."""
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same memory (and version counter) outside the graph: a leaf without grad."""
        t = wrap(self.data)
        t._version_counter = version_counter(self)
        return t

    def detach_(self) -> "Tensor":
        """Take self out of the graph in place (no grad_fn, requires_grad False); returns self.
        A view can't be detached in place (its history is its base's), as in PyTorch: detach()."""
        if self._base is not None:
            raise RuntimeError(
                f"detach_: can't detach a view (shape {self.shape}) in place; use .detach(), which "
                "returns a new tensor outside the graph"
            )
        self.grad_fn, self._requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place (on leaves, for floats: the setter's rules); returns self.
        On a tensor made by an op, True is accepted as it already holds (PyTorch does the same)."""
        check_bool(requires_grad, "requires_grad", "requires_grad_")
        if not (requires_grad and self.grad_fn is not None):
            self.requires_grad = requires_grad
        return self

    def clone(self) -> "Tensor":
        """A copy in new memory (same shape, dtype and memory layout) that stays in the graph:
        gradients flow back through it, as PyTorch's clone."""
        return S.Clone("K")(self)

    def contiguous(self) -> "Tensor":
        """self when its memory is C-contiguous, else a C-contiguous copy in the graph (as clone)."""
        return self if self.data.flags.c_contiguous else S.Clone("C")(self)

    # ---- views -----------------------------------------------------------------------------

    def _become_view_of(self, t: "Tensor") -> None:
        """Called when an op's output shares t's memory (see `autograd.Function`)."""
        self._version_counter = counter = version_counter(t)
        self._base = t._base if t._base is not None else t
        self._view_seen_version = counter.value
        if not _mode.grad_enabled:
            self._view_made_in_no_grad = True

    def _refresh_view(self) -> None:
        """If the memory was changed in place since this view's history was recorded (through
        the base or another view), derive the history again from the base's current one."""
        counter = self._version_counter  # a view always has one (shared with its base)
        if self._view_seen_version == counter.value:
            return
        self._view_seen_version = counter.value
        base = self._base
        if base.grad_fn is None and not base._requires_grad:
            return
        saved, _mode.grad_enabled = _mode.grad_enabled, True
        try:
            node = S.GetItem(S.view_positions(base.data, self.data))(base).grad_fn
        finally:
            _mode.grad_enabled = saved
        self.grad_fn, self._requires_grad = node, True

    def _current_grad_fn(self) -> Any:
        if self._base is not None:
            self._refresh_view()
        return self.grad_fn

    # ---- autograd --------------------------------------------------------------------------

    def backward(self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        grad: the upstream gradient (same shape as self); optional for one-element tensors.
        retain_graph: keep the graph's saved values for another backward.
        create_graph: record the backward pass too (for higher-order derivatives). A leaf's
            `.grad` then has a history that refers back to the leaf: a reference cycle, freed
            by Python's garbage collector (not by reference counting); `tg.grad(...,
            create_graph=True)` makes none.
        """
        if self._base is not None:
            self._refresh_view()
        autograd.run_backward(self, grad, retain_graph, create_graph)

    def register_hook(self, fn: Callable) -> _HookHandle:
        """Call fn(grad) when this tensor's gradient is computed; a returned Tensor (same shape
        and dtype) replaces it. Returns a handle whose `.remove()` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        node = self._current_grad_fn()
        if node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if node.hooks is None:
                node.hooks = []
            hooks = node.hooks
        hooks.append(fn)
        return _HookHandle(hooks, fn)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor: backward accumulates into it, as for a leaf."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        node = self._current_grad_fn()
        if node is None or self.retains_grad:
            return
        if node.hooks is None:
            node.hooks = []
        node.hooks.append(autograd.RetainGrad(self))

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor whose `.grad` is kept (see `retain_grad`)."""
        node = self.grad_fn
        return node is not None and any(
            type(h) is autograd.RetainGrad and h.tensor_ref() is self for h in node.hooks or ()
        )

    # ---- arithmetic ------------------------------------------------------------------------

    def __add__(self, other: Any) -> "Tensor":
        return E.Add()(*_operands(self, other))

    def __radd__(self, other: Any) -> "Tensor":
        a, b = _operands(self, other)
        return E.Add()(b, a)

    def __sub__(self, other: Any) -> "Tensor":
        return E.Sub()(*_operands(self, other))

    def __rsub__(self, other: Any) -> "Tensor":
        a, b = _operands(self, other)
        return E.Sub()(b, a)

    def __mul__(self, other: Any) -> "Tensor":
        return E.Mul()(*_operands(self, other))

    def __rmul__(self, other: Any) -> "Tensor":
        a, b = _operands(self, other)
        return E.Mul()(b, a)

    def __truediv__(self, other: Any) -> "Tensor":
        return E.Div()(*_operands(self, other, float_op=True))

    def __rtruediv__(self, other: Any) -> "Tensor":
        a, b = _operands(self, other, float_op=True)
        return E.Div()(b, a)

    def __pow__(self, other: Any) -> "Tensor":
        return E.Pow()(*_operands(self, other))

    def __rpow__(self, other: Any) -> "Tensor":
        a, b = _operands(self, other)
        return E.Pow()(b, a)

    def __neg__(self) -> "Tensor":
        if self.data.dtype.kind == "b":
            raise TypeError("negation of a bool tensor is not supported; use ~ to invert a mask")
        return E.Neg()(self)

    def __invert__(self) -> "Tensor":
        if self.data.dtype.kind == "f":
            raise TypeError(f"~ needs a bool or integer tensor, got dtype {self.dtype}")
        return wrap(~self.data)

    def __matmul__(self, other: Any) -> "Tensor":
        return _matmul(self, as_tensor(other, self))

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _matmul(as_tensor(other, self), self)

    def _compare(self, other: Any, op: Callable) -> "Tensor":
        a, b = _operands(self, other)
        return wrap(op(a.data, b.data))

    # comparisons: bool tensors outside the graph
    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # ---- in place --------------------------------------------------------------------------
    #
    # An in-place change writes into this tensor's memory and adds one to the version counter
    # it shares with its views (so nodes that saved any of them refuse to backward). When a
    # graph is recorded, the new value is computed out of place from a copy of the old value
    # (which keeps the old history), then written into the memory; the tensor's history (or,
    # for a view, its base's) is rebased onto that computation. A rejected change changes
    # nothing.

    def _modify(
        self, what: str, compute: Callable, write: Callable, others: Sequence["Tensor"] = ()
    ) -> "Tensor":
        """Change self in place. compute(old) -> the new value as a Tensor, out of place (used
        when a graph is recorded); write(array) does the same in place on a numpy array."""
        base = self._base
        if base is not None:
            self._refresh_view()
        recorded = self._requires_grad or (base is not None and base._requires_grad)
        for t in others:
            recorded = recorded or t._requires_grad
        if not (recorded and _mode.grad_enabled):
            try:
                write(self.data)
            except Exception as e:
                self._write_failed(e, what)
                raise
            version_counter(self).value += 1
            return self
        self._check_recorded_inplace(what)
        old = wrap(self.data.copy())
        old.grad_fn, old._requires_grad = self.grad_fn, self._requires_grad
        new = compute(old)
        if new.shape != self.shape:
            raise ValueError(
                f"in-place {what}: the result has shape {new.shape}, but the tensor being changed has "
                f"shape {self.shape}"
            )
        new = _cast(new, self.data.dtype)
        if base is not None:  # the base gets a history in which this region was replaced
            pos = S.view_positions(base.data, self.data)
            stand_in = wrap(base.data)
            stand_in.grad_fn, stand_in._requires_grad = base.grad_fn, base._requires_grad
            new_base = S.SetItem(pos)(stand_in, new)
        try:
            np.copyto(self.data, new.data)
        except ValueError as e:
            self._write_failed(e, what)
            raise
        version_counter(self).value += 1
        if base is None:
            self.grad_fn, self._requires_grad = new.grad_fn, new._requires_grad
        else:
            base.grad_fn, base._requires_grad = new_base.grad_fn, True
            self._refresh_view()
        return self

    def _write_failed(self, e: Exception, what: str) -> None:
        """Explain a failed in-place write (numpy wrote nothing): a read-only array, or values
        that do not fit."""
        if not self.data.flags.writeable:
            raise ValueError(
                f"in-place {what}: the tensor of shape {self.shape} is read-only (a broadcast view or "
                "a constant); make a copy with .clone() or compute out of place"
            ) from e
        add_note(e, f"in in-place {what} on a tensor of shape {self.shape} dtype {self.dtype}")

    def _check_recorded_inplace(self, what: str) -> None:
        base = self._base
        if base is None and self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"in-place {what} on a leaf tensor of shape {self.shape} that requires grad; do it under "
                "`with tg.no_grad():` (e.g. a weight update) or write it out of place (x = x + y)"
            )
        if base is not None and base.grad_fn is None and base._requires_grad:
            raise RuntimeError(
                f"in-place {what} on a view (shape {self.shape}) of a leaf tensor of shape {base.shape} "
                "that requires grad; do it under `with tg.no_grad():` or compute out of place"
            )
        if self._view_made_in_no_grad:
            raise RuntimeError(
                f"in-place {what} with grad mode on, on a view (shape {self.shape}) that was made "
                "under no_grad: make the view and the change both inside no_grad (not tracked) or "
                "both outside (tracked)"
            )

    def _binary_inplace(
        self, other: Any, method: Callable, ufunc: np.ufunc, what: str, float_op: bool = False
    ) -> "Tensor":
        a, b = _operands(self, other, float_op)
        if dtypes.category(a.data.dtype) > dtypes.category(self.data.dtype):
            raise TypeError(
                f"in-place {what}: the result has dtype {a.dtype}, which can't be stored in the tensor's "
                f"dtype {self.dtype} (shape {self.shape}); write it out of place (x = x {what[0]} y)"
            )

        def write(arr: np.ndarray) -> None:
            ufunc(arr, b.data, out=arr, casting="unsafe")

        return self._modify(what, lambda old: method(_cast(old, a.data.dtype), b), write, (b,))

    def __iadd__(self, other: Any) -> "Tensor":
        return self._binary_inplace(other, Tensor.__add__, np.add, "+=")

    def __isub__(self, other: Any) -> "Tensor":
        return self._binary_inplace(other, Tensor.__sub__, np.subtract, "-=")

    def __imul__(self, other: Any) -> "Tensor":
        return self._binary_inplace(other, Tensor.__mul__, np.multiply, "*=")

    def __itruediv__(self, other: Any) -> "Tensor":
        return self._binary_inplace(other, Tensor.__truediv__, np.true_divide, "/=", float_op=True)

    def add_(self, other: Any) -> "Tensor":
        """self += other, in place; returns self."""
        return self.__iadd__(other)

    def sub_(self, other: Any) -> "Tensor":
        """self -= other, in place; returns self."""
        return self.__isub__(other)

    def mul_(self, other: Any) -> "Tensor":
        """self *= other, in place; returns self."""
        return self.__imul__(other)

    def div_(self, other: Any) -> "Tensor":
        """self /= other, in place; returns self."""
        return self.__itruediv__(other)

    def copy_(self, src: Any) -> "Tensor":
        """Overwrite self with src (broadcast to self's shape, cast to self's dtype); returns self."""
        src = as_tensor(src)

        def write(arr: np.ndarray) -> None:
            np.copyto(arr, src.data, casting="unsafe")

        return self._modify(
            "copy_", lambda old: S.Overwrite()(old, _cast(src, old.data.dtype)), write, (src,)
        )

    def fill_(self, value: float) -> "Tensor":
        """Set every element to value; returns self."""
        return self.copy_(_constant(value, self.data.dtype) if isinstance(value, (int, float)) else value)

    def zero_(self) -> "Tensor":
        """Set every element to 0; returns self."""
        return self.fill_(0)

    # ---- indexing --------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> "Tensor":
        template, tensors = _index(index)
        return S.GetItem(template)(self, *tensors)

    def __setitem__(self, index: Any, value: Any) -> None:
        template, tensors = _index(index)
        value = as_tensor(value, self)
        if dtypes.category(value.data.dtype) > dtypes.category(self.data.dtype) and value._requires_grad:
            raise TypeError(
                f"[]=: cannot store a {value.dtype} value that requires grad in a {self.dtype} tensor"
            )
        idx = S.fill_index(template, [t.data for t in tensors])

        def write(arr: np.ndarray) -> None:
            arr[idx] = value.data

        self._modify(
            "[]=",
            lambda old: S.SetItem(template)(old, _cast(value, old.data.dtype), *tensors),
            write,
            (value,),
        )

    # ---- elementwise (any shape; the result has self's shape) -------------------------------

    def exp(self) -> "Tensor":
        """e ** self, elementwise (integers give float32)."""
        return E.Exp()(_float_input(self))

    def log(self) -> "Tensor":
        """Natural logarithm, elementwise (log(0) = -inf; integers give float32)."""
        return E.Log()(_float_input(self))

    def sqrt(self) -> "Tensor":
        """Square root, elementwise (integers give float32)."""
        return E.Sqrt()(_float_input(self))

    def abs(self) -> "Tensor":
        """|self|, elementwise (also `abs(t)`); the gradient at 0 is 0, as in PyTorch."""
        return E.Abs()(self)

    def sin(self) -> "Tensor":
        """Sine, elementwise (integers give float32)."""
        return E.Sin()(_float_input(self))

    def cos(self) -> "Tensor":
        """Cosine, elementwise (integers give float32)."""
        return E.Cos()(_float_input(self))

    def tanh(self) -> "Tensor":
        """Hyperbolic tangent, elementwise (integers give float32)."""
        return E.Tanh()(self if self.data.dtype.kind == "f" else _float_input(self))

    def sigmoid(self) -> "Tensor":
        """1 / (1 + exp(-self)), elementwise, without overflow for any value."""
        return E.Sigmoid()(_float_input(self))

    def relu(self) -> "Tensor":
        """max(self, 0), elementwise."""
        return E.ReLU()(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        """self where self > 0, negative_slope * self elsewhere."""
        return E.LeakyReLU(negative_slope)(self)

    def elu(self, alpha: float = 1.0) -> "Tensor":
        """self where self > 0, alpha * (exp(self) - 1) elsewhere."""
        return E.ELU(alpha)(self)

    def clip(self, min: Any = None, max: Any = None) -> "Tensor":
        """Values limited to [min, max] (numpy's name; either bound may be None). See `clamp`."""
        return E.Clip(min, max)(self)

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":
        """Values limited to [min, max], as PyTorch's clamp: numbers, either may be None (not
        both). Gradient 1 inside the range, 0 outside. Float bounds on an integer tensor give
        float32 (PyTorch's promotion)."""
        return E.Clip(min, max)(_cast(self, self._clamp_dtype(min, max, "clamp")))

    def _clamp_dtype(self, lo: Any, hi: Any, who: str) -> np.dtype:
        bounds = [b for b in (lo, hi) if b is not None]
        if not bounds:
            raise ValueError(f"{who}: at least one of min and max must be given (not None)")
        for b in bounds:
            if isinstance(b, bool) or not isinstance(b, (int, float, np.integer, np.floating)):
                raise TypeError(
                    f"{who}: min and max must be numbers or None, got {b!r}; for tensor bounds use "
                    ".maximum(lo).minimum(hi)"
                )
        return dtypes.result_type(self, *bounds)

    def maximum(self, other: Any) -> "Tensor":
        """Elementwise max of self and other (broadcast); ties split the gradient evenly."""
        return E.Maximum()(*_operands(self, other))

    def minimum(self, other: Any) -> "Tensor":
        """Elementwise min of self and other (broadcast); ties split the gradient evenly."""
        return E.Minimum()(*_operands(self, other))

    def square(self) -> "Tensor":
        """self * self, elementwise."""
        return self * self

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """self with `value` wherever the bool `mask` (broadcast to self's shape) is True, as
        PyTorch's masked_fill; the result keeps self's dtype. value: a number or a 0-d tensor
        (which then gets the summed gradient of the filled places). The mask is an input of the
        node, so changing it in place before backward is an error."""
        m, v = self._mask_and_value(mask, value, "masked_fill")
        return E.Where()(m, v, self)

    def _mask_and_value(self, mask: Any, value: Any, who: str) -> tuple["Tensor", "Tensor"]:
        m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
        if m.data.dtype != np.bool_:
            raise TypeError(
                f"{who}: the mask must be a bool tensor, got dtype {m.dtype} (shape {m.shape}); make one "
                "with a comparison such as x > 0"
            )
        if not autograd.broadcasts_to(m.shape, self.shape):
            raise ValueError(
                f"{who}: a mask of shape {m.shape} does not broadcast to the tensor's shape {self.shape}"
            )
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(
                    f"{who}: value must be a number or a 0-d tensor, got a tensor of shape {value.shape}"
                )
            return m, _cast(value, self.data.dtype)
        if not isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
            raise TypeError(f"{who}: value must be a number or a 0-d tensor, got {type(value).__name__}")
        return m, wrap(np.asarray(value, dtype=self.data.dtype))

    # ---- elementwise in place (nn.ReLU(inplace=True) and friends) ----------------------------

    def _apply_(self, what: str, make_node: Callable) -> "Tensor":
        """Replace self by make_node()(self), an elementwise node that keeps shape and dtype."""

        def write(arr: np.ndarray) -> None:
            np.copyto(arr, make_node().forward(arr))

        return self._modify(what, lambda old: make_node()(old), write)

    def relu_(self) -> "Tensor":
        """max(self, 0) in place (what nn.ReLU(inplace=True) does); returns self."""
        return self._apply_("relu_", E.ReLU)

    def leaky_relu_(self, negative_slope: float = 0.01) -> "Tensor":
        """`leaky_relu` in place; returns self."""
        return self._apply_("leaky_relu_", lambda: E.LeakyReLU(negative_slope))

    def elu_(self, alpha: float = 1.0) -> "Tensor":
        """`elu` in place; returns self."""
        return self._apply_("elu_", lambda: E.ELU(alpha))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        """`clamp` in place; returns self. Float bounds on an integer tensor are an error (the
        result would not fit its dtype)."""
        dt = self._clamp_dtype(min, max, "clamp_")
        if dt != self.data.dtype:
            raise TypeError(
                f"in-place clamp_: the result has dtype {dt}, which can't be stored in the tensor's dtype "
                f"{self.dtype} (shape {self.shape}); use x = x.clamp(...)"
            )
        return self._apply_("clamp_", lambda: E.Clip(min, max))

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """`masked_fill` in place; returns self."""
        m, v = self._mask_and_value(mask, value, "masked_fill_")

        def write(arr: np.ndarray) -> None:
            np.copyto(arr, np.broadcast_to(v.data, arr.shape), where=m.data)

        return self._modify("masked_fill_", lambda old: E.Where()(m, v, old), write, (v,))

    # ---- reductions ------------------------------------------------------------------------
    #
    # axis: None (all axes), an int or a tuple of ints (negative ones count from the end);
    # keepdims keeps the reduced axes with size 1. PyTorch's dim=/keepdim= mean the same.

    @also_accepts(dim="axis", keepdim="keepdims")
    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        """Sum over axis; (2, 3).sum(1) has shape (2,), .sum(1, keepdims=True) (2, 1)."""
        return R.Sum(axis, keepdims)(self)

    @also_accepts(dim="axis", keepdim="keepdims")
    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        """Mean over axis (floats only)."""
        _float_only(self, "mean")
        return R.Mean(axis, keepdims)(self)

    @also_accepts(dim="axis", keepdim="keepdims", correction="ddof", unbiased=("ddof", _unbiased))
    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> "Tensor":
        """Variance over axis: sum((x - mean)**2) / (n - ddof). ddof=0 by default (numpy's);
        PyTorch's default is the sample variance: pass ddof=1, correction=1 or unbiased=True."""
        _float_only(self, "var")
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) / max(_count(self, axis) - ddof, 0)

    @also_accepts(dim="axis", keepdim="keepdims", correction="ddof", unbiased=("ddof", _unbiased))
    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> "Tensor":
        """Standard deviation over axis, sqrt(var) with var's arguments (ddof=0 by default, see
        `var`). The gradient is 0 where all values are equal, as in PyTorch."""
        _float_only(self, "std")
        d = self - self.mean(axis, keepdims=True)
        return d.norm(2, axis, keepdims) / math.sqrt(max(_count(self, axis) - ddof, 0))

    @also_accepts(axis="dim", keepdims="keepdim")
    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """The p-norm over dim (None: all elements as one vector), as torch.norm: p = 2 (or
        'fro'), 1, inf, -inf, 0 (the number of non-zeros) or any other number; floats only.
        (2, 3).norm(dim=1) has shape (2,). The gradient is PyTorch's (0 where a 2-norm is 0)."""
        _float_only(self, "norm")
        if p == "fro":
            p = 2
        if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or p != p:
            raise ValueError(
                f"norm: p must be a number or 'fro', got {p!r} (the nuclear norm 'nuc' is not supported)"
            )
        return R.VectorNorm(float(p), dim, keepdim)(self)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Any:
        """Maximum over axis (numpy's spelling): the values, as numpy's max and torch.amax; tied
        maxima share the gradient evenly. With PyTorch's spelling, max(dim=d, keepdim=k)
        returns PyTorch's pair (values, indices), the gradient going to the indexed element."""
        return self._extreme(R.Max, np.argmax, "max", axis, keepdims, dim, keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None) -> Any:
        """Minimum over axis; the same spellings and results as `max`."""
        return self._extreme(R.Min, np.argmin, "min", axis, keepdims, dim, keepdim)

    def _extreme(self, node: type, arg: Callable, name: str, axis: Any, keepdims: bool, dim: Any,
                 keepdim: Any) -> Any:
        if dim is None:
            if keepdim is not None:
                raise TypeError(f"Tensor.{name}() got keepdim= without dim=; numpy's spelling is keepdims=")
            return node(axis, keepdims)(self)
        if axis is not None:
            raise TypeError(
                f"Tensor.{name}() got axis= and dim=, two spellings of the same argument; "
                "pass only one of them"
            )
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Tensor.{name}(dim=...) takes one int, got {dim!r}")
        axes = R.normalize_axis(dim, self.ndim, name)
        R.check_nonempty(self.data, dim, axes, name)
        d = axes[0] if axes else 0
        idx = np.expand_dims(arg(self.data, axis=d), d) if self.ndim else np.asarray(0)
        grids = list(np.indices(idx.shape, sparse=True)) if self.ndim else []
        if self.ndim:
            grids[d] = idx
        values = self[tuple(grids)] if self.ndim else self * 1
        keep = bool(keepdim)
        if not keep and self.ndim:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return MaxMin(values, wrap(np.asarray(idx, dtype=np.int64)))

    @also_accepts(dim="axis", keepdim="keepdims")
    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        """log(sum(exp(self))) over axis, computed stably (the max is subtracted first)."""
        return R.LogSumExp(axis, keepdims)(_float_input(self))

    @also_accepts(dim="axis", keepdim="keepdims")
    def argmax(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        """Indices of the maxima along axis (None: in the flattened tensor); int64, not differentiable."""
        return wrap(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)))

    @also_accepts(dim="axis", keepdim="keepdims")
    def argmin(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        """Indices of the minima along axis (None: in the flattened tensor); int64, not differentiable."""
        return wrap(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)))

    @also_accepts(dim="axis")
    def softmax(self, axis: int = -1) -> "Tensor":
        """exp(self) / sum(exp(self)) along one axis (the last by default); same shape, floats only."""
        _float_only(self, "softmax")
        return R.Softmax(_one_axis(axis, "softmax"))(self)

    @also_accepts(dim="axis")
    def log_softmax(self, axis: int = -1) -> "Tensor":
        """self - logsumexp(self) along one axis (the last by default), stably; same shape."""
        _float_only(self, "log_softmax")
        return R.LogSoftmax(_one_axis(axis, "log_softmax"))(self)

    def sum_to_size(self, *size: Any) -> "Tensor":
        """self summed down to `size`, a shape that broadcasts to self's (the reverse of
        `expand`), as PyTorch's sum_to_size: a (2, 3) tensor .sum_to_size(1, 3) sums axis 0."""
        size = _shape_arg(size)
        if not autograd.broadcasts_to(size, self.shape):
            raise ValueError(
                f"sum_to_size: size {size} does not broadcast to the tensor's shape {self.shape}"
            )
        return autograd.sum_to_shape(self, size)

    # ---- shape (views where numpy makes them; shape arguments as f(2, 3) or f((2, 3))) -------

    def reshape(self, *shape: Any) -> "Tensor":
        """The same values in another shape (-1 infers one size): a view when the memory allows,
        else a copy (see `view`)."""
        return S.Reshape(_shape_arg(shape))(self)

    def view(self, *shape: Any) -> "Tensor":
        """The same memory seen in another shape (-1 infers one size), as PyTorch's view: an error
        where reshape would have to copy (e.g. after a transpose)."""
        shape = _shape_arg(shape)
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(
                f"view: expected a shape (ints), got {shape!r}; to change the dtype use .to(dtype)"
            )
        out = S.Reshape(shape)(self)
        if out.data.size and not np.may_share_memory(out.data, self.data):
            raise RuntimeError(
                f"view: the memory of this tensor of shape {self.shape} (strides {self.data.strides}) "
                f"can't be seen as shape {shape} without a copy; use .reshape(...) (copies when needed) "
                "or .contiguous().view(...)"
            )
        return out

    def transpose(self, *axes: Any, dim0: Any = None, dim1: Any = None) -> "Tensor":
        """Swap or reorder axes (a view).

        transpose(dim0, dim1): two ints swap those two axes (PyTorch); a tuple such as
        transpose((1, 0, 2)), or three or more ints: the axes in that order (numpy); no
        arguments: all axes reversed. A (2, 3, 4) tensor .transpose(0, 2) is (4, 3, 2).
        """
        if dim0 is not None or dim1 is not None:
            if axes or dim0 is None or dim1 is None:
                raise TypeError("transpose: give dim0= and dim1= together, without positional axes")
            axes = (dim0, dim1)
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            perm = list(range(self.ndim))
            i, j = (_normalized_dim(a, self.ndim, "transpose") for a in axes)
            if perm:
                perm[i], perm[j] = perm[j], perm[i]
            return S.Transpose(tuple(perm))(self)
        return S.Transpose(_shape_arg(axes) or None)(self)

    def permute(self, *dims: Any) -> "Tensor":
        """The axes in the order dims, a permutation of all of them (negative ones count from the
        end): a (2, 3, 4) tensor .permute(2, 0, 1) (or .permute((2, 0, 1))) is (4, 2, 3). A view."""
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ValueError(
                f"permute: dims {dims} must list each of the {self.ndim} axes of shape {self.shape} once"
            )
        return S.Transpose(dims)(self)

    def t(self) -> "Tensor":
        """The transpose of a matrix, as PyTorch's t(): 0-d and 1-D tensors are returned as they
        are; more than 2 dims is an error (use .mT or transpose(dim0, dim1))."""
        if self.ndim > 2:
            raise ValueError(
                f"t: expects a tensor with <= 2 dims, got shape {self.shape}; use .mT or "
                ".transpose(dim0, dim1)"
            )
        return self if self.ndim < 2 else S.Transpose(None)(self)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Axes start_dim..end_dim (inclusive) merged into one: a (2, 3, 4) tensor .flatten() is
        (24,), .flatten(1) is (2, 12). A 0-d tensor becomes (1,)."""
        nd, shape = self.ndim, self.shape
        start = start_dim + max(nd, 1) if start_dim < 0 else start_dim
        end = end_dim + max(nd, 1) if end_dim < 0 else end_dim
        if not (0 <= start < max(nd, 1) and 0 <= end < max(nd, 1)) or start > end:
            raise ValueError(
                f"flatten: start_dim={start_dim}, end_dim={end_dim} are not a valid dim range for "
                f"shape {shape}"
            )
        if nd == 0:
            return self.reshape(1)
        return self.reshape(shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])

    @also_accepts(dim="axis")
    def squeeze(self, axis: Any = None) -> "Tensor":
        """Axes of size 1 removed: all of them (axis=None) or those of axis (an int or a tuple);
        an axis of another size stays, as in PyTorch (numpy raises). A view."""
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = R.normalize_axis(axis, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes or n != 1))

    @also_accepts(dim="axis")
    def expand_dims(self, axis: int) -> "Tensor":
        """A new axis of size 1 at position axis (-1: last): (2, 3).expand_dims(0) is (1, 2, 3)."""
        shape = list(self.shape)
        pos = axis if axis >= 0 else self.ndim + 1 + axis
        if not 0 <= pos <= self.ndim:
            raise ValueError(f"expand_dims: axis {axis} is out of range for shape {self.shape}")
        shape.insert(pos, 1)
        return self.reshape(tuple(shape))

    def unsqueeze(self, dim: int) -> "Tensor":
        """PyTorch's name for `expand_dims`: a new axis of size 1 at position dim."""
        return self.expand_dims(dim)

    def broadcast_to(self, *shape: Any) -> "Tensor":
        """self repeated to `shape` by numpy's broadcasting rules (a read-only view)."""
        return S.BroadcastTo(_shape_arg(shape))(self)

    def expand(self, *sizes: Any) -> "Tensor":
        """self broadcast to sizes, as PyTorch's expand (a read-only view, no copy): -1 keeps a
        size, new leading axes may be added, only axes of size 1 grow. A (3, 1) tensor
        .expand(-1, 4) is (3, 4)."""
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(
                f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {self.shape}; give at least "
                "one per axis"
            )
        target = []
        for i, n in enumerate(sizes):
            old = self.shape[i - lead] if i >= lead else None
            if n == -1 and old is not None:
                n = old
            elif not isinstance(n, (int, np.integer)) or n < 0 or (old not in (None, 1, n)):
                raise ValueError(
                    f"expand: size {n} at dim {i} is not possible for shape {self.shape} (sizes {sizes}): "
                    "an existing axis keeps its size unless it is 1, -1 keeps it, new leading axes need "
                    "a size"
                )
            target.append(int(n))
        return S.BroadcastTo(tuple(target))(self)

    def repeat(self, *sizes: Any) -> "Tensor":
        """self tiled sizes[i] times along each axis, as PyTorch's repeat (numpy's tile): a (2, 3)
        tensor .repeat(2, 1) is (4, 3); more sizes than axes add leading axes. A new tensor."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim or not all(isinstance(r, (int, np.integer)) and r >= 0 for r in sizes):
            raise ValueError(
                f"repeat: sizes {sizes} must be one count >= 0 per axis (at least {self.ndim}) for "
                f"shape {self.shape}"
            )
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        # (a, b) -> (1, a, 1, b) -> broadcast (ra, a, rb, b) -> (ra*a, rb*b): a copy in row-major order
        x = self.reshape(tuple(v for n in shape for v in (1, n)))
        x = x.broadcast_to(tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
        out = x.reshape(tuple(r * n for r, n in zip(sizes, shape)))
        return out if out._base is None else out.clone()  # all counts 1: still a copy, as in PyTorch

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        """At most `chunks` views along dim, each of size ceil(n / chunks) (the last one smaller),
        as PyTorch's chunk: a (10,) tensor .chunk(4) gives sizes 3, 3, 3, 1."""
        chunks = check_int(chunks, "chunks", "chunk", low=1)
        n = self.shape[_normalized_dim(dim, self.ndim, "chunk")] if self.ndim else 0
        if n == 0:
            return self.split([0] * chunks, dim)
        return self.split(-(-n // chunks), dim)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple["Tensor", ...]:
        """Views along dim, as PyTorch's split (not numpy's): an int gives pieces of that size (the
        last one smaller), a list pieces of those sizes, which must add up to the axis' size."""
        if self.ndim == 0:
            raise ValueError("split: a 0-d tensor can't be split")
        ax = _normalized_dim(dim, self.ndim, "split")
        n = self.shape[ax]
        s = split_size_or_sections
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            if s < 1 and not (s == 0 and n == 0):
                raise ValueError(f"split: the split size must be >= 1, got {s}")
            sizes = [s] * (n // s) + ([n % s] if n % s else []) if n else [0]
        else:
            sizes = list(s)
            if not all(isinstance(k, (int, np.integer)) and k >= 0 for k in sizes) or sum(sizes) != n:
                raise ValueError(
                    f"split: sizes {sizes} must be ints >= 0 adding up to {n}, the size of dim {dim} of "
                    f"shape {self.shape}"
                )
        head = (slice(None),) * ax
        bounds = np.cumsum([0] + sizes).tolist()
        return tuple(self[head + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def pad(self, pad_width: Any, value: float = 0.0) -> "Tensor":
        """Constant padding with numpy's pad_width ((before, after) per axis, or one pair for all)."""
        return S.Pad(pad_width, value)(self)

    # ---- dtypes and devices (PyTorch's names; only the CPU exists here) ---------------------

    def astype(self, dtype: Any) -> "Tensor":
        """self converted to dtype (numpy's name); differentiable between float dtypes; self when
        the dtype is already that."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return E.Cast(dtype)(self)
        return wrap(self.data.astype(dtype))

    def to(self, *args: Any, device: Any = None, dtype: Any = None, copy: bool = False) -> "Tensor":
        """PyTorch's to(): to(dtype), to("cpu"), to("cpu", dtype), to(other) (other's dtype) or
        to(device=..., dtype=...). self when nothing changes (copy=True: a clone); a float to
        float change is differentiable. Any device other than the CPU is an error."""
        dt = to_args(args, device, dtype, "to")
        out = self if dt is None else self.astype(dt)
        return out.clone() if check_bool(copy, "copy", "to") and out is self else out

    def float(self) -> "Tensor":
        """self as float32 (PyTorch's float())."""
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        """self as float64."""
        return self.astype(np.float64)

    def half(self) -> "Tensor":
        """self as float16."""
        return self.astype(np.float16)

    def long(self) -> "Tensor":
        """self as int64 (not differentiable; floats are truncated toward zero)."""
        return self.astype(np.int64)

    def int(self) -> "Tensor":
        """self as int32 (not differentiable; floats are truncated toward zero)."""
        return self.astype(np.int32)

    def bool(self) -> "Tensor":
        """self as bool (non-zero is True; not differentiable)."""
        return self.astype(np.bool_)


def _count(t: Tensor, axis: Any) -> int:
    return R.reduced_size(t.shape, R.normalize_axis(axis, t.ndim, "mean"))


def _index(index: Any) -> tuple[tuple, list[Tensor]]:
    """An index as (template, tensors): integer and boolean arrays (from Tensors, lists or numpy
    arrays) become tensor inputs of the indexing node, so that it saves them like any input and
    notices when one is changed in place; numpy arrays and lists are copied."""
    items = index if isinstance(index, tuple) else (index,)
    template, tensors = [], []
    for i in items:
        if isinstance(i, Tensor):
            tensors.append(i)
            template.append(S.TENSOR_INDEX)
        elif isinstance(i, (list, np.ndarray)):
            tensors.append(wrap(np.array(i)))
            template.append(S.TENSOR_INDEX)
        else:
            template.append(i)
    return tuple(template), tensors


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: 0-d operands are not allowed (shapes {a.shape} and {b.shape})")
    if a.data.dtype != b.data.dtype:
        raise TypeError(
            f"MatMul: operands must have the same dtype, got {a.dtype} (shape {a.shape}) and {b.dtype} "
            f"(shape {b.shape}); convert one with .astype()"
        )
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} are not aligned: "
                f"{a.shape[0]} (axis 0) != {b.shape[0]} (axis 0)"
            )
        return (a * b).sum()
    if a.ndim == 1:
        out = L.MatMul()(a.reshape(1, -1), b)
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = L.MatMul()(a, b.reshape(-1, 1))
        return out.reshape(out.shape[:-1])
    return L.MatMul()(a, b)


# ---- module-level functions ------------------------------------------------------------------


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data, as torch.tensor: Python floats become float32, ints
    int64, bools bool; numpy arrays and tensors keep their dtype (a tensor's copy is a leaf
    outside the graph). `Tensor(data)` is the same without the copy of arrays."""
    check_device(device, "tensor")
    arr = _to_array(data, None if dtype is None else dtype_arg(dtype, "tensor"))
    return Tensor(
        np.array(arr, copy=True), requires_grad=check_bool(requires_grad, "requires_grad", "tensor")
    )


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing array's memory (no copy), as torch.from_numpy: a change through either
    shows in the other (writes through the numpy array bypass version tracking, as `.data`)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    return Tensor(array)


@also_accepts(dim="axis")
def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (dtypes promote as in `tinygrad_kr.dtypes`); `cat` is
    PyTorch's name: tg.cat([a, b], dim=1)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    dt = dtypes.result_type(*tensors)
    return S.Concatenate(axis)(*[_cast(t, dt) for t in tensors])


cat = concatenate


@also_accepts(dim="axis")
def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis: three (2, 3) tensors stack to (3, 2, 3)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([t.expand_dims(axis) for t in tensors], axis)


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b: matrix product with numpy's (and PyTorch's) rules for 1-D operands and batch axes."""
    if isinstance(a, Tensor):
        return a @ b
    if isinstance(b, Tensor):
        return b.__rmatmul__(a)
    return as_tensor(a) @ b


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when |a - b| <= atol + rtol * |b| everywhere (shapes broadcast), as torch.allclose.
    Two tensors of different dtypes are an error, as in PyTorch; a number, list or array
    compared with a tensor takes its float dtype."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype != b.data.dtype:
        raise TypeError(
            f"allclose: the tensors have different dtypes, {a.dtype} and {b.dtype}; convert one with "
            ".to(dtype)"
        )
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    b = as_tensor(b, a)
    try:
        return bool(np.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError as e:
        raise ValueError(f"allclose: shapes {a.shape} and {b.shape} cannot be broadcast together") from e


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """Elements of x where cond is true, else of y (cond is not differentiated)."""
    c = cond if isinstance(cond, Tensor) else wrap(np.asarray(cond))
    if c.data.dtype != np.bool_:
        c = wrap(c.data.astype(bool))
    if isinstance(x, Tensor):
        a, b = _operands(x, y)
    elif isinstance(y, Tensor):
        b, a = _operands(y, x)
    else:
        a, b = _operands(as_tensor(x), y)
    return E.Where()(c, a, b)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape: Any, fill_value: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    arr = _to_array(t)
    return Tensor(np.zeros(arr.shape, dtype=dtype or arr.dtype), requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    arr = _to_array(t)
    return Tensor(np.ones(arr.shape, dtype=dtype or arr.dtype), requires_grad=requires_grad)


def arange(
    start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Like np.arange; float ranges are float32 unless dtype says otherwise."""
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and arr.dtype == np.float64:
        dtype = np.float32
    return Tensor(arr, dtype=dtype, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the project generator (see `manual_seed`)."""
    arr = get_generator().standard_normal(_shape_arg(shape), dtype=np.float64).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the project generator (see `manual_seed`)."""
    arr = get_generator().random(_shape_arg(shape)).astype(dtype)
    return Tensor(arr, requires_grad=requires_grad)


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = np.int64) -> Tensor:
    """Integers drawn uniformly from [low, high) by the project generator, as torch.randint:
    randint(high, size) or randint(low, high, size), size a tuple. int64 unless dtype says."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError(
                "randint: size (a tuple) is required: randint(high, size) or randint(low, high, size)"
            )
        low, high, size = 0, low, high
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"randint: {name} must be an int, got {v!r}")
    if low >= high:
        raise ValueError(f"randint: low must be less than high, got low={low}, high={high}")
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    arr = get_generator().integers(low, high, size=shape, dtype=np.int64)
    return Tensor(arr.astype(dtype_arg(dtype, "randint"), copy=False))


# The engine and the op nodes are built on Tensor, so they are imported after it is defined.
from . import autograd  # noqa: E402
from .ops import elementwise as E  # noqa: E402
from .ops import linalg as L  # noqa: E402
from .ops import reduce as R  # noqa: E402
from .ops import shape as S  # noqa: E402
