"""Pooling: nn.max_pool2d / nn.avg_pool2d and the MaxPool2d / AvgPool2d layers (op nodes
MaxPool2d, RouteToMax, GatherAtMax, AvgPool2d, AvgPool2dTranspose in tinygrad_kr/ops/conv.py).

Forward values against direct loops (PyTorch's floor output size, -inf padding for max,
zero padding and both count_include_pad rules for avg), gradients against central
differences on tie-free inputs, the documented tie rule, second order, dtypes, memory
layouts, error messages, and torch when it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nn.pooling import avg_pool2d, max_pool2d

import nn
import tinygrad_kr as tg
from tinygrad_kr import Tensor
from tinygrad_kr.testing import sample

# ---- references and strategies --------------------------------------------------------------


def out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def pool_loops(x, kernel, stride, padding, dilation=(1, 1), mode="max", count_include_pad=True):
    """Direct loops over every output and every window element."""
    n_, c_, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    y = np.zeros((n_, c_, oh, ow))
    for n in range(n_):
        for c in range(c_):
            for r in range(oh):
                for q in range(ow):
                    vals = []
                    for i in range(kh):
                        for j in range(kw):
                            row, col = r * sh + i * dh - ph, q * sw + j * dw - pw
                            inside = 0 <= row < h and 0 <= col < w
                            if inside:
                                vals.append(x[n, c, row, col])
                            elif mode == "max":
                                vals.append(-np.inf)
                            elif count_include_pad:
                                vals.append(0.0)
                    y[n, c, r, q] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return y


@st.composite
def pool_window(draw, dilation: bool = True, max_extra: int = 4):
    """(kernel, stride, padding, dilation, (H, W)): padding at most half the window span (as
    PyTorch requires) and at least one output; H, W need not be multiples of the stride."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    padding, hw = [], []
    for k, d in zip(kernel, dil):
        span = d * (k - 1) + 1
        p = draw(st.integers(0, span // 2))
        padding.append(p)
        least = max(1, span - 2 * p)
        hw.append(draw(st.integers(least, least + max_extra)))
    return kernel, stride, tuple(padding), dil, tuple(hw)


shapes_nc = st.tuples(st.integers(1, 2), st.integers(1, 3))


# ---- max pooling -----------------------------------------------------------------------------


@given(pool_window(), shapes_nc, st.integers(0, 2**31))
def test_max_pool2d_matches_loops(win, nc, seed):
    kernel, stride, padding, dilation, hw = win
    x = sample(nc + hw, seed=seed)
    y = max_pool2d(Tensor(x), kernel, stride, padding, dilation)
    np.testing.assert_array_equal(y.data, pool_loops(x, kernel, stride, padding, dilation))


@pytest.mark.parametrize("h,w", [(4, 6), (5, 7), (2, 3), (3, 2)])
def test_max_pool_2x2_floor_semantics(h, w):
    """The 2x2/2 fast path: odd sizes drop the last row/column, like PyTorch."""
    x = sample((2, 3, h, w), seed=0)
    y = max_pool2d(Tensor(x), 2)
    assert y.shape == (2, 3, h // 2, w // 2)
    np.testing.assert_array_equal(y.data, pool_loops(x, (2, 2), (2, 2), (0, 0)))


def test_pool_window_larger_than_input_is_an_error():
    """Like PyTorch: a 2x2 window on a 1-pixel-high input has no output row."""
    with pytest.raises(ValueError, match=r"max_pool2d.*\(2, 3, 1, 2\)"):
        max_pool2d(Tensor(sample((2, 3, 1, 2), seed=0)), 2)


def test_max_pool_padding_is_minus_infinity():
    x = -1.0 - np.arange(16.0).reshape(1, 1, 4, 4)  # all negative: zero padding would win
    y = max_pool2d(Tensor(x), 3, stride=2, padding=1)
    np.testing.assert_array_equal(y.data[0, 0], [[-1.0, -2.0], [-5.0, -6.0]])


@given(pool_window(max_extra=3), shapes_nc, st.integers(0, 2**31))
def test_max_pool2d_gradcheck(win, nc, seed):
    kernel, stride, padding, dilation, hw = win
    x = Tensor(sample(nc + hw, "distinct", seed=seed), requires_grad=True)  # no ties
    assert tg.gradcheck(lambda t: max_pool2d(t, kernel, stride, padding, dilation), [x])


@pytest.mark.parametrize("kernel,stride", [((1, 1), (1, 2)), ((1, 2), (1, 3)), ((2, 2), (3, 3))])
def test_pixels_in_no_window_get_zero_gradient(kernel, stride):
    """Windows smaller than the stride skip pixels; those get exactly zero, not stale memory."""
    x = Tensor(sample((2, 2, 5, 6), "distinct", seed=0), requires_grad=True)
    max_pool2d(x, kernel, stride).sum().backward()
    hit = np.zeros(x.shape, bool)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            hit[:, :, i :: stride[0], j :: stride[1]] = True
    assert np.all(x.grad.data[~hit] == 0)


@pytest.mark.parametrize("shape", [(2, 3, 4, 6), (1, 2, 5, 5)])
def test_max_pool_2x2_gradcheck(shape):
    x = Tensor(sample(shape, "distinct", seed=3), requires_grad=True)
    assert tg.gradcheck(lambda t: max_pool2d(t, 2), [x])


@pytest.mark.parametrize(
    "kernel,stride,padding",
    [(2, 2, 0), (3, 3, 0), (2, 1, 0), (3, 1, 1), ((2, 3), (2, 3), (1, 1))],
)
def test_ties_send_the_gradient_to_the_first_maximum(kernel, stride, padding):
    """Each window's gradient goes to one element: the first maximum in window order
    (row-major over the kernel), as PyTorch does. Checked on a constant image (everything
    ties) against the loop-found first position of each window."""
    x = Tensor(np.full((1, 1, 6, 6), 2.0), requires_grad=True)
    y = max_pool2d(x, kernel, stride, padding)
    g = sample(y.shape, seed=1)
    y.backward(g)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    want = np.zeros((6, 6))
    for r in range(y.shape[2]):
        for q in range(y.shape[3]):
            first = next(
                (r * sh + i - ph, q * sw + j - pw)
                for i in range(kh)
                for j in range(kw)
                if 0 <= r * sh + i - ph < 6 and 0 <= q * sw + j - pw < 6
            )
            want[first] += g[0, 0, r, q]
    np.testing.assert_allclose(x.grad.data[0, 0], want, rtol=1e-12)


def test_tie_in_the_bottom_row_goes_left():
    x = Tensor(np.array([[[[0.0, 1.0], [3.0, 3.0]]]]), requires_grad=True)
    max_pool2d(x, 2).backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0], [1, 0]])


