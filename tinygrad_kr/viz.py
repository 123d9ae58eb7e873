"""Draw the recorded computation graph with Graphviz.

    loss = loss_fn(model(x), y)
    tg.save_graph(loss, "graph.svg")           # or .png, .pdf; .dot/.gv writes the source only
    g = tg.draw_graph(loss, show_grads=True)   # a graphviz.Digraph (renders inline in Jupyter)

What is drawn, in data-flow direction (input tensor -> op -> output tensor):

- op nodes (orange ellipses): the op's class name (Mul, MatMul, SoftmaxCrossEntropy, ...);
- one tensor node (box) per op output, labelled with its name (if any), shape and dtype;
- leaf tensors: parameters (blue) labelled with their qualified name in the model
  ("fc1.weight"), from the outermost module whose forward recorded the op (`node.scope`,
  through its public `named_modules()` / `named_parameters()`), other tensors that require
  grad (green), inputs that don't (grey); scalar constants (`x * 0.5`) as plain text, one per
  use; the tensors passed in (yellow);
- with `group_modules`, the ops one module produced inside a box labelled "fc1: Linear",
  nested like the modules. A module called several times gets one box for all its calls.

`style="book"` draws the textbook's figures instead: op nodes only, each tensor an edge with its
forward value above and its gradient below in red (`BookGraph`); `tg.trace_backward` returns
steps that draw this way at any step of backward (tinygrad_kr/backprop.py).

Drawing needs the graph's saved inputs: draw before `backward()`, or pass `retain_graph=True`;
a graph freed by backward() raises a RuntimeError that says so. The backward pass recorded by
`backward(create_graph=True)` or `tg.grad(..., create_graph=True)` is a graph like any other:
draw `x.grad` (its ops have no module, so they stay outside the clusters).
Node ids come from the traversal order (never memory addresses), so identical graphs give
identical source. Rendering to an image needs the Graphviz `dot` program; the `.dot` source
does not.
"""

from __future__ import annotations

import html
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import graphviz
import numpy as np

from .autograd import Function, topological_order
from .tensor import Tensor

_RANKDIRS = ("LR", "RL", "TB", "BT")
_GRAPH_STYLES = ("default", "book")
_IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_SOURCE_SUFFIXES = (".dot", ".gv")
_MAX_VALUES = 16  # show_values prints tensors with at most this many elements

