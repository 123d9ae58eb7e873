"""The core's contract: no silently wrong gradient (issue 9).

One section per point of the contract: views share version counters, ops declare what they
save, the engine checks what backward returns, accumulation and grad mode, type promotion,
numerical edges, errors that keep their origin. Where PyTorch is installed, values, dtypes and
gradients are compared with it; without it the tests check the same values written out.
"""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import nn
import tinygrad_kr as tg
from nn import functional as F
from tinygrad_kr import Tensor

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# --------------------------------------------------------------------------------------------
# 1. Views share their base's version counter
# --------------------------------------------------------------------------------------------


def test_detach_shares_the_version_counter_so_a_change_through_it_is_caught():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    loss = (y * y).sum()  # Mul saves y
    d = y.detach()
    d *= 0
    assert y.data.tolist() == [0.0, 0.0, 0.0]  # the same memory
    with pytest.raises(RuntimeError, match=r"Mul: input \d .*modified in place.*version 1.*version 0"):
        loss.backward()


@pytest.mark.parametrize("requires_grad", [False, True])
def test_inplace_through_a_slice_changes_the_base_and_is_caught(requires_grad):
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=requires_grad)
    w = leaf([1.0, 1.0, 1.0])
    base = a * 1.0 if requires_grad else a
    loss = (w * base).sum()  # Mul saves base
    v = base[1:]
    v += 10
    assert base.data.tolist() == [1.0, 12.0, 13.0]
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


@pytest.mark.parametrize(
    "make_view",
    [
        lambda t: t[1:],
        lambda t: t.reshape(2, 3),
        lambda t: t.reshape(3, 2).T,
        lambda t: t.reshape(1, 2, 3).mT,
        lambda t: t.reshape(2, 3).transpose(1, 0),
        lambda t: t.reshape(1, 6).squeeze(0),
        lambda t: t.expand_dims(0),
        lambda t: t.reshape(2, 3).flatten(),
        lambda t: t.detach(),
        lambda t: Tensor(t),
    ],
    ids=["slice", "reshape", "T", "mT", "transpose", "squeeze", "expand_dims", "flatten", "detach", "Tensor"],
)
def test_every_kind_of_view_shares_the_counter(make_view):
    t = Tensor(np.arange(6.0))
    v = make_view(t)
    assert np.shares_memory(v.data, t.data)
    before = t._version
    v += 1  # under no graph: plain in place
    assert t._version == before + 1 and v._version == t._version
    assert t.data.sum() == np.arange(6.0).sum() + v.data.size


def test_broadcast_view_shares_the_counter_and_refuses_writes():
    t = Tensor(np.arange(3.0))
    v = t.broadcast_to(2, 3)
    assert np.shares_memory(v.data, t.data)
    t += 1
    assert v._version == t._version == 1
    with pytest.raises(ValueError, match="read-only"):
        v += 1
    assert t._version == 1  # the rejected change changed nothing


def test_inplace_through_a_view_of_a_leaf_raises_outside_no_grad():
    w = leaf([1.0, 2.0, 3.0])
    v = w[1:]
    with pytest.raises(RuntimeError, match="view .* of a leaf tensor .* requires grad"):
        v += 1
    assert w.data.tolist() == [1.0, 2.0, 3.0] and w._version == 0
    with tg.no_grad():
        w[1:] += 1  # a weight update is fine
    assert w.data.tolist() == [1.0, 3.0, 4.0] and w._version > 0


def test_setitem_through_a_view_of_a_graph_tensor_reaches_the_base():
    w = leaf([1.0, 2.0])
    out = tg.zeros(2, 3, dtype=np.float64) * 1.0
    out[0][1:2] = w.sum() * 2  # today's main left `out` unchanged
    assert out.data.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]
    (out * out).sum().backward()
    np.testing.assert_allclose(w.grad.data, [24.0, 24.0])  # d/dw (2 * sum w)**2 = 8 * sum w


def _torch_view_program(tch, lib):
    """y = x * 2; v = y[1:]; v *= 3; v += w; z = y.reshape(2, 2) @ m; (z * z).sum()"""
    x, w, m = tch
    y = x * 2
    v = y[1:]
    v *= 3
    v += w
    z = y.reshape(2, 2) @ m
    return (z * z).sum(), y


