"""Memory stays flat over long training runs, and a finished graph is freed without the GC."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import nn
import tinygrad_kr as tg
from nn import functional as F


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 7 * 7, 10),
    )


def _step(model, opt, x, t):
    loss = F.cross_entropy(model(x), t)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def _nodes_of(t):
    return [weakref.ref(n) for n in tg.autograd.topological_order([t.grad_fn])]


@pytest.mark.parametrize("make,shape", [(_mlp, (32, 64)), (_cnn, (8, 1, 14, 14))])
def test_no_node_alive_after_a_training_step(make, shape):
    tg.manual_seed(0)
    model = make()
    opt = nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = tg.randn(*shape)
    t = tg.Tensor(np.arange(shape[0]) % 10)
    gc.collect()
    gc.disable()
    try:
        loss = F.cross_entropy(model(x), t)
        refs = _nodes_of(loss)
        assert len(refs) >= 4
        opt.zero_grad()
        loss.backward()
        opt.step()
        del loss
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"{len(alive)} nodes still alive: {alive[:5]}"
    finally:
        gc.enable()


@pytest.mark.slow
@pytest.mark.parametrize("make,shape,steps", [(_mlp, (32, 64), 2000), (_cnn, (8, 1, 14, 14), 200)])
def test_resident_memory_is_flat(make, shape, steps):
    tg.manual_seed(0)
    model = make()
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batches = [
        (tg.Tensor(rng.standard_normal(shape).astype(np.float32)), tg.Tensor(rng.integers(0, 10, shape[0])))
        for _ in range(4)
    ]
    after_100 = None
    for i in range(steps):
        _step(model, opt, *batches[i % 4])
        if i == 99:
            gc.collect()
            after_100 = _rss_bytes()
    gc.collect()
    end = _rss_bytes()
    assert end < after_100 * 1.05, (after_100, end)