_STYLE = {
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#ffd8a8", "color": "#d9480f"},
    "tensor": {"shape": "box", "style": "rounded"},
    "param": {"shape": "box", "style": "rounded,filled", "fillcolor": "#a5d8ff"},
    "leaf": {"shape": "box", "style": "rounded,filled", "fillcolor": "#b2f2bb"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e9ecef"},
    "output": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffec99"},
    "const": {"shape": "plaintext"},
    "more": {"shape": "note", "style": "filled", "fillcolor": "#ffc9c9"},
}
_CLUSTER_ATTR = {"style": "rounded,dashed", "color": "#868e96", "fontcolor": "#495057"}

_INSTALL_HINT = (
    "install Graphviz so that the `dot` program is on PATH: `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`; "
    "or save the source with a .dot/.gv path, which needs no Graphviz program"
)


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program, needed to render an image, is not installed."""


# --------------------------------------------------------------------------------------------
# Walking the recorded graph
# --------------------------------------------------------------------------------------------


def _roots(outputs: Sequence[Any]) -> list[Tensor]:
    """The Tensors to draw: draw_graph(a, b) or draw_graph([a, b])."""
    if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
        outputs = tuple(outputs[0])
    if not outputs:
        raise ValueError("draw_graph: pass at least one Tensor to draw")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: output {i} is a {type(t).__name__}, not a Tensor")
    return list(outputs)


def _released_error(node: Function) -> RuntimeError:
    return RuntimeError(
        f"draw_graph: the graph was freed by backward() (the inputs of {type(node).__name__} "
        "are gone), so it cannot be drawn; draw it before calling backward(), or call "
        "backward(retain_graph=True)"
    )


def _walk(roots: list[Tensor]) -> tuple[list[Function], dict[Function, Tensor]]:
    """Every op node reachable from the roots, in drawing order, and each op's output Tensor.

    The order is the backward pass's (`topological_order`): consumers before producers, so a
    truncated drawing keeps the part nearest to the outputs. The engine keeps no op's output
    Tensor; its consumer's `inputs` (or the roots) hold it.
    """
    ops = list(topological_order([t.grad_fn for t in roots if t.grad_fn is not None]))
    out_tensor: dict[Function, Tensor] = {}
    for t in roots:
        if t.grad_fn is not None:
            out_tensor.setdefault(t.grad_fn, t)
    for node in ops:
        if node.released:
            raise _released_error(node)
        for edge, x in zip(node.edges, node.inputs):
            if isinstance(edge, Function):
                out_tensor.setdefault(edge, x)
    return ops, out_tensor


# --------------------------------------------------------------------------------------------
# Modules: parameter names and clusters, from the modules' public methods (tinygrad_kr does
# not import nn: any object with named_modules() / named_parameters() works as a scope root)
# --------------------------------------------------------------------------------------------


class _ModuleNames:
    """Qualified names ("fc1", "fc1.weight") in the outermost modules of the ops' scopes."""

    def __init__(self, ops: Iterable[Function]):
        self.module_name: dict[int, str] = {}  # id(module) -> qualified name ("" for a root)
        self.tensor: dict[int, tuple[str, tuple]] = {}  # id(tensor) -> (qualified name, owner chain)
        self._keep: list = []  # the modules and tensors whose ids are keys above
        roots = {id(op.scope[0]): op.scope[0] for op in ops if op.scope}
        for root in roots.values():
            if not hasattr(root, "named_modules"):
                continue
            modules = dict(root.named_modules())
            for name, m in modules.items():
                self.module_name.setdefault(id(m), name)
                self._keep.append(m)
            for kind in ("named_parameters", "named_buffers"):
                for qual, t in getattr(root, kind, lambda: ())():
                    if t is not None and id(t) not in self.tensor:
                        parts = qual.split(".")[:-1]  # the owner's path: root, root.a, root.a.b
                        chain = (root,) + tuple(modules[".".join(parts[: i + 1])] for i in range(len(parts)))
                        self.tensor[id(t)] = (qual, chain)
                        self._keep.append(t)

    def label(self, module: Any) -> str:
        qual = self.module_name.get(id(module), "")
        cls = type(module).__name__
        return f"{qual}: {cls}" if qual else cls


class _Cluster:
    def __init__(self, index: int, label: str):
        self.name = f"cluster_{index}"
        self.label = label
        self.nodes: list[tuple[str, str, str]] = []  # (id, label, style)
        self.children: list[_Cluster] = []


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------


def _label(lines: list[str]) -> str:
    # Backslashes in user text stay literal; "\n" between lines is Graphviz's line break.
    return graphviz.nohtml("\\n".join(s.replace("\\", "\\\\") for s in lines))


def _scalar_text(arr: np.ndarray) -> str:
    # The numpy scalar keeps its dtype: float32(1.0001) prints as 1.0001, not 1.000100016593933.
    v = arr[()]
    return np.format_float_positional(v, trim="-") if arr.dtype.kind == "f" else str(v)


def _values(arr: np.ndarray) -> list[str]:
    text = np.array2string(arr, precision=4, separator=", ", suppress_small=True)
    return [s.strip() for s in text.splitlines()]


class _Labeller:
    def __init__(self, show_shapes: bool, show_grads: bool, show_values: bool):
        self.show_shapes = show_shapes
        self.show_grads = show_grads
        self.show_values = show_values

    def tensor(self, t: Tensor, name: str | None) -> str:
        lines = []
        if name:
            lines.append(name)
        if self.show_shapes:
            lines.append(f"{tuple(t.shape)} {t.data.dtype}")
        if self.show_values and t.data.size <= _MAX_VALUES:
            lines.extend(_values(t.data))
        if self.show_grads and t.grad is not None:
            g = np.asarray(t.grad.data, dtype=np.float64)
            lines.append(f"grad norm {float(np.sqrt(np.sum(g * g))):.4g}")
        return _label(lines or [" "])


# --------------------------------------------------------------------------------------------
# draw_graph / save_graph
# --------------------------------------------------------------------------------------------


def draw_graph(
    *outputs: Tensor | Sequence[Tensor],
    show_shapes: bool = True,
    show_grads: bool = False,
    show_values: bool = False,
    rankdir: str = "LR",
    group_modules: bool = True,
    max_nodes: int = 2000,
    style: str = "default",
) -> graphviz.Digraph:
    """The graph that produced `outputs` as a `graphviz.Digraph`.

    outputs: Tensors (or one list of them); their graphs are drawn together. With
        style="book", also the steps returned by `tg.trace_backward`.
    show_shapes: shape and dtype in every tensor label.
    show_grads: the L2 norm of `.grad` where a tensor has one (leaves after backward,
        non-leaves with `retain_grad()`; draw with backward(retain_graph=True) for both).
    show_values: the values of tensors with at most 16 elements.
    rankdir: layout direction, "LR" (left to right), "TB", "RL" or "BT".
    group_modules: draw the ops of each nn.Module inside a box "name: Class".
    max_nodes: draw at most this many nodes, the marker included: a larger graph keeps the
        ops nearest to the outputs (whole ops, with their output tensor and new leaves) and
        one marker node "... N more nodes not drawn (max_nodes=...)" with dashed edges to
        where it was cut. The default keeps `dot` under about a second; graphs of 10,000
        nodes take it tens of seconds (its layout time grows faster than linearly).
    style: "default" (op nodes and tensor nodes, as above) or "book", the textbook's figures:
        op nodes only (× + − ÷ in circles), each tensor an edge labelled with its forward value
        above and its gradient below in red (values for up to 4 elements, else shape and
        norm); a tensor used twice forks at a point, each branch showing the gradient its use
        sent. The gradients come from the steps of `tg.trace_backward` when those are drawn,
        else from `.grad` (leaves, and non-leaves that `retain_grad()`), so draw after
        backward(retain_graph=True). The show_* and group_modules options do not apply; a
        graph of more than max_nodes ops is an error (draw it in the default style).

    Raises RuntimeError when backward() already freed the graph (see the module docstring).
    """
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, (int, np.integer)) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive integer, got {max_nodes!r}")
    if style not in _GRAPH_STYLES:
        raise ValueError(f"draw_graph: style must be one of {_GRAPH_STYLES}, got {style!r}")
    steps = _backward_steps(outputs)
    if steps is not None:
        if style != "book":
            raise ValueError(
                "draw_graph: the steps of tg.trace_backward are drawn with style='book' (the graph "
                "they recorded was freed by backward, so the default style cannot draw it)"
            )
        return _book_checked(steps.graph, max_nodes).digraph(steps.graph.grad_texts(), rankdir=rankdir)
    roots = _roots(outputs)
    if style == "book":
        return _book_checked(BookGraph.from_tensors(roots), max_nodes).digraph(rankdir=rankdir)
    ops, out_tensor = _walk(roots)
    return _Drawing(
        roots,
        ops,
        out_tensor,
        _Labeller(show_shapes, show_grads, show_values),
        rankdir,
        group_modules,
        int(max_nodes),
    ).digraph()


