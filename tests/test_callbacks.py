"""tinygrad_kr.callbacks through tg.train.fit: the call protocol, EarlyStopping on scripted
validation losses (the exact epoch it stops at, the weights it restores), ModelCheckpoint (files
only on improvement, their contents), CSVLogger (Keras' layout) and the argument errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import nn
import tinygrad_kr as tg
from nn import functional as F
from nn import optim
from tinygrad_kr.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint
from tinygrad_kr.train import fit

# ---- a model trained for real, with a scripted validation loss ----------------------------------

X = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
Y = (X @ np.array([[1.5], [-0.5]], np.float32)).astype(np.float32)


class Recorder(Callback):
    """Records every call, and the model's weights at the end of each epoch."""

    def __init__(self):
        super().__init__()
        self.calls, self.states = [], {}

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", logs))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))
        self.states[epoch] = {k: v.copy() for k, v in self.model.state_dict().items()}

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", dict(logs)))


def _scripted_fit(val_losses, callbacks, epochs=None, lr=0.05, batch_size=8, shuffle=True):
    """fit a Linear(2, 1) with MSE on (X, Y); validation (4 samples, one batch) reports
    val_losses[epoch] exactly (the values are exact in float32). Returns (model, history)."""
    tg.manual_seed(0)
    model = nn.Linear(2, 1)
    script = iter(val_losses)

    def loss_fn(out, target):
        if tg.is_grad_enabled():  # training
            return F.mse_loss(out, target)
        return tg.Tensor(np.array(next(script), np.float32))  # validation runs under no_grad

    history = fit(
        model,
        loss_fn,
        optim.SGD(model.parameters(), lr=lr),
        (X, Y),
        epochs=epochs or len(val_losses),
        val_loader=[(tg.Tensor(X[:4]), tg.Tensor(Y[:4]))],  # one batch: one scripted value
        batch_size=batch_size,
        shuffle=shuffle,
        metrics=(),
        progress=False,
        callbacks=callbacks,
    )
    return model, history


def _same_state(a, b):
    assert a.keys() == b.keys()
    return all(np.array_equal(a[k], b[k]) for k in a)


# ---- the protocol ---------------------------------------------------------------------------------


def test_fit_calls_the_hooks_in_keras_order_with_0_based_numbers():
    rec = Recorder()
    model, h = _scripted_fit([0.5, 0.25], [rec], batch_size=3)  # 8 samples: batches of 3, 3, 2
    kinds = [c[0] for c in rec.calls]
    epoch = ["epoch_begin", "batch_end", "batch_end", "batch_end", "epoch_end"]
    assert kinds == ["train_begin", *epoch, *epoch, "train_end"]
    assert rec.calls[0] == ("train_begin", None)
    assert [c[1] for c in rec.calls if c[0] in ("epoch_begin", "epoch_end")] == [0, 0, 1, 1]
    assert [c[1] for c in rec.calls if c[0] == "batch_end"] == [0, 1, 2, 0, 1, 2]
    assert all(c[2] == ["loss"] for c in rec.calls if c[0] == "batch_end")  # running means
    ends = [c[2] for c in rec.calls if c[0] == "epoch_end"]
    assert [e["val_loss"] for e in ends] == [0.5, 0.25]
    assert ends == [{k: v[i] for k, v in h.history.items()} for i in range(2)]
    assert rec.calls[-1] == ("train_end", ends[-1])
    assert rec.model is model


