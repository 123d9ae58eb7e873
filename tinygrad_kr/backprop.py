"""Step through backward as the textbook draws it: `tg.trace_backward`, `tg.save_backward_steps`.

    price = apple * apple_num * tax                # the book's shopping example
    steps = tg.trace_backward(price)               # runs backward: leaves' .grad accumulate
    steps[0]          # Step 1: Mul  gy = 1  ->  gx0 = 1.1, gx1 = 200
    steps[0].explain()  # ['Mul: gx0 = gy * x1 = 1 * 200 ... ']
    tg.save_backward_steps(price, "backprop.html")  # one page, opens from disk: Previous / Next

The steps are the nodes the engine ran, in the order it ran them (`backward_pass` calls an
observer for each), with the gradient each received, the gradient it sent to each input and
the forward values of its inputs and output, copied while the node still held them (backward
frees them right after). The page shows the book-style graph (tg.draw_graph(style="book"))
once and, step by step, highlights the node, writes the gradients known so far under the
edges and the step's arithmetic in words. In Jupyter, the steps object shows the same page.
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import graphviz
import numpy as np

from .autograd import AccumulateGrad, Function, backward_pass, root_grad
from .ops import elementwise as E
from .ops import linalg as L
from .ops import linear as Lin
from .ops import reduce as R
from .serialize import _atomic_write
from .tensor import Tensor
from .viz import (
    _INSTALL_HINT,
    BOOK_GRAD_COLOR,
    BookGraph,
    GraphvizNotFoundError,
    _ModuleNames,
    format_value,
)

__all__ = ["BackwardStep", "BackwardSteps", "trace_backward", "save_backward_steps"]

_PAGE = pathlib.Path(__file__).with_name("_data") / "backprop_page.html"
_PAGE_ZOOM = 1.4  # a small graph is drawn larger than dot's natural size
_SVG_SIZE = re.compile(r'\b(width|height)="([\d.]+)pt"')


# --------------------------------------------------------------------------------------------
# One step: a node the engine ran
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One node of the backward pass, as the engine ran it.

    number: 1 for the first node run (the page's #step=1); node: the op node (a
    `tg.Function`); op: its class name; node_id: its id in the book-style drawing ("op0");
    module / module_name: the innermost nn module whose forward recorded it and its qualified
    name in the outermost one ("fc1"; "" for the outermost itself), or None;
    grad_output: the gradient the node received (gy, the output's shape); grad_inputs: the
    gradient it sent to each input (None where none is wanted); inputs, output: the forward
    values. All are numpy copies, taken while backward ran.
    """

    number: int
    node: Function
    op: str
    node_id: str
    module: Any
    module_name: str | None
    grad_output: np.ndarray
    grad_inputs: tuple
    inputs: tuple
    output: np.ndarray

    def explain(self) -> list[str]:
        """The step's arithmetic in words, one line per input: "Mul: gx0 = gy * x1 = 1.1 * 2 =
        2.2" for the ops whose rule is written out here (Add, Sub, Mul, Div, Neg, Exp, Log,
        Sqrt, Tanh, Sigmoid, ReLU, Sum, Mean, MatMul, Linear), with values for tensors of up to 4
        elements and shapes for larger ones; a generic line with shapes for other ops."""
        return [self._line(i) for i in range(len(self.grad_inputs))]

    def _line(self, i: int) -> str:
        gx = self.grad_inputs[i]
        if gx is None:
            return f"{self.op}: x{i} needs no gradient (it does not require grad)"
        values = {"gy": self.grad_output, "y": self.output, **{f"x{k}": v for k, v in enumerate(self.inputs)}}
        rules = _RULES.get(type(self.node))
        if rules is None or i >= len(rules):
            return (
                f"{self.op}: gx{i} = {self.op}.backward(gy) = {_show(gx)}"
                if _small(self.grad_output, gx)
                else f"{self.op}: gx{i} = {self.op}.backward(gy): gy {_shape(self.grad_output)} -> "
                f"gx{i} {_shape(gx)}"
            )
        formula = rules[i]
        if " over " in formula:  # a rule in words (Sum, Mean): no values to substitute
            n = np.size(self.inputs[0]) // max(np.size(self.output), 1)
            formula = formula.format(n=n)
            return f"{self.op}: gx{i} = {formula}" + (
                f" = {_show(gx)}" if _small(gx) else f": gy {_shape(self.grad_output)} -> {_shape(gx)}"
            )
        names = sorted(set(_TOKEN.findall(formula)))
        if _small(gx, *[values[n] for n in names]):
            filled = _TOKEN.sub(lambda m: _show(values[m.group(0)]), formula)
            line = f"{self.op}: gx{i} = {formula} = {filled} = {_show(gx)}"
        else:
            filled = _TOKEN.sub(lambda m: _shape(values[m.group(0)]), formula)
            line = f"{self.op}: gx{i} = {formula}: {filled} -> {_shape(gx)}"
        if type(self.node) in _BROADCASTING and np.shape(gx) != np.shape(self.grad_output):
            line += f" (summed over the broadcast axes to x{i}'s shape {_shape(gx)})"
        return line

    def __repr__(self) -> str:
        where = f" in {self.module_name or type(self.module).__name__}" if self.module is not None else ""
        sent = ", ".join(
            f"gx{i} = {'None' if g is None else format_value(g)}" for i, g in enumerate(self.grad_inputs)
        )
        return f"Step {self.number}: {self.op}{where}  gy = {format_value(self.grad_output)}  ->  {sent}"


