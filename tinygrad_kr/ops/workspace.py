"""Reusable memory for the big temporaries of convolution and pooling.

Why: numpy gets a large array from the C allocator, which maps fresh pages from the kernel
for it and gives them back when the array is freed. A CNN training step makes the same big
temporaries every step (im2col columns, padded images, pooling outputs and their gradients),
so every step touches thousands of fresh pages: measured here, about 6,600 minor page faults
and 19-24 ms of system time per step of the benchmark's CNN, out of about 50 ms. Arrays taken
from this workspace keep their pages: the next step finds them mapped.

Safe by construction: an array is handed out again only when nothing but the workspace refers
to it (its reference count says so). A buffer that became an op's output, a saved value or a
gradient stays untouched while any tensor, view or node still holds it.

Small arrays (under `MIN_BYTES`) come straight from numpy: the allocator serves those from
memory it keeps. Each thread has its own workspace; `clear()` frees the current thread's.
`TINYGRAD_KR_WORKSPACE_MB` (default 512) caps what a workspace keeps; 0 turns it off.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

__all__ = ["empty", "empty_like", "zeros", "clear", "MIN_BYTES"]

MIN_BYTES = 256 * 1024
_PER_SHAPE = 4  # buffers kept per (shape, dtype): a step rarely holds more than this at once
_CAP = int(float(os.environ.get("TINYGRAD_KR_WORKSPACE_MB", "512")) * 2**20)


class _Workspace(threading.local):
    def __init__(self) -> None:
        self.buffers: dict = {}  # (shape, dtype) -> list of arrays
        self.nbytes = 0


_local = _Workspace()


def empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype`, reused when possible."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or _CAP <= 0:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype)
    kept = _local.buffers.setdefault(key, [])
    for buf in kept:
        # 3 references: the list, this loop's variable and getrefcount's argument: no one else
        if sys.getrefcount(buf) == 3:
            return buf
    buf = np.empty(shape, dtype)
    if len(kept) < _PER_SHAPE and _local.nbytes + nbytes <= _CAP:
        kept.append(buf)
        _local.nbytes += nbytes
    return buf


def empty_like(a: np.ndarray, dtype=None) -> np.ndarray:
    """Like np.empty_like(a) (a's memory order kept, as numpy's ufuncs keep it), reused when
    possible."""
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    if a.flags.c_contiguous or a.ndim < 2:
        return empty(a.shape, dtype)
    order = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))  # outermost axis first
    buf = empty(tuple(a.shape[i] for i in order), dtype)
    return buf.transpose([order.index(i) for i in range(a.ndim)])


def zeros(shape: tuple, dtype) -> np.ndarray:
    """Like `empty`, filled with zeros."""
    buf = empty(shape, dtype)
    buf.fill(0)
    return buf


def clear() -> None:
    """Forget this thread's buffers (arrays still in use stay valid)."""
    _local.buffers.clear()
    _local.nbytes = 0
