"""The autograd core: op nodes (`Function`), grad mode, and the backward engine.

Every op is a small `Function` subclass: `forward` works on numpy arrays and returns one
array; `backward` receives the output's gradient as a Tensor and returns one Tensor (or
None) per input, written with Tensor ops so that `create_graph=True` records it and
higher-order derivatives come for free. Hot ops whose backward uses only what numpy arrays
and Tensors share (+ - * / @, .T, .sum, .reshape) pass their operands through `self.plain`:
in a plain backward the same lines then run on arrays, without creating op nodes, and may
return arrays (the engine wraps them).

The backward engine visits nodes in decreasing *generation* (a node's generation is larger
than the generation of every node that made its inputs) with a heap: each node runs once,
after every consumer of its output has contributed its gradient. No recursion, so graphs of
any depth work.
"""

from __future__ import annotations

import functools
import heapq
import os
import sys
import threading
from typing import Any, Callable, Iterable, Sequence

import numpy as np

# --------------------------------------------------------------------------------------------
# Grad mode and anomaly mode (thread-local)
# --------------------------------------------------------------------------------------------


class _Mode(threading.local):
    enabled = True
    anomaly = False
    module = None  # the innermost nn.Module whose forward is running (set by Module.__call__)


_mode = _Mode()


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default). Thread-local."""
    return _mode.enabled


class _ModeSwitch:
    """Context manager and decorator that sets a thread-local flag and restores it after."""

    _attr = "enabled"
    _value = True

    def __init__(self) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(getattr(_mode, self._attr))
        setattr(_mode, self._attr, self._value)

    def __exit__(self, *exc: Any) -> None:
        setattr(_mode, self._attr, self._saved.pop())

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_ModeSwitch):
    """Disable graph recording: `with tg.no_grad(): ...` or `@tg.no_grad()`."""

    _value = False


class enable_grad(_ModeSwitch):
    """Enable graph recording inside a `no_grad` region."""

    _value = True


class detect_anomaly(_ModeSwitch):
    """Check every forward output and backward gradient for NaN/Inf.

    Raises `FloatingPointError` at the first non-finite value, naming the op and the line of
    user code that created it. Only ops created inside this context record that line, so
    normal runs pay nothing.
    """

    _attr = "anomaly"
    _value = True


def _user_frame() -> str:
    """`file:line` of the innermost stack frame outside this package (anomaly mode only)."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    nn_pkg = os.path.join(os.path.dirname(pkg), "nn")
    frame = sys._getframe(1)
    while frame is not None:
        fname = os.path.abspath(frame.f_code.co_filename)
        if not (fname.startswith(pkg + os.sep) or fname.startswith(nn_pkg + os.sep)):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _check_finite(arr: np.ndarray, what: str, node: "Function") -> None:
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        kind = "NaN" if np.isnan(arr).any() else "Inf"
        where = getattr(node, "trace", None) or "<unknown>"
        raise FloatingPointError(
            f"detect_anomaly: {type(node).__name__} produced {kind} in its {what} "
            f"(shape {arr.shape}); the op was created at {where}"
        )


# --------------------------------------------------------------------------------------------
# Function: the op node
# --------------------------------------------------------------------------------------------


