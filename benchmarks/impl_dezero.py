"""dezero / dezero_f32: DeZero 0.0.13, the book's engine (optional dependency).

DeZero imports `np.int` (removed in NumPy 1.24) and matplotlib, so we alias np.int = int first.
Under NumPy 2 it drifts to float64: a Python-float constant becomes a 0-d float64 array (a
"strong" type), and SoftmaxCrossEntropy.backward multiplies by 1/N and subtracts an int64
one-hot, so every classifier gradient is float64.  "dezero" is the package as shipped;
"dezero_f32" uses a float32 cross-entropy backward and np.float32 constants in the op chain.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import run
from .run import Runner, Unavailable, register


def _dezero():
    if not hasattr(np, "int"):
        np.int = int  # type: ignore[attr-defined]  # read by dezero at import, no numeric effect
    try:
        import dezero
        import dezero.functions as F
        import dezero.layers as L
    except ImportError as e:
        raise Unavailable(f"needs dezero==0.0.13 and matplotlib: {e}") from None
    return dezero, F, L


def _cross_entropy(F, f32):
    if not f32:
        return F.softmax_cross_entropy

    class SoftmaxCrossEntropyF32(F.SoftmaxCrossEntropy):
        def backward(self, gy):
            x, t = self.inputs
            n, classes = x.shape
            onehot = np.eye(classes, dtype=x.dtype)[t.data]
            return (F.softmax(x) - onehot) * (gy * np.array(1 / n, x.dtype))
    return lambda x, t: SoftmaxCrossEntropyF32()(x, t)


def _grad_dtypes(params) -> dict:
    dtypes = {str(q.grad.dtype) for q in params if q.grad is not None}
    return {"grad_dtypes": ",".join(sorted(dtypes))}


def _classifier(p, f32, build):
    """A training step of the dezero.Model made by build(dezero, F, L, weights) with p's weights."""
    dezero, F, L = _dezero()
    model = build(dezero, F, L, p.params())
    opt = dezero.optimizers.SGD(lr=p.lr).setup(model)
    ce = _cross_entropy(F, f32)
    batches = itertools.cycle(zip(p.X, p.Y))
    params = list(model.params())

    def step():
        x, y = next(batches)
        loss = ce(model(x), y)
        model.cleargrads()
        loss.backward()
        opt.update()
        return float(loss.data)
    return Runner(step, check=lambda: _grad_dtypes(params))


def _set(layer, W, b):
    layer.W.data, layer.b.data = W, b


def _mlp(dezero, F, L, weights):
    W1, b1, W2, b2 = weights
    model = dezero.models.MLP((256, 10), activation=F.relu)
    _set(model.l0, np.ascontiguousarray(W1.T), b1)  # DeZero's Linear W is (in, out)
    _set(model.l1, np.ascontiguousarray(W2.T), b2)
    return model


def _cnn(dezero, F, L, weights):
    Wc1, bc1, Wc2, bc2, Wf, bf = weights

    class CNN(dezero.Model):
        def __init__(self):
            super().__init__()
            self.c1 = L.Conv2d(16, kernel_size=3, stride=1, pad=1, in_channels=1)
            self.c2 = L.Conv2d(32, kernel_size=3, stride=1, pad=1, in_channels=16)
            self.fc = L.Linear(10, in_size=1568)

        def forward(self, x):
            h = F.pooling(F.relu(self.c1(x)), 2, 2)
            h = F.pooling(F.relu(self.c2(h)), 2, 2)
            return self.fc(F.reshape(h, (len(h), -1)))

    model = CNN()
    _set(model.c1, Wc1, bc1)
    _set(model.c2, Wc2, bc2)
    _set(model.fc, np.ascontiguousarray(Wf.T), bf)
    return model


def _op_chain(p, f32):
    dezero, F, _ = _dezero()
    x = dezero.Variable(p.x0.copy())
    cm, ca = (np.float32(p.c_mul), np.float32(p.c_add)) if f32 else (p.c_mul, p.c_add)

    def step():
        x.cleargrad()
        s = F.sum(run.op_chain(x, p.n_ops, cm, ca, F.tanh))
        s.backward()
        return float(s.data)
    return Runner(step, check=lambda: {"grad_sum": float(x.grad.data.sum(dtype=np.float64)),
                                       "grad_dtypes": str(x.grad.data.dtype)})


@register("dezero", "big_matmul")
def matmul(p):
    dezero, F, _ = _dezero()
    A, B = (dezero.Variable(a) for a in p.params())

    def step():
        A.cleargrad()
        B.cleargrad()
        s = F.sum(F.matmul(A, B))
        s.backward()
        return float(s.data)
    return Runner(step, check=lambda: {"dA_sum": float(A.grad.data.sum(dtype=np.float64)),
                                       "dB_sum": float(B.grad.data.sum(dtype=np.float64))})


for _name, _f32 in (("dezero", False), ("dezero_f32", True)):
    register(_name, "mlp_step")(lambda p, f32=_f32: _classifier(p, f32, _mlp))
    register(_name, "cnn_step")(lambda p, f32=_f32: _classifier(p, f32, _cnn))
    register(_name, "op_overhead")(lambda p, f32=_f32: _op_chain(p, f32))
