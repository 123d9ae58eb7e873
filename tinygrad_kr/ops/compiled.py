"""Compiled kernels for 2x2 max pooling (optional: numba, `pip install "tinygrad_kr[fast]"`).

Why: a 2x2 window with stride 2 strides by 2 along the innermost axis, which numpy cannot
vectorise: the numpy passes of conv.py (`_max_2x2`, `_MaxRoute.scatter`) took about 10 ms of a
35 ms CNN step here. These kernels do the same in one pass each way, optionally with the ReLU
that precedes the pooling (max and ReLU commute, see `ReLUMaxPool2d`).

The numpy code stays the reference: these kernels give the same values and the same routing
(the first maximum in window order on ties, the last NaN where a window holds NaN, the first
pixel of a window of only -inf), tested against it in tests/test_compiled_pool.py. They run
serially: numba's parallel kernels next to OpenBLAS's threads made the step slower, not faster.
They are used when numba can be imported, unless TINYGRAD_KR_NUMBA=0.

    AVAILABLE                  True when the kernels are used
    max_pool_2x2(x, relu)      -> (y, code): y = max (and ReLU) of each 2x2 window, code = its index
    scatter_2x2(gy, code, y, gx)   gx[window] = gy at the winning pixel (0 where y <= 0 if y is given)
"""

from __future__ import annotations

import os

import numpy as np

try:
    if os.environ.get("TINYGRAD_KR_NUMBA", "1") == "0":
        raise ImportError("turned off by TINYGRAD_KR_NUMBA=0")
    import numba
except ImportError:
    numba = None

AVAILABLE = numba is not None

__all__ = ["AVAILABLE", "max_pool_2x2", "scatter_2x2"]


def _outer_first(*arrays: np.ndarray) -> tuple:
    """The arrays with the axis that is outermost in memory first (channel-major (N, C, h, w)
    arrays become (C, N, h, w)), so the kernels' loops walk memory in order."""
    if arrays[0].strides[1] > arrays[0].strides[0]:
        return tuple(a.transpose(1, 0, 2, 3) for a in arrays)
    return arrays


if AVAILABLE:

    @numba.njit(cache=True, nogil=True)
    def _pool_kernel(x, y, code, relu):  # pragma: no cover - compiled
        A, B, OH, OW = y.shape
        for p in range(A):
            for q in range(B):
                for i in range(OH):
                    for j in range(OW):
                        best = x[p, q, 2 * i, 2 * j]
                        k = 0
                        v = x[p, q, 2 * i, 2 * j + 1]
                        if v > best or v != v:  # strictly greater, or NaN (the last NaN wins)
                            best = v
                            k = 1
                        v = x[p, q, 2 * i + 1, 2 * j]
                        if v > best or v != v:
                            best = v
                            k = 2
                        v = x[p, q, 2 * i + 1, 2 * j + 1]
                        if v > best or v != v:
                            best = v
                            k = 3
                        if relu and best <= 0:
                            best = 0.0
                        y[p, q, i, j] = best
                        code[p, q, i, j] = k

    @numba.njit(cache=True, nogil=True)
    def _scatter_kernel(gy, code, y, use_y, gx):  # pragma: no cover - compiled
        A, B, OH, OW = gy.shape
        for p in range(A):
            for q in range(B):
                for i in range(OH):
                    for j in range(OW):
                        g = gy[p, q, i, j]
                        if use_y and y[p, q, i, j] <= 0:  # the ReLU before the pooling (NaN passes)
                            g = 0.0
                        k = code[p, q, i, j]
                        gx[p, q, 2 * i, 2 * j] = g if k == 0 else 0.0
                        gx[p, q, 2 * i, 2 * j + 1] = g if k == 1 else 0.0
                        gx[p, q, 2 * i + 1, 2 * j] = g if k == 2 else 0.0
                        gx[p, q, 2 * i + 1, 2 * j + 1] = g if k == 3 else 0.0


def max_pool_2x2(x: np.ndarray, y: np.ndarray, code: np.ndarray, relu: bool) -> None:
    """Fill y (N, C, OH, OW) with the max of each 2x2 window of x (N, C, H, W) (then ReLU),
    and code (uint8) with the winner's index i*2 + j."""
    _pool_kernel(*_outer_first(x, y, code), relu)


def scatter_2x2(gy: np.ndarray, code: np.ndarray, y: np.ndarray | None, gx: np.ndarray) -> None:
    """Write gx's windows (N, C, 2*OH, 2*OW part): gy at the winning pixel, 0 elsewhere (and 0
    for the whole window where y <= 0, when the pooling's output y is given)."""
    use_y = y is not None
    gy, code, yy, gx = _outer_first(gy, code, y if use_y else gy, gx)
    _scatter_kernel(gy, code, yy, use_y, gx)
