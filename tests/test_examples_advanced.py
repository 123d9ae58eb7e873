"""Smoke tests of the advanced examples (deep_neural_net, regression, rnn_sequence, higher_order,
quickstart): each `main([...])` runs in-process with small settings into tmp_path and its returned
results are checked against what the example claims (`--help`: test_examples_help.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .examples_support import assert_file, example

# ---- 7. DeepNeuralNet ------------------------------------------------------------------------------


def test_deep_neural_net_class_solves_xor():
    D = example("deep_neural_net")
    X, y = D.datasets.xor()
    for arch in ([2, 4, 1], [2, 4, 2, 1]):
        net = D.DeepNeuralNet(arch, activate="tanh", eta=1.0, epochs=200, random_seed=2).fit(X, y)
        assert len(net.cost_) == 200
        assert net.cost_[-1] < net.cost_[0] / 20
        assert net.evaluate(X, y) == 1.0
        out = net.predict(X)
        assert out.shape == (4, 1) and out.dtype == np.float32
        assert np.all(np.abs(out - y) < 0.4)
    # The same random_seed gives the same initial weights (and so the same run).
    a = D.DeepNeuralNet([2, 4, 1], epochs=3, random_seed=7).fit(X, y)
    b = D.DeepNeuralNet([2, 4, 1], epochs=3, random_seed=7).fit(X, y)
    assert a.cost_ == b.cost_


def test_deep_neural_net_options():
    D = example("deep_neural_net")
    # Integer labels become one-hot rows for a 2-unit output; evaluate takes the argmax.
    X, y = D.datasets.and_gate()
    labels = y.ravel().astype(np.int64)
    net = D.DeepNeuralNet([2, 3, 2], activate=["relu", "sigmoid"], epochs=300, random_seed=0).fit(X, labels)
    assert net.predict(X).shape == (4, 2)
    assert net.evaluate(X, labels) == 1.0
    with pytest.raises(ValueError, match="activate lists 1 functions for 2 weight layers"):
        D.DeepNeuralNet([2, 3, 1], activate=["tanh"])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        D.DeepNeuralNet([2, 3, 1], activate="swish")


def test_deep_neural_net_main(tmp_path):
    r = example("deep_neural_net").main(["--out", str(tmp_path), "--epochs", "150"])
    for key in ("[2, 4, 1] sigmoid", "[2, 4, 1] tanh", "[2, 4, 2, 1] tanh"):
        assert r["accuracy"][key] == 1.0, key
    # tanh hidden units bring the cost down faster than sigmoid ones from the same weights.
    for arch in ("[2, 4, 1]", "[2, 4, 2, 1]"):
        assert r["final_cost"][f"{arch} tanh"] < r["final_cost"][f"{arch} sigmoid"]
    assert_file(r["plot"], needs_mpl=True)


# ---- 8. regression -------------------------------------------------------------------------------


def test_regression(tmp_path):
    R = example("regression")
    r = R.main(["--out", str(tmp_path)])
    lin = r["linear"]
    # Gradient descent lands on the closed-form least-squares solution (float32 precision) ...
    assert np.allclose(lin["w"], lin["w_lstsq"], atol=1e-4) and abs(lin["b"] - lin["b_lstsq"]) < 1e-4
    # ... which recovers the true coefficients within the stated tolerance.
    assert np.all(np.abs(np.array(lin["w"]) - R.W_TRUE) < R.TOLERANCE)
    assert abs(lin["b"] - R.B_TRUE) < R.TOLERANCE
    log = r["logistic"]
    acc = log["accuracy"]
    assert acc["standardised, no penalty"] > acc["raw features"] + 0.02
    assert acc["standardised, no penalty"] > 0.85
    # L1 zeroes the 7 irrelevant coefficients and keeps the 3 that matter; L2 only shrinks them.
    assert log["max_abs_irrelevant"]["L1 0.02"] < 1e-3
    assert log["min_abs_relevant"]["L1 0.02"] > 0.5
    assert log["max_abs_irrelevant"]["L2 0.01"] > 20 * log["max_abs_irrelevant"]["L1 0.02"]
    w_none, w_l2 = np.array(log["coef"]["no penalty"]), np.array(log["coef"]["L2 0.01"])
    assert np.all(np.abs(w_l2[: R.N_RELEVANT]) < np.abs(w_none[: R.N_RELEVANT]))
    assert_file(r["plot"], needs_mpl=True)


def test_lstsq_reference_matches_normal_equations():
    R = example("regression")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 1))
    w, b = R.lstsq(X, y)
    A = np.hstack([X, np.ones((50, 1))])
    coef = np.linalg.solve(A.T @ A, A.T @ y.ravel())
    assert np.allclose(np.append(w, b), coef, atol=1e-10)


# ---- 9. RNN / LSTM with truncated BPTT ----------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_rnn_beats_naive_forecast(tmp_path, cell):
    args = [
        "--out",
        str(tmp_path),
        "--task",
        "sine",
        "--cell",
        cell,
        "--epochs",
        "12",
        "--length",
        "1600",
        "--streams",
        "8",
    ]
    r = example("rnn_sequence").main(args)["sine"]
    assert r["test_mse"] < 0.5 * r["naive_mse"]
    assert r["test_mse"] > 0.5 * r["noise_floor"]  # no forecast beats the observation noise
    assert r["train_loss"][-1] < r["train_loss"][0]
    assert_file(r.get("plot"), needs_mpl=True)


def test_rnn_char_model_beats_unigram(tmp_path):
    r = example("rnn_sequence").main(["--out", str(tmp_path), "--task", "char", "--char-epochs", "5"])["char"]
    assert r["test_bits_per_char"] < r["unigram_bits_per_char"] - 0.3
    assert r["sample"].startswith("the ") and len(r["sample"]) == 4 + 120


def test_tbptt_state_is_cut_between_chunks():
    S = example("rnn_sequence")
    import tinygrad_kr as tg

    tg.manual_seed(0)
    model = S.SequenceModel("lstm", 4)
    x = tg.Tensor(np.ones((2, 3, 1), dtype=np.float32))
    _, state = model(x)
    cut = S.detach_state(state)
    assert all(s.grad_fn is None and not s.requires_grad for s in cut)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(cut, state))
    assert S.streams(np.arange(10), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


# ---- 10. higher-order derivatives ----------------------------------------------------------------


def test_higher_order(tmp_path):
    H = example("higher_order")
    r = H.main(["--out", str(tmp_path)])
    newton = r["newton"]
    assert newton["at_minimum"] and abs(newton["x"][-1] - 1.0) < 1e-6
    assert newton["iterations"] <= 7
    assert r["gd"]["iterations"] > 10 * newton["iterations"]
    assert abs(r["gd"]["x_final"] - 1.0) < 1e-6
    assert newton["f2_max_rel_err"] <= 4 * np.finfo(np.float64).eps
    assert r["hvp"]["vs_finite_difference"] < 1e-7
    assert r["hvp"]["vs_closed_form"] < 1e-13
    assert r["newton_2d"]["iterations"] < 20 and np.allclose(r["newton_2d"]["x_final"], 1.0, atol=1e-10)
    graph = Path(r["graph"])
    assert graph.suffix in (".svg", ".dot") and graph.is_file()
    text = graph.read_text()
    assert "Pow" in text and "Mul" in text and "gx" in text
    assert_file(r["plot"], needs_mpl=True)


@pytest.mark.parametrize("x", [-2.5, -1.0, -0.3, 0.0, 0.7, 1.3, 3.0])
def test_second_derivative_is_12x2_minus_4(x):
    H = example("higher_order")
    g, g2 = H.derivatives(H.f1, x)
    assert g == pytest.approx(4 * x**3 - 4 * x, rel=1e-15, abs=1e-15)
    assert g2 == pytest.approx(12 * x**2 - 4, rel=1e-15, abs=1e-15)


# ---- 11. quickstart ------------------------------------------------------------------------------


def test_quickstart(tmp_path):
    r = example("quickstart").main(
        ["--out", str(tmp_path), "--epochs", "1", "--train-size", "1000", "--no-progress"]
    )
    assert r["test_accuracy"] > 0.5  # chance is 0.1
    assert len(r["history"]["val_accuracy"]) == 1
    graph = Path(r["graph"])
    assert graph.name in ("graph.svg", "graph.dot") and graph.parent == tmp_path
    text = graph.read_text()
    assert "Conv2d" in text and "MaxPool2d" in text and "SoftmaxCrossEntropy" in text
    assert_file(r["plot"], needs_mpl=True)
