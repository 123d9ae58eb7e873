"""Step-through backward (tinygrad_kr/backprop.py) and the book-style graph (viz, style="book").

The steps are checked against the engine: the order of `topological_order` (which backward
runs), every node once, leaf gradients equal to those of a plain `.backward()`, summed
gradients of reused tensors at the step of the node that made them. The book-style SVG of
the shopping example is checked for the book's ten numbers on the right edges, and the
step-through page is opened in headless Chromium (skipped without it) at the first and the
last step, reading the highlighted node and the gradients from the rendered DOM.
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import nn
from tinygrad_kr.autograd import topological_order
from tinygrad_kr.backprop import BackwardSteps
from tinygrad_kr.viz import BOOK_GRAD_COLOR, format_number, format_value

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def shopping(full: bool = False):
    """The book's shopping example (ch. 5): 2 apples at 100, 10 % tax (full: plus 3 oranges at 150)."""
    t = {
        n: tg.Tensor(v, requires_grad=True, name=n)
        for n, v in [
            ("apple", 100.0),
            ("apple_num", 2.0),
            ("orange", 150.0),
            ("orange_num", 3.0),
            ("tax", 1.1),
        ]
    }
    apple_price = t["apple"] * t["apple_num"]
    apple_price.name = "apple_price"
    total = apple_price
    if full:
        orange_price = t["orange"] * t["orange_num"]
        orange_price.name = "orange_price"
        total = apple_price + orange_price
        total.name = "all_price"
    price = total * t["tax"]
    price.name = "price"
    shopping.apple_price = apple_price  # (for the tests that retain its gradient)
    return t, price


def twin_grads(build):
    """Leaf gradients of a plain .backward() on a fresh copy of the same graph."""
    leaves, out = build()
    out.backward()
    return {k: v.grad.data.copy() for k, v in leaves.items() if v.grad is not None}


# ---- steps against the engine -----------------------------------------------------------------


def mlp_with_reuse():
    tg.manual_seed(3)
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = tg.Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]), requires_grad=True, name="x")
    h = layer(x).tanh()
    out = (h * h + h.sigmoid()).sum() + (x * x).mean()  # h and x are used twice
    return {"x": x, "weight": layer.weight, "bias": layer.bias}, out


def test_steps_run_in_the_engines_order_each_node_once():
    leaves, out = mlp_with_reuse()
    order = list(topological_order([out.grad_fn]))  # what backward_pass walks
    steps = tg.trace_backward(out)
    assert [s.node for s in steps] == order
    assert len({id(s.node) for s in steps}) == len(steps) == len(order)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert [s.node_id for s in steps] == [f"op{i}" for i in range(len(steps))]
    expected = twin_grads(mlp_with_reuse)
    assert {id(t) for t in steps.leaves} == {id(t) for t in leaves.values()}
    for name, t in leaves.items():
        np.testing.assert_allclose(t.grad.data, expected[name], rtol=1e-12, atol=1e-15)
        # the leaf's uses sent parts that add up to its .grad
        book = steps.graph.find(t)
        np.testing.assert_allclose(sum(book.use_grads.values()), t.grad.data, rtol=1e-12, atol=1e-15)
    # each step's gradients are what the engine's backward formulas give for its values
    for s in steps:
        assert s.grad_output.shape == s.output.shape
        assert len(s.grad_inputs) == len(s.inputs) == len(s.node.edges)