def test_max_pool_double_backward():
    """The gradient is linear in the upstream gradient (RouteToMax); its own gradient is
    GatherAtMax, and that one's gradient is RouteToMax again."""
    x = Tensor(sample((2, 2, 5, 6), "distinct", seed=0), requires_grad=True)
    u = Tensor(sample((2, 2, 5, 6), seed=1))

    def first(gy):  # gy -> <d maxpool(x)/dx applied to gy, u>
        (gx,) = tg.grad(max_pool2d(x, 3, stride=2, padding=1), [x], grad_outputs=gy, create_graph=True)
        return gx * u

    gy = Tensor(sample((2, 2, 3, 3), seed=2), requires_grad=True)
    assert tg.gradcheck(first, [gy])

    def second(v):  # v -> d/dgy <RouteToMax(gy), v>, recorded: GatherAtMax, then RouteToMax
        g0 = Tensor(np.zeros((2, 2, 3, 3)), requires_grad=True)
        (gx,) = tg.grad(max_pool2d(x, 3, stride=2, padding=1), [x], grad_outputs=g0, create_graph=True)
        (ggy,) = tg.grad((gx * v).sum(), [g0], create_graph=True)
        return ggy

    assert tg.gradcheck(second, [Tensor(sample((2, 2, 5, 6), seed=3), requires_grad=True)])
    # second derivative with respect to x itself is zero (routing is piecewise constant); the
    # recorded gradient stays connected to x, as in PyTorch, so a penalty on it gets zeros
    (gx,) = tg.grad(max_pool2d(x, 2).sum(), [x], create_graph=True)
    assert gx.requires_grad
    np.testing.assert_array_equal(tg.grad((gx * u).sum(), [x])[0].data, 0.0)


# ---- average pooling ---------------------------------------------------------------------------


@given(pool_window(dilation=False), shapes_nc, st.booleans(), st.integers(0, 2**31))
def test_avg_pool2d_matches_loops(win, nc, count_include_pad, seed):
    kernel, stride, padding, _, hw = win
    x = sample(nc + hw, seed=seed)
    y = avg_pool2d(Tensor(x), kernel, stride, padding, count_include_pad)
    ref = pool_loops(x, kernel, stride, padding, mode="avg", count_include_pad=count_include_pad)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-15)


def test_avg_pool_padding_counts_by_default():
    x = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(
        avg_pool2d(Tensor(x), 2, 1, 1).data[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]
    )
    np.testing.assert_array_equal(
        avg_pool2d(Tensor(x), 2, 1, 1, count_include_pad=False).data[0, 0], np.ones((3, 3))
    )


