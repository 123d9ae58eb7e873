"""Graph rendering: tg.draw_graph / tg.save_graph (tinygrad_kr/viz.py).

The graphs are rendered by the real Graphviz `dot` and the SVG is parsed: one node per op and
per tensor, counted against an independent walk of the recorded graph (grad_fn / inputs),
op class names, module clusters ("fc1: Linear") and their nesting, parameter qualified names,
gradient norms computed here with numpy, small values, the backward graph recorded by
create_graph, the image formats' magic bytes, errors, determinism, a missing `dot`, and the
truncation of a 10,001-node chain with its marker.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import tinygrad_kr as tg
from nn import functional as F
from tinygrad_kr import Tensor, viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")

SVG = "{http://www.w3.org/2000/svg}"


# ---- an independent census of the recorded graph ----------------------------------------------


def census(*roots: Tensor) -> dict:
    """What the drawing must hold, found by walking grad_fn / inputs directly."""
    ops: list = []
    seen: set = set()
    leaves: dict = {id(t): t for t in roots if t.grad_fn is None}
    consts = 0
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        ops.append(f)
        for x in f.inputs:
            if x.grad_fn is not None:
                stack.append(x.grad_fn)
            elif x.data.ndim == 0 and not x.requires_grad and not x.name:
                consts += 1  # a scalar constant is drawn once per use
            else:
                leaves[id(x)] = x
    return {
        "ops": Counter(type(f).__name__ for f in ops),
        "n_ops": len(ops),
        "objs": set(ops),
        "nodes": 2 * len(ops) + len(leaves) + consts,  # op + its output tensor, leaves, constants
        "edges": sum(1 + len(f.inputs) for f in ops),  # op -> output, one per input use
    }


# ---- parsing the output -----------------------------------------------------------------------


def render(*outputs: Tensor, **options) -> ET.Element:
    return ET.fromstring(tg.draw_graph(*outputs, **options).pipe(format="svg"))


def svg_groups(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in svg.iter(SVG + "g") if g.get("class") == cls]


def texts(g: ET.Element) -> list[str]:
    return [t.text for t in g.iter(SVG + "text")]


def title(g: ET.Element) -> str:
    return g.find(SVG + "title").text


def svg_nodes(svg: ET.Element) -> dict[str, list[str]]:
    """node id -> its text lines."""
    return {title(g): texts(g) for g in svg_groups(svg, "node")}


_STMT = re.compile(r"^(\w+) \[(.*)\]$")
_EDGE = re.compile(r"^(\w+) -> (\w+)(?: \[.*\])?$")
_LABEL = re.compile(r'label=("(?:[^"\\]|\\.)*"|[^ \]]+)')


def _label_lines(attrs: str) -> list[str]:
    text = _LABEL.search(attrs).group(1)
    if text.startswith('"'):
        text = text[1:-1].replace('\\"', '"')
    return text.split("\\n")


def parse_source(source: str) -> dict:
    """Nodes (id -> (label lines, attributes, path of enclosing cluster labels)), edges, clusters."""
    nodes: dict = {}
    edges: list = []
    clusters: list = []
    stack: list = []  # enclosing cluster labels ("" until the cluster's graph [...] line)
    for line in source.splitlines()[1:]:
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            stack.append("")
        elif line == "}":
            if stack:
                stack.pop()
        elif line.startswith("graph ["):
            if stack:
                stack[-1] = "\n".join(_label_lines(line))
                clusters.append(tuple(stack))
        elif _EDGE.match(line):
            edges.append(_EDGE.match(line).groups())
        elif _STMT.match(line) and not line.startswith(("node [", "edge [")):
            nid, attrs = _STMT.match(line).groups()
            nodes[nid] = (_label_lines(attrs), attrs, tuple(stack))
    return {"nodes": nodes, "edges": edges, "clusters": clusters}


def op_names(nodes: dict) -> Counter:
    return Counter(lines[0] for nid, (lines, _, _) in nodes.items() if nid.startswith("op"))


# ---- models -----------------------------------------------------------------------------------


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(F.relu(self.conv1(x)))))


def mlp_loss(seed: int = 0):
    tg.manual_seed(seed)
    model = MLP()
    x = tg.randn(5, 4)
    y = Tensor(np.array([0, 1, 2, 0, 1]))
    return model, F.cross_entropy(model(x), y)


# ---- structure: one node per op and per tensor ------------------------------------------------


@needs_dot
def test_mlp_svg_has_one_node_per_op_and_tensor():
    model, loss = mlp_loss()
    svg = render(loss)
    want = census(loss)
    nodes = svg_nodes(svg)
    assert len(nodes) == want["nodes"]
    assert len(svg_groups(svg, "edge")) == want["edges"]
    assert op_names({k: (v, "", ()) for k, v in nodes.items()}) == want["ops"]
    assert want["ops"]["Linear"] == 2 and want["ops"]["ReLU"] == 1  # the graph really is an MLP
    # every op node has exactly one outgoing edge, to its own output tensor
    edge_titles = [title(g).replace("&#45;&gt;", "->") for g in svg_groups(svg, "edge")]
    from_ops = Counter(e.split("->")[0] for e in edge_titles if e.startswith("op"))
    assert set(from_ops.values()) == {1} and len(from_ops) == want["n_ops"]
    assert all(f"{a}->t{a[2:]}" in edge_titles for a in from_ops)


@needs_dot
def test_mlp_clusters_and_parameter_qualnames():
    model, loss = mlp_loss()
    svg = render(loss)
    cluster_labels = {" ".join(texts(g)) for g in svg_groups(svg, "cluster")}
    assert {"MLP", "fc1: Linear", "act: ReLU", "fc2: Linear"} <= cluster_labels
    labels = [lines for lines in svg_nodes(svg).values()]
    for name, p in model.named_parameters():
        [lines] = [lines for lines in labels if lines[0] == name]
        assert lines[1] == f"{tuple(p.shape)} float32"
    # nesting, from the source: Linear op of fc1 inside "fc1: Linear" inside "MLP"; loss outside
    src = parse_source(tg.draw_graph(loss).source)
    paths = {lines[0]: path for lines, _, path in src["nodes"].values() if "." in lines[0]}
    assert paths["fc1.weight"] == ("MLP", "fc1: Linear")
    assert paths["fc2.bias"] == ("MLP", "fc2: Linear")
    by_op = {(lines[0], path) for nid, (lines, _, path) in src["nodes"].items() if nid.startswith("op")}
    assert by_op == {
        ("SoftmaxCrossEntropy", ()),
        ("Linear", ("MLP", "fc1: Linear")),
        ("ReLU", ("MLP", "act: ReLU")),
        ("Linear", ("MLP", "fc2: Linear")),
    }


def test_nested_modules_nest_clusters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.block(x))

    net = Net()
    out = net(tg.randn(2, 3)).sum()
    src = parse_source(tg.draw_graph(out).source)
    assert ("Net", "block: Sequential", "block.0: Linear") in src["clusters"]
    assert ("Net", "block: Sequential", "block.1: Tanh") in src["clusters"]
    paths = {lines[0]: path for lines, _, path in src["nodes"].values()}
    assert paths["block.0.weight"] == ("Net", "block: Sequential", "block.0: Linear")
    assert paths["head.weight"] == ("Net", "head: Linear")
    assert paths["Sum"] == ()


def test_group_modules_false_draws_no_clusters_but_keeps_names():
    model, loss = mlp_loss()
    src = parse_source(tg.draw_graph(loss, group_modules=False).source)
    assert src["clusters"] == []
    assert all(path == () for _, _, path in src["nodes"].values())
    names = {lines[0] for lines, _, _ in src["nodes"].values()}
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} <= names


@needs_dot
def test_cnn_draws_conv_and_pool_ops_in_their_clusters():
    tg.manual_seed(1)
    model = CNN()
    loss = F.cross_entropy(model(tg.randn(2, 1, 8, 8)), Tensor(np.array([0, 2])))
    svg = render(loss)
    want = census(loss)
    nodes = svg_nodes(svg)
    assert len(nodes) == want["nodes"]
    assert len(svg_groups(svg, "edge")) == want["edges"]
    assert {" ".join(texts(g)) for g in svg_groups(svg, "cluster")} >= {
        "CNN",
        "conv1: Conv2d",
        "pool: MaxPool2d",
        "flatten: Flatten",
        "fc: Linear",
    }
    src = parse_source(tg.draw_graph(loss).source)
    assert op_names(src["nodes"]) == want["ops"]
    by_op = {lines[0]: path for nid, (lines, _, path) in src["nodes"].items() if nid.startswith("op")}
    assert by_op["Conv2d"] == ("CNN", "conv1: Conv2d")
    assert by_op["MaxPool2d"] == ("CNN", "pool: MaxPool2d")
    assert by_op["SoftmaxCrossEntropy"] == ()
    names = {lines[0] for lines, _, _ in src["nodes"].values()}
    assert {"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"} <= names


# ---- labels -----------------------------------------------------------------------------------


def _node_with(src: dict, first: str) -> list[str]:
    [lines] = [lines for lines, _, _ in src["nodes"].values() if lines[0] == first]
    return lines


def test_show_grads_shows_the_norm_of_the_gradient():
    # d/dw sum(w * x) = x, so the norm is known without the engine
    x = Tensor(np.array([3.0, -4.0, 12.0], dtype=np.float32), name="x")
    w = Tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="w")
    h = w * x
    h.name = "h"
    h.retain_grad()
    y = h.sum()
    y.backward(retain_graph=True)
    src = parse_source(tg.draw_graph(y, show_grads=True).source)
    assert _node_with(src, "w")[-1] == "grad norm 13"
    assert _node_with(src, "h")[-1] == f"grad norm {np.sqrt(3.0):.4g}"  # dy/dh = ones(3)
    assert not any(s.startswith("grad") for s in _node_with(src, "x"))  # x has no gradient
    assert "grad norm" not in tg.draw_graph(y).source


def test_show_grads_on_the_mlp_matches_numpy_norms():
    model, loss = mlp_loss()
    loss.backward(retain_graph=True)
    src = parse_source(tg.draw_graph(loss, show_grads=True).source)
    for name, p in model.named_parameters():
        norm = np.sqrt(np.sum(p.grad.data.astype(np.float64) ** 2))
        assert _node_with(src, name)[-1] == f"grad norm {norm:.4g}"


def test_show_values_for_small_tensors_only():
    a = Tensor(np.array([1.5, -2.25], dtype=np.float32), requires_grad=True, name="a")
    big = Tensor(np.arange(17, dtype=np.float32), requires_grad=True, name="big")
    y = (a * 0.5).sum() + (big * big).sum()
    src = parse_source(tg.draw_graph(y, show_values=True).source)
    assert _node_with(src, "a") == ["a", "(2,) float32", "[ 1.5 , -2.25]"]
    assert _node_with(src, "big") == ["big", "(17,) float32"]  # too many values to print
    assert _node_with(src, "0.5") == ["0.5"]  # the constant, printed in its own dtype
    out = [lines for nid, (lines, _, _) in src["nodes"].items() if nid == "t0"][0]
    assert float(out[-1]) == pytest.approx(float(y.item()), rel=1e-4)
    plain = parse_source(tg.draw_graph(y).source)
    assert _node_with(plain, "a") == ["a", "(2,) float32"]


def test_show_shapes_false_hides_shapes_and_dtypes():
    model, loss = mlp_loss()
    source = tg.draw_graph(loss, show_shapes=False).source
    assert "float32" not in source and "(5, 4)" not in source
    assert "fc1.weight" in source


@needs_dot
def test_special_characters_in_names_survive_rendering():
    name = 'a"b<c>&d\\e'
    w = Tensor(np.ones(2), requires_grad=True, name=name)
    svg = render((w * w).sum())
    assert [name, "(2,) float64"] in svg_nodes(svg).values()


def test_scalar_constants_one_node_per_use_and_repeated_inputs_two_edges():
    x = Tensor(np.ones(3), requires_grad=True, name="x")
    y = (x + x) * 2.0 * 2.0
    src = parse_source(tg.draw_graph(y).source)
    want = census(y)
    assert len(src["nodes"]) == want["nodes"] and len(src["edges"]) == want["edges"]
    consts = [nid for nid, (lines, _, _) in src["nodes"].items() if lines == ["2"]]
    assert len(consts) == 2  # one per use, so the layout doesn't tie distant ops together
    [add] = [nid for nid, (lines, _, _) in src["nodes"].items() if lines == ["Add"]]
    x_id = [nid for nid, (lines, _, _) in src["nodes"].items() if lines[0] == "x"][0]
    assert src["edges"].count((x_id, add)) == 2  # x + x: both uses drawn


# ---- the backward graph (create_graph) --------------------------------------------------------


def _tanh_graph():
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, name="w")
    x = Tensor(np.array([1.0, 2.0, 3.0]), name="x")
    return w, x, (w * x).tanh().sum()


@needs_dot
@pytest.mark.parametrize("how", ["backward", "tg.grad"])
def test_create_graph_backward_graph_can_be_drawn(how):
    w, x, y = _tanh_graph()
    forward = census(y)["objs"]
    if how == "backward":
        y.backward(create_graph=True)
        g = w.grad
    else:
        (g,) = tg.grad(y, w, create_graph=True)
    assert g.grad_fn is not None
    want = census(g)
    svg = render(g)
    nodes = svg_nodes(svg)
    assert len(nodes) == want["nodes"]
    assert len(svg_groups(svg, "edge")) == want["edges"]
    drawn = op_names({k: (v, "", ()) for k, v in nodes.items()})
    assert drawn == want["ops"]
    # ops recorded by the backward pass, and the forward's Tanh (its output enters the
    # derivative) with the Mul before it; the final Sum is not part of the derivative
    assert len(want["objs"] - forward) >= 2
    assert sorted(type(f).__name__ for f in want["objs"] & forward) == ["Mul", "Tanh"]
    assert any(lines[0] == "w" for lines in nodes.values())
    # the drawn derivative is the one the engine computed: 1 - tanh^2 times x
    np.testing.assert_allclose(g.data, (1 - np.tanh(w.data * x.data) ** 2) * x.data)
    # second order through the drawn graph still works (drawing changed nothing)
    (h,) = tg.grad(g.sum(), w)
    t = np.tanh(w.data * x.data)
    np.testing.assert_allclose(h.data, -2 * t * (1 - t**2) * x.data**2)


def test_drawing_after_backward_without_retain_graph_raises():
    model, loss = mlp_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"freed by backward\(\).*retain_graph=True"):
        tg.draw_graph(loss)
    _, loss2 = mlp_loss()
    loss2.backward(retain_graph=True)
    tg.draw_graph(loss2)  # retained: drawable


# ---- save_graph: formats and errors -----------------------------------------------------------


@needs_dot
def test_save_graph_formats(tmp_path):
    _, loss = mlp_loss()
    source = tg.draw_graph(loss, show_grads=True).source
    for ext in (".dot", ".gv"):
        path = tg.save_graph(loss, tmp_path / f"g{ext}", show_grads=True)
        assert path == tmp_path / f"g{ext}"
        assert path.read_text(encoding="utf-8") == source
    assert tg.save_graph([loss], str(tmp_path / "g.png")).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "g.PDF").exists() is False
    assert tg.save_graph(loss, tmp_path / "g.PDF").read_bytes().startswith(b"%PDF-")
    svg = ET.parse(tg.save_graph(loss, tmp_path / "g.svg")).getroot()
    assert svg.tag == SVG + "svg"
    assert len(svg_groups(svg, "node")) == census(loss)["nodes"]


def test_save_graph_bad_extension(tmp_path):
    _, loss = mlp_loss()
    for bad in ("g.jpg", "g", "g.svg.txt"):
        with pytest.raises(
            ValueError, match=r"save_graph: unknown file extension.*\.svg, \.png, \.pdf, \.dot"
        ):
            tg.save_graph(loss, tmp_path / bad)
        assert not (tmp_path / bad).exists()


def test_bad_arguments():
    _, loss = mlp_loss()
    with pytest.raises(ValueError, match=r"rankdir must be one of \('LR', 'RL', 'TB', 'BT'\), got 'XY'"):
        tg.draw_graph(loss, rankdir="XY")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_nodes must be a positive integer"):
            tg.draw_graph(loss, max_nodes=bad)
    with pytest.raises(TypeError, match="output 1 is a ndarray, not a Tensor"):
        tg.draw_graph(loss, np.ones(2))
    with pytest.raises(ValueError, match="at least one Tensor"):
        tg.draw_graph()
    assert "rankdir=TB" in tg.draw_graph(loss, rankdir="TB").source


def test_missing_dot_explains_how_to_install_and_dot_source_still_works(tmp_path, monkeypatch):
    _, loss = mlp_loss()
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no `dot` anywhere: graphviz's subprocess fails
    assert shutil.which("dot") is None
    with pytest.raises(viz.GraphvizNotFoundError) as err:
        tg.save_graph(loss, tmp_path / "g.svg")
    msg = str(err.value)
    for cmd in ("apt-get install graphviz", "brew install graphviz", "conda install -c conda-forge graphviz"):
        assert cmd in msg
    assert ".dot" in msg and "g.svg" in msg
    assert isinstance(err.value, RuntimeError)
    assert not (tmp_path / "g.svg").exists()
    dot = tg.save_graph(loss, tmp_path / "g.dot")
    assert dot.read_text(encoding="utf-8") == tg.draw_graph(loss).source


# ---- determinism and several outputs ----------------------------------------------------------


def test_same_graph_gives_identical_source():
    model_a, loss_a = mlp_loss(seed=3)
    model_b, loss_b = mlp_loss(seed=3)  # another model, other memory addresses, same graph
    a = tg.draw_graph(loss_a, show_values=True).source
    assert a == tg.draw_graph(loss_a, show_values=True).source
    assert a == tg.draw_graph(loss_b, show_values=True).source
    assert not re.search(r"0x[0-9a-f]{6,}", a)
    ids = list(parse_source(a)["nodes"])
    assert [i for i in ids if i.startswith("op")] == [f"op{k}" for k in range(census(loss_a)["n_ops"])]


def test_several_outputs_share_their_common_part():
    w = Tensor(np.ones(3), requires_grad=True, name="w")
    h = w.tanh()
    a, b = (h * 2.0).sum(), h.exp().sum()
    src = tg.draw_graph(a, b).source
    assert src == tg.draw_graph([a, b]).source
    parsed = parse_source(src)
    want = census(a, b)
    assert len(parsed["nodes"]) == want["nodes"] and op_names(parsed["nodes"]) == want["ops"]
    assert want["ops"]["Tanh"] == 1
    outputs = [nid for nid, (_, attrs, _) in parsed["nodes"].items() if "#ffec99" in attrs]
    assert len(outputs) == 2  # both outputs highlighted


def test_leaf_output_is_drawn_alone():
    w = Tensor(np.ones(2), requires_grad=True, name="w")
    src = parse_source(tg.draw_graph(w).source)
    assert [lines for lines, _, _ in src["nodes"].values()] == [["w", "(2,) float64"]]


# ---- large graphs: max_nodes ------------------------------------------------------------------


def _chain(n: int) -> Tensor:
    y = Tensor(np.full(3, 0.5), requires_grad=True, name="x")
    for _ in range(n):
        y = y.tanh()
    return y


def test_long_chain_is_truncated_with_a_marker():
    y = _chain(5000)  # 5,000 ops: 10,001 nodes
    total = census(y)["nodes"]
    assert total == 10_001
    g = tg.draw_graph(y)  # default max_nodes
    default = viz.draw_graph.__kwdefaults__["max_nodes"]
    src = parse_source(g.source)
    nodes = src["nodes"]
    assert len(nodes) <= default
    drawn = len(nodes) - 1  # without the marker
    assert drawn >= default - 3  # whole ops (2 nodes each) fill the budget
    marker = nodes["more"][0][0]
    assert marker == f"... {total - drawn:,} more nodes not drawn (max_nodes={default}: raise it to see them)"
    # the part nearest to the output is drawn; the marker points to where the chain was cut
    assert "op0" in nodes and "t0" in nodes
    last = max(int(n[2:]) for n in nodes if n.startswith("op"))
    assert [e for e in src["edges"] if e[0] == "more"] == [("more", f"op{last}")]
    assert "in0" not in nodes  # the leaf x is at the far end
    # with a larger budget everything is drawn, no marker
    full = parse_source(tg.draw_graph(y, max_nodes=20_000).source)
    assert len(full["nodes"]) == total and "more" not in full["nodes"]


def test_every_budget_is_respected():
    model, loss = mlp_loss()
    total = census(loss)["nodes"]
    previous = 0
    for max_nodes in range(1, total + 3):
        nodes = parse_source(tg.draw_graph(loss, max_nodes=max_nodes).source)["nodes"]
        assert len(nodes) <= max_nodes
        assert ("more" in nodes) == (total > max_nodes)
        if "more" in nodes:
            assert nodes["more"][0][0].startswith(f"... {total - len(nodes) + 1:,} more nodes")
        drawn = len(nodes) - ("more" in nodes)
        assert drawn >= previous  # a larger budget never draws less
        previous = drawn
    assert previous == total


@needs_dot
def test_truncated_chain_renders_with_dot():
    y = _chain(5000)
    svg = render(y, max_nodes=300)
    nodes = svg_nodes(svg)
    assert len(nodes) == 299  # 149 ops with their tensors, and the marker
    assert nodes["more"] == [
        f"... {10_001 - 298:,} more nodes not drawn (max_nodes=300: raise it to see them)"
    ]


def _random_op(kind: str, a: Tensor, b: Tensor) -> Tensor:
    if kind == "add":
        return a + b
    if kind == "mul":
        return a * b
    if kind == "tanh":
        return a.tanh()
    if kind == "scale":
        return a * 0.5
    return (a * 0.1).exp()


@given(
    program=st.lists(
        st.tuples(
            st.sampled_from(["add", "mul", "tanh", "scale", "exp"]), st.integers(0, 99), st.integers(0, 99)
        ),
        min_size=1,
        max_size=25,
    ),
    max_nodes=st.integers(1, 80),
)
def test_random_graphs_node_counts_and_budget(program, max_nodes):
    pool = [
        Tensor(np.array([0.1, -0.2]), requires_grad=True, name="w"),
        Tensor(np.array([0.3, 0.4])),
        Tensor(np.array(0.7), requires_grad=True),
    ]
    for kind, i, j in program:
        pool.append(_random_op(kind, pool[i % len(pool)], pool[j % len(pool)]))
    root = pool[-1]
    want = census(root)
    full = parse_source(tg.draw_graph(root, max_nodes=10_000).source)
    assert len(full["nodes"]) == want["nodes"]
    assert len(full["edges"]) == want["edges"]
    assert op_names(full["nodes"]) == want["ops"]
    assert all(a in full["nodes"] and b in full["nodes"] for a, b in full["edges"])
    cut = parse_source(tg.draw_graph(root, max_nodes=max_nodes).source)
    n = len(cut["nodes"])
    if want["nodes"] <= max_nodes:
        assert cut == full
    else:
        assert n <= max_nodes
        marker = cut["nodes"]["more"][0][0]
        assert marker.startswith(f"... {want['nodes'] - (n - 1):,} more nodes not drawn")
        assert all(a in cut["nodes"] and b in cut["nodes"] for a, b in cut["edges"])
        # drawn ops are a prefix of the full drawing's ops, with the same labels
        ops = [k for k in cut["nodes"] if k.startswith("op")]
        assert ops == [f"op{k}" for k in range(len(ops))]
        assert all(cut["nodes"][k][0] == full["nodes"][k][0] for k in ops)
