"""The Keras course's workflow, line by line, with tinygrad_kr: build, summary, fit with
validation_split and callbacks, evaluate, predict, a confusion matrix and the history plot.

    Keras                                           tinygrad_kr
    model.summary()                                 print(model.summary((64, 1, 28, 28)))
    model.compile(optimizer="adam",                 loss_fn = nn.CrossEntropyLoss()
        loss="sparse_categorical_crossentropy")     opt = nn.optim.Adam(model.parameters(), 1e-3)
    model.fit(x, y, epochs=20, batch_size=64,       history = fit(model, loss_fn, opt, (x, y),
        validation_split=0.2, callbacks=[es, ck])       epochs=20, batch_size=64,
                                                        validation_split=0.2, callbacks=[es, ck])
    model.evaluate(x_test, y_test)                  evaluate(model, loss_fn, (x_test, y_test))
    model.predict(x_test)                           predict(model, x_test)

The network is the course's Fashion-MNIST CNN (examples/fashion_mnist_cnn.py): Conv2d(1, 10,
3, padding=1), ReLU, MaxPool2d(2), Flatten, Dense 100 (ReLU), Dense 10, Glorot-uniform weights.
Training: Adam (lr 1e-3), batches of 64, at most 20 epochs; the last 20 % of the training
images are the validation set (Keras' validation_split: taken before shuffling, so the data
must not be sorted by class; the embedded subset is not). EarlyStopping(patience=3,
restore_best_weights=True) ends training when the validation loss stops improving and puts
the best epoch's weights back; ModelCheckpoint(save_best_only=True) keeps that epoch on disk;
CSVLogger writes the epoch table.

Data: the embedded MNIST subset by default (5000 training / 1000 test digits, offline);
--full: the 60000/10000 MNIST files; --fashion: Fashion-MNIST (60000/10000; the files in
<data-root>/fashion-mnist/, see --data-root and --download).

Writes to --out: keras_style_best.npz (the checkpoint), keras_style_log.csv (one row per
epoch), keras_style_history.png (History.plot) and keras_style_confusion.png (test set).

Run:
    python examples/keras_style.py                 # about 25 s on 2 cores
    python examples/keras_style.py --fashion --data-root /path/to/data     # about 3 min
    python examples/keras_style.py --epochs 2 --train-size 1000            # a quick look

Measured (seed 0, OPENBLAS_NUM_THREADS=1, on a 2-core machine shared with other work):
    embedded subset: EarlyStopping ended training after epoch 13 (best val_loss 0.1732 at
        epoch 10, val accuracy 0.943), test accuracy 0.946 (946/1000), test loss 0.175, 26 s
    --fashion: ended after epoch 12 (best val_loss 0.2426 at epoch 9, val accuracy 0.913),
        test accuracy 0.912 (9117/10000; Shirt is the most confused class), 3.1 min
    (examples/fashion_mnist_cnn.py --optimizer adam, 20 epochs without early stopping: 0.910)
In both runs the checkpoint file holds exactly the restored weights and reproduces the
restored model's predictions. With
OpenBLAS' default 2 threads on the busy machine the subset run took 1.6 min, and the
different rounding of the threaded matrix products changed the run: it stopped after epoch
15 with test accuracy 0.944.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import _common as C
from _common import nn, np, tg
from fashion_mnist_cnn import build_model

from tinygrad_kr.train import CSVLogger, EarlyStopping, ModelCheckpoint, evaluate, fit, predict

DIGITS = tuple(str(d) for d in range(10))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j]: test images of class i predicted as class j. (n_classes, n_classes) int64."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion(counts: np.ndarray, classes: Sequence[str], path: Path, title: str) -> Path | None:
    """The matrix as a PNG, drawn on a standalone Agg Figure (pyplot is left alone). None
    without matplotlib."""
    try:
        import matplotlib.backends.backend_agg
        import matplotlib.figure
    except ImportError:
        print("matplotlib is not installed: skipping the confusion matrix (pip install matplotlib)")
        return None
    fig = matplotlib.figure.Figure(figsize=(7.5, 6.5), layout="constrained")
    matplotlib.backends.backend_agg.FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = counts.max() / 2
    for i in range(len(classes)):
        for j in range(len(classes)):
            color = "white" if counts[i, j] > threshold else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.savefig(path, format="png", dpi=100)
    return path


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    C.add_mnist_source(p)
    p.add_argument("--fashion", action="store_true", help="Fashion-MNIST (needs its files) instead of MNIST")
    p.add_argument(
        "--epochs", type=int, default=20, help="at most this many epochs (early stopping may end sooner)"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--patience", type=int, default=3, help="EarlyStopping patience (epochs)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)
    timer = C.Timer()

    if args.fashion:
        x, y, x_test, y_test = C.load_fashion_mnist(args.data_root, args.download)
        name, classes = "Fashion-MNIST", tg.datasets.FASHION_MNIST_CLASSES
    else:
        x, y, x_test, y_test = C.load_mnist(args.full, args.data_root, args.download)
        name, classes = "MNIST" if args.full else "MNIST subset", DIGITS
    if args.train_size:
        x, y = x[: args.train_size], y[: args.train_size]
    print(f"{name}: {len(x)} training images (the last 20 % validate), {len(x_test)} test images")

    tg.manual_seed(args.seed)
    model = build_model()
    print(model.summary((args.batch_size, 1, 28, 28)))

    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=args.lr)
    checkpoint = out / "keras_style_best.npz"
    early = EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)
    callbacks = [
        early,
        ModelCheckpoint(checkpoint, save_best_only=True),
        CSVLogger(out / "keras_style_log.csv"),
    ]
    history = fit(
        model,
        loss_fn,
        opt,
        (x, y),
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=0.2,
        callbacks=callbacks,
        progress=not args.no_progress,
    )
    stopped = f"stopped after epoch {early.stopped_epoch + 1}" if early.stopped_epoch else "ran every epoch"
    print(f"{stopped}; best val_loss {early.best:.4f} at epoch {early.best_epoch + 1} (weights restored)")

    test = evaluate(model, loss_fn, (x_test, y_test), batch_size=500)
    probs = predict(model, x_test, batch_size=500)
    y_pred = probs.argmax(axis=1)
    counts = confusion_matrix(y_test, y_pred, len(classes))
    # The checkpoint on disk is the restored best epoch: it holds exactly the restored weights,
    # and a fresh model loaded from it classifies every test image the same way. (Probabilities
    # are compared to the last float32 bit only through the weights: the engine may change the
    # BLAS thread count between two passes when the machine's load changes, which changes the
    # rounding of a matrix product; see tinygrad_kr.threads.)
    saved = tg.load(checkpoint)
    restored = model.state_dict()
    same_weights = sorted(saved) == sorted(restored) and all(
        np.array_equal(saved[k], restored[k]) for k in saved
    )
    reloaded = build_model()
    reloaded.load_state_dict(saved)
    same = bool(same_weights) and bool(
        np.array_equal(predict(reloaded, x_test, batch_size=500).argmax(axis=1), y_pred)
    )
    seconds = timer()
    print(
        f"test loss {test['loss']:.4f}, test accuracy {test['accuracy']:.4f} "
        f"({int(np.trace(counts))}/{len(y_test)}); checkpoint reproduces the predictions: {same}; "
        f"{seconds:.0f} s"
    )
    worst = np.argmax(counts.sum(axis=1) - np.diag(counts))
    print(f"most confused true class: {classes[worst]} ({counts[worst].sum() - counts[worst, worst]} errors)")

    result = {
        "data": name,
        "epochs_run": history.epochs,
        "best_epoch": early.best_epoch + 1,
        "stopped_epoch": early.stopped_epoch + 1 if early.stopped_epoch else None,
        "history": history.history,
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        "confusion": counts.tolist(),
        "checkpoint": str(checkpoint),
        "checkpoint_matches": same,
        "summary_total_params": model.summary((1, 1, 28, 28)).total_params,
        "seconds": seconds,
        "files": {"checkpoint": checkpoint, "csv": out / "keras_style_log.csv"},
    }
    try:
        result["files"]["history"] = history.plot(out / "keras_style_history.png")
    except ImportError:
        print("matplotlib is not installed: skipping the history plot (pip install matplotlib)")
    result["files"]["confusion"] = plot_confusion(
        counts,
        classes,
        out / "keras_style_confusion.png",
        f"{name}: test set, accuracy {test['accuracy']:.4f}",
    )
    for path in result["files"].values():
        if path is not None:
            print(f"wrote {path}")
    return result


if __name__ == "__main__":
    C.run(main)
