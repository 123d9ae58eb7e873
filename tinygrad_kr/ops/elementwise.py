"""Elementwise op nodes: arithmetic, transcendental functions and activations.

Each class is one node of the graph, forward (numpy) and backward (Tensor ops) side by side,
like the MulLayer/AddLayer of the textbook. Binary ops broadcast; their backward reduces the
gradient to each input's shape with `unbroadcast`.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, unbroadcast


def _ensure_float(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cast an integer result of a float op (e.g. int / int) to the float it should be."""
    return y if y.dtype.kind in "fc" else y.astype(np.float32)


# ---- arithmetic ----------------------------------------------------------------------------


class Add(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        gy, a, b = self.plain(gy, *self.inputs)
        ga = unbroadcast(gy, a) if self.needs_grad(0) else None
        return ga, unbroadcast(gy, b) if self.needs_grad(1) else None


class Sub(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        gy, a, b = self.plain(gy, *self.inputs)
        ga = unbroadcast(gy, a) if self.needs_grad(0) else None
        return ga, unbroadcast(-gy, b) if self.needs_grad(1) else None


class Neg(Function):
    saved_inputs = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        (gy,) = self.plain(gy)
        return -gy


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        gy, a, b = self.plain(gy, *self.inputs)
        ga = unbroadcast(gy * b, a) if self.needs_grad(0) else None
        gb = unbroadcast(gy * a, b) if self.needs_grad(1) else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        return _ensure_float(a, a / b)

    def backward(self, gy):
        gy, a, b = self.plain(gy, *self.inputs)
        ga = unbroadcast(gy / b, a) if self.needs_grad(0) else None
        gb = unbroadcast(-gy * a / (b * b), b) if self.needs_grad(1) else None
        return ga, gb


class Pow(Function):
    """x ** p; the gradient with respect to p is x**p * log(x) (defined for x > 0)."""

    def forward(self, x, p):
        return _ensure_float(x, np.power(x, p))

    def backward(self, gy):
        x, p = self.inputs
        gx = unbroadcast(gy * p * x ** (p - 1), x) if self.needs_grad(0) else None
        gp = unbroadcast(gy * x**p * x.log(), p) if self.needs_grad(1) else None
        return gx, gp


# ---- unary math ------------------------------------------------------------------------------


class Exp(Function):
    saved_inputs = ()
    save_output = True

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        gy, y = self.plain(gy, self.output())
        return gy * y


class Log(Function):
    """Natural log; log(0) = -inf without a warning (its gradient there is inf)."""

    def forward(self, x):
        with np.errstate(divide="ignore"):
            return np.log(x)

    def backward(self, gy):
        (x,) = self.inputs
        with np.errstate(divide="ignore"):
            return gy / x


class Sqrt(Function):
    """Square root; the gradient at 0 is inf (1 / (2 * sqrt(0)))."""

    saved_inputs = ()
    save_output = True

    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, gy):
        with np.errstate(divide="ignore"):
            return gy / (self.output() * 2)


class Abs(Function):
    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * np.sign(x.data)


class Sin(Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x.cos()


class Cos(Function):
    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * -x.sin()


class Tanh(Function):
    saved_inputs = ()
    save_output = True

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        gy, y = self.plain(gy, self.output())
        return gy * (1 - y * y)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed without overflow for any x."""

    saved_inputs = ()
    save_output = True

    def forward(self, x):
        # exp of -|x| only: no overflow at +-1000, full precision in both tails.
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, gy):
        gy, y = self.plain(gy, self.output())
        return gy * y * (1 - y)


# ---- activations (piecewise; the derivative is a constant mask) -------------------------------


class ReLU(Function):
    saved_inputs = ()

    def forward(self, x):
        y = np.maximum(x, 0)
        self.mask = y > 0
        return y

    def backward(self, gy):
        (gy,) = self.plain(gy)
        return gy * self.mask


class LeakyReLU(Function):
    saved_inputs = ()

    def __init__(self, negative_slope: float = 0.01):
        self.slope = negative_slope

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, x * x.dtype.type(self.slope))

    def backward(self, gy):
        return gy * np.where(self.mask, 1, self.slope).astype(gy.dtype)


class ELU(Function):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * x.dtype.type(self.alpha))

    def backward(self, gy):
        (x,) = self.inputs
        pos = x.data > 0
        # d/dx alpha*(exp(x)-1) = alpha*exp(x), written with Tensor ops for higher order.
        neg = (x.minimum(0)).exp() * self.alpha
        return gy * (neg * ~pos + pos)


class Clip(Function):
    saved_inputs = ()

    def __init__(self, min=None, max=None):
        self.lo, self.hi = min, max

    def forward(self, x):
        self.mask = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.mask &= x >= self.lo
        if self.hi is not None:
            self.mask &= x <= self.hi
        return np.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        return gy * self.mask


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly, as in PyTorch."""

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        wa = (a.data > b.data) + (a.data == b.data) * 0.5
        ga = unbroadcast(gy * wa, a) if self.needs_grad(0) else None
        gb = unbroadcast(gy * (1 - wa), b) if self.needs_grad(1) else None
        return ga, gb


class Minimum(Function):
    """Elementwise min; at ties the gradient is split evenly, as in PyTorch."""

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        wa = (a.data < b.data) + (a.data == b.data) * 0.5
        ga = unbroadcast(gy * wa, a) if self.needs_grad(0) else None
        gb = unbroadcast(gy * (1 - wa), b) if self.needs_grad(1) else None
        return ga, gb


class Where(Function):
    """where(cond, x, y); cond is a constant boolean array."""

    saved_inputs = ()

    def __init__(self, cond: np.ndarray):
        self.cond = cond

    def forward(self, x, y):
        return np.where(self.cond, x, y)

    def backward(self, gy):
        x, y = self.inputs
        gx = unbroadcast(gy * self.cond, x) if self.needs_grad(0) else None
        gyy = unbroadcast(gy * ~self.cond, y) if self.needs_grad(1) else None
        return gx, gyy


class Cast(Function):
    """astype between float dtypes (the gradient is cast back)."""

    saved_inputs = ()

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.src)