def test_inplace_through_a_view_of_a_graph_tensor_gives_pytorchs_gradient():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(4), rng.standard_normal(3), rng.standard_normal((2, 2))]
    ours = [Tensor(a.copy(), requires_grad=True) for a in xs]
    loss, y = _torch_view_program(ours, tg)
    loss.backward()
    # by hand: y = [2 x0, 6 x1 + w0, 6 x2 + w1, 6 x3 + w2]
    yv = np.concatenate([[2 * xs[0][0]], 6 * xs[0][1:] + xs[1]])
    np.testing.assert_allclose(y.data, yv)
    gy = (2 * (yv.reshape(2, 2) @ xs[2]) @ xs[2].T).reshape(-1)
    np.testing.assert_allclose(ours[0].grad.data, gy * np.array([2, 6, 6, 6]))
    np.testing.assert_allclose(ours[1].grad.data, gy[1:])
    if torch is not None:
        ts = [torch.tensor(a, requires_grad=True) for a in xs]
        tl, _ = _torch_view_program(ts, torch)
        tl.backward()
        for o, t in zip(ours, ts):
            np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-12)


def test_a_sibling_view_follows_the_bases_new_history():
    w = leaf([1.0, 2.0, 3.0])
    buf = tg.zeros(4, dtype=np.float64)
    a = buf[:2]
    b = buf[1:]
    b += w  # buf (and so a) now depend on w
    assert a.requires_grad and buf.requires_grad
    (a * 3).sum().backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 0.0, 0.0])


def test_a_view_made_under_no_grad_cannot_be_changed_with_grad_on():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    with tg.no_grad():
        v = y[1:]
    with pytest.raises(RuntimeError, match="made under no_grad"):
        v.mul_(2)
    y2 = x * 1
    with tg.no_grad():
        y2[1:].mul_(2)  # both inside no_grad: allowed, not tracked
    y2.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0, 1.0])


# --------------------------------------------------------------------------------------------
# 2. Ops declare what they save
# --------------------------------------------------------------------------------------------


def test_changing_embedding_indices_after_forward_is_an_error():
    emb = nn.Embedding(5, 2)
    idx = Tensor(np.array([0, 1]))
    out = emb(idx)
    idx += 2
    with pytest.raises(RuntimeError, match="GetItem: input 1 .*modified in place"):
        out.sum().backward()


def test_changing_class_targets_after_forward_is_an_error():
    x = leaf(np.zeros((2, 3)), np.float32)
    t = Tensor(np.array([0, 2]))
    loss = F.cross_entropy(x, t)
    t[0] = 1
    with pytest.raises(RuntimeError, match="SoftmaxCrossEntropy: input 1 .*modified in place"):
        loss.backward()


def test_changing_a_where_mask_after_forward_is_an_error():
    x = leaf([1.0, 2.0])
    mask = Tensor(np.array([True, False]))
    y = tg.where(mask, x, x * 0)
    mask[1] = True
    with pytest.raises(RuntimeError, match="Where: input 0 .*modified in place"):
        y.sum().backward()


def test_a_node_runs_once():
    a, b = leaf([1.0]), leaf([2.0])
    node = tg.ops.elementwise.Mul()
    node(a, b)
    with pytest.raises(RuntimeError, match="Mul: this node was already applied"):
        node(b, a)


class SaveView(tg.Function):
    """Saves a view of its input: the engine still checks that input's version."""

    def forward(self, x):
        self.save_for_backward(x[::-1])
        return x * 2

    def backward(self, gy):
        (xr,) = self.saved_tensors
        return gy * 2 + xr * 0


def test_a_saved_view_of_an_input_is_version_checked():
    x = leaf([1.0, 2.0])
    y = SaveView.apply(x * 1)
    with tg.no_grad():
        pass
    z = x * 1
    y = SaveView.apply(z)
    z += 1
    with pytest.raises(RuntimeError, match="SaveView: input 0 .*modified in place"):
        y.sum().backward()


def test_changing_a_saved_output_is_an_error_and_an_unsaved_one_is_not():
    x = leaf([0.5, 1.0])
    y = x.exp()  # Exp saves its output
    y += 1
    with pytest.raises(RuntimeError, match="Exp: its output .*modified in place"):
        y.sum().backward()
    z = x * 2  # Mul saves its inputs, not its output
    z += 1
    z.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


# --------------------------------------------------------------------------------------------
# 3. The engine checks what backward returns
# --------------------------------------------------------------------------------------------


