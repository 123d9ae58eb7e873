"""nn.summary / Module.summary: rows in order of execution, parameter counts against hand counts
(a layer used twice and a parameter held by two modules are counted once), output shapes
(tuples for LSTM), sizes in bytes, the table text, and that the model is left exactly as it was
(modes, parameters, buffers, hooks, the project's random stream), also when the forward fails."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_kr as tg


def _course_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 10, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(10 * 14 * 14, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )


# Hand counts: conv 10 * 1 * 3 * 3 + 10 = 100; dense 1960 * 100 + 100 = 196,100; dense 100 * 10 + 10.
CNN_PARAMS = [100, 0, 0, 0, 196_100, 0, 1_010]


def test_course_cnn_rows_and_counts_against_a_hand_count():
    s = nn.summary(_course_cnn(), (32, 1, 28, 28))
    assert [r.name for r in s.rows] == ["0", "1", "2", "3", "4", "5", "6"]
    assert [r.type for r in s.rows] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"]
    assert [r.params for r in s.rows] == CNN_PARAMS
    assert [r.output_shape for r in s.rows] == [
        (32, 10, 28, 28),
        (32, 10, 28, 28),
        (32, 10, 14, 14),
        (32, 1960),
        (32, 100),
        (32, 100),
        (32, 10),
    ]
    assert s.total_params == s.trainable_params == 197_210 and s.non_trainable_params == 0
    assert s.param_bytes == 197_210 * 4
    assert s.input_bytes == 32 * 28 * 28 * 4
    # every row is a leaf: activations = the float32 outputs of all seven layers
    floats = 2 * 32 * 10 * 28 * 28 + 32 * 10 * 14 * 14 + 32 * 1960 + 2 * 32 * 100 + 32 * 10
    assert s.activation_bytes == floats * 4


class _Twice(nn.Module):
    """One Linear applied twice, plus a head: the shared layer's 12 parameters count once."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(3, 3)  # 9 + 3 = 12
        self.head = nn.Linear(3, 2)  # 6 + 2 = 8

    def forward(self, x):
        return self.head(self.shared(self.shared(x).relu()))


def test_a_layer_used_twice_is_counted_once():
    s = _Twice().summary((5, 3))
    assert [(r.name, r.repeated) for r in s.rows] == [("shared", False), ("shared", True), ("head", False)]
    assert s.total_params == 20 and s.trainable_params == 20
    text = str(s)
    assert "(recursive)" in text and "Total params: 20" in text
    assert s.activation_bytes == 4 * (15 + 15 + 10)  # both calls' outputs are activations


