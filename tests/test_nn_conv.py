"""Convolution: nn.conv2d / nn.Conv2d, the im2col / col2im pair and the transposed convolution
(op nodes Conv2d, Im2col, Col2im, ConvTranspose2d in tinygrad_kr/ops/conv.py).

Forward values are checked against a direct nested-loop convolution, gradients against
central differences (float64, hypothesis over shapes and stride/padding/dilation), im2col's
column layout against its documented formula, col2im against im2col (adjoint pair, window
counts), plus second order, dtypes, error messages, and torch when it is installed.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import tinygrad_kr as tg
from nn import functional as F
from tinygrad_kr import Tensor
from tinygrad_kr.nn.conv import col2im, conv2d, im2col

# ---- references and strategies --------------------------------------------------------------


def out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_loops(x, w, b, stride, padding, dilation):
    """Direct nested-loop cross-correlation (the definition), float64."""
    n_, c_, h, wd = x.shape
    oc_, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(wd, kw, sw, pw, dw)
    y = np.zeros((n_, oc_, oh, ow))
    for n in range(n_):
        for o in range(oc_):
            for r in range(oh):
                for q in range(ow):
                    acc = 0.0 if b is None else b[o]
                    for c in range(c_):
                        for i in range(kh):
                            for j in range(kw):
                                row, col = r * sh + i * dh - ph, q * sw + j * dw - pw
                                if 0 <= row < h and 0 <= col < wd:
                                    acc += x[n, c, row, col] * w[o, c, i, j]
                    y[n, o, r, q] = acc
    return y


def window_counts(h, w, kernel, stride, padding, dilation):
    """How many windows contain each pixel, counted directly."""
    oh = out_size(h, kernel[0], stride[0], padding[0], dilation[0])
    ow = out_size(w, kernel[1], stride[1], padding[1], dilation[1])
    count = np.zeros((h, w))
    for r in range(oh):
        for q in range(ow):
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    row = r * stride[0] + i * dilation[0] - padding[0]
                    col = q * stride[1] + j * dilation[1] - padding[1]
                    if 0 <= row < h and 0 <= col < w:
                        count[row, col] += 1
    return count


@st.composite
def window(draw, max_extra: int = 3):
    """(kernel, stride, padding, dilation, (H, W)) with at least one output position."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = []
    for k, p, d in zip(kernel, padding, dilation):
        least = max(1, d * (k - 1) + 1 - 2 * p)
        hw.append(draw(st.integers(least, least + max_extra)))
    return kernel, stride, padding, dilation, tuple(hw)


def rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def conv_inputs(seed, x_shape, w_shape, n_bias):
    """Random float64 x, weight and (n_bias > 0) bias that require grad, for gradchecks."""
    shapes = [x_shape, w_shape] + ([(n_bias,)] if n_bias else [])
    return [Tensor(rand(seed + i, *shape), requires_grad=True) for i, shape in enumerate(shapes)]


# ---- forward ---------------------------------------------------------------------------------


@given(
    window(), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.booleans(), st.integers(0, 2**31)
)
def test_conv2d_matches_nested_loops(win, n, c, oc, with_bias, seed):
    kernel, stride, padding, dilation, (h, w) = win
    x, wt, b = rand(seed, n, c, h, w), rand(seed + 1, oc, c, *kernel), rand(seed + 2, oc)
    bias = Tensor(b) if with_bias else None
    y = conv2d(Tensor(x), Tensor(wt), bias, stride, padding, dilation)
    np.testing.assert_allclose(
        y.data, conv_loops(x, wt, b if with_bias else None, stride, padding, dilation), rtol=1e-12, atol=1e-12
    )


def test_conv2d_known_values():
    # 3x3 image, 2x2 kernel of ones: every output is the sum of a 2x2 block
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    y = conv2d(x, Tensor(np.ones((1, 1, 2, 2))), [0.5])  # a list bias takes the weight's dtype
    np.testing.assert_array_equal(y.data[0, 0], [[8.5, 12.5], [20.5, 24.5]])
    # padding 1, stride 2: the corners of the zero-padded 5x5 image
    y = conv2d(x, Tensor(np.ones((1, 1, 2, 2))), stride=2, padding=1)
    np.testing.assert_array_equal(y.data[0, 0], [[0.0, 3.0], [9.0, 24.0]])


