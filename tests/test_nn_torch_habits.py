"""PyTorch habits in nn (issue 10): inplace= activations, label_smoothing, device=/dtype= on
layers, Module.to/float/double, Parameter.numel, F.batch_norm (the one implementation behind
BatchNorm). Compared with torch when it is installed, with closed forms always.
(F.conv_transpose2d / nn.ConvTranspose2d are tested in tests/test_nn_conv.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import Tensor, nn
from tinygrad_kr.nn import functional as F


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def arr(seed, *shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---- activations: inplace=True ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,ref",
    [
        (lambda inplace: nn.ReLU(inplace=inplace), lambda a: np.maximum(a, 0)),
        (lambda inplace: nn.LeakyReLU(0.2, inplace=inplace), lambda a: np.where(a > 0, a, 0.2 * a)),
        (lambda inplace: nn.ELU(0.5, inplace=inplace), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a))),
    ],
    ids=["ReLU", "LeakyReLU", "ELU"],
)
def test_inplace_activation_changes_its_input_and_keeps_the_gradient(make, ref):
    w = Tensor(arr(0, 3, 4), requires_grad=True)
    h = w * 2.0
    out = make(True)(h)
    assert out is h  # the input itself, changed
    np.testing.assert_allclose(h.data, ref(2 * w.data))
    (out * out).sum().backward()
    (expected,) = tg.grad((make(False)(w * 2.0) ** 2).sum(), [w])
    np.testing.assert_allclose(w.grad.data, expected.data)


def test_inplace_activation_errors_as_pytorch():
    leaf = Tensor(arr(1, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place relu_ on a leaf tensor of shape .* that requires grad"):
        nn.ReLU(inplace=True)(leaf)
    x = Tensor(arr(2, 3), requires_grad=True)
    y = x.exp()  # Exp saves its output for backward
    nn.ReLU(inplace=True)(y)
    with pytest.raises(RuntimeError, match="Exp: its output .* was modified in place"):
        y.sum().backward()
    with pytest.raises(TypeError, match="ReLU: inplace must be True or False"):
        nn.ReLU(inplace=1)
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"


def test_functional_inplace_and_dropout_inplace():
    x = Tensor(arr(3, 4))
    assert F.relu(x, inplace=True) is x and x.data.min() >= 0
    tg.manual_seed(0)
    d = Tensor(np.ones((50, 50)))
    assert nn.Dropout(0.5, inplace=True)(d) is d
    assert set(np.unique(d.data)) == {0.0, 2.0}
    assert repr(nn.Dropout(0.1, inplace=True)) == "Dropout(p=0.1, inplace=True)"


# ---- cross-entropy with label smoothing -----------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35, 1.0])
def test_label_smoothing_matches_torch(torch, reduction, smoothing):
    x = arr(4, 6, 5, 3)  # (N, C, d): class dim 1
    t = np.random.default_rng(5).integers(0, 5, (6, 3))
    t[0, 0] = t[3, 2] = -100  # ignored targets count for neither term
    probs = np.random.default_rng(6).dirichlet(np.ones(5), (6, 3)).transpose(0, 2, 1)
    tf = torch.nn.functional
    for target in (t, probs):
        ours = F.cross_entropy(Tensor(x), Tensor(target), reduction, label_smoothing=smoothing)
        theirs = tf.cross_entropy(
            torch.tensor(x), torch.tensor(target), reduction=reduction, label_smoothing=smoothing
        )
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)
    loss = nn.CrossEntropyLoss(label_smoothing=smoothing, ignore_index=2)
    ref = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, ignore_index=2)
    np.testing.assert_allclose(
        loss(Tensor(x[:, :, 1]), t[:, 1]).data,
        ref(torch.tensor(x[:, :, 1]), torch.tensor(t[:, 1])).numpy(),
        rtol=1e-12,
    )
    unbatched = F.cross_entropy(Tensor(x[0, :, 1]), Tensor(np.array(t[0, 1])), label_smoothing=smoothing)
    np.testing.assert_allclose(
        unbatched.data,
        tf.cross_entropy(torch.tensor(x[0, :, 1]), torch.tensor(t[0, 1]), label_smoothing=smoothing).numpy(),
        rtol=1e-12,
    )


def test_label_smoothing_closed_form_and_gradient():
    # one sample, uniform logits over C = 4: every -log p is log 4, whatever the smoothing
    assert F.cross_entropy(Tensor(np.zeros((1, 4))), [2], label_smoothing=0.3).item() == pytest.approx(
        np.log(4)
    )
    x = Tensor(arr(7, 5, 4), requires_grad=True)
    t = np.array([0, 3, -100, 1, 1])
    assert tg.gradcheck(lambda a: F.cross_entropy(a, t, label_smoothing=0.2), [x])
    p = Tensor(np.random.default_rng(8).dirichlet(np.ones(4), 5), requires_grad=True)
    assert tg.gradcheck(lambda a, b: F.cross_entropy(a, b, "sum", label_smoothing=0.2), [x, p])
    with pytest.raises(
        ValueError, match=r"cross_entropy: label_smoothing must be a number in \[0, 1\], got 1.5"
    ):
        F.cross_entropy(x, t, label_smoothing=1.5)
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"


# ---- device= and dtype= on layer constructors -------------------------------------------------------

LAYERS = {
    "Linear": lambda **kw: nn.Linear(3, 2, **kw),
    "Conv2d": lambda **kw: nn.Conv2d(1, 2, 3, **kw),
    "ConvTranspose2d": lambda **kw: nn.ConvTranspose2d(1, 2, 3, **kw),
    "BatchNorm1d": lambda **kw: nn.BatchNorm1d(3, **kw),
    "BatchNorm2d": lambda **kw: nn.BatchNorm2d(3, **kw),
    "Embedding": lambda **kw: nn.Embedding(5, 2, **kw),
    "RNN": lambda **kw: nn.RNN(3, 2, **kw),
    "LSTM": lambda **kw: nn.LSTM(3, 2, **kw),
    "RNNCell": lambda **kw: nn.RNNCell(3, 2, **kw),
    "LSTMCell": lambda **kw: nn.LSTMCell(3, 2, **kw),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_take_device_and_dtype(name):
    make = LAYERS[name]
    assert all(p.dtype == np.float32 for p in make().parameters())
    assert all(p.dtype == np.float64 for p in make(device="cpu", dtype=tg.float64).parameters())
    assert all(p.dtype == np.float16 for p in make(dtype="float16").parameters())
    with pytest.raises(ValueError, match=f"{name}: device 'cuda:0' is not available"):
        make(device="cuda:0")
    with pytest.raises(TypeError, match=f"{name}: dtype must be a floating point dtype .* got int64"):
        make(dtype=np.int64)


def test_layers_take_a_torch_cpu_device(torch):
    assert nn.Linear(2, 2, device=torch.device("cpu")).weight.dtype == np.float32
    with pytest.raises(ValueError, match="device 'meta' is not available"):
        nn.Linear(2, 2, device=torch.device("meta"))


# ---- Module.to / float / double, Parameter.numel --------------------------------------------------


def test_module_to_converts_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    params = list(model.parameters())
    model(tg.randn(5, 3)).sum().backward()
    assert model.double() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same Parameter objects
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    bn = model[1]
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    out = model(Tensor(arr(9, 5, 3)))
    assert out.dtype == np.float64
    assert model.to("cpu", tg.float32) is model and all(p.dtype == np.float32 for p in params)
    assert model.to("cpu") is model and model.float() is model and params[0].dtype == np.float32
    with pytest.raises(TypeError, match=r"Sequential.to: only floating point dtypes are allowed, got int64"):
        model.to(np.int64)
    with pytest.raises(ValueError, match="Sequential.to: device 'cuda' is not available"):
        model.to("cuda")
    assert model.half().state_dict()["0.weight"].dtype == np.float16


def test_optimizer_and_module_to():
    """An optimizer built after .to() works in the new dtype; one built before still updates the
    same (converted) parameters, its existing buffers staying in the old dtype (README, docstring)."""
    tg.manual_seed(0)
    model = nn.Linear(3, 2)
    before = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = Tensor(arr(10, 4, 3, dtype=np.float32))
    model(x).sum().backward()
    before.step()
    model.double()
    model.zero_grad()
    model(x.double()).sum().backward()
    w0 = model.weight.data.copy()
    before.step()
    assert model.weight.dtype == np.float64 and not np.array_equal(model.weight.data, w0)
    assert before.state[model.weight]["momentum_buffer"].dtype == np.float32
    after = nn.optim.Adam(model.parameters(), lr=0.1)
    after.step()
    assert after.state[model.weight]["exp_avg"].dtype == np.float64


def test_parameter_numel():
    layer = nn.Linear(3, 4)
    assert layer.weight.numel() == 12 and layer.bias.numel() == 4
    assert sum(p.numel() for p in layer.parameters()) == 16


# ---- F.batch_norm ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(torch, shape, affine):
    x = arr(11, *shape)
    w, b = (arr(12, 3), arr(13, 3)) if affine else (None, None)
    rm, rv = arr(14, 3), np.abs(arr(15, 3)) + 0.5
    ours_m, ours_v = Tensor(rm.copy()), Tensor(rv.copy())
    theirs_m, theirs_v = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    tw, tb = (torch.tensor(w), torch.tensor(b)) if affine else (None, None)
    for training in (True, False):
        y = F.batch_norm(Tensor(x), ours_m, ours_v, w, b, training, 0.2, 1e-3)
        ty = torch.nn.functional.batch_norm(torch.tensor(x), theirs_m, theirs_v, tw, tb, training, 0.2, 1e-3)
        np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours_m.data, theirs_m.numpy(), rtol=1e-12)  # updated in place
        np.testing.assert_allclose(ours_v.data, theirs_v.numpy(), rtol=1e-12)
    y = F.batch_norm(Tensor(x), None, None, training=True)  # batch statistics only
    ty = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_closed_form_and_gradient():
    x = Tensor(np.array([[1.0, 10.0], [3.0, 30.0]]))
    rm, rv = Tensor(np.zeros(2)), Tensor(np.ones(2))
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.5, eps=0.0)
    np.testing.assert_allclose(y.data, [[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(rm.data, [1.0, 10.0])  # 0.5 * 0 + 0.5 * mean
    np.testing.assert_allclose(rv.data, [0.5 + 0.5 * 2.0, 0.5 + 0.5 * 200.0])  # unbiased batch variance
    inputs = [
        Tensor(arr(16, 5, 3, 2), requires_grad=True),
        Tensor(arr(17, 3), requires_grad=True),
        Tensor(arr(18, 3), requires_grad=True),
    ]
    assert tg.gradcheck(lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True), inputs)
    stats = Tensor(np.abs(arr(19, 3)) + 0.5)
    assert tg.gradcheck(lambda a, w, b: F.batch_norm(a, stats, stats, w, b), inputs)


def test_batch_norm_errors():
    x = Tensor(arr(20, 4, 3))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must be a tensor of shape \(3,\)"):
        F.batch_norm(x, Tensor(np.zeros(2)), Tensor(np.ones(3)))
    with pytest.raises(
        ValueError, match="batch_norm: running_mean and running_var are needed when training=False"
    ):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel when training"):
        F.batch_norm(Tensor(arr(21, 1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input \(N, C, \*d\)"):
        F.batch_norm(Tensor(arr(22, 3)), None, None, training=True)


def test_batchnorm_layer_is_batch_norm():
    tg.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=None, dtype=np.float64)
    rm, rv = Tensor(np.zeros(3)), Tensor(np.ones(3))
    for k, seed in enumerate((23, 24, 25), start=1):
        x = Tensor(arr(seed, 8, 3))
        np.testing.assert_array_equal(
            bn(x).data, F.batch_norm(x, rm, rv, bn.weight, bn.bias, True, 1 / k).data
        )
        np.testing.assert_allclose(bn.running_mean.data, rm.data)  # momentum=None: the cumulative average
        assert bn.num_batches_tracked.item() == k
    bn.eval()
    x = Tensor(arr(26, 4, 3))
    np.testing.assert_allclose(bn(x).data, F.batch_norm(x, rm, rv, bn.weight, bn.bias).data)
    with pytest.raises(ValueError, match=r"bn \(BatchNorm1d\): expected more than 1 value per channel"):
        nn.Sequential(__import__("collections").OrderedDict(bn=nn.BatchNorm1d(3)))(tg.zeros(1, 3))
