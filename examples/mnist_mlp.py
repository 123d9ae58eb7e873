"""MNIST with fully connected nets: the two-layer net, optimizers, weight init and BatchNorm.

"Deep Learning from Scratch", ch. 5 and 6, with tinygrad_kr's nn (images flattened to 784):

* default: TwoLayerNet, Affine -> ReLU -> Affine -> SoftmaxWithLoss, i.e.
  Linear(784, 50) -> ReLU -> Linear(50, 10) with F.cross_entropy; weights N(0, 0.01^2), zero
  biases, mini-batches of 100, SGD lr 0.1 (the book's ch. 5 recipe) or `--optimizer`
  sgd|momentum|adagrad|rmsprop|adam. Train and test accuracy after every epoch.
* `--compare optimizers`: a 5-layer net (4 hidden layers of 100, ReLU, He init) trained by
  each of SGD (lr 0.01), Momentum (0.01, 0.9), AdaGrad (0.01), RMSprop (0.001) and Adam (0.001)
  on the same mini-batches of 128; their loss curves in one plot.
* `--compare init`: the same 5-layer net, SGD lr 0.01, initial weights zero, N(0, 0.01^2),
  Xavier (nn.init.xavier_normal_, std sqrt(2 / (fan_in + fan_out))) and He
  (nn.init.kaiming_normal_, std sqrt(2 / fan_in)). Zero weights give every hidden unit the same
  (here: zero) gradient, so only the last bias learns; std 0.01 shrinks the signal layer by
  layer until the gradient vanishes.
* `--compare batchnorm`: the 5-layer net with and without BatchNorm1d before every ReLU,
  trained on 1000 images (SGD lr 0.01, batch 100, 20 epochs) from weights N(0, std^2) for
  several std. Without BatchNorm the signal explodes (std 1: the training diverges) or vanishes
  (std 0.01: nothing moves); with it every scale learns. A normalized layer's output does not
  depend on its weights' scale, but their gradient shrinks as 1/std, so large weights learn
  slowly and small ones fast.

Data: the embedded 5000/1000-image MNIST subset (no files needed); `--full` uses the 60000/10000
files (see --data-root). Plots (mnist_mlp_*.png) go to --out.

Run:
    python examples/mnist_mlp.py                          # TwoLayerNet, SGD (~10 s)
    python examples/mnist_mlp.py --optimizer adam
    python examples/mnist_mlp.py --compare optimizers     # ~15 s
    python examples/mnist_mlp.py --compare init
    python examples/mnist_mlp.py --compare batchnorm
    python examples/mnist_mlp.py --full --iters 10000     # the book's run on all of MNIST

Measured (seed 0, embedded subset, defaults):
    TwoLayerNet, SGD lr 0.1, 2000 iterations: train accuracy 0.969, test accuracy 0.911.
    optimizers, 1000 iterations (mean loss of the last 20 / test accuracy): SGD 0.244 / 0.885,
    Momentum 0.0074 / 0.938, AdaGrad 0.0038 / 0.941, RMSprop 0.0006 / 0.945, Adam 0.0010 / 0.938.
    init, SGD, 1000 iterations: zero 2.3027 / 0.094 and std 0.01 2.3027 / 0.094 (stuck at
    log 10), Xavier 0.373 / 0.852, He 0.244 / 0.884.
    batchnorm, train accuracy after 20 epochs (with / without): std 1: 0.350 / 0.108 (diverged),
    std 0.1: 0.836 / 0.528, std 0.01: 1.000 / 0.108.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import _common as C
from _common import F, Tensor, nn, np, tg

from tinygrad_kr.data import DataLoader, TensorDataset

INITS = ("zero", "std=0.01", "xavier", "he")
COMPARE_HIDDEN = (100, 100, 100, 100)


def weight_init(init: str | float) -> Callable[[Tensor], Tensor]:
    """The nn.init function for `init`: "zero", "std=0.01", "xavier", "he", or a float std."""
    if init == "zero":
        return nn.init.zeros_
    if init == "xavier":
        return nn.init.xavier_normal_
    if init == "he":
        return lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")
    std = 0.01 if init == "std=0.01" else float(init)
    return lambda w: nn.init.normal_(w, 0.0, std)


def build_mlp(hidden: Sequence[int], init: str | float = "he", batchnorm: bool = False) -> nn.Sequential:
    """784 -> hidden... -> 10: Linear [-> BatchNorm1d] -> ReLU per hidden layer, then Linear.
    x: (N, 784) -> logits (N, 10)."""
    layers: list[nn.Module] = []
    width = 784
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        width = h
    layers.append(nn.Linear(width, 10))
    return C.init_weights(nn.Sequential(*layers), weight_init(init))


def two_layer_net(hidden: int = 50) -> nn.Sequential:
    """The book's TwoLayerNet: Affine(784, hidden) -> ReLU -> Affine(hidden, 10), weights N(0, 0.01^2)."""
    return build_mlp([hidden], init=0.01)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches without end, epoch after epoch, each epoch in a new order (fixed by seed)."""
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    while True:
        yield from loader


def train_iterations(model: nn.Module, opt: nn.optim.Optimizer, stream: Iterator, iters: int) -> list[float]:
    """`iters` SGD steps on batches from `stream`; the training loss of every step."""
    model.train()
    losses = []
    for _ in range(iters):
        xb, yb = next(stream)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def block_means(values: Sequence[float], block: int) -> list[float]:
    """Means of consecutive blocks of `block` values (a readable curve from noisy per-step losses)."""
    n = len(values) // block * block
    return np.asarray(values[:n], dtype=np.float64).reshape(-1, block).mean(axis=1).tolist()


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _say(path: Path | None) -> None:
    if path:
        print(f"wrote {path}")


# ---- the four modes ------------------------------------------------------------------------------


def run_single(args, data, out: Path) -> dict:
    x_train, y_train, x_test, y_test = data
    tg.manual_seed(args.seed)
    model = two_layer_net(args.hidden)
    lr = args.lr or (0.1 if args.optimizer == "sgd" else None)
    opt = C.make_optimizer(args.optimizer, model.parameters(), lr)
    lr = opt.param_groups[0]["lr"]
    per_epoch = max(1, len(x_train) // args.batch_size)
    print(
        f"TwoLayerNet 784-{args.hidden}-10, {args.optimizer} lr {lr}, batch {args.batch_size}, "
        f"{args.iters} iterations ({args.iters / per_epoch:.0f} epochs of {len(x_train)} images)"
    )
    stream = batches(x_train, y_train, args.batch_size, args.seed)
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    clock = C.Timer()
    done = 0
    while done < args.iters:
        n = min(per_epoch, args.iters - done)
        losses = train_iterations(model, opt, stream, n)
        done += n
        _, train_acc = C.evaluate(model, x_train, y_train)
        _, test_acc = C.evaluate(model, x_test, y_test)
        history["loss"].append(float(np.mean(losses)))
        history["train_accuracy"].append(train_acc)
        history["test_accuracy"].append(test_acc)
        print(
            f"iteration {done:5d}  loss {history['loss'][-1]:.4f}  train acc {train_acc:.4f}  "
            f"test acc {test_acc:.4f}  ({clock():.1f} s)"
        )
    _say(
        C.plot_curves(
            out / f"mnist_mlp_{args.optimizer}.png",
            {
                "loss": {"train": history["loss"]},
                "accuracy": {"train": history["train_accuracy"], "test": history["test_accuracy"]},
            },
            xlabel=f"epoch ({per_epoch} iterations)",
            title=f"TwoLayerNet, {args.optimizer} (lr {lr})",
        )
    )
    return {
        "mode": "train",
        "optimizer": args.optimizer,
        "lr": lr,
        "history": history,
        "train_accuracy": history["train_accuracy"][-1],
        "test_accuracy": history["test_accuracy"][-1],
        "seconds": clock(),
    }


def _compare_curves(args, data, out: Path, variants: dict, title: str, stem: str) -> dict:
    """Train one 5-layer net per variant (name -> (init, optimizer name)) on the same batches."""
    x_train, y_train, x_test, y_test = data
    curves, results = {}, {}
    for name, (init, opt_name) in variants.items():
        tg.manual_seed(args.seed)
        model = build_mlp(COMPARE_HIDDEN, init)
        opt = C.make_optimizer(opt_name, model.parameters(), args.lr)
        clock = C.Timer()
        losses = train_iterations(
            model, opt, batches(x_train, y_train, args.batch_size, args.seed), args.iters
        )
        _, test_acc = C.evaluate(model, x_test, y_test)
        final = float(np.mean(losses[-args.log_every :]))
        curves[name] = block_means(losses, args.log_every)
        results[name] = {"final_loss": final, "test_accuracy": test_acc, "lr": opt.param_groups[0]["lr"]}
        print(
            f"{name:>10s} (lr {results[name]['lr']}): loss over the last {args.log_every} iterations "
            f"{final:.4f}, test accuracy {test_acc:.4f}  ({clock():.1f} s)"
        )
    _say(
        C.plot_curves(
            out / f"mnist_mlp_{stem}.png",
            {"training loss": curves},
            xlabel="iteration",
            title=title,
            logy=("training loss",),
            x_step=args.log_every,
        )
    )
    return results


def run_compare_optimizers(args, data, out: Path) -> dict:
    print(
        f"5-layer net 784-{'-'.join(map(str, COMPARE_HIDDEN))}-10 (He init), {args.iters} iterations, "
        f"batch {args.batch_size}"
    )
    variants = {name: ("he", name) for name in C.OPTIMIZERS}
    results = _compare_curves(args, data, out, variants, "MNIST: optimizers", "optimizers")
    return {"mode": "optimizers", "results": results}


def run_compare_init(args, data, out: Path) -> dict:
    print(
        f"5-layer net 784-{'-'.join(map(str, COMPARE_HIDDEN))}-10, SGD, {args.iters} iterations, "
        f"batch {args.batch_size}"
    )
    variants = {name: (name, "sgd") for name in INITS}
    results = _compare_curves(args, data, out, variants, "MNIST: initial weights (SGD)", "init")
    return {"mode": "init", "results": results}


def run_compare_batchnorm(args, data, out: Path) -> dict:
    x_train, y_train = data[0][: args.bn_train], data[1][: args.bn_train]
    per_epoch = max(1, len(x_train) // args.batch_size)
    print(
        f"5-layer net with and without BatchNorm1d, {len(x_train)} training images, SGD lr "
        f"{args.lr or 0.01}, batch {args.batch_size}, {args.epochs} epochs; weights N(0, std^2)"
    )
    panels, results = {}, {}
    for std in args.stds:
        panel, diverged = {}, {}
        for bn in (True, False):
            label = "BatchNorm" if bn else "no BatchNorm"
            tg.manual_seed(args.seed)
            model = build_mlp(COMPARE_HIDDEN, std, batchnorm=bn)
            opt = C.make_optimizer("sgd", model.parameters(), args.lr)
            stream = batches(x_train, y_train, args.batch_size, args.seed)
            accs = []
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows: expected
                for _ in range(args.epochs):
                    losses = train_iterations(model, opt, stream, per_epoch)
                    accs.append(C.evaluate(model, x_train, y_train)[1])
            panel[label] = accs
            diverged[label] = not np.isfinite(losses[-1])
            results[f"std={std:g}, {label}"] = accs[-1]
        panels[f"train accuracy, std {std:g}"] = panel
        notes = {k: " (diverged: the loss overflowed)" if v else "" for k, v in diverged.items()}
        with_bn, without = panel["BatchNorm"][-1], panel["no BatchNorm"][-1]
        print(
            f"std {std:<6g}: train accuracy after {args.epochs} epochs: BatchNorm {with_bn:.3f}"
            f"{notes['BatchNorm']}, no BatchNorm {without:.3f}{notes['no BatchNorm']}"
        )
    _say(C.plot_curves(out / "mnist_mlp_batchnorm.png", panels, title="MNIST: BatchNorm on/off"))
    return {"mode": "batchnorm", "results": results, "curves": panels}


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    C.add_mnist_source(p)
    p.add_argument(
        "--compare",
        choices=("optimizers", "init", "batchnorm"),
        default=None,
        help="run a comparison instead of training the two-layer net",
    )
    p.add_argument("--optimizer", choices=C.OPTIMIZERS, default="sgd", help="optimizer of the two-layer net")
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: the book's: TwoLayerNet sgd 0.1; sgd, momentum, adagrad 0.01; "
        "rmsprop, adam 0.001)",
    )
    p.add_argument("--hidden", type=int, default=50, help="hidden units of the two-layer net")
    p.add_argument(
        "--iters",
        type=int,
        default=None,
        help="training iterations (default: 2000; --compare optimizers/init: 1000)",
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="default: 100; --compare optimizers/init: 128"
    )
    p.add_argument(
        "--log-every", type=int, default=20, help="--compare: plot the mean loss of every N iterations"
    )
    p.add_argument("--epochs", type=int, default=20, help="--compare batchnorm: epochs")
    p.add_argument("--bn-train", type=int, default=1000, help="--compare batchnorm: training images")
    p.add_argument(
        "--stds",
        type=float,
        nargs="+",
        default=[1.0, 0.1, 0.01],
        help="--compare batchnorm: the weight scales to try",
    )
    args = p.parse_args(argv)
    compare_curves = args.compare in ("optimizers", "init")
    if args.iters is None:
        args.iters = 1000 if compare_curves else 2000
    if args.batch_size is None:
        args.batch_size = 128 if compare_curves else 100
    if compare_curves and args.iters < args.log_every:
        raise C.ExampleError(f"--iters {args.iters} is shorter than --log-every {args.log_every}")

    out = C.out_dir(args.out)
    x_train, y_train, x_test, y_test = C.load_mnist(args.full, args.data_root, args.download)
    data = (_flat(x_train), y_train, _flat(x_test), y_test)
    print(f"MNIST{'' if args.full else ' (embedded subset)'}: train {len(x_train)}, test {len(x_test)}")
    runner = {
        None: run_single,
        "optimizers": run_compare_optimizers,
        "init": run_compare_init,
        "batchnorm": run_compare_batchnorm,
    }[args.compare]
    return runner(args, data, out)


if __name__ == "__main__":
    C.run(main)
