"""Smoke test of examples/keras_style.py (the Keras-course workflow): `main([...])` runs in-process
on a slice of the embedded MNIST subset and its results and files are checked (`--help`:
test_examples_help.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from .examples_support import assert_file, example

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_keras_style_workflow(tmp_path):
    ks = example("keras_style")
    r = ks.main(
        ["--epochs", "3", "--patience", "1", "--train-size", "800", "--no-progress", "--out", str(tmp_path)]
    )
    h = r["history"]
    assert r["data"] == "MNIST subset" and r["summary_total_params"] == 197_210
    assert list(h) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert 1 <= r["epochs_run"] <= 3 and len(h["val_loss"]) == r["epochs_run"]
    best = int(np.argmin(h["val_loss"]))
    assert r["best_epoch"] == best + 1  # EarlyStopping's best is the lowest val_loss
    assert r["checkpoint_matches"] is True  # restored weights == the checkpoint of the best epoch
    counts = np.array(r["confusion"])
    assert counts.shape == (10, 10) and counts.sum() == 1000
    assert np.trace(counts) / 1000 == r["test_accuracy"]
    assert r["test_accuracy"] > 0.6  # 640 training images, a few epochs: far above chance (0.1)
    rows = list(csv.reader((tmp_path / "keras_style_log.csv").open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [float(row[4]) for row in rows[1:]] == h["val_loss"]
    assert_file(tmp_path / "keras_style_best.npz")
    assert_file(tmp_path / "keras_style_history.png", needs_mpl=True)
    assert_file(tmp_path / "keras_style_confusion.png", needs_mpl=True)


def test_confusion_matrix_counts():
    ks = example("keras_style")
    counts = ks.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED_DATA / "fashion-mnist").is_dir(), reason=f"no Fashion-MNIST files in {SHARED_DATA}"
)
def test_keras_style_on_fashion_mnist(tmp_path):
    r = example("keras_style").main(
        [
            "--fashion",
            "--data-root",
            str(SHARED_DATA),
            "--epochs",
            "1",
            "--train-size",
            "3000",
            "--no-progress",
            "--out",
            str(tmp_path),
        ]
    )
    assert r["data"] == "Fashion-MNIST" and r["epochs_run"] == 1
    assert np.array(r["confusion"]).sum() == 10000
    assert r["test_accuracy"] > 0.5
