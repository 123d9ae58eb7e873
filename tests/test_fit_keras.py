"""tg.train.fit's Keras-style arguments (arrays with batch_size/shuffle, validation_split,
scheduler and History["lr"]), evaluate on arrays, predict, and the output_is_probability rule
that picks the accuracy threshold of single-score outputs."""

from __future__ import annotations

import numpy as np
import pytest

import nn
import tinygrad_kr as tg
from nn import functional as F
from nn import optim
from nn.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tinygrad_kr.callbacks import Callback
from tinygrad_kr.data import DataLoader, TensorDataset
from tinygrad_kr.train import History, evaluate, fit, predict


def _ids(n):
    """X row i = [i, 1] (float32), label i % 3: the label tells which sample a batch held."""
    X = np.stack([np.arange(n), np.ones(n)], axis=1).astype(np.float32)
    return X, np.arange(n) % 3


def _state(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


# ---- arrays as training data -----------------------------------------------------------------------


def test_arrays_train_exactly_like_the_equivalent_shuffled_loader():
    X, y = _ids(20)
    runs = []
    for data in ("arrays", "loader"):
        tg.manual_seed(0)
        model = nn.Linear(2, 3)
        opt = optim.SGD(model.parameters(), lr=0.01)
        train = (X, y) if data == "arrays" else DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True)
        h = fit(model, F.cross_entropy, opt, train, epochs=3, batch_size=6, progress=False)
        runs.append((h.history, _state(model)))
    assert runs[0][0] == runs[1][0]
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])


def test_arrays_are_batched_by_batch_size_and_shuffled_only_when_asked():
    X, y = _ids(10)
    seen = []

    def loss_fn(out, target):
        seen.append(target.data.tolist())
        return F.cross_entropy(out, target)

    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.0)
    fit(model, loss_fn, opt, (tg.Tensor(X), y), batch_size=4, shuffle=False, progress=False)
    assert seen == [[0, 1, 2, 0], [1, 2, 0, 1], [2, 0]]
    seen.clear()
    tg.manual_seed(3)
    fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.0), (X, y), epochs=2, progress=False)
    order = np.random.default_rng(3)  # the project generator after manual_seed(3)
    assert seen == [(order.permutation(10) % 3).tolist(), (order.permutation(10) % 3).tolist()]


# ---- validation_split ------------------------------------------------------------------------------


def test_validation_split_takes_the_last_samples_before_shuffling():
    n = 20
    X = np.stack([np.arange(n), np.ones(n)], axis=1).astype(np.float32)
    y = np.arange(n)  # class = sample id, so the loss function sees which samples a batch holds
    train_ids, val_ids = set(), set()

    def loss_fn(out, target):
        (train_ids if tg.is_grad_enabled() else val_ids).update(target.data.tolist())
        return F.mse_loss(out[:, 0], target.astype(np.float32))

    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.0)
    h = fit(
        model, loss_fn, opt, (X, y), epochs=3, batch_size=4, validation_split=0.3, metrics=(), progress=False
    )
    assert val_ids == set(range(14, 20))  # floor(20 * 0.7) = 14 training samples
    assert train_ids == set(range(14))
    ev = evaluate(model, loss_fn, (X[14:], y[14:]), metrics=(), batch_size=4)
    assert h.history["val_loss"] == [ev["loss"]] * 3


def test_validation_split_rounds_like_keras():
    X, y = _ids(10)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.0)
    # 10 * (1 - 0.25) = 7.5 -> 7 train, 3 validation samples (the val part gets the rounding)
    h = fit(model, F.cross_entropy, opt, (X, y), validation_split=0.25, shuffle=False, progress=False)
    assert h.history["val_loss"] == [evaluate(model, F.cross_entropy, (X[7:], y[7:]))["loss"]]
    assert h.history["loss"] == [evaluate(model, F.cross_entropy, (X[:7], y[:7]))["loss"]]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.2", float("nan"), True])
def test_validation_split_outside_0_1_is_an_error(bad):
    X, y = _ids(10)
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match=r"validation_split must be a number in \[0, 1\), got"):
        fit(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), (X, y), validation_split=bad)