class Function:
    """Base class of every op node.

    Subclass it and write `forward(self, *xs)` (numpy arrays in, one numpy array out) and
    `backward(self, gy)` (Tensor in, one Tensor or None per input out). Non-tensor arguments
    (axis, shape, slope) go to `__init__`. Call `MyOp.apply(*tensors, **init_kwargs)`.

    Inside `backward`, `self.inputs` holds the input Tensors and `self.output()` rebuilds the
    output Tensor (for ops whose derivative is cheapest in terms of their output; set
    `save_output = True` and keep the array as `self.y` in `forward`).

    Class attributes:
      saved_inputs: indices of inputs whose values `backward` reads (None: all). Only those
        are checked against in-place modification (version counter) before backward.
      save_output: True when backward reads the output (its version is checked too).
    """

    saved_inputs: tuple[int, ...] | None = None
    save_output = False
    generation = 0
    inputs: tuple | None = None
    trace: str | None = None
    out_hooks: list | None = None
    retain_ref: Any = None
    versions: tuple | None = None  # None: every input was at version 0
    module: Any = None  # the nn.Module whose forward created this node (for the graph renderer)
    output_version = 0  # set by Tensor when the output is changed in place (see save_output)

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any):
        """Run the op on Tensors (or anything `Tensor()` accepts); returns a Tensor."""
        from .tensor import as_tensor

        return cls(**kwargs)(*[as_tensor(x) for x in inputs])

    def forward(self, *xs: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, gy):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def __call__(self, *inputs):
        try:
            y = self.forward(*[t.data for t in inputs])
        except (ValueError, TypeError, IndexError) as e:
            raise _named_error(self, inputs, e) from None
        if type(y) is not np.ndarray:
            y = np.asarray(y)
        out = _new_tensor(y)
        mode = _mode
        if mode.enabled:
            for t in inputs:
                if t.requires_grad:
                    break
            else:
                return out
            gen = 0
            edges = []
            for t in inputs:
                if t.requires_grad:
                    f = t.grad_fn
                    if f is None:
                        edges.append(t)
                    else:
                        edges.append(f)
                        if f.generation >= gen:
                            gen = f.generation + 1
                else:
                    edges.append(None)
            self.generation = gen
            self.edges = tuple(edges)
            self.inputs = inputs
            for t in inputs:
                if t._version:
                    self.versions = tuple(t._version for t in inputs)
                    break
            out.requires_grad = True
            out.grad_fn = self
            if mode.module is not None:
                self.module = mode.module
            if mode.anomaly:
                self.trace = _user_frame()
                _check_finite(y, "forward output", self)
        return out

    def plain(self, *values):
        """The given Tensors as numpy arrays when no graph is recorded (a plain backward), so
        the backward's arithmetic runs as numpy; unchanged under create_graph. Only for code
        that arrays and Tensors both understand."""
        if _mode.enabled:
            return values
        return tuple(v.data for v in values)

    def needs_grad(self, i: int) -> bool:
        """True when input i wants a gradient (lets backward skip useless work)."""
        return self.edges[i] is not None

    def output(self):
        """The output as a Tensor inside backward (linked to this node under create_graph)."""
        t = _new_tensor(self.y)
        if _mode.enabled:
            t.requires_grad = True
            t.grad_fn = self
        return t

    def _check_versions(self) -> None:
        idx = range(len(self.inputs)) if self.saved_inputs is None else self.saved_inputs
        for i in idx:
            t = self.inputs[i]
            saved = 0 if self.versions is None else self.versions[i]
            if t._version != saved:
                raise RuntimeError(
                    f"{type(self).__name__}: input {i} (shape {t.shape}) needed for the gradient "
                    f"was modified in place: it is at version {t._version}, the op saved "
                    f"version {saved}"
                )
        if self.output_version:
            raise RuntimeError(
                f"{type(self).__name__}: its output (shape {self.y.shape}), needed for the "
                f"gradient, was modified in place: it is at version {self.output_version}, "
                f"the op saved version 0"
            )

    def _release(self) -> None:
        gen = self.generation
        self.__dict__.clear()
        self.generation = gen

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


# set by tensor.py (importing it here would be a cycle)
_new_tensor: Callable[[np.ndarray], Any] = None  # type: ignore[assignment]


def _named_error(node: Function, inputs: tuple, e: Exception) -> Exception:
    """The same error, its message led by the op's name and the input shapes."""
    name = type(node).__name__
    msg = str(e)
    if msg.startswith(name + ":"):
        return e
    shapes = " and ".join(str(t.data.shape) for t in inputs)
    if "broadcast" in msg:
        msg = f"{name}: shapes {shapes} cannot be broadcast together"
    else:
        msg = f"{name}: {msg} (input shapes {shapes})"
    return type(e)(msg)


# --------------------------------------------------------------------------------------------
# The backward engine
# --------------------------------------------------------------------------------------------


def _sum_grads(a, b):
    """a + b for two gradient Tensors; in-graph only when recording (create_graph)."""
    if _mode.enabled:
        return a + b
    return _new_tensor(a.data + b.data)


def _run_hooks(hooks: list, g):
    for hook in hooks:
        r = hook(g)
        if r is not None:
            g = r
    return g


