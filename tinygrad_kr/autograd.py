"""The autograd core: the op node (`Function`), the backward pass and `tg.grad`.

Reading order: `Function` (what an op is: its contract is its docstring), then `backward_pass`
(how gradients flow: in named steps), then `grad` (the same pass, capturing instead of
accumulating). `topological_order` is the one walk of the graph; the renderer and the tests
use it too.
"""

from __future__ import annotations

import heapq
import os
import sys
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import add_note
from .grad_mode import state as _mode
from .tensor import Tensor, VersionCounter, as_tensor, version_counter, wrap

__all__ = [
    "Function",
    "backward_pass",
    "grad",
    "topological_order",
    "sum_to_shape",
    "broadcasts_to",
    "AccumulateGrad",
    "CaptureGrad",
]

_RELEASED = ()  # what a node's saved values become once backward has used them


class Function:
    """An op node: one small class per op, forward and backward side by side.

    The whole contract for op authors:

    forward(self, *xs) -> y: the inputs' numpy arrays in (read them, never write them), one
        numpy array out, new or a view of an input (then it shares that input's version
        counter, like any view). Non-tensor arguments (axis, slope) go to __init__. Run an op
        as `MyOp.apply(*inputs, **kwargs)`; a node is made per call and runs once.
    self.save_for_backward(*arrays), in forward: declares every array backward reads: inputs
        as forward got them, the result y, or new arrays (masks). Index tensors, masks and
        labels are node inputs too. The engine records the versions of the saved inputs and
        output, refuses a backward after one was changed in place, and drops them after
        backward (unless retain_graph). Keep arrays no other way; plain attributes are for
        small facts (shapes, axes). `self.needs_input_grad` (a bool per input) is known in
        forward already: save only what the wanted gradients use (None in its place).
    backward(self, gy) -> one gradient per input (or the value itself for one input), None for
        an input without one. gy has the output's shape. `self.saved_tensors` gives the saved
        values in order: an input as that input Tensor, the output as a Tensor of this node,
        anything else as a constant. Write it with Tensor operations: a recorded backward
        (create_graph=True, when tg.is_grad_enabled() is True) is then differentiable again.
        The engine checks the result: one per input; the input's shape (a gradient of a shape
        the input broadcasts to is summed down: ops need no un-broadcasting of their own); a
        float dtype (cast to the input's). Anything else is an error naming the op and shapes.
    array_backward = True (optional, a speed-up): backward uses only what numpy arrays and
        Tensors share (+ - * / ** @ .T .mT .sum .reshape .astype), so a backward that is not
        recorded gets and returns plain arrays. The op tests check that both paths agree.
    PyTorch's style (`@staticmethod forward(ctx, ...)`) is refused when the class is defined,
        with this style shown: forward gets numpy arrays here, so a PyTorch forward written with
        tensor methods would half-work. ctx is simply self; save_for_backward, saved_tensors and
        needs_input_grad keep their names.

    A recorded node keeps: `edges` (per input: the node that made it, the leaf Tensor, or None
    when no gradient is wanted), `generation` (larger than that of every node below it: the
    backward order), `inputs` (for the renderer and tracing; backward reads only saved_tensors),
    `scope` (the running modules, outermost first; `module` is the innermost), `hooks` (the
    output's gradient hooks) and `trace` (where it was made, in anomaly mode). Backward without
    retain_graph drops the saved values and inputs; the edges stay.
    """

    array_backward = False

    # Class-level defaults: a node that is never recorded pays only for what it uses.
    inputs: tuple = ()
    edges: tuple = ()
    needs_input_grad: tuple = ()  # one bool per input: does it want a gradient?
    generation = 0
    scope: tuple = ()
    hooks: list | None = None
    trace: str | None = None
    _to_save: tuple = ()
    _saved: tuple = ()  # the arrays save_for_backward declared, once recorded
    _versions: tuple | None = None  # the inputs' versions when recorded; None: all were 0
    _out: np.ndarray | None = None  # the output array, when it is saved
    _out_counter: VersionCounter | None = None
    _out_version = 0
    _ran = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        static = [n for n in ("forward", "backward") if isinstance(cls.__dict__.get(n), staticmethod)]
        if static or "setup_context" in cls.__dict__:
            raise TypeError(
                _TORCH_STYLE.format(name=cls.__name__, what=" and ".join(static) or "setup_context")
            )

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on Tensors (or anything `Tensor()` accepts); returns a Tensor."""
        return cls(**kwargs)(*[as_tensor(x) for x in inputs])

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} defines no forward(self, *arrays)")

    def backward(self, gy: Any) -> Any:
        raise TypeError(f"{type(self).__name__} defines no backward(self, gy)")

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Declare the arrays that backward reads (see the class docstring)."""
        self._to_save = arrays

    # ---- running forward ---------------------------------------------------------------------

    def __call__(self, *inputs: Tensor) -> Tensor:
        if self._ran:
            raise RuntimeError(
                f"{type(self).__name__}: this node was already applied; a node is made per call "
                f"(use {type(self).__name__}.apply(...) or a new {type(self).__name__}(...))"
            )
        self._ran = True
        gen = -1  # stays -1 when no input wants a gradient: then nothing is recorded
        if _mode.grad_enabled:
            edges, needs = [], []
            for t in inputs:
                if t._base is not None:
                    t._refresh_view()  # a view whose memory was changed in place: derive its history again
                if not t._requires_grad:
                    edges.append(None)
                    needs.append(False)
                    continue
                needs.append(True)
                f = t.grad_fn
                if f is None:
                    edges.append(t)
                    if gen < 0:
                        gen = 0
                else:
                    edges.append(f)
                    if f.generation >= gen:
                        gen = f.generation + 1
            self.needs_input_grad = tuple(needs)
        else:
            self.needs_input_grad = (False,) * len(inputs)
        try:
            if len(inputs) == 2:  # (the common arities spelled out: a little faster)
                raw = self.forward(inputs[0].data, inputs[1].data)
            elif len(inputs) == 1:
                raw = self.forward(inputs[0].data)
            else:
                raw = self.forward(*[t.data for t in inputs])
        except ValueError as e:
            if "could not be broadcast" in str(e):  # numpy's message names no op
                shapes = " and ".join(str(t.data.shape) for t in inputs)
                raise ValueError(
                    f"{type(self).__name__}: shapes {shapes} cannot be broadcast together"
                ) from e
            _add_op_note(e, self, inputs)
            raise
        except Exception as e:
            _add_op_note(e, self, inputs)
            raise
        y = raw if type(raw) is np.ndarray else np.asarray(raw)  # numpy gives scalars for 0-d results
        out = wrap(y)
        # An output that shares an input's memory is a view of that input (see Tensor)
        owner = y.base
        if owner is None:  # y owns its memory: a view only if forward returned an input as is
            for t in inputs:
                if y is t.data:
                    out._become_view_of(t)
                    break
        else:
            for t in inputs:
                d = t.data
                if owner is d or owner is d.base or y is d:
                    out._become_view_of(t)
                    break
        if gen < 0:
            return out
        self.generation = gen
        self.edges = tuple(edges)
        self.inputs = inputs
        self.scope = _mode.scope
        saved = self._to_save
        if saved:  # keep them, with what the version checks need (see check_saved_versions)
            self._to_save = ()
            if raw is not y:  # a 0-d result came as a numpy scalar: keep the array
                saved = _replace(saved, raw, y)
            self._saved = saved
            for t in inputs:
                c = t._version_counter
                if c is not None and c.value:  # None: every input was at version 0
                    self._versions = tuple([t._version for t in inputs])
                    break
            oy = y if y.base is None else y.base
            for a in saved:  # the output, or an array sharing its memory: watch the output's version
                if a is not None and (a is y or (a.base if a.base is not None else a) is oy):
                    self._watch_output(y, out)
                    break
        out.grad_fn, out._requires_grad = self, True
        if _mode.anomaly:
            self.trace = _user_frame()
            _check_finite(y, "forward output", self)
        return out

    def _watch_output(self, y: np.ndarray, out: Tensor) -> None:
        """The output (or a view of it) is saved: remember its array and version counter."""
        self._out = y
        self._out_counter = counter = version_counter(out)
        self._out_version = counter.value

    # ---- what backward reads -----------------------------------------------------------------

    @property
    def saved_tensors(self) -> tuple:
        """The values declared by save_for_backward, as Tensors (arrays in an array backward)."""
        if self.array_backward and not _mode.grad_enabled:
            return self._saved
        out = []
        for a in self._saved:
            if a is None:
                out.append(None)
                continue
            for t in self.inputs:
                if a is t.data:
                    out.append(t)  # a saved input is the input itself (a recorded backward links to it)
                    break
            else:
                if a is self._out:
                    out.append(self._rebuilt_output(a))
                else:
                    out.append(wrap(np.asarray(a)))
        return tuple(out)

    def _rebuilt_output(self, y: np.ndarray) -> Tensor:
        t = wrap(y)
        if _mode.grad_enabled:  # a recorded backward is connected to this node's output
            t.grad_fn, t._requires_grad = self, True
        return t

    @property
    def module(self) -> Any:
        """The innermost module whose forward recorded this node, or None."""
        return self.scope[-1] if self.scope else None

    @property
    def released(self) -> bool:
        """True once a backward without retain_graph has dropped the inputs and saved values."""
        return bool(self.edges) and not self.inputs

    def check_saved_versions(self) -> None:
        """Raise if the node was released, or if a saved value was changed in place after
        forward saved it: a saved input (or a view of one) whose version counter moved on, or
        the saved output whose counter did."""
        inputs = self.inputs
        if not inputs:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time (its "
                "saved values were freed by the first backward); pass retain_graph=True to the "
                "first backward if you need to do this"
            )
        versions = self._versions
        for a in self._saved:
            if a is None:
                continue
            for i, t in enumerate(inputs):
                d = t.data
                if a is d or (type(a) is np.ndarray and a.base is not None and _owner(a) is _owner(d)):
                    c = t._version_counter
                    if c is not None and c.value != (versions[i] if versions else 0):
                        raise self._modified_error(a, f"input {i}", c.value, versions[i] if versions else 0)
                    break
            else:
                c = self._out_counter
                if (
                    c is not None
                    and c.value != self._out_version
                    and (a is self._out or _owner(np.asarray(a)) is _owner(self._out))
                ):
                    raise self._modified_error(a, "its output", c.value, self._out_version)

    def _modified_error(self, a: np.ndarray, what: str, version: int, saved: int) -> RuntimeError:
        return RuntimeError(
            f"{type(self).__name__}: {what} (shape {np.shape(a)}, dtype {np.asarray(a).dtype}), needed "
            f"for the gradient, was modified in place: it is at version {version}, the op saved "
            f"version {saved}. Write the change out of place (y = y + 1 instead of y += 1), or "
            "change a .clone() of the tensor"
        )

    def release(self) -> None:
        """Drop the saved values and the inputs (the engine calls this after backward, without
        retain_graph); the node cannot run again."""
        self._saved = _RELEASED
        self.inputs = ()
        self._out = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


