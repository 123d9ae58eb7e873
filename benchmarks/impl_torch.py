"""torch: eager PyTorch on the CPU, written the way its users write it (optional dependency)."""

from __future__ import annotations

import itertools

from . import run
from .run import Runner, Unavailable, register


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Unavailable(f"torch not installed ({e})") from None
    return torch


def _setup(p, layers):
    """nn.Sequential(*layers(torch.nn)) with p's weights, its SGD optimizer and p's batches."""
    torch = _torch()
    model = torch.nn.Sequential(*layers(torch.nn))
    with torch.no_grad():
        for param, a in zip(model.parameters(), p.params()):
            param.copy_(torch.from_numpy(a))
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    return model, opt, [tuple(map(torch.from_numpy, xy)) for xy in zip(p.X, p.Y)]


def _train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = _torch().nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _classifier(p, layers):
    """A training step with p's weights, CE loss and SGD, cycling p's batches."""
    model, opt, data = _setup(p, layers)
    batches = itertools.cycle(data)
    return Runner(lambda: _train_step(model, opt, *next(batches)), traced=False)


@register("torch", "mlp_step")
def mlp(p):
    return _classifier(p, lambda nn: [nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)])


@register("torch", "cnn_step")
def cnn(p):
    return _classifier(p, lambda nn: [
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10)])


def _epoch(p, layers):
    """One epoch over p's batches; returns the mean loss."""
    model, opt, batches = _setup(p, layers)
    return Runner(lambda: sum(_train_step(model, opt, x, y) for x, y in batches) / len(batches),
                  traced=False)


@register("torch", "fashion_epoch")
def fashion_epoch(p):
    return _epoch(p, lambda nn: [nn.Conv2d(1, 10, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(1960, 100), nn.ReLU(), nn.Linear(100, 10)])


@register("torch", "mlp_epoch")
def mlp_epoch(p):
    hidden = p.param_list[0].shape[0]
    return _epoch(p, lambda nn: [nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)])


@register("torch", "op_overhead")
def op_chain(p):
    torch = _torch()
    x = torch.tensor(p.x0, requires_grad=True)

    def step():
        x.grad = None
        s = run.op_chain(x, p.n_ops, p.c_mul, p.c_add, torch.tanh).sum()
        s.backward()
        return s.item()
    return Runner(step, check=lambda: {"grad_sum": x.grad.double().sum().item()}, traced=False)


@register("torch", "big_matmul")
def matmul(p):
    torch = _torch()
    A, B = (torch.from_numpy(a).requires_grad_() for a in p.params())

    def step():
        A.grad = B.grad = None
        s = (A @ B).sum()
        s.backward()
        return s.item()
    return Runner(step, check=lambda: {"dA_sum": A.grad.double().sum().item(),
                                       "dB_sum": B.grad.double().sum().item()}, traced=False)
