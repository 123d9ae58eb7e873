"""Training helpers: a `fit` loop with progress bars, callbacks and schedulers, `evaluate`,
`predict`, a `History` of epoch metrics that can plot itself, and `kfold` index splits for
cross-validation.

    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  train_loader, epochs=10, val_loader=val_loader)
    history.history["val_accuracy"]           # one float per epoch
    history.plot("curves.png")                # needs matplotlib: pip install "tinygrad_kr[plot]"
    evaluate(model, nn.CrossEntropyLoss(), test_loader)  # {"loss": ..., "accuracy": ...}
    probs = predict(model, x_test)            # one numpy array, batches concatenated

    # Keras style: arrays, validation_split, callbacks (tinygrad_kr.callbacks), a scheduler
    fit(model, loss_fn, opt, (X, y), epochs=50, batch_size=64, validation_split=0.2,
        callbacks=[EarlyStopping(patience=3, restore_best_weights=True)],
        scheduler=nn.optim.lr_scheduler.StepLR(opt, 10))

    for train_idx, val_idx in kfold(len(X), k=5, seed=0):
        ...                                   # X[train_idx], X[val_idx]

Data: a loader is any iterable of (inputs, targets) batches, e.g. `tinygrad_kr.data.DataLoader`;
`fit` and `evaluate` also take an `(X, y)` pair of numpy arrays or Tensors, batched by a
DataLoader (batch_size, and for training shuffle; floats become float32, integers int64).
The loss function is called as `loss_fn(model(inputs), targets)` and must return the batch mean
as a one-element Tensor (reduction="mean", the default of every nn loss). Epoch values are
means per sample: each batch counts with its size (its number of targets), so a short last
batch weighs less. The train loss and metrics of an epoch are running means over its batches,
each measured before that batch's optimizer step (as Keras and most PyTorch loops report them).

Metrics: the name "accuracy", or any callable `fn(output, target) -> float` given numpy arrays
and returning the batch mean (its key in the history is `fn.__name__`).

"accuracy" compares predictions with the targets:
  * outputs (N, C) with C >= 2 (also (N, *d, C)): the class is the argmax over the last axis;
    targets are integer class indices (N,) / (N, *d) (negative ones, e.g. ignore_index -100,
    are not counted), or one-hot / probability rows of the output's shape (argmax taken too).
    The result is exact: correct predictions / counted targets.
  * outputs (N,) or (N, 1): one binary score per sample; the target is 1 where it is > 0.5.
    The score is read as a logit (predicted 1 where > 0) unless the loss function says it
    compares the output with the 0/1 target directly, by an attribute
    `output_is_probability = True` (read with getattr, default False): nn.BCELoss, nn.MSELoss,
    nn.L1Loss and their functional forms binary_cross_entropy, mse_loss, l1_loss set it, so
    their outputs read as probabilities (predicted 1 where > 0.5). A custom loss can set the
    attribute too; for anything else pass a callable metric.

tinygrad_kr does not import nn: models are duck-typed. A model with `modules()` (an nn.Module)
gets train/eval mode handling; any other callable is simply called.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ._args import check_bool, check_int, check_real
from .callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, check_monitor, monitored_value
from .data import DataLoader, TensorDataset
from .grad_mode import no_grad
from .random import get_generator
from .tensor import Tensor

__all__ = [
    "History", "fit", "evaluate", "predict", "kfold",
    "Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
]  # fmt: skip

_KNOWN_METRICS = ("accuracy",)
_PLOT_FORMATS = ("png", "svg", "pdf")

# A metric as the loops use it: (output array, target array) -> (sum over the batch, count).
_Metric = Callable[[np.ndarray, np.ndarray], "tuple[float, int]"]


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------


class History:
    """Per-epoch results of `fit`.

    `history`: dict name -> list of floats, one per epoch, in the order "loss", the metrics
    ("accuracy", ...), then "val_loss", "val_accuracy", ... (val keys only when fit had
    validation data), then "lr" (only when fit had a scheduler: the learning rate of the first
    param group that the epoch trained with). `epochs`: the number of epochs recorded.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    @property
    def epochs(self) -> int:
        """Number of epochs recorded (the length of every list in `history`)."""
        return len(next(iter(self.history.values()), []))

    def _append(self, logs: dict[str, float]) -> None:
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={list(self.history)})"

    def plot(self, path: str | Path) -> str | Path:
        """Draw one subplot per quantity (loss, then each metric), train and val curves against
        the epoch number, and save it to `path` (format from the extension: .png, .svg or .pdf).

        Renders with matplotlib's Agg canvas on a standalone Figure: pyplot and the user's
        backend are left alone. Returns `path`.
        """
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in _PLOT_FORMATS:
            raise ValueError(
                f"History.plot: unsupported file extension {Path(path).suffix!r} in {str(path)!r}; "
                f"use one of {', '.join('.' + f for f in _PLOT_FORMATS)}"
            )
        if self.epochs == 0:
            raise ValueError("History.plot: the history is empty (no epoch was recorded)")
        try:
            import matplotlib.backends.backend_agg
            import matplotlib.figure
            import matplotlib.ticker
        except ImportError as e:
            raise ImportError(
                'History.plot needs matplotlib: pip install "tinygrad_kr[plot]" (or pip install matplotlib)'
            ) from e
        names = [n for n in self.history if not n.startswith("val_") and n != "lr"]
        fig = matplotlib.figure.Figure(figsize=(4.5 * len(names), 3.6), layout="constrained")
        matplotlib.backends.backend_agg.FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(names), squeeze=False)[0]
        x = np.arange(1, self.epochs + 1)
        marker = "o" if self.epochs <= 30 else None  # dots help on short runs, clutter long ones
        for ax, name in zip(axes, names):
            ax.plot(x, self.history[name], marker=marker, label="train")
            if "val_" + name in self.history:
                ax.plot(x, self.history["val_" + name], marker=marker, label="val")
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend()
        fig.savefig(path, format=fmt)
        return path


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _accuracy(threshold: float, who: str) -> _Metric:
    """The "accuracy" metric (rules in the module docstring); counts correct predictions."""

    def accuracy(out: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        if out.ndim >= 2 and out.shape[-1] >= 2:
            pred = out.argmax(axis=-1)
            if y.shape == out.shape:
                y = y.argmax(axis=-1)
            elif y.dtype.kind not in "iub":
                raise ValueError(
                    f"{who}: accuracy needs integer class targets of shape {pred.shape} or one-hot "
                    f"targets of the output's shape {out.shape}, got {y.dtype} targets of shape {y.shape}"
                )
            if y.shape != pred.shape:
                raise ValueError(
                    f"{who}: accuracy of outputs {out.shape} needs targets of shape {pred.shape} "
                    f"(class indices) or {out.shape} (one-hot), got {y.shape}"
                )
            counted = y >= 0
            return int(np.count_nonzero((pred == y) & counted)), int(np.count_nonzero(counted))
        score = out.reshape(out.shape[:-1]) if out.ndim >= 2 else out
        if y.size != score.size:
            raise ValueError(
                f"{who}: accuracy of single-score outputs {out.shape} needs one target per score, "
                f"got targets of shape {y.shape}"
            )
        pred = score > threshold
        correct = pred.reshape(-1) == (y.reshape(-1) > 0.5)
        return int(np.count_nonzero(correct)), int(correct.size)

    return accuracy


def _user_metric(fn: Callable, name: str) -> _Metric:
    def metric(out: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        n = _batch_len(y, out)
        value = float(fn(out, y))
        return value * n, n

    metric.__name__ = name
    return metric


def _resolve_metrics(metrics: Any, loss_fn: Any, who: str) -> list[tuple[str, _Metric]]:
    """[(history key, metric)] for the `metrics` argument; ValueError for unknown names."""
    if metrics is None:
        metrics = ()
    elif isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    resolved: list[tuple[str, _Metric]] = []
    for m in metrics:
        if isinstance(m, str):
            if m not in _KNOWN_METRICS:
                known = ", ".join(repr(k) for k in _KNOWN_METRICS)
                raise ValueError(
                    f"{who}: unknown metric {m!r}; known metrics: {known} "
                    "(or pass a callable fn(output, target) -> float giving the batch mean)"
                )
            threshold = 0.5 if getattr(loss_fn, "output_is_probability", False) else 0.0
            resolved.append((m, _accuracy(threshold, who)))
        elif callable(m):
            name = getattr(m, "__name__", None) or type(m).__name__
            resolved.append((name, _user_metric(m, name)))
        else:
            raise TypeError(f"{who}: a metric must be a name or a callable, got {type(m).__name__}")
    names = [n for n, _ in resolved]
    for name in names:
        if name == "loss" or name.startswith("val_") or names.count(name) > 1:
            raise ValueError(
                f"{who}: metric name {name!r} is reserved or repeated (metrics: {names}); "
                "'loss' and 'val_*' are taken by the loop"
            )
    return resolved


class _Meter:
    """Sums and counts per quantity over one epoch; `means()` gives the per-sample means."""

    def __init__(self, metrics: list[tuple[str, _Metric]]):
        self.metrics = metrics
        self.sums = {"loss": 0.0, **{n: 0.0 for n, _ in metrics}}
        self.counts = dict.fromkeys(self.sums, 0)
        self.batches = 0

    def add(self, out: Any, y: Any, loss: float) -> None:
        o, t = _array(out), _array(y)
        n = _batch_len(t, o)
        self.sums["loss"] += loss * n
        self.counts["loss"] += n
        for name, metric in self.metrics:
            s, c = metric(o, t)
            self.sums[name] += s
            self.counts[name] += c
        self.batches += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] if self.counts[k] else math.nan for k in self.sums}