def test_conv2d_layer_batch_one_and_non_square_kernel():
    tg.manual_seed(0)
    layer = nn.Conv2d(2, 3, (1, 3), stride=(2, 1), padding=(0, 1), dilation=(1, 2), dtype=np.float64)
    x = rand(3, 1, 2, 5, 6)
    y = layer(Tensor(x))
    assert y.shape == (1, 3, 3, 4)
    ref = conv_loops(x, layer.weight.data, layer.bias.data, (2, 1), (0, 1), (1, 2))
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)


# ---- gradients -------------------------------------------------------------------------------


@given(
    window(max_extra=2),
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(1, 2),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_conv2d_gradcheck(win, n, c, oc, with_bias, seed):
    kernel, stride, padding, dilation, (h, w) = win
    inputs = conv_inputs(seed, (n, c, h, w), (oc, c, *kernel), oc if with_bias else 0)

    def fn(x, wt, b=None):
        return conv2d(x, wt, b, stride, padding, dilation)

    assert tg.gradcheck(fn, inputs)


def test_conv2d_gradcheck_selected_inputs():
    # gradients of only the weight (the image of a first layer does not require grad) and of
    # only the input: each path alone
    x, w = rand(0, 2, 2, 5, 4), rand(1, 3, 2, 3, 2)
    assert tg.gradcheck(lambda x_, w_: conv2d(x_, w_, padding=1), [Tensor(x), Tensor(w, requires_grad=True)])
    assert tg.gradcheck(lambda x_, w_: conv2d(x_, w_, stride=2), [Tensor(x, requires_grad=True), Tensor(w)])


def test_first_layer_skips_the_input_gradient():
    x = Tensor(rand(0, 2, 1, 6, 6).astype(np.float32))
    layer = nn.Conv2d(1, 4, 3)
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None


def test_conv2d_second_order_gradcheck():
    """grad of a grad: d/d(x, w) of <dL/dx, u> + <dL/dw, v> with L = sum(conv(x, w)**2 * r)."""
    x = Tensor(rand(0, 1, 2, 4, 3), requires_grad=True)
    w = Tensor(rand(1, 2, 2, 2, 2), requires_grad=True)
    b = Tensor(rand(2, 2), requires_grad=True)
    r = Tensor(rand(3, 1, 2, out_size(4, 2, 1, 1, 1), out_size(3, 2, 1, 1, 2)) ** 2)
    u, v = rand(4, 1, 2, 4, 3), rand(5, 2, 2, 2, 2)

    def fn(x_, w_, b_):
        y = conv2d(x_, w_, b_, stride=1, padding=1, dilation=(1, 2))
        gx, gw = tg.grad((y * y * r).sum(), [x_, w_], create_graph=True)
        return (gx * Tensor(u)).sum() + (gw * Tensor(v)).sum()

    assert tg.gradcheck(fn, [x, w, b])


def test_conv_layer_chain_gradcheck():
    """conv -> relu -> maxpool -> conv -> avgpool: the channel-major views one layer hands the
    next (and the gradients flowing back through them) give exact gradients."""
    tg.manual_seed(1)
    conv1 = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64)
    conv2 = nn.Conv2d(3, 2, 2, stride=1, dtype=np.float64)
    x = Tensor(rand(7, 2, 2, 6, 6), requires_grad=True)

    def fn(x_, w1, b1, w2, b2):
        h = F.max_pool2d(F.conv2d(x_, w1, b1, padding=1).relu(), 2)
        return F.avg_pool2d(F.conv2d(h, w2, b2), 2, stride=1)

    params = [conv1.weight, conv1.bias, conv2.weight, conv2.bias]
    assert tg.gradcheck(fn, [x, *params])


# ---- im2col / col2im -------------------------------------------------------------------------


@given(window(), st.integers(1, 2), st.integers(1, 3), st.integers(0, 2**31))
def test_im2col_layout(win, n, c, seed):
    """col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]."""
    kernel, stride, padding, dilation, (h, w) = win
    x = rand(seed, n, c, h, w)
    col = im2col(Tensor(x), kernel, stride, padding, dilation).data
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    assert col.shape == (c * kh * kw, n * oh * ow)
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                for ni in range(n):
                    for r in range(oh):
                        for q in range(ow):
                            assert (
                                col[(ci * kh + i) * kw + j, (ni * oh + r) * ow + q]
                                == xpad[ni, ci, r * sh + i * dh, q * sw + j * dw]
                            )