# the textbook rule of each op, per input, in terms of gy, the inputs x0, x1 and the output y
_RULES: dict[type, tuple[str, ...]] = {
    E.Add: ("gy", "gy"),
    E.Sub: ("gy", "-gy"),
    E.Mul: ("gy * x1", "gy * x0"),
    E.Div: ("gy / x1", "-gy * x0 / x1²"),
    E.Neg: ("-gy",),
    E.Exp: ("gy * y",),
    E.Log: ("gy / x0",),
    E.Sqrt: ("gy / (2 * y)",),
    E.Tanh: ("gy * (1 - y²)",),
    E.Sigmoid: ("gy * y * (1 - y)",),
    E.ReLU: ("gy * (x0 > 0)",),
    R.Sum: ("gy repeated over the summed axes",),
    R.Mean: ("gy / {n} repeated over the averaged axes",),
    L.MatMul: ("gy @ x1ᵀ", "x0ᵀ @ gy"),
    Lin.Linear: ("gy @ x1", "gyᵀ @ x0", "gy summed over the batch axes"),  # y = x0 @ x1ᵀ + x2
}
_BROADCASTING = (E.Add, E.Sub, E.Mul, E.Div)
_TOKEN = re.compile(r"(?<![A-Za-z0-9_])(gy|y|x[0-9]+)(?![A-Za-z0-9_])")  # (x1² and x1ᵀ name x1)


def _small(*arrays: Any) -> bool:
    return all(np.size(a) <= 4 for a in arrays)


def _show(a: Any) -> str:
    return format_value(a)


def _shape(a: Any) -> str:
    return str(tuple(np.shape(a)))


# --------------------------------------------------------------------------------------------
# The steps of one backward pass
# --------------------------------------------------------------------------------------------


