"""Elementwise op nodes: arithmetic, transcendental functions and activations.

Each class is one node of the graph, forward (numpy) and backward (Tensor ops) side by side,
like the MulLayer/AddLayer of the textbook. Binary ops broadcast; the engine sums each
gradient down to its input's shape, so their backward is just the textbook formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, where
from . import workspace

# ---- arithmetic ----------------------------------------------------------------------------


class Add(Function):
    """a + b. Gradients: gy and gy."""

    array_backward = True

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """a - b. Gradients: gy and -gy."""

    array_backward = True

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy if self.needs_input_grad[1] else None


class Neg(Function):
    """-x. Gradient: -gy."""

    array_backward = True

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Mul(Function):
    """a * b. Gradients: gy * b and gy * a (the textbook's MulLayer)."""

    array_backward = True

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad  # each gradient needs the other input only
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    def backward(self, gy):
        a, b = self.saved_tensors
        ga = gy * b if self.needs_input_grad[0] else None
        gb = gy * a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """a / b (floats; the caller converts integers). Gradients: gy / b and -gy * a / b**2."""

    array_backward = True

    def forward(self, a, b):
        self.save_for_backward(a if self.needs_input_grad[1] else None, b)  # only gb needs a
        return a / b

    def backward(self, gy):
        a, b = self.saved_tensors
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """x ** p. Gradients: gy * p * x**(p-1) (0 where p == 0, so x**0 has gradient 0 even at
    x = 0) and gy * x**p * log(x) (0 where x == 0 and p >= 0), both as in PyTorch."""

    def forward(self, x, p):
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 = inf, as in PyTorch
            y = np.power(x, p)
        self.save_for_backward(x, p, y)
        return y

    def backward(self, gy):
        x, p, y = self.saved_tensors
        gx = gp = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                gx = where(p.data == 0, 0.0, gy * p * x ** (p - 1))
            if self.needs_input_grad[1]:
                gp = where((x.data == 0) & (p.data >= 0), 0.0, gy * y * x.log())
        return gx, gp


# ---- unary math ------------------------------------------------------------------------------


class Exp(Function):
    """exp(x). Gradient: gy * exp(x), the output itself."""

    array_backward = True

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    """Natural log; log(0) = -inf without a warning (its gradient there is inf)."""

    array_backward = True

    def forward(self, x):
        self.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        with np.errstate(divide="ignore"):
            return gy / x


class Sqrt(Function):
    """Square root; the gradient at 0 is inf (1 / (2 * sqrt(0)))."""

    array_backward = True

    def forward(self, x):
        with np.errstate(invalid="ignore"):
            y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        with np.errstate(divide="ignore"):
            return gy / (y * 2)


class Abs(Function):
    """|x|. Gradient: gy * sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * Sign()(x)


class Sin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * x.cos()


class Cos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * -x.sin()


class Tanh(Function):
    """tanh(x). Gradient: gy * (1 - y**2), from the output y."""

    array_backward = True

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (1 - y * y)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), without overflow for any x. Gradient: gy * y * (1 - y)."""

    array_backward = True

    def forward(self, x):
        # exp of -|x| only: no overflow at +-1000, full precision in both tails.
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y * (1 - y)


# ---- piecewise functions: their derivative is a step ---------------------------------------


class Step(Function):
    """1 where x > 0, else 0 (in x's dtype; at NaN: `nan`, 0 by default). Its derivative is 0
    everywhere; as a node it keeps a recorded gradient such as ReLU's connected to x, so that
    differentiating that gradient again gives zeros (a gradient penalty), as in PyTorch,
    instead of "does not require grad"."""

    array_backward = True

    def __init__(self, nan: float = 0.0):
        self.nan = nan

    def forward(self, x):
        if self.nan:  # 1 unless x <= 0: NaN counts as positive
            return np.logical_not(x <= 0).astype(x.dtype)
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return gy * 0


class Sign(Function):
    """-1, 0 or 1 by the sign of x; derivative 0 (see Step)."""

    array_backward = True

    def forward(self, x):
        return np.sign(x)

    def backward(self, gy):
        return gy * 0


def step(y: Any) -> Any:
    """Where y > 0: the Step node for a Tensor, a boolean mask for an array."""
    return Step()(y) if isinstance(y, Tensor) else y > 0


def relu_mask(y: np.ndarray) -> np.ndarray:
    """Where ReLU passes its gradient, from its output y: everywhere but y <= 0 (so NaN lets
    it through, as PyTorch's threshold_backward does); a bool array in reused memory."""
    mask = np.less_equal(y, 0, out=workspace.empty_like(y, bool))
    return np.logical_not(mask, out=mask)


class ReLU(Function):
    """max(x, 0). Gradient: gy except where the output is <= 0 (NaN passes it, as PyTorch)."""

    array_backward = True

    def forward(self, x):
        y = np.maximum(x, 0, out=workspace.empty_like(x))  # (big activations: reused memory)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        if isinstance(gy, np.ndarray):  # a plain backward: into reused memory
            return np.multiply(gy, relu_mask(y), out=workspace.empty_like(gy))
        return gy * Step(nan=1.0)(y)


class LeakyReLU(Function):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01):
        self.slope = negative_slope

    def forward(self, x):
        self.save_for_backward(x)
        return np.where(x > 0, x, x * x.dtype.type(self.slope))

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * (step(x) * (1 - self.slope) + self.slope)


class ELU(Function):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        self.save_for_backward(x)
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * x.dtype.type(self.alpha))

    def backward(self, gy):
        (x,) = self.saved_tensors
        # d/dx alpha*(exp(x)-1) = alpha*exp(x), written with Tensor ops for higher order.
        return gy * where(x.data > 0, 1.0, x.minimum(0).exp() * self.alpha)


class Clip(Function):
    """x limited to [min, max] (either may be None). Gradient: gy inside the range, else 0."""

    array_backward = True

    def __init__(self, min: Any = None, max: Any = None):
        self.lo, self.hi = min, max

    def forward(self, x):
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        self.save_for_backward(inside)
        return np.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        (inside,) = self.saved_tensors
        return gy * inside


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly, as in PyTorch."""

    array_backward = True

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        half = a.dtype.type(0.5)
        wa = (a > b).astype(a.dtype) + (a == b) * half  # 1, 1/2 or 0: a's share
        return gy * wa, gy * (1 - wa)


class Minimum(Function):
    """Elementwise min; at ties the gradient is split evenly, as in PyTorch."""

    array_backward = True

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        half = a.dtype.type(0.5)
        wa = (a < b).astype(a.dtype) + (a == b) * half  # 1, 1/2 or 0: a's share
        return gy * wa, gy * (1 - wa)


class Where(Function):
    """where(cond, x, y) for a boolean tensor cond (not differentiated)."""

    array_backward = True

    def forward(self, cond, x, y):
        self.save_for_backward(cond)
        return np.where(cond, x, y)

    def backward(self, gy):
        (cond,) = self.saved_tensors
        gx = gy * cond if self.needs_input_grad[1] else None
        gyy = gy * ~cond if self.needs_input_grad[2] else None
        return None, gx, gyy


class Cast(Function):
    """astype between float dtypes (the gradient is cast back)."""

    array_backward = True

    def __init__(self, dtype: Any):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.src)
