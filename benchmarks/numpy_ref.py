"""numpy_ref: every workload's forward and backward written by hand in numpy, no framework.

One numpy call per math op, float32 throughout, SGD in place: the floor a numpy-based engine
can hope to reach, and the reference of the correctness guard.

The CNN keeps activations channel-major, (C, N, H, W), so that each convolution pass is one
GEMM whose result needs no transpose.  A 3x3 pad-1 convolution uses a "padded-row" flat layout:
every zero-padded image is flattened to (H+2)(W+2)+2 values, and for kernel offset (i, j) the
patch row of all outputs is the contiguous slice starting at i*(W+2)+j.  im2col is then 9 block
copies and col2im 9 shifted adds; outputs keep 2 junk columns per row, which views crop.
ReLU and 2x2 max-pool commute, so the pool runs first on the conv output (two np.maximum over
strided views) and ReLU on the 4x smaller result.
"""

from __future__ import annotations

import itertools

import numpy as np

from .run import Runner, register


def softmax_cross_entropy(z, y):
    """Mean cross-entropy of logits z:(N, C) and labels y:(N,) -> (loss, dloss/dz)."""
    n = len(y)
    rows = np.arange(n)
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) + zmax[:, 0] - z[rows, y]))
    e /= s
    e[rows, y] -= 1
    e *= 1.0 / n
    return loss, e


def sgd(params, grads, lr):
    for w, g in zip(params, grads):
        w -= lr * g


@register("numpy_ref", "mlp_step")
def mlp(p):
    params = W1, b1, W2, b2 = p.params()
    batches = itertools.cycle(zip(p.X, p.Y))

    def step():
        x, y = next(batches)
        h = x @ W1.T
        h += b1
        a = np.maximum(h, 0)
        z = a @ W2.T
        z += b2
        loss, dz = softmax_cross_entropy(z, y)
        da = dz @ W2
        da *= h > 0
        sgd(params, (da.T @ x, da.sum(axis=0), dz.T @ a, dz.sum(axis=0)), p.lr)
        return loss
    return step


def _padded(h, w):
    """Row width, output length per image and flat padded length of the padded-row layout."""
    return w + 2, h * (w + 2), (h + 2) * (w + 2) + 2


def im2col(x):
    """x:(C, N, H, W) -> col:(C*9, N*H*(W+2)), rows ordered (c, i, j) like W.reshape(OC, -1)."""
    c, n, h, w = x.shape
    wp, length, flat = _padded(h, w)
    xp = np.zeros((c, n, flat), x.dtype)
    xp[:, :, :flat - 2].reshape(c, n, h + 2, wp)[:, :, 1:-1, 1:-1] = x
    col = np.empty((c, 3, 3, n, length), x.dtype)
    for i in range(3):
        for j in range(3):
            col[:, i, j] = xp[:, :, i * wp + j:i * wp + j + length]
    return col.reshape(c * 9, n * length)


def col2im(dcol, shape):
    """Adjoint of im2col: dcol:(C*9, N*H*(W+2)) -> dx:(C, N, H, W) (a view)."""
    c, n, h, w = shape
    wp, length, flat = _padded(h, w)
    dcol = dcol.reshape(c, 3, 3, n, length)
    dxp = np.zeros((c, n, flat), dcol.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i * wp + j:i * wp + j + length] += dcol[:, i, j]
    return dxp[:, :, :flat - 2].reshape(c, n, h + 2, wp)[:, :, 1:-1, 1:-1]


def conv3x3(x, W, b):
    """x:(C, N, H, W) -> (y:(OC, N, H, W+2) in padded-row layout, col)."""
    c, n, h, w = x.shape
    col = im2col(x)
    y = W.reshape(len(W), -1) @ col
    y += b[:, None]
    return y.reshape(len(W), n, h, w + 2), col


def conv3x3_backward(dy, col, W, x_shape=None):
    """dy:(OC, N, H, W+2) with zero junk columns -> (dx or None, dW, db).

    dW is computed as (col @ dy^T)^T: the orientation dy @ col^T has the same FLOPs, but
    OpenBLAS threads it pathologically when the other core is busy."""
    dy = dy.reshape(len(W), -1)
    dW = (col @ dy.T).T.reshape(W.shape)
    dx = None if x_shape is None else col2im(W.reshape(len(W), -1).T @ dy, x_shape)
    return dx, dW, dy.sum(axis=1)


