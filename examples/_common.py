"""Helpers shared by the examples: paths, data loading, evaluation, plots and graph files.

Every example does `import _common` first: when it is run from a source checkout that was
installed before `nn/` existed (or not installed at all), this puts the repository root on
sys.path so that `import tinygrad_kr` and `import nn` find the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

import nn  # noqa: E402
import tinygrad_kr as tg  # noqa: E402
from nn import functional as F  # noqa: E402
from tinygrad_kr import Tensor, datasets  # noqa: E402


class ExampleError(Exception):
    """A user-facing problem (missing data files, bad flag combination): `run` prints it, exit 2."""


def run(main: Callable[[Sequence[str] | None], Any]) -> None:
    """`if __name__ == "__main__": run(main)`: turn ExampleError into a message on stderr."""
    try:
        main(None)
    except ExampleError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


# ---- arguments and output ------------------------------------------------------------------------


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An ArgumentParser whose description is the example's docstring, with --out and --seed."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out", help="directory for plots, graphs and checkpoints (default: out/)")
    p.add_argument("--seed", type=int, default=0, help="random seed (tg.manual_seed)")
    return p


def out_dir(path: str | os.PathLike) -> Path:
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_data_root() -> Path:
    """The library's default data folder: $TINYGRAD_KR_DATA if set, else ~/.tinygrad_kr/datasets.

    (The rule of tinygrad_kr.datasets, where MNIST() and FashionMNIST() look when no root is given.)
    """
    return Path(os.environ.get("TINYGRAD_KR_DATA") or "~/.tinygrad_kr/datasets").expanduser()


def add_mnist_source(p: argparse.ArgumentParser) -> None:
    """--full (the MNIST files instead of the embedded subset) with --data-root and --download."""
    p.add_argument(
        "--full", action="store_true", help="the 60000/10000 MNIST files instead of the embedded subset"
    )
    add_data_root(p)


def add_data_root(p: argparse.ArgumentParser) -> None:
    """--data-root (where the .gz files are) and --download (fetch missing ones from the mirrors)."""
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding mnist/ and fashion-mnist/ with the original .gz files "
        "(default: $TINYGRAD_KR_DATA, else ~/.tinygrad_kr/datasets)",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="download missing data files from the public mirrors into the data root",
    )


def save_json(obj: Any, path: Path) -> Path:
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    return path


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


# ---- data ----------------------------------------------------------------------------------------


def _load_real(
    loader: Callable, name: str, folder: str, data_root: str | None, train: bool, download: bool = False
) -> tuple:
    root = Path(data_root).expanduser() if data_root else default_data_root()
    try:
        return loader(root=root, train=train, download=download)
    except (FileNotFoundError, RuntimeError) as e:  # missing files; a download that failed
        raise ExampleError(
            f"{name} files not found under {root / folder}.\n{e}\n"
            "Set TINYGRAD_KR_DATA or pass --data-root to the folder that holds "
            f"{folder}/ with the four original .gz files, or add --download."
        ) from None


def images_to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (x.astype(np.float32) / np.float32(255.0)).reshape(x.shape[0], 1, *x.shape[1:])


def load_mnist(
    full: bool, data_root: str | None, download: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train (N, 1, 28, 28) float32 in [0, 1], y_train (N,) int64, x_test, y_test).

    The embedded 5000/1000 subset by default, the 60000/10000 files with full=True.
    """
    if full:
        xtr, ytr = _load_real(datasets.MNIST, "MNIST", "mnist", data_root, True, download)
        xte, yte = _load_real(datasets.MNIST, "MNIST", "mnist", data_root, False, download)
    else:
        xtr, ytr = datasets.MNIST(subset="mini", train=True)
        xte, yte = datasets.MNIST(subset="mini", train=False)
    return images_to_float(xtr), ytr, images_to_float(xte), yte


def load_fashion_mnist(
    data_root: str | None, download: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST as (x_train (60000, 1, 28, 28) float32 in [0, 1], y_train, x_test, y_test)."""
    xtr, ytr = _load_real(datasets.FashionMNIST, "Fashion-MNIST", "fashion-mnist", data_root, True, download)
    xte, yte = _load_real(datasets.FashionMNIST, "Fashion-MNIST", "fashion-mnist", data_root, False, download)
    return images_to_float(xtr), ytr, images_to_float(xte), yte


# ---- training helpers ----------------------------------------------------------------------------


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of a classifier on x: (N, ...), y: (N,) int, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with tg.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(Tensor(x[i : i + batch_size]))
            t = y[i : i + batch_size]
            total_loss += F.cross_entropy(logits, Tensor(t), reduction="sum").item()
            correct += int((logits.data.argmax(axis=1) == t).sum())
    model.train(was_training)
    return total_loss / len(x), correct / len(x)


def init_weights(model: nn.Module, weight_init: Callable[[Tensor], Any]) -> nn.Module:
    """Apply `weight_init` (e.g. nn.init.xavier_uniform_) to the weight of every Linear and Conv2d
    in `model` and set their biases to zero. Returns the model."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            weight_init(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def make_optimizer(name: str, params: Iterable, lr: float | None = None) -> nn.optim.Optimizer:
    """The optimizers of "Deep Learning from Scratch" ch. 6 with the book's learning rates."""
    params = list(params)
    if name == "sgd":
        return nn.optim.SGD(params, lr=lr or 0.01)
    if name == "momentum":
        return nn.optim.SGD(params, lr=lr or 0.01, momentum=0.9)
    if name == "adagrad":
        return nn.optim.Adagrad(params, lr=lr or 0.01)
    if name == "rmsprop":
        return nn.optim.RMSprop(params, lr=lr or 0.001)
    if name == "adam":
        return nn.optim.Adam(params, lr=lr or 0.001)
    raise ExampleError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")


# ---- plots and graphs ----------------------------------------------------------------------------


def pyplot():
    """matplotlib.pyplot with the Agg backend, or None (with a message) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
        return None
    return plt


def plot_curves(
    path: Path,
    panels: dict[str, dict[str, Sequence[float]]],
    xlabel: str = "epoch",
    title: str | None = None,
    logy: Sequence[str] = (),
    x_step: float = 1,
) -> Path | None:
    """One subplot per panel title, one line per label; written as PNG. None without matplotlib.

    Value i of a line is drawn at x = (i + 1) * x_step (x_step=50: one value every 50 iterations).
    """
    plt = pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (name, lines) in zip(axes[0], panels.items()):
        for label, values in lines.items():
            xs = np.arange(1, len(values) + 1) * x_step
            ax.plot(xs, values, label=label, marker="o" if len(values) <= 30 else None, markersize=3)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        if name in logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> Path:
    """tight_layout, write `fig` to `path` (PNG at 100 dpi), close it; returns the path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_graph(outputs: Any, path: Path, **options: Any) -> Path:
    """tg.save_graph to an image; without the Graphviz `dot` program, the .dot source instead."""
    from tinygrad_kr import viz

    try:
        return viz.save_graph(outputs, path, **options)
    except viz.GraphvizNotFoundError:
        dot = path.with_suffix(".dot")
        print(
            f"Graphviz `dot` not found: writing the graph source to {dot} instead of {path.name} "
            "(install graphviz to render it)"
        )
        return viz.save_graph(outputs, dot, **options)
