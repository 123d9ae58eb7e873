"""Optimizers, lr schedulers and gradient clipping.

Every optimizer branch is replayed step by step against its update rule written out here in
float64 numpy (independently of nn/optim), and, when torch is importable, against torch.optim.
Also: parameter groups, state_dict round trips (in memory and through tg.save), dtypes,
schedulers against their closed forms, clip_grad_norm_ against numpy, and the error cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_kr as tg
from nn import optim
from nn.optim.lr_scheduler import CosineAnnealingLR, StepLR
from nn.utils import clip_grad_norm_, clip_grad_value_

# --------------------------------------------------------------------------------------------
# A small least-squares problem: loss = 0.5 * sum((X @ W + b - Y)^2), params W (3, 2), b (2,)
# --------------------------------------------------------------------------------------------


def _problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 3))
    Y = rng.standard_normal((6, 2))
    params = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    return X.astype(dtype), Y.astype(dtype), [p.astype(dtype) for p in params]


def _np_grads(X, Y, W, b):
    """d/dW, d/db of 0.5 * sum((X W + b - Y)^2)."""
    R = X @ W + b - Y
    return [X.T @ R, R.sum(axis=0)]


def _loss_backward(X, Y, params):
    W, b = params
    r = tg.Tensor(X) @ W + b - tg.Tensor(Y)
    loss = (r * r).sum() * 0.5
    loss.backward()
    return loss.item()


# --------------------------------------------------------------------------------------------
# The update rules, written out independently (textbook form where it differs in rounding only)
# --------------------------------------------------------------------------------------------


def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    bufs = {}

    def step(i, p, g):
        g = g + weight_decay * p
        if momentum != 0:
            bufs[i] = g.copy() if i not in bufs else momentum * bufs[i] + (1 - dampening) * g
            g = g + momentum * bufs[i] if nesterov else bufs[i]
        return p - lr * g

    return step


def ref_adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    sums, steps = {}, {}

    def step(i, p, g):
        steps[i] = steps.get(i, 0) + 1
        g = g + weight_decay * p
        sums[i] = sums.get(i, initial_accumulator_value) + g**2
        lr_t = lr / (1 + (steps[i] - 1) * lr_decay)
        return p - lr_t * g / (np.sqrt(sums[i]) + eps)

    return step


def ref_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    v, m, b = {}, {}, {}

    def step(i, p, g):
        g = g + weight_decay * p
        v[i] = alpha * v.get(i, 0.0) + (1 - alpha) * g**2
        if centered:
            m[i] = alpha * m.get(i, 0.0) + (1 - alpha) * g
            denom = np.sqrt(v[i] - m[i] ** 2) + eps
        else:
            denom = np.sqrt(v[i]) + eps
        if momentum > 0:
            b[i] = momentum * b.get(i, 0.0) + g / denom
            return p - lr * b[i]
        return p - lr * g / denom

    return step


def ref_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    b1, b2 = betas
    m, v, vmax, steps = {}, {}, {}, {}

    def step(i, p, g):
        t = steps[i] = steps.get(i, 0) + 1
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m[i] = b1 * m.get(i, 0.0) + (1 - b1) * g
        v[i] = b2 * v.get(i, 0.0) + (1 - b2) * g**2
        if amsgrad:
            vmax[i] = np.maximum(vmax.get(i, 0.0), v[i])
        m_hat = m[i] / (1 - b1**t)
        v_hat = (vmax[i] if amsgrad else v[i]) / (1 - b2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


def ref_adamw(weight_decay=1e-2, **kw):
    return ref_adam(weight_decay=weight_decay, decoupled=True, **kw)


# (id, our class, reference, torch class name, kwargs)
CASES = [
    ("sgd", optim.SGD, ref_sgd, "SGD", dict(lr=0.05)),
    ("sgd-momentum", optim.SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.9)),
    ("sgd-dampening", optim.SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("sgd-nesterov", optim.SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd-wd", optim.SGD, ref_sgd, "SGD", dict(lr=0.05, weight_decay=0.1)),
    ("sgd-all", optim.SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.7, weight_decay=0.2, nesterov=True)),
    ("adagrad", optim.AdaGrad, ref_adagrad, "Adagrad", dict(lr=0.1)),
    ("adagrad-wd", optim.Adagrad, ref_adagrad, "Adagrad", dict(lr=0.1, weight_decay=0.3)),
    (
        "adagrad-decay-acc",
        optim.Adagrad,
        ref_adagrad,
        "Adagrad",
        dict(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.2, eps=1e-6),
    ),
    ("rmsprop", optim.RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01)),
    ("rmsprop-momentum", optim.RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01, momentum=0.9, alpha=0.9)),
    ("rmsprop-wd", optim.RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01, weight_decay=0.1)),
    ("rmsprop-centered", optim.RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("adam", optim.Adam, ref_adam, "Adam", dict(lr=0.1)),
    ("adam-wd", optim.Adam, ref_adam, "Adam", dict(lr=0.1, betas=(0.8, 0.99), weight_decay=0.1)),
    ("adam-amsgrad", optim.Adam, ref_adam, "Adam", dict(lr=0.1, amsgrad=True)),
    ("adamw", optim.AdamW, ref_adamw, "AdamW", dict(lr=0.1)),
    (
        "adamw-wd-amsgrad",
        optim.AdamW,
        ref_adamw,
        "AdamW",
        dict(lr=0.1, weight_decay=0.3, eps=1e-6, amsgrad=True),
    ),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, cls, ref, torch_name, kw", CASES, ids=CASE_IDS)
def test_update_rule_step_by_step(name, cls, ref, torch_name, kw):
    X, Y, init = _problem()
    params = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    opt = cls(params, **kw)
    rule = ref(**kw)
    expect = [p.copy() for p in init]
    for _ in range(6):
        opt.zero_grad()
        _loss_backward(X, Y, params)
        opt.step()
        grads = _np_grads(X, Y, *expect)
        expect = [rule(i, p, g) for i, (p, g) in enumerate(zip(expect, grads))]
        for p, e in zip(params, expect):
            np.testing.assert_allclose(p.data, e, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name, cls, ref, torch_name, kw", CASES, ids=CASE_IDS)
def test_matches_torch(name, cls, ref, torch_name, kw):
    torch = pytest.importorskip("torch")
    X, Y, init = _problem(seed=1)
    ours = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in init]
    opt = cls(ours, **kw)
    topt = getattr(torch.optim, torch_name)(theirs, **kw)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(5):
        opt.zero_grad()
        _loss_backward(X, Y, ours)
        opt.step()
        topt.zero_grad()
        r = Xt @ theirs[0] + theirs[1] - Yt
        ((r * r).sum() * 0.5).backward()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name, cls, ref, torch_name, kw", CASES, ids=CASE_IDS)
def test_float32_stays_float32_in_place(name, cls, ref, torch_name, kw):
    X, Y, init = _problem(seed=2, dtype=np.float32)
    params = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    arrays = [p.data for p in params]
    opt = cls(params, **kw)
    rule = ref(**kw)
    expect = [p.astype(np.float64) for p in init]
    for _ in range(3):
        opt.zero_grad()
        _loss_backward(X, Y, params)
        opt.step()
        grads = _np_grads(X.astype(np.float64), Y.astype(np.float64), *expect)
        expect = [rule(i, p, g) for i, (p, g) in enumerate(zip(expect, grads))]
    for p, a, e in zip(params, arrays, expect):
        assert p.data is a and p.dtype == np.float32
        np.testing.assert_allclose(p.data, e, rtol=2e-4, atol=2e-5)
    for st_ in opt.state.values():
        for v in st_.values():
            assert not isinstance(v, np.ndarray) or v.dtype == np.float32


@pytest.mark.parametrize("name, cls, ref, torch_name, kw", CASES, ids=CASE_IDS)
def test_skips_params_without_grad(name, cls, ref, torch_name, kw):
    used = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    unused = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    opt = cls([used, unused], **kw)
    for _ in range(2):
        (used * used).sum().backward()
        opt.step()
        opt.zero_grad()
    np.testing.assert_array_equal(unused.data, [3.0, 4.0])
    assert unused not in opt.state or not opt.state[unused]
    assert not np.array_equal(used.data, [1.0, -2.0])
    assert list(opt.state_dict()["state"]) == ([0] if opt.state.get(used) else [])


# --------------------------------------------------------------------------------------------
# Parameter groups
# --------------------------------------------------------------------------------------------


def test_param_groups_with_own_options():
    X, Y, init = _problem()
    W, b = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    opt = optim.SGD([{"params": [W]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[0]["momentum"] == 0.0 and opt.param_groups[1]["momentum"] == 0.5
    rule_w, rule_b = ref_sgd(0.1), ref_sgd(0.01, momentum=0.5)
    eW, eb = init[0].copy(), init[1].copy()
    for _ in range(3):
        opt.zero_grad()
        _loss_backward(X, Y, [W, b])
        opt.step()
        gW, gb = _np_grads(X, Y, eW, eb)
        eW, eb = rule_w(0, eW, gW), rule_b(1, eb, gb)
        np.testing.assert_allclose(W.data, eW, rtol=1e-12)
        np.testing.assert_allclose(b.data, eb, rtol=1e-12)
    assert b in opt.state and W not in opt.state  # only the momentum group keeps a buffer


def test_add_param_group_and_lr_change():
    a = tg.Tensor(np.array([1.0]), requires_grad=True)
    c = tg.Tensor(np.array([1.0]), requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
    opt.add_param_group({"params": [c], "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.5, 0.6) and opt.param_groups[1]["lr"] == 0.2
    (a * 3.0 + c * 3.0).sum().backward()
    opt.step()
    # the first Adam step moves every coordinate by lr (up to eps): sign(g) * lr
    np.testing.assert_allclose(a.data, [0.9], rtol=1e-7)
    np.testing.assert_allclose(c.data, [0.8], rtol=1e-7)
    assert "lr: 0.2" in repr(opt) and repr(opt).startswith("Adam (")


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop])
def test_numpy_scalar_options_compute_in_param_dtype(cls):
    """An lr set to a numpy float64 (say by a user's schedule) must give bit-for-bit the same
    float32 update as a Python float: no float64 temporaries."""
    rng = np.random.default_rng(0)
    w0, g = rng.standard_normal(1000).astype(np.float32), rng.standard_normal(1000).astype(np.float32)
    results = []
    for lr in (0.1, np.float64(0.1)):
        w = tg.Tensor(w0.copy(), requires_grad=True)
        opt = cls([w], lr=0.5)
        opt.param_groups[0]["lr"] = lr
        for _ in range(2):
            w.grad = tg.Tensor(g.copy())
            opt.step()
        assert w.dtype == np.float32
        results.append(w.data)
    np.testing.assert_array_equal(results[0], results[1])


def test_zero_grad_and_closure():
    w = tg.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with tg.no_grad():  # step runs the closure with grad enabled
        loss = opt.step(closure)
    assert calls == [5.0] and loss.item() == 5.0
    np.testing.assert_allclose(w.data, [0.0, 0.0])  # w - 0.5 * 2w
    g = w.grad.data
    opt.zero_grad(set_to_none=False)
    assert w.grad.data is g and not g.any()
    opt.zero_grad()
    assert w.grad is None


def test_step_bumps_version_so_stale_graphs_fail():
    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()  # saves w
    (w * 2.0).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# --------------------------------------------------------------------------------------------
# state_dict
# --------------------------------------------------------------------------------------------


def _run(opt, params, X, Y, n):
    for _ in range(n):
        opt.zero_grad()
        _loss_backward(X, Y, params)
        opt.step()


@pytest.mark.parametrize("name, cls, ref, torch_name, kw", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_continues_identically(name, cls, ref, torch_name, kw):
    X, Y, init = _problem(seed=3)
    a = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    opt_a = cls(a, **kw)
    _run(opt_a, a, X, Y, 3)
    sd = opt_a.state_dict()
    b = [tg.Tensor(p.data.copy(), requires_grad=True) for p in a]
    opt_b = cls(b, lr=123.0)  # different options: all come from the state dict
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == kw["lr"]
    _run(opt_a, a, X, Y, 3)
    _run(opt_b, b, X, Y, 3)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.data, q.data)
    # the state dict was a snapshot, and loading copied it
    sd2 = opt_a.state_dict()
    for i, st_ in sd["state"].items():
        for k, v in st_.items():
            if isinstance(v, np.ndarray):
                assert not np.shares_memory(v, sd2["state"][i][k])
                assert not np.shares_memory(v, opt_b.state[b[i]][k])


def test_state_dict_layout():
    W = tg.Tensor(np.zeros((2, 2), np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(2, np.float32), requires_grad=True)
    c = tg.Tensor(np.zeros(3, np.float32), requires_grad=True)
    opt = optim.SGD([{"params": [W, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    (W.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"] == [
        {
            "lr": 0.1,
            "momentum": 0.9,
            "dampening": 0.0,
            "weight_decay": 0.0,
            "nesterov": False,
            "params": [0, 1],
        },
        {"lr": 0.5, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "params": [2]},
    ]
    assert list(sd["state"]) == [0, 1]  # c had no gradient
    buf = sd["state"][0]["momentum_buffer"]
    assert type(buf) is np.ndarray and buf.dtype == np.float32 and buf.shape == (2, 2)
    adam = optim.Adam([W])
    W.grad = tg.Tensor(np.ones((2, 2), np.float32))
    adam.step()
    st_ = adam.state_dict()["state"][0]
    assert type(st_["step"]) is int and st_["step"] == 1


def test_load_state_dict_casts_to_param_dtype():
    w64 = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt64 = optim.SGD([w64], lr=0.1, momentum=0.9)
    (w64 * w64).sum().backward()
    opt64.step()
    w32 = tg.Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    opt32 = optim.SGD([w32], lr=0.1, momentum=0.9)
    opt32.load_state_dict(opt64.state_dict())
    assert opt32.state[w32]["momentum_buffer"].dtype == np.float32


def test_state_dict_through_tg_save(tmp_path):
    pytest.importorskip("tinygrad_kr.serialize")
    X, Y, init = _problem(seed=4)
    a = [tg.Tensor(p.copy(), requires_grad=True) for p in init]
    opt_a = optim.Adam(a, lr=0.05, amsgrad=True)
    sched_a = CosineAnnealingLR(opt_a, T_max=7)
    for _ in range(3):
        _run(opt_a, a, X, Y, 1)
        sched_a.step()
    tg.save({"optim": opt_a.state_dict(), "sched": sched_a.state_dict()}, tmp_path / "ckpt")
    ckpt = tg.load(tmp_path / "ckpt")
    b = [tg.Tensor(p.data.copy(), requires_grad=True) for p in a]
    opt_b = optim.Adam(b)
    sched_b = CosineAnnealingLR(opt_b, T_max=99)
    opt_b.load_state_dict(ckpt["optim"])
    sched_b.load_state_dict(ckpt["sched"])
    assert opt_b.param_groups[0]["betas"] == (0.9, 0.999)
    for _ in range(3):
        _run(opt_a, a, X, Y, 1)
        sched_a.step()
        _run(opt_b, b, X, Y, 1)
        sched_b.step()
        assert sched_a.get_last_lr() == sched_b.get_last_lr()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.data, q.data)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _w():
    return tg.Tensor(np.zeros(2), requires_grad=True)


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: optim.Adam(iter([])), ValueError, "empty parameter list"),
        (lambda: optim.SGD([{"params": []}], lr=0.1), ValueError, "empty parameter list"),
        (lambda: optim.SGD(_w(), lr=0.1), TypeError, "iterable of Tensors"),
        (lambda: optim.SGD({_w()}, lr=0.1), TypeError, "not a set"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError, "parameter 0 is a ndarray"),
        (
            lambda: optim.Adam([_w(), tg.Tensor(np.zeros(2))]),
            ValueError,
            "parameter 1 .*does not require grad",
        ),
        (lambda: optim.Adam([_w() * 2.0]), ValueError, "non-leaf"),
        (lambda: optim.SGD([{"params": [_w()], "lr": 0.1}, {"lr": 0.1}]), ValueError, "'params'"),
        (lambda: optim.SGD([_w()], lr=-1.0), ValueError, "SGD: invalid learning rate -1.0"),
        (lambda: optim.SGD([_w()], lr=0.1, momentum=-0.5), ValueError, "momentum"),
        (lambda: optim.SGD([_w()], lr=0.1, nesterov=True), ValueError, "Nesterov"),
        (
            lambda: optim.SGD([_w()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "Nesterov",
        ),
        (lambda: optim.SGD([{"params": [_w()], "lr": -2.0}], lr=0.1), ValueError, "learning rate -2.0"),
        (lambda: optim.Adam([_w()], betas=(0.9, 1.0)), ValueError, "beta at index 1"),
        (lambda: optim.AdamW([_w()], weight_decay=-1e-2), ValueError, "AdamW: invalid weight_decay"),
        (lambda: optim.Adagrad([_w()], eps=-1.0), ValueError, "Adagrad: invalid epsilon"),
        (lambda: optim.RMSprop([_w()], alpha=-0.1), ValueError, "RMSprop: invalid alpha"),
    ],
)
def test_constructor_errors(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_parameter_in_two_groups_or_twice():
    w, v = _w(), _w()
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w, v]}, {"params": [v]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([w, v, w], lr=0.1)
    assert len(opt.param_groups) == 1


def test_load_state_dict_errors():
    w, v, u = _w(), _w(), tg.Tensor(np.zeros(3), requires_grad=True)
    src = optim.SGD([{"params": [w, v]}, {"params": [u]}], lr=0.1, momentum=0.9)
    (w.sum() + v.sum() + u.sum()).backward()
    src.step()
    sd = src.state_dict()
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        optim.SGD([_w()], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict but 1"):
        optim.SGD([{"params": [_w()]}, {"params": [_w(), _w()]}], lr=0.1).load_state_dict(sd)
    dst = optim.SGD([{"params": [_w(), _w()]}, {"params": [_w()]}], lr=0.7)
    with pytest.raises(ValueError, match=r"shape \(3,\), but the parameter has shape \(2,\)"):
        dst.load_state_dict(sd)
    assert dst.param_groups[0]["lr"] == 0.7 and not dst.state  # nothing changed
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        dst.load_state_dict({"state": {}})


# --------------------------------------------------------------------------------------------
# Schedulers
# --------------------------------------------------------------------------------------------


def _opt_two_groups(lr0=0.1, lr1=0.03):
    return optim.SGD([{"params": [_w()]}, {"params": [_w()], "lr": lr1}], lr=lr0)


def test_step_lr_closed_form():
    opt = _opt_two_groups()
    sched = StepLR(opt, step_size=3, gamma=0.5)
    for epoch in range(20):
        want = [0.1 * 0.5 ** (epoch // 3), 0.03 * 0.5 ** (epoch // 3)]
        np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-13)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        opt.step()
        sched.step()
    assert opt.param_groups[0]["initial_lr"] == 0.1


@pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (4, 0.01), (1, 0.002)])
def test_cosine_annealing_closed_form(T_max, eta_min):
    opt = _opt_two_groups()
    sched = CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    for epoch in range(3 * T_max + 2):  # past T_max the schedule climbs back (no restart)
        want = [
            eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2 for base in (0.1, 0.03)
        ]
        np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-9, atol=1e-15)
        opt.step()
        sched.step()


def test_scheduler_resume_and_state_dict():
    opt = _opt_two_groups()
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for _ in range(4):
        sched.step()
    sd = sched.state_dict()
    assert sd["last_epoch"] == 4 and "optimizer" not in sd
    # resuming at an epoch uses the closed form from initial_lr
    resumed = CosineAnnealingLR(opt, T_max=10, eta_min=0.001, last_epoch=3)
    np.testing.assert_allclose(resumed.get_last_lr(), sched.get_last_lr(), rtol=1e-12)
    # the lrs live in the optimizer (the schedule is chainable): restore both, as in PyTorch
    other_opt = _opt_two_groups(0.5, 0.5)
    other = CosineAnnealingLR(other_opt, T_max=3)
    other_opt.load_state_dict(opt.state_dict())
    other.load_state_dict(sd)
    for _ in range(5):
        sched.step()
        other.step()
        assert other.get_last_lr() == sched.get_last_lr() and other.last_epoch == sched.last_epoch
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(_opt_two_groups(), step_size=2, last_epoch=5)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        StepLR([_w()], step_size=2)


@pytest.mark.parametrize("kind", ["step", "cosine"])
def test_schedulers_match_torch(kind):
    torch = pytest.importorskip("torch")
    opt = _opt_two_groups()
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    topt = torch.optim.SGD([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.03}], lr=0.1)
    if kind == "step":
        ours, theirs = StepLR(opt, 4, gamma=0.3), torch.optim.lr_scheduler.StepLR(topt, 4, gamma=0.3)
    else:
        ours = CosineAnnealingLR(opt, 6, eta_min=0.01)
        theirs = torch.optim.lr_scheduler.CosineAnnealingLR(topt, 6, eta_min=0.01)
    for _ in range(25):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-14)
        opt.step()
        topt.step()
        ours.step()
        theirs.step()


# --------------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------------


def _with_grads(grads, dtype=np.float64):
    params = []
    for g in grads:
        p = tg.Tensor(np.zeros(np.shape(g) if g is not None else 2, dtype), requires_grad=True)
        if g is not None:
            p.grad = tg.Tensor(np.array(g, dtype=dtype))
        params.append(p)
    return params


def _np_norm(grads, p):
    flat = np.concatenate([np.ravel(g) for g in grads])
    if p == math.inf:
        return np.abs(flat).max()
    return (np.abs(flat) ** p).sum() ** (1 / p)


@given(
    seed=st.integers(0, 2**32 - 1),
    norm_type=st.sampled_from([2.0, 1.0, 3.0, math.inf, "inf"]),
    ratio=st.floats(0.01, 3.0),
)
def test_clip_grad_norm_vs_numpy(seed, norm_type, ratio):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5), None, rng.standard_normal(())]
    params = _with_grads(grads)
    arrays = [p.grad.data for p in params if p.grad is not None]
    present = [g for g in grads if g is not None]
    p = math.inf if norm_type == "inf" else norm_type
    total = _np_norm(present, p)
    max_norm = ratio * total
    got = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert type(got) is float
    np.testing.assert_allclose(got, total, rtol=1e-12)
    scale = min(1.0, max_norm / (total + 1e-6))
    for a, g in zip(arrays, present):
        np.testing.assert_allclose(a, g * scale, rtol=1e-12)
    assert [p.grad.data for p in params if p.grad is not None][0] is arrays[0]  # in place
    if ratio < 0.99:
        np.testing.assert_allclose(_np_norm(arrays, p), max_norm, rtol=1e-5)


def test_clip_grad_norm_float32_single_tensor_and_no_grads():
    (p,) = _with_grads([[3.0, 4.0]], np.float32)
    total = clip_grad_norm_(p, 1.0)
    assert total == pytest.approx(5.0) and p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad.data, np.array([0.6, 0.8]) * 5 / (5 + 1e-6), rtol=1e-6)
    assert clip_grad_norm_(_with_grads([None]), 1.0) == 0.0
    (q,) = _with_grads([[np.inf, 1.0]])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(q, 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        clip_grad_norm_([[1.0]], 1.0)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(7)]
    for norm_type in (2.0, 1.5, math.inf):
        ours = _with_grads(grads)
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g)
        total = clip_grad_norm_(ours, 0.7, norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type)
        assert total == pytest.approx(ttotal.item(), rel=1e-12)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value():
    grads = [np.array([-3.0, 0.5, 2.0]), None, np.array([[0.1, -0.2]])]
    params = _with_grads(grads, np.float32)
    clip_grad_value_(params, 1.0)
    np.testing.assert_allclose(params[0].grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_allclose(params[2].grad.data, [[0.1, -0.2]], rtol=1e-7)
    assert params[0].grad.dtype == np.float32 and params[1].grad is None


# --------------------------------------------------------------------------------------------
# Training sanity: in 100 steps each optimizer divides a least-squares loss by `factor`
# (measured: >= 1.3e5 for the adaptive ones with fixed lr, >= 1e9 for SGD and Adagrad)
# --------------------------------------------------------------------------------------------

TRAIN = [
    (optim.SGD, dict(lr=0.1), 1e6),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True), 1e6),
    (optim.Adagrad, dict(lr=0.5), 1e6),
    (optim.RMSprop, dict(lr=0.02), 1e4),
    (optim.Adam, dict(lr=0.05), 1e4),
    (optim.AdamW, dict(lr=0.05, weight_decay=1e-3), 1e4),
]


@pytest.mark.parametrize("cls, kw, factor", TRAIN, ids=lambda x: getattr(x, "__name__", None))
def test_training_reduces_loss(cls, kw, factor):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    Y = X @ rng.standard_normal((5, 1)).astype(np.float32) + np.float32(0.5)
    W = tg.Tensor(np.zeros((5, 1), np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(1, np.float32), requires_grad=True)
    opt = cls([W, b], **kw)
    Xt, Yt = tg.Tensor(X), tg.Tensor(Y)

    def loss_fn():
        r = Xt @ W + b - Yt
        return (r * r).mean()

    first = loss_fn().item()
    for _ in range(100):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    last = loss_fn().item()
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert last * factor < first, (first, last)