def _batch_len(y: Any, out: Any) -> int:
    """Samples in a batch: the targets' first dimension (the output's for 0-d targets)."""
    shape = np.shape(y)
    return int(shape[0]) if shape else int(np.shape(out)[0])


# --------------------------------------------------------------------------------------------
# The loops
# --------------------------------------------------------------------------------------------


def _unpack(batch: Any, who: str, loader: str) -> tuple[Any, Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = f"a {len(batch)}-tuple" if isinstance(batch, (tuple, list)) else type(batch).__name__
        raise ValueError(f"{who}: each batch of {loader} must be an (inputs, targets) pair, got {got}")
    return batch[0], batch[1]


def _loss_value(loss: Any, who: str) -> float:
    if not isinstance(loss, Tensor) or loss.size != 1:
        what = f"a Tensor of shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(
            f"{who}: loss_fn must return the batch loss as a one-element Tensor (reduction='mean'), "
            f"got {what}"
        )
    return float(loss.data.reshape(()))


def _modes(model: Any) -> list[tuple[Any, bool]]:
    """Every sub-module's `training` flag (empty for a model that is not an nn.Module)."""
    modules = getattr(model, "modules", None)
    return [(m, m.training) for m in modules()] if callable(modules) else []


def _restore(modes: list[tuple[Any, bool]]) -> None:
    for m, training in modes:
        m.training = training