class _Drawing:
    """Assigns node ids in traversal order, applies the node budget and builds the Digraph."""

    def __init__(self, roots, ops, out_tensor, labeller, rankdir, group_modules, max_nodes):
        self.labeller = labeller
        self.rankdir = rankdir
        self.group_modules = group_modules
        self.max_nodes = max_nodes
        self.names = _ModuleNames(ops)
        self.root_ids = {id(t) for t in roots}
        self.op_id = {op: f"op{i}" for i, op in enumerate(ops)}
        self.leaf_id: dict[int, str] = {}
        self.keep: list[Tensor] = []  # keeps leaves alive while their id() keys are in use
        self.nodes: list[tuple[str, str, str, tuple]] = []  # (id, label, style, module chain)
        self.edges: list[tuple[str, str]] = []
        self.n_consts = 0
        self.counted: set[int] = set()  # ids of the leaves already counted against the budget

        # Costs first (each op: itself, its output tensor, the leaves it adds), so that a graph
        # that does not fit leaves room for the marker and max_nodes really bounds the drawing.
        total = 0
        for t in roots:
            if t.grad_fn is None and id(t) not in self.counted:
                self.counted.add(id(t))
                self.keep.append(t)
                total += 1
        costs = [2 + self._new_leaves(op) for op in ops]
        total += sum(costs)
        n_drawn = len(ops)
        if total > max_nodes:
            budget = max_nodes - 1 - (total - sum(costs))
            n_drawn = 0
            while n_drawn < len(ops) and costs[n_drawn] <= budget:
                budget -= costs[n_drawn]
                n_drawn += 1
        drawn_ops = ops[:n_drawn]
        for t in roots:
            if t.grad_fn is None:
                self._leaf(t, None, None)
        self.drawn = set(drawn_ops)
        for op in drawn_ops:
            self._op(op, out_tensor[op])
        self.missing = total - len(self.nodes)
        self.cut_ops: list[Function] = [
            op for op in drawn_ops if any(isinstance(e, Function) and e not in self.drawn for e in op.edges)
        ]

    def _new_leaves(self, op: Function) -> int:
        """Leaf nodes op would add: its scalar constants and not yet seen leaf inputs."""
        n = 0
        seen = self.counted
        for edge, x in zip(op.edges, op.inputs):
            if isinstance(edge, Function):
                continue
            if self._is_const(x, edge):
                n += 1
            elif id(x) not in seen:
                seen.add(id(x))
                self.keep.append(x)
                n += 1
        return n

    def _is_const(self, t: Tensor, edge: Any) -> bool:
        """A scalar that needs no gradient and has no name (`x * 0.5`): drawn as plain text,
        once per use."""
        return edge is None and t.data.ndim == 0 and not t.name and id(t) not in self.names.tensor

    def _leaf(self, t: Tensor, edge: Any, consumer: Function | None) -> str:
        """The node of a leaf input (created at first use); scalar constants get one per use."""
        if consumer is not None and self._is_const(t, edge):
            nid = f"c{self.n_consts}"
            self.n_consts += 1
            self.nodes.append((nid, _label([_scalar_text(t.data)]), "const", consumer.scope))
            return nid
        nid = self.leaf_id.get(id(t))
        if nid is not None:
            return nid
        nid = f"in{len(self.leaf_id)}"
        self.leaf_id[id(t)] = nid
        self.keep.append(t)
        owner: tuple = ()
        name = t.name
        found = self.names.tensor.get(id(t))
        if found is not None:
            name = name or found[0]
            owner = found[1]
            style = "param" if t.requires_grad else "input"
        else:
            style = "leaf" if t.requires_grad else "input"
        if id(t) in self.root_ids:
            style = "output"
        self.nodes.append((nid, self.labeller.tensor(t, name), style, owner))
        return nid

    def _op(self, op: Function, out: Tensor) -> None:
        oid = self.op_id[op]
        module = op.scope
        self.nodes.append((oid, _label([type(op).__name__]), "op", module))
        tid = "t" + oid[2:]
        style = "output" if id(out) in self.root_ids and out.grad_fn is op else "tensor"
        self.nodes.append((tid, self.labeller.tensor(out, out.name), style, module))
        self.edges.append((oid, tid))
        for edge, x in zip(op.edges, op.inputs):
            if isinstance(edge, Function):
                if edge in self.drawn:
                    self.edges.append(("t" + self.op_id[edge][2:], oid))
            else:
                self.edges.append((self._leaf(x, edge, op), oid))

    # ---- building the Digraph --------------------------------------------------------------

    def _clusters(self) -> tuple[list[_Cluster], dict[tuple, _Cluster]]:
        """One cluster per module that owns a drawn node, and per ancestor of one, keyed by the
        module chain (outermost first)."""
        top: list[_Cluster] = []
        of: dict[tuple, _Cluster] = {}
        for _, _, _, scope in self.nodes:
            parent = None
            for depth in range(1, len(scope) + 1):
                key = tuple(id(m) for m in scope[:depth])
                c = of.get(key)
                if c is None:
                    c = of[key] = _Cluster(len(of), self.names.label(scope[depth - 1]))
                    (parent.children if parent is not None else top).append(c)
                parent = c
        return top, of

    def digraph(self) -> graphviz.Digraph:
        g = graphviz.Digraph(
            "tinygrad_kr",
            graph_attr={"rankdir": self.rankdir},
            node_attr={"fontname": "Helvetica", "fontsize": "10"},
            edge_attr={"arrowsize": "0.7"},
        )
        top, of = self._clusters() if self.group_modules else ([], {})
        for nid, label, style, scope in self.nodes:
            c = of.get(tuple(id(m) for m in scope)) if scope else None
            if c is None:
                g.node(nid, label, **_STYLE[style])
            else:
                c.nodes.append((nid, label, style))
        for c in top:
            g.subgraph(_cluster_graph(c))
        if self.missing:
            more = (
                f"... {self.missing:,} more nodes not drawn "
                f"(max_nodes={self.max_nodes}: raise it to see them)"
            )
            g.node("more", _label([more]), **_STYLE["more"])
            for op in self.cut_ops:
                g.edge("more", self.op_id[op], style="dashed")
        for a, b in self.edges:
            g.edge(a, b)
        return g