_TORCH_STYLE = """{name}: {what} is written in PyTorch's style (@staticmethod with ctx); in
tinygrad_kr an op is an object, forward gets numpy arrays and ctx is simply self. Write it as:

    class {name}(tg.Function):
        def forward(self, x):              # numpy arrays in, one numpy array out
            self.save_for_backward(x)      # (ctx.save_for_backward)
            return x ** 3
        def backward(self, gy):            # Tensors in, one gradient per input out
            (x,) = self.saved_tensors      # (ctx.saved_tensors; also self.needs_input_grad)
            return gy * 3 * x * x

    y = {name}.apply(x)                    # as in PyTorch"""


def _replace(items: tuple, old: Any, new: Any) -> tuple:
    return tuple(new if a is old else a for a in items)


def _owner(a: np.ndarray) -> Any:
    """The object that owns a's memory (numpy keeps a view's base pointing at the owner)."""
    return a if a.base is None else a.base


def _add_op_note(e: Exception, node: Function, inputs: tuple) -> None:
    """Add the op's name and input shapes to an exception raised inside forward, keeping its
    type and traceback (so `except` and the failing line stay as they were)."""
    name = type(node).__name__
    if str(e).startswith(name + ":"):
        return
    shapes = ", ".join(str(t.data.shape) for t in inputs)
    add_note(e, f"in {name} (input shapes {shapes})")


