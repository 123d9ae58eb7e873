"""Tests for nn.rnn: Embedding, RNN, LSTM, RNNCell, LSTMCell.

Forward values are checked against a direct numpy loop over PyTorch's equations, gradients
with float64 gradcheck, and (when torch is importable) both against torch.nn.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_kr as tg
from nn import functional as F
from nn.optim import Adam
from nn.rnn import LSTM, RNN, Embedding, LSTMCell, RNNCell

# --------------------------------------------------------------------------------------------
# Reference: PyTorch's equations as a plain numpy loop
# --------------------------------------------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_rnn(params: dict, x, h0=None, c0=None, kind="tanh", batch_first=True):
    """numpy reference for RNN (kind 'tanh'/'relu') and LSTM (kind 'lstm').

    params: name -> array (PyTorch names). x: (N, T, in) if batch_first else (T, N, in).
    Returns (output, h_n, c_n) in the same layout (c_n None for RNN).
    """
    if batch_first:
        x = x.transpose(1, 0, 2)
    T, N, _ = x.shape
    L = sum(1 for k in params if k.startswith("weight_ih_l"))
    H = params["weight_hh_l0"].shape[1]
    layer_in = [x[t] for t in range(T)]
    h_n, c_n = [], []
    for k in range(L):
        W_ih, W_hh = params[f"weight_ih_l{k}"], params[f"weight_hh_l{k}"]
        b = params.get(f"bias_ih_l{k}", 0) + params.get(f"bias_hh_l{k}", 0)
        h = np.zeros((N, H)) if h0 is None else h0[k]
        c = np.zeros((N, H)) if c0 is None else c0[k]
        outs = []
        for t in range(T):
            z = layer_in[t] @ W_ih.T + h @ W_hh.T + b
            if kind == "lstm":
                i, f = _sigmoid(z[:, :H]), _sigmoid(z[:, H:2 * H])
                g, o = np.tanh(z[:, 2 * H:3 * H]), _sigmoid(z[:, 3 * H:])
                c = f * c + i * g
                h = o * np.tanh(c)
            elif kind == "tanh":
                h = np.tanh(z)
            else:
                h = np.maximum(z, 0)
            outs.append(h)
        h_n.append(h)
        c_n.append(c)
        layer_in = outs
    out = np.stack(layer_in, axis=1 if batch_first else 0)
    return out, np.stack(h_n), (np.stack(c_n) if kind == "lstm" else None)


def _params(m) -> dict:
    return {k: v.copy() for k, v in m.state_dict().items()}


def _make(kind: str, in_size: int, H: int, L: int, batch_first: bool, dtype=np.float64, **kw):
    if kind == "lstm":
        return LSTM(in_size, H, num_layers=L, batch_first=batch_first, dtype=dtype, **kw)
    return RNN(in_size, H, num_layers=L, nonlinearity=kind, batch_first=batch_first, dtype=dtype, **kw)


def _run(m, kind, x, h0=None, c0=None):
    """(output, h_n, c_n) of the module (c_n None for RNN)."""
    if kind == "lstm":
        out, (h, c) = m(x, None if h0 is None else (h0, c0))
        return out, h, c
    out, h = m(x, h0)
    return out, h, None


# --------------------------------------------------------------------------------------------
# Parameters and initialization
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls,G", [(RNN, 1), (LSTM, 4)])
def test_parameter_names_and_shapes(cls, G):
    m = cls(3, 5, num_layers=3)
    expect = []
    for k in range(3):
        n_in = 3 if k == 0 else 5
        expect += [(f"weight_ih_l{k}", (G * 5, n_in)), (f"weight_hh_l{k}", (G * 5, 5)),
                   (f"bias_ih_l{k}", (G * 5,)), (f"bias_hh_l{k}", (G * 5,))]
    assert [(n, p.shape) for n, p in m.named_parameters()] == expect
    assert all(p.dtype == np.float32 and p.requires_grad for p in m.parameters())
    nobias = cls(3, 5, num_layers=2, bias=False)
    names = [n for n, _ in nobias.named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]


@pytest.mark.parametrize("cls,G", [(RNNCell, 1), (LSTMCell, 4)])
def test_cell_parameter_names_and_shapes(cls, G):
    m = cls(3, 5)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        ("weight_ih", (G * 5, 3)), ("weight_hh", (G * 5, 5)), ("bias_ih", (G * 5,)), ("bias_hh", (G * 5,))
    ]


def test_init_distributions():
    tg.manual_seed(0)
    H = 64
    m = LSTM(32, H, num_layers=2)
    bound = 1 / np.sqrt(H)
    allp = np.concatenate([p.data.ravel() for p in m.parameters()])
    assert np.abs(allp).max() <= bound
    # U(-b, b): mean 0, std b / sqrt(3)
    assert abs(allp.mean()) < 0.02 * bound
    assert abs(allp.std() - bound / np.sqrt(3)) < 0.02 * bound
    e = Embedding(1000, 64)
    assert e.weight.shape == (1000, 64) and e.weight.dtype == np.float32
    assert abs(e.weight.data.mean()) < 0.01 and abs(e.weight.data.std() - 1) < 0.01
    tg.manual_seed(5)
    a = LSTM(3, 4).state_dict()
    tg.manual_seed(5)
    b = LSTM(3, 4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_repr():
    assert repr(LSTM(3, 5, num_layers=2)) == "LSTM(3, 5, num_layers=2, batch_first=True)"
    r = RNN(3, 5, nonlinearity="relu", batch_first=False)
    assert repr(r) == "RNN(3, 5, nonlinearity='relu', batch_first=False)"
    assert repr(Embedding(10, 3)) == "Embedding(10, 3)"


# --------------------------------------------------------------------------------------------
# Forward values against the numpy loop
# --------------------------------------------------------------------------------------------


@given(
    kind=st.sampled_from(["tanh", "relu", "lstm"]),
    N=st.integers(1, 3), T=st.integers(1, 9), in_size=st.integers(1, 4), H=st.integers(1, 5),
    L=st.integers(1, 3), batch_first=st.booleans(), with_h0=st.booleans(), bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_forward_matches_reference(kind, N, T, in_size, H, L, batch_first, with_h0, bias, seed):
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    m = _make(kind, in_size, H, L, batch_first, bias=bias)
    x = rng.standard_normal((N, T, in_size) if batch_first else (T, N, in_size))
    h0 = rng.standard_normal((L, N, H)) if with_h0 else None
    c0 = rng.standard_normal((L, N, H)) if with_h0 else None
    out, h, c = _run(m, kind, tg.Tensor(x), None if h0 is None else tg.Tensor(h0),
                     None if c0 is None else tg.Tensor(c0))
    r_out, r_h, r_c = ref_rnn(_params(m), x, h0, c0, kind, batch_first)
    assert out.shape == r_out.shape and h.shape == (L, N, H)
    np.testing.assert_allclose(out.data, r_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.data, r_h, rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(c.data, r_c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["tanh", "lstm"])
def test_unbatched_input_is_batch_of_one(kind):
    tg.manual_seed(1)
    rng = np.random.default_rng(1)
    for batch_first in (True, False):
        m = _make(kind, 3, 4, 2, batch_first)
        x = rng.standard_normal((6, 3))
        h0, c0 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
        out, h, c = _run(m, kind, tg.Tensor(x), tg.Tensor(h0), tg.Tensor(c0))
        assert out.shape == (6, 4) and h.shape == (2, 4)
        r_out, r_h, r_c = ref_rnn(_params(m), x[:, None], h0[:, None], c0[:, None], kind, batch_first=False)
        np.testing.assert_allclose(out.data, r_out[:, 0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h.data, r_h[:, 0], rtol=1e-10, atol=1e-12)
        if kind == "lstm":
            assert c.shape == (2, 4)
            np.testing.assert_allclose(c.data, r_c[:, 0], rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    m = LSTM(3, 4, num_layers=2)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32), requires_grad=True)
    out, (h, c) = m(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    (out * out).sum().backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in m.parameters())
    e = Embedding(5, 3)
    y = e(np.array([1, 1, 4]))
    assert y.dtype == np.float32
    y.sum().backward()
    assert e.weight.grad.dtype == np.float32


def test_cells_match_reference_and_layers():
    tg.manual_seed(2)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 2))  # (T, N, in)
    lstm = LSTM(2, 4, batch_first=False, dtype=np.float64)
    cell = LSTMCell(2, 4, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    state = None
    for t in range(5):
        state = cell(tg.Tensor(x[t]), state)
    out, (h, c) = lstm(tg.Tensor(x))
    np.testing.assert_allclose(state[0].data, h.data[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state[1].data, c.data[0], rtol=1e-12, atol=1e-14)
    for nl in ("tanh", "relu"):
        rnn = RNN(2, 4, nonlinearity=nl, batch_first=False, dtype=np.float64)
        rcell = RNNCell(2, 4, nonlinearity=nl, dtype=np.float64)
        rcell.load_state_dict({k[:-3]: v for k, v in rnn.state_dict().items()})
        hc = None
        for t in range(5):
            hc = rcell(tg.Tensor(x[t]), hc)
        np.testing.assert_allclose(hc.data, rnn(tg.Tensor(x))[1].data[0], rtol=1e-12, atol=1e-14)
    # unbatched cells
    h1, c1 = cell(tg.Tensor(x[0, 0]), (tg.Tensor(np.ones(4)), tg.Tensor(np.ones(4))))
    h2, c2 = cell(tg.Tensor(x[0, :1]), (tg.Tensor(np.ones((1, 4))), tg.Tensor(np.ones((1, 4)))))
    assert h1.shape == c1.shape == (4,)
    np.testing.assert_allclose(h1.data, h2.data[0])
    np.testing.assert_allclose(c1.data, c2.data[0])


# --------------------------------------------------------------------------------------------
# Gradients (float64 gradcheck)
# --------------------------------------------------------------------------------------------


def _gradcheck_module(m, kind, x, h0=None, c0=None):
    """gradcheck of the concatenated (output, h_n, c_n) w.r.t. input, states and parameters."""
    params = list(m.parameters())
    extra = [t for t in (h0, c0) if t is not None]

    def fn(x, *rest):
        hs = rest[:len(extra)]
        out, h, c = _run(m, kind, x, *hs) if hs else _run(m, kind, x)
        parts = [out.reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if c is not None else [])
        return tg.concatenate(parts)

    assert tg.gradcheck(fn, [x] + extra + params)


@pytest.mark.parametrize("kind", ["tanh", "relu"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("with_h0", [True, False])
def test_rnn_gradcheck(kind, batch_first, with_h0):
    tg.manual_seed(3)
    rng = np.random.default_rng(3)
    m = _make(kind, 2, 3, 2, batch_first)
    x = tg.Tensor(rng.standard_normal((2, 4, 2) if batch_first else (4, 2, 2)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True) if with_h0 else None
    _gradcheck_module(m, kind, x, h0)


@pytest.mark.parametrize("with_state", [True, False])
def test_lstm_gradcheck(with_state):
    tg.manual_seed(4)
    rng = np.random.default_rng(4)
    m = _make("lstm", 2, 3, 2, True)
    x = tg.Tensor(rng.standard_normal((2, 4, 2)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True) if with_state else None
    c0 = tg.Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True) if with_state else None
    _gradcheck_module(m, "lstm", x, h0, c0)


def test_lstm_gradcheck_time_major_long_sequence():
    """T > 4 exercises the tree that splits a grad-requiring input into its steps."""
    tg.manual_seed(5)
    rng = np.random.default_rng(5)
    m = LSTM(1, 2, batch_first=False, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((19, 2, 1)), requires_grad=True)
    _gradcheck_module(m, "lstm", x)


def test_cells_gradcheck():
    tg.manual_seed(6)
    rng = np.random.default_rng(6)
    cell = LSTMCell(2, 3, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def f(x, h, c, *params):
        h2, c2 = cell(x, (h, c))
        return tg.concatenate([h2, c2], axis=1)

    assert tg.gradcheck(f, [x, h, c] + list(cell.parameters()))
    rcell = RNNCell(2, 3, dtype=np.float64)
    assert tg.gradcheck(lambda x, h, *params: rcell(x, h), [x, h] + list(rcell.parameters()))
    assert tg.gradcheck(lambda x, *params: rcell(x), [x] + list(rcell.parameters()))


def test_rnn_second_order_gradcheck():
    """create_graph through the recurrence: d/dW of |d out / d x|^2 by central differences."""
    tg.manual_seed(7)
    rng = np.random.default_rng(7)
    m = RNN(2, 2, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((1, 3, 2)), requires_grad=True)

    def f(x, W):
        out, _ = m(x)
        (gx,) = tg.grad((out * out).sum(), [x], create_graph=True)
        return (gx * gx).sum()

    assert tg.gradcheck(f, [x, m.weight_hh_l0])


def test_embedding_gradcheck_repeated_indices():
    tg.manual_seed(8)
    e = Embedding(5, 3, dtype=np.float64)
    idx = np.array([[0, 2, 2], [4, 2, 0]])
    assert tg.gradcheck(lambda w: e(idx), [e.weight])


def test_embedding_forward_and_accumulating_gradient():
    e = Embedding(6, 2)
    idx = tg.Tensor(np.array([[[1, 3], [3, 3]], [[0, 1], [5, 3]]]))
    y = e(idx)
    assert y.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(y.data, e.weight.data[idx.data])
    y.sum().backward()
    counts = np.bincount(idx.data.ravel(), minlength=6).astype(np.float32)
    np.testing.assert_array_equal(e.weight.grad.data, np.repeat(counts[:, None], 2, axis=1))
    assert e(np.array(2)).shape == (2,)  # a 0-d index gives one vector
    assert e(np.array([], dtype=np.int64)).shape == (0, 2)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_embedding_errors():
    e = Embedding(4, 2)
    with pytest.raises(TypeError, match=r"Embedding: indices must be integers.*float"):
        e(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="Embedding"):
        e(tg.Tensor([1.0]))
    with pytest.raises(IndexError, match=r"Embedding: index 4 is out of range for 4"):
        e(np.array([0, 4]))
    with pytest.raises(IndexError, match=r"Embedding: index -1 is out of range"):
        e(np.array([-1, 2]))
    with pytest.raises(ValueError, match="num_embeddings"):
        Embedding(0, 3)


def test_rnn_errors():
    m = LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(N, T, input_size\).*\(2, 5, 4"):
        m(tg.zeros(2, 5, 4))
    with pytest.raises(TypeError, match=r"LSTM: input dtype float64 differs from the weight dtype float32"):
        m(tg.Tensor(np.zeros((2, 5, 3))))
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        m(tg.zeros(2, 5, 3), (tg.zeros(1, 2, 4), tg.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="LSTM: hx must be a pair"):
        m(tg.zeros(2, 5, 3), tg.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="empty"):
        m(tg.zeros(2, 0, 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        RNN(3, 0)
    with pytest.raises(ValueError, match=r"RNNCell: expected input of shape \(N, 3\)"):
        RNNCell(3, 4)(tg.zeros(2, 2))
    with pytest.raises(ValueError, match="LSTMCell: expected h of shape"):
        LSTMCell(3, 4)(tg.zeros(2, 3), (tg.zeros(3, 4), tg.zeros(2, 4)))


# --------------------------------------------------------------------------------------------
# Truncated BPTT and dropout
# --------------------------------------------------------------------------------------------


def test_truncated_bptt_detach_stops_gradient():
    tg.manual_seed(9)
    rng = np.random.default_rng(9)
    emb1, emb2 = Embedding(5, 3, dtype=np.float64), Embedding(5, 3, dtype=np.float64)
    lstm = LSTM(3, 4, dtype=np.float64)
    idx1, idx2 = rng.integers(0, 5, (2, 6)), rng.integers(0, 5, (2, 6))

    _, (h, c) = lstm(emb1(idx1))  # chunk 1: emb1 is used only here
    out2, _ = lstm(emb2(idx2), (h.detach(), c.detach()))
    (out2 * out2).sum().backward()
    assert emb1.weight.grad is None  # nothing flowed back into the previous chunk
    assert emb2.weight.grad is not None
    grads = {n: p.grad.data.copy() for n, p in lstm.named_parameters()}

    # the same as starting chunk 2 from constant states
    lstm.zero_grad()
    out3, _ = lstm(emb2(idx2), (tg.Tensor(h.data.copy()), tg.Tensor(c.data.copy())))
    (out3 * out3).sum().backward()
    for n, p in lstm.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads[n], rtol=1e-12, atol=1e-14)

    # control: without detach the gradient does reach chunk 1
    _, (h, c) = lstm(emb1(idx1))
    out4, _ = lstm(emb2(idx2), (h, c))
    (out4 * out4).sum().backward()
    assert emb1.weight.grad is not None and np.abs(emb1.weight.grad.data).sum() > 0


def test_dropout_between_layers():
    tg.manual_seed(10)
    m = LSTM(3, 4, num_layers=2, dropout=0.5)
    ref = LSTM(3, 4, num_layers=2)
    ref.load_state_dict(m.state_dict())
    x = tg.randn(2, 5, 3)
    m.eval()
    np.testing.assert_array_equal(m(x)[0].data, ref(x)[0].data)
    m.train()
    tg.manual_seed(11)
    a = m(x)[0].data
    tg.manual_seed(11)
    b = m(x)[0].data
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, ref(x)[0].data)
    # the last layer's output is never dropped: its h_n equals the last output step
    out, (h, _) = m(x)
    np.testing.assert_array_equal(out.data[:, -1], h.data[-1])
    with pytest.raises(ValueError, match="dropout"):
        LSTM(3, 4, dropout=1.5)


# --------------------------------------------------------------------------------------------
# Training sanity: an LSTM learns to echo the previous token
# --------------------------------------------------------------------------------------------


def test_lstm_learns_delayed_echo():
    """Output at step t = the token at step t-1 (needs memory); >= 95% accuracy in seconds."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    V, T, N, H = 4, 8, 32, 16
    emb, lstm = Embedding(V, 8), LSTM(8, H)
    W = tg.Tensor(rng.uniform(-0.25, 0.25, (V, H)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(V, dtype=np.float32), requires_grad=True)
    params = list(emb.parameters()) + list(lstm.parameters()) + [W, b]
    opt = Adam(params, lr=0.02)

    def batch(n):
        tok = rng.integers(0, V, (n, T))
        return tok, tok[:, :-1]

    start = time.perf_counter()
    for _ in range(200):
        tok, target = batch(N)
        out, _ = lstm(emb(tok))
        logits = F.linear(out[:, 1:].reshape(-1, H), W, b)
        loss = F.cross_entropy(logits, target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    tok, target = batch(256)
    with tg.no_grad():
        out, _ = lstm(emb(tok))
        pred = F.linear(out[:, 1:], W, b).data.argmax(-1)
    acc = (pred == target).mean()
    print(f"delayed echo: accuracy {acc:.3f} after {elapsed:.2f} s")
    assert acc >= 0.95, f"accuracy {acc:.3f} after {elapsed:.1f} s"


# --------------------------------------------------------------------------------------------
# Optional: the same numbers as torch.nn
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lstm", "tanh", "relu"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_matches_torch(kind, batch_first):
    torch = pytest.importorskip("torch")
    tg.manual_seed(12)
    rng = np.random.default_rng(12)
    m = _make(kind, 3, 5, 2, batch_first)
    if kind == "lstm":
        t = torch.nn.LSTM(3, 5, num_layers=2, batch_first=batch_first, dtype=torch.float64)
    else:
        t = torch.nn.RNN(3, 5, num_layers=2, nonlinearity=kind, batch_first=batch_first, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    x = rng.standard_normal((2, 7, 3) if batch_first else (7, 2, 3))
    h0, c0 = rng.standard_normal((2, 2, 5)), rng.standard_normal((2, 2, 5))
    w = rng.standard_normal((2, 7, 5) if batch_first else (7, 2, 5))
    wh = rng.standard_normal((2, 2, 5))

    xs, hs, cs = (tg.Tensor(a, requires_grad=True) for a in (x, h0, c0))
    out, h, c = _run(m, kind, xs, hs, cs)
    loss = (out * tg.Tensor(w)).sum() + (h * tg.Tensor(wh)).sum()
    if c is not None:
        loss = loss + (c * tg.Tensor(wh)).sum()
    loss.backward()

    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    if kind == "lstm":
        o2, (h2, c2) = t(xt, (ht, ct))
    else:
        o2, h2 = t(xt, ht)
    loss2 = (o2 * torch.tensor(w)).sum() + (h2 * torch.tensor(wh)).sum()
    if kind == "lstm":
        loss2 = loss2 + (c2 * torch.tensor(wh)).sum()
        np.testing.assert_allclose(c.data, c2.detach().numpy(), rtol=1e-10, atol=1e-12)
    loss2.backward()
    np.testing.assert_allclose(out.data, o2.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.data, h2.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hs.grad.data, ht.grad.numpy(), rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(cs.grad.data, ct.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(m.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    e = Embedding(7, 3, dtype=np.float64)
    te = torch.nn.Embedding(7, 3, dtype=torch.float64)
    te.load_state_dict({"weight": torch.tensor(e.weight.data)})
    idx = np.array([[1, 6, 1], [0, 1, 6]])
    w = np.random.default_rng(0).standard_normal((2, 3, 3))
    (e(idx) * tg.Tensor(w)).sum().backward()
    (te(torch.tensor(idx)) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(e.weight.grad.data, te.weight.grad.numpy(), rtol=1e-12)
