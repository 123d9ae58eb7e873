"""Robustness of the engine: numerical extremes, clear errors, linear-time backward."""

from __future__ import annotations

import gc
import time
import warnings

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import Tensor


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---- numerical extremes -------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_with_huge_logits_float32(scale):
    logits = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, -2.0]], np.float32) * scale
    ref = logits.astype(np.float64)
    for axis in (-1, 0):
        x = Tensor(logits, requires_grad=True)
        sm, lsm, lse = x.softmax(axis), x.log_softmax(axis), x.logsumexp(axis)
        m = ref.max(axis, keepdims=True)
        ref_lse = np.log(np.exp(ref - m).sum(axis, keepdims=True)) + m
        np.testing.assert_allclose(sm.data, np.exp(ref - ref_lse), atol=1e-6)
        np.testing.assert_allclose(lsm.data, ref - ref_lse, rtol=1e-6)
        np.testing.assert_allclose(lse.data, ref_lse.squeeze(axis), rtol=1e-6)
        assert sm.dtype == lsm.dtype == lse.dtype == np.float32
        (sm.sum() + lsm.sum() + lse.sum()).backward()
        assert np.isfinite(x.grad.data).all()


def test_sigmoid_tanh_saturate_without_overflow():
    x = Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32), requires_grad=True)
    s, t = x.sigmoid(), x.tanh()
    np.testing.assert_allclose(s.data, [0.0, 1.9287499e-22, 0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(t.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    (s.sum() + t.sum()).backward()
    assert np.isfinite(x.grad.data).all()
    assert x.grad.data[0] == 0.0 and x.grad.data[-1] == 0.0


def test_sigmoid_keeps_precision_in_the_tail():
    x = Tensor(np.array([-30.0, 30.0]))
    np.testing.assert_allclose(x.sigmoid().data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)


def test_log_of_zero_and_sqrt_of_zero():
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.log()
    assert y.data[0] == -np.inf and y.data[1] == 0.0
    y.sum().backward()
    assert x.grad.data[0] == np.inf  # documented: d/dx log x at 0
    x.grad = None
    x.sqrt().sum().backward()
    assert x.grad.data[0] == np.inf  # documented: d/dx sqrt x at 0


def test_float32_sum_of_ten_million_ones_is_exact():
    x = tg.ones(10_000_000)
    assert x.sum().item() == 1e7
    assert x.mean().item() == 1.0
    assert x.sum().dtype == np.float32


# ---- errors name the op and the shapes -------------------------------------------------------------


def test_matmul_shape_error():
    msg = r"MatMul: shapes \(3, 4\) and \(5, 2\) are not aligned: 4 \(axis 1\) != 5 \(axis 0\)"
    with pytest.raises(ValueError, match=msg):
        tg.ones(3, 4) @ tg.ones(5, 2)


def test_broadcast_error_names_op():
    with pytest.raises(ValueError, match=r"Add: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        tg.ones(3, 4) + tg.ones(5)
    with pytest.raises(ValueError, match=r"Mul: shapes \(2,\) and \(3,\)"):
        Tensor([1.0, 2.0], requires_grad=True) * np.ones(3)


def test_reshape_and_axis_errors():
    with pytest.raises(ValueError, match=r"Reshape.*\(3, 4\).*\(5,\)"):
        tg.ones(3, 4).reshape(5)
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range"):
        tg.ones(3, 4).sum(axis=2)
    with pytest.raises(IndexError, match=r"GetItem.*\(3,\)"):
        tg.ones(3)[5]


def test_requires_grad_on_integer_data():
    with pytest.raises(TypeError, match="int64"):
        Tensor(np.arange(3), requires_grad=True)


def test_grad_misuse_errors():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()
    with pytest.raises(RuntimeError, match="not part of the graph"):
        tg.grad((x * 2).sum(), [Tensor([2.0], requires_grad=True)])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.grad(Tensor([1.0]).sum(), [x])


# ---- size: deep and wide graphs, linear time ---------------------------------------------------------


def _chain(n):
    x = Tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001
    t = time.perf_counter()
    y.sum().backward()
    return time.perf_counter() - t


def _wide(n):
    xs = [Tensor(np.ones(2), requires_grad=True) for _ in range(n)]
    t = time.perf_counter()
    total = xs[0] * 1.0
    for x in xs[1:]:
        total = total + x * 2.0
    total.sum().backward()
    assert xs[-1].grad.data.tolist() == [2.0, 2.0]
    return time.perf_counter() - t


@pytest.mark.slow
def test_backward_time_is_linear_in_graph_size():
    # Doubling the graph must not quadruple the time (best of 3 against machine noise). The
    # cyclic GC is paused while timing: its full collections scan every live object of the
    # process (the whole test session's), which says nothing about the engine's algorithm.
    # Nothing here needs it: the graph is freed by reference counting (see test_memory.py).
    gc.collect()
    gc.disable()
    try:
        for build, n in ((_chain, 50_000), (_wide, 10_000)):
            small = min(build(n) for _ in range(3))
            big = min(build(2 * n) for _ in range(3))
            assert big < 3.0 * small, (build.__name__, small, big)
    finally:
        gc.enable()
