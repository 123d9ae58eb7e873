"""The engine's contract: Tensor construction, backward semantics, higher order, grad mode."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import Tensor

# ---- the textbook's shopping example (MulLayer / AddLayer) --------------------------------------


def test_apple_example():
    apple, n, tax = (Tensor(v, requires_grad=True) for v in (100.0, 2.0, 1.1))
    price = apple * n * tax
    price.backward()
    assert price.item() == pytest.approx(220.0, rel=1e-6)
    assert apple.grad.item() == pytest.approx(2.2, rel=1e-6)
    assert n.grad.item() == pytest.approx(110.0, rel=1e-6)
    assert tax.grad.item() == pytest.approx(200.0, rel=1e-6)


def test_apple_orange_example():
    apple, na, orange, no, tax = (
        Tensor(v, requires_grad=True) for v in (100.0, 2.0, 150.0, 3.0, 1.1)
    )
    price = (apple * na + orange * no) * tax
    price.backward()
    assert price.item() == pytest.approx(715.0, rel=1e-6)
    got = [t.grad.item() for t in (na, apple, orange, no, tax)]
    np.testing.assert_allclose(got, [110.0, 2.2, 3.3, 165.0, 650.0], rtol=1e-6)


# ---- construction and dtypes --------------------------------------------------------------------


def test_construction_dtypes():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([[1.0, 2.0]]).dtype == np.float32
    assert Tensor(np.zeros(3, np.float64)).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"
    assert Tensor([True]).dtype == bool
    t = Tensor([1.0], dtype=np.float64, name="w")
    assert t.dtype == np.float64 and t.name == "w"
    with pytest.raises(TypeError, match="only floating point"):
        Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="unsupported data"):
        Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="unsupported data"):
        Tensor(np.array([object()]))


def test_attributes_and_repr():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.grad_fn is not None and x.grad_fn is None
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert x.T.shape == (3, 2)
    assert "grad_fn=<Mul>" in repr(y) and "shape=(2, 3)" in repr(y) and "float64" in repr(y)
    assert y.detach().grad_fn is None and y.detach().data is y.data
    assert Tensor(3.0).item() == 3.0
    with pytest.raises(ValueError, match="one-element"):
        x.item()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_operands_keep_dtype(dtype):
    x = Tensor(np.ones(3, dtype), requires_grad=True)
    ys = [x * 1.005, 1.005 * x, x + 0.001, x / 3, 3 / x, x**2, 2**x, x - 1, 1 - x, -x,
          x * np.float64(2.0), x + np.asarray(2.0), x + np.arange(3), x.mean(), x.var(), x.maximum(0.5)]
    for y in ys:
        assert y.dtype == dtype
    sum(y.sum() for y in ys).backward()
    assert x.grad.dtype == dtype


def test_comparisons_are_bool_and_outside_graph():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert r.dtype == bool and not r.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


def test_numpy_array_on_the_left():
    # a numpy array counts as a tensor of its dtype (PyTorch: float32 * float64 array is float64);
    # the gradient still has the leaf's dtype
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.array([1.0, 1.0])
    assert isinstance(y, Tensor) and y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])
    assert x.grad.dtype == np.float32
    z = np.array([3.0, 4.0], np.float32) * x + np.float64(1.0)
    assert z.dtype == np.float32


def test_creation_functions_and_seed():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones((2,)).data.tolist() == [1.0, 1.0]
    assert tg.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert tg.zeros_like(tg.ones(3)).data.tolist() == [0, 0, 0]
    assert tg.ones_like(np.zeros(2, np.float64)).dtype == np.float64
    assert tg.arange(4).data.tolist() == [0, 1, 2, 3]
    assert tg.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    tg.manual_seed(3)
    a, b = tg.randn(4, 5), tg.rand(2)
    tg.manual_seed(3)
    np.testing.assert_array_equal(a.data, tg.randn(4, 5).data)
    np.testing.assert_array_equal(b.data, tg.rand(2).data)
    assert a.dtype == np.float32 and tg.randn(2, requires_grad=True).requires_grad
    assert 0 <= b.data.min() and b.data.max() < 1


# ---- backward semantics -------------------------------------------------------------------------


def test_gradients_accumulate_and_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 8.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_tensor_used_twice_sums_gradients():
    x = Tensor(3.0, requires_grad=True)
    (x + x).backward()
    assert x.grad.item() == 2.0
    x.grad = None
    y = x * x
    (y * y + y).backward()  # d/dx (x^4 + x^2) = 4x^3 + 2x
    assert x.grad.item() == pytest.approx(4 * 27 + 6)


def test_leaf_grads_do_not_share_memory():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([1.0, 2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])


def test_broadcast_gradient_reduced_to_input_shape():
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    b = Tensor(np.ones((3,)), requires_grad=True)
    s = Tensor(np.ones((4, 1)), requires_grad=True)
    (x * b + s).sum().backward()
    assert b.grad.shape == (3,) and s.grad.shape == (4, 1)
    np.testing.assert_allclose(b.grad.data, [4, 4, 4])
    np.testing.assert_allclose(s.grad.data, [[3]] * 4)


def test_backward_needs_scalar_or_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"one-element.*\(2,\)"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 20.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_second_backward_without_retain_graph_raises():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (np.exp([1.0, 2.0]) * np.array([2.0, 3.0])), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_leaf_backward_is_allowed():
    x = Tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_chain_of_100000_ops_has_no_recursion():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_no_node_survives_a_finished_backward():
    gc.disable()
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        y = (x * 2).tanh().exp()
        refs = [weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.inputs[0].grad_fn)]
        y.sum().backward()
        del y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_graph_freed_when_output_dropped_without_backward():
    gc.disable()
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        y = (x * 2).exp()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


# ---- functional gradients, higher order ---------------------------------------------------------


def test_grad_does_not_touch_leaf_grads():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    (gx, gw) = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, [3.0, 4.0])
    np.testing.assert_allclose(gw.data, [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_of_intermediate_and_unused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    u = Tensor([1.0], requires_grad=True)
    (gh,) = tg.grad((h * h).sum(), [h], retain_graph=True)
    np.testing.assert_allclose(gh.data, 2 * h.data)
    with pytest.raises(RuntimeError, match="not part of the graph"):
        tg.grad((h * h).sum(), [u])
    assert tg.grad((x * x).sum(), [x, u], allow_unused=True)[1] is None


def test_second_derivative_of_tanh():
    xs = np.linspace(-2, 2, 7)
    x = Tensor(xs, requires_grad=True)
    (g,) = tg.grad(x.tanh().sum(), [x], create_graph=True)
    (g2,) = tg.grad(g.sum(), [x])
    t = np.tanh(xs)
    np.testing.assert_allclose(g.data, 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(g2.data, -2 * t * (1 - t**2), rtol=1e-10)


def test_third_derivative_via_backward():
    x = Tensor(0.7, dtype=np.float64, requires_grad=True)
    y = x.sin() * x.exp()
    (g1,) = tg.grad(y, [x], create_graph=True)
    (g2,) = tg.grad(g1, [x], create_graph=True)
    g2.backward()
    v = 0.7  # d3/dx3 e^x sin x = 2 e^x (cos x - sin x)
    assert x.grad.item() == pytest.approx(2 * np.exp(v) * (np.cos(v) - np.sin(v)), rel=1e-10)


def test_gradient_of_gradient_norm():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    x = Tensor(rng.standard_normal(3))

    def penalty(W):
        (g,) = tg.grad(((W @ x).tanh() ** 2).sum(), [W], create_graph=True)
        return (g * g).sum()

    assert tg.gradcheck(penalty, [W])


def test_newton_method_on_quartic():
    # f(x) = x^4 - 2x^2 has minima at +-1; Newton from x = 2 converges to 1.
    x = Tensor(2.0, dtype=np.float64, requires_grad=True)
    for _ in range(12):
        y = x**4 - 2 * x**2
        (g,) = tg.grad(y, [x], create_graph=True)
        (h,) = tg.grad(g, [x])
        x = Tensor(x.data - g.data / h.data, requires_grad=True)
    assert x.item() == pytest.approx(1.0, abs=1e-10)


def test_backward_pass_not_recorded_without_create_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    x.grad = None
    (x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad


# ---- grad mode --------------------------------------------------------------------------------


def test_no_grad_and_enable_grad():
    x = Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        assert (x * 2).grad_fn is None
        with tg.enable_grad():
            assert (x * 2).grad_fn is not None
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_grad_mode_is_thread_local():
    seen = []
    with tg.no_grad():
        t = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ---- in place and versions ----------------------------------------------------------------------


def test_inplace_on_saved_tensor_raises_naming_the_op():
    w = Tensor([1.0, 2.0], requires_grad=True)
    a = Tensor([3.0, 4.0])
    y = (w * a).sum()
    a += 1
    with pytest.raises(RuntimeError, match=r"Mul.*modified in place.*version 1.*version 0"):
        y.backward()


def test_inplace_on_leaf_requiring_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with tg.no_grad():
        w -= 0.5
    np.testing.assert_allclose(w.data, [0.5, 1.5])
    assert w._version == 1 and w.is_leaf


def test_inplace_on_graph_tensor_is_recorded():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y *= 3
    y += x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [7.0, 7.0])


def test_inplace_on_saved_output_raises():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y.sum()
    y += 1
    with pytest.raises(RuntimeError, match="Exp.*output"):
        z.backward()


def test_setitem():
    x = Tensor(np.zeros(4))
    x[1:3] = 5.0
    assert x.data.tolist() == [0, 5, 5, 0] and x._version == 1
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor(np.ones(4)) * 1.0
    y[1:3] = w * w
    y.sum().backward()
    np.testing.assert_allclose(w.grad.data, [2.0, 4.0])


# ---- custom functions and gradcheck ---------------------------------------------------------------


class Cube(tg.Function):
    def forward(self, x):
        return x**3

    def backward(self, gy):
        (x,) = self.inputs
        return gy * 3 * x * x


class WrongCube(Cube):
    def backward(self, gy):
        (x,) = self.inputs
        return gy * 2 * x * x


def test_custom_function_and_gradcheck():
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.data, x.data**3)
    assert tg.gradcheck(Cube.apply, [x])
    # create_graph works for custom ops written with Tensor ops
    (g,) = tg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    (g2,) = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(g2.data, 6 * x.data)


def test_gradcheck_catches_a_wrong_gradient():
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"input 0.*index \(\d+,\).*analytic.*numeric"):
        tg.gradcheck(WrongCube.apply, [x])


def test_gradcheck_refuses_float32():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda t: t * t, [x])


def test_numerical_grad_matches_closed_form():
    x = Tensor(np.array([0.3, 1.2]))
    (g,) = tg.numerical_grad(lambda t: (t.sin() * t).sum(), [x])
    np.testing.assert_allclose(g, np.sin(x.data) + x.data * np.cos(x.data), rtol=1e-8)


# ---- hooks ------------------------------------------------------------------------------------------


def test_hooks_and_retain_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.data.copy()))
    x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * h.data)
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 10 * 3 * 2 * h.data)
    handle.remove()
    x.grad = None
    h2 = x * 3
    (h2 * h2).sum().backward()
    assert len(seen) == 1


# ---- anomaly mode -----------------------------------------------------------------------------------


def test_anomaly_mode_names_op_and_line():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Log.*test_autograd\.py:\d+"):
            (x.log() * 0).sum()  # forward gives -inf
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt().sum()  # forward finite, backward inf at 0
    y.backward()
    assert np.isinf(x.grad.data[0])
    x.grad = None
    with tg.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(FloatingPointError, match="Sqrt.*backward"):
            y.backward()