@given(window(), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2**31))
def test_col2im_of_im2col_counts_windows(win, n, c, seed):
    kernel, stride, padding, dilation, (h, w) = win
    x = rand(seed, n, c, h, w)
    back = col2im(
        im2col(Tensor(x), kernel, stride, padding, dilation), x.shape, kernel, stride, padding, dilation
    )
    np.testing.assert_allclose(
        back.data, x * window_counts(h, w, kernel, stride, padding, dilation), rtol=1e-12
    )


@given(window(), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2**31))
def test_im2col_col2im_adjoint(win, n, c, seed):
    """<im2col(x), m> == <x, col2im(m)> for any x and m: col2im is im2col's transpose."""
    kernel, stride, padding, dilation, (h, w) = win
    x = rand(seed, n, c, h, w)
    col = im2col(Tensor(x), kernel, stride, padding, dilation).data
    m = rand(seed + 1, *col.shape)
    back = col2im(Tensor(m), x.shape, kernel, stride, padding, dilation).data
    assert np.sum(col * m) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


@given(window(max_extra=2), st.integers(1, 2), st.integers(0, 2**31))
def test_im2col_and_col2im_gradcheck(win, c, seed):
    """Gradients of both nodes (Im2col and Col2im), and their second order: each one's
    backward is the other node, recorded under create_graph."""
    kernel, stride, padding, dilation, (h, w) = win
    x = Tensor(rand(seed, 1, c, h, w), requires_grad=True)
    assert tg.gradcheck(lambda t: im2col(t, kernel, stride, padding, dilation), [x])
    shape = im2col(x, kernel, stride, padding, dilation).shape
    m = Tensor(rand(seed + 1, *shape), requires_grad=True)
    assert tg.gradcheck(lambda t: col2im(t, x.shape, kernel, stride, padding, dilation), [m])

    def second(t):  # d/dt of <d im2col(t)^2 / dt, u>: goes through Col2im's backward (Im2col)
        col = im2col(t, kernel, stride, padding, dilation)
        (g,) = tg.grad((col * col).sum(), [t], create_graph=True)
        return g * Tensor(rand(seed + 2, *t.shape))

    assert tg.gradcheck(second, [x])


def test_im2col_documented_example():
    x = Tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    col = im2col(x, 2).data  # rows: (i, j) = (0,0), (0,1), (1,0), (1,1); columns: 4 windows
    np.testing.assert_array_equal(col, [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]])
    w = Tensor(np.arange(4.0).reshape(1, 1, 2, 2))
    np.testing.assert_array_equal((w.reshape(1, -1) @ col).data.ravel(), conv2d(x, w).data.ravel())


# ---- dtypes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    layer = nn.Conv2d(2, 3, 3, padding=1, dtype=dtype)
    x = Tensor(rand(0, 2, 2, 5, 5).astype(dtype), requires_grad=True)
    y = layer(x)
    assert y.dtype == dtype
    (y * y).sum().backward()
    assert x.grad.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == dtype
    col = im2col(x, 3, padding=1)
    assert col.dtype == dtype and col2im(col, x.shape, 3, padding=1).dtype == dtype


# ---- the layer ---------------------------------------------------------------------------------


def test_conv2d_layer_parameters_and_init():
    tg.manual_seed(0)
    layer = nn.Conv2d(4, 6, (3, 2))
    assert layer.weight.shape == (6, 4, 3, 2) and layer.bias.shape == (6,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = 1 / math.sqrt(4 * 3 * 2)  # PyTorch: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), ..)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    big = nn.Conv2d(8, 64, 3)
    assert np.abs(big.weight.data).max() > 0.9 / math.sqrt(72)  # fills the range
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert (
        repr(nn.Conv2d(1, 16, 3, padding=1))
        == "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )
    # the same seed draws the same weights
    tg.manual_seed(5)
    a = nn.Conv2d(2, 2, 3).weight.data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(nn.Conv2d(2, 2, 3).weight.data, a)


def test_conv2d_layer_trains_in_a_model():
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3)
    )
    x = Tensor(rand(0, 6, 1, 8, 8).astype(np.float32))
    y = np.array([0, 1, 2, 0, 1, 2])
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---- errors ------------------------------------------------------------------------------------


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv1(x)