class ScaleNoReduce(tg.Function):
    """x * w with w broadcast, whose backward 'forgets' to sum w's gradient down."""

    def forward(self, x, w):
        self.save_for_backward(x, w)
        return x * w

    def backward(self, gy):
        x, w = self.saved_tensors
        return gy * w, gy * x  # (3, 4) for a (3, 1) w


def test_a_broadcast_gradient_is_summed_to_the_inputs_shape():
    x = leaf(np.arange(12.0).reshape(3, 4))
    w = leaf(np.ones((3, 1)))
    ScaleNoReduce.apply(x, w).sum().backward()
    assert w.grad.shape == (3, 1)
    np.testing.assert_allclose(w.grad.data, x.data.sum(axis=1, keepdims=True))


class WrongShape(tg.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy.reshape(-1)[:1]


class TooFew(tg.Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy


class IntGradient(tg.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return Tensor(np.ones(gy.shape, dtype=np.int64))


def test_wrong_gradient_shapes_counts_and_dtypes_are_refused():
    x = leaf(np.ones((2, 2)))
    with pytest.raises(
        RuntimeError,
        match=r"WrongShape.backward returned a gradient of shape \(1,\) for input 0 "
        r"of shape \(2, 2\)",
    ):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"TooFew.backward returned 1 gradient\(s\) for 2 input"):
        TooFew.apply(x, x * 1).sum().backward()
    with pytest.raises(RuntimeError, match="IntGradient.backward returned a gradient of dtype int64"):
        IntGradient.apply(x).sum().backward()


class Float64Gradient(tg.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return Tensor(np.full(gy.shape, 2.0))  # float64 for a float32 input


def test_a_float_gradient_of_another_dtype_is_cast_to_the_inputs():
    x = leaf([1.0, 2.0], np.float32)
    Float64Gradient.apply(x).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.data.tolist() == [2.0, 2.0]


def test_hooks_and_assigned_grads_are_checked_like_gradients():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"hook .* changed it from shape \(3,\)"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match=r"assigned a gradient of shape \(4,\)"):
        x.grad = Tensor(np.zeros(4))
    with pytest.raises(RuntimeError, match="dtype float32 to a tensor of shape"):
        x.grad = Tensor(np.zeros(3, np.float32))


def test_grad_needs_one_grad_output_per_output():
    x = leaf([1.0, 2.0])
    y, z = x * 2, x * 3
    with pytest.raises(ValueError, match="got 1 grad_outputs for 2 outputs"):
        tg.grad([y, z], [x], grad_outputs=[Tensor(np.ones(2))])


class Counting(tg.Function):
    calls = 0

    def forward(self, x):
        return x * 1

    def backward(self, gy):
        Counting.calls += 1
        return gy


def test_grad_stops_at_the_requested_inputs():
    x = leaf([1.0, 2.0])
    below = Counting.apply(x)
    seen = []
    below.register_hook(lambda g: seen.append("below"))
    mid = below * 3
    mid.register_hook(lambda g: seen.append("mid"))
    out = (mid * mid).sum()
    Counting.calls = 0
    (g,) = tg.grad(out, [mid])
    np.testing.assert_allclose(g.data, 2 * mid.data)
    assert seen == ["mid"] and Counting.calls == 0 and x.grad is None


# --------------------------------------------------------------------------------------------
# 4. Accumulation and grad mode
# --------------------------------------------------------------------------------------------


def test_a_retained_non_leaf_grad_accumulates_like_a_leafs():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward(retain_graph=True)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.data, 2 * 2 * y.data)
    np.testing.assert_allclose(x.grad.data, 2 * 2 * 3 * y.data)


def test_setting_requires_grad_is_validated_like_the_constructor():
    with pytest.raises(TypeError, match="only floating point tensors can require grad"):
        Tensor(np.arange(3)).requires_grad = True
    with pytest.raises(TypeError, match="True or False"):
        Tensor([1.0]).requires_grad = "yes"
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="only be changed on leaf tensors"):
        y.requires_grad = False


@pytest.mark.parametrize("switch, inside", [(tg.no_grad, False), (tg.enable_grad, True)])
def test_grad_mode_decorators_hold_inside_generators(switch, inside):
    @switch()
    def gen():
        for _ in range(3):
            yield tg.is_grad_enabled()

    outside = not inside
    with tg.set_grad_enabled(outside):
        modes = []
        for m in gen():
            modes.append(m)
            assert tg.is_grad_enabled() is outside  # the caller's mode between the yields
    assert modes == [inside] * 3


