"""nn layers and nn.init: gradients (float64 gradcheck), forward values against closed forms,
PyTorch's initialization statistics, BatchNorm's running statistics, and a trained XOR net."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
import tinygrad_kr as tg
from nn import functional as F
from nn import init
from tinygrad_kr.ops import linear as linear_ops
from tinygrad_kr.testing import arrays, sample, shapes


def t64(seed, shape, domain="real", requires_grad=True):
    return tg.Tensor(sample(shape, domain, seed=seed), requires_grad=requires_grad)


# ---- Linear ----------------------------------------------------------------------------------


@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    d_in=st.integers(1, 4),
    d_out=st.integers(1, 4),
    bias=st.booleans(),
    data=st.data(),
)
def test_linear_gradient_and_forward(lead, d_in, d_out, bias, data):
    layer = nn.Linear(d_in, d_out, bias=bias, dtype=np.float64)
    x = tg.Tensor(data.draw(arrays(lead + (d_in,))), requires_grad=True)
    params = [layer.weight] + ([layer.bias] if bias else [])
    assert tg.gradcheck(lambda x, *p: layer(x), [x] + params)
    expected = x.data @ layer.weight.data.T + (layer.bias.data if bias else 0)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12, atol=1e-12)


def test_linear_is_one_fused_node_and_keeps_float32():
    layer = nn.Linear(3, 2)
    x = tg.randn(4, 3, requires_grad=True)
    y = layer(x)
    assert isinstance(y.grad_fn, linear_ops.Linear)
    assert y.grad_fn.edges == (x, layer.weight, layer.bias)  # straight to the leaves
    (y * y).sum().backward()
    for t in (x, layer.weight, layer.bias):
        assert t.grad.dtype == np.float32
    assert layer.weight.grad.data.flags.c_contiguous


def test_linear_second_order_through_create_graph():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = t64(1, (4, 3))
    (gx,) = tg.grad((layer(x).tanh() ** 2).sum(), [x], create_graph=True)
    assert gx.requires_grad
    # Hessian-vector product against central differences of the first gradient.
    v = sample((4, 3), seed=2)
    hv = tg.grad((gx * tg.Tensor(v)).sum(), [x])[0].data

    def g_at(arr):
        xx = tg.Tensor(arr, requires_grad=True)
        return tg.grad((layer(xx).tanh() ** 2).sum(), [xx])[0].data

    eps = 1e-6
    num = (g_at(x.data + eps * v) - g_at(x.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv, num, rtol=1e-5, atol=1e-7)


def test_linear_default_init_matches_pytorch_bounds():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt(5)) on fan_in=400
    w, b = layer.weight.data, layer.bias.data
    assert w.shape == (300, 400) and w.dtype == np.float32 and b.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert nn.Linear(3, 2, bias=False).bias is None
    tg.manual_seed(5)
    a = nn.Linear(4, 4).weight.data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.data)


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(5, 3)
    tl = torch.nn.Linear(5, 3)
    tl.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 5)).astype(np.float32)
    y = layer(tg.Tensor(x))
    ty = tl(torch.from_numpy(x))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer.weight.grad.data, tl.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.data, tl.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_functional_linear_checks_arguments():
    W = tg.randn(2, 3)
    with pytest.raises(ValueError, match=r"linear: expected input with last dim 3, got shape \(4, 2\)"):
        F.linear(tg.randn(4, 2), W)
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(2,\)"):
        F.linear(tg.randn(4, 3), W, tg.randn(3))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(tg.randn(4, 3), tg.randn(3))
    np.testing.assert_allclose(F.linear(tg.ones(3), W).data, W.data.sum(axis=1), rtol=1e-6)


# ---- activations ---------------------------------------------------------------------------

ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True))),
    (nn.LogSoftmax(axis=0), lambda x: x - np.log(np.exp(x).sum(axis=0, keepdims=True))),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize("module,ref", ACTIVATIONS, ids=[repr(m) for m, _ in ACTIVATIONS])
@given(x=arrays(shapes(min_dims=1), "nonzero"))  # away from the kinks at 0
def test_activation_gradient_and_forward(module, ref, x):
    x = tg.Tensor(x, requires_grad=True)
    np.testing.assert_allclose(module(x).data, ref(x.data), rtol=1e-12, atol=1e-12)
    if not isinstance(module, nn.Identity):
        assert tg.gradcheck(module, [x], atol=1e-6, rtol=1e-5)
    y32 = module(tg.Tensor(x.data.astype(np.float32)))
    assert y32.dtype == np.float32


def test_activations_match_functional():
    x = tg.randn(3, 4)
    for m, f in [(nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh)]:
        np.testing.assert_array_equal(m(x).data, f(x).data)
    with pytest.raises(TypeError, match="relu: input must be a floating point tensor"):
        F.relu(tg.Tensor(np.arange(3)))


@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), data=st.data())
def test_flatten(shape, data):
    nd = len(shape)
    start = data.draw(st.integers(-nd, nd - 1))
    end = data.draw(st.integers(start % nd, nd - 1))
    x = t64(0, shape)
    expected = np.reshape(x.data, shape[: start % nd] + (-1,) + shape[end + 1 :])
    np.testing.assert_array_equal(nn.Flatten(start, end)(x).data, expected)
    assert tg.gradcheck(nn.Flatten(start, end), [x])


def test_flatten_default_and_errors():
    assert nn.Flatten()(tg.zeros(2, 3, 4, 5)).shape == (2, 60)
    with pytest.raises(ValueError, match=r"flatten: start_dim=1, end_dim=-1 are not a valid dim range") as e:
        nn.Sequential(nn.Flatten())(tg.zeros(3))
    assert "in 0 (Flatten)" in str(e.value) + str(getattr(e.value, "__notes__", ""))  # names the layer


# ---- Dropout ---------------------------------------------------------------------------------


def test_dropout_train_mask_statistics_and_scaling():
    tg.manual_seed(0)
    x = tg.ones(200, 500)
    y = nn.Dropout(0.3)(x).data
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02  # inverted dropout keeps the expectation
    assert y.dtype == np.float32


def test_dropout_reproducible_with_seed_and_gradient_uses_the_mask():
    x = t64(0, (6, 7))
    tg.manual_seed(7)
    a = F.dropout(x, 0.4).data
    tg.manual_seed(7)
    b = F.dropout(x, 0.4).data
    np.testing.assert_array_equal(a, b)

    def fixed_mask(x):
        tg.manual_seed(7)  # the same mask at every evaluation of the central differences
        return F.dropout(x, 0.4)

    assert tg.gradcheck(fixed_mask, [x])
    x.grad = None
    fixed_mask(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, (a != 0) / 0.6)


def test_dropout_eval_and_edge_probabilities():
    x = tg.randn(4, 5, requires_grad=True)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    y = nn.Dropout(1.0)(x)
    assert not y.data.any() and np.isfinite(y.data).all()
    y.sum().backward()
    assert not x.grad.data.any()
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="dropout: probability"):
        F.dropout(x, -0.1)
    assert F.dropout(x, 0.5, training=False) is x


# ---- BatchNorm -------------------------------------------------------------------------------

BN_SHAPES = [
    (nn.BatchNorm1d, (2, 3)),
    (nn.BatchNorm1d, (2, 3, 4)),
    (nn.BatchNorm2d, (2, 3, 2, 3)),
    (nn.BatchNorm1d, (5, 2)),
    (nn.BatchNorm2d, (3, 2, 1, 2)),
]


def _bn_reference(x, w, b, eps=1e-5, mean=None, var=None):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("cls,shape", BN_SHAPES, ids=[f"{c.__name__}{s}" for c, s in BN_SHAPES])
@given(seed=st.integers(0, 2**32 - 1))  # generic values: hypothesis' constant arrays have variance 0
@settings(max_examples=10)
def test_batchnorm_train_gradient_and_forward(cls, shape, seed):
    bn = cls(shape[1], dtype=np.float64)
    init.normal_(bn.weight)
    init.normal_(bn.bias)
    x = t64(seed, shape)
    expected = _bn_reference(x.data, bn.weight.data, bn.bias.data)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-10, atol=1e-10)
    assert tg.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cls,shape", BN_SHAPES[:3], ids=[f"{c.__name__}{s}" for c, s in BN_SHAPES[:3]])
def test_batchnorm_eval_gradient_and_forward(cls, shape):
    bn = cls(shape[1], dtype=np.float64)
    for i in range(3):
        bn(t64(10 + i, shape, requires_grad=False))
    init.normal_(bn.weight)
    bn.eval()
    x = t64(0, shape)
    rm, rv = bn.running_mean.data, bn.running_var.data
    expected = _bn_reference(x.data, bn.weight.data, bn.bias.data, mean=rm, var=rv)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-10, atol=1e-10)
    assert tg.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])
    before = rm.copy()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean.data, before)  # eval does not update


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_statistics_follow_pytorch(momentum):
    C = 3
    bn = nn.BatchNorm2d(C, momentum=momentum)
    rng = np.random.default_rng(0)
    mean, var = np.zeros(C), np.ones(C)
    for step in range(1, 6):
        x = (rng.standard_normal((4, C, 3, 2)) * (step + 1) + step).astype(np.float32)
        bn(tg.Tensor(x))
        m = 1 / step if momentum is None else momentum
        batch = x.astype(np.float64)
        mean = (1 - m) * mean + m * batch.mean(axis=(0, 2, 3))
        var = (1 - m) * var + m * batch.var(axis=(0, 2, 3), ddof=1)  # unbiased
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 5
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm_matches_torch_train_and_eval():
    torch = pytest.importorskip("torch")
    bn, tbn = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((6, 4, 5)).astype(np.float32) * 3 + 1
        np.testing.assert_allclose(
            bn(tg.Tensor(x)).data, tbn(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5
        )
    for k, v in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[k], v.numpy(), rtol=1e-5)
    bn.eval()
    tbn.eval()
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(
        bn(tg.Tensor(x)).data, tbn(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_batchnorm_options_and_errors():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = t64(0, (4, 3))
    np.testing.assert_allclose(bn(x).data, _bn_reference(x.data, np.ones(3), np.zeros(3)), atol=1e-10)
    bn.eval()  # without running statistics, eval still uses the batch's
    np.testing.assert_allclose(bn(x).data, _bn_reference(x.data, np.ones(3), np.zeros(3)), atol=1e-10)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with pytest.raises(ValueError, match=r"1 \(BatchNorm1d\): expected more than 1 value per channel"):
        model(tg.zeros(1, 2))
    msg = r"BatchNorm2d: expected input \(N, C, H, W\) with C=3, got shape \(2, 4, 2, 2\)"
    with pytest.raises(ValueError, match=msg):
        nn.BatchNorm2d(3)(tg.zeros(2, 4, 2, 2))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 2, 2))
    bn = nn.BatchNorm1d(3)
    bn(tg.randn(4, 3))
    bn.reset_running_stats()
    assert not bn.running_mean.data.any() and (bn.running_var.data == 1).all()


# ---- nn.init ---------------------------------------------------------------------------------


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans_follow_pytorch_conventions():
    assert init._calculate_fan_in_and_fan_out(tg.zeros(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(tg.zeros(16, 3, 5, 5)) == (75, 400)
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(5,\)"):
        init.xavier_uniform_(tg.zeros(5))


INIT_CASES = [
    # (fn, kwargs, shape, "uniform" bound or "normal" std)
    (init.xavier_uniform_, {}, (200, 300), ("uniform", math.sqrt(6 / 500))),
    (init.xavier_uniform_, {"gain": 2.0}, (64, 32, 3, 3), ("uniform", 2 * math.sqrt(6 / (288 + 576)))),
    (init.xavier_normal_, {}, (200, 300), ("normal", math.sqrt(2 / 500))),
    (init.kaiming_uniform_, {}, (200, 300), ("uniform", math.sqrt(2) * math.sqrt(3 / 300))),  # a=0
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, (64, 32, 3, 3), ("uniform", 1 / math.sqrt(288))),
    (
        init.kaiming_uniform_,
        {"mode": "fan_out", "nonlinearity": "relu"},
        (200, 300),
        ("uniform", math.sqrt(2) * math.sqrt(3 / 200)),
    ),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, (300, 200), ("normal", math.sqrt(2 / 200))),
    (
        init.kaiming_normal_,
        {"mode": "fan_out", "nonlinearity": "tanh"},
        (32, 16, 5, 5),
        ("normal", 5 / 3 / math.sqrt(800)),
    ),
    (init.uniform_, {"a": -2.0, "b": 3.0}, (300, 200), ("uniform", None)),
    (init.normal_, {"mean": 1.5, "std": 0.3}, (300, 200), ("normal", 0.3)),
]


@pytest.mark.parametrize(
    "fn,kwargs,shape,expect", INIT_CASES, ids=[f"{c[0].__name__}{c[1]}" for c in INIT_CASES]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_statistics(fn, kwargs, shape, expect, dtype):
    tg.manual_seed(0)
    t = tg.Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)
    arr = t.data
    assert fn(t, **kwargs) is t
    assert t.data is arr and t.dtype == dtype  # in place, dtype kept
    x = t.data.astype(np.float64)
    n = x.size
    kind, scale = expect
    if kind == "uniform":
        lo, hi = (kwargs["a"], kwargs["b"]) if fn is init.uniform_ else (-scale, scale)
        slack = 1e-6 * (hi - lo)  # float32 rounding of a sample next to the bound
        assert lo - slack <= x.min() and x.max() <= hi + slack
        assert x.min() < lo + 0.01 * (hi - lo) and x.max() > hi - 0.01 * (hi - lo)
        std = (hi - lo) / math.sqrt(12)
        mean = (hi + lo) / 2
    else:
        std, mean = scale, kwargs.get("mean", 0.0)
    # sampling tolerance: 5 standard errors of the mean and of the standard deviation
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(x.std() - std) < 5 * std / math.sqrt(2 * n) * 2


def test_init_constants_and_reproducibility():
    t = tg.zeros(3, 4)
    assert (init.ones_(t).data == 1).all()
    assert (init.constant_(t, 2.5).data == 2.5).all()
    assert not init.zeros_(t).data.any()
    tg.manual_seed(3)
    a = init.normal_(tg.zeros(5, 5)).data.copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(a, init.normal_(tg.zeros(5, 5)).data)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan")


# ---- a small net learns ---------------------------------------------------------------------


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_xor_mlp_trained_with_plain_sgd_reaches_full_accuracy(act):
    tg.manual_seed(0)
    X = tg.Tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32))
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), act(), nn.Linear(8, 2))
    lr = 0.5
    for _ in range(500):
        loss = F.cross_entropy(model(X), y)
        model.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad.data
    assert (model(X).data.argmax(axis=1) == y).all()
    assert loss.item() < 0.05
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_layers_raise_no_warnings_on_float32_training_step():
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ELU(), nn.Dropout(0.2), nn.Linear(6, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(model(tg.randn(4, 5)), np.array([0, 1, 2, 1]))
        loss.backward()
    assert loss.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