@given(pool_window(dilation=False, max_extra=3), shapes_nc, st.booleans(), st.integers(0, 2**31))
def test_avg_pool2d_gradcheck_and_double_backward(win, nc, count_include_pad, seed):
    kernel, stride, padding, _, hw = win
    x = Tensor(sample(nc + hw, seed=seed), requires_grad=True)

    def fn(t):
        return avg_pool2d(t, kernel, stride, padding, count_include_pad)

    assert tg.gradcheck(fn, [x])

    def grad_of(gy):  # AvgPool2dTranspose, and its backward AvgPool2d
        (gx,) = tg.grad(fn(x), [x], grad_outputs=gy, create_graph=True)
        return gx * Tensor(sample(x.shape, seed=seed + 1))

    gy = Tensor(sample(fn(x).shape, seed=seed + 2), requires_grad=True)
    assert tg.gradcheck(grad_of, [gy])


# ---- layouts and dtypes ------------------------------------------------------------------------


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), (2, 1, 0)])
@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_channel_major_input_gives_the_same_values_and_gradients(pool, kernel, stride, padding):
    """Conv outputs are (N, C, H, W) views of (C, N, H, W) memory; pooling must not care."""
    base = sample((3, 2, 7, 6), "distinct", seed=0)  # (C, N, H, W) memory
    g = None
    results = []
    for arr in (np.ascontiguousarray(base.transpose(1, 0, 2, 3)), base.transpose(1, 0, 2, 3)):
        x = Tensor(arr, requires_grad=True)
        y = pool(x, kernel, stride, padding)
        if g is None:
            g = sample(y.shape, seed=1)
        y.backward(g)
        results.append((y.data, x.grad.data))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "layer", [nn.MaxPool2d(2), nn.MaxPool2d(3, 1, 1), nn.AvgPool2d(2), nn.AvgPool2d(3, 2, 1, False)]
)
def test_dtype_is_preserved(layer, dtype):
    x = Tensor(sample((2, 3, 6, 6), seed=0).astype(dtype), requires_grad=True)
    y = layer(x)
    assert y.dtype == dtype
    (y * y).sum().backward()
    assert x.grad.dtype == dtype


# ---- layers and errors -------------------------------------------------------------------------


def test_layers():
    x = Tensor(sample((1, 2, 6, 6), seed=0))
    np.testing.assert_array_equal(nn.MaxPool2d(3, stride=2, padding=1)(x).data, max_pool2d(x, 3, 2, 1).data)
    np.testing.assert_array_equal(
        nn.AvgPool2d((2, 3)).data if False else nn.AvgPool2d((2, 3))(x).data, avg_pool2d(x, (2, 3)).data
    )
    m = nn.MaxPool2d(2)
    assert m.stride == (2, 2) and list(m.parameters()) == []
    assert repr(m) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert (
        repr(nn.AvgPool2d(3, 1, 1, count_include_pad=False))
        == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), count_include_pad=False)"
    )


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(5)

    def forward(self, x):
        return self.pool(x)


def test_errors():
    with pytest.raises(
        ValueError,
        match=r"pool \(MaxPool2d\): the kernel \(5, 5\) with dilation \(1, 1\) "
        r"spans 5x5 pixels, more than the padded input 4x4 \(input shape \(1, 1, 4, 4\)",
    ):
        _Net()(Tensor(np.zeros((1, 1, 4, 4))))
    with pytest.raises(
        ValueError, match=r"max_pool2d: padding \(2, 2\) should be at most half of the kernel size \(3, 3\)"
    ):
        max_pool2d(Tensor(np.zeros((1, 1, 8, 8))), 3, padding=2)
    with pytest.raises(ValueError, match=r"AvgPool2d: padding \(0, 2\) should be at most half"):
        nn.AvgPool2d(2, padding=(0, 2))
    with pytest.raises(
        ValueError, match=r"avg_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(4, 4\)"
    ):
        avg_pool2d(Tensor(np.zeros((4, 4))), 2)
    with pytest.raises(TypeError, match="max_pool2d: input must be a floating point tensor, got dtype int64"):
        max_pool2d(Tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)
    with pytest.raises(ValueError, match="MaxPool2d: stride must be >= 1, got 0"):
        nn.MaxPool2d(2, stride=0)


# ---- against torch (optional) ------------------------------------------------------------------


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))])
def test_pooling_matches_torch(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x = sample((2, 3, 7, 8), seed=0)
    x[0, 0, :2, :2] = 1.0  # a tie: routed to the first maximum by both
    for ours, theirs, kw in (
        (max_pool2d, torch.nn.functional.max_pool2d, {}),
        (avg_pool2d, torch.nn.functional.avg_pool2d, {"count_include_pad": False}),
        (avg_pool2d, torch.nn.functional.avg_pool2d, {}),
    ):
        xt = Tensor(x.copy(), requires_grad=True)
        tt = torch.tensor(x, requires_grad=True)
        y = ours(xt, kernel, stride, padding, **kw)
        ty = theirs(tt, kernel, stride, padding, **kw)
        up = sample(y.shape, seed=1)
        y.backward(up)
        ty.backward(torch.tensor(up))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(xt.grad.data, tt.grad.numpy(), rtol=1e-12, atol=1e-12)