def run_backward(
    roots: Sequence,
    root_grads: Sequence,
    retain_graph: bool,
    create_graph: bool,
    capture: dict | None = None,
) -> None:
    """Propagate `root_grads` from `roots` to the leaves.

    Without `capture`, gradients accumulate into the leaves' `.grad`. With `capture` (a dict
    {id(tensor): None} of wanted tensors, leaves or not), their gradients are stored there
    instead and no `.grad` is touched (this is `tg.grad`).
    """
    prev = _mode.enabled
    _mode.enabled = create_graph
    anomaly = _mode.anomaly
    try:
        grads: dict = {}
        heap: list = []
        leaf_grads: dict = {}
        count = 0

        def send(edge, g):
            nonlocal count
            if isinstance(edge, Function):
                old = grads.get(edge)
                if old is None:
                    grads[edge] = g
                    count += 1
                    heapq.heappush(heap, (-edge.generation, count, edge))
                else:
                    grads[edge] = _sum_grads(old, g)
            else:
                key = id(edge)
                old = leaf_grads.get(key)
                leaf_grads[key] = (edge, g) if old is None else (edge, _sum_grads(old[1], g))

        for t, g in zip(roots, root_grads):
            send(t.grad_fn if t.grad_fn is not None else t, g)

        while heap:
            node = heapq.heappop(heap)[2]
            gy = grads.pop(node)
            if node.inputs is None:
                raise RuntimeError(
                    f"{type(node).__name__}: trying to backward through the graph a second time "
                    "(its saved values were freed by the first backward); pass "
                    "retain_graph=True to the first backward if you need to do this"
                )
            if node.out_hooks:
                gy = _run_hooks(node.out_hooks, gy)
            if node.retain_ref is not None:
                owner = node.retain_ref()
                if owner is not None and owner.grad_fn is node:
                    owner.grad = gy if create_graph else _new_tensor(gy.data.copy())
            if capture is not None:
                owner_id = getattr(node, "_capture_id", None)
                if owner_id is not None and owner_id in capture:
                    capture[owner_id] = gy
            node._check_versions()
            gxs = node.backward(gy)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for edge, gx in zip(node.edges, gxs):
                if edge is None or gx is None:
                    continue
                if not hasattr(gx, "grad_fn"):  # an array from a `plain` backward
                    gx = _new_tensor(np.asarray(gx))
                if anomaly:
                    _check_finite(gx.data, "backward gradient", node)
                send(edge, gx)
            if not retain_graph:
                node._release()

        _finish_leaves(leaf_grads, create_graph, capture, root_grads)
    finally:
        _mode.enabled = prev


def _finish_leaves(leaf_grads: dict, create_graph: bool, capture, root_grads) -> None:
    handed_out = {id(g.data) for g in root_grads}
    for key, (leaf, g) in leaf_grads.items():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        if capture is not None:
            if key in capture:
                capture[key] = g
            continue
        if g.data.dtype != leaf.data.dtype:
            g = g.astype(leaf.data.dtype)
        if leaf.grad is None:
            if not create_graph:
                arr = g.data
                # A gradient array may be shared (Add hands the same gy to both inputs, a
                # reshape returns a view): every leaf gets memory of its own.
                if id(arr) in handed_out or arr.base is not None or not arr.flags.writeable:
                    arr = arr.copy()
                handed_out.add(id(arr))
                g = _new_tensor(arr)
            leaf.grad = g
        elif create_graph or leaf.grad.requires_grad:
            leaf.grad = leaf.grad + g
        else:
            leaf.grad.data += g.data


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Gradients of `outputs` with respect to `inputs`, like `torch.autograd.grad`.

    Returns a tuple with one Tensor per input (None for an unused input when
    `allow_unused=True`). The leaves' `.grad` are not touched.
    """
    from .tensor import Tensor, _root_grad

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    roots, gs = [], []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"grad: output of shape {out.shape} does not require grad (it is not part of "
                "a graph); did you compute it under no_grad or from tensors without requires_grad?"
            )
        roots.append(out)
        gs.append(_root_grad(out, g, "grad"))
    capture: dict = {}
    for t in inputs:
        capture[id(t)] = None
        if t.grad_fn is not None:
            t.grad_fn._capture_id = id(t)
    try:
        run_backward(roots, gs, retain_graph, create_graph, capture)
    finally:
        for t in inputs:
            if t.grad_fn is not None:
                t.grad_fn.__dict__.pop("_capture_id", None)
    result = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) is not part of the graph of the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is not None and g.data.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        result.append(g)
    return tuple(result)


def iter_graph(outputs: Iterable) -> list[Function]:
    """All nodes reachable from `outputs`, in a deterministic order (outputs first)."""
    seen: dict = {}
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen or node.inputs is None:
            continue
        seen[node] = None
        for e in reversed(node.edges):
            if isinstance(e, Function):
                stack.append(e)
    return list(seen)


def unbroadcast(g, x):
    """Reduce the gradient `g` to the shape and dtype of the input `x`.

    Broadcasting in forward repeats `x` along new leading axes and along its size-1 axes; the
    gradient is the sum over those axes. Every op whose forward broadcasts calls this.
    g and x are Tensors, or numpy arrays in a `plain` backward.
    """
    shape, gshape = x.shape, g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
        )
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.shape != shape:
            g = g.reshape(shape)
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)
    return g
