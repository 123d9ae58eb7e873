"""Convolution and pooling nodes on NCHW tensors, built on one idea: a window offset is a view.

For a kernel offset (i, j), the input pixels that this offset touches, over all output
positions, form one strided view of the padded input: rows i*dh, i*dh + sh, ..., columns
j*dw, j*dw + sw, ... (`Geometry.offsets`). So

  im2col    = KH*KW block copies of those views into a matrix (then a convolution is ONE
              matrix product),
  col2im    = KH*KW shifted `+=` of the matrix blocks back into an image (never np.add.at),
  pooling   = a running max / sum over the KH*KW views, and its gradient KH*KW strided writes.

Layout: numpy ufuncs keep the memory order of their inputs, so the convolution produces its
output as a contiguous (OC, N, OH, OW) array and returns the (N, OC, OH, OW) transposed view.
ReLU and pooling then keep that channel-major memory, the next im2col reads it without a
transpose copy, and the gradients flowing back arrive channel-major too, so the gradient
matrix (OC, N*OH*OW) of the next convolution is a free reshape. Nothing here depends on the
layout for correctness: any strides work, the channel-major ones are just the fast ones.

Arguments are validated where the user's call enters (`nn.conv`, `nn.pooling`); the nodes
assume a valid `Geometry` and 4-D float inputs.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from .. import threads
from ..autograd import Function
from ..grad_mode import is_grad_enabled
from . import compiled, workspace
from .elementwise import Step, relu_mask

Pair = tuple[int, int]


class Geometry(NamedTuple):
    """Kernel size, stride, padding and dilation of a 2-D window, each as (height, width)."""

    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)

    def out_hw(self, h: int, w: int) -> Pair:
        """Output height and width for an (h, w) input (PyTorch's floor formula; may be <= 0)."""
        return (
            (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel[0] - 1) - 1) // self.stride[0] + 1,
            (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel[1] - 1) - 1) // self.stride[1] + 1,
        )

    def offsets(self, oh: int, ow: int) -> Iterator[tuple[int, int, slice, slice]]:
        """(i, j, rows, cols) per kernel offset in window order (row-major over the kernel).

        xp[..., rows, cols] of the padded input xp is the (oh, ow) grid of the pixels that
        offset (i, j) touches.
        """
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                yield i, j, rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)

    def tiles(self, hp: int, wp: int, oh: int, ow: int) -> bool:
        """True when the (oh, ow) windows cover every pixel of the (hp, wp) padded input
        exactly once: undilated windows as large as the stride, ending at the border."""
        return all(
            (k == 1 or d == 1) and k == s and s * o == size
            for k, s, d, o, size in zip(self.kernel, self.stride, self.dilation, (oh, ow), (hp, wp))
        )

    @property
    def overlapping(self) -> bool:
        """True when neighbouring windows share pixels (stride smaller than the window span)."""
        return any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))


def _is_channel_major(x: np.ndarray) -> bool:
    return x.strides[1] > x.strides[0]


def _alloc(shape: tuple, dtype, channel_major: bool, zero: bool = True) -> np.ndarray:
    """An (N, C, h, w) array from the workspace; channel-major: a (C, N, h, w) buffer seen
    through its transpose."""
    make = workspace.zeros if zero else workspace.empty
    if channel_major:
        n, c, h, w = shape
        return make((c, n, h, w), dtype).transpose(1, 0, 2, 3)
    return make(shape, dtype)


def _alloc_like(x: np.ndarray, shape: tuple, dtype=None, zero: bool = True) -> np.ndarray:
    """An (N, C, h, w) array in the memory order of the (N, C, H, W) array x."""
    return _alloc(shape, x.dtype if dtype is None else dtype, _is_channel_major(x), zero)


