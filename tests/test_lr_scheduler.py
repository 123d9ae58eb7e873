"""The learning-rate schedulers added for the Keras-course workflow: MultiStepLR, ExponentialLR,
LambdaLR, LinearLR, CosineAnnealingWarmRestarts, OneCycleLR (with momentum / beta1 cycling) and
ReduceLROnPlateau.

Every trajectory is checked against its closed form written out here, and against
torch.optim.lr_scheduler when torch is installed; state dicts go through tg.save and continue
identically; ReduceLROnPlateau follows scripted metric sequences epoch by epoch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_kr as tg
from nn import optim
from nn.optim.lr_scheduler import (
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

BASES = (0.1, 0.03)


def _w():
    return tg.Tensor(np.zeros(2), requires_grad=True)


def _sgd(momentum=0.9):
    return optim.SGD([{"params": [_w()]}, {"params": [_w()], "lr": BASES[1]}], lr=BASES[0], momentum=momentum)


def _adam():
    return optim.Adam([{"params": [_w()]}, {"params": [_w()], "lr": BASES[1]}], lr=BASES[0])


def _trajectory(sched, steps):
    """get_last_lr() before each of `steps` steps (the lr epoch 0, 1, ... trains with)."""
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr())
        sched.optimizer.step()
        sched.step()
    return np.array(out)


def _lambda_halving(epoch):
    return 0.5 ** (epoch // 3)


def _lambda_linear(epoch):
    return 1.0 / (1 + epoch)


# ---- closed forms ------------------------------------------------------------------------------


def _restart_position(epoch, T_0, T_mult):
    """(epochs since the last restart, current period), by walking the periods one by one."""
    start, period = 0, T_0
    while epoch >= start + period:
        start += period
        period *= T_mult
    return epoch - start, period


CLOSED_FORMS = {
    "multistep": (
        lambda opt: MultiStepLR(opt, milestones=[3, 7, 7, 12], gamma=0.5),
        lambda base, e: base * 0.5 ** sum(m <= e for m in (3, 7, 7, 12)),
    ),
    "exponential": (lambda opt: ExponentialLR(opt, gamma=0.9), lambda base, e: base * 0.9**e),
    "lambda": (
        lambda opt: LambdaLR(opt, [_lambda_halving, _lambda_linear]),
        None,  # one function per group: checked below
    ),
    "linear": (
        lambda opt: LinearLR(opt, start_factor=0.25, end_factor=0.75, total_iters=6),
        lambda base, e: base * (0.25 + 0.5 * min(e, 6) / 6),
    ),
    "warm_restarts_mult1": (
        lambda opt: CosineAnnealingWarmRestarts(opt, T_0=4, eta_min=0.001),
        lambda base, e: 0.001 + (base - 0.001) * (1 + math.cos(math.pi * (e % 4) / 4)) / 2,
    ),
    "warm_restarts_mult2": (
        lambda opt: CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2),
        lambda base, e: base * (1 + math.cos(math.pi * np.divide(*_restart_position(e, 2, 2)))) / 2,
    ),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_trajectory_matches_the_closed_form(name):
    make, form = CLOSED_FORMS[name]
    opt = _sgd()
    got = _trajectory(make(opt), 30)
    if name == "lambda":
        want = [[BASES[0] * _lambda_halving(e), BASES[1] * _lambda_linear(e)] for e in range(30)]
    else:
        want = [[form(b, e) for b in BASES] for e in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASES)


def test_warm_restarts_jump_to_a_fractional_epoch():
    sched = CosineAnnealingWarmRestarts(_sgd(), T_0=3, T_mult=2, eta_min=0.01)
    for epoch in (0.0, 0.5, 2.99, 3.0, 4.25, 8.9, 9.0, 20.5):
        sched.step(epoch)
        t_cur, period = _restart_position(epoch, 3, 2)
        want = [0.01 + (b - 0.01) * (1 + math.cos(math.pi * t_cur / period)) / 2 for b in BASES]
        np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-12)
        assert sched.last_epoch == math.floor(epoch)


def _one_cycle_closed_form(step, total, pct, top, div=25.0, final_div=1e4, m_lo=0.85, m_hi=0.95):
    """Two-phase cosine 1cycle at `step`: (lr, momentum)."""
    initial = top / div
    low = initial / final_div
    peak = pct * total - 1

    def cos(a, b, p):
        return b + (a - b) * (1 + math.cos(math.pi * p)) / 2

    if step <= peak:
        p = step / peak
        return cos(initial, top, p), cos(m_hi, m_lo, p)
    p = (step - peak) / (total - 1 - peak)
    return cos(top, low, p), cos(m_lo, m_hi, p)


@pytest.mark.parametrize("make_opt, key", [(_sgd, "momentum"), (_adam, "betas")])
def test_one_cycle_closed_form_with_momentum_cycling(make_opt, key):
    opt = make_opt()
    total, pct = 20, 0.3
    sched = OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=total, pct_start=pct)
    for step in range(total):
        lrs = sched.get_last_lr()
        for g, (lr, top) in enumerate(zip(lrs, (1.0, 0.5))):
            want_lr, want_m = _one_cycle_closed_form(step, total, pct, top)
            assert lr == pytest.approx(want_lr, rel=1e-12)
            m = opt.param_groups[g][key]
            if key == "betas":
                assert m[1] == 0.999  # only beta1 cycles
                m = m[0]
            assert m == pytest.approx(want_m, rel=1e-12)
        opt.step()
        sched.step()
    # the landmarks: starts at max_lr / 25, peaks at max_lr at step 5, ends at max_lr / 25 / 1e4
    assert opt.param_groups[0]["initial_lr"] == 1.0 / 25 and opt.param_groups[0]["max_lr"] == 1.0
    assert opt.param_groups[0]["min_lr"] == pytest.approx(1.0 / 25 / 1e4, rel=1e-15)
    with pytest.raises(ValueError, match="stepped 21 times, but total_steps is 20"):
        sched.step()


def test_one_cycle_three_phase_linear_and_without_momentum():
    opt = optim.Adagrad([_w()], lr=0.5)  # no momentum: only cycle_momentum=False works
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with 'momentum' or 'betas'"):
        OneCycleLR(opt, max_lr=1.0, total_steps=10)
    sched = OneCycleLR(
        opt,
        1.0,
        epochs=2,
        steps_per_epoch=5,
        anneal_strategy="linear",
        cycle_momentum=False,
        three_phase=True,
    )
    # phases end at steps 2, 4, 9: 0.04 -> 1.0 -> 0.04 -> 4e-6, linearly
    want = [0.04, 0.52, 1.0, 0.52, 0.04, 0.04 - 1 * (0.04 - 4e-6) / 5]
    got = _trajectory(sched, 6)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ---- against torch ----------------------------------------------------------------------------


def _torch_pair(kind):
    torch = pytest.importorskip("torch")
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    groups = [{"params": [tp[0]]}, {"params": [tp[1]], "lr": BASES[1]}]
    if kind == "sgd":
        return _sgd(), torch.optim.SGD(groups, lr=BASES[0], momentum=0.9), torch
    return _adam(), torch.optim.Adam(groups, lr=BASES[0]), torch


TORCH_CASES = {
    "multistep": lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], gamma=0.5),
    "exponential": lambda m, o: m.ExponentialLR(o, 0.9),
    "lambda": lambda m, o: m.LambdaLR(o, [_lambda_halving, _lambda_linear]),
    "linear": lambda m, o: m.LinearLR(o, 0.25, 0.8, 7),
    "warm_restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "one_cycle": lambda m, o: m.OneCycleLR(o, [1.0, 0.5], total_steps=25),
    "one_cycle_3": lambda m, o: m.OneCycleLR(
        o, 1.0, epochs=5, steps_per_epoch=5, three_phase=True, anneal_strategy="linear", div_factor=10.0
    ),
}


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch(name, kind):
    opt, topt, torch = _torch_pair(kind)
    from nn.optim import lr_scheduler as ours

    sched, tsched = TORCH_CASES[name](ours, opt), TORCH_CASES[name](torch.optim.lr_scheduler, topt)
    for _ in range(25):
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13)
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups])
        key = "momentum" if kind == "sgd" else "betas"
        ours_m = [np.ravel(g[key])[0] for g in opt.param_groups]
        np.testing.assert_allclose(ours_m, [np.ravel(g[key])[0] for g in topt.param_groups], rtol=1e-13)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_plateau_matches_torch_on_a_random_metric_sequence():
    opt, topt, torch = _torch_pair("sgd")
    kw = dict(patience=2, factor=0.5, cooldown=1, threshold=0.01, min_lr=[0.01, 0.005])
    for mode, threshold_mode in (("min", "rel"), ("max", "abs")):
        opt, topt, torch = _torch_pair("sgd")
        ours = ReduceLROnPlateau(opt, mode=mode, threshold_mode=threshold_mode, **kw)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
            topt, mode=mode, threshold_mode=threshold_mode, **kw
        )
        rng = np.random.default_rng(0)
        for epoch in range(60):
            metric = float(rng.random() + (5.0 if epoch < 10 else 0.0))
            ours.step(metric)
            theirs.step(metric)
            assert ours.get_last_lr() == theirs.get_last_lr(), epoch
            assert ours.num_bad_epochs == theirs.num_bad_epochs


def test_warm_restarts_fractional_epochs_match_torch():
    opt, topt, torch = _torch_pair("sgd")
    ours = CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=2)
    for epoch in np.arange(0.0, 30.0, 0.37):
        ours.step(float(epoch))
        theirs.step(float(epoch))
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)


# ---- ReduceLROnPlateau on scripted sequences ----------------------------------------------------


def _plateau_lrs(metrics, **kw):
    opt = optim.SGD([_w()], lr=0.1)
    sched = ReduceLROnPlateau(opt, **kw)
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return lrs, sched


def test_plateau_reduces_after_patience_and_waits_out_the_cooldown():
    # min mode, abs threshold 0: epochs 3-5 do not beat 4 -> 3 bad epochs > patience 2 after
    # epoch 5; the cooldown (1 epoch) swallows epoch 6; epochs 7-9 are bad again.
    metrics = [5, 4, 4, 4, 4, 3, 3, 3, 3, 3]
    lrs, sched = _plateau_lrs(
        metrics, patience=2, factor=0.5, threshold=0.0, threshold_mode="abs", cooldown=1
    )
    assert lrs == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025]
    assert sched.best == 3 and sched.last_epoch == 10 and sched.get_last_lr() == [0.025]
    # patience 0: every epoch that does not improve reduces
    lrs, _ = _plateau_lrs([1.0, 2.0, 0.5, 0.5], patience=0, factor=0.5)
    assert lrs == [0.1, 0.05, 0.05, 0.025]


def test_plateau_threshold_modes_and_max_mode():
    opt = optim.SGD([_w()], lr=0.1)
    rel = ReduceLROnPlateau(opt, threshold=0.1)  # min, rel: better means < best * 0.9
    assert rel.is_better(0.89, 1.0) and not rel.is_better(0.91, 1.0)
    ab = ReduceLROnPlateau(opt, threshold=0.1, threshold_mode="abs")  # < best - 0.1
    assert ab.is_better(0.89, 1.0) and not ab.is_better(0.91, 1.0) and not ab.is_better(1.85, 1.9)
    mx = ReduceLROnPlateau(opt, mode="max", threshold=0.1)  # > best * 1.1
    assert mx.is_better(1.11, 1.0) and not mx.is_better(1.09, 1.0)
    lrs, _ = _plateau_lrs([0.5, 0.6, 0.6, 0.59], mode="max", patience=1, factor=0.1, threshold=0.0)
    assert lrs == [0.1, 0.1, 0.1, pytest.approx(0.01)]


def test_plateau_min_lr_and_eps():
    lrs, _ = _plateau_lrs([1.0] * 5, patience=0, factor=0.5, min_lr=0.04)
    assert lrs == [0.1, 0.05, 0.04, 0.04, 0.04]
    opt = optim.SGD([_w()], lr=1e-9)
    sched = ReduceLROnPlateau(opt, patience=0, factor=0.5)  # a change of 5e-10 < eps=1e-8: skipped
    for m in (1.0, 1.0, 1.0):
        sched.step(m)
    assert opt.param_groups[0]["lr"] == 1e-9
    sched.step(tg.Tensor([0.5]))  # one-element Tensors are accepted
    assert sched.best == 0.5
    with pytest.raises(TypeError, match="metrics must be a number"):
        sched.step("low")
    with pytest.raises(TypeError, match="no get_lr"):
        sched.get_lr()


# ---- state dicts and resuming -------------------------------------------------------------------


STATEFUL = {
    "multistep": lambda opt: MultiStepLR(opt, [2, 4, 4]),
    "exponential": lambda opt: ExponentialLR(opt, 0.8),
    "linear": lambda opt: LinearLR(opt, total_iters=5),
    "warm_restarts": lambda opt: CosineAnnealingWarmRestarts(opt, 2, 2),
    "one_cycle": lambda opt: OneCycleLR(opt, 1.0, total_steps=12),
}


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_state_dict_through_tg_save_continues_identically(name, tmp_path):
    opt_a = _sgd()
    a = STATEFUL[name](opt_a)
    _trajectory(a, 4)
    tg.save({"optim": opt_a.state_dict(), "sched": a.state_dict()}, tmp_path / "ckpt")
    ckpt = tg.load(tmp_path / "ckpt")
    assert "optimizer" not in ckpt["sched"]
    opt_b = _sgd(momentum=0.5)
    b = STATEFUL[name](opt_b)  # PyTorch order: scheduler first, then load both
    opt_b.load_state_dict(ckpt["optim"])
    b.load_state_dict(ckpt["sched"])
    np.testing.assert_array_equal(_trajectory(a, 6), _trajectory(b, 6))
    assert [g["momentum"] for g in opt_a.param_groups] == [g["momentum"] for g in opt_b.param_groups]


def test_plateau_state_dict_through_tg_save(tmp_path):
    opt = optim.SGD([_w()], lr=0.1)
    a = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for m in (3.0, 2.0, 2.5):
        a.step(m)
    tg.save(a.state_dict(), tmp_path / "p")
    b = ReduceLROnPlateau(optim.SGD([_w()], lr=0.1), patience=7)
    b.load_state_dict(tg.load(tmp_path / "p"))
    assert (b.best, b.num_bad_epochs, b.patience, b.last_epoch) == (2.0, 1, 1, 3)
    assert math.isinf(ReduceLROnPlateau(opt).state_dict()["best"])  # +inf survives tg.save too
    tg.save(ReduceLROnPlateau(opt).state_dict(), tmp_path / "q")
    assert tg.load(tmp_path / "q")["best"] == math.inf


class _Warmup:
    """A callable object: its attributes are saved by LambdaLR.state_dict (PyTorch's rule)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


def test_lambda_state_dict_keeps_no_functions_but_callable_objects_attributes(tmp_path):
    opt = optim.SGD([{"params": [_w()]}, {"params": [_w()]}], lr=0.1)
    sched = LambdaLR(opt, [_lambda_halving, _Warmup(4)])
    _trajectory(sched, 3)
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"epochs": 4}]
    tg.save(sd, tmp_path / "l")
    fresh = LambdaLR(
        optim.SGD([{"params": [_w()]}, {"params": [_w()]}], lr=0.1), [_lambda_halving, _Warmup(9)]
    )
    fresh.load_state_dict(tg.load(tmp_path / "l"))
    assert fresh.lr_lambdas[0] is _lambda_halving and fresh.lr_lambdas[1].epochs == 4
    assert fresh.last_epoch == 3
    fresh.step()
    sched.step()
    assert fresh.get_last_lr() == sched.get_last_lr()
    with pytest.raises(ValueError, match="has 2 lr_lambdas, this scheduler has 1"):
        LambdaLR(optim.SGD([_w()], lr=0.1), _lambda_linear).load_state_dict(sd)


