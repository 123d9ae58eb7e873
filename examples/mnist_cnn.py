"""MNIST with SimpleConvNet, and checkpoints: save, reload, identical predictions, resume.

"Deep Learning from Scratch", ch. 7: SimpleConvNet, here with tinygrad_kr's nn:

    Conv2d(1, 30, 5) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(30*12*12, 100) -> ReLU
    -> Linear(100, 10)                                     (softmax inside the cross-entropy)

weights N(0, 0.01^2) and zero biases, Adam lr 0.001, mini-batches of 100 (the book's recipe).

After training, the example writes a checkpoint with tg.save:

    {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": n}

(one .npz file, no pickle), loads it with tg.load into a freshly built model and optimizer, and
checks that

1. the reloaded model gives bit-identical logits on the test set;
2. training resumes where it stopped: one more epoch of the original and of the reloaded model,
   on the same mini-batches, ends with identical parameters (the optimizer's state, Adam's
   moments and step counts, came back too; a fresh Adam would give other parameters, printed
   for contrast).

Every epoch's batch order depends only on --seed and the epoch number, so
`--resume out/mnist_cnn.ckpt.npz --epochs N` continues an earlier run as if it had not stopped.
Writes mnist_cnn.ckpt.npz, mnist_cnn.png (loss and accuracy per epoch) and
mnist_cnn_filters.png (the 30 learned 5x5 filters) to --out.

Run:
    python examples/mnist_cnn.py                         # 10 epochs on the embedded subset (~20 s)
    python examples/mnist_cnn.py --resume out/mnist_cnn.ckpt.npz --epochs 5
    python examples/mnist_cnn.py --full --epochs 20      # the book's run on all of MNIST

Measured (seed 0, defaults, embedded 5000/1000 subset): test accuracy 0.818 after 1 epoch,
0.904 after 5, 0.943 after 10 (train loss 0.125); the reloaded model's logits are identical,
and after one more epoch the reloaded and the uninterrupted model differ by exactly 0 (a fresh
Adam: up to 0.05).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import _common as C
from _common import F, Tensor, nn, np, tg

from tinygrad_kr.data import DataLoader, TensorDataset


def simple_conv_net() -> nn.Sequential:
    """The book's SimpleConvNet. x: (N, 1, 28, 28) -> logits (N, 10)."""
    model = nn.Sequential(
        nn.Conv2d(1, 30, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    return C.init_weights(model, lambda w: nn.init.normal_(w, 0.0, 0.01))


def make_adam(model: nn.Module, lr: float) -> nn.optim.Adam:
    return nn.optim.Adam(model.parameters(), lr=lr)


def train_epoch(
    model: nn.Module,
    opt: nn.optim.Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    epoch: int,
    seed: int,
    batch_size: int,
    steps: int | None = None,
) -> float:
    """One epoch of mini-batches in an order fixed by (seed, epoch); the mean training loss.
    x: (N, 1, 28, 28), y: (N,). `steps` stops the epoch early."""
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed * 100_003 + epoch)
    model.train()
    total, seen = 0.0, 0
    for step, (xb, yb) in enumerate(loader, 1):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
        seen += len(yb)
        if steps and step >= steps:
            break
    return total / seen


def logits(model: nn.Module, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Eval-mode logits (N, 10) of x: (N, 1, 28, 28)."""
    model.eval()
    with tg.no_grad():
        return np.concatenate(
            [model(Tensor(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
        )


def max_param_diff(a: nn.Module, b: nn.Module) -> float:
    """Largest absolute difference between the two models' parameters."""
    sa, sb = a.state_dict(), b.state_dict()
    return max(float(np.abs(sa[k].astype(np.float64) - sb[k]).max()) for k in sa)


def save_checkpoint(path: Path, model: nn.Module, opt: nn.optim.Optimizer, epoch: int) -> Path:
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, path)
    return path


def load_checkpoint(path: str | Path, lr: float) -> tuple[nn.Sequential, nn.optim.Adam, int]:
    """A fresh SimpleConvNet and Adam with the checkpoint's state; the epochs done so far."""
    try:
        ckpt = tg.load(path)
    except FileNotFoundError:
        raise C.ExampleError(f"checkpoint {path} not found") from None
    model = simple_conv_net()
    model.load_state_dict(ckpt["model"])
    opt = make_adam(model, lr)
    opt.load_state_dict(ckpt["optimizer"])
    return model, opt, int(ckpt["epoch"])


def plot_filters(path: Path, model: nn.Sequential) -> Path | None:
    plt = C.pyplot()
    if plt is None:
        return None
    w = model[0].weight.data[:, 0]  # (30, 5, 5)
    fig, axes = plt.subplots(3, 10, figsize=(10, 3.3))
    for ax, f in zip(axes.ravel(), w):
        ax.imshow(f, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("SimpleConvNet: the 30 learned conv1 filters")
    return C.save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    C.add_mnist_source(p)
    p.add_argument(
        "--epochs", type=int, default=10, help="epochs to train (in total, counting a resumed run's)"
    )
    p.add_argument("--lr", type=float, default=0.001, help="Adam's learning rate")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--steps", type=int, default=None, help="stop each epoch after this many mini-batches")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT", help="continue from a checkpoint file")
    p.add_argument("--checkpoint", default="mnist_cnn.ckpt.npz", help="checkpoint file name inside --out")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)
    x_train, y_train, x_test, y_test = C.load_mnist(args.full, args.data_root, args.download)
    print(f"MNIST{'' if args.full else ' (embedded subset)'}: train {len(x_train)}, test {len(x_test)}")

    tg.manual_seed(args.seed)
    if args.resume:
        model, opt, start = load_checkpoint(args.resume, args.lr)
        print(f"resumed from {args.resume} after epoch {start}")
    else:
        model, start = simple_conv_net(), 0
        opt = make_adam(model, args.lr)
    print(model)

    history: dict[str, list[float]] = {"loss": [], "test_loss": [], "test_accuracy": []}
    clock = C.Timer()
    for epoch in range(start + 1, args.epochs + 1):
        loss = train_epoch(model, opt, x_train, y_train, epoch, args.seed, args.batch_size, args.steps)
        test_loss, test_acc = C.evaluate(model, x_test, y_test)
        for k, v in zip(history, (loss, test_loss, test_acc)):
            history[k].append(v)
        print(
            f"epoch {epoch:2d}/{args.epochs}  loss {loss:.4f}  test loss {test_loss:.4f}  "
            f"test accuracy {test_acc:.4f}  ({clock():.1f} s)"
        )
    done = max(start, args.epochs)

    # checkpoint round trip
    ckpt = save_checkpoint(out / args.checkpoint, model, opt, done)
    print(f"\nsaved {ckpt} ({ckpt.stat().st_size / 1e6:.2f} MB): model, optimizer state, epoch {done}")
    tg.manual_seed(args.seed + 1)  # the fresh model starts from other weights: loading must overwrite them
    model2, opt2, epoch2 = load_checkpoint(ckpt, args.lr)
    same = bool(np.array_equal(logits(model, x_test), logits(model2, x_test)))
    print(f"reloaded model: identical test logits: {same}")

    # resume: one more epoch of the original, the reloaded model, and the reloaded weights with a fresh Adam
    model3 = simple_conv_net()
    model3.load_state_dict(model.state_dict())
    opt3 = make_adam(model3, args.lr)
    for m, o in ((model, opt), (model2, opt2), (model3, opt3)):
        train_epoch(m, o, x_train, y_train, done + 1, args.seed, args.batch_size, args.steps)
    resume_diff = max_param_diff(model, model2)
    fresh_diff = max_param_diff(model, model3)
    print(
        f"one more epoch: reloaded vs uninterrupted, largest parameter difference {resume_diff:.3g}; "
        f"with a fresh Adam instead: {fresh_diff:.3g}"
    )

    result = {
        "history": history,
        "epochs": done,
        "checkpoint": ckpt,
        "identical_predictions": same,
        "resume_max_param_diff": resume_diff,
        "fresh_optimizer_max_param_diff": fresh_diff,
        "test_accuracy": history["test_accuracy"][-1] if history["test_accuracy"] else None,
    }
    if history["loss"]:
        png = C.plot_curves(
            out / "mnist_cnn.png",
            {
                "loss": {"train": history["loss"], "test": history["test_loss"]},
                "accuracy": {"test": history["test_accuracy"]},
            },
            title="MNIST, SimpleConvNet (Adam)",
        )
        if png:
            print(f"wrote {png}")
    filters = plot_filters(out / "mnist_cnn_filters.png", model)
    if filters:
        print(f"wrote {filters}")
    return result


if __name__ == "__main__":
    C.run(main)
