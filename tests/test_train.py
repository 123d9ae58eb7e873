"""tinygrad_kr.train: fit / evaluate / History / kfold.

Learning on separable toy sets, epoch values against independent recomputations (lr=0 makes the
train loss equal evaluate()), validation that leaves parameters, BatchNorm statistics, the RNG
and module modes alone and builds no graph, progress output with and without tqdm, plots, the
accuracy rules, kfold partitions and the errors.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import tinygrad_kr as tg
from nn import functional as F
from nn import optim
from tinygrad_kr.data import DataLoader, TensorDataset
from tinygrad_kr.datasets import spiral, xor
from tinygrad_kr.train import History, evaluate, fit, kfold

# ---- helpers ----------------------------------------------------------------------------------


def _blobs(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs (std 0.6) around centers >= 6 apart: linearly separable in practice."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    y = np.repeat(np.arange(3, dtype=np.int64), n_per_class)
    X = (centers[y] + 0.6 * rng.standard_normal((3 * n_per_class, 2))).astype(np.float32)
    return X, y


def _loader(X, y, batch_size, shuffle=False, seed=None):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, seed=seed)


def _bn_dropout_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


def _state(model) -> dict:
    return {k: v.copy() for k, v in model.state_dict().items()}


def _train(model, loader, epochs, lr=0.05, opt=optim.SGD, **kwargs) -> History:
    """fit with cross-entropy, a fresh `opt(lr=lr)` and no progress output."""
    return fit(
        model,
        nn.CrossEntropyLoss(),
        opt(model.parameters(), lr=lr),
        loader,
        epochs=epochs,
        progress=False,
        **kwargs,
    )


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _modes(model) -> list[bool]:
    return [m.training for m in model.modules()]


def _np_cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample softmax cross-entropy in float64: (N, C), (N,) -> (N,)."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]


# ---- learning ---------------------------------------------------------------------------------


def test_fit_separates_blobs_with_a_linear_model():
    tg.manual_seed(0)
    X, y = _blobs(40, seed=0)
    Xv, yv = _blobs(20, seed=1)
    model = nn.Linear(2, 3)
    h = _train(model, _loader(X, y, 16, shuffle=True, seed=0), 8, val_loader=_loader(Xv, yv, 32))
    assert h.history["accuracy"][-1] == 1.0
    assert h.history["val_accuracy"][-1] == 1.0
    assert h.history["loss"][-1] < h.history["loss"][0] / 5
    assert evaluate(model, nn.CrossEntropyLoss(), _loader(Xv, yv, 7))["accuracy"] == 1.0


def test_fit_learns_the_spiral():
    tg.manual_seed(0)
    X, y = spiral(seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))
    h = _train(model, _loader(X, y, 30, shuffle=True, seed=0), 60, opt=optim.Adam)
    # A linear model stays near 1/3 to 1/2 on the spiral; the MLP separates the arms.
    assert evaluate(model, nn.CrossEntropyLoss(), _loader(X, y, 300))["accuracy"] >= 0.97
    assert h.history["loss"][-1] < 0.15


def test_fit_learns_xor_with_one_logit():
    tg.manual_seed(0)
    X, y = xor()  # y: (4, 1) float32
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    h = fit(
        model,
        nn.BCEWithLogitsLoss(),
        optim.Adam(model.parameters(), lr=0.1),
        [(tg.Tensor(X), tg.Tensor(y))],
        epochs=100,
        progress=False,
    )
    assert h.history["accuracy"][-1] == 1.0
    logits = model(tg.Tensor(X)).data
    np.testing.assert_array_equal(logits[:, 0] > 0, y[:, 0] > 0.5)


# ---- History bookkeeping ----------------------------------------------------------------------


def test_history_has_one_value_per_epoch_and_val_keys_only_with_a_val_loader():
    tg.manual_seed(1)
    X, y = _blobs(10, seed=2)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.01)
    h = fit(model, nn.CrossEntropyLoss(), opt, _loader(X, y, 8), epochs=3, progress=False)
    assert isinstance(h, History) and h.epochs == 3
    assert list(h.history) == ["loss", "accuracy"]
    assert all(len(v) == 3 for v in h.history.values())
    h = fit(model, nn.CrossEntropyLoss(), opt, _loader(X, y, 8), 4, _loader(X, y, 8), progress=False)
    assert list(h.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert h.epochs == 4 and all(len(v) == 4 for v in h.history.values())
    assert all(isinstance(v, float) for vs in h.history.values() for v in vs)
    h = fit(model, nn.CrossEntropyLoss(), opt, _loader(X, y, 8), epochs=2, metrics=(), progress=False)
    assert list(h.history) == ["loss"] and h.epochs == 2
    h = fit(model, nn.CrossEntropyLoss(), opt, _loader(X, y, 8), epochs=0, progress=False)
    assert h.epochs == 0 and h.history == {}
    assert "epochs=0" in repr(h)


def test_epoch_loss_with_lr_zero_equals_evaluate_and_a_numpy_recomputation():
    tg.manual_seed(2)
    X, y = _blobs(4, seed=3)  # 12 samples
    X, y = X[:10], y[:10]  # batches of 3, 3, 3, 1: the short batch must weigh 1/10, not 1/4
    model = nn.Linear(2, 3)
    h = _train(model, _loader(X, y, 3), 2, lr=0.0)
    ev = evaluate(model, nn.CrossEntropyLoss(), _loader(X, y, 3))
    assert h.history["loss"] == [ev["loss"], ev["loss"]]  # exact: the same float32 batch losses
    assert h.history["accuracy"] == [ev["accuracy"], ev["accuracy"]]

    logits = X.astype(np.float64) @ model.weight.data.T.astype(np.float64) + model.bias.data
    per_sample = _np_cross_entropy(logits, y)
    np.testing.assert_allclose(ev["loss"], per_sample.mean(), rtol=1e-6)
    assert ev["accuracy"] == np.count_nonzero(logits.argmax(axis=1) == y) / 10
    # The unweighted mean of the four batch means is measurably different.
    batch_means = [per_sample[i : i + 3].mean() for i in range(0, 10, 3)]
    assert abs(np.mean(batch_means) - per_sample.mean()) > 1e-3


def test_epoch_train_values_are_measured_before_each_step():
    # One full batch per epoch: epoch e reports the loss of the parameters after e - 1 steps.
    tg.manual_seed(3)
    X, y = _blobs(5, seed=4)
    model = nn.Linear(2, 3)
    before = evaluate(model, F.cross_entropy, [(tg.Tensor(X), tg.Tensor(y))])
    h = fit(
        model,
        F.cross_entropy,
        optim.SGD(model.parameters(), lr=0.1),
        [(tg.Tensor(X), tg.Tensor(y))],
        epochs=2,
        val_loader=[(tg.Tensor(X), tg.Tensor(y))],
        progress=False,
    )
    assert h.history["loss"][0] == before["loss"]
    assert h.history["val_loss"][0] == h.history["loss"][1]  # val after step 1 == train before step 2
    assert h.history["val_loss"][0] < before["loss"]


# ---- validation: no graph, no side effects, modes ------------------------------------------------


def test_validation_runs_in_eval_mode_without_a_graph():
    tg.manual_seed(4)
    X, y = _blobs(12, seed=5)  # 36 samples
    model = _bn_dropout_mlp()
    seen = []

    def hook(module, inputs, out):
        seen.append((tuple(_modes(module)), tg.is_grad_enabled(), out.grad_fn is None))

    model.register_forward_hook(hook)
    _train(model, _loader(X, y, 9), 2, val_loader=_loader(X, y, 18))
    n_modules = len(list(model.modules()))
    train = ((True,) * n_modules, True, False)
    val = ((False,) * n_modules, False, True)
    assert seen == ([train] * 4 + [val] * 2) * 2


def test_validation_changes_no_parameter_statistic_or_random_draw():
    X, y = _blobs(12, seed=6)
    runs = []
    for val_loader in (None, _loader(X, y, 12)):
        tg.manual_seed(5)
        model = _bn_dropout_mlp()
        h = _train(model, _loader(X, y, 9, shuffle=True, seed=0), 3, 0.01, optim.Adam, val_loader=val_loader)
        runs.append((h, _state(model), tg.get_generator().random()))
    (h0, s0, r0), (h1, s1, r1) = runs
    # Dropout masks in epochs 2 and 3 would differ if validation drew random numbers, and the
    # running statistics would differ if it updated BatchNorm.
    _assert_same_state(s0, s1)
    assert h0.history["loss"] == h1.history["loss"]
    assert r0 == r1
    assert s0["1.num_batches_tracked"] == 3 * 4


def test_evaluate_changes_nothing_and_restores_each_modules_mode():
    tg.manual_seed(6)
    X, y = _blobs(10, seed=7)
    model = _bn_dropout_mlp()
    _train(model, _loader(X, y, 10), 1)
    model.zero_grad()
    model.train()
    model[3].eval()  # a mixed state must come back exactly, not as model.train(True)
    modes = _modes(model)
    state = _state(model)
    a = evaluate(model, nn.CrossEntropyLoss(), _loader(X, y, 7))
    b = evaluate(model, nn.CrossEntropyLoss(), _loader(X, y, 7))
    assert a == b  # dropout off, running statistics used and left alone
    _assert_same_state(state, _state(model))
    assert _modes(model) == modes
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    evaluate(model, nn.CrossEntropyLoss(), _loader(X, y, 7))
    assert not any(_modes(model))


def test_fit_trains_in_train_mode_and_restores_the_previous_modes():
    tg.manual_seed(7)
    X, y = _blobs(10, seed=8)
    model = _bn_dropout_mlp()
    model.eval()
    during = []
    model.register_forward_hook(lambda m, i, o: during.append(m.training) if tg.is_grad_enabled() else None)
    _train(model, _loader(X, y, 10), 2)
    assert during == [True] * 6
    assert not any(_modes(model))


# ---- non-finite losses ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_raises_naming_epoch_and_batch(bad):
    tg.manual_seed(8)
    X, y = _blobs(8, seed=9)  # 24 samples, batches of 6: 4 per epoch
    model = _bn_dropout_mlp()
    model.eval()
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        loss = F.cross_entropy(out, target)
        return loss * bad if len(calls) == 7 else loss  # epoch 2, batch 3

    with pytest.raises(FloatingPointError, match=r"epoch 2/3, batch 3/4"):
        fit(
            model, loss_fn, optim.SGD(model.parameters(), lr=0.05), _loader(X, y, 6), epochs=3, progress=False
        )
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert not any(_modes(model))


# ---- progress output ---------------------------------------------------------------------------


def _small_fit(**kwargs) -> History:
    tg.manual_seed(9)
    X, y = _blobs(6, seed=10)
    model = nn.Linear(2, 3)
    return fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), _loader(X, y, 5), **kwargs
    )


def test_progress_false_prints_nothing(capsys):
    _small_fit(epochs=2, val_loader=_loader(*_blobs(2, seed=0), 3), progress=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_without_tqdm_prints_one_line_per_epoch(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `from tqdm import tqdm` raises ImportError
    h = _small_fit(epochs=3, val_loader=_loader(*_blobs(2, seed=0), 3))
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    for e, line in enumerate(lines):
        assert line.startswith(f"Epoch {e + 1}/3")
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert f" {key}: {h.history[key][e]:.4f}" in line


def test_progress_with_tqdm_shows_loss_and_accuracy(capsys):
    pytest.importorskip("tqdm")
    h = _small_fit(epochs=2)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
    assert f"loss={h.history['loss'][-1]:.4f}" in err
    assert f"accuracy={h.history['accuracy'][-1]:.4f}" in err
    assert "4/4" in err  # 18 samples in batches of 5


# ---- plots -------------------------------------------------------------------------------------


def _history() -> History:
    h = History()
    for e in range(4):
        h._append(
            {
                "loss": 1.0 / (e + 1),
                "accuracy": 0.5 + 0.1 * e,
                "val_loss": 1.2 / (e + 1),
                "val_accuracy": 0.45 + 0.1 * e,
            }
        )
    return h


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-"), ("svg", b"<?xml")])
def test_plot_writes_the_format_of_the_extension(tmp_path, ext, magic):
    matplotlib = pytest.importorskip("matplotlib")
    backend = matplotlib.get_backend()
    path = tmp_path / f"curves.{ext}"
    assert _history().plot(path) == path
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 1000
    if ext == "svg":
        assert b"<svg" in data
    assert matplotlib.get_backend() == backend  # the user's pyplot backend is left alone


def test_plot_from_fit_has_a_subplot_per_quantity(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    h = _small_fit(epochs=2, metrics=(), progress=False)
    one = h.plot(str(tmp_path / "loss.png"))
    two = _history().plot(str(tmp_path / "both.png"))
    w1, w2 = Image.open(one).size[0], Image.open(two).size[0]
    assert w2 == 2 * w1  # loss only vs loss + accuracy side by side


def test_plot_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"\.jpg"):
        _history().plot(tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="empty"):
        History().plot(tmp_path / "x.png")
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad_kr\[plot\]"'):
        _history().plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---- accuracy rules and metrics ------------------------------------------------------------------


def _fixed(outputs, targets, batch_size=4):
    """A loader of (outputs, targets) and the identity "model" (a plain function, not a Module)."""
    outputs, targets = np.asarray(outputs), np.asarray(targets)
    batches = [
        (tg.Tensor(outputs[i : i + batch_size]), tg.Tensor(targets[i : i + batch_size]))
        for i in range(0, len(outputs), batch_size)
    ]
    return (lambda x: x), batches


def test_multiclass_accuracy_is_exact_for_index_one_hot_and_ignored_targets():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((23, 5)).astype(np.float32)
    y = rng.integers(0, 5, 23)
    expected = np.count_nonzero(logits.argmax(axis=1) == y) / 23
    model, batches = _fixed(logits, y)
    assert evaluate(model, F.cross_entropy, batches)["accuracy"] == expected
    one_hot = np.eye(5, dtype=np.float32)[y]
    model, batches = _fixed(logits, one_hot)
    assert evaluate(model, F.cross_entropy, batches)["accuracy"] == expected
    y_ignored = y.copy()
    y_ignored[::3] = -100  # nn.CrossEntropyLoss's ignore_index: not counted
    kept = y_ignored >= 0
    model, batches = _fixed(logits, y_ignored)
    got = evaluate(model, nn.CrossEntropyLoss(), batches)["accuracy"]
    assert got == np.count_nonzero((logits.argmax(axis=1) == y)[kept]) / np.count_nonzero(kept)


def test_single_score_accuracy_reads_logits_or_probabilities_by_the_loss():
    scores = np.array([0.2, 0.9, 0.6, 0.4, 0.1, 0.7], dtype=np.float32)  # valid probabilities
    y = np.array([0, 1, 0, 0, 0, 1], dtype=np.float32)
    as_logits = np.mean((scores > 0) == (y > 0.5))  # 2 / 6
    as_probs = np.mean((scores > 0.5) == (y > 0.5))  # 5 / 6
    assert as_logits != as_probs
    for out, t in ((scores[:, None], y[:, None]), (scores, y), (scores[:, None], y)):
        model, batches = _fixed(out, t.reshape(out.shape))
        assert evaluate(model, nn.BCEWithLogitsLoss(), batches)["accuracy"] == as_logits
        assert evaluate(model, F.binary_cross_entropy_with_logits, batches)["accuracy"] == as_logits
        assert evaluate(model, nn.BCELoss(), batches)["accuracy"] == as_probs
        assert evaluate(model, F.binary_cross_entropy, batches)["accuracy"] == as_probs
        assert evaluate(model, nn.MSELoss(), batches)["accuracy"] == as_probs


def test_callable_metrics_are_weighted_by_batch_size():
    rng = np.random.default_rng(1)
    out = rng.standard_normal((10, 1)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)

    def mae(o, t):
        return np.abs(o - t).mean()

    model, batches = _fixed(out, y, batch_size=4)  # 4, 4, 2
    r = evaluate(model, nn.MSELoss(), batches, metrics=[mae])
    assert list(r) == ["loss", "mae"]
    np.testing.assert_allclose(r["mae"], np.abs(out - y).mean(), rtol=1e-6)
    np.testing.assert_allclose(r["loss"], ((out.astype(np.float64) - y) ** 2).mean(), rtol=1e-6)


def test_metric_name_errors():
    model, batches = _fixed(np.zeros((4, 3), np.float32), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"unknown metric 'acc'.*known metrics: 'accuracy'"):
        evaluate(model, F.cross_entropy, batches, metrics=("acc",))
    with pytest.raises(ValueError, match="unknown metric 'top5'"):
        fit(model, F.cross_entropy, None, batches, metrics=["accuracy", "top5"], progress=False)

    def loss(o, t):
        return 0.0

    with pytest.raises(ValueError, match="reserved or repeated"):
        evaluate(model, F.cross_entropy, batches, metrics=[loss])
    with pytest.raises(ValueError, match="reserved or repeated"):
        evaluate(model, F.cross_entropy, batches, metrics=["accuracy", "accuracy"])
    assert list(evaluate(model, F.cross_entropy, batches, metrics="accuracy")) == ["loss", "accuracy"]
    assert list(evaluate(model, F.cross_entropy, batches, metrics=None)) == ["loss"]


def test_accuracy_shape_errors_name_the_shapes():
    model, batches = _fixed(np.zeros((4, 3), np.float32), np.zeros((4, 2), np.int64))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\)"):
        evaluate(model, lambda o, t: o.sum() * 0, batches)
    model, batches = _fixed(np.zeros((4, 1), np.float32), np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"single-score outputs \(4, 1\)"):
        evaluate(model, lambda o, t: o.sum() * 0, batches)


# ---- argument errors -----------------------------------------------------------------------------


def test_bad_batches_losses_loaders_and_epochs():
    X, y = _blobs(2, seed=0)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pair, got a 3-tuple"):
        fit(model, F.cross_entropy, opt, [(tg.Tensor(X), tg.Tensor(y), tg.Tensor(y))], progress=False)
    with pytest.raises(ValueError, match=r"pair, got Tensor"):
        evaluate(model, F.cross_entropy, [tg.Tensor(X)])
    with pytest.raises(ValueError, match=r"one-element Tensor.*shape \(6,\)"):
        fit(model, nn.CrossEntropyLoss(reduction="none"), opt, _loader(X, y, 6), progress=False)
    with pytest.raises(ValueError, match="train_loader yielded no batches in epoch 1"):
        fit(model, F.cross_entropy, opt, [], progress=False)
    with pytest.raises(ValueError, match="val_loader yielded no batches"):
        fit(model, F.cross_entropy, opt, _loader(X, y, 6), val_loader=[], progress=False)
    with pytest.raises(ValueError, match="loader yielded no batches"):
        evaluate(model, F.cross_entropy, [])
    for epochs in (-1, 1.5, True):
        with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
            fit(model, F.cross_entropy, opt, _loader(X, y, 6), epochs=epochs, progress=False)


# ---- kfold ---------------------------------------------------------------------------------------


@given(st.integers(2, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(2, n))), st.integers(0, 3))
def test_kfold_partitions_every_sample_into_one_validation_fold(nk, seed):
    n, k = nk
    folds = list(kfold(n, k, seed=seed))
    assert len(folds) == k
    vals = [v for _, v in folds]
    np.testing.assert_array_equal(np.sort(np.concatenate(vals)), np.arange(n))
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    for train, val in folds:
        assert train.dtype == np.int64 and val.dtype == np.int64
        assert len(np.intersect1d(train, val)) == 0
        np.testing.assert_array_equal(np.union1d(train, val), np.arange(n))
        assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = list(kfold(n, k, seed=seed))
    for (t0, v0), (t1, v1) in zip(folds, again):
        np.testing.assert_array_equal(t0, t1)
        np.testing.assert_array_equal(v0, v1)


def test_kfold_shuffles_with_the_project_generator_or_the_seed():
    tg.manual_seed(11)
    a = [v for _, v in kfold(100, 4)]
    tg.manual_seed(11)
    b = [v for _, v in kfold(100, 4)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = [v for _, v in kfold(100, 4)]  # the generator moved on
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))
    # A seeded split does not touch the project generator and is not contiguous.
    tg.manual_seed(11)
    seeded = [v for _, v in kfold(100, 4, seed=0)]
    assert tg.get_generator().random() == np.random.default_rng(11).random()
    assert any(np.any(np.diff(v) > 1) for v in seeded)


def test_kfold_without_shuffle_gives_contiguous_folds_like_sklearn():
    folds = list(kfold(10, 3, shuffle=False))
    expected = [np.arange(0, 4), np.arange(4, 7), np.arange(7, 10)]  # first n % k folds bigger
    for (train, val), e in zip(folds, expected):
        np.testing.assert_array_equal(val, e)
        np.testing.assert_array_equal(train, np.setdiff1d(np.arange(10), e))
    sklearn = pytest.importorskip("sklearn.model_selection")
    for (train, val), (st_train, st_val) in zip(
        kfold(17, 5, shuffle=False), sklearn.KFold(5).split(np.zeros(17))
    ):
        np.testing.assert_array_equal(val, st_val)
        np.testing.assert_array_equal(train, st_train)


def test_kfold_errors():
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        kfold(10, 1)
    with pytest.raises(ValueError, match=r"k=11 folds need at least k samples, got n_samples=10"):
        kfold(10, 11)
    with pytest.raises(ValueError, match="n_samples must be an integer"):
        kfold(10.0, 2)
    with pytest.raises(ValueError, match="no effect with shuffle=False"):
        kfold(10, 2, seed=0, shuffle=False)