def pool_relu(y, w):
    """relu(maxpool2x2(y[..., :w])) for y:(C, N, H, W+2) -> (C, N, H/2, w/2)."""
    m = np.maximum(y[:, :, 0::2], y[:, :, 1::2])
    p = np.maximum(m[..., 0:w:2], m[..., 1:w:2])
    return np.maximum(p, 0, out=p)


def pool_relu_backward(dp, y, p):
    """Gradient of pool_relu in y's padded-row layout: each window's gradient goes to the
    position(s) equal to its max, only where the max is positive (ReLU).  Ties other than
    between non-positive values (whose gradient is 0) do not occur with float data."""
    g = dp * (p > 0)
    w = 2 * p.shape[-1]
    dy = np.empty_like(y)
    dy[..., w:] = 0
    for a in (0, 1):
        for b in (0, 1):
            np.multiply(y[:, :, a::2, b:w:2] == p, g, out=dy[:, :, a::2, b:w:2])
    return dy


@register("numpy_ref", "cnn_step")
def cnn(p):
    params = Wc1, bc1, Wc2, bc2, Wf, bf = p.params()
    batches = itertools.cycle(zip(p.X, p.Y))

    def step():
        x, y = next(batches)
        n = len(x)
        x = x.transpose(1, 0, 2, 3)                  # (1, N, 28, 28): free since C == 1
        y1, col1 = conv3x3(x, Wc1, bc1)              # (16, N, 28, 30)
        p1 = pool_relu(y1, 28)                       # (16, N, 14, 14)
        y2, col2 = conv3x3(p1, Wc2, bc2)             # (32, N, 14, 16)
        p2 = pool_relu(y2, 14)                       # (32, N, 7, 7)
        flat = p2.transpose(1, 0, 2, 3).reshape(n, -1)
        z = flat @ Wf.T
        z += bf
        loss, dz = softmax_cross_entropy(z, y)
        dp2 = (dz @ Wf).reshape(n, *p2.shape[:1], *p2.shape[2:]).transpose(1, 0, 2, 3)
        dp1, dWc2, dbc2 = conv3x3_backward(pool_relu_backward(dp2, y2, p2), col2, Wc2, p1.shape)
        _, dWc1, dbc1 = conv3x3_backward(pool_relu_backward(dp1, y1, p1), col1, Wc1)
        sgd(params, (dWc1, dbc1, dWc2, dbc2, dz.T @ flat, dz.sum(axis=0)), p.lr)
        return loss
    return step


@register("numpy_ref", "op_overhead")
def op_chain(p):
    x0, cm, ca = p.x0.copy(), p.c_mul, p.c_add
    kinds = [k % 3 for k in range(p.n_ops)]          # 0: x*c_mul, 1: x+c_add, 2: tanh
    last = {}

    def step():
        v, saved = x0, []
        for kind in kinds:
            if kind == 0:
                v = v * cm
            elif kind == 1:
                v = v + ca
            else:
                v = np.tanh(v)
                saved.append(v)
        g = np.ones_like(v)                          # d(sum)/dv
        for kind in reversed(kinds):
            if kind == 0:
                g = g * cm
            elif kind == 2:
                t = saved.pop()
                g = g * (1 - t * t)
        last["g"] = g
        return float(v.sum())
    return Runner(step, check=lambda: {"grad_sum": float(last["g"].sum(dtype=np.float64))})


@register("numpy_ref", "big_matmul")
def matmul(p):
    A, B = p.params()
    last = {}

    def step():
        C = A @ B
        G = np.ones_like(C)                          # d(sum)/dC, materialized as an engine would
        last["dA"], last["dB"] = G @ B.T, A.T @ G
        return float(C.sum())
    return Runner(step, check=lambda: {"dA_sum": float(last["dA"].sum(dtype=np.float64)),
                                       "dB_sum": float(last["dB"].sum(dtype=np.float64))})