def test_validation_split_errors():
    X, y = _ids(10)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    with pytest.raises(
        ValueError, match="validation_split=0.2 needs the training data as an .X, y. pair.*DataLoader"
    ):
        fit(model, F.cross_entropy, opt, loader, validation_split=0.2)
    with pytest.raises(ValueError, match="give either val_loader or validation_split, not both"):
        fit(model, F.cross_entropy, opt, (X, y), val_loader=(X, y), validation_split=0.2)
    with pytest.raises(ValueError, match="validation_split=0.5 of 1 samples leaves no training samples"):
        fit(model, F.cross_entropy, opt, (X[:1], y[:1]), validation_split=0.5)
    with pytest.raises(ValueError, match="validation_split=1e-17 of 10 samples leaves no validation samples"):
        fit(model, F.cross_entropy, opt, (X, y), validation_split=1e-17)  # 1 - 1e-17 == 1.0
    with pytest.raises(ValueError, match=r"same first dimension, got shapes \(10, 2\) and \(9,\)"):
        fit(model, F.cross_entropy, opt, (X, y[:9]))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        fit(model, F.cross_entropy, opt, (X, y), batch_size=0)


# ---- scheduler and History["lr"] --------------------------------------------------------------------


class Steps(Callback):
    """Per epoch: the weight before the epoch, and (after its single batch) the weight and grad."""

    def __init__(self):
        super().__init__()
        self.before, self.after, self.grads = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.before.append(self.model.weight.data.copy())

    def on_batch_end(self, batch, logs=None):
        self.after.append(self.model.weight.data.copy())
        self.grads.append(self.model.weight.grad.data.copy())


def test_scheduler_is_stepped_per_epoch_and_history_records_the_lr_each_epoch_used():
    X, y = _ids(12)
    tg.manual_seed(1)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    steps = Steps()
    sched = StepLR(opt, step_size=2, gamma=0.5)
    h = fit(
        model,
        F.cross_entropy,
        opt,
        (X / 10, y),
        5,
        batch_size=12,
        callbacks=[steps],
        scheduler=sched,
        progress=False,
    )
    assert h.history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert list(h.history) == ["loss", "accuracy", "lr"]
    assert opt.param_groups[0]["lr"] == 0.025 and sched.last_epoch == 5  # stepped after every epoch
    for lr, before, after, g in zip(h.history["lr"], steps.before, steps.after, steps.grads):
        np.testing.assert_allclose(after, before - np.float32(lr) * g, rtol=1e-6)  # the update used it


def test_reduce_lr_on_plateau_is_stepped_with_the_monitored_value():
    scripted = iter([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])

    def loss_fn(out, target):
        if tg.is_grad_enabled():
            return F.cross_entropy(out, target)
        return tg.Tensor(np.array(next(scripted), np.float32))

    X, y = _ids(8)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    val = [(tg.Tensor(X), tg.Tensor(y))]
    h = fit(model, loss_fn, opt, (X, y), 6, val_loader=val, metrics=(), scheduler=plateau, progress=False)
    # epochs 1, 2 do not beat 1.0 -> reduced after epoch 2; epochs 4, 5 do not beat 0.5 -> after 5
    assert h.history["lr"] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05]
    assert opt.param_groups[0]["lr"] == 0.025
    no_val = ReduceLROnPlateau(opt)  # monitors val_loss, but there is no validation data
    before = model.state_dict()
    with pytest.raises(ValueError, match="ReduceLROnPlateau: monitor='val_loss' is not in the epoch logs"):
        fit(model, F.cross_entropy, opt, (X, y), scheduler=no_val, progress=False)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())  # checked up front
    on_train = ReduceLROnPlateau(opt, monitor="loss", patience=0, threshold=0.0)
    h = fit(model, F.cross_entropy, opt, (X, y), 2, scheduler=on_train, progress=False)
    assert on_train.last_epoch == 2 and on_train.best == min(h.history["loss"])


def test_scheduler_errors():
    X, y = _ids(8)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    other = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"scheduler \(StepLR\) was built for another optimizer"):
        fit(model, F.cross_entropy, opt, (X, y), scheduler=StepLR(other, 2), progress=False)
    with pytest.raises(TypeError, match="scheduler must be a learning-rate scheduler with step"):
        fit(model, F.cross_entropy, opt, (X, y), scheduler=0.5, progress=False)
    assert opt.param_groups[0]["lr"] == 0.1  # nothing ran


