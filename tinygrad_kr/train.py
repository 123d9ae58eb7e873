"""Training helpers: a `fit` loop with progress bars, `evaluate`, a `History` of epoch metrics
that can plot itself, and `kfold` index splits for cross-validation.

    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  train_loader, epochs=10, val_loader=val_loader)
    history.history["val_accuracy"]           # one float per epoch
    history.plot("curves.png")                # needs matplotlib: pip install "tinygrad_kr[plot]"
    evaluate(model, nn.CrossEntropyLoss(), test_loader)  # {"loss": ..., "accuracy": ...}

    for train_idx, val_idx in kfold(len(X), k=5, seed=0):
        ...                                   # X[train_idx], X[val_idx]

Loaders are any iterables of (inputs, targets) batches, e.g. `tinygrad_kr.data.DataLoader`.
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
    The score is read as a logit (predicted 1 where > 0) unless the loss compares the output
    with the 0/1 target directly: nn.BCELoss, nn.MSELoss, nn.L1Loss and their functional forms
    binary_cross_entropy, mse_loss, l1_loss read it as a probability (predicted 1 where > 0.5).
    For anything else pass a callable metric.

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

from .grad_mode import no_grad
from .random import get_generator
from .tensor import Tensor

__all__ = ["History", "fit", "evaluate", "kfold"]

_KNOWN_METRICS = ("accuracy",)
# Losses whose single-column input is compared with the 0/1 target itself (a probability or a
# regression of the label), so its decision threshold is 0.5; every other loss gets logits.
_PROBABILITY_LOSSES = frozenset(
    {"BCELoss", "MSELoss", "L1Loss", "binary_cross_entropy", "mse_loss", "l1_loss"}
)
_PLOT_FORMATS = ("png", "svg", "pdf")

# A metric as the loops use it: (output array, target array) -> (sum over the batch, count).
_Metric = Callable[[np.ndarray, np.ndarray], "tuple[float, int]"]


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------


class History:
    """Per-epoch results of `fit`.

    `history`: dict name -> list of floats, one per epoch, in the order "loss", the metrics
    ("accuracy", ...), then "val_loss", "val_accuracy", ... (val keys only when fit had a
    val_loader). `epochs`: the number of epochs recorded.
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
        names = [n for n in self.history if not n.startswith("val_")]
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


def _loss_name(loss_fn: Any) -> str:
    return getattr(loss_fn, "__name__", None) or type(loss_fn).__name__


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
            threshold = 0.5 if _loss_name(loss_fn) in _PROBABILITY_LOSSES else 0.0
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
        return {k: f"{v:.4f}" for k, v in logs.items()}

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
            fields = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
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
    if meter.batches == 0:
        raise ValueError(
            f"fit: train_loader yielded no batches in epoch {epoch} (a generator is used up after "
            "one pass: pass a DataLoader or a list of batches)"
        )
    return meter.means()


def _check_count(value: Any, name: str, who: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{who}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def fit(
    model: Callable[[Any], Tensor],
    loss_fn: Callable[[Tensor, Any], Tensor],
    optimizer: Any,
    train_loader: Iterable,
    epochs: int = 1,
    val_loader: Iterable | None = None,
    metrics: Sequence[str | Callable] | None = ("accuracy",),
    progress: bool = True,
) -> History:
    """Train `model` for `epochs` passes over `train_loader`; returns the `History`.

    Each batch (x, y): optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    optimizer.step(). The model is in train mode (model.train()) while training; with a
    val_loader it is evaluated after every epoch in eval mode under tg.no_grad() (no graph,
    parameters and BatchNorm statistics untouched). When fit returns or raises, every
    sub-module is back in the mode it had before.

    progress: one bar per epoch on stderr (tqdm, if installed) showing the running loss and
    metrics; without tqdm one line per epoch on stdout. False prints nothing.

    Raises FloatingPointError, naming the epoch and batch, when a training loss is NaN or
    infinite (before that batch's step, so the parameters stay finite).
    """
    epochs = _check_count(epochs, "epochs", "fit", 0)
    resolved = _resolve_metrics(metrics, loss_fn, "fit")
    history = History()
    modes = _modes(model)
    try:
        for epoch in range(1, epochs + 1):
            if modes:
                model.train()
            report = _EpochReport(progress, epoch, epochs, _loader_len(train_loader))
            try:
                logs = _train_epoch(model, loss_fn, optimizer, train_loader, resolved, epoch, epochs, report)
                if val_loader is not None:
                    val = _run_eval(model, loss_fn, val_loader, resolved, "fit", "val_loader")
                    logs.update({"val_" + k: v for k, v in val.items()})
            except BaseException:
                report.abort()
                raise
            report.end(logs)
            history._append(logs)
    finally:
        _restore(modes)
    return history


def evaluate(
    model: Callable[[Any], Tensor],
    loss_fn: Callable[[Tensor, Any], Tensor],
    loader: Iterable,
    metrics: Sequence[str | Callable] | None = ("accuracy",),
) -> dict[str, float]:
    """Mean loss and metrics per sample over `loader`: {"loss": ..., "accuracy": ...}.

    Runs in eval mode under tg.no_grad(); every sub-module gets its previous mode back.
    """
    resolved = _resolve_metrics(metrics, loss_fn, "evaluate")
    return _run_eval(model, loss_fn, loader, resolved, "evaluate", "loader")


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
    n = _check_count(n_samples, "n_samples", "kfold", 1)
    k = _check_count(k, "k", "kfold", 2)
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