def test_set_grad_enabled_as_a_call_and_as_a_block():
    assert tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    with tg.inference_mode():
        assert not (leaf([1.0]) * 2).requires_grad


# --------------------------------------------------------------------------------------------
# 5. Type promotion, as PyTorch's
# --------------------------------------------------------------------------------------------

PROMOTIONS = [
    # (a, b, expected dtype name)
    (np.ones(2, np.float32), np.array([2, 3]), "float32"),  # float32 * int64 tensor
    (np.ones(2, np.float32), np.asarray(2.0), "float32"),  # 0-d float64 is outranked
    (np.ones(2, np.float32), np.ones(2), "float64"),  # both dimensioned
    (np.ones(2, np.float16), 2.5, "float16"),
    (np.arange(2), 2.5, "float32"),  # int tensor * Python float
    (np.arange(2, dtype=np.int32), 7, "int32"),
    (np.array([True, False]), 3, "int64"),
    (np.arange(2, dtype=np.uint8), np.asarray(300), "uint8"),
    (np.asarray(3), 2.5, "float32"),  # 0-d int * Python float
    (np.asarray(3.0), 2.5, "float64"),
    (np.arange(2), np.asarray(2.0), "float64"),  # 0-d float outranks a dimensioned int
    (np.arange(2, dtype=np.int64), np.ones(2, np.float16), "float16"),
]


@pytest.mark.parametrize("a, b, expected", PROMOTIONS)
def test_binary_ops_promote_like_pytorch(a, b, expected):
    tb = b if isinstance(b, float | int) else Tensor(b)
    for op in (lambda p, q: p * q, lambda p, q: p + q, lambda p, q: q - p):
        assert op(Tensor(a), tb).dtype == np.dtype(expected)
    if torch is not None:
        qb = b if isinstance(b, float | int) else torch.from_numpy(np.array(b))
        assert str((torch.from_numpy(np.array(a)) * qb).dtype) == f"torch.{expected}"


def test_float_ops_on_integers_give_float32_and_reductions_follow_pytorch():
    i = Tensor(np.array([1, 2, 3]))
    for y in (i / 2, i / i, i.exp(), i.sqrt(), i.tanh(), i.sigmoid(), i.log(), i.logsumexp()):
        assert y.dtype == np.float32
    assert i.sum().dtype == np.int64 and Tensor(np.array([1, 2], np.int32)).sum().dtype == np.int64
    assert i.relu().dtype == i.max().dtype == np.int64
    for f in (i.mean, i.var, i.softmax, i.log_softmax):
        with pytest.raises(TypeError, match="floating point"):
            f()


def test_float16_reductions_accumulate_in_float32():
    h = Tensor(np.ones(100_000, np.float16))
    assert h.mean().dtype == np.float16 and h.mean().item() == 1.0
    assert h.sum().item() == np.float16(np.inf) or h.sum().dtype == np.float16  # (100000 > float16 max)
    assert Tensor(np.full(1000, 0.1, np.float16)).sum().item() == pytest.approx(100.0, rel=1e-3)


def test_complex_data_is_refused():
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        Tensor(np.array([1 + 2j]))


def test_batchnorm_checks_the_input_dtype_like_linear_and_conv2d():
    x64 = Tensor(np.ones((4, 3)))
    with pytest.raises(TypeError, match=r"Linear: input dtype float64 differs from the weight dtype float32"):
        nn.Linear(3, 2)(x64)
    with pytest.raises(
        TypeError, match=r"BatchNorm1d: input dtype float64 differs from the weight dtype float32"
    ):
        nn.BatchNorm1d(3)(x64)
    with pytest.raises(TypeError, match=r"BatchNorm2d: input dtype float64 differs"):
        nn.BatchNorm2d(3)(Tensor(np.ones((2, 3, 2, 2))))


# --------------------------------------------------------------------------------------------
# 6. Numerical edges, as PyTorch
# --------------------------------------------------------------------------------------------