def _cluster_graph(c: _Cluster) -> graphviz.Digraph:
    sub = graphviz.Digraph(name=c.name, graph_attr={"label": _label([c.label]), **_CLUSTER_ATTR})
    for nid, label, style in c.nodes:
        sub.node(nid, label, **_STYLE[style])
    for child in c.children:
        sub.subgraph(_cluster_graph(child))
    return sub


def save_graph(outputs: Tensor | Sequence[Tensor], path: str | os.PathLike, **options: Any) -> pathlib.Path:
    """Draw the graph of `outputs` (a Tensor, a list, or with style="book" the steps of
    `tg.trace_backward`) and write it to `path`.

    The extension picks the format: .svg, .png, .pdf (rendered by the Graphviz `dot`
    program) or .dot/.gv (the source text, no program needed). options: those of
    `draw_graph`. Returns the path.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in _IMAGE_FORMATS and suffix not in _SOURCE_SUFFIXES:
        known = ", ".join((*_IMAGE_FORMATS, *_SOURCE_SUFFIXES))
        raise ValueError(
            f"save_graph: unknown file extension {path.suffix!r} in {str(path)!r}; use one of {known}"
        )
    if _backward_steps((outputs,)) is not None:
        g = draw_graph(outputs, **options)
    else:
        g = draw_graph([outputs] if isinstance(outputs, Tensor) else list(outputs), **options)
    if suffix in _SOURCE_SUFFIXES:
        path.write_text(g.source, encoding="utf-8")
        return path
    try:
        data = g.pipe(format=_IMAGE_FORMATS[suffix])
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(
            f"save_graph: rendering {path.name} needs the Graphviz `dot` program, which was not "
            f"found; {_INSTALL_HINT}"
        ) from e
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------
# Book style: tensors as labelled edges between op nodes, as the textbook draws them
# --------------------------------------------------------------------------------------------

BOOK_GRAD_COLOR = "#e03131"  # gradients are written in red under the edge, as in the book
_BOOK_MAX_VALUES = 4  # tensors with at most this many elements show their values
_BOOK_DIGITS = 4  # significant digits of the numbers on the edges (at most)
_BOOK_SYMBOLS = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷"}  # drawn in a circle
_BOOK_FILL = {"current": "#ffd43b", "done": "#fff3bf", "todo": "white"}


def format_number(x: Any) -> str:
    """A number as the book writes it: 220, 2.2, 0.5. The float32 value's shortest repr, so
    float32 2.2000000476837 and float64 110.00000000000001 print as 2.2 and 110, cut to at most
    4 significant digits (0.6269, as a figure would); scientific notation below 1e-3 and from
    1e4 on; integers and booleans as they are."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    v = np.float32(x)
    if not np.isfinite(v):
        return str(float(v))
    a = abs(v)
    if a == 0:
        return "0"
    if 1e-3 <= a < 1e4:
        return np.format_float_positional(v, precision=_BOOK_DIGITS, fractional=False, trim="-")
    return np.format_float_scientific(v, precision=_BOOK_DIGITS - 1, trim="-", exp_digits=1)


