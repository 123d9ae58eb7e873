"""Recurrent nets trained with truncated backpropagation through time (TBPTT).

1. Next-step regression on a noisy sine wave. The series is
       s_t = sin(2 pi t / 25) + 0.5 sin(2 pi t / 9 + 1) + N(0, 0.1^2),
   split in time into a training part (first 80 %) and a test part (last 20 %). The training
   part is cut into --streams parallel streams (a batch), each read in chunks of --bptt steps.
   Every chunk starts from the previous chunk's final state, passed on with `.detach()`: the
   values carry over, the graph (and the gradient) stops at the chunk boundary. The model is
   nn.RNN or nn.LSTM (--cell) followed by nn.Linear(H, 1), trained with Adam on the MSE of
   the next value. On the test part it is compared with the naive forecast "repeat the last
   value" (MSE = E[(s_{t+1} - s_t)^2]) and with the noise floor 0.01 that no forecast can beat.
2. A character-level language model (nn.Embedding -> RNN/LSTM ->
   nn.Linear) on a short text shipped in this file (no downloads), trained the same way.
   Reports the test cross-entropy in bits per character against the unigram baseline (the
   entropy of the character frequencies) and prints a sample.

Writes rnn_sine_forecast.png (a stretch of test series, the model's and the naive forecasts)
and rnn_loss.png (training loss per epoch) to --out.

Run:
    python examples/rnn_sequence.py                  # LSTM, both tasks, ~5 s
    python examples/rnn_sequence.py --cell rnn
    python examples/rnn_sequence.py --task sine --bptt 10 --epochs 60

Measured (seed 0, defaults): sine test MSE LSTM 0.0133, RNN 0.0182, against 0.1106 for
"repeat the last value" (noise floor 0.0100); text 2.70 bits/char (LSTM) and 3.04 (RNN)
on the held-out last 10 % of the text, against 4.10 for the unigram baseline.
"""

from __future__ import annotations

from typing import Any, Sequence

import _common as C
from _common import F, Tensor, nn, np, tg

NOISE = 0.1
WARMUP = 20  # test steps the state needs to settle (from zeros) before scoring starts

# A short text written for this example; the character model learns its spelling and rhythm.
TEXT = """\
the quick engine reads a tensor, multiplies it by a weight and adds a bias. the graph \
remembers every step, so the gradient can walk back from the loss to each weight. a \
recurrent net reads a sequence one step at a time and keeps a hidden state between the \
steps. the state is a memory: it carries what the net has seen so far. to train it we \
unroll the net over many steps and send the gradient back through all of them. long \
sequences make this slow, so we cut them into chunks. each chunk starts from the state the \
last chunk ended with, but the gradient stops at the border of the chunk. this is called \
truncated backpropagation through time. the state keeps its values and forgets its history. \
a long short-term memory cell adds a second state, the cell, and three gates that decide \
what to forget, what to write and what to show. the gates let the gradient flow over many \
steps without fading away. a plain recurrent cell has no gates; its gradient shrinks or \
grows at every step, and it forgets quickly. both can learn to predict the next value of a \
wave or the next letter of a text. the wave is easy: it repeats. the text is harder: it \
repeats words, not whole lines, and the net must learn which letters follow which. after a \
few passes over the text the net spells common words, puts spaces between them and ends \
its sentences with a full stop. \
a neural net is a function with many knobs. we show it an input, it makes a guess, and a \
loss measures how wrong the guess is. the gradient of the loss tells each knob which way \
to turn and how hard. a small step against the gradient makes the loss a little smaller. \
we take that step again and again, on batch after batch, and the guesses get better. this \
is gradient descent, and almost every net is trained this way. the learning rate sets the \
size of the step. too small and the net learns slowly; too large and the loss jumps around \
and may never settle. adam keeps a running mean of each gradient and of its square, and \
scales each step by them, so every weight gets a step of a sensible size. \
the engine does the bookkeeping. every operation on a tensor records a node in the graph: \
which function ran, which tensors went in, and what it needs to know for the way back. when \
we call backward on the loss, the engine visits the nodes from the last to the first, and \
each node turns the gradient of its output into gradients of its inputs. where a tensor \
feeds two nodes, its two gradients are added. at the leaves the gradients are stored, and \
the optimizer reads them to update the weights. then the graph is thrown away, and the \
next batch builds a new one. \
a recurrent net builds a long graph, one piece per step, all sharing the same weights. the \
gradient of a shared weight is the sum of its gradients at every step. that is why the \
gradient of a long sequence can grow very large: clipping its norm keeps the steps safe. \
the hidden state is small, but it has to hold everything the net needs to remember. a net \
that reads text learns that a space comes after a word, that a full stop ends a sentence, \
and that some letters like to stand together. it does not know what the words mean, but it \
can learn how they look, and that is enough to write text that looks almost right.
"""


