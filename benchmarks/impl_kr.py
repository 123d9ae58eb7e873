"""tinygrad_kr: our engine and its nn package, used the way the README shows users.

Only the Problem attributes shared with the team's anchors harness are used, so
benchmarks/kr_anchor.py can register these factories there unchanged.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from . import run
from .run import Runner, Unavailable, register


def _engine():
    try:
        import tinygrad_kr
    except ImportError as e:
        raise Unavailable(f"tinygrad_kr not importable ({e})") from None
    return tinygrad_kr


def _nn():
    tg = _engine()
    try:
        from tinygrad_kr import nn
    except ImportError:  # an older tinygrad_kr, with nn beside it
        try:
            import nn
        except ImportError as e:
            raise Unavailable(f"nn not importable ({e})") from None
    del tg
    return nn, nn.functional


def _setup(p, build):
    """The model from build(nn) -> (model, layers holding weights), loaded with p's weights in
    order, its SGD optimizer and p's batches as Tensors."""
    nn, _ = _nn()
    Tensor = _engine().Tensor
    model, layers = build(nn)
    weights = iter(p.params())
    for layer in layers:
        layer.weight.data[...] = next(weights)
        layer.bias.data[...] = next(weights)
    opt = nn.optim.SGD(model.parameters(), lr=p.lr)
    return model, opt, [(Tensor(x), Tensor(y)) for x, y in zip(p.X, p.Y)]


def _train_step(model, opt, x, y):
    _, F = _nn()
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return float(loss.data)


def _classifier(p, build, notes=()):
    """Training step of the model from build(nn), with cross-entropy and SGD, cycling p's batches."""
    model, opt, data = _setup(p, build)
    batches = itertools.cycle(data)

    def step():
        return _train_step(model, opt, *next(batches))
    params = list(model.parameters())
    return Runner(step, check=lambda: {"grad_dtypes": ",".join(sorted(
        {str(q.grad.data.dtype) for q in params if q.grad is not None}))}, held=_workspace_bytes(),
        notes=list(notes))


_KERNELS_READY: list = []  # seconds the first use of the compiled kernels took in this process


def _compiled_notes():
    """The compiled (numba) pooling kernels compile, or load from numba's cache, on first use:
    that happens here, untimed, and the report gives how long it took."""
    try:
        from tinygrad_kr.ops import compiled
    except ImportError:  # an engine without compiled kernels
        return []
    if not compiled.AVAILABLE:
        return []
    if not _KERNELS_READY:
        t0 = time.perf_counter()
        for dtype in (np.float32, np.float64):
            x = np.zeros((1, 1, 2, 2), dtype)
            y, code, gx = np.empty((1, 1, 1, 1), dtype), np.empty((1, 1, 1, 1), np.uint8), x.copy()
            for relu in (False, True):
                compiled.max_pool_2x2(x, y, code, relu)
                compiled.scatter_2x2(y, code, y if relu else None, gx)
        _KERNELS_READY.append(time.perf_counter() - t0)
    return [f"numba kernels: first use {_KERNELS_READY[0]:.2f} s (compiling, or loading numba's "
            "cache), outside the timed steps"]


def _workspace_bytes():
    """The engine keeps big temporaries for reuse (tinygrad_kr/ops/workspace.py): the memory
    probe counts what the workspace holds as used memory."""
    try:
        from tinygrad_kr.ops import workspace
    except ImportError:  # an engine without a workspace
        return None
    return workspace.held_bytes


@register("tinygrad_kr", "mlp_step")
def mlp(p):
    def build(nn):
        layers = [nn.Linear(784, 256), nn.Linear(256, 10)]
        return nn.Sequential(layers[0], nn.ReLU(), layers[1]), layers
    return _classifier(p, build)


def _relu_pool(nn, fused):
    """ReLU then 2x2 max pooling: two layers, or the one fused layer (nn.ReLUMaxPool2d)."""
    return [nn.ReLUMaxPool2d(2)] if fused else [nn.ReLU(), nn.MaxPool2d(2)]


def _cnn(p, fused):
    def build(nn):
        layers = [nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1),
                  nn.Linear(1568, 10)]
        return nn.Sequential(layers[0], *_relu_pool(nn, fused), layers[1], *_relu_pool(nn, fused),
                             nn.Flatten(), layers[2]), layers
    return _classifier(p, build, _compiled_notes())


@register("tinygrad_kr", "cnn_step")
def cnn(p):
    return _cnn(p, fused=False)


@register("tinygrad_kr_fused", "cnn_step")
def cnn_fused(p):
    _fused_available()
    return _cnn(p, fused=True)


def _fused_available():
    nn, _ = _nn()
    if not hasattr(nn, "ReLUMaxPool2d"):
        raise Unavailable("this tinygrad_kr has no nn.ReLUMaxPool2d")


def _epoch(p, build):
    """One epoch over p's batches of the model from build(nn); returns the mean loss."""
    model, opt, batches = _setup(p, build)

    def epoch():
        return sum(_train_step(model, opt, x, y) for x, y in batches) / len(batches)
    return Runner(epoch, notes=_compiled_notes())


def _fashion(p, fused):
    def build(nn):
        layers = [nn.Conv2d(1, 10, 3, padding=1), nn.Linear(1960, 100), nn.Linear(100, 10)]
        return nn.Sequential(layers[0], *_relu_pool(nn, fused), nn.Flatten(),
                             layers[1], nn.ReLU(), layers[2]), layers
    return _epoch(p, build)


@register("tinygrad_kr", "fashion_epoch")
def fashion_epoch(p):
    return _fashion(p, fused=False)


@register("tinygrad_kr_fused", "fashion_epoch")
def fashion_epoch_fused(p):
    _fused_available()
    return _fashion(p, fused=True)


@register("tinygrad_kr", "mlp_epoch")
def mlp_epoch(p):
    hidden = p.param_list[0].shape[0]

    def build(nn):
        layers = [nn.Linear(784, hidden), nn.Linear(hidden, 10)]
        return nn.Sequential(layers[0], nn.ReLU(), layers[1]), layers
    return _epoch(p, build)


@register("tinygrad_kr", "quickstart")
def quickstart(p):
    import subprocess
    import sys
    import tempfile

    def run_once():
        spinner = run.start_spinner() if p.busy else None
        try:
            with tempfile.TemporaryDirectory() as out:
                subprocess.run([sys.executable, p.script, "--out", out], check=True,
                               capture_output=True, timeout=900)
        finally:
            if spinner is not None:
                run.stop_spinner(spinner)
        return 0.0
    return Runner(run_once, traced=False)


@register("tinygrad_kr", "op_overhead")
def op_chain(p):
    x = _engine().Tensor(p.x0.copy(), requires_grad=True)

    def step():
        x.grad = None
        s = run.op_chain(x, p.n_ops, p.c_mul, p.c_add, lambda v: v.tanh()).sum()
        s.backward()
        return float(s.data)
    return Runner(step, check=lambda: {"grad_sum": float(x.grad.data.sum(dtype=np.float64)),
                                       "grad_dtypes": str(x.grad.data.dtype)})


@register("tinygrad_kr", "big_matmul")
def matmul(p):
    A, B = (_engine().Tensor(a, requires_grad=True) for a in p.params())

    def step():
        A.grad = B.grad = None
        s = (A @ B).sum()
        s.backward()
        return float(s.data)
    return Runner(step, check=lambda: {"dA_sum": float(A.grad.data.sum(dtype=np.float64)),
                                       "dB_sum": float(B.grad.data.sum(dtype=np.float64))})