def format_value(arr: Any) -> str:
    """A tensor's value for an edge label: its numbers (nested lists) for at most 4 elements,
    else its shape and L2 norm: "(2, 3) norm 4.123"."""
    arr = np.asarray(arr)
    if arr.size <= _BOOK_MAX_VALUES:
        return _nested(arr)
    norm = float(np.sqrt(np.sum(np.square(arr, dtype=np.float64)))) if arr.dtype.kind in "fiub" else None
    return f"{tuple(arr.shape)}" + ("" if norm is None else f" norm {format_number(norm)}")


def _nested(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return format_number(arr[()])
    return "[" + ", ".join(_nested(a) for a in arr) + "]"


@dataclass
class BookOp:
    """An op node of a book-style drawing: its id in the SVG ("op0", in backward order)."""

    oid: str
    op: str  # the op's class name
    module: str | None = None  # "fc1: Linear", or None outside modules


@dataclass
class BookTensor:
    """A tensor of a book-style drawing: an edge from where it comes from to its one use, or
    (used several times) a trunk to a branch point and one edge per use, as the book's
    "repeat" node. `grad` (written on the trunk) is the sum of what the uses sent."""

    eid: str  # the trunk edge's id ("t0"); the uses' edges are "t0u0", "t0u1", ...
    source: str  # the node it comes from: its op, or a plain-text source node
    value: np.ndarray | None
    name: str | None
    uses: list = field(default_factory=list)  # (consumer op id, input position)
    sink: str | None = None  # the plain-text node an output goes to
    grad: np.ndarray | None = None
    use_grads: dict = field(default_factory=dict)  # (op id, position) -> gradient that use sent

    def branched(self) -> bool:
        return len(self.uses) + (self.sink is not None) > 1

    def use_edge(self, j: int) -> str:
        return f"{self.eid}u{j}" if self.branched() else self.eid

    def tooltip(self) -> str:
        shape = "" if self.value is None else f" {tuple(self.value.shape)} {self.value.dtype}"
        return (self.name or "tensor") + shape


class BookGraph:
    """What a book-style drawing shows: op nodes, tensors and the gradients on them. Built
    from a live graph (`from_tensors`) or from a backward trace (tinygrad_kr.backprop)."""

    def __init__(self) -> None:
        self.ops: list[BookOp] = []
        self.tensors: list[BookTensor] = []
        self.texts: list[tuple[str, str]] = []  # plain-text nodes: (id, label)
        self._by_key: dict[int, BookTensor] = {}
        self._keep: list = []  # the objects whose ids are keys of _by_key

    def add_op(self, op: str, module: str | None = None) -> str:
        oid = f"op{len(self.ops)}"
        self.ops.append(BookOp(oid, op, module))
        return oid

    def _text_node(self, prefix: str, label: str) -> str:
        nid = f"{prefix}{len(self.texts)}"
        self.texts.append((nid, label))
        return nid

    def tensor(self, key: Any, value: Any, name: str | None, producer: str | None) -> BookTensor:
        """The tensor for `key` (the node that made it, or the Tensor itself), created on first
        use; producer: the op id it comes from, None for a leaf (a plain-text source node)."""
        t = self._by_key.get(id(key))
        if t is None:
            source = producer if producer is not None else self._text_node("src", name or "")
            value = None if value is None else np.array(value, copy=True)
            t = BookTensor(f"t{len(self.tensors)}", source, value, name)
            self.tensors.append(t)
            self._by_key[id(key)] = t
            self._keep.append(key)
        return t

    def find(self, key: Any) -> BookTensor | None:
        return self._by_key.get(id(key))

    def mark_output(self, t: BookTensor, label: str) -> None:
        if t.sink is None:
            t.sink = self._text_node("out", label)

    def grad_texts(self) -> dict[str, str]:
        """Edge id -> the gradient written under it, from the `grad` and `use_grads` filled in."""
        out = {}
        for t in self.tensors:
            if t.grad is not None:
                out[t.eid] = format_value(t.grad)
            if t.branched():
                for j, use in enumerate(t.uses):
                    if use in t.use_grads:
                        out[t.use_edge(j)] = format_value(t.use_grads[use])
        return out

    @classmethod
    def from_tensors(cls, roots: list[Tensor]) -> "BookGraph":
        """The graph below `roots` with forward values, and the gradients backward left: leaves'
        `.grad` and those of non-leaves that `retain_grad()` (draw after
        backward(retain_graph=True))."""
        ops, out_tensor = _walk(roots)
        names = _ModuleNames(ops)
        g = cls()
        oid = {op: g.add_op(type(op).__name__, _module_label(op, names)) for op in ops}

        def leaf_name(x: Tensor) -> str | None:
            found = names.tensor.get(id(x))
            return x.name or (found[0] if found else None)

        def add(key: Any, x: Tensor) -> BookTensor:
            producer = oid.get(key) if isinstance(key, Function) else None
            t = g.tensor(key, x.data, x.name if producer else leaf_name(x), producer)
            if t.grad is None and x.grad is not None and (x.grad_fn is None or x.retains_grad):
                t.grad = np.array(x.grad.data, copy=True)
            return t

        for r in roots:
            g.mark_output(add(r.grad_fn if r.grad_fn is not None else r, r), r.name or "")
        for op in ops:
            for i, (edge, x) in enumerate(zip(op.edges, op.inputs)):
                add(edge if isinstance(edge, Function) else x, x).uses.append((oid[op], i))
        return g

    def digraph(
        self,
        grads: dict[str, str] | None = None,
        current: str | None = None,
        done: Iterable[str] = (),
        rankdir: str = "LR",
    ) -> graphviz.Digraph:
        """The Graphviz drawing: `grads` maps edge ids to the gradient text written under them
        (default: `grad_texts()`, the gradients filled in);
        `current` (an op id) is highlighted, the ops in `done` are shaded."""
        done = set(done)
        if grads is None:
            grads = self.grad_texts()
        g = graphviz.Digraph(
            "tinygrad_kr",
            graph_attr={"rankdir": rankdir, "nodesep": "0.35", "ranksep": "0.5"},
            node_attr={"fontname": "Helvetica", "fontsize": "12"},
            edge_attr={"fontname": "Helvetica", "fontsize": "11", "arrowsize": "0.7"},
        )
        for op in self.ops:
            state = "current" if op.oid == current else "done" if op.oid in done else "todo"
            symbol = _BOOK_SYMBOLS.get(op.op)
            qualname = op.module.split(":")[0] if op.module and ":" in op.module else None
            lines = [symbol or op.op] + ([qualname] if qualname and not symbol else [])
            g.node(
                op.oid,
                _label(lines),
                id=op.oid,
                shape="circle" if symbol else "ellipse",
                style="filled",
                fontsize="18" if symbol else "12",
                fillcolor=_BOOK_FILL[state],
                color="#d9480f",
                tooltip=op.op + (f" in {op.module}" if op.module else ""),
                **{"class": f"op {state}"},
            )
        for nid, label in self.texts:
            g.node(nid, _label([label or " "]), id=nid, shape="plaintext", **{"class": "text"})
        for t in self.tensors:
            targets = [(t.use_edge(j), op) for j, (op, _) in enumerate(t.uses)]
            if t.sink is not None:
                targets.append((t.use_edge(len(t.uses)), t.sink))
            value = None if t.value is None else format_value(t.value)
            start = t.source
            if t.branched():  # the trunk to a branch point, then an edge per use
                start = f"b{t.eid[1:]}"
                g.node(start, "", id=start, shape="point", width="0.06", **{"class": "branch"})
                self._edge(g, t.source, start, t.eid, value, grads.get(t.eid), t.tooltip())
                value = None
            for eid, head in targets:
                self._edge(g, start, head, eid, value, grads.get(eid), t.tooltip())
        return g

    @staticmethod
    def _edge(
        g: graphviz.Digraph, tail: str, head: str, eid: str, value: str | None, grad: str | None, tooltip: str
    ) -> None:
        rows = []
        if value is not None:
            rows.append(f"<tr><td>{html.escape(value)}</td></tr>")
        if grad:
            rows.append(f'<tr><td><font color="{BOOK_GRAD_COLOR}">{html.escape(grad)}</font></td></tr>')
        attrs = {"id": eid, "class": "tensor", "tooltip": tooltip}
        if rows:
            attrs["label"] = (
                f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{"".join(rows)}</table>>'
            )
        g.edge(tail, head, **attrs)


def _module_label(op: Function, names: _ModuleNames) -> str | None:
    return names.label(op.module) if op.module is not None else None


def _backward_steps(outputs: Sequence[Any]) -> Any:
    """The steps of tg.trace_backward when they are what is drawn, else None."""
    from .backprop import BackwardSteps  # (backprop draws with this module)

    return outputs[0] if len(outputs) == 1 and isinstance(outputs[0], BackwardSteps) else None


def _book_checked(graph: BookGraph, max_nodes: int) -> BookGraph:
    if len(graph.ops) > max_nodes:
        raise ValueError(
            f"draw_graph: style='book' draws every op, and this graph has {len(graph.ops)} ops (more "
            f"than max_nodes={max_nodes}); raise max_nodes, or use the default style, which truncates"
        )
    return graph