def test_lr_is_shown_with_significant_digits_and_not_plotted(capsys, monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    X, y = _ids(8)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=2e-5)
    h = fit(model, F.cross_entropy, opt, (X, y), epochs=1, scheduler=StepLR(opt, 1))
    assert "lr: 2e-05" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    from PIL import Image

    plain = History()
    plain._append({"loss": 1.0, "accuracy": 0.5})
    with_lr = History()
    with_lr._append({"loss": 1.0, "accuracy": 0.5, "lr": 0.1})
    a, b = plain.plot(tmp_path / "a.png"), with_lr.plot(tmp_path / "b.png")
    assert Image.open(a).size == Image.open(b).size  # no subplot for "lr"
    assert h.history["lr"] == [2e-5]


# ---- evaluate and predict --------------------------------------------------------------------------


def _bn_dropout():
    return nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def test_predict_returns_eval_mode_outputs_as_one_array():
    tg.manual_seed(2)
    X, _ = _ids(11)
    model = _bn_dropout()
    model.train()
    model[3].eval()
    modes = [m.training for m in model.modules()]
    state = _state(model)
    model.eval()
    with tg.no_grad():
        want = model(tg.Tensor(X)).data
    model.train()
    model[3].eval()
    outputs = (
        predict(model, X),
        predict(model, tg.Tensor(X), batch_size=3),
        predict(model, DataLoader(TensorDataset(X, np.zeros(11)), batch_size=4)),  # inputs of each batch
        predict(model, [tg.Tensor(X[:5]), tg.Tensor(X[5:])]),  # a list of input batches
    )
    for got in outputs:
        assert isinstance(got, np.ndarray) and got.shape == (11, 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert [m.training for m in model.modules()] == modes
    for k, v in _state(model).items():
        np.testing.assert_array_equal(v, state[k])  # BatchNorm statistics untouched


def test_predict_restores_modes_on_error_and_checks_its_arguments():
    model = _bn_dropout()
    with pytest.raises(ValueError, match="expected input with last dim 2"):
        predict(model, np.zeros((4, 5), np.float32))
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="batch_size=8 applies to arrays; the DataLoader makes its own"):
        predict(model, DataLoader(TensorDataset(np.zeros((4, 2))), batch_size=2), batch_size=8)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        predict(model, np.zeros((4, 2)), batch_size=0)
    with pytest.raises(ValueError, match="needs one row per sample"):
        predict(lambda x: x.sum(), np.zeros((4, 2), np.float32))
    with pytest.raises(TypeError, match="must return one Tensor per batch, got tuple"):
        predict(lambda x: (x, x), np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="yielded no batches"):
        predict(model, [])
    with pytest.raises(TypeError, match="x must be an array, a Tensor or a loader"):
        predict(model, 3.0)


def test_evaluate_takes_arrays():
    X, y = _ids(10)
    model = nn.Linear(2, 3)
    a = evaluate(model, F.cross_entropy, (X, y), batch_size=3)
    b = evaluate(model, F.cross_entropy, DataLoader(TensorDataset(X, y), batch_size=3))
    assert a == b


# ---- output_is_probability ---------------------------------------------------------------------------


def test_the_accuracy_threshold_comes_from_output_is_probability_not_the_name():
    scores = np.array([[0.2], [0.9], [0.6], [0.4]], np.float32)
    y = np.array([[0.0], [1.0], [0.0], [0.0]], np.float32)
    batches = [(tg.Tensor(scores), tg.Tensor(y))]
    as_probs, as_logits = 3 / 4, 1 / 4

    class MSELoss:  # a user's class that only shares the name: read as logits now
        def __call__(self, out, target):
            return F.mse_loss(out, target)

    class ProbLoss(MSELoss):
        output_is_probability = True

    def identity(x):
        return x

    assert evaluate(identity, MSELoss(), batches)["accuracy"] == as_logits
    assert evaluate(identity, ProbLoss(), batches)["accuracy"] == as_probs
    assert evaluate(identity, lambda o, t: F.mse_loss(o, t), batches)["accuracy"] == as_logits
    for loss in (nn.BCELoss(), nn.MSELoss(), nn.L1Loss(), F.binary_cross_entropy, F.mse_loss, F.l1_loss):
        assert loss.output_is_probability is True
        assert evaluate(identity, loss, batches)["accuracy"] == as_probs
    for loss in (nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss(), F.binary_cross_entropy_with_logits):
        assert getattr(loss, "output_is_probability", False) is False