def test_a_reused_tensor_gets_its_summed_gradient_at_the_step_of_its_node():
    x = tg.Tensor(np.array([0.5, -2.0]), requires_grad=True, name="x")
    h = x * 3.0  # used by the Mul and by the Add below
    h.name = "h"
    out = (h * h + h).sum()
    steps = tg.trace_backward(out)
    ops = [s.op for s in steps]
    assert ops == ["Sum", "Add", "Mul", "Mul"]
    made_h = steps[3]  # the Mul by 3 runs last, once both consumers have sent their parts
    np.testing.assert_allclose(made_h.grad_output, 2 * h.data + 1)  # d/dh (h*h + h) = 2h + 1
    np.testing.assert_allclose(made_h.grad_inputs[0], 3 * (2 * h.data + 1))
    np.testing.assert_allclose(x.grad.data, 3 * (2 * h.data + 1))
    # on the drawing: h forks; its trunk shows the sum so far, each branch its own part
    book = steps.graph.find(made_h.node)
    assert book.branched() and len(book.uses) == 3  # Add, and Mul twice (h * h)
    after_add, after_mul = steps.grads_at(2), steps.grads_at(3)
    assert after_add[book.eid] == format_value(np.ones(2))
    assert after_mul[book.eid] == format_value(2 * h.data + 1)
    assert [after_mul[book.use_edge(j)] for j in range(3)] == [format_value(np.ones(2))] + [
        format_value(h.data)
    ] * 2
    assert book.use_edge(0) not in steps.grads_at(1)  # before Add ran, nothing reached h


def test_leaf_grads_accumulate_like_backward():
    t, price = shopping()
    tg.trace_backward(price, retain_graph=True)
    tg.trace_backward(price)
    assert t["apple"].grad.item() == pytest.approx(4.4)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tg.trace_backward(price)


def test_hooks_and_retain_grad_work_as_in_backward():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    steps = tg.trace_backward(y.sum())
    np.testing.assert_allclose(y.grad.data, [10.0, 10.0])
    np.testing.assert_allclose(x.grad.data, [20.0, 20.0])
    assert steps[1].grad_output.tolist() == [10.0, 10.0]  # the node saw the hooked gradient


def test_modules_and_their_qualified_names():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    loss = model(tg.randn(4, 2)).mean()
    steps = tg.trace_backward(loss)
    by_op = [(s.op, s.module_name) for s in steps]
    assert by_op == [("Mean", None), ("Linear", "2"), ("ReLU", "1"), ("Linear", "0")]
    assert "in 2" in repr(steps[1]) and steps[1].module is model[2]


def test_a_leaf_output_has_no_steps():
    x = tg.Tensor(3.0, requires_grad=True, name="x")
    steps = tg.trace_backward(x)
    assert len(steps) == 0 and x.grad.item() == 1.0 and steps.leaves == [x]
    assert steps.grads_at(0) == {"t0": "1"}