def test_pow_gradients_at_zero_match_pytorch():
    x = leaf([0.0, 1.0, 2.0])
    p = leaf([0.0, 0.0, 0.0])
    (x**p).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(p.grad.data, [0.0, 0.0, math.log(2.0)])
    x0, q = leaf([0.0, 0.0, 0.0]), leaf([-1.0, 0.0, 2.0])
    (x0**q).sum().backward()
    assert x0.grad.data.tolist() == [-math.inf, 0.0, 0.0] and q.grad.data.tolist() == [-math.inf, 0.0, 0.0]
    xs = leaf([0.0, 2.0])
    (xs**0).sum().backward()
    assert xs.grad.data.tolist() == [0.0, 0.0]
    if torch is not None:
        tx, tq = (
            torch.zeros(3, dtype=torch.float64, requires_grad=True),
            torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True),
        )
        (tx**tq).sum().backward()
        assert tx.grad.tolist() == x0.grad.data.tolist() and tq.grad.tolist() == q.grad.data.tolist()


MAX_POOL_CASES = [
    # (input (1, 1, H, W), kernel, stride, padding)
    ([[1.0, math.nan], [math.nan, 2.0]], 2, 2, 0),  # NaN: the last NaN of the window
    ([[-math.inf, -math.inf], [-math.inf, -math.inf]], 2, 2, 0),  # only -inf: the first pixel
    ([[-math.inf] * 3] * 3, 3, 2, 1),  # only -inf with padding: the first pixel inside the image
    ([[1.0, 5.0, 5.0], [math.nan, 2.0, math.nan], [0.0, 1.0, 3.0]], 2, 1, 0),
    ([[3.0, 3.0, 1.0], [3.0, -math.inf, 2.0], [math.nan, 0.0, 3.0]], 3, 1, 1),
]
MAX_POOL_GRADS = [  # PyTorch's gradients for the cases above (sum of the output)
    [[0.0, 0.0], [1.0, 0.0]],
    [[1.0, 0.0], [0.0, 0.0]],
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
    [[0.0, 0.0, 0.0], [2.0, 0.0, 2.0], [0.0, 0.0, 0.0]],
    [[2.0, 2.0, 0.0], [0.0, 0.0, 0.0], [4.0, 0.0, 1.0]],
]


@pytest.mark.parametrize("case, expected", list(zip(MAX_POOL_CASES, MAX_POOL_GRADS)))
def test_max_pool_routes_nan_and_minus_inf_windows_like_pytorch(case, expected):
    values, k, s, p = case
    x = leaf(np.array(values)[None, None])
    F.max_pool2d(x, k, s, p).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)
    if torch is not None:
        tx = torch.tensor(np.array(values)[None, None], requires_grad=True)
        torch.nn.functional.max_pool2d(tx, k, s, p).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_reductions_over_empty_tensors():
    e = tg.zeros(0, 3)
    assert e.max(axis=1).shape == (0,) and e.sum(axis=0).data.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="max: expected reduction axis 0 .* to have non-zero size"):
        e.max(axis=0)
    with pytest.raises(ValueError, match="max: cannot reduce an empty tensor"):
        e.max()
    assert e.softmax(axis=0).shape == (0, 3) and e.log_softmax(axis=1).shape == (0, 3)
    assert tg.zeros(2, 0).logsumexp(axis=1).data.tolist() == [-math.inf, -math.inf]
    assert math.isnan(tg.zeros(0).mean().item())