def test_stop_training_ends_fit_after_the_epoch_even_from_a_batch():
    class StopAtBatch(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                self.stop_training = True

    rec = Recorder()
    _, h = _scripted_fit([1.0] * 5, [StopAtBatch(), rec], batch_size=3)
    assert h.epochs == 1  # the epoch in which it was set ran to its end
    assert [c[1] for c in rec.calls if c[0] == "batch_end"] == [0, 1, 2]
    # stop_training is reset when fit starts, so the same callback can be used again
    stop = StopAtBatch()
    stop.stop_training = True
    _, h = _scripted_fit([1.0] * 3, [stop], batch_size=8)
    assert h.epochs == 3  # batch 1 never happens with one batch per epoch


def test_callbacks_must_be_callback_objects():
    with pytest.raises(
        TypeError, match=r"callbacks\[1\] is a function, not a tinygrad_kr.callbacks.Callback"
    ):
        _scripted_fit([1.0], [Callback(), lambda logs: None])


# ---- EarlyStopping ---------------------------------------------------------------------------------

VAL = [1.0, 0.75, 0.875, 0.8125, 0.625, 0.6875, 0.65625, 0.640625, 0.9375, 0.5]


@pytest.mark.parametrize(
    "kwargs, epochs_run, best_epoch",
    [
        # patience 2: epochs 2 and 3 do not beat 0.75 (epoch 1) -> stops after epoch 3
        (dict(patience=2), 4, 1),
        # patience 3: epoch 4 improves (0.625); 5, 6, 7 do not -> stops after epoch 7
        (dict(patience=3), 8, 4),
        # patience 0: the first epoch without improvement (2) stops it
        (dict(patience=0), 3, 1),
        # min_delta 0.125: 0.75 beats 1.0 by more than 0.125, 0.625 beats 0.75 by exactly 0.125 only
        (dict(patience=3, min_delta=0.125), 5, 1),
        # the sign of min_delta is ignored, as in Keras
        (dict(patience=3, min_delta=-0.125), 5, 1),
        # patience 9: runs to the end
        (dict(patience=9), 10, 9),
    ],
)
def test_early_stopping_stops_at_the_exact_epoch(kwargs, epochs_run, best_epoch):
    es = EarlyStopping(monitor="val_loss", **kwargs)
    _, h = _scripted_fit(VAL, [es])
    assert h.epochs == epochs_run
    assert h.history["val_loss"] == VAL[:epochs_run]
    assert es.best_epoch == best_epoch and es.best == VAL[best_epoch]
    assert es.stopped_epoch == (epochs_run - 1 if epochs_run < len(VAL) else 0)


def test_early_stopping_on_a_loss_that_never_improves_runs_patience_plus_one_epochs():
    # Keras' docstring example: monitor="loss", patience=3, a loss that does not improve -> 4 epochs
    es = EarlyStopping(monitor="loss", patience=3)
    _, h = _scripted_fit([1.0] * 10, [es], lr=0.0, shuffle=False)  # lr 0: the same loss every epoch
    assert h.epochs == 4 and len(set(h.history["loss"])) == 1


def test_early_stopping_mode_max_and_auto_for_accuracy():
    val = [0.5, 0.625, 0.5625, 0.5, 0.75]
    es = EarlyStopping(monitor="val_loss", mode="max", patience=1)
    _, h = _scripted_fit(val, [es])
    assert h.epochs == 3 and es.best == 0.625  # 0.5625 after the best 0.625: stop (patience 1)
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="accuracy").mode == "max"
    assert EarlyStopping(monitor="loss").mode == "min"


def test_early_stopping_baseline():
    # nothing beats the baseline 0.5: training runs patience + 1 epochs and the best is kept
    es = EarlyStopping(patience=2, baseline=0.5, restore_best_weights=True)
    rec = Recorder()
    model, h = _scripted_fit([1.0, 0.75, 0.875, 0.625, 0.25], [rec, es])
    assert h.epochs == 3 and es.best == 0.75 and es.best_epoch == 1
    assert _same_state(model.state_dict(), rec.states[1])


def test_restore_best_weights_after_an_early_stop():
    rec = Recorder()
    es = EarlyStopping(patience=3, restore_best_weights=True)
    model, h = _scripted_fit(VAL, [rec, es])
    assert h.epochs == 8 and es.best_epoch == 4
    assert _same_state(model.state_dict(), rec.states[4])
    assert not _same_state(rec.states[4], rec.states[7])  # the model really moved after epoch 4