def test_bad_calls():
    with pytest.raises(TypeError, match="trace_backward: output must be a Tensor"):
        tg.trace_backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.trace_backward(tg.ones(2))
    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="trace_backward: a gradient can be created implicitly only"):
        tg.trace_backward(x * 2.0)
    steps = tg.trace_backward(x * 2.0, grad=np.ones(3))
    with pytest.raises(ValueError, match="grads_at: step must be an integer from 0 to 1"):
        steps.grads_at(2)
    with pytest.raises(ValueError, match="style='book'"):
        tg.draw_graph(steps)
    with pytest.raises(ValueError, match="style must be one of"):
        tg.draw_graph(x * 2.0, style="fancy")
    with pytest.raises(ValueError, match="give a .html path"):
        tg.save_backward_steps(x.sum(), "steps.svg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save_backward_steps(x.sum(), "/nonexistent-dir/steps.html")


# ---- the arithmetic in words ------------------------------------------------------------------


def explain_of(fn, *values):
    xs = [tg.Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    y = fn(*xs)
    steps = tg.trace_backward(y, grad=np.ones(y.shape))
    return steps[0].explain(), xs, y


def test_explanations_of_the_textbook_ops():
    assert explain_of(lambda a, b: a * b, 100.0, 2.0)[0] == [
        "Mul: gx0 = gy * x1 = 1 * 2 = 2",
        "Mul: gx1 = gy * x0 = 1 * 100 = 100",
    ]
    assert explain_of(lambda a, b: a + b, 1.0, 2.0)[0] == ["Add: gx0 = gy = 1 = 1", "Add: gx1 = gy = 1 = 1"]
    assert explain_of(lambda a, b: a - b, 1.0, 2.0)[0][1] == "Sub: gx1 = -gy = -1 = -1"
    assert explain_of(lambda a, b: a / b, 3.0, 2.0)[0] == [
        "Div: gx0 = gy / x1 = 1 / 2 = 0.5",
        "Div: gx1 = -gy * x0 / x1² = -1 * 3 / 2² = -0.75",
    ]
    assert explain_of(lambda a: -a, 3.0)[0] == ["Neg: gx0 = -gy = -1 = -1"]
    e = np.exp(np.float64(1.0))
    assert explain_of(lambda a: a.exp(), 1.0)[0] == [
        f"Exp: gx0 = gy * y = 1 * {format_number(e)} = {format_number(e)}"
    ]
    th = np.tanh(0.5)
    assert explain_of(lambda a: a.tanh(), 0.5)[0] == [
        f"Tanh: gx0 = gy * (1 - y²) = 1 * (1 - {format_number(th)}²) = {format_number(1 - th**2)}"
    ]
    sg = 1 / (1 + np.exp(-0.5))
    assert explain_of(lambda a: a.sigmoid(), 0.5)[0] == [
        f"Sigmoid: gx0 = gy * y * (1 - y) = 1 * {format_number(sg)} * (1 - {format_number(sg)}) = "
        f"{format_number(sg * (1 - sg))}"
    ]
    assert explain_of(lambda a: a.relu(), [-1.0, 2.0])[0] == [
        "ReLU: gx0 = gy * (x0 > 0) = [1, 1] * ([-1, 2] > 0) = [0, 1]"
    ]
    assert explain_of(lambda a: a.sum(), [1.0, 2.0, 3.0])[0] == [
        "Sum: gx0 = gy repeated over the summed axes = [1, 1, 1]"
    ]
    assert explain_of(lambda a: a.mean(), [1.0, 2.0, 3.0, 4.0])[0] == [
        "Mean: gx0 = gy / 4 repeated over the averaged axes = [0.25, 0.25, 0.25, 0.25]"
    ]
    lines, _, _ = explain_of(lambda a, b: a @ b, [[1.0, 2.0]], [[3.0], [4.0]])
    assert lines == [
        "MatMul: gx0 = gy @ x1ᵀ = [[1]] @ [[3], [4]]ᵀ = [[3, 4]]",
        "MatMul: gx1 = x0ᵀ @ gy = [[1, 2]]ᵀ @ [[1]] = [[1], [2]]",
    ]


def test_explanation_of_a_linear_layer_and_the_parameter_names_of_its_leaves():
    layer = nn.Linear(2, 1)
    with tg.no_grad():
        layer.weight.copy_(tg.Tensor([[3.0, -1.0]]))
    steps = tg.trace_backward(layer(tg.Tensor([[1.0, 2.0]])).sum())
    assert steps[1].explain() == [
        "Linear: x0 needs no gradient (it does not require grad)",
        "Linear: gx1 = gyᵀ @ x0 = [[1]]ᵀ @ [[1, 2]] = [[1, 2]]",
        "Linear: gx2 = gy summed over the batch axes = [1]",
    ]
    assert steps._leaf_lines() == ["weight.grad = [[1, 2]]", "bias.grad = [1]"]


def test_explanations_of_big_tensors_use_shapes_and_broadcasting_is_named():
    lines, _, _ = explain_of(lambda a, b: a @ b, np.ones((2, 3)), np.ones((3, 4)))
    assert lines[0] == "MatMul: gx0 = gy @ x1ᵀ: (2, 4) @ (3, 4)ᵀ -> (2, 3)"
    lines, _, _ = explain_of(lambda a, b: a + b, np.ones((3, 2)), np.ones(2))
    assert lines[1] == "Add: gx1 = gy: (3, 2) -> (2,) (summed over the broadcast axes to x1's shape (2,))"
    lines, _, _ = explain_of(lambda a: a.sin(), 0.0)  # no rule written out: the generic line
    assert lines == ["Sin: gx0 = Sin.backward(gy) = 1"]
    lines, _, _ = explain_of(lambda a: a.sin(), np.zeros((3, 3)))
    assert lines == ["Sin: gx0 = Sin.backward(gy): gy (3, 3) -> gx0 (3, 3)"]
    x = tg.Tensor(2.0, requires_grad=True)
    steps = tg.trace_backward(x * 3.0)
    assert steps[0].explain()[1] == "Mul: x1 needs no gradient (it does not require grad)"


def test_numbers_are_written_as_the_book_does():
    assert format_number(np.float64(220.0)) == "220"
    assert format_number(np.float32(2.2)) == "2.2" and format_number(np.float32(2.2000000476837)) == "2.2"
    assert format_number(100 * 1.1) == "110"  # float64 110.00000000000001
    assert format_number(0.5) == "0.5" and format_number(-0.0) == "0" and format_number(3) == "3"
    assert format_number(1.5e-8) == "1.5e-8" and format_number(2.5e9) == "2.5e+9"
    assert format_number(float("nan")) == "nan" and format_number(float("-inf")) == "-inf"
    assert format_value(np.arange(6.0).reshape(2, 3)) == f"(2, 3) norm {format_number(np.sqrt(55.0))}"
    assert format_value(np.array([[1.0, 2.0], [3.0, 4.0]])) == "[[1, 2], [3, 4]]"


# ---- the book-style SVG -----------------------------------------------------------------------


def edge_labels(svg: ET.Element) -> dict[str, tuple[list[str], list[str]]]:
    """tooltip name of each edge -> (black texts, red texts)."""
    out = {}
    for g in svg.iter(SVG + "g"):
        if g.get("class") != "edge tensor":
            continue
        a = g.find(f".//{SVG}a")
        name = a.get(XLINK + "title").split(" ")[0]
        texts = list(g.iter(SVG + "text"))
        out[name] = (
            [t.text for t in texts if t.get("fill") != BOOK_GRAD_COLOR],
            [t.text for t in texts if t.get("fill") == BOOK_GRAD_COLOR],
        )
    return out


BOOK = {  # the book's figure: forward value above each edge, gradient below
    "apple": ("100", "2.2"),
    "apple_num": ("2", "110"),
    "apple_price": ("200", "1.1"),
    "tax": ("1.1", "200"),
    "price": ("220", "1"),
}


@needs_dot
def test_book_style_svg_of_the_shopping_example_has_the_books_numbers():
    _, price = shopping()
    steps = tg.trace_backward(price)
    svg = ET.fromstring(tg.draw_graph(steps, style="book").pipe(format="svg"))
    labels = edge_labels(svg)
    assert {k: (v[0], v[1]) for k, v in labels.items()} == {k: ([a], [b]) for k, (a, b) in BOOK.items()}
    ops = [g for g in svg.iter(SVG + "g") if (g.get("class") or "").startswith("node op")]
    assert [t.text for g in ops for t in g.iter(SVG + "text")] == ["×", "×"]


@needs_dot
def test_book_style_from_a_live_graph_uses_grad_and_retained_grads():
    t, price = shopping()
    for v in (shopping.apple_price, price):
        v.retain_grad()
    price.backward(retain_graph=True)
    labels = edge_labels(ET.fromstring(tg.draw_graph(price, style="book").pipe(format="svg")))
    assert {k: (v[0], v[1]) for k, v in labels.items()} == {k: ([a], [b]) for k, (a, b) in BOOK.items()}
    # before backward there are values but no gradients (no red text at all)
    _, fresh = shopping()
    labels = edge_labels(ET.fromstring(tg.draw_graph(fresh, style="book").pipe(format="svg")))
    assert all(red == [] for _, red in labels.values()) and labels["price"][0] == ["220"]


@needs_dot
def test_book_style_draws_a_fork_for_a_reused_tensor_and_big_tensors_as_shape_and_norm(tmp_path):
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    steps = tg.trace_backward((x * x).sum())
    path = tg.save_graph(steps, tmp_path / "fork.svg", style="book")
    svg = ET.fromstring(path.read_bytes())
    branch = [g for g in svg.iter(SVG + "g") if g.get("class") == "node branch"]
    assert len(branch) == 1  # x forks into both inputs of the Mul
    texts = [t.text for t in svg.iter(SVG + "text")]
    assert f"(2, 3) norm {format_number(np.sqrt(55.0))}" in texts  # x's value
    assert f"(2, 3) norm {format_number(2 * np.sqrt(55.0))}" in texts  # its gradient 2x, on the trunk
    with pytest.raises(ValueError, match="more than max_nodes=1"):
        tg.draw_graph(steps, style="book", max_nodes=1)


# ---- the step-through page ---------------------------------------------------------------------


@needs_dot
def test_page_is_one_self_contained_file(tmp_path):
    t, price = shopping(full=True)
    path = tg.save_backward_steps(price, tmp_path / "backprop.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 1
    # nothing to fetch: the only URLs are the SVG namespace names
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<script src" not in page and "<link" not in page
    assert not any(f"{{{{{field}}}}}" in page for field in ("TITLE", "SVG", "DATA"))
    assert t["apple"].grad.item() == pytest.approx(2.2)  # it ran backward
    steps = tg.trace_backward(shopping(full=True)[1])
    frame = steps._repr_html_()
    assert (
        frame.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in frame and "steps-data" in frame
    )
    assert isinstance(steps, BackwardSteps) and "Step 1: Mul" in repr(steps)


class DomReader(html.parser.HTMLParser):
    """From Chromium's --dump-dom: each SVG group's id and class, and the red texts of edges."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.groups: dict[str, dict] = {}
        self.body: dict = {}
        self._text: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "g":
            g = {"id": a.get("id"), "class": a.get("class", ""), "red": []}
            self.stack.append(g)
            if g["id"]:
                self.groups[g["id"]] = g
        if tag == "text" and a.get("fill") == BOOK_GRAD_COLOR:
            self._text = {"text": ""}
            edge = next((g for g in reversed(self.stack) if "edge" in g["class"]), None)
            if edge is not None:
                edge["red"].append(self._text)

    def handle_endtag(self, tag):
        if tag == "g" and self.stack:
            self.stack.pop()
        if tag == "text":
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text["text"] += data


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def dump_dom(path, step: int, tmp_path) -> DomReader:
    browser = chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        f"{path.resolve().as_uri()}#step={step}",
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "LANG": "C.UTF-8"}
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    reader = DomReader()
    reader.feed(proc.stdout)
    return reader


@needs_dot
def test_page_in_a_real_browser_at_the_first_and_the_last_step(tmp_path):
    t, price = shopping(full=True)
    path = tg.trace_backward(price).save_html(tmp_path / "backprop.html")
    steps = tg.trace_backward(shopping(full=True)[1])  # the same graph again, for the expectations
    n = len(steps)
    assert n == 4
    for k in (1, n):
        dom = dump_dom(path, k, tmp_path)
        assert dom.body.get("data-step") == str(k)  # the script ran and picked the step from the URL
        classes = {gid: g["class"].split() for gid, g in dom.groups.items()}
        current = [gid for gid, c in classes.items() if "op" in c and "current" in c]
        assert current == [steps[k - 1].node_id]
        done = {gid for gid, c in classes.items() if "done" in c}
        assert done == {s.node_id for s in steps[: k - 1]}
        shown = {gid: "".join(x["text"] for x in g["red"]) for gid, g in dom.groups.items() if g["red"]}
        expected = steps.grads_at(k)
        assert {e: text for e, text in shown.items() if text} == expected
    # at the last step every leaf's final .grad is on its edge
    for name, leaf in t.items():
        eid = steps.graph.find([x for x in steps.leaves if x.name == name][0]).eid
        assert shown[eid] == format_value(leaf.grad.data)
    assert shown[steps.graph.find(steps[0].node).eid] == "1"  # d price / d price


@needs_dot
def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def shopping" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Step 2: Mul  gy = 1.1  ->  gx0 = 2.2, gx1 = 110",
        "['Mul: gx0 = gy * x1 = 1.1 * 2 = 2.2', 'Mul: gx1 = gy * x0 = 1.1 * 100 = 110']",
    ]
    svg = ET.fromstring((tmp_path / "book.svg").read_bytes())
    edges = [g for g in svg.iter(SVG + "g") if g.get("class") == "edge tensor"]
    pairs = sorted(tuple(t.text for t in g.iter(SVG + "text")) for g in edges)  # (value, gradient)
    assert pairs == sorted(BOOK.values())
    assert "steps-data" in (tmp_path / "backprop.html").read_text(encoding="utf-8")
