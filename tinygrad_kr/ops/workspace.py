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
memory it keeps. A request is served by the smallest free buffer that holds it, whatever
shape it had before, so the workspace holds about what one step has alive at its peak. Each
thread has its own workspace; `clear()` frees the current thread's. `TINYGRAD_KR_WORKSPACE_MB`
(default 512) caps what a workspace keeps; 0 turns it off.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

__all__ = ["empty", "empty_like", "zeros", "clear", "held_bytes", "MIN_BYTES"]

MIN_BYTES = 256 * 1024
_SLACK = 4  # a free buffer serves requests down to 1/_SLACK of its size
_CAP = int(float(os.environ.get("TINYGRAD_KR_WORKSPACE_MB", "512")) * 2**20)


class _Workspace(threading.local):
    def __init__(self) -> None:
        self.buffers: list = []  # raw uint8 arrays, smallest first
        self.nbytes = 0  # what they hold
        self.high = 0  # the most bytes of workspace memory ever in use at once


_local = _Workspace()


def empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype`, in reused memory when
    possible: the smallest free buffer that holds it (and is at most twice its size)."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or _CAP <= 0:
        return np.empty(shape, dtype)
    kept = _local.buffers
    busy = nbytes
    for raw in kept:
        # 3 references: the list, this loop's variable and getrefcount's argument: no one else
        # (an array handed out earlier is a view of raw, so it counts as a reference)
        if sys.getrefcount(raw) == 3:
            if nbytes <= raw.size <= _SLACK * nbytes:
                return raw[:nbytes].view(dtype).reshape(shape)
        else:
            busy += raw.size
    raw = np.empty(nbytes, np.uint8)
    # The workspace keeps at most what was ever in use at once (its high-water mark), so it
    # holds no more memory than a step needs at its busiest moment anyway.
    _local.high = max(_local.high, busy)
    if _local.nbytes + nbytes <= min(_CAP, _local.high):
        kept.append(raw)
        kept.sort(key=len)
        _local.nbytes += nbytes
    return raw.view(dtype).reshape(shape)


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


def held_bytes() -> int:
    """The bytes this thread's workspace holds (in use or free)."""
    return _local.nbytes


def clear() -> None:
    """Forget this thread's buffers (arrays still in use stay valid)."""
    _local.buffers.clear()
    _local.nbytes = _local.high = 0