def test_a_relu_gradient_penalty_gets_zeros_not_an_error():
    x = leaf([-1.0, 2.0, 3.0])
    (g,) = tg.grad(x.relu().sum(), [x], create_graph=True)
    assert g.requires_grad
    (g * g).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    if torch is not None:
        tx = torch.tensor([-1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
        (tg_,) = torch.autograd.grad(tx.relu().sum(), [tx], create_graph=True)
        (tg_ * tg_).sum().backward()
        assert tx.grad.tolist() == x.grad.data.tolist()


def test_zero_and_negative_zero_are_different_constants():
    x = Tensor(np.ones(2, np.float32))
    assert np.signbit((x * -0.0).data).all() and not np.signbit((x * 0.0).data).any()
    assert np.signbit((x * 0.0 * -1.0).data).all()


# --------------------------------------------------------------------------------------------
# 7. Errors keep their origin
# --------------------------------------------------------------------------------------------


class Raises(tg.Function):
    def forward(self, x):
        raise KeyError("a problem inside forward")

    def backward(self, gy):
        return gy


def test_an_error_in_forward_keeps_its_type_and_gets_the_op_name():
    with pytest.raises(KeyError) as info:
        Raises.apply(Tensor([1.0, 2.0]))
    notes = " ".join(getattr(info.value, "__notes__", [])) + str(info.value)
    assert "Raises" in notes and "(2,)" in notes
    assert info.traceback[-1].name == "forward"  # the failing line is still the last frame


def test_an_impossible_inplace_division_is_a_clear_error_and_changes_nothing():
    x = Tensor(np.arange(5))
    with pytest.raises(
        TypeError, match=r"in-place /=: the result has dtype float32, which can't be stored .* int64"
    ):
        x /= 5
    assert x.data.tolist() == [0, 1, 2, 3, 4] and x._version == 0


def test_a_rejected_recorded_inplace_op_changes_nothing():
    a = leaf([1.0, 2.0, 3.0])
    y = a * 2
    node = y.grad_fn
    with pytest.raises(ValueError, match="result has shape"):
        y += Tensor(np.ones((2, 3)))
    assert y.grad_fn is node and y._version == 0 and y.data.tolist() == [2.0, 4.0, 6.0]


# --------------------------------------------------------------------------------------------
# 8. Memory: graphs are freed by reference counting
# --------------------------------------------------------------------------------------------


def test_tg_grad_with_create_graph_leaves_no_reference_cycle():
    gc.collect()
    gc.disable()
    try:
        x = leaf([0.5, 1.0])
        y = (x.tanh() * x).sum()
        (g,) = tg.grad(y, [x], create_graph=True)
        refs = [weakref.ref(n) for n in tg.autograd.topological_order([g.grad_fn])]
        del y, g
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_backward_with_create_graph_makes_the_documented_cycle():
    gc.collect()
    gc.disable()
    try:
        x = leaf([0.5, 1.0])
        (x.tanh() * x).sum().backward(create_graph=True)
        ref = weakref.ref(x.grad.grad_fn)
        del x
        assert ref() is not None  # parameter -> .grad -> its graph -> the parameter
        gc.collect()
        assert ref() is None  # the garbage collector frees it
    finally:
        gc.enable()
    assert "reference cycle" in Tensor.backward.__doc__


# --------------------------------------------------------------------------------------------
# The fast array backward agrees with the recorded one, for every op that has it
# --------------------------------------------------------------------------------------------


def _array_backward_ops():
    from .test_ops import OPS, _all_op_classes

    classes = {c for c in _all_op_classes().values() if c.array_backward}
    return [s for s in OPS if any(c in classes for c in s.covers)], classes


def test_every_array_backward_op_is_in_the_registry():
    specs, classes = _array_backward_ops()
    covered = {c for s in specs for c in s.covers}
    elsewhere = {"Linear", "SoftmaxCrossEntropy", "Cast"}
    assert {c.__name__ for c in classes} - {c.__name__ for c in covered} <= elsewhere


def _both_backwards(fn, arrays, seed):
    """First gradients of sum(fn(...) * w), plain (array backward) and recorded."""
    w = np.random.default_rng(seed).uniform(0.5, 1.5, size=fn(*[Tensor(a) for a in arrays]).shape)
    results = []
    for create in (False, True):
        xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = (fn(*xs) * w).sum()
        gs = tg.grad(out, xs, create_graph=create, allow_unused=True)
        results.append([None if g is None else g.data for g in gs])
    return results


@pytest.mark.parametrize("spec", _array_backward_ops()[0], ids=lambda s: s.name)
def test_array_and_recorded_backward_agree(spec):
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.data())
    def check(data):
        fn, _, arrays = spec.build(data.draw)
        plain, recorded = _both_backwards(fn, arrays, 0)
        for p, r in zip(plain, recorded):
            if p is None or r is None:
                assert p is None and r is None
            else:
                np.testing.assert_allclose(p, r, rtol=1e-12, atol=1e-12)

    check()


def test_linear_and_cross_entropy_array_backward_agree_with_recorded():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)]
    t = Tensor(np.array([0, 4, 2, 1]))

    def fn(x, W, b):
        return F.cross_entropy(F.linear(x, W, b), t, reduction="none") + F.linear(x, W).sum(axis=1)

    plain, recorded = _both_backwards(fn, arrays, 3)
    for p, r in zip(plain, recorded):
        np.testing.assert_allclose(p, r, rtol=1e-12, atol=1e-12)
