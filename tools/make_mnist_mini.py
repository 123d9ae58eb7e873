"""Build tinygrad_kr/_data/mnist-mini.npz from the real MNIST gzip IDX files.

    python tools/make_mnist_mini.py [MNIST_DIR]

MNIST_DIR holds the four standard files (default: ../shared/data/mnist beside the checkout).
Deterministic: 500 train images per class drawn with np.random.default_rng(SEED) (kept in their
original order), and the first 1000 test images. The npz also stores `train_index`, the rows
taken from the full train set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinygrad_kr.datasets import MNIST

SEED = 20240501
PER_CLASS = 500
N_TEST = 1000
OUT = Path(__file__).resolve().parents[1] / "tinygrad_kr" / "_data" / "mnist-mini.npz"


def main(mnist_dir: Path) -> None:
    # MNIST(root=...) expects <root>/mnist/, and checks every file's md5.
    x_train, y_train = MNIST(root=mnist_dir.parent, train=True, download=False)
    x_test, y_test = MNIST(root=mnist_dir.parent, train=False, download=False)
    rng = np.random.default_rng(SEED)
    picks = [rng.choice(np.flatnonzero(y_train == c), PER_CLASS, replace=False) for c in range(10)]
    index = np.sort(np.concatenate(picks)).astype(np.int32)
    np.savez_compressed(
        OUT,
        x_train=x_train[index],
        y_train=y_train[index],
        x_test=x_test[:N_TEST],
        y_test=y_test[:N_TEST],
        train_index=index,
    )
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if src.name != "mnist":
        sys.exit(f"expected a folder named 'mnist', got {src}")
    main(src)