@contextmanager
def _evaluating(model: Any) -> Iterator[None]:
    """Eval mode and no graph inside; afterwards each sub-module gets its own mode back."""
    modes = _modes(model)
    if modes:
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        _restore(modes)


def _run_eval(model: Any, loss_fn: Callable, loader: Iterable, metrics: list, who: str, name: str) -> dict:
    meter = _Meter(metrics)
    with _evaluating(model):
        for batch in loader:
            x, y = _unpack(batch, who, name)
            out = model(x)
            meter.add(out, y, _loss_value(loss_fn(out, y), who))
    if meter.batches == 0:
        raise ValueError(f"{who}: {name} yielded no batches")
    return meter.means()


class _EpochReport:
    """One epoch's progress: a tqdm bar (postfix = running loss and metrics) when tqdm is
    importable, else one printed line at the end of the epoch; nothing when progress is off."""

    def __init__(self, progress: bool, epoch: int, epochs: int, total: int | None):
        self.title = f"Epoch {epoch}/{epochs}"
        self.start = time.perf_counter()
        self.bar = None
        self.print_line = False
        if not progress:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self.print_line = True
            return
        self.bar = tqdm(total=total, desc=self.title, unit="batch", leave=True, dynamic_ncols=True)

    @staticmethod
    def _format(logs: dict[str, float]) -> dict[str, str]:
        # the learning rate is often 1e-4 or less: significant digits, not 4 decimals
        return {k: f"{v:.4g}" if k == "lr" else f"{v:.4f}" for k, v in logs.items()}

    def step(self, meter: _Meter) -> None:
        if self.bar is not None:
            self.bar.set_postfix(self._format(meter.means()), refresh=False)
            self.bar.update(1)

    def end(self, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(self._format(logs), refresh=False)
            self.bar.close()
        elif self.print_line:
            seconds = time.perf_counter() - self.start
            fields = " - ".join(f"{k}: {v}" for k, v in self._format(logs).items())
            print(f"{self.title} - {seconds:.1f}s - {fields}", file=sys.stdout, flush=True)

    def abort(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _loader_len(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _train_epoch(
    model: Any,
    loss_fn: Callable,
    optimizer: Any,
    loader: Iterable,
    metrics: list,
    epoch: int,
    epochs: int,
    report: _EpochReport,
    callbacks: Sequence[Callback] = (),
) -> dict[str, float]:
    meter = _Meter(metrics)
    total = _loader_len(loader)
    for b, batch in enumerate(loader, 1):
        x, y = _unpack(batch, "fit", "train_loader")
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        value = _loss_value(loss, "fit")
        if not math.isfinite(value):
            of = f"/{total}" if total is not None else ""
            raise FloatingPointError(
                f"fit: the loss is {value} at epoch {epoch}/{epochs}, batch {b}{of}: training "
                "diverged (the parameters hold the values from before this batch). Try a smaller "
                "learning rate, gradient clipping (nn.utils.clip_grad_norm_), or "
                "tg.detect_anomaly() to find the op that made the first NaN/Inf"
            )
        meter.add(out, y, value)
        loss.backward()
        optimizer.step()
        report.step(meter)
        if callbacks:
            running = meter.means()
            for cb in callbacks:
                cb.on_batch_end(b - 1, running)
    if meter.batches == 0:
        raise ValueError(
            f"fit: train_loader yielded no batches in epoch {epoch} (a generator is used up after "
            "one pass: pass a DataLoader or a list of batches)"
        )
    return meter.means()


def fit(
    model: Callable[[Any], Tensor],
    loss_fn: Callable[[Tensor, Any], Tensor],
    optimizer: Any,
    train_loader: Iterable | tuple,
    epochs: int = 1,
    val_loader: Iterable | tuple | None = None,
    metrics: Sequence[str | Callable] | None = ("accuracy",),
    progress: bool = True,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    validation_split: float = 0.0,
    callbacks: Sequence[Callback] = (),
    scheduler: Any = None,
) -> History:
    """Train `model` for `epochs` passes over `train_loader`; returns the `History`.

    Each batch (x, y): optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    optimizer.step(). The model is in train mode (model.train()) while training; with
    validation data it is evaluated after every epoch in eval mode under tg.no_grad() (no
    graph, parameters and BatchNorm statistics untouched). When fit returns or raises, every
    sub-module is back in the mode it had before.

    train_loader: an iterable of (inputs, targets) batches, or an (X, y) pair of arrays or
        Tensors, which fit batches with batch_size and (shuffle=True) reshuffles every epoch
        with the project generator (tg.manual_seed). batch_size and shuffle apply to arrays only.
    val_loader: validation batches, or an (X_val, y_val) pair (batches of batch_size).
    validation_split: with an (X, y) pair, hold out this fraction in [0, 1) as validation
        data: the LAST samples, taken before any shuffling (Keras' rule: the first
        floor(N * (1 - validation_split)) samples train). Not with a loader (it has no order
        to split) nor together with val_loader.
    callbacks: tinygrad_kr.callbacks.Callback objects (EarlyStopping, ModelCheckpoint,
        CSVLogger, your own), called as that module describes; training ends after an epoch
        in which one of them set stop_training.
    scheduler: a learning-rate scheduler of this optimizer, stepped once after every epoch
        (after validation, before the callbacks' on_epoch_end). One whose class sets
        `steps_with_metric = True` (ReduceLROnPlateau) is stepped with the epoch's value of
        `scheduler.monitor` ("val_loss" by default). With a scheduler the History (and the
        epoch logs) get "lr": the first param group's learning rate the epoch trained with.

    progress: one bar per epoch on stderr (tqdm, if installed) showing the running loss and
    metrics; without tqdm one line per epoch on stdout. False prints nothing.

    Raises FloatingPointError, naming the epoch and batch, when a training loss is NaN or
    infinite (before that batch's step, so the parameters stay finite).
    """
    epochs = check_int(epochs, "epochs", "fit", 0)
    resolved = _resolve_metrics(metrics, loss_fn, "fit")
    train_loader, val_loader = _fit_data(train_loader, val_loader, batch_size, shuffle, validation_split)
    callbacks = _check_callbacks(callbacks)
    _check_scheduler(scheduler, optimizer)
    keys = _log_keys(resolved, val_loader is not None, scheduler is not None)
    if getattr(scheduler, "steps_with_metric", False):
        check_monitor(keys, getattr(scheduler, "monitor", "val_loss"), f"fit: {type(scheduler).__name__}")
    history = History()
    modes = _modes(model)
    try:
        params = {"epochs": epochs, "steps": _loader_len(train_loader), "keys": keys}
        for cb in callbacks:
            cb.set_model(model)
            cb.set_params(params)
            cb.stop_training = False
        for cb in callbacks:
            cb.on_train_begin(None)
        logs: dict[str, float] = {}
        for epoch in range(epochs):
            if modes:
                model.train()
            lr = _first_lr(optimizer) if scheduler is not None else None
            for cb in callbacks:
                cb.on_epoch_begin(epoch, None)
            logs = _fit_epoch(
                model,
                loss_fn,
                optimizer,
                train_loader,
                val_loader,
                resolved,
                epoch,
                epochs,
                lr,
                progress,
                callbacks,
            )
            if scheduler is not None:
                _step_scheduler(scheduler, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history._append(logs)  # after the callbacks, as Keras' History: keys they add are kept
            if any(cb.stop_training for cb in callbacks):
                break
        for cb in callbacks:
            cb.on_train_end(logs)
    finally:
        _restore(modes)
    return history


def _fit_epoch(
    model: Any,
    loss_fn: Callable,
    optimizer: Any,
    train_loader: Iterable,
    val_loader: Iterable | None,
    metrics: list,
    epoch: int,
    epochs: int,
    lr: float | None,
    progress: bool,
    callbacks: list[Callback],
) -> dict[str, float]:
    """One epoch (0-based `epoch`) of training and validation with its progress report; the
    logs get "lr" when it is not None."""
    report = _EpochReport(progress, epoch + 1, epochs, _loader_len(train_loader))
    try:
        logs = _train_epoch(
            model, loss_fn, optimizer, train_loader, metrics, epoch + 1, epochs, report, callbacks
        )
        if val_loader is not None:
            val = _run_eval(model, loss_fn, val_loader, metrics, "fit", "val_loader")
            logs.update({"val_" + k: v for k, v in val.items()})
    except BaseException:
        report.abort()
        raise
    if lr is not None:
        logs["lr"] = lr
    report.end(logs)
    return logs


def _log_keys(metrics: list, validating: bool, scheduling: bool) -> list[str]:
    """The keys of every epoch's logs, in their order."""
    names = ["loss", *(name for name, _ in metrics)]
    val = ["val_" + n for n in names] if validating else []
    return names + val + (["lr"] if scheduling else [])


def _is_pair(data: Any) -> bool:
    """An (X, y) pair of arrays or Tensors (rather than a list of batches)."""
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(a, (np.ndarray, Tensor)) for a in data)
    )


def _pair_loader(data: tuple, batch_size: int, shuffle: bool, who: str, name: str) -> DataLoader:
    x, y = data
    if np.ndim(_array(x)) == 0 or np.ndim(_array(y)) == 0 or len(_array(x)) != len(_array(y)):
        raise ValueError(
            f"{who}: {name} as an (X, y) pair needs arrays with the same first dimension, got shapes "
            f"{np.shape(_array(x))} and {np.shape(_array(y))}"
        )
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def _fit_data(
    train: Any, val: Any, batch_size: Any, shuffle: Any, validation_split: Any
) -> tuple[Iterable, Iterable | None]:
    """fit's (train loader, val loader or None) from its data arguments, checked."""
    validation_split = check_real(
        validation_split, "validation_split", "fit", lambda v: 0 <= v < 1, "a number in [0, 1)"
    )
    pairs = _is_pair(train) or _is_pair(val)
    if pairs:
        batch_size = check_int(batch_size, "batch_size", "fit", 1)
        shuffle = check_bool(shuffle, "shuffle", "fit")
    if validation_split > 0:
        if not _is_pair(train):
            raise ValueError(
                f"fit: validation_split={validation_split} needs the training data as an (X, y) pair of "
                f"arrays, got {type(train).__name__}: a loader has no order to split; pass val_loader "
                "(or split the dataset with tinygrad_kr.data.random_split)"
            )
        if val is not None:
            raise ValueError("fit: give either val_loader or validation_split, not both")
        train, val = _split_last(train, validation_split)
    if _is_pair(train):
        train = _pair_loader(train, batch_size, bool(shuffle), "fit", "train_loader")
    if _is_pair(val):
        val = _pair_loader(val, batch_size, False, "fit", "val_loader")
    return train, val


def _split_last(data: tuple, fraction: float) -> tuple[tuple, tuple]:
    """((X_train, y_train), (X_val, y_val)): the val part is the last samples (Keras' rule)."""
    x, y = data
    n = len(_array(x))
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"fit: validation_split={fraction} of {n} samples leaves "
            f"{'no training' if split_at == 0 else 'no validation'} samples; use more data or another "
            "fraction"
        )
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def _check_callbacks(callbacks: Any) -> list[Callback]:
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if callbacks is None:
        return []
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(
                f"fit: callbacks[{i}] is a {type(cb).__name__}, not a tinygrad_kr.callbacks.Callback "
                "(subclass Callback and override its on_* methods)"
            )
    return callbacks


def _check_scheduler(scheduler: Any, optimizer: Any) -> None:
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            f"fit: scheduler must be a learning-rate scheduler with step(), got {type(scheduler).__name__}"
        )
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError(
            f"fit: the scheduler ({type(scheduler).__name__}) was built for another optimizer than the one "
            "given to fit; build it with this optimizer, e.g. StepLR(optimizer, step_size=10)"
        )


