"""Keras-style callbacks for `tg.train.fit`: `Callback`, `EarlyStopping`, `ModelCheckpoint`,
`CSVLogger` (all also importable from `tinygrad_kr.train`).

    es = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    ck = ModelCheckpoint("out/best-{epoch:02d}-{val_loss:.3f}.npz", save_best_only=True)
    fit(model, loss_fn, opt, (X, y), epochs=50, validation_split=0.2,
        callbacks=[es, ck, CSVLogger("log.csv")])

The protocol is Keras': fit calls `set_model(model)` and `set_params({"epochs", "steps", "keys"})`
("keys": the keys every epoch's logs will have) and resets `stop_training` to False, then
`on_train_begin(logs=None)`; per epoch `on_epoch_begin(epoch)`, `on_batch_end(batch, logs)` after
every optimizer step (logs: the running means of the epoch so far), `on_epoch_end(epoch, logs)`
(logs: the epoch's values, the same dict the History records: "loss", metrics, "val_*", "lr");
finally `on_train_end(logs)` with the last epoch's logs. Epoch and batch numbers are 0-based, as
in Keras; file names and messages count epochs from 1. A callback that sets
`self.stop_training = True` ends training after the current epoch.

Monitored quantities: `monitor` names a key of the epoch logs. mode "auto" minimizes "loss" /
"val_loss" and maximizes "accuracy" / "acc" (and their "val_" forms); for any other key give
mode="min" or "max". A monitor missing from the logs is a ValueError naming the keys there are
(Keras only warns), raised before the first epoch when fit announced the keys.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Iterable

from ._args import check_int, check_real
from .serialize import save

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "check_monitor", "monitored_value"]


class Callback:
    """Base class: every hook does nothing; override the ones you need.

    Attributes: `model` (set by fit through `set_model`) and `stop_training` (set it to True to
    end training after the current epoch)."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}
        self.stop_training = False

    def set_model(self, model: Any) -> None:
        """Called by fit before training: the model being trained."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by fit before training: {"epochs": ..., "steps": batches per epoch or None,
        "keys": the keys every epoch's logs will have}."""
        self.params = dict(params)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Before epoch `epoch` (0-based)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After the optimizer step of batch `batch` (0-based); logs: running epoch means."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """After epoch `epoch` (0-based), its training and validation done; logs: its values."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """After the last epoch (also after an early stop); logs: the last epoch's values."""


def check_monitor(keys: Iterable[str], monitor: str, who: str) -> None:
    """A ValueError naming the available keys when `monitor` is not one of the log `keys`."""
    keys = list(keys)
    if monitor not in keys:
        names = ", ".join(repr(k) for k in keys) or "none"
        hint = (
            " (fit computes 'val_*' values only with val_loader or validation_split)"
            if monitor.startswith("val_")
            else ""
        )
        raise ValueError(
            f"{who}: monitor={monitor!r} is not in the epoch logs; available keys: {names}{hint}"
        )


def monitored_value(logs: dict | None, monitor: str, who: str) -> float:
    """logs[monitor] as a float, or a ValueError naming the keys the logs do have."""
    logs = logs or {}
    check_monitor(logs, monitor, who)
    return float(logs[monitor])


def _planned_keys(callback: Callback) -> list[str] | None:
    """The epoch-log keys fit announced in `params` (None when the callback runs elsewhere)."""
    keys = getattr(callback, "params", {}).get("keys")
    return None if keys is None else list(keys)


def _resolve_mode(monitor: Any, mode: Any, who: str) -> str:
    """'min' or 'max' for a monitor name (the rule in the module docstring)."""
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{who}: monitor must be a log key such as 'val_loss', got {monitor!r}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "min"
    if name in ("accuracy", "acc"):
        return "max"
    raise ValueError(
        f"{who}: mode='auto' cannot tell whether monitor={monitor!r} should be minimized or maximized; "
        "pass mode='min' or mode='max'"
    )