def test_error_names_the_layer_and_shapes():
    with pytest.raises(
        ValueError, match=r"conv1 \(Conv2d\): expected input \(N, 3, H, W\), got \(8, 1, 28, 28\)"
    ):
        _Net()(Tensor(np.zeros((8, 1, 28, 28), np.float32)))
    with pytest.raises(
        ValueError, match=r"^Conv2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 28, 28\)"
    ):
        nn.Conv2d(1, 2, 3)(Tensor(np.zeros((1, 28, 28), np.float32)))
    with pytest.raises(
        TypeError, match=r"conv1 \(Conv2d\): input dtype float64 differs from the weight dtype float32"
    ):
        _Net()(Tensor(np.zeros((1, 3, 5, 5))))
    with pytest.raises(TypeError, match="floating point"):
        nn.Conv2d(1, 2, 3)(Tensor(np.zeros((1, 1, 5, 5), np.int64)))


def test_kernel_larger_than_padded_input():
    msg = (
        r"Conv2d: the kernel \(5, 5\) with dilation \(1, 1\) spans 5x5 pixels, more than the padded input 4x4"
    )
    with pytest.raises(ValueError, match=msg):
        nn.Conv2d(1, 1, 5, padding=1)(Tensor(np.zeros((1, 1, 2, 2), np.float32)))
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(3, 3\) with dilation \(2, 2\) spans 5x5"):
        conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 1, 3, 3))), dilation=2)
    with pytest.raises(ValueError, match=r"im2col: the kernel \(3, 1\)"):
        im2col(Tensor(np.zeros((1, 1, 2, 2))), (3, 1))


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="Conv2d: stride must be >= 1, got 0"):
        nn.Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match=r"conv2d: padding must be >= 0, got \(1, -1\)"):
        conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 1, 3, 3))), padding=(1, -1))
    with pytest.raises(TypeError, match="Conv2d: kernel_size must be an int or a pair of ints"):
        nn.Conv2d(1, 1, (3, 3, 3))
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(1, 1, 2.5)
    with pytest.raises(ValueError, match="Conv2d: in_channels must be a positive int"):
        nn.Conv2d(0, 1, 3)
    with pytest.raises(
        ValueError, match=r"conv2d: bias must have shape \(2,\) for weight shape \(2, 1, 3, 3\), got \(3,\)"
    ):
        conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((2, 1, 3, 3))), Tensor(np.zeros(3)))
    with pytest.raises(TypeError, match="conv2d: bias dtype float32 differs from the weight dtype float64"):
        conv2d(
            Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((2, 1, 3, 3))), Tensor(np.zeros(2, np.float32))
        )
    with pytest.raises(
        ValueError,
        match=r"col2im: for input_shape \(1, 1, 4, 4\) and kernel \(3, 3\) the columns "
        r"must have shape \(9, 4\)",
    ):
        col2im(Tensor(np.zeros((9, 5))), (1, 1, 4, 4), 3)


# ---- against torch (optional) ------------------------------------------------------------------


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_conv_and_maxpool_match_torch(dtype, tol):
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    conv = nn.Conv2d(3, 5, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1), dtype=dtype)
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    x = rand(1, 4, 3, 11, 9).astype(dtype)
    xt = Tensor(x, requires_grad=True)
    y = pool(conv(xt).relu())
    up = rand(2, *y.shape).astype(dtype)  # non-uniform upstream gradient
    y.backward(up)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(conv.weight.data, requires_grad=True)
    tb = torch.tensor(conv.bias.data, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(
        torch.relu(torch.nn.functional.conv2d(tx, tw, tb, (1, 2), (2, 1), (2, 1))), 3, 2, 1
    )
    assert y.shape == tuple(ty.shape)
    ty.backward(torch.tensor(up))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in ((xt, tx), (conv.weight, tw), (conv.bias, tb)):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=tol, atol=tol * 10)


