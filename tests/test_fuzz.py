"""Random-program gradient fuzzing.

Hypothesis builds small random differentiable programs (1-20 steps drawn from an op table,
on 1-3 float64 inputs with broadcast-compatible shapes) and checks:
  * engine gradients == central differences, for every input;
  * with create_graph, the derivative of <grad f, v> (the Hessian times a random direction v)
    == the central difference of the engine's first gradient along v
(both through tinygrad_kr.testing.assert_gradients, the check users run on their own ops).
A failing program is shrunk by hypothesis and printed as readable code (Program.__repr__).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_kr as tg
from tinygrad_kr.testing import GradientCheckFailure, assert_gradients

# name -> (arity, code template, function). Kinks and domains are shifted away from where
# random values land: log/sqrt see x*x + c, relu/abs see x + offset.
UNARY = {
    "tanh": ("{0}.tanh()", lambda x: x.tanh()),
    "sigmoid": ("{0}.sigmoid()", lambda x: x.sigmoid()),
    "exp": ("{0}.tanh().exp()", lambda x: x.tanh().exp()),
    "log": ("({0} * {0} + 1).log()", lambda x: (x * x + 1).log()),
    "sqrt": ("({0} * {0} + 0.5).sqrt()", lambda x: (x * x + 0.5).sqrt()),
    "sin": ("{0}.sin()", lambda x: x.sin()),
    "cos": ("{0}.cos()", lambda x: x.cos()),
    "relu": ("({0} + 0.3).relu()", lambda x: (x + 0.3).relu()),
    "abs": ("({0} + 0.37).abs()", lambda x: (x + 0.37).abs()),
    "neg": ("-{0}", lambda x: -x),
    "square": ("{0} * {0}", lambda x: x * x),
    "elu": ("({0} - 0.2).elu()", lambda x: (x - 0.2).elu()),
    "flip": ("{0}[..., ::-1]", lambda x: x[..., ::-1] if x.ndim else x),
    "T": ("{0}.T", lambda x: x.T),
    "flatten": ("{0}.flatten()", lambda x: x.flatten()),
    "pad": ("{0}.pad(1)", lambda x: x.pad([(1, 1)] * x.ndim) if x.ndim else x),
}
AXIS_OPS = {
    "sum": lambda x, a, k: x.sum(a, k),
    "mean": lambda x, a, k: x.mean(a, k),
    "max": lambda x, a, k: x.max(a, k),
    "logsumexp": lambda x, a, k: x.logsumexp(a, k),
    "var": lambda x, a, k: x.var(a, k),
    "softmax": lambda x, a, k: x.softmax(a),
    "log_softmax": lambda x, a, k: x.log_softmax(a),
}
BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / (b * b + 1),
    "maximum": lambda a, b: a.maximum(b),
    "where": lambda a, b: tg.where(a > b, a, b * 0.5),
}
BINARY_CODE = {
    "+": "{0} + {1}",
    "-": "{0} - {1}",
    "*": "{0} * {1}",
    "/": "{0} / ({1} * {1} + 1)",
    "maximum": "{0}.maximum({1})",
    "where": "tg.where({0} > {1}, {0}, {1} * 0.5)",
}


@dataclass
class Step:
    kind: str  # unary | axis | binary | matmul | index
    op: str
    args: tuple
    axis: object = None
    keepdims: bool = False
    index: object = None

    def code(self, out: int) -> str:
        names = [f"v{a}" for a in self.args]
        if self.kind == "unary":
            expr = UNARY[self.op][0].format(*names)
        elif self.kind == "axis":
            expr = f"{names[0]}.{self.op}(axis={self.axis!r}, keepdims={self.keepdims})"
        elif self.kind == "binary":
            expr = BINARY_CODE[self.op].format(*names)
        elif self.kind == "matmul":
            expr = f"{names[0]} @ {names[1]}"
        else:
            expr = f"{names[0]}[{self.index!r}]"
        return f"v{out} = {expr}"


@dataclass
class Program:
    shapes: list
    steps: list
    seed: int

    def __repr__(self) -> str:
        lines = ["# inputs: " + ", ".join(f"v{i}: {s}" for i, s in enumerate(self.shapes))]
        n = len(self.shapes)
        lines += [s.code(n + i) for i, s in enumerate(self.steps)]
        lines.append(f"out = v{n + len(self.steps) - 1 if self.steps else n - 1}")
        return "\n".join(lines)

    def run(self, *xs):
        vals = list(xs)
        for s in self.steps:
            a = vals[s.args[0]]
            if s.kind == "unary":
                v = UNARY[s.op][1](a)
            elif s.kind == "axis":
                v = AXIS_OPS[s.op](a, s.axis, s.keepdims)
            elif s.kind == "binary":
                v = BINARY[s.op](a, vals[s.args[1]])
            elif s.kind == "matmul":
                v = a @ vals[s.args[1]]
            else:
                v = a[s.index] * 1.0
            vals.append(v)
        return vals[-1]


def _broadcastable(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


@st.composite
def programs(draw):
    base = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    n_in = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n_in):
        keep = draw(st.integers(0, len(base)))
        shapes.append(tuple(1 if draw(st.booleans()) else n for n in base[len(base) - keep :]))
    pool = list(shapes)
    steps = []
    for _ in range(draw(st.integers(1, 20))):
        # mostly extend the latest value, so that most steps reach the output
        i = len(pool) - 1 if draw(st.integers(0, 3)) else draw(st.integers(0, len(pool) - 1))
        shape = pool[i]
        kind = draw(st.sampled_from(["unary", "unary", "axis", "binary", "binary", "matmul", "index"]))
        if kind == "axis" and not shape:
            kind = "unary"
        if kind == "matmul" and len(shape) < 1:
            kind = "unary"
        if kind == "index" and not shape:
            kind = "unary"
        if kind == "unary":
            op = draw(st.sampled_from(sorted(UNARY)))
            step = Step("unary", op, (i,))
            out = _unary_shape(op, shape)
        elif kind == "axis":
            op = draw(st.sampled_from(sorted(AXIS_OPS)))
            nd = len(shape)
            if op in ("softmax", "log_softmax"):
                axis, keep = draw(st.integers(-nd, nd - 1)), True
            else:
                axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
                keep = draw(st.booleans())
            step = Step("axis", op, (i,), axis, keep)
            out = _axis_shape(op, shape, axis, keep)
        elif kind == "binary":
            partners = [j for j, s in enumerate(pool) if _broadcastable(shape, s)]
            j = draw(st.sampled_from(partners))
            op = draw(st.sampled_from(sorted(BINARY)))
            step = Step("binary", op, (i, j))
            out = np.broadcast_shapes(shape, pool[j])
        elif kind == "matmul":
            k = shape[-1]
            partners = [
                j
                for j, s in enumerate(pool)
                if len(s) >= 1
                and (s[0] if len(s) == 1 else s[-2]) == k
                and (len(s) < 3 or len(shape) < 3 or _broadcastable(shape[:-2], s[:-2]))
            ]
            if not partners:
                step = Step("unary", "square", (i,))
                out = shape
            else:
                j = draw(st.sampled_from(partners))
                step = Step("matmul", "@", (i, j))
                out = np.matmul(np.zeros(shape), np.zeros(pool[j])).shape
        else:
            n = shape[0]
            index = draw(
                st.one_of(
                    st.integers(-n, n - 1),
                    st.builds(slice, st.integers(0, n - 1), st.none(), st.integers(1, 2)),
                    st.lists(st.integers(0, n - 1), min_size=1, max_size=4).map(np.array),
                )
            )
            step = Step("index", "[]", (i,), index=index)
            out = np.zeros(shape)[index].shape
        steps.append(step)
        pool.append(tuple(out))
    return Program(shapes, steps, draw(st.integers(0, 2**31)))


def _unary_shape(op, shape):
    if op == "T":
        return shape[::-1]
    if op == "flatten":
        return (int(np.prod(shape)),)
    if op == "pad":
        return tuple(n + 2 for n in shape)
    return shape


def _axis_shape(op, shape, axis, keep):
    if op in ("softmax", "log_softmax"):
        return shape
    return np.sum(np.zeros(shape), axis=axis, keepdims=keep).shape


def _inputs(prog: Program) -> list[np.ndarray]:
    # generic values from the program's seed (not hypothesis-drawn arrays): the random programs
    # compare values (maximum, where, max), and simple drawn values would tie at their kinks
    rng = np.random.default_rng(prog.seed)
    return [rng.uniform(-1.5, 1.5, s) for s in prog.shapes]


@settings(max_examples=150)
@given(prog=programs())
def test_random_program_gradients(prog):
    try:
        assert_gradients(prog.run, *_inputs(prog), atol=1e-6, rtol=1e-4)
    except GradientCheckFailure as e:
        raise AssertionError(f"{e}\n{prog!r}") from None


@settings(max_examples=60)
@given(prog=programs())
def test_random_program_second_derivative_along_direction(prog):
    try:
        assert_gradients(prog.run, *_inputs(prog), second_order=True, atol=1e-5, rtol=1e-4, seed=prog.seed)
    except GradientCheckFailure as e:
        raise AssertionError(f"{e}\n{prog!r}") from None