def _first_lr(optimizer: Any) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _step_scheduler(scheduler: Any, logs: dict[str, float]) -> None:
    if getattr(scheduler, "steps_with_metric", False):
        monitor = getattr(scheduler, "monitor", "val_loss")
        scheduler.step(monitored_value(logs, monitor, f"fit: {type(scheduler).__name__}"))
    else:
        scheduler.step()


def evaluate(
    model: Callable[[Any], Tensor],
    loss_fn: Callable[[Tensor, Any], Tensor],
    loader: Iterable | tuple,
    metrics: Sequence[str | Callable] | None = ("accuracy",),
    *,
    batch_size: int = 32,
) -> dict[str, float]:
    """Mean loss and metrics per sample over `loader`: {"loss": ..., "accuracy": ...}.

    loader: batches of (inputs, targets), or an (X, y) pair of arrays or Tensors (batched by
    batch_size). Runs in eval mode under tg.no_grad(); every sub-module gets its previous mode
    back.
    """
    resolved = _resolve_metrics(metrics, loss_fn, "evaluate")
    if _is_pair(loader):
        batch_size = check_int(batch_size, "batch_size", "evaluate", 1)
        loader = _pair_loader(loader, batch_size, False, "evaluate", "loader")
    return _run_eval(model, loss_fn, loader, resolved, "evaluate", "loader")


