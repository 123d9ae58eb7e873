"""nn.Module and the containers: registration, traversal, modes, hooks, repr, state dicts."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import nn
import tinygrad_kr as tg
from nn import functional as F


class MLP(nn.Module):
    def __init__(self, d_in=4, d_hidden=5, d_out=3):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.register_buffer("count", tg.Tensor(np.zeros((), dtype=np.int64)))
        self.register_buffer("cache", tg.zeros(2), persistent=False)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(x) * self.scale


# ---- Parameter -------------------------------------------------------------------------------


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    assert nn.Parameter(np.zeros(2, dtype=np.float64)).dtype == np.float64
    arr = np.zeros(3, dtype=np.float32)
    assert nn.Parameter(arr).data is arr  # no copy
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(np.arange(3))


# ---- registration and traversal ----------------------------------------------------------------


def test_named_parameters_in_assignment_order_with_dotted_names():
    m = MLP()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [p.shape for p in m.parameters()] == [(5, 4), (5,), (3, 5), (3,)]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(m.modules())[0] is m
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ReLU", "Linear"]


def test_sequential_names_and_nesting():
    inner = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    model = nn.Sequential(inner, nn.Linear(3, 1))
    assert [n for n, _ in model.named_parameters()] == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    named = OrderedDict([("enc", nn.Linear(2, 2)), ("dec", nn.Linear(2, 2))])
    seq = nn.Sequential(named)
    assert [n for n, _ in seq.named_children()] == ["enc", "dec"]
    assert seq.enc is named["enc"]


def test_shared_parameters_and_modules_appear_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.b.weight = self.a.weight

    assert [n for n, _ in Tied().named_parameters()] == ["a.weight", "a.bias", "b.bias"]


def test_reassignment_and_deletion_update_registration():
    m = MLP()
    m.fc1 = nn.Linear(4, 5, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc2.weight", "fc2.bias"]
    assert m.fc1.bias is None and "bias" in m.fc1._parameters
    del m.fc2
    assert [n for n, _ in m.named_children()] == ["fc1", "act"]
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.fc1.weight = np.zeros((5, 4))
    m.fc1.weight = None  # allowed: a declared but absent parameter
    assert list(m.parameters()) == []


def test_buffers_are_in_state_dict_but_not_parameters():
    m = WithBuffers()
    assert [n for n, _ in m.named_parameters()] == ["scale", "bn.weight", "bn.bias"]
    assert [n for n, _ in m.named_buffers()] == [
        "count", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"
    ]
    assert list(m.state_dict()) == [
        "scale", "count", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked",
    ]  # 'cache' is not persistent
    m.count = tg.Tensor(np.array(5))
    assert m._buffers["count"] is m.count
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.count = 3


def test_assigning_before_init_and_unknown_attribute_errors():
    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()
    m = MLP()
    with pytest.raises(AttributeError, match="'MLP' object has no attribute 'fc3'"):
        _ = m.fc3
    with pytest.raises(AttributeError, match="did you mean 'fc1'"):
        _ = m.fc_1


def test_qualified_names_in_layer_errors():
    model = nn.Sequential(OrderedDict(enc=MLP(784, 100, 10)))
    with pytest.raises(ValueError) as e:
        model(tg.zeros(32, 100))
    assert str(e.value) == "enc.fc1 (Linear): expected input with last dim 784, got shape (32, 100)"
    with pytest.raises(ValueError, match=r"^Linear: expected input"):
        nn.Linear(3, 2)(tg.zeros(4, 5))
    m = MLP()
    with pytest.raises(TypeError, match=r"^fc1 \(Linear\): input dtype float64 differs"):
        m(tg.Tensor(np.zeros((2, 4))))


def test_slicing_a_sequential_keeps_qualified_names():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4))
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[-1] is model[2]
    assert model[2]._qualname == "2"


def test_ops_know_the_module_that_created_them():
    m = MLP()
    out = m(tg.randn(2, 4))
    assert out.grad_fn.module is m.fc2
    assert out.grad_fn.edges[0].module is m.act
    assert tg.randn(2, requires_grad=True).exp().grad_fn.module is None


# ---- containers ------------------------------------------------------------------------------


def test_sequential_indexing_len_iteration_and_forward():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2] and seq[-3] is layers[0]
    assert list(seq[::2]) == [layers[0], layers[2]]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    x = tg.randn(4, 2)
    np.testing.assert_array_equal(seq(x).data, layers[2](layers[1](layers[0](x))).data)
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [n for n, _ in seq.named_children()][-1] == "3"
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_modulelist():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.Linear(2, 3))
    ml.extend([nn.ReLU(), nn.Linear(3, 1)])
    assert len(ml) == 4 and isinstance(ml[-1], nn.Linear) and ml[-1].out_features == 1
    assert [type(m).__name__ for m in ml] == ["Linear", "Linear", "ReLU", "Linear"]
    assert [n for n, _ in ml.named_parameters()][:3] == ["0.weight", "0.bias", "1.weight"]
    ml.insert(0, nn.Tanh())
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]
    del ml[0]
    assert type(ml[0]).__name__ == "Linear" and len(ml) == 4
    assert len(ml[1:3]) == 2
    with pytest.raises(TypeError, match="container without forward"):
        ml(tg.zeros(1, 2))
    with pytest.raises(TypeError, match="expected a Module"):
        ml.append(3)


# ---- modes, grads, apply, hooks ---------------------------------------------------------------


def test_train_eval_reaches_every_descendant():
    model = nn.Sequential(MLP(), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(3)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model[1].train()
    assert not model.training and model[1].training and model[1][0].training
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_none():
    m = MLP()
    F.mse_loss(m(tg.randn(3, 4)), tg.zeros(3, 3)).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    F.mse_loss(m(tg.randn(3, 4)), tg.zeros(3, 3)).backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in m.parameters())


def test_apply_visits_children_first_then_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    order = []
    assert model.apply(lambda m: order.append(type(m).__name__)) is model
    assert order == ["Linear", "Linear", "Sequential", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert not model[0].weight.data.any() and not model[1][0].weight.data.any()


def test_forward_hooks_see_inputs_and_can_replace_output():
    m = MLP()
    seen = []
    h1 = m.fc1.register_forward_hook(lambda mod, inp, out: seen.append((mod, inp[0].shape, out.shape)))
    x = tg.randn(2, 4)
    m(x)
    assert seen == [(m.fc1, (2, 4), (2, 5))]
    h2 = m.register_forward_hook(lambda mod, inp, out: out * 0)
    assert not m(x).data.any()
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    assert m(x).data.any() and len(seen) == 2


def test_requires_grad_freezes_parameters():
    m = MLP()
    m.fc1.requires_grad_(False)
    F.mse_loss(m(tg.randn(3, 4)), tg.zeros(3, 3)).backward()
    assert m.fc1.weight.grad is None and m.fc2.weight.grad is not None


# ---- repr ------------------------------------------------------------------------------------


def test_repr_is_a_nested_tree_like_pytorch():
    model = nn.Sequential(
        nn.Linear(784, 100), nn.ReLU(), nn.Dropout(0.2),
        nn.Sequential(nn.Linear(100, 10, bias=False), nn.LogSoftmax(axis=1)),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=100, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=100, out_features=10, bias=False)\n"
        "    (1): LogSoftmax(dim=1)\n"  # PyTorch's repr
        "  )\n"
        ")"
    )
    assert repr(nn.BatchNorm2d(8)) == (
        "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    )
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# ---- state dict ------------------------------------------------------------------------------


def test_state_dict_is_copies_in_order():
    m = MLP()
    sd = m.state_dict()
    assert list(sd) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["fc1.weight"][...] = 7
    assert not (m.fc1.weight.data == 7).any()


def test_state_dict_round_trip_gives_identical_outputs():
    tg.manual_seed(0)
    src = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2))
    for _ in range(3):  # move the running statistics away from their initial values
        src(tg.randn(8, 4))
    src.eval()
    dst = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2)).eval()
    x = tg.randn(5, 4)
    assert not np.array_equal(src(x).data, dst(x).data)
    arrays = {id(t.data) for t in dst.parameters()}
    result = dst.load_state_dict(src.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(src(x).data, dst(x).data)
    assert {id(t.data) for t in dst.parameters()} == arrays  # copied in place
    assert int(dst[1].num_batches_tracked.data) == 3


def test_load_state_dict_lists_every_bad_key_and_writes_nothing():
    m = MLP()
    before = m.state_dict()
    sd = m.state_dict()
    del sd["fc1.bias"], sd["fc2.weight"]
    sd["fc3.weight"] = np.zeros(2)
    sd["extra"] = np.zeros(1)
    sd["fc1.weight"] = np.zeros((4, 5))
    sd["fc2.bias"] = np.zeros(3)  # fine: would be loaded if the rest were valid
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    for key in ("fc1.bias", "fc2.weight", "fc3.weight", "extra"):
        assert key in msg
    assert "missing keys: fc1.bias, fc2.weight" in msg
    assert "unexpected keys: fc3.weight, extra" in msg
    assert "fc1.weight: shape (4, 5) in the state dict, (5, 4) in the model" in msg
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_non_strict():
    m = MLP()
    sd = {"fc1.weight": np.ones((5, 4)), "other": np.zeros(2)}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["fc1.bias", "fc2.weight", "fc2.bias"] and unexpected == ["other"]
    assert (m.fc1.weight.data == 1).all() and m.fc1.weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="fc1.weight: shape"):
        m.load_state_dict({"fc1.weight": np.ones((4, 4))}, strict=False)


def test_load_state_dict_from_pytorch_layout():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    km = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    km.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(km(tg.Tensor(x)).data, tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_deepcopy_gives_an_independent_model():
    m = MLP()
    c = copy.deepcopy(m)
    c.fc1.weight.data[...] = 0
    assert m.fc1.weight.data.any()
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]