def _improves(value: float, reference: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """value beats reference by more than min_delta (None: there is nothing to beat yet)."""
    if reference is None:
        return True
    return value + min_delta < reference if mode == "min" else value - min_delta > reference


def _needs_state_dict(model: Any, who: str, why: str) -> None:
    if not (
        callable(getattr(model, "state_dict", None)) and callable(getattr(model, "load_state_dict", None))
    ):
        raise TypeError(
            f"{who}: {why} needs a model with state_dict() and load_state_dict() (an nn.Module), "
            f"got {type(model).__name__}"
        )


class EarlyStopping(Callback):
    """Stop training when `monitor` has stopped improving (Keras' EarlyStopping).

    An epoch improves when its value beats the best so far by more than min_delta (an absolute
    amount; its sign is ignored, as in Keras). Each epoch without improvement adds one to
    `wait`; an improvement resets it (with `baseline`, only an improvement that also beats the
    baseline does). Training stops after the epoch where wait reaches `patience` (never after
    the first epoch): with patience=2 and the best value at epoch 3 (0-based), epochs 4 and 5
    do not improve and training ends after epoch 5. `stopped_epoch`: that epoch (0 when it ran
    to the end); `best`, `best_epoch`: the best value and its epoch.

    restore_best_weights: keep a copy of the weights (state_dict: parameters and buffers) of
    the best epoch and load it into the model when training ends, whether it stopped early or
    ran all its epochs (Keras 3 behaviour; Keras 2 restored only on an early stop). If no epoch
    beats the baseline, the best of the epochs seen is restored.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
    ):
        super().__init__()
        who = "EarlyStopping"
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode, who)
        self.min_delta = abs(check_real(min_delta, "min_delta", who))
        self.patience = check_int(patience, "patience", who, 0)  # epochs without improvement
        self.baseline = (
            None if baseline is None else check_real(baseline, "baseline", who, rule="a number or None")
        )
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict | None = None

    def set_model(self, model: Any) -> None:
        if self.restore_best_weights:
            _needs_state_dict(model, "EarlyStopping", "restore_best_weights=True")
        super().set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()  # an instance can be used for several fits
        keys = _planned_keys(self)
        if keys is not None:
            check_monitor(keys, self.monitor, "EarlyStopping")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = monitored_value(logs, self.monitor, "EarlyStopping")
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.state_dict(), epoch  # nothing better yet
        self.wait += 1
        if _improves(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or _improves(current, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model's weights (`tg.save(model.state_dict(), path)`, atomic) after every epoch,
    or with save_best_only only after an epoch whose `monitor` value beats every earlier one
    (strictly; mode as in the module docstring), as Keras' ModelCheckpoint.

    path: a file name that may hold Keras' placeholders, filled with str.format: `{epoch:02d}`
    (counted from 1) and any log key, e.g. "ckpt-{epoch:02d}-{val_loss:.3f}.npz". Without
    placeholders each save replaces the file. Missing folders are created. `best`: the best
    monitored value so far; `last_path`: the file written last (None before the first save).
    Load a checkpoint back with `model.load_state_dict(tg.load(path))`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ):
        super().__init__()
        who = "ModelCheckpoint"
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"{who}: path must be a file name (str or Path), got {type(path).__name__}")
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = _resolve_mode(monitor, mode, who) if self.save_best_only else mode
        if not self.save_best_only and mode not in ("auto", "min", "max"):
            raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.best: float | None = None
        self.last_path: str | None = None

    def set_model(self, model: Any) -> None:
        _needs_state_dict(model, "ModelCheckpoint", "saving weights")
        super().set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = None
        keys = _planned_keys(self)
        if keys is not None:  # the same errors now as after the first epoch
            if self.save_best_only:
                check_monitor(keys, self.monitor, "ModelCheckpoint")
            self.file_path(0, dict.fromkeys(keys, 0.0))

    def file_path(self, epoch: int, logs: dict | None) -> str:
        """The path for epoch `epoch` (0-based): placeholders filled, epoch counted from 1."""
        try:
            return self.path.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as e:
            keys = ", ".join(["epoch", *(logs or {})])
            raise ValueError(
                f"ModelCheckpoint: the path {self.path!r} names {{{e.args[0]}}}, which is not a log key; "
                f"available: {keys}"
            ) from None
        except (ValueError, IndexError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill in the path {self.path!r}: {e}") from None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_best_only:
            current = monitored_value(logs, self.monitor, "ModelCheckpoint")
            if not _improves(current, self.best, self.mode):
                return
            self.best = current
        path = self.file_path(epoch, logs)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save(self.model.state_dict(), path)
        self.last_path = path


class CSVLogger(Callback):
    """Write one CSV row per epoch: "epoch" (0-based, as Keras writes it), then the log keys in
    sorted order (Keras' order), values as Python writes floats.

    separator: the field separator. append: add to an existing file (its header is kept)
    instead of replacing it. The file is opened for each row and closed again (so it is
    complete after every epoch and nothing stays open if training fails); at the end of
    training nothing is left open.
    """

    def __init__(self, path: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"CSVLogger: path must be a file name (str or Path), got {type(path).__name__}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.path = os.fspath(path)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.keys = None
        self._write_header = True
        if self.append and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self._write_header = not f.readline()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            open(self.path, "w", encoding="utf-8").close()  # a fresh, empty log from the start

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if self._write_header:
                writer.writerow(["epoch", *self.keys])
                self._write_header = False
            writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