def test_restore_best_weights_also_when_training_runs_to_the_end():
    # Keras 3: the best epoch's weights come back at the end of training, stopped early or not
    rec = Recorder()
    es = EarlyStopping(patience=5, restore_best_weights=True)
    model, h = _scripted_fit([1.0, 0.5, 0.75, 0.875], [rec, es])
    assert h.epochs == 4 and es.stopped_epoch == 0
    assert _same_state(model.state_dict(), rec.states[1])
    # without restore_best_weights the last weights stay
    rec2 = Recorder()
    model, _ = _scripted_fit([1.0, 0.5, 0.75, 0.875], [rec2, EarlyStopping(patience=5)])
    assert _same_state(model.state_dict(), rec2.states[3])


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="EarlyStopping: patience must be an integer >= 0, got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="patience must be an integer"):
        EarlyStopping(patience=1.5)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'best'"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="cannot tell whether monitor='val_mae' should be minimized"):
        EarlyStopping(monitor="val_mae")
    assert EarlyStopping(monitor="val_mae", mode="min").mode == "min"
    with pytest.raises(ValueError, match="min_delta must be a number"):
        EarlyStopping(min_delta="0.1")
    with pytest.raises(TypeError, match="restore_best_weights=True needs a model with state_dict"):
        fit(lambda x: x, F.mse_loss, None, [], callbacks=[EarlyStopping(restore_best_weights=True)])


def test_a_monitor_missing_from_the_logs_names_the_keys_before_training_starts():
    model = nn.Linear(2, 1)
    before = model.state_dict()
    opt = optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder()
    with pytest.raises(
        ValueError, match=r"monitor='val_loss' is not in the epoch logs; available keys: 'loss'"
    ):
        fit(model, F.mse_loss, opt, (X, Y), callbacks=[rec, EarlyStopping()], metrics=(), progress=False)
    assert _same_state(model.state_dict(), before) and rec.calls == [("train_begin", None)]  # no epoch ran
    assert all(m.training for m in model.modules())
    # used outside fit (no announced keys), the check happens with the first epoch's logs
    es = EarlyStopping(monitor="val_accuracy")
    es.on_train_begin()
    with pytest.raises(ValueError, match=r"available keys: 'loss', 'val_loss' \(fit computes"):
        es.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})


def test_fit_announces_the_log_keys_in_params():
    rec = Recorder()
    _scripted_fit([0.5, 0.25], [rec], batch_size=3)
    assert rec.params == {"epochs": 2, "steps": 3, "keys": ["loss", "val_loss"]}


# ---- ModelCheckpoint -------------------------------------------------------------------------------

CKPT_VAL = [0.5, 0.25, 0.375, 0.125, 0.25]


def test_save_best_only_writes_files_only_on_improvement(tmp_path):
    rec = Recorder()
    ck = ModelCheckpoint(tmp_path / "ck-{epoch:02d}-{val_loss:.3f}.npz", save_best_only=True)
    _scripted_fit(CKPT_VAL, [rec, ck])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["ck-01-0.500.npz", "ck-02-0.250.npz", "ck-04-0.125.npz"]
    for name, epoch in zip(files, (0, 1, 3)):
        assert _same_state(tg.load(tmp_path / name), rec.states[epoch])
    assert ck.best == 0.125 and ck.last_path == str(tmp_path / "ck-04-0.125.npz")