class _Tied(nn.Module):
    """An embedding and an output layer holding the same weight (weight tying)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(7, 4)  # 28
        self.out = nn.Linear(4, 7)  # weight 28 (the embedding's), bias 7
        self.out.weight = self.embed.weight

    def forward(self, idx):
        return self.out(self.embed(idx))


def test_a_parameter_held_by_two_modules_is_counted_once():
    s = nn.summary(_Tied(), (2, 5), dtype=np.int64)
    assert [r.params for r in s.rows] == [28, 35]  # each row shows what its module holds
    assert s.total_params == 35  # not 63, torchinfo's double count
    assert s.param_bytes == 35 * 4
    assert [r.output_shape for r in s.rows] == [(2, 5, 4), (2, 5, 7)]


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)  # 4 + 2
        self.bn = nn.BatchNorm2d(2)  # 2 + 2 (running statistics are buffers, not counted)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()


def test_nested_containers_come_before_their_layers_indented_by_depth():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), _Block(), nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3)))
    s = model.summary((4, 1, 6, 6))
    assert [(r.name, r.depth, r.leaf) for r in s.rows] == [
        ("0", 0, True),
        ("1", 0, False),
        ("1.conv", 1, True),
        ("1.bn", 1, True),
        ("2", 0, False),
        ("2.0", 1, True),
        ("2.1", 1, True),
    ]
    assert [r.params for r in s.rows] == [20, 10, 6, 4, 99, 0, 99]
    assert s.total_params == 129
    lines = str(s).splitlines()
    assert lines[0] == 'Model: "Sequential"'
    assert any(line.startswith("  1.conv (Conv2d)") for line in lines)
    # containers' outputs are not counted again: only leaf outputs
    assert s.activation_bytes == 4 * (4 * 2 * 4 * 4 * 3 + 4 * 32 + 4 * 3)


def test_tuple_outputs_list_every_tensor_shape():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True)
            self.fc = nn.Linear(5, 1)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.fc(out[:, -1])

    s = Seq().summary((2, 7, 3))
    assert s.rows[0].output_shape == [(2, 7, 5), (1, 2, 5), (1, 2, 5)]
    assert s.rows[0].params == 4 * 5 * (3 + 5) + 2 * 4 * 5
    assert "[(2, 7, 5), (1, 2, 5), (1, 2, 5)]" in str(s)
    assert s.activation_bytes == 4 * (2 * 7 * 5 + 2 * 2 * 5 + 2 * 1)


def test_frozen_parameters_are_non_trainable():
    model = _course_cnn()
    model[0].requires_grad_(False)
    s = model.summary((1, 1, 28, 28))
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (197_210, 197_110, 100)
    assert "Non-trainable params: 100" in str(s) and "Trainable params: 197,110" in str(s)


def test_the_model_is_left_exactly_as_it_was():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
    model.train()
    model[2].eval()  # mixed modes must come back as they were, not as model.train()
    modes = [m.training for m in model.modules()]
    state = {k: v.copy() for k, v in model.state_dict().items()}
    hooks = [dict(m._forward_hooks) for m in model.modules()]
    rng_before = tg.get_generator().bit_generator.state
    s = model.summary((16, 4))
    assert s.total_params == 40 + 16 + 18
    assert [m.training for m in model.modules()] == modes
    for k, v in model.state_dict().items():  # BatchNorm ran in eval mode: statistics untouched
        np.testing.assert_array_equal(v, state[k], err_msg=k)
    assert [dict(m._forward_hooks) for m in model.modules()] == hooks
    assert tg.get_generator().bit_generator.state == rng_before
    assert all(p.grad is None for p in model.parameters())


def test_a_failing_forward_leaves_modes_and_hooks_alone():
    model = _course_cnn()
    model.train()
    with pytest.raises(ValueError, match="Linear"):
        model.summary((2, 1, 20, 20))  # 10 * 10 * 10 features reach Linear(1960, ...)
    assert all(m.training for m in model.modules())
    assert all(not m._forward_hooks for m in model.modules())


def test_user_hooks_still_run_and_summary_matches_the_function():
    model = _course_cnn()
    seen = []
    model[4].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    method = model.summary((3, 1, 28, 28))
    function = nn.summary(model, (3, 1, 28, 28))
    assert seen == [(3, 100), (3, 100)]
    assert method.rows == function.rows and repr(method) == str(function)


def test_argument_errors():
    model = _course_cnn()
    for bad in ((), (0, 1, 28, 28), "32x784", (2.0, 3), None, [(2, 3), "x"]):
        with pytest.raises(ValueError, match="input_size must be the shape of one input batch"):
            nn.summary(model, bad)
    with pytest.raises(TypeError, match="expected an nn.Module, got function"):
        nn.summary(lambda x: x, (1, 2))
    with pytest.raises(ValueError, match="2 dtypes for 1 input shapes"):
        nn.summary(model, (1, 1, 28, 28), dtype=[np.float32, np.float32])


def test_several_inputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 3), nn.Linear(4, 3)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    s = nn.summary(Pair(), [(5, 2), (5, 4)])
    assert [r.output_shape for r in s.rows] == [(5, 3), (5, 3)]
    assert s.input_bytes == 4 * (10 + 20) and s.total_params == 9 + 15
