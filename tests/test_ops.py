"""Every engine op: forward against numpy, gradient against central differences (float64).

The registry `OPS` drives the property tests. `test_registry_covers_every_op` fails when an op
node exists in tinygrad_kr.ops without a gradient test here or in the file named in
`COVERED_ELSEWHERE`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_kr as tg
import tinygrad_kr.ops
from tinygrad_kr.ops import elementwise as E
from tinygrad_kr.ops import linalg as L
from tinygrad_kr.ops import reduce as R
from tinygrad_kr.ops import shape as S
from tinygrad_kr.testing import arrays, assert_gradients, axes, broadcastable_shapes, shapes


@dataclass
class OpSpec:
    name: str
    covers: tuple  # Function classes this spec exercises
    build: Callable  # draw -> (fn on Tensors, fn on numpy arrays, list of float64 arrays)
    extra: dict = field(default_factory=dict)


OPS: list[OpSpec] = []


def op(name: str, *covers):
    def deco(build):
        OPS.append(OpSpec(name, covers, build))
        return build

    return deco


def unary(name, cls, method, ref, domain="real"):
    @op(name, cls)
    def build(draw):
        return method, ref, [draw(arrays(shapes(), domain))]


unary("neg", E.Neg, lambda x: -x, lambda x: -x)
unary("exp", E.Exp, lambda x: x.exp(), np.exp)
unary("log", E.Log, lambda x: x.log(), np.log, "positive")
unary("sqrt", E.Sqrt, lambda x: x.sqrt(), np.sqrt, "positive")
unary("abs", E.Abs, lambda x: x.abs(), np.abs, "nonzero")
unary("sin", E.Sin, lambda x: x.sin(), np.sin)
unary("cos", E.Cos, lambda x: x.cos(), np.cos)
unary("tanh", E.Tanh, lambda x: x.tanh(), np.tanh)
unary("sigmoid", E.Sigmoid, lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)))
unary("relu", E.ReLU, lambda x: x.relu(), lambda x: np.maximum(x, 0), "nonzero")
unary("square", E.Mul, lambda x: x.square(), np.square)
# Step and Sign are the zero-derivative masks inside recorded ReLU / Abs gradients
unary("step", E.Step, lambda x: E.Step.apply(x) * x, lambda x: np.where(x > 0, x, 0.0), "nonzero")
unary("sign", E.Sign, lambda x: E.Sign.apply(x) * x, np.abs, "nonzero")


@op("leaky_relu", E.LeakyReLU)
def _(draw):
    s = draw(st.floats(0.0, 0.5))
    x = draw(arrays(shapes(), "nonzero"))
    return (lambda t: t.leaky_relu(s)), (lambda a: np.where(a > 0, a, a * s)), [x]


@op("elu", E.ELU)
def _(draw):
    al = draw(st.floats(0.1, 2.0))
    x = draw(arrays(shapes(), "nonzero"))
    return (lambda t: t.elu(al)), (lambda a: np.where(a > 0, a, al * (np.exp(a) - 1))), [x]


@op("clip", E.Clip)
def _(draw):
    lo = draw(st.one_of(st.none(), st.just(-0.55)))
    hi = draw(st.one_of(st.none(), st.just(0.65)))
    x = draw(arrays(shapes()))
    return (lambda t: t.clip(lo, hi)), (lambda a: np.clip(a, lo, hi)), [x]


def on_grid(offset):
    """Map values to the grid k/4 + offset: arrays on grids with different offsets never come
    closer than 1/16, so maximum/minimum never meet their kink at a tie."""
    return lambda x: np.asarray(np.floor(x * 4) / 4 + offset)


def binary(name, cls, method, ref, da="real", db="real", apart=False):
    @op(name, cls)
    def build(draw):
        sa, sb = draw(broadcastable_shapes())
        a, b = draw(arrays(sa, da)), draw(arrays(sb, db))
        if apart:
            a, b = on_grid(1 / 16)(a), on_grid(1 / 8)(b)
        return method, ref, [a, b]


binary("add", E.Add, lambda a, b: a + b, np.add)
binary("sub", E.Sub, lambda a, b: a - b, np.subtract)
binary("mul", E.Mul, lambda a, b: a * b, np.multiply)
binary("div", E.Div, lambda a, b: a / b, np.divide, "real", "nonzero")
binary("pow", E.Pow, lambda a, b: a**b, np.power, "positive", "real")
binary("maximum", E.Maximum, lambda a, b: a.maximum(b), np.maximum, apart=True)
binary("minimum", E.Minimum, lambda a, b: a.minimum(b), np.minimum, apart=True)


@op("scalar_ops", E.Add, E.Sub, E.Mul, E.Div, E.Pow)
def _(draw):
    c = draw(st.floats(0.5, 2.0))
    x = draw(arrays(shapes(), "positive"))
    return (
        lambda t: (2.0 - t) * c + t / c - c / t + t**c + c**t + 1.5 * t,
        lambda a: (2.0 - a) * c + a / c - c / a + a**c + c**a + 1.5 * a,
        [x],
    )


@op("where", E.Where)
def _(draw):
    sa, sb = draw(broadcastable_shapes())
    cond = draw(hnp.arrays(np.bool_, np.broadcast_shapes(sa, sb)))
    return (
        lambda a, b: tg.where(cond, a, b),
        lambda a, b: np.where(cond, a, b),
        [draw(arrays(sa)), draw(arrays(sb))],
    )


@op("matmul", L.MatMul)
def _(draw):
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    kind = draw(st.sampled_from(["2d", "batched", "bcast", "vec_left", "vec_right", "dot"]))
    sa, sb = {
        "2d": ((n, k), (k, m)),
        "batched": (batch + (n, k), batch + (k, m)),
        "bcast": (batch + (n, k), (k, m)),
        "vec_left": ((k,), batch + (k, m)),
        "vec_right": (batch + (n, k), (k,)),
        "dot": ((k,), (k,)),
    }[kind]
    return (lambda a, b: a @ b), np.matmul, [draw(arrays(sa)), draw(arrays(sb))]


def reduction(name, cls, method, ref, domain="real", allow_tuple=True):
    @op(name, cls)
    def build(draw):
        shape = draw(shapes())
        axis = draw(axes(len(shape), allow_tuple=allow_tuple))
        keep = draw(st.booleans())
        x = draw(arrays(shape, domain))
        return (lambda t: method(t, axis, keep)), (lambda a: ref(a, axis, keep)), [x]


reduction("sum", R.Sum, lambda t, ax, k: t.sum(ax, k), lambda a, ax, k: np.sum(a, ax, keepdims=k))
reduction("mean", R.Mean, lambda t, ax, k: t.mean(ax, k), lambda a, ax, k: np.mean(a, ax, keepdims=k))
reduction("max", R.Max, lambda t, ax, k: t.max(ax, k), lambda a, ax, k: np.max(a, ax, keepdims=k), "distinct")
reduction("min", R.Min, lambda t, ax, k: t.min(ax, k), lambda a, ax, k: np.min(a, ax, keepdims=k), "distinct")
reduction(
    "logsumexp",
    R.LogSumExp,
    lambda t, ax, k: t.logsumexp(ax, k),
    lambda a, ax, k: np.log(np.sum(np.exp(a), ax, keepdims=k)),
)


def _moment_args(draw):
    """(shape, axis, keepdims, ddof, n) for var and std: ddof < n, the number of values reduced."""
    shape = draw(shapes(min_dims=1))
    axis = draw(axes(len(shape)))
    keep, ddof = draw(st.booleans()), draw(st.integers(0, 1))
    n = int(np.prod([shape[a] for a in (range(len(shape)) if axis is None else np.atleast_1d(axis))]))
    return shape, axis, keep, (0 if n <= ddof else ddof), n


@op("var", R.Sum, R.Mean)
def _(draw):
    shape, axis, keep, ddof, _ = _moment_args(draw)
    x = draw(arrays(shape))
    return (lambda t: t.var(axis, keep, ddof)), (lambda a: np.var(a, axis, keepdims=keep, ddof=ddof)), [x]


def _np_softmax(a, axis):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@op("softmax", R.Softmax)
def _(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(arrays(shape))
    return (lambda t: t.softmax(axis)), (lambda a: _np_softmax(a, axis)), [x]


@op("log_softmax", R.LogSoftmax)
def _(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(arrays(shape))
    return (lambda t: t.log_softmax(axis)), (lambda a: np.log(_np_softmax(a, axis))), [x]


@op("reshape", S.Reshape)
def _(draw):
    shape = draw(shapes())
    size = int(np.prod(shape, dtype=np.int64))
    new = draw(st.sampled_from([(size,), (1, size), (size, 1), shape[::-1], (-1,)]))
    x = draw(arrays(shape))
    return (lambda t: t.reshape(new)), (lambda a: a.reshape(new)), [x]


@op("transpose", S.Transpose)
def _(draw):
    shape = draw(shapes())
    perm = draw(st.permutations(range(len(shape)))) if shape else []
    axes = tuple(perm) if draw(st.booleans()) else ()
    x = draw(arrays(shape))
    return (lambda t: t.transpose(axes)), (lambda a: a.transpose(*axes) if axes else a.T), [x]


@op("transpose_two_dims_permute_t", S.Transpose)
def _(draw):
    shape = draw(shapes(min_dims=1))
    d0, d1 = (draw(st.integers(-len(shape), len(shape) - 1)) for _ in range(2))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return (
        lambda t: t.transpose(d0, d1).sum() + t.permute(*perm) * 2.0 + t.reshape(-1)[:1].t(),
        lambda a: np.swapaxes(a, d0, d1).sum() + a.transpose(perm) * 2.0 + a.reshape(-1)[:1],
        [draw(arrays(shape))],
    )


@op("view_unsqueeze_flatten_squeeze", S.Reshape)
def _(draw):
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    start = draw(st.integers(-nd, nd - 1))
    end = draw(st.integers(start % nd, nd - 1))
    dim = draw(st.integers(-nd, nd - 1))  # squeeze(dim) of an axis whose size is not 1 keeps it

    def ref(a):
        flat = a.reshape(shape[: start % nd] + (-1,) + shape[end + 1 :])
        kept = np.squeeze(a, dim) if shape[dim] == 1 else a
        return flat.sum() + kept * np.expand_dims(a.reshape(-1), 0).sum()

    return (
        lambda t: t.flatten(start, end).sum() + t.squeeze(dim=dim) * t.view(-1).unsqueeze(0).sum(),
        ref,
        [draw(arrays(shape))],
    )


@op("clone_contiguous", S.Clone)
def _(draw):
    shape = draw(shapes())
    return (
        lambda t: t.clone() * 2.0 + t.T.contiguous().T,
        lambda a: a * 2.0 + a,
        [draw(arrays(shape))],
    )


@op("expand_repeat", S.BroadcastTo, S.Reshape)
def _(draw):
    small, big = draw(broadcastable_shapes())
    target = np.broadcast_shapes(small, big)
    lead = len(target) - len(small)
    keep = [i >= lead and small[i - lead] == n and draw(st.booleans()) for i, n in enumerate(target)]
    sizes = tuple(-1 if k else n for k, n in zip(keep, target))  # -1: keep that size
    reps = tuple(draw(st.integers(1, 3)) for _ in range(len(small) + draw(st.integers(0, 1))))
    return (
        lambda t: t.expand(*sizes).sum() * t.repeat(*reps).sum() + t.repeat(reps),
        lambda a: np.broadcast_to(a, target).sum() * np.tile(a, reps).sum() + np.tile(a, reps),
        [draw(arrays(small))],
    )


def _np_sum_to(a, shape):
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead)))
    return a.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


@op("sum_to_size", R.Sum)
def _(draw):
    small, big = draw(broadcastable_shapes())
    big = np.broadcast_shapes(small, big)
    return (lambda t: t.sum_to_size(small)), (lambda a: _np_sum_to(a, small)), [draw(arrays(big))]


@op("chunk_split", S.GetItem, S.Concatenate)
def _(draw):
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    k = draw(st.integers(1, n + 1))
    sizes = draw(st.lists(st.integers(0, n), min_size=1, max_size=3).filter(lambda v: sum(v) <= n))
    sizes = sizes + [n - sum(sizes)]
    size = -(-n // k)
    bounds = list(range(size, n, size))

    def ref(a):
        chunks = np.split(a, bounds, axis=dim)
        pieces = np.split(a, np.cumsum(sizes)[:-1], axis=dim)
        return np.concatenate([c * (i + 1) for i, c in enumerate(chunks)], dim) + np.concatenate(
            [c * (i + 2) for i, c in enumerate(pieces)], dim
        )

    return (
        lambda t: (
            tg.cat([c * (i + 1) for i, c in enumerate(t.chunk(k, dim))], dim=dim)
            + tg.cat([c * (i + 2) for i, c in enumerate(t.split(sizes, dim=dim))], dim)
        ),
        ref,
        [draw(arrays(shape))],
    )


@op("masked_fill", E.Where)
def _(draw):
    small, big = draw(broadcastable_shapes())
    big = np.broadcast_shapes(small, big)
    mask = draw(hnp.arrays(np.bool_, small))
    return (
        lambda a, v: a.masked_fill(tg.Tensor(mask), v) * a,
        lambda a, v: np.where(mask, v, a) * a,
        [draw(arrays(big)), draw(arrays(()))],
    )


@op("clamp", E.Clip)
def _(draw):
    lo, hi = draw(st.sampled_from([(-0.55, 0.65), (None, 0.65), (-0.55, None)]))
    x = draw(arrays(shapes()))
    return (lambda t: t.clamp(min=lo, max=hi)), (lambda a: np.clip(a, lo, hi)), [x]


@op("inplace_activations", E.ReLU, E.LeakyReLU, E.ELU, E.Clip, E.Where)
def _(draw):
    shape = draw(shapes())
    mask = draw(hnp.arrays(np.bool_, shape))

    def fn(a):
        y = a * 1.0
        y.relu_()
        z = a * 1.0
        z.leaky_relu_(0.1).elu_(0.5).clamp_(-0.3, 0.65).masked_fill_(tg.Tensor(mask), 0.25)
        return y * z

    def ref(a):
        z = np.where(a > 0, a, 0.1 * a)
        z = np.clip(np.where(z > 0, z, 0.5 * (np.exp(z) - 1)), -0.3, 0.65)
        return np.maximum(a, 0) * np.where(mask, 0.25, z)

    return fn, ref, [draw(arrays(shape, "nonzero"))]


def _np_norm(a, p, axis, keep):
    axis = tuple(range(a.ndim)) if axis is None else axis
    x = np.abs(a)
    if p == np.inf:
        return x.max(axis=axis, keepdims=keep)
    if p == -np.inf:
        return x.min(axis=axis, keepdims=keep)
    if p == 0:
        return (x != 0).sum(axis=axis, keepdims=keep).astype(a.dtype)
    return (x**p).sum(axis=axis, keepdims=keep) ** (1 / p)


@op("norm", R.VectorNorm)
def _(draw):
    shape = draw(shapes())
    axis = draw(axes(len(shape)))
    keep = draw(st.booleans())
    p = draw(st.sampled_from([2, "fro", 1, np.inf, -np.inf, 0, 3, 0.5]))
    x = draw(arrays(shape, "distinct" if p in (np.inf, -np.inf) else "nonzero"))
    q = 2 if p == "fro" else p
    return (lambda t: t.norm(p, dim=axis, keepdim=keep)), (lambda a: _np_norm(a, q, axis, keep)), [x]


@op("std", R.VectorNorm, R.Mean)
def _(draw):
    shape, axis, keep, ddof, n = _moment_args(draw)
    if n == 1:  # a single value has deviation 0: the gradient of the std is 0 there (checked elsewhere)
        shape, axis = shape + (2,), None
    x = draw(arrays(shape, "distinct"))  # std has a kink where all values reduced are equal
    return (
        lambda t: t.std(dim=axis, keepdim=keep, correction=ddof),
        lambda a: np.std(a, axis, keepdims=keep, ddof=ddof),
        [x],
    )


@op("expand_dims_flatten", S.Reshape)
def _(draw):
    shape = draw(shapes(min_dims=1))
    ax = draw(st.integers(-len(shape) - 1, len(shape)))
    start = draw(st.integers(0, len(shape)))
    x = draw(arrays(shape))
    return (
        lambda t: t.expand_dims(ax).flatten(start),
        lambda a: np.expand_dims(a, ax).reshape(np.expand_dims(a, ax).shape[:start] + (-1,)),
        [x],
    )


@op("squeeze", S.Reshape)
def _(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.sampled_from(ones))) if ones else None
    x = draw(arrays(shape))
    return (lambda t: t.squeeze(axis)), (lambda a: np.squeeze(a, axis)), [x]


@op("broadcast_to", S.BroadcastTo)
def _(draw):
    small, big = draw(broadcastable_shapes())
    target = np.broadcast_shapes(small, big)
    x = draw(arrays(small))
    return (lambda t: t.broadcast_to(target)), (lambda a: np.broadcast_to(a, target)), [x]


@op("pad", S.Pad)
def _(draw):
    shape = draw(shapes(min_dims=1))
    pw = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape]
    v = draw(st.floats(-1, 1))
    x = draw(arrays(shape))
    return (lambda t: t.pad(pw, v)), (lambda a: np.pad(a, pw, constant_values=v)), [x]


@st.composite
def _index(draw, shape):
    kind = draw(st.sampled_from(["basic", "int_array", "bool_mask", "mixed"]))
    if kind == "basic":
        idx = []
        for n in shape:
            c = draw(st.integers(0, 2))
            if c == 0:
                a = draw(st.integers(0, n - 1))
                idx.append(a)
            elif c == 1:
                start, step = draw(st.integers(0, n - 1)), draw(st.integers(1, 2))
                idx.append(slice(start, None, step))
            else:
                idx.append(slice(None, None, -1))
        if draw(st.booleans()):
            idx.insert(draw(st.integers(0, len(idx))), None)
        return tuple(idx)
    if kind == "int_array":  # repeated indices must accumulate
        return draw(hnp.arrays(np.int64, draw(st.integers(1, 6)), elements=st.integers(0, shape[0] - 1)))
    if kind == "bool_mask":
        return draw(hnp.arrays(np.bool_, shape))
    return (Ellipsis, draw(hnp.arrays(np.int64, 3, elements=st.integers(-shape[-1], shape[-1] - 1))))


@op("getitem", S.GetItem, S.IndexAdd)
def _(draw):
    shape = draw(shapes(min_dims=1))
    index = draw(_index(shape))
    x = draw(arrays(shape))
    return (lambda t: t[index] * 1.0), (lambda a: a[index]), [x]


@op("setitem", S.SetItem)
def _(draw):
    shape = draw(shapes(min_dims=1))
    index = draw(_index(shape))
    if isinstance(index, np.ndarray) and index.dtype != bool:
        index = np.unique(index)  # assignment with repeats keeps only one write
    if isinstance(index, tuple) and any(isinstance(i, np.ndarray) for i in index):
        index = (Ellipsis, np.unique(index[1] % shape[-1]))
    target = np.zeros(shape)[index].shape
    x = draw(arrays(shape))
    v = draw(arrays(target[1:] if target and draw(st.booleans()) else target))

    def fn(a, b):
        y = a * 1.0
        y[index] = b
        return y * y

    def ref(a, b):
        y = a.copy()
        y[index] = b
        return y * y

    return fn, ref, [x, v]


@op("copy_fill", S.Overwrite)
def _(draw):
    big, small = draw(broadcastable_shapes())
    big = np.broadcast_shapes(big, small)

    def fn(a, b):
        y = a * 2.0
        z = a * 1.0
        z.copy_(b)  # y keeps a's history; z's is replaced by b's
        return y * z

    def ref(a, b):
        return a * 2.0 * np.broadcast_to(b, a.shape)

    return fn, ref, [draw(arrays(big)), draw(arrays(small))]


@op("concatenate_stack", S.Concatenate)
def _(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = draw(st.integers(1, 3))
    xs = [draw(arrays(shape)), draw(arrays(tuple(other))), draw(arrays(shape))]
    return (
        lambda a, b, c: tg.concatenate([a, b], axis) * 2.0 + tg.stack([a, c], axis).sum(),
        lambda a, b, c: np.concatenate([a, b], axis) * 2.0 + np.stack([a, c], axis).sum(),
        xs,
    )


# ---- the property tests ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", OPS, ids=[s.name for s in OPS])
@given(data=st.data())
def test_forward_matches_numpy(spec, data):
    fn, ref, xs = spec.build(data.draw)
    expected = ref(*[a.copy() for a in xs])
    if expected is None:
        return
    out = fn(*[tg.Tensor(a) for a in xs])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", OPS, ids=[s.name for s in OPS])
@given(data=st.data())
def test_gradient_matches_numerical(spec, data):
    fn, _, xs = spec.build(data.draw)
    assert_gradients(fn, *xs, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("spec", OPS, ids=[s.name for s in OPS])
@given(data=st.data())
def test_float32_stays_float32(spec, data):
    fn, _, xs = spec.build(data.draw)
    inputs = [tg.Tensor(a.astype(np.float32), requires_grad=True) for a in xs]
    out = fn(*inputs)
    assert out.dtype == np.float32, spec.name
    (out * out).sum().backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_cast_gradient_goes_back_to_source_dtype():
    x = tg.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [2.0, -4.0, 6.0])


# Op nodes tested outside this file: class name -> the test file that gradchecks it.
COVERED_ELSEWHERE = {
    "Cast": "tests/test_ops.py",  # test_cast_gradient_goes_back_to_source_dtype
    "Linear": "tests/test_nn_layers.py",
    "SoftmaxCrossEntropy": "tests/test_nn_loss.py",
    "BinaryCrossEntropy": "tests/test_nn_loss.py",  # F.binary_cross_entropy gradcheck
    "BinaryCrossEntropyWithLogits": "tests/test_nn_loss.py",  # F.binary_cross_entropy_with_logits
    "Conv2d": "tests/test_nn_conv.py",
    "Im2col": "tests/test_nn_conv.py",
    "Col2im": "tests/test_nn_conv.py",  # im2col/col2im gradchecks and Conv2d double backward
    "MaxPool2d": "tests/test_nn_pool.py",
    "ReLUMaxPool2d": "tests/test_compiled_pool.py",  # gradcheck, second order, vs ReLU then MaxPool2d
    "RouteToMax": "tests/test_nn_pool.py",  # test_max_pool_double_backward
    "GatherAtMax": "tests/test_nn_pool.py",
    "AvgPool2d": "tests/test_nn_pool.py",
    "AvgPool2dTranspose": "tests/test_nn_pool.py",  # avg pool double backward
    "ConvTranspose2d": "tests/test_nn_conv.py",  # conv_transpose2d gradchecks and double backward
}
ROOT = Path(__file__).resolve().parents[1]


def _all_op_classes():
    found = {}
    for mod in pkgutil.iter_modules(tinygrad_kr.ops.__path__):
        m = importlib.import_module(f"tinygrad_kr.ops.{mod.name}")
        for name, obj in inspect.getmembers(m, inspect.isclass):
            if issubclass(obj, tg.Function) and obj.__module__ == m.__name__:
                found[name] = obj
    return found


def test_registry_covers_every_op():
    covered = {c for s in OPS for c in s.covers}
    missing = []
    for name, cls in _all_op_classes().items():
        if cls in covered or any(issubclass(cls, c) and c is not tg.Function for c in covered if c is cls):
            continue
        where = COVERED_ELSEWHERE.get(name)
        if where and (ROOT / where).exists() and name in (ROOT / where).read_text():
            continue
        missing.append(name)
    assert not missing, f"op nodes without a gradient test: {sorted(missing)}"