def _padded(x: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    """x: (N, C, H, W) padded with `value` on both sides of H and W, in x's memory order."""
    ph, pw = padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    xp = _alloc_like(x, (n, c, h + 2 * ph, w + 2 * pw), zero=value == 0)
    if value != 0:
        xp.fill(value)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    return xp


def _cropped(xp: np.ndarray, padding: Pair, h: int, w: int) -> np.ndarray:
    ph, pw = padding
    return xp[:, :, ph : ph + h, pw : pw + w] if ph or pw else xp


# --------------------------------------------------------------------------------------------
# im2col / col2im
# --------------------------------------------------------------------------------------------


def im2col_array(x: np.ndarray, g: Geometry) -> np.ndarray:
    """x: (N, C, H, W) -> col: (C*KH*KW, N*OH*OW), a new C-contiguous array.

    col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw],
    where xpad is x zero-padded by (ph, pw) on each side.
    """
    n, c, h, w = x.shape
    oh, ow = g.out_hw(h, w)
    kh, kw = g.kernel
    # channel-major source: copying (C, N, ...) blocks reads x in its (fast) memory order
    xp = _padded(x, g.padding).transpose(1, 0, 2, 3)
    col = workspace.empty((c, kh, kw, n, oh, ow), x.dtype)
    for i, j, rows, cols in g.offsets(oh, ow):
        col[:, i, j] = xp[:, :, rows, cols]
    return col.reshape(c * kh * kw, n * oh * ow)


def col2im_array(col: np.ndarray, x_shape: tuple, g: Geometry, grid: Pair | None = None) -> np.ndarray:
    """The adjoint of `im2col_array`: col (C*KH*KW, N*OH*OW) -> (N, C, H, W).

    Every column entry is added back to the pixel it was copied from, so a pixel receives
    the sum over all windows that contain it. The result is a channel-major view. grid: the
    (OH, OW) windows the columns hold, when fewer than g.out_hw(H, W) (a transposed
    convolution's output_padding adds pixels that no window reaches).
    """
    n, c, h, w = x_shape
    oh, ow = g.out_hw(h, w) if grid is None else grid
    (kh, kw), (ph, pw) = g.kernel, g.padding
    blocks = col.reshape(c, kh, kw, n, oh, ow)
    xp = workspace.zeros((c, n, h + 2 * ph, w + 2 * pw), col.dtype)
    for i, j, rows, cols in g.offsets(oh, ow):
        xp[:, :, rows, cols] += blocks[:, i, j]
    return _cropped(xp.transpose(1, 0, 2, 3), g.padding, h, w)


class Im2col(Function):
    """x: (N, C, H, W) -> (C*KH*KW, N*OH*OW) (layout in `im2col_array`). Backward: Col2im."""

    def __init__(self, geometry: Geometry):
        self.g = geometry

    def forward(self, x):
        self.x_shape = x.shape
        return im2col_array(x, self.g)

    def backward(self, gcol):
        return Col2im(self.x_shape, self.g)(gcol)


class Col2im(Function):
    """col: (C*KH*KW, N*OH*OW) -> (N, C, H, W), the adjoint of Im2col. Backward: Im2col."""

    def __init__(self, x_shape: tuple, geometry: Geometry):
        self.x_shape, self.g = tuple(x_shape), geometry

    def forward(self, col):
        return col2im_array(col, self.x_shape, self.g)

    def backward(self, gx):
        return Im2col(self.g)(gx)


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


class Conv2d(Function):
    """y = conv(x, w) + b (cross-correlation, like PyTorch), im2col + ONE matrix product.

    x: (N, C, H, W), w: (OC, C, KH, KW), b: (OC,) or absent. y: (N, OC, OH, OW), a view of
    a channel-major (OC, N, OH, OW) array.

    Backward, with gy as the matrix G = (OC, N*OH*OW) and col = im2col(x):
      dw = (col @ G^T)^T (summed over chunks of the long axis, see `_long_gemm`),
      dx = col2im(w^T @ G),   db = G summed over its columns.
    col is made again from x in backward (not kept) and the big temporaries come from the
    workspace; a recorded backward (create_graph) computes the same with Tensor ops (col as
    Im2col(x)), so higher derivatives work.
    """

    def __init__(self, geometry: Geometry):
        self.g = geometry

    def forward(self, x, w, b=None):
        threads.check()  # one BLAS thread while the machine is busy (see threads.py)
        n, _, h, wd = x.shape
        oc = w.shape[0]
        oh, ow = self.g.out_hw(h, wd)
        col = im2col_array(x, self.g)
        need_x, need_w = self.needs_input_grad[:2]  # gx needs w; gw needs the columns of x
        # x, not its columns, is kept: backward makes them again (about 1 ms of copying in the
        # benchmark's CNN step, 9 MB less memory at its peak)
        self.save_for_backward(x if need_w else None, w if need_x else None)
        self.x_shape, self.w_shape = x.shape, w.shape
        y = np.matmul(w.reshape(oc, -1), col, out=workspace.empty((oc, col.shape[1]), col.dtype))
        if b is not None:
            y += b[:, None]
        return y.reshape(oc, n, oh, ow).transpose(1, 0, 2, 3)

    def backward(self, gy):
        x, w = self.saved_tensors
        threads.check()
        needs = self.needs_input_grad
        oc = self.w_shape[0]
        gm = gy.transpose(1, 0, 2, 3).reshape(oc, -1)  # free when gy is channel-major
        gx = gw = None
        if is_grad_enabled():  # recorded: Tensor ops, and the columns as a function of x
            if needs[0]:
                gx = Col2im(self.x_shape, self.g)(w.reshape(oc, -1).T @ gm)
            if needs[1]:
                gw = (Im2col(self.g)(x) @ gm.T).T.reshape(self.w_shape)
        else:  # the same on arrays; the columns first, so that dcol can reuse their memory
            gm = gm.data
            if needs[1]:
                gw = _long_gemm(im2col_array(x.data, self.g), gm).T.reshape(self.w_shape)
            if needs[0]:
                w2 = w.data.reshape(oc, -1)
                dcol = np.matmul(w2.T, gm, out=workspace.empty((w2.shape[1], gm.shape[1]), gm.dtype))
                gx = col2im_array(dcol, self.x_shape, self.g)
        if len(needs) > 2:
            return gx, gw, gm.sum(axis=1) if needs[2] else None
        return gx, gw


def _long_gemm(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """a @ b.T for a: (K, L), b: (M, L) with a long L and small K, M (a convolution's weight
    gradient), as a sum over chunks of L. One call on the whole of L ran at 13-16 GFLOP/s here;
    chunks of 4096 at 31-70 (2.2x for (9, 50176) x (16, 50176), 4.4x for (144, 12544) x
    (32, 12544), float32, 2 cores): each chunk's operands stay in the cache."""
    L = a.shape[1]
    if L <= 2 * chunk:
        return a @ b.T
    out = a[:, :chunk] @ b[:, :chunk].T
    for start in range(chunk, L, chunk):
        out += a[:, start : start + chunk] @ b[:, start : start + chunk].T
    return out


class ConvTranspose2d(Function):
    """y = conv_transpose(x, w) + b: the adjoint of Conv2d (its gradient with respect to the
    input), as torch.nn.functional.conv_transpose2d (groups=1).

    x: (N, C, H, W), w: (C, OC, KH, KW) (PyTorch's layout: input channels first), b: (OC,) or
    absent. y: (N, OC, OH, OW) with OH = (H - 1)*sh - 2*ph + dh*(KH - 1) + oph + 1 (OW likewise;
    output_padding op adds rows that no window reaches). Each input pixel spreads w over a
    window of the output: one matrix product and col2im,

      col = w.reshape(C, OC*KH*KW).T @ X,   y = col2im(col)      (X: x as (C, N*H*W))

    Backward, with G = im2col(gy) restricted to the H x W windows: dx = w.reshape(C, -1) @ G
    (a Conv2d of gy with w), dw = X @ G^T, db = gy summed over (N, OH, OW); all Tensor ops, so
    higher derivatives work.
    """

    def __init__(self, geometry: Geometry, output_padding: Pair = (0, 0)):
        self.g, self.output_padding = geometry, output_padding

    def out_hw(self, h: int, w: int) -> Pair:
        """The output height and width for an (h, w) input."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.g
        oph, opw = self.output_padding
        return (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1, (w - 1) * sw - 2 * pw + dw * (
            kw - 1
        ) + opw + 1

    def forward(self, x, w, b=None):
        n, c, h, wd = self.x_shape = x.shape
        oc = w.shape[1]
        need_x, need_w = self.needs_input_grad[:2]  # gx needs w; gw needs x
        self.save_for_backward(x if need_w else None, w if need_x else None)
        self.w_shape = w.shape
        xm = x.transpose(1, 0, 2, 3).reshape(c, n * h * wd)  # free when x is channel-major
        col = w.reshape(c, -1).T @ xm
        y = col2im_array(col, (n, oc) + self.out_hw(h, wd), self.g, grid=(h, wd))
        if b is not None:
            y += b.reshape(1, oc, 1, 1)
        return y

    def backward(self, gy):
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        n, c, h, wd = self.x_shape
        col = Im2col(self.g)(gy)  # (OC*KH*KW, N*H'*W'), H' >= H
        hh, ww = self.g.out_hw(*gy.shape[2:])
        if (hh, ww) != (h, wd):  # output_padding >= stride (allowed with dilation): extra windows
            col = col.reshape(-1, n, hh, ww)[:, :, :h, :wd].reshape(-1, n * h * wd)
        gx = gw = None
        if needs[0]:
            gx = (w.reshape(c, -1) @ col).reshape(c, n, h, wd).transpose((1, 0, 2, 3))
        if needs[1]:
            gw = (x.transpose((1, 0, 2, 3)).reshape(c, -1) @ col.T).reshape(self.w_shape)
        if len(needs) > 2:
            return gx, gw, gy.sum(axis=(0, 2, 3)) if needs[2] else None
        return gx, gw


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------


class _MaxRoute:
    """Where each window's maximum sits: `code[n, c, oh, ow]` = the index i*KW + j of the
    winning offset (the first maximum in window order on ties, like PyTorch), plus what is
    needed to move values between the (N, C, H, W) input and the (N, C, OH, OW) output."""

    def __init__(self, code: np.ndarray, x: np.ndarray, g: Geometry):
        self.code, self.g, self.x_shape = code, g, x.shape
        self.channel_major = _is_channel_major(x)  # the gradient is made in x's memory order
        self.oh, self.ow = code.shape[2:]
        # x is not kept: only its shape and memory order

    def scatter(self, gy: np.ndarray, relu_y: np.ndarray | None = None) -> np.ndarray:
        """gy: (N, C, OH, OW) -> gx: (N, C, H, W), each gy entry sent to its window's max
        (and nothing where relu_y, the output of a ReLU before the pooling, is <= 0)."""
        n, c, h, w = self.x_shape
        g, code = self.g, self.code
        hp, wp = h + 2 * g.padding[0], w + 2 * g.padding[1]
        offsets = enumerate(g.offsets(self.oh, self.ow))
        if _is_channel_major(gy) != self.channel_major:  # mixed layouts make every pass slow
            src, gy = gy, _alloc(gy.shape, gy.dtype, self.channel_major, zero=False)
            gy[...] = src
        if compiled.AVAILABLE and _is_2x2(g):
            gx = _alloc((n, c, h, w), gy.dtype, self.channel_major, zero=not g.tiles(h, w, self.oh, self.ow))
            compiled.scatter_2x2(gy, code, relu_y, gx)
            return gx
        if relu_y is not None:
            gy = gy * relu_mask(relu_y)
        if g.overlapping:
            gxp = _alloc((n, c, hp, wp), gy.dtype, self.channel_major)
            for k, (_, _, rows, cols) in offsets:
                gxp[:, :, rows, cols] += gy * (code == k)
        else:  # every pixel is in at most one window: plain writes, zeros only if some are in none
            covered = g.tiles(hp, wp, self.oh, self.ow)
            gxp = _alloc((n, c, hp, wp), gy.dtype, self.channel_major, zero=not covered)
            for k, (_, _, rows, cols) in offsets:
                np.multiply(gy, code == k, out=gxp[:, :, rows, cols])
        return _cropped(gxp, g.padding, h, w)

    def gather(self, gx: np.ndarray) -> np.ndarray:
        """gx: (N, C, H, W) -> (N, C, OH, OW): the entry of gx at each window's max."""
        gxp = _padded(gx, self.g.padding)
        out = np.zeros(self.code.shape, gx.dtype)
        for k, (_, _, rows, cols) in enumerate(self.g.offsets(self.oh, self.ow)):
            out += gxp[:, :, rows, cols] * (self.code == k)
        return out


def _is_2x2(g: Geometry) -> bool:
    return g.kernel == g.stride == (2, 2) and g.padding == (0, 0) and g.dilation == (1, 1)


def _max_pool(x: np.ndarray, g: Geometry, relu: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(y, code) of max pooling x (then a ReLU on y when relu): compiled for 2x2 windows when
    numba is there, else numpy (a 2x2 fast path, and the general running maximum)."""
    n, c = x.shape[:2]
    oh, ow = g.out_hw(x.shape[2], x.shape[3])
    if _is_2x2(g) and compiled.AVAILABLE:
        y = _alloc_like(x, (n, c, oh, ow), zero=False)
        code = _alloc_like(x, (n, c, oh, ow), dtype=np.uint8, zero=False)
        compiled.max_pool_2x2(x, y, code, relu)
        return y, code
    y = None
    if _is_2x2(g):
        y, code = _max_2x2(x, oh, ow)
        if np.isnan(y).any():  # NaN routing needs the general pass
            y = None
    if y is None:
        y, code = _max_windows(x, g, oh, ow)
    if relu:
        np.maximum(y, 0, out=y)
    return y, code


def _max_2x2(x: np.ndarray, oh: int, ow: int) -> tuple[np.ndarray, np.ndarray]:
    """2x2 windows with stride 2, no padding: three np.maximum of strided views, and the
    first-max code from three comparisons (window a b / c d: top wins ties, then left).

    The code is assembled with byte-wide boolean ops: np.where/np.copyto(where=) on the same
    arrays cost several times more than the comparisons themselves.
    """
    a = x[:, :, 0 : 2 * oh : 2, 0 : 2 * ow : 2]
    b = x[:, :, 0 : 2 * oh : 2, 1 : 2 * ow : 2]
    c = x[:, :, 1 : 2 * oh : 2, 0 : 2 * ow : 2]
    d = x[:, :, 1 : 2 * oh : 2, 1 : 2 * ow : 2]
    def buf(dtype=None):  # the temporaries come from the workspace (see workspace.py)
        return workspace.empty_like(a, dtype)

    top = np.maximum(a, b, out=buf())
    bottom = np.maximum(c, d, out=buf())
    low = np.greater(bottom, top, out=buf(bool))
    right = np.greater(b, a, out=buf(bool))  # right-hand winner in the top row...
    bottom_right = np.greater(d, c, out=buf(bool))
    np.bitwise_xor(bottom_right, right, out=bottom_right)
    np.bitwise_and(bottom_right, low, out=bottom_right)
    np.bitwise_xor(right, bottom_right, out=right)  # ...or in the bottom row where low
    code = np.left_shift(low.view(np.uint8), 1, out=buf(np.uint8))
    code |= right.view(np.uint8)
    np.maximum(top, bottom, out=top)
    return top, code


def _first_inside(g: Geometry, h: int, w: int, oh: int, ow: int) -> np.ndarray:
    """(OH, OW): the index of the first kernel offset of each window that falls inside the
    (unpadded) image; where PyTorch starts each window, so an all -inf window routes there."""

    def first(k: int, s: int, p: int, d: int, size: int, n: int) -> np.ndarray:
        pos = np.arange(n)[:, None] * s - p + np.arange(k)[None, :] * d
        inside = (pos >= 0) & (pos < size)
        return np.where(inside.any(axis=1), inside.argmax(axis=1), 0)

    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g
    return first(kh, sh, ph, dh, h, oh)[:, None] * kw + first(kw, sw, pw, dw, w, ow)[None, :]


def _max_windows(x: np.ndarray, g: Geometry, oh: int, ow: int) -> tuple[np.ndarray, np.ndarray]:
    """Any window: a running maximum over the KH*KW offset views of the -inf padded input,
    starting from -inf at the window's first pixel inside the image; an offset's index is
    recorded where it is strictly greater (the first maximum wins ties). Where a window holds
    NaN (the maximum is NaN), its last NaN is recorded instead, as PyTorch does."""
    xp = _padded(x, g.padding, -np.inf)
    views = [xp[:, :, rows, cols] for _, _, rows, cols in g.offsets(oh, ow)]
    y = _alloc_like(x, (x.shape[0], x.shape[1], oh, ow), zero=False)
    code = np.empty_like(y, dtype=np.uint8 if len(views) < 256 else np.int32)
    first = _first_inside(g, x.shape[2], x.shape[3], oh, ow)
    for nan_aware in (False, True):
        y.fill(-np.inf)
        code[...] = first
        for k, v in enumerate(views):
            better = v > y
            if nan_aware:
                better |= np.isnan(v)
            np.copyto(code, k, where=better)
            np.maximum(y, v, out=y)
        if nan_aware or not np.isnan(y).any():
            break
    return y, code


class MaxPool2d(Function):
    """x: (N, C, H, W) -> y: (N, C, OH, OW), the maximum of each window (padding is -inf).

    The gradient goes to the position of the maximum; on ties, to the first maximum in
    window order (row-major over the kernel), like PyTorch; a window holding NaN sends it to
    its last NaN, and a window of only -inf to its first pixel inside the image, also like
    PyTorch. The routing is fixed by the forward, so the gradient's own derivative with
    respect to x is zero.
    """

    def __init__(self, geometry: Geometry):
        self.g = geometry

    def forward(self, x):
        y, code = _max_pool(x, self.g)
        self.save_for_backward(x, code)
        return y

    def backward(self, gy):
        x, code = self.saved_tensors  # x also keeps a recorded gradient connected to the input
        return RouteToMax(_MaxRoute(code.data, x.data, self.g))(gy, x)


class ReLUMaxPool2d(Function):
    """max_pool(relu(x)) as one node, computed as relu(max_pool(x)): max and ReLU commute, so
    the ReLU runs on the pooled output, 4x smaller for 2x2 windows. The same values and
    gradients as a ReLU node followed by a MaxPool2d node (ties, NaN and -inf included).

    x: (N, C, H, W) -> y: (N, C, OH, OW). Gradient: gy sent to each window's max position
    where y > 0, else nothing. Used by `nn.ReLUMaxPool2d` / `F.relu_max_pool2d`.
    """

    def __init__(self, geometry: Geometry):
        self.g = geometry

    def forward(self, x):
        y, code = _max_pool(x, self.g, relu=True)
        self.save_for_backward(x, code, y)
        return y

    def backward(self, gy):
        x, code, y = self.saved_tensors
        route = _MaxRoute(code.data, x.data, self.g)
        if is_grad_enabled():  # recorded: the ReLU's mask as a Step of y keeps it connected
            return RouteToMax(route)(gy * Step(nan=1.0)(y), x)
        return route.scatter(gy.data, y.data)


class RouteToMax(Function):
    """gy: (N, C, OH, OW) -> (N, C, H, W): each value sent to its window's max position
    (MaxPool2d's gradient). Linear in gy; its backward is GatherAtMax. The optional second
    input is the pooled x, whose gradient is zero (the routing does not change with x)."""

    def __init__(self, route: _MaxRoute):
        self.route = route

    def forward(self, gy, *x):
        return self.route.scatter(gy)

    def backward(self, ggx):
        return (GatherAtMax(self.route)(ggx),) + tuple(ggx * 0 for _ in self.edges[1:])


class GatherAtMax(Function):
    """gx: (N, C, H, W) -> (N, C, OH, OW): the entries at the windows' max positions.
    The adjoint of RouteToMax (and its backward)."""

    def __init__(self, route: _MaxRoute):
        self.route = route

    def forward(self, gx):
        return self.route.gather(gx)

    def backward(self, gy):
        return RouteToMax(self.route)(gy)


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------


def _avg_divisor(g: Geometry, h: int, w: int, oh: int, ow: int, count_include_pad: bool, dtype):
    """The number each window sum is divided by: KH*KW, or (count_include_pad=False) the
    number of real (non-padding) pixels in the window, as an (OH, OW) array."""
    if count_include_pad or g.padding == (0, 0):
        return dtype.type(g.kernel[0] * g.kernel[1])

    def real(k, s, p, d, size, n):
        pos = np.arange(n)[:, None] * s - p + np.arange(k)[None, :] * d
        return ((pos >= 0) & (pos < size)).sum(axis=1)

    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g
    return np.outer(real(kh, sh, ph, dh, h, oh), real(kw, sw, pw, dw, w, ow)).astype(dtype)


class AvgPool2d(Function):
    """x: (N, C, H, W) -> y: (N, C, OH, OW), each window's sum / divisor (zero padding).

    divisor = KH*KW (count_include_pad=True, PyTorch's default) or the number of non-padding
    pixels in the window. Linear in x; its backward is AvgPool2dTranspose.
    """

    def __init__(self, geometry: Geometry, count_include_pad: bool = True):
        self.g, self.count_include_pad = geometry, count_include_pad

    def forward(self, x):
        g = self.g
        n, c, h, w = self.x_shape = x.shape
        oh, ow = g.out_hw(h, w)
        xp = _padded(x, g.padding)
        y = _alloc_like(x, (n, c, oh, ow))
        for _, _, rows, cols in g.offsets(oh, ow):
            y += xp[:, :, rows, cols]
        y /= _avg_divisor(g, h, w, oh, ow, self.count_include_pad, x.dtype)
        return y

    def backward(self, gy):
        return AvgPool2dTranspose(self.x_shape, self.g, self.count_include_pad)(gy)


class AvgPool2dTranspose(Function):
    """gy: (N, C, OH, OW) -> (N, C, H, W): gy / divisor added to every pixel of its window.
    AvgPool2d's gradient and its adjoint; its backward is AvgPool2d."""

    def __init__(self, x_shape: tuple, geometry: Geometry, count_include_pad: bool = True):
        self.x_shape, self.g, self.count_include_pad = tuple(x_shape), geometry, count_include_pad

    def forward(self, gy):
        n, c, h, w = self.x_shape
        g = self.g
        oh, ow = gy.shape[2:]
        gxp = _alloc_like(gy, (n, c, h + 2 * g.padding[0], w + 2 * g.padding[1]))
        share = gy / _avg_divisor(g, h, w, oh, ow, self.count_include_pad, gy.dtype)
        for _, _, rows, cols in g.offsets(oh, ow):
            gxp[:, :, rows, cols] += share
        return _cropped(gxp, g.padding, h, w)

    def backward(self, ggx):
        return AvgPool2d(self.g, self.count_include_pad)(ggx)