def predict(model: Callable[[Any], Tensor], x: Any, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for `x` as one numpy array, batches concatenated along axis 0.

    x: a numpy array or Tensor of inputs (N, ...), run in batches of batch_size (default 32,
    as Keras; floats become float32, integers int64, as DataLoader makes them); or a loader /
    iterable of batches, whose inputs (the first field of each batch tuple, or the batch
    itself) are used as they are (then batch_size must be None). Runs in eval mode under
    tg.no_grad(); every sub-module gets its previous mode back, also on an error.
    """
    if isinstance(x, (np.ndarray, Tensor)):
        if np.ndim(_array(x)) == 0:
            raise ValueError("predict: x must have a batch dimension, got a 0-d array")
        size = 32 if batch_size is None else check_int(batch_size, "batch_size", "predict", 1)
        batches: Iterable = DataLoader(TensorDataset(x), batch_size=size)
    elif batch_size is not None:
        raise ValueError(
            f"predict: batch_size={batch_size!r} applies to arrays; the {type(x).__name__} makes its own "
            "batches"
        )
    elif isinstance(x, Iterable) and not isinstance(x, (str, bytes, dict)):
        batches = x
    else:
        raise TypeError(
            f"predict: x must be an array, a Tensor or a loader of batches, got {type(x).__name__}"
        )
    outputs = []
    with _evaluating(model):
        for batch in batches:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            outputs.append(_prediction(model(inputs)))
    if not outputs:
        raise ValueError("predict: x yielded no batches")
    return np.concatenate(outputs, axis=0)


def _prediction(out: Any) -> np.ndarray:
    if not isinstance(out, (Tensor, np.ndarray)):
        raise TypeError(
            f"predict: the model must return one Tensor per batch, got {type(out).__name__} "
            "(for a model with several outputs, call it in a tg.no_grad() loop yourself)"
        )
    arr = _array(out)
    if arr.ndim == 0:
        raise ValueError("predict: the model returned a 0-d output; predict needs one row per sample")
    return arr


# --------------------------------------------------------------------------------------------
# Cross-validation
# --------------------------------------------------------------------------------------------


def kfold(
    n_samples: int, k: int, seed: int | None = None, shuffle: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Split range(n_samples) into k folds; yields k pairs (train_idx, val_idx).

    Every sample is in exactly one val_idx; the first n_samples % k folds hold one sample more
    than the others. Both arrays are int64 and sorted. The samples are shuffled first
    (unlike sklearn's KFold, whose default is shuffle=False): with the project generator
    (tinygrad_kr.manual_seed) when seed is None, with np.random.default_rng(seed) otherwise.
    shuffle=False gives contiguous folds in order (sklearn's KFold(k) default); a seed is then
    an error, since it would have no effect. The order is drawn when kfold is called.
    """
    n = check_int(n_samples, "n_samples", "kfold", 1)
    k = check_int(k, "k", "kfold", 2)
    if k > n:
        raise ValueError(f"kfold: k={k} folds need at least k samples, got n_samples={n}")
    if shuffle:
        rng = np.random.default_rng(seed) if seed is not None else get_generator()
        order = rng.permutation(n)
    elif seed is not None:
        raise ValueError(f"kfold: seed={seed!r} has no effect with shuffle=False; drop the seed")
    else:
        order = np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return _folds(order.astype(np.int64), bounds)


def _folds(order: np.ndarray, bounds: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start, stop in zip(bounds[:-1], bounds[1:]):
        val = np.sort(order[start:stop])
        mask = np.ones(order.size, dtype=bool)
        mask[val] = False
        yield np.flatnonzero(mask).astype(np.int64), val