def _user_frame() -> str:
    """`file:line` of the innermost stack frame outside this package (anomaly mode only)."""
    pkg = os.path.dirname(os.path.abspath(__file__))  # tinygrad_kr, with tinygrad_kr.nn inside
    frame = sys._getframe(1)
    while frame is not None:
        fname = os.path.abspath(frame.f_code.co_filename)
        if not fname.startswith(pkg + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _check_finite(arr: np.ndarray, what: str, node: Function) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        kind = "NaN" if np.isnan(arr).any() else "Inf"
        raise FloatingPointError(
            f"detect_anomaly: {type(node).__name__} produced {kind} in its {what} "
            f"(shape {arr.shape}); the op was created at {node.trace or '<unknown>'}"
        )


# --------------------------------------------------------------------------------------------
# The graph walk
# --------------------------------------------------------------------------------------------


def topological_order(roots: Iterable[Function]) -> Iterator[Function]:
    """Every node reachable from `roots`, each once, every node before the nodes that made
    its inputs, so gradients can flow in this order: by decreasing generation (a node's
    generation is larger than that of every node below it), ties in the order the walk found
    them. A generator: the backward pass walks the graph as it runs it. Iterative, so graphs
    of any depth work; deterministic."""
    heap: list = []
    seen: set = set()
    count = 0
    for node in roots:
        if node not in seen:
            seen.add(node)
            heapq.heappush(heap, (-node.generation, count, node))
            count += 1
    while heap:
        node = heapq.heappop(heap)[2]
        yield node
        for e in node.edges:
            if isinstance(e, Function) and e not in seen:
                seen.add(e)
                heapq.heappush(heap, (-e.generation, count, e))
                count += 1


# --------------------------------------------------------------------------------------------
# Gradient checks and reductions
# --------------------------------------------------------------------------------------------


def sum_to_shape(g: Any, shape: tuple) -> Any:
    """Sum the gradient g (Tensor or array) down to `shape`, the shape of an input that was
    broadcast to g's shape: over the new leading axes and over the axes where shape has 1."""
    if g.shape == shape:
        return g
    lead = len(g.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """True when an array of `shape` broadcasts to `target` (numpy's rules, target unchanged)."""
    if len(shape) > len(target):
        return False
    return all(n == 1 or n == m for n, m in zip(shape[::-1], target[::-1]))


def _checked_grad(g: Any, shape: tuple, dtype: np.dtype, who: str, what: str) -> Any:
    """g with the given shape and dtype, or an error: a gradient of a shape that `shape`
    broadcasts to is summed down, a float gradient of another dtype is cast."""
    if g.shape != shape:
        if not broadcasts_to(shape, g.shape):
            raise RuntimeError(
                f"{who} returned a gradient of shape {tuple(g.shape)} for {what} of shape "
                f"{tuple(shape)}; a gradient must have its input's shape"
            )
        g = sum_to_shape(g, shape)
    if g.dtype != dtype:
        if g.dtype.kind != "f":
            raise RuntimeError(
                f"{who} returned a gradient of dtype {g.dtype} for {what} of dtype {dtype}; "
                "gradients must be floating point"
            )
        g = g.astype(dtype)
    return g


# --------------------------------------------------------------------------------------------
# Gradient sinks: where the gradients that reach their destination go
# --------------------------------------------------------------------------------------------


class RetainGrad:
    """The marker `Tensor.retain_grad()` puts in its node's hooks: accumulate the gradient of
    this (non-leaf) tensor into its `.grad`, like a leaf's (only in `backward()`)."""

    __slots__ = ("tensor_ref",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor_ref = weakref.ref(tensor)


class AccumulateGrad:
    """The sink of `backward()`: every leaf's gradient, and every retained non-leaf's, is added
    to its `.grad` (which is created on the first backward)."""

    targets = None  # no pruning: every node leads to a leaf that wants a gradient

    def __init__(self, create_graph: bool, root_grads: Sequence[Any] = ()) -> None:
        self.create_graph = create_graph
        self._given = {id(g.data) for g in root_grads}  # arrays that someone else already holds

    def at_node(self, node: Function, gy: Any) -> None:
        for h in node.hooks or ():
            if type(h) is RetainGrad:
                t = h.tensor_ref()
                if t is not None and t.grad_fn is node:
                    self.accumulate(t, gy)

    def at_leaf(self, leaf: Tensor, g: Any) -> None:
        self.accumulate(leaf, g)

    def accumulate(self, t: Tensor, g: Any) -> None:
        if not isinstance(g, Tensor):
            g = wrap(g)
        old = t._grad
        if old is None:
            # gradients may share memory (Add hands one gy to both inputs, reshape gives views):
            # each .grad gets memory of its own, writable, for optimizers to read and users to edit
            if not self.create_graph:
                arr = g.data
                if arr.base is not None or not arr.flags.writeable or id(arr) in self._given:
                    arr = arr.copy()
                self._given.add(id(arr))
                g = wrap(arr)
            t._grad = g
        elif self.create_graph or old.grad_fn is not None:
            t._grad = old + g
        else:
            old.data += g.data
            version_counter(old).value += 1


class CaptureGrad:
    """The sink of `tg.grad()`: the gradients of the requested tensors are captured; no
    `.grad` is touched. Only the nodes between the outputs and those tensors run."""

    def __init__(self, inputs: Sequence[Tensor]) -> None:
        self.at: dict = {}  # node or leaf -> index of the requested tensor
        for i, t in enumerate(inputs):
            self.at.setdefault(t.grad_fn if t.grad_fn is not None else t, []).append(i)
        self.grads: list = [None] * len(inputs)
        self.targets = set(self.at)

    def at_node(self, node: Function, gy: Any) -> None:
        for i in self.at.get(node, ()):
            self.grads[i] = gy

    def at_leaf(self, leaf: Tensor, g: Any) -> None:
        for i in self.at.get(leaf, ()):
            self.grads[i] = g


# --------------------------------------------------------------------------------------------
# The backward pass
# --------------------------------------------------------------------------------------------


def backward_pass(
    roots: Sequence[Tensor],
    root_grads: Sequence[Any],
    sink: "AccumulateGrad | CaptureGrad",
    retain_graph: bool = False,
    create_graph: bool = False,
    observer: Callable | None = None,
) -> None:
    """Send `root_grads` from `roots` back through the graph into `sink`.

    For each node in `topological_order`: take the summed gradient of its output, run the
    output's hooks, show it to the sink, run the node (`_run_node`: version check, backward,
    gradient checks) and send each input's gradient on (`_send`: to the node that made the
    input, or to a leaf). Finally finish the leaves: their hooks, then the sink. With
    `sink.targets` (tg.grad), only nodes on a path to a target run. `observer(node, gy, gxs)`,
    if given, sees every node that runs (tg.trace_backward uses it).

    Gradients flow as numpy arrays unless create_graph, when they are Tensors and the whole
    pass is recorded (grad mode is create_graph for its duration).
    """
    start = [t.grad_fn for t in roots if t.grad_fn is not None]
    needed = _nodes_leading_to(start, sink.targets) if sink.targets is not None else None
    pending: dict = {}  # node or leaf -> gradient summed so far
    for t, g in zip(roots, root_grads):
        _send(pending, t.grad_fn or t, g if create_graph else g.data)
    saved_mode = _mode.grad_enabled
    _mode.grad_enabled = create_graph
    try:
        for node in topological_order(start):
            gy = pending.pop(node, None)
            if gy is None:
                continue
            if node.hooks:
                gy = _run_hooks(node.hooks, gy, type(node).__name__)
            if node.hooks or needed is not None:  # a retained .grad, or a tg.grad target, may be here
                sink.at_node(node, gy)
            if needed is not None and node not in needed:
                continue
            gxs = _run_node(node, gy, create_graph)
            if observer is not None:
                observer(node, gy, gxs)
            for edge, gx in zip(node.edges, gxs):
                if gx is None or (needed is not None and edge not in needed and edge not in sink.targets):
                    continue
                _send(pending, edge, gx)
            if not retain_graph:
                node.release()
        for leaf, g in pending.items():  # what is left are the leaves
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, "leaf")
            sink.at_leaf(leaf, g)
    finally:
        _mode.grad_enabled = saved_mode


def _nodes_leading_to(start: list, targets: set) -> set:
    """The nodes from which some target (a node or a leaf) can be reached through edges."""
    order = list(topological_order(start))
    needed: set = set()
    for node in reversed(order):  # inputs' nodes first
        for e in node.edges:
            if e is not None and (e in needed or e in targets):
                needed.add(node)
                break
    return needed


def _send(pending: dict, edge: Any, g: Any) -> None:
    """Add gradient g to what `edge` (a node or a leaf Tensor) has received so far."""
    old = pending.get(edge)
    if old is not None:
        g = old + g
        if type(g) is not np.ndarray and not isinstance(g, Tensor):
            g = np.asarray(g)  # numpy gives scalars for 0-d sums
    pending[edge] = g


def _run_node(node: Function, gy: Any, create_graph: bool) -> tuple:
    """Run node.backward on gy after checking the saved versions; check what it returns:
    one gradient per input, of the input's shape (or summed down to it) and dtype."""
    if node._saved or not node.inputs:
        node.check_saved_versions()
    if not create_graph and not node.array_backward:
        gy = wrap(gy)  # a Tensor backward that is not recorded: Tensors in, arrays out
    gxs = node.backward(gy)
    if type(gxs) is not tuple:
        gxs = (gxs,)
    edges, inputs = node.edges, node.inputs
    if len(gxs) != len(edges):
        raise RuntimeError(
            f"{type(node).__name__}.backward returned {len(gxs)} gradient(s) for {len(edges)} input(s); "
            "return one per input (None for an input without a gradient)"
        )
    out = []
    anomaly = _mode.anomaly
    for edge, gx, t in zip(edges, gxs, inputs):
        if edge is None or gx is None:
            out.append(None)
            continue
        if create_graph:
            if not isinstance(gx, Tensor):
                gx = as_tensor(gx)
        elif type(gx) is not np.ndarray:
            gx = gx.data if isinstance(gx, Tensor) else np.asarray(gx)
        x = t.data
        if gx.shape != x.shape or gx.dtype != x.dtype:
            gx = _checked_grad(gx, x.shape, x.dtype, f"{type(node).__name__}.backward", f"input {len(out)}")
        if anomaly:
            _check_finite(gx.data if create_graph else gx, "backward gradient", node)
        out.append(gx)
    return out


def _run_hooks(hooks: list, g: Any, where: str) -> Any:
    """Call each gradient hook (they get Tensors); a returned value replaces the gradient and
    must keep its shape and dtype."""
    if not any(type(h) is not RetainGrad for h in hooks):
        return g
    as_array = not isinstance(g, Tensor)
    t = wrap(g) if as_array else g
    shape, dtype = t.shape, t.dtype
    for hook in hooks:
        if type(hook) is RetainGrad:
            continue
        r = hook(t)
        if r is None:
            continue
        if not isinstance(r, Tensor):
            r = as_tensor(r)
        if r.shape != shape or r.dtype != dtype:
            raise RuntimeError(
                f"hook {getattr(hook, '__name__', hook)!r} on the gradient of a {where} tensor changed "
                f"it from shape {tuple(shape)} dtype {dtype} to shape {r.shape} dtype {r.dtype}; a "
                "hook must return a gradient of the same shape and dtype (or None)"
            )
        t = r
    return t.data if as_array else t


# --------------------------------------------------------------------------------------------
# Entry points: Tensor.backward() and tg.grad()
# --------------------------------------------------------------------------------------------


def root_grad(out: Tensor, grad: Any, who: str) -> Tensor:
    """The gradient that starts a backward pass at `out`: ones for a one-element output, else
    `grad`, which must have out's shape (its dtype becomes out's)."""
    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"{who}: a gradient can be created implicitly only for a one-element output, "
                f"but the output has shape {out.shape}; pass a gradient of that shape"
            )
        return wrap(np.ones_like(out.data))
    g = grad if isinstance(grad, Tensor) else as_tensor(grad)
    if g.shape != out.shape:
        raise ValueError(f"{who}: the gradient has shape {g.shape} but the output has shape {out.shape}")
    if g.data.dtype != out.data.dtype:
        g = g.astype(out.data.dtype) if g.data.dtype.kind == "f" else wrap(g.data.astype(out.data.dtype))
    return g


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Gradients of `outputs` with respect to `inputs`, like `torch.autograd.grad`.

    outputs, inputs: a Tensor or a sequence of Tensors; grad_outputs: one gradient per output
    (None for one-element outputs). Returns a tuple with one Tensor per input (None for an
    input the outputs do not depend on, when allow_unused=True). No `.grad` is touched, and
    only the part of the graph between the outputs and the inputs runs.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; pass one per "
            "output (None for a one-element output)"
        )
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} must be a Tensor that requires grad")
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(
                f"grad: output {i} (shape {getattr(out, 'shape', None)}) does not require grad (it is "
                "not part of a graph); was it computed under no_grad, or from tensors without "
                "requires_grad?"
            )
    gs = [root_grad(out, g, "grad") for out, g in zip(outputs, grad_outputs)]
    sink = CaptureGrad(inputs)
    backward_pass(outputs, gs, sink, retain_graph, create_graph)
    result = []
    for i, (t, g) in enumerate(zip(inputs, sink.grads)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) is not part of the graph of the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
            continue
        g = g if isinstance(g, Tensor) else wrap(g)
        if g.data.dtype != t.data.dtype:
            g = g.astype(t.data.dtype)
        result.append(g)
    return tuple(result)


def run_backward(t: Tensor, grad: Any, retain_graph: bool, create_graph: bool) -> None:
    """`t.backward(...)`: accumulate d t / d leaf into every leaf's `.grad`."""
    if not t.requires_grad:
        raise RuntimeError(
            f"backward: tensor of shape {t.shape} does not require grad and has no grad_fn; set "
            "requires_grad=True on the inputs (and don't compute it under no_grad)"
        )
    g = root_grad(t, grad, "backward")
    backward_pass([t], [g], AccumulateGrad(create_graph, [g]), retain_graph or create_graph, create_graph)
