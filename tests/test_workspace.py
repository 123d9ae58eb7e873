"""The workspace hands an array out again only when nothing else refers to it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tinygrad_kr.ops import workspace as W

BIG = (512, 256)  # 512 KiB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def fresh():
    W.clear()
    yield
    W.clear()


def _addr(a):
    return a.__array_interface__["data"][0]


def test_an_array_in_use_is_never_handed_out_again():
    a = W.empty(BIG, np.float32)
    a[...] = 1.0
    b = W.empty(BIG, np.float32)
    assert not np.shares_memory(a, b)
    b[...] = 2.0
    assert (a == 1.0).all()


def test_a_view_keeps_its_buffer_in_use():
    a = W.empty(BIG, np.float32)
    view = a.T[1:]
    del a
    b = W.empty(BIG, np.float32)
    assert not np.shares_memory(view, b)


def test_a_released_array_is_reused_for_any_shape_that_fits():
    a = W.empty(BIG, np.float32)
    W.empty(BIG, np.float32)  # (two in use at once: the workspace may keep both)
    first = _addr(a)
    del a
    c = W.empty((256, 256), np.float64)  # the same bytes, another shape and dtype
    assert _addr(c) == first and c.shape == (256, 256) and c.dtype == np.float64


def test_small_arrays_and_a_zero_cap_bypass_it(monkeypatch):
    small = W.empty((10, 10), np.float32)
    assert small.flags.owndata and W.held_bytes() == 0
    monkeypatch.setattr(W, "_CAP", 0)
    W.empty(BIG, np.float32)
    assert W.held_bytes() == 0


def test_it_keeps_no_more_than_was_ever_in_use_at_once():
    for _ in range(3):  # three sequential steps, each with two big arrays alive at once
        a = W.empty(BIG, np.float32)
        b = W.empty(BIG, np.float32)
        del a, b
    assert W.held_bytes() <= 2 * np.prod(BIG) * 4


def test_zeros_are_zero_even_in_reused_memory():
    a = W.empty(BIG, np.float32)
    W.empty(BIG, np.float32)
    a[...] = 7.0
    del a
    assert (W.zeros(BIG, np.float32) == 0).all()


def test_each_thread_has_its_own_workspace():
    W.empty(BIG, np.float32)
    held = []
    t = threading.Thread(target=lambda: held.append(W.held_bytes()))
    t.start()
    t.join()
    assert held == [0]


def test_empty_like_keeps_the_memory_order():
    x = np.empty((4, 8, 64, 64), np.float32).transpose(1, 0, 2, 3)  # channel-major
    y = W.empty_like(x)
    assert y.shape == x.shape and y.strides == x.strides
