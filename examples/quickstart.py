"""Quickstart: a small CNN on the MNIST digits shipped with tinygrad_kr, offline, in well under a minute.

    model = nn.Sequential(                                             # x: (N, 1, 28, 28)
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 16, 14, 14)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, 32, 7, 7)
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),                       # (N, 10) logits
    )
    history = fit(model, nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=3e-3),
                  train_loader, epochs=10, val_loader=test_loader)

The data is the embedded subset `tinygrad_kr.datasets.MNIST(subset="mini")`: 5000 training
images (500 per digit) and the first 1000 test images of MNIST, no download and no files.
Batches come from `tinygrad_kr.data.DataLoader`, training from `tinygrad_kr.train.fit`
(a progress bar per epoch, test loss and accuracy after each), and the final score from
`tinygrad_kr.train.evaluate`.

Writes to --out:
  graph.svg   the computation graph of one mini-batch's loss, grouped by layer (graph.dot,
              with a message, when the Graphviz `dot` program is missing);
  loss.png    loss and accuracy per epoch, train and test (the curves labelled "val"; skipped
              without matplotlib).

Run:
    python examples/quickstart.py                 # ~15 s on 2 cores
    python examples/quickstart.py --epochs 1      # a quick look

Measured (defaults, 2 cores): test accuracy 0.970 on the 1000 test images in 15 s wall time
(seed 0; --seed 1: 0.981, --seed 2: 0.975). The training accuracy reaches 0.999, so more epochs
mostly overfit the 5000 images.
"""

from __future__ import annotations

from typing import Sequence

import _common as C
from _common import nn, np, tg

from tinygrad_kr import train
from tinygrad_kr.data import DataLoader, TensorDataset


def make_model() -> nn.Sequential:
    """x: (N, 1, 28, 28) float32 in [0, 1] -> logits (N, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)
    tg.manual_seed(args.seed)
    timer = C.Timer()

    x_train, y_train, x_test, y_test = C.load_mnist(full=False, data_root=None)
    if args.train_size:
        x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=500)
    print(f"MNIST (embedded subset): {len(x_train)} training and {len(x_test)} test images")

    model = make_model()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.optim.Adam(model.parameters(), lr=args.lr)

    # The graph of one batch's loss, drawn before anything calls backward on it.
    xb, yb = next(iter(DataLoader(TensorDataset(x_train[:8], y_train[:8]), batch_size=8)))
    graph = C.save_graph(loss_fn(model(xb), yb), out / "graph.svg", group_modules=True)
    print(f"wrote {graph}")

    history = train.fit(
        model,
        loss_fn,
        optimizer,
        train_loader,
        epochs=args.epochs,
        val_loader=test_loader,
        progress=not args.no_progress,
    )
    test = train.evaluate(model, loss_fn, test_loader)
    seconds = timer()
    print(
        f"test accuracy {test['accuracy']:.4f} (loss {test['loss']:.4f}) after {args.epochs} epochs, "
        f"{seconds:.0f} s in all"
    )

    plot = None
    if C.pyplot() is not None:
        plot = history.plot(out / "loss.png")
        print(f"wrote {plot}")
    return {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "history": history.history,
        "seconds": seconds,
        "graph": str(graph),
        "plot": str(plot) if plot else None,
        "n_params": int(sum(np.prod(p.shape) for p in model.parameters())),
    }


if __name__ == "__main__":
    C.run(main)
