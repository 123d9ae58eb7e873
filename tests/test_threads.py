"""The engine's choice of BLAS threads: one thread while other programs keep a core busy."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import threads

pytest.importorskip("threadpoolctl")


@pytest.fixture
def policy(monkeypatch):
    p = threads._Policy()
    monkeypatch.setattr(threads, "_policy", p)
    if p.blas() is None:
        pytest.skip("threadpoolctl finds no BLAS to drive")
    yield p
    p.apply(p.default)


def test_a_fixed_count_is_applied_and_none_restores_numpys(policy):
    tg.set_blas_threads(1)
    assert tg.blas_threads() == 1
    tg.set_blas_threads(None)
    assert tg.blas_threads() == policy.default
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_blas_threads"):
            tg.set_blas_threads(bad)


def test_other_processes_busy_means_one_thread_until_idle_again(policy, monkeypatch):
    samples = iter([(0.0, 0.0, 0.0), (1.0, 1.6, 0.9), (2.0, 3.2, 1.8), (3.0, 4.3, 2.8)])
    monkeypatch.setattr(threads, "_sample", lambda now: next(samples))
    policy.check()  # the first sample only starts the measurement
    assert tg.blas_threads() == policy.default
    policy.next_sample = 0
    policy.check()  # others used 1.6 - 0.9 = 0.7 cores: busy
    assert tg.blas_threads() == 1
    policy.next_sample = 0
    policy.check()  # still busy (0.7 cores)
    assert tg.blas_threads() == 1
    policy.next_sample = 0
    policy.check()  # 1.1 - 1.0 = 0.1 cores: idle again
    assert tg.blas_threads() == policy.default


def test_results_do_not_depend_on_the_thread_count_beyond_float32_rounding(policy):
    rng = np.random.default_rng(0)
    a = tg.Tensor(rng.standard_normal((256, 512)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(rng.standard_normal((512, 384)).astype(np.float32))
    results = []
    for n in (1, max(policy.default, 2)):
        tg.set_blas_threads(n)
        a.grad = None
        y = a @ b
        (y * y).sum().backward()
        results.append((y.data.copy(), a.grad.data.copy()))
    tg.set_blas_threads(None)
    for one, many in zip(*results):
        np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-3)
