"""Smoke tests of the basic examples (examples/*.py): each `main([...])` runs in-process with tiny
settings and its returned results are checked (`--help` of every script: test_examples_help.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from .examples_support import assert_file, example

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_computational_graph(tmp_path):
    r = example("computational_graph").main(["--out", str(tmp_path)])
    assert r["price"] == pytest.approx(715.0, rel=1e-12)
    expected = {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0, "tax": 650.0}
    assert r["grads"] == pytest.approx(expected, rel=1e-12)
    graph = Path(r["graph"])
    assert graph.parent == tmp_path and graph.suffix in (".svg", ".dot")
    text = graph.read_text(encoding="utf-8")
    for label in ("apple_num", "orange_num", "tax", "price", "MulLayer", "AddLayer"):
        assert label in text
    # the book's figure and the step-through page: the engine's four steps, the book's numbers
    assert [s.op for s in r["steps"]] == ["Mul", "Add", "Mul", "Mul"]
    book = Path(r["book"]).read_text(encoding="utf-8")
    for number in ("715", "650", "450", "200", "2.2", "110", "3.3", "165"):
        assert f">{number}<" in book or f"<td>{number}</td>" in book  # SVG text, or the .dot source
    if r["page"] is not None:
        assert "steps-data" in Path(r["page"]).read_text(encoding="utf-8")


@pytest.mark.slow
def test_perceptron_gates(tmp_path):
    r = example("perceptron_gates").main(["--epochs", "600", "--out", str(tmp_path)])
    acc = r["accuracy"]
    assert acc["delta rule: AND"] == 1.0
    assert acc["delta rule: XOR"] <= 0.75  # no line separates XOR
    assert acc["2-layer, MSE: XOR"] == 1.0
    assert acc["2-layer, cross-entropy: XOR"] == 1.0
    assert r["final_mse"]["ce"] < r["final_mse"]["mse"]  # cross-entropy learns faster
    assert_file(tmp_path / "perceptron_regions.png", needs_mpl=True)
    assert_file(tmp_path / "perceptron_xor_loss.png", needs_mpl=True)


def test_digits5x5(tmp_path):
    r = example("digits5x5").main(["--epochs", "150", "--out", str(tmp_path)])
    for net in ("DeepReLU", "DeepDropout"):
        assert r[net]["clean_pred"] == [1, 2, 3, 4, 5]
        assert r[net]["clean_accuracy"] == 1.0
        assert r[net]["loss_history"][-1] < r[net]["loss_history"][0]
        assert len(r[net]["noisy_pred"]) == 5
    assert r["nearest_clean"] == [4, 2, 3, 3, 3]  # Hamming-nearest clean digit of each noisy one
    assert_file(tmp_path / "digits5x5.png", needs_mpl=True)


@pytest.mark.slow
def test_mnist_mlp_two_layer_net(tmp_path):
    r = example("mnist_mlp").main(["--iters", "200", "--out", str(tmp_path)])
    assert r["lr"] == 0.1 and r["optimizer"] == "sgd"
    assert r["test_accuracy"] >= 0.8
    assert r["history"]["loss"][-1] < r["history"]["loss"][0]
    assert_file(tmp_path / "mnist_mlp_sgd.png", needs_mpl=True)


def test_mnist_mlp_compare_optimizers(tmp_path):
    r = example("mnist_mlp").main(["--compare", "optimizers", "--iters", "40", "--out", str(tmp_path)])
    res = r["results"]
    assert list(res) == ["sgd", "momentum", "adagrad", "rmsprop", "adam"]
    for name in ("momentum", "adagrad", "rmsprop", "adam"):
        assert res[name]["final_loss"] < res["sgd"]["final_loss"], name  # plain SGD is the slowest
    assert_file(tmp_path / "mnist_mlp_optimizers.png", needs_mpl=True)


def test_mnist_mlp_compare_init(tmp_path):
    r = example("mnist_mlp").main(["--compare", "init", "--iters", "40", "--out", str(tmp_path)])
    res = r["results"]
    # zero weights: every hidden unit outputs 0, only the last bias learns; the loss stays at log(10)
    assert res["zero"]["final_loss"] == pytest.approx(math.log(10), abs=2e-3)
    assert res["he"]["final_loss"] < res["xavier"]["final_loss"] < res["std=0.01"]["final_loss"]
    assert_file(tmp_path / "mnist_mlp_init.png", needs_mpl=True)


def test_mnist_mlp_compare_batchnorm(tmp_path):
    r = example("mnist_mlp").main(
        ["--compare", "batchnorm", "--epochs", "6", "--stds", "0.01", "--out", str(tmp_path)]
    )
    res = r["results"]
    assert res["std=0.01, BatchNorm"] >= 0.8
    assert res["std=0.01, no BatchNorm"] <= 0.2  # the signal vanishes through 5 layers
    assert_file(tmp_path / "mnist_mlp_batchnorm.png", needs_mpl=True)


@pytest.mark.slow
def test_mnist_cnn_checkpoint_round_trip(tmp_path):
    cnn = example("mnist_cnn")
    steps = ["--steps", "3", "--batch-size", "50"]
    r = cnn.main(["--epochs", "1", *steps, "--out", str(tmp_path / "a")])
    assert r["identical_predictions"] is True
    assert r["resume_max_param_diff"] == 0.0  # the optimizer state came back with the weights
    assert r["fresh_optimizer_max_param_diff"] > 0.0
    ckpt = Path(r["checkpoint"])
    assert ckpt.is_file()

    # resuming the 1-epoch checkpoint for a second epoch equals an uninterrupted 2-epoch run
    resumed = cnn.main(["--resume", str(ckpt), "--epochs", "2", *steps, "--out", str(tmp_path / "b")])
    straight = cnn.main(["--epochs", "2", *steps, "--out", str(tmp_path / "c")])
    assert resumed["epochs"] == straight["epochs"] == 2
    assert resumed["history"]["loss"] == [straight["history"]["loss"][1]]
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    a = cnn.load_checkpoint(resumed["checkpoint"], 0.001)[0].state_dict()
    b = cnn.load_checkpoint(straight["checkpoint"], 0.001)[0].state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert_file(tmp_path / "c" / "mnist_cnn.png", needs_mpl=True)


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED_DATA / "fashion-mnist").is_dir(), reason=f"no Fashion-MNIST files in {SHARED_DATA}"
)
def test_fashion_mnist_cnn(tmp_path):
    r = example("fashion_mnist_cnn").main(
        [
            "--data-root",
            str(SHARED_DATA),
            "--epochs",
            "2",
            "--steps",
            "30",
            "--val-limit",
            "1000",
            "--out",
            str(tmp_path),
        ]
    )
    h = r["history"]
    assert r["optimizer"] == "sgd" and r["lr"] == 0.01 and r["batch_size"] == 128
    assert len(h["val_accuracy"]) == 2
    assert h["loss"][1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.5  # 60 steps of SGD: far above chance (0.1)
    assert 0.5 < r["test_accuracy"] <= 1.0
    assert (tmp_path / "fashion_mnist_sgd.json").is_file()
    assert_file(tmp_path / "fashion_mnist_sgd.png", needs_mpl=True)


def test_fashion_mnist_cnn_recipe():
    """The course's network and initialization: shapes, Glorot-uniform bounds, zero biases."""
    fm = example("fashion_mnist_cnn")
    model = fm.build_model()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert list(shapes.values()) == [(10, 1, 3, 3), (10,), (100, 1960), (100,), (10, 100), (10,)]
    for w, fan_in, fan_out in (
        (model[0].weight, 9, 90),
        (model[4].weight, 1960, 100),
        (model[6].weight, 100, 10),
    ):
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w.data).max() <= bound
        assert np.abs(w.data).max() > 0.9 * bound
    for b in (model[0].bias, model[4].bias, model[6].bias):
        assert not b.data.any()