class BackwardSteps(Sequence):
    """The steps of one backward pass (a list of `BackwardStep`, in the engine's order).

    output: the Tensor backward started from; root_grad: the gradient it started with;
    leaves: the leaf Tensors that received gradients (their `.grad` is set); graph: the
    book-style drawing's content (`tinygrad_kr.viz.BookGraph`).
    `draw(step)` gives the drawing at a step, `to_html()` / `save_html(path)` the step-through
    page; in Jupyter the object displays that page.
    """

    def __init__(
        self,
        steps: list[BackwardStep],
        graph: BookGraph,
        output: Tensor,
        root_grad: np.ndarray,
        leaves: list[Tensor],
        states: list[dict],
    ):
        self._steps = steps
        self.graph = graph
        self.output = output
        self.root_grad = root_grad
        self.leaves = leaves
        self._states = states  # per step: edge id -> gradient text known after it (index 0: before)

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, i):
        return self._steps[i]

    def __iter__(self) -> Iterator[BackwardStep]:
        return iter(self._steps)

    def __repr__(self) -> str:
        head = f"BackwardSteps: {len(self)} step(s) from an output of shape {self.output.shape}"
        return "\n".join([head, *[f"  {s!r}" for s in self._steps]])

    def grads_at(self, step: int) -> dict[str, str]:
        """Edge id -> the gradient written under it once `step` (1..len) has run (0: before
        the first step, when only the output's gradient is known)."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step <= len(self):
            raise ValueError(f"grads_at: step must be an integer from 0 to {len(self)}, got {step!r}")
        return dict(self._states[int(step)])

    def draw(self, step: int | None = None, rankdir: str = "LR") -> graphviz.Digraph:
        """The book-style drawing after `step` (1..len; default: the last) with that step's node
        highlighted and the nodes run before it shaded."""
        step = len(self) if step is None else step
        grads = self.grads_at(step)
        current = self._steps[step - 1].node_id if step else None
        done = [s.node_id for s in self._steps[: max(step - 1, 0)]]
        return self.graph.digraph(grads, current, done, rankdir)

    # ---- the step-through page -------------------------------------------------------------

    def to_html(self, title: str = "Backpropagation, step by step") -> str:
        """The step-through page: one self-contained HTML document (the SVG drawn by Graphviz
        `dot`, the steps as JSON, a small script; no network). Needs the `dot` program."""
        final = self.graph.digraph(self._states[-1], None, (), "LR")
        try:
            svg = final.pipe(format="svg").decode("utf-8")
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(
                f"the step-through page draws its graph with the Graphviz `dot` program, which was not "
                f"found; {_INSTALL_HINT}"
            ) from e
        svg = svg[svg.index("<svg") :]
        width = _SVG_SIZE.search(svg)
        if width and float(width.group(2)) < 700:  # small graphs are drawn larger (the SVG scales)
            svg = _SVG_SIZE.sub(lambda m: f'{m.group(1)}="{float(m.group(2)) * _PAGE_ZOOM:.2f}pt"', svg, 2)
        states = self._states
        data = {
            "gradColor": BOOK_GRAD_COLOR,
            "start": states[0],
            "steps": [
                {
                    "node": s.node_id,
                    "title": self._title(s),
                    "lines": [
                        f"gy = {format_value(s.grad_output)} arrives from the output side",
                        *s.explain(),
                    ],
                    "grads": states[s.number],
                    "changed": [
                        e for e, text in states[s.number].items() if states[s.number - 1].get(e) != text
                    ],
                }
                for s in self._steps
            ],
            "leaves": self._leaf_lines(),
        }
        blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        fields = {"TITLE": html.escape(title), "SVG": svg, "DATA": blob}
        template = _PAGE.read_text(encoding="utf-8")
        return re.sub(r"\{\{(TITLE|SVG|DATA)\}\}", lambda m: fields[m.group(1)], template)

    def _title(self, s: BackwardStep) -> str:
        module = self.graph.ops[s.number - 1].module  # "fc1: Linear"
        return f"Step {s.number} of {len(self)}: {s.op}" + (f" (in {module})" if module else "")

    def _leaf_lines(self) -> list[str]:
        out = []
        for t in self.leaves:
            label = self.graph.find(t).name or f"leaf {tuple(t.shape)}"  # its name, or its parameter's
            out.append(f"{label}.grad = {format_value(t.grad.data)}")
        return out

    def save_html(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the step-through page to `path` (atomically); open it in any browser."""
        path = pathlib.Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"save_backward_steps: directory {str(path.parent)!r} does not exist")
        page = self.to_html().encode("utf-8")
        _atomic_write(str(path), lambda f: f.write(page))
        return path

    def _repr_html_(self) -> str:
        """Jupyter: the step-through page in an iframe (srcdoc, so that its script runs)."""
        try:
            page = self.to_html()
        except GraphvizNotFoundError as e:
            return f"<pre>{html.escape(repr(self))}\n\n{html.escape(str(e))}</pre>"
        m = re.search(r'<svg width="[\d.]+pt" height="([\d.]+)pt"', page)
        height = int(float(m.group(1)) * 4 / 3) + 260 if m else 600
        return (
            f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {min(height, 1200)}px; border: 1px solid #dee2e6"></iframe>'
        )


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


class _Recorder:
    """The observer of backward_pass: copies what each node's step shows while it still can
    (the engine frees the node's inputs right after the observer returns)."""

    def __init__(self, root: Tensor):
        self.records: list[tuple] = []
        self.outputs: dict[int, np.ndarray] = {}  # id(node) -> the forward value of its output
        self.names: dict[int, str] = {}  # id(node) -> the name of its output tensor, if it has one
        self.keep: list = []  # the nodes and tensors whose ids are keys here
        if root.grad_fn is not None:
            self.outputs[id(root.grad_fn)] = np.array(root.data, copy=True)
            if root.name:
                self.names[id(root.grad_fn)] = root.name

    def __call__(self, node: Function, gy: Any, gxs: Sequence[Any]) -> None:
        values, keys = [], []
        for edge, x in zip(node.edges, node.inputs):
            v = np.array(x.data, copy=True)
            values.append(v)
            if x.name and isinstance(edge, Function):
                self.names.setdefault(id(edge), x.name)  # the name of the node's output tensor
            key = edge if edge is not None else x  # the node that made it, a leaf, or a constant
            if isinstance(edge, Function):
                self.outputs.setdefault(id(edge), v)  # an input here is the output of its node
            keys.append(key)
            self.keep.append(key)
        output = self.outputs.pop(id(node))  # recorded by a consumer that ran before, or the root
        copies = tuple(None if g is None else np.array(g, copy=True) for g in gxs)
        self.records.append((node, np.array(gy, copy=True), copies, tuple(values), output, tuple(keys)))


