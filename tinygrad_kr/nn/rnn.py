"""Embeddings and recurrent layers: Embedding, RNN, LSTM, RNNCell, LSTMCell (PyTorch names).

Parameter names, shapes, gate order and default initialization follow PyTorch, so weights can
be exchanged with `torch.nn.LSTM`/`torch.nn.RNN` through `state_dict`. One difference:
`batch_first` defaults to True here (inputs are (N, T, features), like the rest of the course).
Every layer also takes PyTorch's device=None (the CPU only) and dtype=None (float32) keywords.

Everything is composed of engine ops; no gradient is written by hand. Two choices keep the
per-step cost small:

* Each step runs ONE matmul: the input and the hidden state are concatenated and multiplied
  by [W_ih | W_hh] (concatenated once per forward), with b_ih + b_hh as the bias. Hoisting
  the input projection of all steps into one big matmul would need the (T, N, G*H) result
  sliced once per step, and in this engine every slice's gradient is a full-size array, so
  backward would cost O(T^2). Layers after the first receive their input as the previous
  layer's per-step hidden states, which need no slicing at all.
* The first layer's input (N, T, in) is split into its T steps by a 4-ary tree of slices when
  it requires grad (an Embedding output does): O(T log T) backward instead of O(T^2).

Truncated backpropagation through time is the caller's job, as in PyTorch: carry the final
state into the next chunk with `.detach()`, which keeps its values and cuts the graph:

    lstm, head = nn.LSTM(16, 64), nn.Linear(64, 16)
    state = None
    for x, y in chunks:                          # x: (N, 35, 16), y: (N, 35) int64
        out, (h, c) = lstm(x, state)             # out: (N, 35, 64)
        loss = F.cross_entropy(head(out).reshape(-1, 16), y.reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        state = (h.detach(), c.detach())         # the next chunk starts from these values
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_kr.grad_mode import is_grad_enabled
from tinygrad_kr.ops import linear as _lin
from tinygrad_kr.ops import shape as _shape
from tinygrad_kr.tensor import Tensor

from . import init
from ._checks import factory_dtype, weight_dtype
from .functional import dropout as _dropout
from .module import Module, Parameter

__all__ = ["Embedding", "RNN", "LSTM", "RNNCell", "LSTMCell"]

_FANOUT = 4  # children per node of the tree that splits a sequence into its steps


def _check_size(who: str, name: str, n: Any, minimum: int = 1) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {n!r}")
    return int(n)


# --------------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------------


class Embedding(Module):
    """A lookup table: row i of `weight` is the vector of index i.

    Embedding(num_embeddings, embedding_dim). weight: (num_embeddings, embedding_dim),
    initialized N(0, 1) like PyTorch. forward(indices) with integer indices of any shape
    (...) returns (..., embedding_dim). The gradient of a row is the sum over every position
    that looked it up (repeated indices accumulate).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, device: Any = None, dtype: Any = None):
        super().__init__()
        dtype = factory_dtype(device, dtype, "Embedding")
        self.num_embeddings = _check_size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _check_size("Embedding", "embedding_dim", embedding_dim)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weight from N(0, 1) (project generator)."""
        init.normal_(self.weight)

    def forward(self, indices: Any) -> Tensor:
        """indices: (...) integers in [0, num_embeddings) -> (..., embedding_dim)."""
        idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(
                f"{self._label()}: indices must be integers (int64), got dtype {idx.dtype} "
                f"(shape {idx.shape}); convert them with .astype(np.int64)"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(
                f"{self._label()}: index {bad} is out of range for {self.num_embeddings} "
                f"embeddings (indices of shape {idx.shape}; valid: 0..{self.num_embeddings - 1})"
            )
        return self.weight[indices if isinstance(indices, Tensor) else idx]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


# --------------------------------------------------------------------------------------------
# Step functions shared by the layers and the cells
# --------------------------------------------------------------------------------------------


def _lstm_update(z: Tensor, c: Tensor | None, H: int) -> tuple[Tensor, Tensor]:
    """One LSTM update from the gate pre-activations z: (N, 4H), PyTorch order i, f, g, o.

    c: (N, H) previous cell state, or None for a zero state. Returns (h, c), each (N, H).
    """
    s = z.sigmoid()  # one node for the three sigmoid gates (the g quarter is unused)
    i = s[:, :H]
    g = z[:, 2 * H : 3 * H].tanh()
    c = i * g if c is None else s[:, H : 2 * H] * c + i * g
    return s[:, 3 * H :] * c.tanh(), c


def _linear(x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
    """x @ W.T (+ b) as one fused node."""
    return _lin.Linear()(x, W) if b is None else _lin.Linear()(x, W, b)


def _activate(z: Tensor, nonlinearity: str) -> Tensor:
    return z.tanh() if nonlinearity == "tanh" else z.relu()


def _unbind(x: Tensor, axis: int) -> list[Tensor]:
    """The slices of x along `axis` (that axis removed), in order.

    With a graph to record, the slices come from a tree of range slices: every slice's
    gradient is an array the size of the tensor it was cut from, so cutting all T steps from
    the full tensor would cost O(T^2) in backward; the tree costs O(T log T).
    """
    head = (slice(None),) * axis
    n = x.data.shape[axis]
    if not (x.requires_grad and is_grad_enabled()) or n <= _FANOUT:
        return [x[head + (t,)] for t in range(n)]
    out: list[Tensor] = []
    step = -(-n // _FANOUT)
    for a in range(0, n, step):
        out.extend(_unbind(x[head + (slice(a, min(a + step, n)),)], axis))
    return out


# --------------------------------------------------------------------------------------------
# Multi-layer recurrent networks
# --------------------------------------------------------------------------------------------


class _RNNBase(Module):
    """Parameters, argument checks and the layer loop shared by RNN and LSTM."""

    _gates = 1

    def __init__(
        self,
        who: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        device: Any,
        dtype: Any,
    ):
        super().__init__()
        dtype = factory_dtype(device, dtype, who)
        self.input_size = _check_size(who, "input_size", input_size)
        self.hidden_size = _check_size(who, "hidden_size", hidden_size)
        self.num_layers = _check_size(who, "num_layers", num_layers)
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout <= 1.0) or isinstance(dropout, bool):
            raise ValueError(f"{who}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        GH = self._gates * self.hidden_size
        for k in range(self.num_layers):
            n_in = self.input_size if k == 0 else self.hidden_size
            setattr(self, f"weight_ih_l{k}", Parameter(np.empty((GH, n_in), dtype=dtype)))
            setattr(self, f"weight_hh_l{k}", Parameter(np.empty((GH, self.hidden_size), dtype=dtype)))
            if self.bias:
                setattr(self, f"bias_ih_l{k}", Parameter(np.empty(GH, dtype=dtype)))
                setattr(self, f"bias_hh_l{k}", Parameter(np.empty(GH, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), like PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _layer_params(self, k: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W_ih, W_hh, b_ih, b_hh) of layer k (biases None without bias)."""
        d = self.__dict__
        if self.bias:
            return d[f"weight_ih_l{k}"], d[f"weight_hh_l{k}"], d[f"bias_ih_l{k}"], d[f"bias_hh_l{k}"]
        return d[f"weight_ih_l{k}"], d[f"weight_hh_l{k}"], None, None

    def _check_input(self, x: Any) -> tuple[Tensor, bool]:
        """x as a Tensor and whether it is unbatched (2-D)."""
        dt = self.weight_ih_l0.data.dtype
        x = weight_dtype(x, dt, self._label(), "input")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ValueError(
                f"{self._label()}: expected input of shape {layout} or (T, input_size) with "
                f"input_size={self.input_size}, got shape {x.shape}"
            )
        if x.shape[0 if x.ndim == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"{self._label()}: the input sequence is empty (shape {x.shape})")
        return x, x.ndim == 2

    def _check_state(self, h: Any, N: int, unbatched: bool, what: str) -> list[Tensor | None]:
        """The per-layer initial states (N, H) from h: (num_layers, N, H), or (num_layers, H)
        for unbatched input; None gives zero states."""
        L = self.num_layers
        if h is None:
            return [None] * L
        h = weight_dtype(h, self.weight_ih_l0.data.dtype, self._label(), what)
        want = (L, self.hidden_size) if unbatched else (L, N, self.hidden_size)
        if h.shape != want:
            raise ValueError(f"{self._label()}: expected {what} of shape {want}, got {h.shape}")
        if unbatched:
            h = h.reshape(L, 1, self.hidden_size)
        return [h[k] for k in range(L)]

    def _run(self, x: Tensor, unbatched: bool, h0: list, c0: list | None):
        """The layer loop. Returns (output, h_n, c_n) (c_n None for a plain RNN)."""
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        time_axis = 1 if self.batch_first and not unbatched else 0
        xs = _unbind(x, time_axis)
        N, H = xs[0].shape[0], self.hidden_size
        lstm = c0 is not None
        drop = self.dropout > 0 and self.training
        h_n, c_n = [], []
        for k in range(self.num_layers):
            W_ih, W_hh, b_ih, b_hh = self._layer_params(k)
            W = _shape.Concatenate(1)(W_ih, W_hh)
            b = None if b_ih is None else b_ih + b_hh
            h, c = h0[k], c0[k] if lstm else None
            outs = []
            for x_t in xs:
                if h is None:  # zero initial state: the W_hh half of the product is zero
                    z = _linear(x_t, W_ih, b)
                else:
                    z = _linear(_shape.Concatenate(1)(x_t, h), W, b)
                if lstm:
                    h, c = _lstm_update(z, c, H)
                else:
                    h = _activate(z, self.nonlinearity)
                outs.append(h)
            h_n.append(h)
            c_n.append(c)
            if drop and k < self.num_layers - 1:
                outs = [_dropout(o, self.dropout, True) for o in outs]
            xs = outs
        # One Concatenate + one Reshape assemble the output, whatever T is.
        T = len(xs)
        if time_axis == 1:
            output = _shape.Concatenate(1)(*xs).reshape(N, T, H)
        else:
            output = _shape.Concatenate(0)(*xs).reshape((T, H) if unbatched else (T, N, H))
        c_out = self._stack_states(c_n, unbatched) if lstm else None
        return output, self._stack_states(h_n, unbatched), c_out

    def _stack_states(self, states: list[Tensor], unbatched: bool) -> Tensor:
        """Per-layer (N, H) states -> (num_layers, N, H), or (num_layers, H) when unbatched."""
        L, H = self.num_layers, self.hidden_size
        s = states[0] if L == 1 else _shape.Concatenate(0)(*states)
        return s.reshape((L, H) if unbatched else (L, s.shape[0] // L, H))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            s += ", bias=False"
        s += f", batch_first={self.batch_first}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s


class RNN(_RNNBase):
    """Elman RNN: h_t = act(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh), act = tanh or relu.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=True, dropout=0.0). Layer k has weight_ih_l{k}: (H, in_k) (in_0 = input_size,
    else H), weight_hh_l{k}: (H, H), bias_ih_l{k}, bias_hh_l{k}: (H,), all drawn from
    U(-1/sqrt(H), 1/sqrt(H)). dropout: applied (in training mode) to the outputs of every
    layer but the last.

    forward(x, h0=None) -> (output, h_n).
      x: (N, T, input_size) if batch_first else (T, N, input_size); or unbatched (T, input_size).
      h0: (num_layers, N, H) (or (num_layers, H) unbatched); None means zeros.
      output: the last layer's h_t for every t: (N, T, H) if batch_first else (T, N, H)
        ((T, H) unbatched). h_n: (num_layers, N, H), the final state of every layer.
    See the module docstring for truncated BPTT (pass `h_n.detach()` to the next chunk).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        device: Any = None,
        dtype: Any = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN", input_size, hidden_size, num_layers, bias, batch_first, dropout, device, dtype
        )

    def forward(self, x: Any, h0: Any = None) -> tuple[Tensor, Tensor]:
        """x: (N, T, in) [batch_first] / (T, N, in) / (T, in); h0: (L, N, H) -> (output, h_n)."""
        x, unbatched = self._check_input(x)
        N = 1 if unbatched else x.shape[0 if self.batch_first else 1]
        output, h_n, _ = self._run(x, unbatched, self._check_state(h0, N, unbatched, "h0"), None)
        return output, h_n


class LSTM(_RNNBase):
    """Long short-term memory, PyTorch's equations and gate order (i, f, g, o):

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     f = sigmoid(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)        o = sigmoid(W_io x + b_io + W_ho h + b_ho)
        c' = f * c + i * g                             h' = o * tanh(c')

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=True, dropout=0.0).
    Layer k has weight_ih_l{k}: (4H, in_k), weight_hh_l{k}: (4H, H), bias_ih_l{k},
    bias_hh_l{k}: (4H,) (rows stacked in the order i, f, g, o), all drawn from
    U(-1/sqrt(H), 1/sqrt(H)).

    forward(x, hx=None) -> (output, (h_n, c_n)).
      x: (N, T, input_size) if batch_first else (T, N, input_size); or unbatched (T, input_size).
      hx: a pair (h0, c0), each (num_layers, N, H) (or (num_layers, H) unbatched); None: zeros.
      output: (N, T, H) if batch_first else (T, N, H) ((T, H) unbatched); h_n, c_n like h0.
    See the module docstring for truncated BPTT (pass `(h_n.detach(), c_n.detach())` on).
    """

    _gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, device, dtype
        )

    def forward(self, x: Any, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """x: (N, T, in) [batch_first] / (T, N, in) / (T, in); hx: (h0, c0), each (L, N, H)."""
        x, unbatched = self._check_input(x)
        N = 1 if unbatched else x.shape[0 if self.batch_first else 1]
        if hx is None:
            h0 = c0 = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h0, c0 = hx
        else:
            raise TypeError(f"{self._label()}: hx must be a pair (h0, c0) or None, got {type(hx).__name__}")
        h0s = self._check_state(h0, N, unbatched, "h0")
        c0s = self._check_state(c0, N, unbatched, "c0")
        output, h_n, c_n = self._run(x, unbatched, h0s, c0s)
        return output, (h_n, c_n)


# --------------------------------------------------------------------------------------------
# Single-step cells
# --------------------------------------------------------------------------------------------


class _CellBase(Module):
    _gates = 1

    def __init__(self, who: str, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any):
        super().__init__()
        dtype = factory_dtype(device, dtype, who)
        self.input_size = _check_size(who, "input_size", input_size)
        self.hidden_size = _check_size(who, "hidden_size", hidden_size)
        GH = self._gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((GH, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((GH, self.hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(GH, dtype=dtype))
            self.bias_hh = Parameter(np.empty(GH, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = _RNNBase.reset_parameters

    def _check_input(self, x: Any) -> tuple[Tensor, bool]:
        x = weight_dtype(x, self.weight_ih.data.dtype, self._label(), "input")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self._label()}: expected input of shape (N, {self.input_size}) or "
                f"({self.input_size},), got {x.shape}"
            )
        unbatched = x.ndim == 1
        return (x.reshape(1, -1) if unbatched else x), unbatched

    def _check_state(self, h: Any, N: int, unbatched: bool, what: str) -> Tensor | None:
        if h is None:
            return None
        h = weight_dtype(h, self.weight_ih.data.dtype, self._label(), what)
        want = (self.hidden_size,) if unbatched else (N, self.hidden_size)
        if h.shape != want:
            raise ValueError(f"{self._label()}: expected {what} of shape {want}, got {h.shape}")
        return h.reshape(1, -1) if unbatched else h

    def _preactivation(self, x: Tensor, h: Tensor | None) -> Tensor:
        """x @ W_ih.T + b_ih + h @ W_hh.T + b_hh (the h term dropped for a zero state)."""
        z = _linear(x, self.weight_ih, self.bias_ih)
        if h is None:
            return z if self.bias_hh is None else z + self.bias_hh
        return z + _linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = act(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).

    RNNCell(input_size, hidden_size, bias=True, nonlinearity="tanh"). weight_ih: (H, in),
    weight_hh: (H, H), bias_ih, bias_hh: (H,), drawn from U(-1/sqrt(H), 1/sqrt(H)).
    forward(x, hx=None): x (N, in) or (in,), hx (N, H) or (H,) (None: zeros) -> h' like hx.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNNCell", input_size, hidden_size, bias, device, dtype)

    def forward(self, x: Any, hx: Any = None) -> Tensor:
        """x: (N, in) or (in,); hx: (N, H) or (H,) -> (N, H) or (H,)."""
        x, unbatched = self._check_input(x)
        h = self._check_state(hx, x.shape[0], unbatched, "hx")
        h = _activate(self._preactivation(x, h), self.nonlinearity)
        return h.reshape(-1) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step with PyTorch's equations and gate order (i, f, g, o); see `LSTM`.

    LSTMCell(input_size, hidden_size, bias=True). weight_ih: (4H, in), weight_hh: (4H, H),
    bias_ih, bias_hh: (4H,), drawn from U(-1/sqrt(H), 1/sqrt(H)).
    forward(x, hx=None): x (N, in) or (in,), hx = (h, c), each (N, H) or (H,) (None: zeros)
    -> (h', c').
    """

    _gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ):
        super().__init__("LSTMCell", input_size, hidden_size, bias, device, dtype)

    def forward(self, x: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        """x: (N, in) or (in,); hx: (h, c), each (N, H) or (H,) -> (h', c')."""
        x, unbatched = self._check_input(x)
        if hx is None:
            h = c = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h = self._check_state(hx[0], x.shape[0], unbatched, "h")
            c = self._check_state(hx[1], x.shape[0], unbatched, "c")
        else:
            raise TypeError(f"{self._label()}: hx must be a pair (h, c) or None, got {type(hx).__name__}")
        h, c = _lstm_update(self._preactivation(x, h), c, self.hidden_size)
        if unbatched:
            return h.reshape(-1), c.reshape(-1)
        return h, c
