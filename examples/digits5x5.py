"""A deep net on five 5x5 digits: ReLU against vanishing gradients, dropout against over-fitting.

Phil Kim's "MATLAB Deep Learning", ch. 5: the digits 1..5 drawn in 5x5 pixels
(tinygrad_kr.datasets.digits5x5()), flattened to 25 inputs, classified by a network with three
hidden layers of 20 units and a softmax output:

    25 -> 20 -> 20 -> 20 -> 5        (softmax inside the cross-entropy)

1. DeepReLU: ReLU hidden layers, trained by SGD one image at a time (lr 0.01).
2. DeepDropout: the same network with sigmoid hidden layers, each followed by Dropout(0.2)
   (a fifth of the units switched off at random in every training step, none at test time).

Both start from the book's initial weights, uniform in [-1, 1] (biases zero); with small
weights three sigmoid layers would pass back almost no gradient. Both learn the five clean
digits; then each reads the book's contaminated digits (1 to 12 pixels changed). The noisy
images are genuinely ambiguous (noisy 1 is closer to the clean 4 than to the clean 1, noisy 5 is
as close to a 3 as to a 5), so the nearest clean digit by Hamming distance is printed as a yardstick.

Writes digits5x5.png (the clean and noisy digits with each network's reading) to --out.

Run:
    python examples/digits5x5.py                  # ~10 s
    python examples/digits5x5.py --epochs 300     # a quick look

Measured (seed 0, defaults: 1000 epochs = 5000 steps each): both nets read the clean digits
1..5 correctly (training loss 0.0003 and 0.011); on the noisy ones DeepReLU reads 2 of 5
(the 2 and the 3), DeepDropout 3 of 5 (the 2, the 3 and the 5), the nearest clean digit 2 of 5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import _common as C
from _common import F, Tensor, nn, np, tg

DIGITS = np.arange(1, 6)  # class k is the digit k + 1


def build_model(activation: str, dropout: float = 0.0, hidden: Sequence[int] = (20, 20, 20)) -> nn.Sequential:
    """25 -> hidden... -> 5 with `activation` ("relu" or "sigmoid") and optional Dropout(p) after
    every hidden layer; weights uniform in [-1, 1] and zero biases, as in the book. x: (N, 25)."""
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}[activation]
    layers: list[nn.Module] = []
    width = 25
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, 5))
    return C.init_weights(nn.Sequential(*layers), lambda w: nn.init.uniform_(w, -1.0, 1.0))


def train_per_sample(model: nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> list[float]:
    """SGD on one image at a time, in a new random order every epoch. X: (N, 25), y: (N,) int.
    Returns the mean training cross-entropy of every epoch."""
    opt = nn.optim.SGD(model.parameters(), lr=lr)
    rng = tg.get_generator()
    model.train()
    history = []
    for _ in range(epochs):
        total = 0.0
        for i in rng.permutation(len(X)):
            loss = F.cross_entropy(model(Tensor(X[i : i + 1])), Tensor(y[i : i + 1]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        history.append(total / len(X))
    return history


def probabilities(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Softmax outputs in eval mode (dropout off). X: (N, 25) -> (N, 5)."""
    model.eval()
    with tg.no_grad():
        return F.softmax(model(Tensor(X)), axis=1).data


def plot_readings(path: Path, x: np.ndarray, xn: np.ndarray, readings: dict[str, dict[str, np.ndarray]]):
    """Clean digits on the top row, noisy ones below, each titled with every network's reading."""
    plt = C.pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(2, 5, figsize=(10, 6))
    for row, (images, split) in enumerate(((x, "clean"), (xn, "noisy"))):
        for k in range(5):
            ax = axes[row, k]
            ax.imshow(images[k], cmap="Greys", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            reads = "\n".join(f"{name}: {DIGITS[r[split][k]]}" for name, r in readings.items())
            ax.set_title(f"{split} {DIGITS[k]}\n{reads}", fontsize=9)
    return C.save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    p.add_argument("--epochs", type=int, default=1000, help="epochs of per-image SGD (5 steps each)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of DeepReLU")
    p.add_argument(
        "--dropout-lr",
        type=float,
        default=0.1,
        help="learning rate of DeepDropout (the book's 0.01 needs ~20000 epochs)",
    )
    p.add_argument("--dropout", type=float, default=0.2, help="dropout probability")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)

    x, y, xn, yn = tg.datasets.digits5x5()
    X, Xn = x.reshape(5, 25), xn.reshape(5, 25)
    hamming = np.abs(Xn[:, None, :] - X[None, :, :]).sum(axis=2)
    nearest = hamming.argmin(axis=1)
    print(
        "noisy digit -> nearest clean digit (Hamming distance): "
        + ", ".join(f"{DIGITS[k]} -> {DIGITS[nearest[k]]} ({int(hamming[k, nearest[k]])})" for k in range(5))
    )

    nets = {
        "DeepReLU": ("relu", 0.0, args.lr),
        "DeepDropout": ("sigmoid", args.dropout, args.dropout_lr),
    }
    readings: dict[str, dict[str, np.ndarray]] = {}
    result: dict = {"nearest_clean": DIGITS[nearest].tolist()}
    for name, (activation, dropout, lr) in nets.items():
        tg.manual_seed(args.seed)
        model = build_model(activation, dropout)
        clock = C.Timer()
        history = train_per_sample(model, X, y, args.epochs, lr)
        p_clean, p_noisy = probabilities(model, X), probabilities(model, Xn)
        readings[name] = {"clean": p_clean.argmax(axis=1), "noisy": p_noisy.argmax(axis=1)}
        clean_acc = float((readings[name]["clean"] == y).mean())
        noisy_acc = float((readings[name]["noisy"] == yn).mean())
        print(
            f"\n{name} ({activation}{f', dropout {dropout}' if dropout else ''}; lr {lr}, "
            f"{args.epochs} epochs, {clock():.1f} s): final training loss {history[-1]:.4f}"
        )
        print("          digit:    " + "    ".join(f"{d}" for d in DIGITS) + "   -> read as")
        for split, probs in (("clean", p_clean), ("noisy", p_noisy)):
            for k in range(5):
                row = " ".join(f"{v:.2f}" for v in probs[k])
                print(f"   {split} {DIGITS[k]}: [{row}] -> {DIGITS[probs[k].argmax()]}")
        print(f"   clean digits read correctly: {clean_acc:.0%}, noisy digits: {noisy_acc:.0%}")
        result[name] = {
            "clean_accuracy": clean_acc,
            "noisy_accuracy": noisy_acc,
            "clean_pred": DIGITS[readings[name]["clean"]].tolist(),
            "noisy_pred": DIGITS[readings[name]["noisy"]].tolist(),
            "final_loss": history[-1],
            "loss_history": history,
        }

    png = plot_readings(out / "digits5x5.png", x, xn, readings)
    if png:
        print(f"wrote {png}")
        result["plot"] = png
    return result


if __name__ == "__main__":
    C.run(main)
