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
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import dtypes
from .errors import add_note
from .grad_mode import state as _mode
from .random import get_generator

__all__ = [
    "Tensor",
    "VersionCounter",
    "wrap",
    "version_counter",
    "as_tensor",
    "concatenate",
    "stack",
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
        """All axes reversed (the transpose of a matrix)."""
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

    def __iter__(self) -> Iterator["Tensor"]:
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

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy)."""
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same memory (and version counter) outside the graph: a leaf without grad."""
        t = wrap(self.data)
        t._version_counter = version_counter(self)
        return t

    def astype(self, dtype: Any) -> "Tensor":
        """Convert the dtype; differentiable between float dtypes."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return E.Cast(dtype)(self)
        return wrap(self.data.astype(dtype))

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

    # ---- elementwise -----------------------------------------------------------------------

    def exp(self) -> "Tensor":
        return E.Exp()(_float_input(self))

    def log(self) -> "Tensor":
        return E.Log()(_float_input(self))

    def sqrt(self) -> "Tensor":
        return E.Sqrt()(_float_input(self))

    def abs(self) -> "Tensor":
        return E.Abs()(self)

    def sin(self) -> "Tensor":
        return E.Sin()(_float_input(self))

    def cos(self) -> "Tensor":
        return E.Cos()(_float_input(self))

    def tanh(self) -> "Tensor":
        return E.Tanh()(self if self.data.dtype.kind == "f" else _float_input(self))

    def sigmoid(self) -> "Tensor":
        return E.Sigmoid()(_float_input(self))

    def relu(self) -> "Tensor":
        return E.ReLU()(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        return E.LeakyReLU(negative_slope)(self)

    def elu(self, alpha: float = 1.0) -> "Tensor":
        return E.ELU(alpha)(self)

    def clip(self, min: Any = None, max: Any = None) -> "Tensor":
        return E.Clip(min, max)(self)

    def maximum(self, other: Any) -> "Tensor":
        return E.Maximum()(*_operands(self, other))

    def minimum(self, other: Any) -> "Tensor":
        return E.Minimum()(*_operands(self, other))

    def square(self) -> "Tensor":
        return self * self

    # ---- reductions ------------------------------------------------------------------------

    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return R.Sum(axis, keepdims)(self)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        _float_only(self, "mean")
        return R.Mean(axis, keepdims)(self)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> "Tensor":
        _float_only(self, "var")
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) / (_count(self, axis) - ddof)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return R.Max(axis, keepdims)(self)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return R.Min(axis, keepdims)(self)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return R.LogSumExp(axis, keepdims)(_float_input(self))

    def argmax(self, axis: Any = None) -> "Tensor":
        """Indices of the maxima (int64, not differentiable)."""
        return wrap(np.asarray(np.argmax(self.data, axis=axis)))

    def argmin(self, axis: Any = None) -> "Tensor":
        """Indices of the minima (int64, not differentiable)."""
        return wrap(np.asarray(np.argmin(self.data, axis=axis)))

    def softmax(self, axis: int = -1) -> "Tensor":
        _float_only(self, "softmax")
        return R.Softmax(axis)(self)

    def log_softmax(self, axis: int = -1) -> "Tensor":
        _float_only(self, "log_softmax")
        return R.LogSoftmax(axis)(self)

    # ---- shape -----------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> "Tensor":
        return S.Reshape(_shape_arg(shape))(self)

    def transpose(self, *axes: Any) -> "Tensor":
        return S.Transpose(_shape_arg(axes) or None)(self)

    def flatten(self, start_axis: int = 0) -> "Tensor":
        start = start_axis % max(self.ndim, 1)
        return self.reshape(self.shape[:start] + (-1,))

    def squeeze(self, axis: Any = None) -> "Tensor":
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = R.normalize_axis(axis, self.ndim, "squeeze")
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def expand_dims(self, axis: int) -> "Tensor":
        shape = list(self.shape)
        pos = axis if axis >= 0 else self.ndim + 1 + axis
        if not 0 <= pos <= self.ndim:
            raise ValueError(f"expand_dims: axis {axis} is out of range for shape {self.shape}")
        shape.insert(pos, 1)
        return self.reshape(tuple(shape))

    def broadcast_to(self, *shape: Any) -> "Tensor":
        return S.BroadcastTo(_shape_arg(shape))(self)

    def pad(self, pad_width: Any, value: float = 0.0) -> "Tensor":
        return S.Pad(pad_width, value)(self)


def _count(t: Tensor, axis: Any) -> int:
    axes = R.normalize_axis(axis, t.ndim, "mean")
    n = 1
    for a in axes:
        n *= t.shape[a]
    return n


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


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (dtypes promote as in `tinygrad_kr.dtypes`)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    dt = dtypes.result_type(*tensors)
    return S.Concatenate(axis)(*[_cast(t, dt) for t in tensors])


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
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


# The engine and the op nodes are built on Tensor, so they are imported after it is defined.
from . import autograd  # noqa: E402
from .ops import elementwise as E  # noqa: E402
from .ops import linalg as L  # noqa: E402
from .ops import reduce as R  # noqa: E402
from .ops import shape as S  # noqa: E402
