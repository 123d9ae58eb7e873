"""The 2x2 max-pool kernels (numba, optional) against the numpy reference, and the fused
ReLU + max-pool node against a ReLU node followed by a MaxPool2d node."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_kr as tg
from tinygrad_kr import nn
from tinygrad_kr.ops import compiled
from tinygrad_kr.ops import conv as C

F = nn.functional

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


@st.composite
def pool_inputs(draw):
    """(N, C, H, W) float arrays with ties (small integers), some NaN and -inf, odd sizes,
    float32 or float64, C-contiguous or channel-major."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-2, 3, (n, c, h, w)).astype(draw(st.sampled_from([np.float32, np.float64])))
    specials = draw(st.sampled_from(["none", "nan", "-inf", "both"]))
    if specials in ("nan", "both"):
        x[rng.random(x.shape) < 0.15] = np.nan
    if specials in ("-inf", "both"):
        x[rng.random(x.shape) < 0.3] = -np.inf
    if draw(st.booleans()):  # channel-major memory, as the engine's convolutions make it
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    return x


def _run(x, fused, use_compiled, monkeypatch):
    monkeypatch.setattr(compiled, "AVAILABLE", use_compiled)
    t = tg.Tensor(x.copy(), requires_grad=True)
    y = F.relu_max_pool2d(t, 2) if fused else F.max_pool2d(t.relu(), 2)
    g = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype)
    y.backward(tg.Tensor(g))
    return y.data, t.grad.data


def _same(a, b):
    np.testing.assert_array_equal(a, b)  # NaN == NaN here


@settings(max_examples=150, deadline=None)
@given(x=pool_inputs())
def test_fused_and_compiled_paths_equal_the_numpy_relu_then_pool(x):
    with pytest.MonkeyPatch.context() as mp:
        ref_y, ref_g = _run(x, fused=False, use_compiled=False, monkeypatch=mp)
        for fused in (False, True):
            for use in (False, True) if compiled.AVAILABLE else (False,):
                y, g = _run(x, fused, use, mp)
                _same(y, ref_y)
                _same(g, ref_g)


@pytest.mark.skipif(not compiled.AVAILABLE, reason="numba is not installed")
@settings(max_examples=100, deadline=None)
@given(x=pool_inputs())
def test_compiled_max_pool_routes_like_the_numpy_one(x):
    with pytest.MonkeyPatch.context() as mp:
        results = []
        for use in (False, True):
            mp.setattr(compiled, "AVAILABLE", use)
            t = tg.Tensor(x.copy(), requires_grad=True)
            y = F.max_pool2d(t, 2)
            y.backward(tg.Tensor(np.arange(y.data.size, dtype=x.dtype).reshape(y.shape)))
            results.append((y.data, t.grad.data))
        _same(*[r[0] for r in results])
        _same(*[r[1] for r in results])


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_fused_layer_matches_pytorchs_relu_then_pool():
    x = np.random.default_rng(1).standard_normal((4, 3, 9, 8))
    x[0, 0, :2, :2] = math.nan
    x[1, 1] = -math.inf
    t = tg.Tensor(x, requires_grad=True)
    nn.ReLUMaxPool2d(2)(t).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(torch.relu(tt), 2).sum().backward()
    np.testing.assert_array_equal(t.grad.data, tt.grad.numpy())


def test_fused_node_gradient_and_second_order():
    x = tg.Tensor(np.random.default_rng(2).permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.1 - 7.0,
                  requires_grad=True)
    assert tg.gradcheck(lambda t: F.relu_max_pool2d(t, 2) * 1.5, [x])
    (g,) = tg.grad(F.relu_max_pool2d(x, 2).sum(), [x], create_graph=True)
    assert g.requires_grad  # connected with zero derivative, as ReLU then MaxPool2d in PyTorch
    np.testing.assert_array_equal(tg.grad((g * g).sum(), [x])[0].data, 0.0)
    assert isinstance(nn.ReLUMaxPool2d(2, stride=2)(x).grad_fn, C.ReLUMaxPool2d)