# ---- transposed convolution (op node ConvTranspose2d) ------------------------------------------


def conv_transpose_loops(x, w, b, stride, padding, output_padding, dilation):
    """The definition: each input pixel adds w, scaled by its value, into a window of the output."""
    n_, c_, h, wd = x.shape
    _, oc_, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((n_, oc_, oh, ow)) + (0.0 if b is None else b[None, :, None, None])
    for n in range(n_):
        for c in range(c_):
            for r in range(h):
                for q in range(wd):
                    for i in range(kh):
                        for j in range(kw):
                            row, col = r * sh + i * dh - ph, q * sw + j * dw - pw
                            if 0 <= row < oh and 0 <= col < ow:
                                y[n, :, row, col] += x[n, c, r, q] * w[c, :, i, j]
    return y


@st.composite
def transposed_window(draw):
    """(kernel, stride, padding, output_padding, dilation, (H, W)) with an output of >= 1 pixel;
    output_padding may reach the dilation when that is larger than the stride."""
    parts = []
    for _ in range(2):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        op, p, h = draw(st.integers(0, max(s, d) - 1)), draw(st.integers(0, 2)), draw(st.integers(1, 3))
        if (h - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            p = 0
        parts.append((k, s, p, op, d, h))
    return tuple(zip(*parts))


@given(
    transposed_window(),
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(1, 3),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_conv_transpose2d_matches_its_definition(win, n, c, oc, with_bias, seed):
    kernel, stride, padding, op, dilation, (h, w) = win
    x, wt, b = rand(seed, n, c, h, w), rand(seed + 1, c, oc, *kernel), rand(seed + 2, oc)
    y = F.conv_transpose2d(
        Tensor(x), Tensor(wt), Tensor(b) if with_bias else None, stride, padding, op, 1, dilation
    )
    ref = conv_transpose_loops(x, wt, b if with_bias else None, stride, padding, op, dilation)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)


@given(window(), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2**31))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(win, n, c, oc, seed):
    """<conv2d(y, w), x> == <y, conv_transpose2d(x, w)>, output_padding filling the rows that
    the floor in conv2d's output size dropped."""
    kernel, stride, padding, dilation, (h, w) = win
    y = rand(seed, n, c, h, w)
    wt = rand(seed + 1, oc, c, *kernel)
    x = conv2d(Tensor(y), Tensor(wt), None, stride, padding, dilation)
    u = rand(seed + 2, *x.shape)
    back = [
        (h + 2 * p - d * (k - 1) - 1) % s for h, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
    ]
    if any(o >= max(s, d) for o, s, d in zip(back, stride, dilation)):
        return  # PyTorch's output_padding cannot restore that size either
    yt = F.conv_transpose2d(Tensor(u), Tensor(wt), None, stride, padding, back, 1, dilation)
    assert yt.shape == y.shape
    np.testing.assert_allclose((x.data * u).sum(), (y * yt.data).sum(), rtol=1e-10)


@given(transposed_window(), st.integers(1, 2), st.integers(1, 2), st.booleans(), st.integers(0, 2**31))
def test_conv_transpose2d_gradcheck(win, c, oc, with_bias, seed):
    kernel, stride, padding, op, dilation, (h, w) = win
    inputs = conv_inputs(seed, (2, c, h, w), (c, oc, *kernel), oc if with_bias else 0)

    def fn(x, wt, b=None):
        return F.conv_transpose2d(x, wt, b, stride, padding, op, 1, dilation)

    assert tg.gradcheck(fn, inputs)


def test_conv_transpose2d_second_order_gradcheck():
    """Also where output_padding >= stride (stride 1, dilation 2): the extra windows of the
    gradient's im2col are cut off, and the cut is differentiable too."""
    for stride, op, dilation in (((2, 1), (1, 0), (1, 2)), ((1, 1), (1, 1), (2, 2))):
        x = Tensor(rand(0, 1, 2, 3, 2), requires_grad=True)
        w = Tensor(rand(1, 2, 2, 2, 3), requires_grad=True)
        b = Tensor(rand(2, 2), requires_grad=True)

        def fn(x_, w_, b_, stride=stride, op=op, dilation=dilation):
            y = F.conv_transpose2d(x_, w_, b_, stride, 1, op, 1, dilation)
            gx, gw = tg.grad((y * y).sum(), [x_, w_], create_graph=True)
            return (gx * gx).sum() + (gw * Tensor(rand(5, *w_.shape))).sum()

        assert tg.gradcheck(fn, [x, w, b])