# ---- the model and truncated BPTT ----------------------------------------------------------------


class SequenceModel(nn.Module):
    """cell ("rnn" or "lstm") over the inputs, then a Linear head on every step.

    vocab: None for real-valued inputs x: (N, T, 1) -> (N, T, 1); or the vocabulary size for
    integer inputs x: (N, T) int64 -> logits (N, T, vocab), through an Embedding(vocab, embed).
    forward(x, state) -> (output, state); state is h_n (RNN) or (h_n, c_n) (LSTM), None at start.
    """

    def __init__(self, cell: str, hidden: int, vocab: int | None = None, embed: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed) if vocab else None
        n_in = embed if vocab else 1
        self.rnn = nn.LSTM(n_in, hidden) if cell == "lstm" else nn.RNN(n_in, hidden)
        self.head = nn.Linear(hidden, vocab or 1)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if self.embed is not None:
            x = self.embed(x)
        out, state = self.rnn(x, state)
        return self.head(out), state


def detach_state(state: Any) -> Any:
    """Keep the values, cut the graph: h -> h.detach(); (h, c) -> (h.detach(), c.detach())."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def streams(series: np.ndarray, n: int) -> np.ndarray:
    """Cut a series (L, ...) into n contiguous streams (n, L // n, ...), dropping the remainder."""
    length = len(series) // n
    return series[: n * length].reshape(n, length, *series.shape[1:])


def train_tbptt(
    model: SequenceModel,
    x: np.ndarray,
    y: np.ndarray,
    loss_fn,
    epochs: int,
    bptt: int,
    lr: float,
    clip: float = 1.0,
) -> list[float]:
    """Adam on loss_fn(model(x_chunk), y_chunk), chunk after chunk, the state carried with .detach().

    x: (N, L, ...) inputs, y: (N, L, ...) targets (N parallel streams). Returns the mean loss of
    every epoch. Every epoch starts from a zero state at the beginning of the streams.
    """
    opt = nn.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        state, total, chunks = None, 0.0, 0
        for start in range(0, x.shape[1], bptt):
            out, state = model(Tensor(x[:, start : start + bptt]), state)
            loss = loss_fn(out, Tensor(y[:, start : start + bptt]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            state = detach_state(state)
            total += loss.item()
            chunks += 1
        history.append(total / chunks)
    return history


# ---- 1. the noisy sine wave ----------------------------------------------------------------------


def sine_series(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(noisy (length,) float32, clean (length,) float32): the series of the docstring."""
    t = np.arange(length, dtype=np.float64)
    clean = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 9 + 1.0)
    noisy = clean + NOISE * tg.get_generator().standard_normal(length)
    return noisy.astype(np.float32), clean.astype(np.float32)


def forecast(model: SequenceModel, series: np.ndarray) -> np.ndarray:
    """One-step-ahead predictions for series (L,): element t predicts series[t + 1]. -> (L,)."""
    with tg.no_grad():
        out, _ = model(Tensor(series.reshape(1, -1, 1)))
    return out.numpy().ravel()


def run_sine(args: Any, out_dir) -> dict:
    noisy, _ = sine_series(args.length)
    split = int(0.8 * len(noisy))
    train, test = noisy[:split], noisy[split:]
    x = streams(train[:-1].reshape(-1, 1), args.streams)
    y = streams(train[1:].reshape(-1, 1), args.streams)
    model = SequenceModel(args.cell, args.hidden)
    print(
        f"1. noisy sine, {args.cell.upper()}(1, {args.hidden}): {x.shape[0]} streams x {x.shape[1]} steps, "
        f"chunks of {args.bptt}, {args.epochs} epochs"
    )
    timer = C.Timer()
    history = train_tbptt(model, x, y, F.mse_loss, args.epochs, args.bptt, args.lr)
    pred = forecast(model, test[:-1])[WARMUP:]
    target = test[1:][WARMUP:]
    naive = test[:-1][WARMUP:]
    res = {
        "test_mse": float(np.mean((pred - target) ** 2)),
        "naive_mse": float(np.mean((naive - target) ** 2)),
        "noise_floor": NOISE**2,
        "train_loss": history,
        "seconds": timer(),
    }
    res["ratio_to_naive"] = res["test_mse"] / res["naive_mse"]
    print(
        f"   test MSE {res['test_mse']:.4f}  vs repeat-last-value {res['naive_mse']:.4f} "
        f"({res['ratio_to_naive']:.2f}x) and noise floor {NOISE**2:.4f}; trained in {res['seconds']:.1f} s"
    )
    plt = C.pyplot()
    if plt is not None:
        n = min(150, len(target))
        fig, ax = plt.subplots(figsize=(9, 3.5))
        steps = np.arange(n)
        ax.plot(steps, target[:n], "k.", markersize=4, label="observed s_{t+1}")
        ax.plot(steps, pred[:n], label=f"{args.cell.upper()} forecast (MSE {res['test_mse']:.3f})")
        ax.plot(steps, naive[:n], alpha=0.6, label=f"repeat last value (MSE {res['naive_mse']:.3f})")
        ax.set_xlabel("test step")
        ax.legend(loc="upper right", fontsize=8)
        res["plot"] = str(C.save_figure(fig, out_dir / "rnn_sine_forecast.png"))
        print(f"   wrote {res['plot']}")
    return res


# ---- 2. the character model ----------------------------------------------------------------------


def char_loss(logits: Tensor, target: Tensor) -> Tensor:
    """logits: (N, T, V), target: (N, T) int64 -> mean cross-entropy over every position."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def sample(model: SequenceModel, chars: list[str], prompt: str, n: int, temperature: float = 0.5) -> str:
    """Feed the prompt, then draw n characters one at a time from softmax(logits / temperature)."""
    index = {c: i for i, c in enumerate(chars)}
    rng = tg.get_generator()
    with tg.no_grad():
        logits, state = model(Tensor(np.array([[index[c] for c in prompt]], dtype=np.int64)))
        text = prompt
        for _ in range(n):
            z = logits.numpy()[0, -1].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            c = int(rng.choice(len(chars), p=p / p.sum()))
            text += chars[c]
            logits, state = model(Tensor(np.array([[c]], dtype=np.int64)), state)
    return text


def run_char(args: Any) -> dict:
    chars = sorted(set(TEXT))
    ids = np.array([chars.index(c) for c in TEXT], dtype=np.int64)
    split = int(0.9 * len(ids))
    train, test = ids[:split], ids[split:]
    x, y = streams(train[:-1], args.streams), streams(train[1:], args.streams)
    model = SequenceModel(args.cell, args.hidden * 2, vocab=len(chars))
    print(
        f"2. characters, {len(TEXT)} chars, vocabulary {len(chars)}, Embedding -> {args.cell.upper()}"
        f"(16, {args.hidden * 2}) -> Linear, {args.char_epochs} epochs"
    )
    timer = C.Timer()
    history = train_tbptt(model, x, y, char_loss, args.char_epochs, args.bptt, args.lr)
    # The test text is read after the whole training text, so the state has context.
    with tg.no_grad():
        _, state = model(Tensor(train.reshape(1, -1)))
        logits, _ = model(Tensor(test[:-1].reshape(1, -1)), state)
        test_nats = char_loss(logits, Tensor(test[1:].reshape(1, -1))).item()
    freq = np.bincount(train, minlength=len(chars)) / len(train)
    unigram = -np.log(np.maximum(freq[test[1:]], 1e-12)).mean()  # frequencies of the training text
    res = {
        "test_bits_per_char": test_nats / np.log(2),
        "unigram_bits_per_char": float(unigram / np.log(2)),
        "train_loss": history,
        "seconds": timer(),
        "sample": sample(model, chars, "the ", 120),
    }
    print(
        f"   test {res['test_bits_per_char']:.2f} bits/char vs unigram baseline "
        f"{res['unigram_bits_per_char']:.2f}; trained in {res['seconds']:.1f} s"
    )
    print(f"   sample: {res['sample']!r}")
    return res


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    p.add_argument("--task", choices=("sine", "char", "both"), default="both")
    p.add_argument("--cell", choices=("lstm", "rnn"), default="lstm")
    p.add_argument(
        "--hidden", type=int, default=32, help="hidden units (the character model uses twice as many)"
    )
    p.add_argument("--epochs", type=int, default=30, help="epochs on the sine series")
    p.add_argument(
        "--char-epochs", type=int, default=20, help="epochs on the text (more overfit the short text)"
    )
    p.add_argument("--length", type=int, default=4000, help="length of the sine series (train + test)")
    p.add_argument("--streams", type=int, default=16, help="parallel streams (batch size)")
    p.add_argument("--bptt", type=int, default=25, help="steps per chunk (truncation length)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    args = p.parse_args(argv)
    out = C.out_dir(args.out)
    tg.manual_seed(args.seed)
    res: dict = {}
    curves: dict[str, list[float]] = {}
    if args.task in ("sine", "both"):
        res["sine"] = run_sine(args, out)
        curves["sine: MSE"] = res["sine"]["train_loss"]
    if args.task in ("char", "both"):
        res["char"] = run_char(args)
        curves["text: cross-entropy (nats)"] = res["char"]["train_loss"]
    path = C.plot_curves(
        out / "rnn_loss.png",
        {k: {args.cell.upper(): v} for k, v in curves.items()},
        title=f"{args.cell.upper()}, truncated BPTT ({args.bptt} steps): training loss",
        logy=tuple(curves),
    )
    if path:
        print(f"wrote {path}")
    return res


if __name__ == "__main__":
    C.run(main)