def test_resuming_keeps_the_optimizers_lr_on_the_first_step():
    # PyTorch 2.x: a scheduler made with last_epoch >= 0 does not rescale the restored lr.
    opt = _sgd()
    sched = ExponentialLR(opt, 0.5)
    _trajectory(sched, 3)  # lr 0.1 * 0.5**3 now, last_epoch 3
    resumed = ExponentialLR(opt, 0.5, last_epoch=sched.last_epoch)
    assert resumed.get_last_lr() == sched.get_last_lr() and resumed.last_epoch == 4
    assert isinstance(ReduceLROnPlateau(opt), LRScheduler)


# ---- argument errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda o: MultiStepLR(o, milestones=3), TypeError, "milestones must be a list"),
        (lambda o: MultiStepLR(o, milestones=[2, -1]), ValueError, "every milestone must be an integer >= 0"),
        (lambda o: ExponentialLR(o, gamma=0), ValueError, "ExponentialLR: gamma must be a number > 0, got 0"),
        (
            lambda o: LambdaLR(o, [_lambda_linear]),
            ValueError,
            "lr_lambda has 1 values, but the optimizer has 2",
        ),
        (lambda o: LambdaLR(o, 0.5), TypeError, r"lr_lambda\[0\] must be callable"),
        (lambda o: LinearLR(o, start_factor=0), ValueError, r"start_factor must be in \(0, 1\], got 0"),
        (lambda o: LinearLR(o, end_factor=1.5), ValueError, r"end_factor must be in \[0, 1\]"),
        (lambda o: LinearLR(o, total_iters=0), ValueError, "total_iters must be an integer >= 1"),
        (lambda o: CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0 must be an integer >= 1, got 0"),
        (lambda o: CosineAnnealingWarmRestarts(o, 2, T_mult=1.5), ValueError, "T_mult must be an integer"),
        (lambda o: OneCycleLR(o, 1.0), ValueError, "give total_steps, or both epochs and steps_per_epoch"),
        (lambda o: OneCycleLR(o, 1.0, total_steps=0), ValueError, "total_steps must be an integer >= 1"),
        (
            lambda o: OneCycleLR(o, 1.0, 10, pct_start=1.5),
            ValueError,
            r"pct_start must be a number in \[0, 1\]",
        ),
        (lambda o: OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "'cos' or 'linear'"),
        (lambda o: OneCycleLR(o, [1.0], 10), ValueError, "max_lr has 1 values, but the optimizer has 2"),
        (lambda o: OneCycleLR(o, 1.0, 10, pct_start=0.1), ValueError, "a phase of zero steps"),
        (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError, r"factor must be in \[0, 1\)"),
        (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be an integer >= 0, got -1"),
        (lambda o: ReduceLROnPlateau(o, mode="up"), ValueError, "mode must be 'min' or 'max', got 'up'"),
        (
            lambda o: ReduceLROnPlateau(o, threshold_mode="x"),
            ValueError,
            "threshold_mode must be 'rel' or 'abs'",
        ),
        (lambda o: ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lr has 1 values"),
        (lambda o: ReduceLROnPlateau(o, cooldown=-2), ValueError, "cooldown must be an integer >= 0"),
        (lambda o: ExponentialLR([_w()], 0.5), TypeError, "expected an Optimizer, got list"),
        (lambda o: ReduceLROnPlateau("opt"), TypeError, "expected an Optimizer, got str"),
    ],
)
def test_argument_errors_name_the_argument_and_value(make, err, match):
    with pytest.raises(err, match=match):
        make(_sgd())


def test_warm_restarts_step_rejects_a_negative_epoch():
    sched = CosineAnnealingWarmRestarts(_sgd(), 2)
    with pytest.raises(ValueError, match="epoch must be >= 0, got -1"):
        sched.step(-1)
    assert isinstance(StepLR(_sgd(), 2), LRScheduler)