def test_conv_transpose2d_layer():
    tg.manual_seed(0)
    layer = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, dtype=np.float64)
    assert layer.weight.shape == (3, 4, 3, 3) and layer.bias.shape == (4,)
    bound = 1 / math.sqrt(4 * 9)  # PyTorch's fan_in: the weight's second axis times the kernel
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    x = rand(3, 2, 3, 5, 4)
    y = layer(Tensor(x))
    assert y.shape == (2, 4, 10, 8)  # stride 2 with output_padding 1 doubles the size exactly
    ref = conv_transpose_loops(x, layer.weight.data, layer.bias.data, (2, 2), (1, 1), (1, 1), (1, 1))
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)
    assert (
        repr(layer)
        == "ConvTranspose2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))"
    )
    assert nn.ConvTranspose2d(1, 1, 2, bias=False, device="cpu").bias is None


def test_conv_transpose2d_errors():
    with pytest.raises(ValueError, match="groups=2 is not supported, only groups=1"):
        nn.ConvTranspose2d(2, 2, 3, groups=2)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than the stride \(2, 2\)"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"deconv \(ConvTranspose2d\): expected input \(N, 2, H, W\)"):
        nn.Sequential(OrderedDict(deconv=nn.ConvTranspose2d(2, 3, 3)))(tg.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="the output would be -1x-1"):
        F.conv_transpose2d(tg.zeros(1, 1, 1, 1), tg.zeros(1, 1, 1, 1), padding=1)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.conv_transpose2d(tg.zeros(1, 2, 2, 2), tg.zeros(2, 3, 1, 1), tg.zeros(2))
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        nn.ConvTranspose2d(1, 1, 1, device="cuda")


def test_conv2d_takes_pytorchs_argument_order():
    # torch.nn.Conv2d(in, out, k, stride, padding, dilation, groups, bias, padding_mode, device, dtype)
    layer = nn.Conv2d(2, 4, 3, 1, 1, 1, 1, False, "zeros", "cpu", np.float64)
    assert layer.bias is None and layer.weight.dtype == np.float64 and layer.padding == (1, 1)
    with pytest.raises(ValueError, match="Conv2d: groups=2 is not supported, only groups=1"):
        nn.Conv2d(2, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: only padding_mode='zeros' is supported, got 'circular'"):
        nn.Conv2d(2, 4, 3, padding_mode="circular")
    with pytest.raises(ValueError, match="conv2d: groups=2 is not supported"):
        F.conv2d(tg.zeros(1, 2, 3, 3), tg.zeros(2, 1, 1, 1), groups=2)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_conv_transpose2d_matches_torch(dtype, tol):
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    layer = nn.ConvTranspose2d(
        3, 2, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 1), dilation=(1, 2), dtype=dtype
    )
    ref = torch.nn.ConvTranspose2d(
        3,
        2,
        (3, 2),
        stride=(2, 1),
        padding=(1, 0),
        output_padding=(1, 1),
        dilation=(1, 2),
        dtype=getattr(torch, np.dtype(dtype).name),
    )
    ref.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()}, strict=True)
    x = rand(1, 2, 3, 5, 4).astype(dtype)
    xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = layer(xt), ref(tx)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    up = rand(2, *y.shape).astype(dtype)
    y.backward(up)
    ty.backward(torch.tensor(up))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in ((xt, tx), (layer.weight, ref.weight), (layer.bias, ref.bias)):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=tol, atol=tol * 10)


def test_small_cnn_overfits_64_mnist_images():
    """Training sanity: a small CNN drives the loss on 64 real digits to near zero."""
    from tinygrad_kr import datasets

    images, labels = datasets.MNIST(subset="mini", train=True)
    x = Tensor((images[:64, None] / np.float32(255.0)).astype(np.float32))
    y = labels[:64]
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )
    opt = nn.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.02
    assert (model(x).data.argmax(axis=1) == y).all()
