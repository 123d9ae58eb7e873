"""Perceptrons and logic gates: hand-set weights, the delta rule, and a two-layer net for XOR.

1. AND, NAND and OR as perceptrons with the weights of "Deep Learning from Scratch" ch. 2
   (AND: w = (0.5, 0.5), b = -0.7; NAND: (-0.5, -0.5), 0.7; OR: (0.5, 0.5), -0.2), and XOR
   as NAND -> AND <- OR, a two-layer perceptron.
2. The delta rule (Phil Kim, "MATLAB Deep Learning" ch. 2): one sigmoid neuron trained by SGD,
   one sample at a time, on the loss 0.5 * (t - y)**2. It learns AND (accuracy 1.00) but not
   XOR, which no single line separates (accuracy at most 0.75).
3. A 2-4-1 sigmoid network trained the same way (per-sample SGD, lr 0.9) solves XOR, first with
   the squared error, then with the cross-entropy (BCE), which learns faster (ch. 3).

Writes perceptron_regions.png (decision regions of the four trained models) and
perceptron_xor_loss.png (the XOR squared error per epoch, trained with MSE vs cross-entropy) to --out.

Run:
    python examples/perceptron_gates.py                 # ~10 s
    python examples/perceptron_gates.py --epochs 50     # a quick look

Measured (seed 0, default 2000 epochs): delta rule AND 1.00, XOR 0.25; two-layer net XOR
1.00 with both losses (outputs 0.03 0.97 0.97 0.03 trained on the squared error, mean squared
error 9.3e-4; 0.000 0.999 0.999 0.003 trained on the cross-entropy, 2.4e-6).
"""

from __future__ import annotations

from typing import Sequence

import _common as C
from _common import F, Tensor, nn, np, tg

from tinygrad_kr import datasets

GATES = {"AND": ((0.5, 0.5), -0.7), "NAND": ((-0.5, -0.5), 0.7), "OR": ((0.5, 0.5), -0.2)}


def perceptron(x: Tensor, w: Sequence[float], b: float) -> np.ndarray:
    """Step function of x @ w + b. x: (N, 2) -> (N,) int 0/1."""
    return ((x @ Tensor(np.array(w, dtype=np.float32)) + b).data > 0).astype(np.int64)


def xor_gate(x: Tensor) -> np.ndarray:
    """XOR = AND(NAND(x), OR(x)): a two-layer perceptron. x: (N, 2) -> (N,)."""
    s1 = perceptron(x, *GATES["NAND"])
    s2 = perceptron(x, *GATES["OR"])
    return perceptron(Tensor(np.stack([s1, s2], axis=1).astype(np.float32)), *GATES["AND"])


def train_per_sample(
    model: nn.Module, X: np.ndarray, y: np.ndarray, loss_name: str, epochs: int, lr: float
) -> list[float]:
    """SGD with one sample per step, samples in a new random order each epoch.

    loss_name: "mse" (0.5 * (t - y)**2, the delta rule) or "ce" (binary cross-entropy).
    X: (4, 2), y: (4, 1) float32. Returns the mean squared error (t - y)**2 over the data after
    every epoch (the same yardstick for both losses, as in Phil Kim's comparison).
    """
    opt = nn.optim.SGD(model.parameters(), lr=lr)
    rng = tg.get_generator()
    history = []
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            out = model(Tensor(X[i : i + 1]))
            t = Tensor(y[i : i + 1])
            if loss_name == "mse":
                loss = 0.5 * F.mse_loss(out, t, reduction="sum")
            else:
                loss = F.binary_cross_entropy(out, t)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with tg.no_grad():
            history.append(F.mse_loss(model(Tensor(X)), Tensor(y)).item())
    return history


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with tg.no_grad():
        pred = model(Tensor(X)).data > 0.5
    return float((pred == (y > 0.5)).mean())


def plot_regions(path, models: dict, data: dict):
    plt = C.pyplot()
    if plt is None:
        return None
    g = np.linspace(-0.5, 1.5, 201, dtype=np.float32)
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4))
    for ax, (title, model) in zip(axes, models.items()):
        with tg.no_grad():
            z = model(Tensor(grid)).data.reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
        ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1.5)
        X, y = data[title]
        ax.scatter(X[:, 0], X[:, 1], c=y.ravel(), cmap="RdBu_r", edgecolors="k", s=120, vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_aspect("equal")
    return C.save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    p.add_argument("--epochs", type=int, default=2000, help="epochs of per-sample SGD (4 steps each)")
    p.add_argument("--lr", type=float, default=0.9)
    p.add_argument("--hidden", type=int, default=4, help="hidden units of the two-layer net")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)
    tg.manual_seed(args.seed)

    print("1. perceptrons with hand-set weights (x1 x2 -> AND NAND OR XOR)")
    X, _ = datasets.xor()
    x = Tensor(X)
    table = {name: perceptron(x, w, b) for name, (w, b) in GATES.items()}
    table["XOR"] = xor_gate(x)
    for i, row in enumerate(X.astype(int)):
        print(f"   {row[0]} {row[1]} -> " + "  ".join(f"{n} {table[n][i]}" for n in table))

    print(f"2. delta rule (one sigmoid neuron, per-sample SGD, {args.epochs} epochs)")
    results: dict = {}
    models: dict = {}
    data = {"delta rule: AND": datasets.and_gate(), "delta rule: XOR": datasets.xor()}
    for title, (Xg, yg) in data.items():
        model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
        train_per_sample(model, Xg, yg, "mse", args.epochs, args.lr)
        results[title] = accuracy(model, Xg, yg)
        models[title] = model
        print(f"   {title}: accuracy {results[title]:.2f}")

    print(f"3. two-layer net 2-{args.hidden}-1 (sigmoid) on XOR")
    Xx, yx = datasets.xor()
    losses = {}
    for loss_name, title in (("mse", "2-layer, MSE: XOR"), ("ce", "2-layer, cross-entropy: XOR")):
        tg.manual_seed(args.seed)  # the same initial weights for both losses
        model = nn.Sequential(
            nn.Linear(2, args.hidden), nn.Sigmoid(), nn.Linear(args.hidden, 1), nn.Sigmoid()
        )
        losses[loss_name] = train_per_sample(model, Xx, yx, loss_name, args.epochs, args.lr)
        results[title] = accuracy(model, Xx, yx)
        models[title] = model
        data[title] = (Xx, yx)
        with tg.no_grad():
            outputs = model(Tensor(Xx)).data.ravel()
        shown = ", ".join(f"{o:.3f}" for o in outputs)
        print(
            f"   {title}: outputs [{shown}], accuracy {results[title]:.2f}, "
            f"mean squared error {losses[loss_name][-1]:.2e}"
        )

    regions = plot_regions(out / "perceptron_regions.png", models, data)
    curves = C.plot_curves(
        out / "perceptron_xor_loss.png",
        {
            "mean squared error": {
                "trained on 0.5 e^2": losses["mse"],
                "trained on cross-entropy": losses["ce"],
            }
        },
        title="XOR, 2-layer sigmoid net, per-sample SGD",
        logy=("mean squared error",),
    )
    for path in (regions, curves):
        if path:
            print(f"wrote {path}")
    return {"accuracy": results, "final_mse": {k: v[-1] for k, v in losses.items()}}


if __name__ == "__main__":
    C.run(main)