def trace_backward(output: Tensor, grad: Any = None, retain_graph: bool = False) -> BackwardSteps:
    """Run `output.backward(grad, retain_graph)` and return its steps (see the module docstring).

    Leaves' `.grad` accumulate exactly as with backward() (the same engine pass; hooks and
    retain_grad() work as there). grad: the upstream gradient, needed unless output has one
    element. The steps copy every value and gradient they show: a teaching tool, meant for
    small graphs.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"trace_backward: output must be a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise RuntimeError(
            f"trace_backward: tensor of shape {output.shape} does not require grad and has no grad_fn; set "
            "requires_grad=True on the inputs (and don't compute it under no_grad)"
        )
    g = root_grad(output, grad, "trace_backward")
    recorder = _Recorder(output)
    backward_pass([output], [g], AccumulateGrad(False, [g]), retain_graph, False, observer=recorder)
    return _build(output, np.array(g.data, copy=True), recorder)


def _build(output: Tensor, g: np.ndarray, recorder: _Recorder) -> BackwardSteps:
    """The steps, the book-style graph and the gradients on its edges after each step."""
    records = recorder.records
    names = _ModuleNames([r[0] for r in records])
    graph = BookGraph()
    oid = {}
    for node, *_ in records:
        m = node.module
        oid[id(node)] = graph.add_op(type(node).__name__, names.label(m) if m is not None else None)

    def tensor(key: Any, value: np.ndarray) -> Any:
        if isinstance(key, Function):
            producer = oid.get(id(key))
            # a node that received no gradient did not run: its output comes from a text node
            name = recorder.names.get(id(key))
            if producer:
                return graph.tensor(key, value, name, producer)
            return graph.tensor(key, value, name or f"({type(key).__name__}, not run)", None)
        return graph.tensor(key, value, key.name or names.tensor.get(id(key), (None,))[0], None)

    root = tensor(output.grad_fn if output.grad_fn is not None else output, output.data)
    graph.mark_output(root, output.name or "")
    steps = []
    for k, (node, gy, gxs, values, out, keys) in enumerate(records):  # first the structure: every use
        m = node.module
        steps.append(
            BackwardStep(
                k + 1,
                node,
                type(node).__name__,
                oid[id(node)],
                m,
                names.module_name.get(id(m)) if m is not None else None,
                gy,
                gxs,
                values,
                out,
            )
        )
        tensor(node, out)  # its output (already known to its consumer, or the root)
        for i, (key, value) in enumerate(zip(keys, values)):
            tensor(key, value).uses.append((oid[id(node)], i))
    root.grad = g  # then the gradients, step by step, as the engine sent them
    states = [graph.grad_texts()]
    leaves = [output] if output.grad_fn is None else []
    for node, _, gxs, _, _, keys in records:
        for i, (key, gx) in enumerate(zip(keys, gxs)):
            if gx is None:
                continue
            t = graph.find(key)
            t.use_grads[(oid[id(node)], i)] = gx
            t.grad = gx if t.grad is None else t.grad + gx
            if isinstance(key, Tensor) and key.grad_fn is None and all(key is not x for x in leaves):
                leaves.append(key)
        states.append(graph.grad_texts())
    return BackwardSteps(steps, graph, output, g, leaves, states)


def save_backward_steps(output: Tensor, path: str | os.PathLike, grad: Any = None) -> pathlib.Path:
    """`trace_backward(output, grad)` and write its step-through page to `path` (one
    self-contained HTML file: open it from disk; `path#step=3` opens at step 3). Runs
    backward (leaves' `.grad` accumulate). Returns the path."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"save_backward_steps: the page is HTML; give a .html path, got {str(path)!r}")
    return trace_backward(output, grad).save_html(path)