def test_checkpoint_every_epoch_and_overwriting_one_file(tmp_path):
    _scripted_fit(CKPT_VAL, [ModelCheckpoint(tmp_path / "every" / "e{epoch}.npz")])
    assert sorted(p.name for p in (tmp_path / "every").iterdir()) == [f"e{i}.npz" for i in range(1, 6)]
    rec = Recorder()
    _scripted_fit(CKPT_VAL, [rec, ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)])
    assert _same_state(tg.load(tmp_path / "best.npz"), rec.states[3])  # the best, not the last
    # mode="max": only the first epoch (0.5) is never beaten
    _scripted_fit(CKPT_VAL, [ModelCheckpoint(tmp_path / "max-{epoch}.npz", save_best_only=True, mode="max")])
    assert sorted(p.name for p in tmp_path.glob("max-*")) == ["max-1.npz"]
    assert not list(tmp_path.rglob("*.tmp"))  # tg.save is atomic: no temporary file left


def test_checkpoint_round_trip_into_a_fresh_model(tmp_path):
    model, _ = _scripted_fit([0.5, 0.25], [ModelCheckpoint(tmp_path / "last.npz")])
    fresh = nn.Linear(2, 1)
    fresh.load_state_dict(tg.load(tmp_path / "last.npz"))
    np.testing.assert_array_equal(fresh(tg.Tensor(X)).data, model(tg.Tensor(X)).data)


def test_checkpoint_errors(tmp_path):
    rec = Recorder()
    with pytest.raises(ValueError, match=r"names \{val_acc\}, which is not a log key"):
        _scripted_fit([0.5], [rec, ModelCheckpoint(tmp_path / "c-{val_acc:.2f}.npz")])
    assert [c[0] for c in rec.calls] == ["train_begin"]  # caught before the first epoch
    with pytest.raises(
        ValueError, match=r"names \{val_acc\}, which is not a log key; available: epoch, loss, val_loss"
    ):
        _scripted_fit([0.5], [ModelCheckpoint(tmp_path / "c-{val_acc:.2f}.npz")])
    with pytest.raises(ValueError, match="monitor='val_accuracy' is not in the epoch logs"):
        _scripted_fit(
            [0.5], [ModelCheckpoint(tmp_path / "c.npz", monitor="val_accuracy", save_best_only=True)]
        )
    with pytest.raises(ValueError, match="cannot tell whether monitor='mae'"):
        ModelCheckpoint(tmp_path / "c.npz", monitor="mae", save_best_only=True)
    with pytest.raises(TypeError, match="path must be a file name"):
        ModelCheckpoint(3)
    with pytest.raises(TypeError, match="saving weights needs a model with state_dict"):
        fit(lambda x: x, F.mse_loss, None, [], callbacks=[ModelCheckpoint(tmp_path / "c.npz")])


# ---- CSVLogger ------------------------------------------------------------------------------------


def test_csv_logger_writes_one_row_per_epoch_in_keras_layout(tmp_path):
    path = tmp_path / "log.csv"
    _, h = _scripted_fit([0.5, 0.25, 0.125], [CSVLogger(path)])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "loss", "val_loss"]  # keys sorted, epoch first
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]  # 0-based, as Keras writes it
    assert [float(r[1]) for r in rows[1:]] == h.history["loss"]  # full precision
    assert [float(r[2]) for r in rows[1:]] == [0.5, 0.25, 0.125]
    # a new fit replaces the file; append=True continues it without a second header
    _scripted_fit([0.5], [CSVLogger(path)])
    assert len(list(csv.reader(path.open()))) == 2
    _scripted_fit([0.5, 0.25], [CSVLogger(path, append=True, separator=";")])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0] == "epoch,loss,val_loss" and lines[2].startswith("0;")


def test_csv_logger_keys_include_lr_and_metrics_sorted(tmp_path):
    path = tmp_path / "log.csv"
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    sched = optim.lr_scheduler.StepLR(opt, 1, 0.5)
    logger = CSVLogger(path)
    fit(
        model,
        F.cross_entropy,
        opt,
        (X, y),
        2,
        validation_split=0.25,
        callbacks=[logger],
        scheduler=sched,
        progress=False,
    )
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert [float(r[3]) for r in rows[1:]] == [0.1, 0.05]
    with pytest.raises(ValueError, match="separator must be one character"):
        CSVLogger(path, separator=";;")
