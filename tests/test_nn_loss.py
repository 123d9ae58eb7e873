"""Losses: float64 gradchecks for every reduction, forward values against direct loops and
closed forms, numerical extremes in float32, and the argument errors.

Covers the fused loss nodes of tinygrad_kr/ops/loss.py: SoftmaxCrossEntropy,
BinaryCrossEntropy, BinaryCrossEntropyWithLogits.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import tinygrad_kr as tg
from nn import functional as F
from tinygrad_kr.ops import loss as loss_ops
from tinygrad_kr.testing import sample

REDUCTIONS = ["mean", "sum", "none"]
seeds = st.integers(0, 2**32 - 1)  # seed the values (testing.sample) and the targets alike

# (N, C, *d) shapes for classification losses
class_shapes = st.tuples(
    st.integers(1, 3), st.integers(2, 4), st.lists(st.integers(1, 3), max_size=2).map(tuple)
).map(lambda t: (t[0], t[1]) + t[2])


def t64(arr, requires_grad=True):
    return tg.Tensor(np.asarray(arr, dtype=np.float64), requires_grad=requires_grad)


def reduce_ref(loss, reduction, count=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.size if count is None else count)


def log_softmax_loop(x):
    """log_softmax over axis 1 by explicit loops over every other index (reference)."""
    out = np.empty_like(x)
    for idx in np.ndindex(*(x.shape[:1] + x.shape[2:])):
        sl = (idx[0], slice(None)) + idx[1:]
        v = x[sl]
        m = v.max()
        out[sl] = v - m - math.log(sum(math.exp(a - m) for a in v))
    return out


def int_targets(seed, shape, ignore=False):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, shape[1], shape[:1] + shape[2:])
    if ignore and t.size > 1:
        t.flat[rng.integers(0, t.size)] = -100
    return t


# ---- cross-entropy ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=class_shapes, seed=seeds, ignore=st.booleans())
def test_cross_entropy_int_targets(reduction, shape, seed, ignore):
    x = t64(sample(shape, seed=seed) * 2)
    t = int_targets(seed, shape, ignore)
    valid = t != -100
    logp = log_softmax_loop(x.data)
    per = np.zeros(t.shape)
    for idx in np.ndindex(*t.shape):
        if valid[idx]:
            per[idx] = -logp[(idx[0], t[idx]) + idx[1:]]
    expected = reduce_ref(per, reduction, valid.sum())
    out = F.cross_entropy(x, t, reduction)
    assert isinstance(out.grad_fn, loss_ops.SoftmaxCrossEntropy)  # one fused node
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    if valid.any():
        assert tg.gradcheck(lambda x: F.cross_entropy(x, t, reduction), [x], atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=class_shapes, seed=seeds)
def test_cross_entropy_probability_targets(reduction, shape, seed):
    x = t64(sample(shape, seed=seed) * 2)
    p = np.random.default_rng(seed).uniform(0.1, 1.0, shape)
    t = t64(p / p.sum(axis=1, keepdims=True))
    per = -(t.data * log_softmax_loop(x.data)).sum(axis=1)
    out = F.cross_entropy(x, t, reduction)
    np.testing.assert_allclose(out.data, reduce_ref(per, reduction), rtol=1e-10, atol=1e-12)
    # gradient for the logits and for the (soft) targets
    assert tg.gradcheck(lambda x, t: F.cross_entropy(x, t, reduction), [x, t], atol=1e-7, rtol=1e-6)


def test_cross_entropy_one_hot_float_targets_equal_index_targets():
    x = t64(sample((4, 5), seed=0))
    t = np.array([0, 3, 4, 1])
    a = F.cross_entropy(x, t)
    b = F.cross_entropy(x, F.one_hot(t, 5).data.astype(np.float64))
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)


def test_cross_entropy_second_order():
    t = np.array([1, 0, 2])

    def grad_of_loss(x):
        return tg.grad(F.cross_entropy(x, t), [x], create_graph=True)[0]

    assert tg.gradcheck(grad_of_loss, [t64(sample((3, 4), seed=1))])
    p = t64(np.full((3, 4), 0.25), requires_grad=False)
    assert tg.gradcheck(
        lambda x: tg.grad(F.cross_entropy(x, p, "sum"), [x], create_graph=True)[0],
        [t64(sample((3, 4), seed=2))],
    )


def test_cross_entropy_unbatched_input():
    x = t64(sample((5,), seed=0))
    out = F.cross_entropy(x, 2, "none")
    assert out.shape == ()
    np.testing.assert_allclose(out.data, -log_softmax_loop(x.data[None])[0, 2], rtol=1e-12)
    assert tg.gradcheck(lambda x: F.cross_entropy(x, 2), [x])


def test_cross_entropy_all_targets_ignored_gives_nan_loss_and_zero_gradient():
    x = tg.randn(2, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, np.array([-100, -100]))
        loss.backward()
    assert np.isnan(loss.item()) and not x.grad.data.any()


@pytest.mark.parametrize("big", [1e4, -1e4, 1e30])
def test_cross_entropy_extreme_float32_logits(big):
    logits = np.array(
        [[big, 0.0, -big], [0.0, big, 1.0], [-big, -big, big], [1.0, 2.0, 3.0]], dtype=np.float32
    )
    t = np.array([1, 1, 0, 2])
    x = tg.Tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid RuntimeWarning
        loss = F.cross_entropy(x, t)
        loss.backward()
    assert loss.dtype == np.float32 and np.isfinite(loss.item())
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.data).all()
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    soft = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(3)[t]
    np.testing.assert_allclose(x.grad.data, (soft - onehot) / 4, atol=1e-7)
    expected = np.mean(-(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(4), t])
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)


def test_cross_entropy_matches_torch_with_ignore_index_and_spatial_dims():
    torch = pytest.importorskip("torch")
    x = sample((2, 4, 3, 2), seed=3)
    t = int_targets(3, x.shape, ignore=True)
    for reduction in REDUCTIONS:
        xt = torch.tensor(x, requires_grad=True)
        ref = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t), reduction=reduction)
        ours = t64(x)
        out = F.cross_entropy(ours, t, reduction)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        ref.sum().backward()
        out.sum().backward()
        np.testing.assert_allclose(ours.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cross_entropy_errors():
    x = tg.randn(4, 3)
    msg = r"float target holds class probabilities.*shape \(4, 3\), got \(4,\).*astype\(np.int64\)"
    with pytest.raises(ValueError, match=msg):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(IndexError, match=r"class indices must be in \[0, 2\].*got \[-1, 3\]"):
        F.cross_entropy(x, np.array([0, 3, -1, 1]))
    msg = "cross_entropy: input must be a floating point tensor, got dtype int64"
    with pytest.raises(TypeError, match=msg):
        F.cross_entropy(tg.Tensor(np.zeros((4, 3), dtype=np.int64)), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"class-index target must have shape \(4,\).*got \(4, 1\)"):
        F.cross_entropy(x, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, np.array([0, 1, 2, 1]), reduction="avg")
    with pytest.raises(TypeError, match="class indices"):
        F.cross_entropy(x, np.array([True, False, True, True]))
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="max")


# ---- negative log-likelihood ---------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=class_shapes, seed=seeds, ignore=st.booleans())
def test_nll_loss(reduction, shape, seed, ignore):
    x = t64(sample(shape, seed=seed))
    t = int_targets(seed + 1, shape, ignore)
    valid = t != -100
    per = np.zeros(t.shape)
    for idx in np.ndindex(*t.shape):
        if valid[idx]:
            per[idx] = -x.data[(idx[0], t[idx]) + idx[1:]]
    out = F.nll_loss(x, t, reduction)
    np.testing.assert_allclose(out.data, reduce_ref(per, reduction, valid.sum()), rtol=1e-12, atol=1e-12)
    if valid.any():
        assert tg.gradcheck(lambda x: F.nll_loss(x, t, reduction), [x])


def test_nll_of_log_softmax_equals_cross_entropy():
    x = t64(sample((3, 4, 2), seed=5))
    t = int_targets(5, x.shape)
    np.testing.assert_allclose(
        F.nll_loss(F.log_softmax(x, axis=1), t).data, F.cross_entropy(x, t).data, rtol=1e-12
    )
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices"):
        F.nll_loss(x, np.zeros((3, 2)))


# ---- regression losses -----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), seed=seeds)
def test_mse_and_l1(reduction, shape, seed):
    x = t64(sample(shape, seed=seed))
    y = t64(x.data + sample(shape, "nonzero", seed=seed + 1))  # |x - y| away from the kink of L1
    d = x.data - y.data
    np.testing.assert_allclose(F.mse_loss(x, y, reduction).data, reduce_ref(d * d, reduction), rtol=1e-12)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction).data, reduce_ref(np.abs(d), reduction), rtol=1e-12)
    assert tg.gradcheck(lambda x, y: F.mse_loss(x, y, reduction), [x, y])
    assert tg.gradcheck(lambda x, y: F.l1_loss(x, y, reduction), [x, y])


def test_regression_losses_shape_mismatch_and_dtype():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4, 1\) differs from input shape \(4,\)"):
        F.mse_loss(tg.zeros(4), tg.zeros(4, 1))
    x = tg.randn(3, requires_grad=True)
    loss = F.mse_loss(x, np.array([1.0, 2.0, 3.0]))  # float64 target follows the float32 input
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32
    assert F.l1_loss(x, [1, 2, 3]).dtype == np.float32


# ---- binary cross-entropy ----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), seed=seeds)
def test_binary_cross_entropy(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    x = t64(rng.uniform(0.05, 0.95, shape))
    t = t64(rng.uniform(0.0, 1.0, shape))
    per = -(t.data * np.log(x.data) + (1 - t.data) * np.log(1 - x.data))
    np.testing.assert_allclose(
        F.binary_cross_entropy(x, t, reduction).data, reduce_ref(per, reduction), rtol=1e-12
    )
    assert tg.gradcheck(lambda x, t: F.binary_cross_entropy(x, t, reduction), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), seed=seeds)
def test_binary_cross_entropy_with_logits(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    x = t64(sample(shape, seed=seed) * 3)
    t = t64(rng.uniform(0.0, 1.0, shape))
    s = 1 / (1 + np.exp(-x.data))
    per = -(t.data * np.log(s) + (1 - t.data) * np.log(1 - s))
    out = F.binary_cross_entropy_with_logits(x, t, reduction)
    np.testing.assert_allclose(out.data, reduce_ref(per, reduction), rtol=1e-10)
    assert tg.gradcheck(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction), [x, t])


def float32_loss_and_grad(fn, x, t):
    """fn(x, t, 'none') and the gradient of its sum, with every warning raised as an error."""
    x = tg.Tensor(np.array(x, dtype=np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = fn(x, np.array(t, dtype=np.float32), "none")
        loss.sum().backward()
    return loss, x


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    loss, x = float32_loss_and_grad(F.binary_cross_entropy, [0.0, 1.0, 0.0, 1.0, 0.5], [1, 0, 0, 1, 1])
    np.testing.assert_allclose(loss.data, [100, 100, 0, 0, math.log(2)], rtol=1e-6)
    assert np.isfinite(x.grad.data).all() and x.grad.dtype == np.float32
    # PyTorch's gradient: (x - t) / max(x (1 - x), 1e-12)
    np.testing.assert_allclose(x.grad.data, [-1e12, 1e12, 0, 0, -2], rtol=1e-6)
    msg = r"input must be probabilities in \[0, 1\].*binary_cross_entropy_with_logits"
    with pytest.raises(ValueError, match=msg):
        F.binary_cross_entropy(tg.Tensor(np.array([1.5, 0.2])), np.array([1.0, 0.0]))


def test_binary_cross_entropy_with_logits_is_stable_at_extremes():
    loss, x = float32_loss_and_grad(
        F.binary_cross_entropy_with_logits, [1e4, -1e4, 1e4, -1e4, 0.0], [1, 0, 0, 1, 1]
    )
    np.testing.assert_allclose(loss.data, [0, 0, 1e4, 1e4, math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [0, 0, 1, -1, -0.5], atol=1e-7)  # sigmoid(x) - t


def test_bce_losses_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.uniform(0.01, 0.99, (3, 4))
    z = rng.standard_normal((3, 4)) * 4
    t = rng.uniform(0, 1, (3, 4))
    tf = torch.nn.functional
    np.testing.assert_allclose(
        F.binary_cross_entropy(t64(x), t).data,
        tf.binary_cross_entropy(torch.tensor(x), torch.tensor(t)).numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(t64(z), t).data,
        tf.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(t)).numpy(),
        rtol=1e-10,
    )


# ---- modules and one_hot ---------------------------------------------------------------------


def test_loss_modules_call_the_functions():
    x = t64(sample((4, 3), seed=0))
    t = np.array([0, 2, 1, 2])
    y = t64(sample((4, 3), seed=1), requires_grad=False)
    p = t64(np.random.default_rng(0).uniform(0.1, 0.9, (4, 3)), requires_grad=False)
    cases = [
        (nn.CrossEntropyLoss(reduction="sum"), F.cross_entropy(x, t, "sum"), t),
        (nn.NLLLoss(), F.nll_loss(x, t), t),
        (nn.MSELoss(reduction="none"), F.mse_loss(x, y, "none"), y),
        (nn.L1Loss(), F.l1_loss(x, y), y),
        (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits(x, p), p),
    ]
    for module, expected, target in cases:
        np.testing.assert_array_equal(module(x, target).data, expected.data)
    np.testing.assert_array_equal(nn.BCELoss()(p, p).data, F.binary_cross_entropy(p, p).data)
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"


def test_one_hot():
    oh = F.one_hot(np.array([[0, 2], [1, 0]]), 3)
    assert oh.dtype == np.int64 and oh.shape == (2, 2, 3)
    np.testing.assert_array_equal(oh.data, np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert F.one_hot(tg.Tensor(np.array([3, 1]))).shape == (2, 4)
    with pytest.raises(ValueError, match="label 3 is out of range for num_classes=3"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="labels must be integers"):
        F.one_hot(np.array([1.0]), 3)
