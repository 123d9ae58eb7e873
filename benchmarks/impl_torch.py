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


def _classifier(p, layers):
    """A training step of nn.Sequential(*layers(torch.nn)) with p's weights, CE loss and SGD."""
    torch = _torch()
    model = torch.nn.Sequential(*layers(torch.nn))
    with torch.no_grad():
        for param, a in zip(model.parameters(), p.params()):
            param.copy_(torch.from_numpy(a))
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    batches = itertools.cycle([tuple(map(torch.from_numpy, xy)) for xy in zip(p.X, p.Y)])

    def step():
        x, y = next(batches)
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return Runner(step, traced=False)


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
    """One epoch over p's batches of nn.Sequential(*layers(torch.nn)), CE loss and SGD."""
    torch = _torch()
    model = torch.nn.Sequential(*layers(torch.nn))
    with torch.no_grad():
        for param, a in zip(model.parameters(), p.params()):
            param.copy_(torch.from_numpy(a))
    opt = torch.optim.SGD(model.parameters(), lr=p.lr)
    batches = [tuple(map(torch.from_numpy, xy)) for xy in zip(p.X, p.Y)]

    def epoch():
        total = 0.0
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item()
        return total / len(batches)
    return Runner(epoch, traced=False)


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
