"""Fused loss nodes: numerically stable in forward, with simple exact gradients.

Each is one node where composing engine ops would be slower or unstable at the edges:
  SoftmaxCrossEntropy         log_softmax + negative log-likelihood (+ reduction)
  BinaryCrossEntropy          -(t log x + (1 - t) log(1 - x)), logs clamped at -100
  BinaryCrossEntropyWithLogits  the same on logits, without overflow for any x

Arguments are validated by the public functions in `nn.functional`, where the user's call
enters; the nodes assume valid shapes and dtypes.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..grad_mode import is_grad_enabled

REDUCTIONS = ("mean", "sum", "none")


def _class_index(t: np.ndarray) -> tuple:
    """The index that picks, from an (N, C, *d) array, the entries of the classes in the
    (N, *d) integer array t: a[_class_index(t)] has t's shape (and can be assigned to)."""
    if t.ndim == 1:
        return np.arange(t.shape[0]), t
    grids = np.ix_(*[np.arange(n) for n in t.shape])
    return (grids[0], t) + grids[1:]


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of logits against class indices or class probabilities, reduced.

    x: (N, C, *d) logits (float). t: (N, *d) integer class indices (entries equal to
    `ignore_index` contribute nothing), or (N, C, *d) probabilities of x's dtype.
    Output: () for reduction 'mean'/'sum', (N, *d) for 'none'. 'mean' divides by the number
    of non-ignored targets (index targets) or by N * prod(d) (probability targets).

    Gradient: (softmax(x) * sum_c(t) - t) * g, i.e. (softmax - onehot) / N for a batch mean;
    for probability targets also d/dt = -log_softmax(x) * g. A recorded backward computes the
    softmax again from x in the graph (for higher derivatives); otherwise the forward's is used.
    """

    array_backward = True

    def __init__(self, reduction: str = "mean", ignore_index: int = -100):
        self.reduction, self.ignore_index = reduction, ignore_index

    def _targets(self, t: np.ndarray) -> tuple:
        """(index of each sample's class in an (N, C, *d) array, mask of counted targets or None)."""
        valid = t != self.ignore_index
        if valid.all():
            return _class_index(t), None
        return _class_index(np.where(valid, t, 0)), valid

    def forward(self, x, t):
        z = x - x.max(axis=1, keepdims=True)  # array methods: less dispatch than np.max
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        e /= s
        self.hard = t.dtype.kind in "iu"
        if self.hard:
            t_idx, valid = self._targets(t)
            loss = np.log(s)[:, 0] - z[t_idx]
            if valid is not None:
                loss *= valid
            self.count = int(valid.sum()) if valid is not None else t.size
            self.save_for_backward(x, t, e)  # e: the softmax
        else:
            logp = z - np.log(s)
            loss = -np.sum(t * logp, axis=1)
            self.count = loss.size
            self.save_for_backward(x, t, e, logp)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "sum":
            return total
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan, as PyTorch
            return total / x.dtype.type(self.count)

    def _scale(self, gy):
        """The upstream gradient, shaped to broadcast against (N, C, *d)."""
        if self.reduction == "none":
            return gy.reshape(gy.shape[:1] + (1,) + gy.shape[1:])
        if self.reduction == "mean":
            return gy / max(self.count, 1)  # all ignored: the masked gradient is 0, not nan
        return gy

    def backward(self, gy):
        x, t, p = self.saved_tensors[:3]
        recorded = is_grad_enabled()
        if recorded:
            p = x.softmax(axis=1)
        g = self._scale(gy)
        if self.hard:
            t_idx, valid = self._targets(t.data if recorded else t)
            onehot = np.zeros(p.shape, dtype=p.dtype)
            onehot[t_idx] = 1
            gx = (p - onehot) * g
            if valid is not None:
                gx = gx * np.expand_dims(valid, 1)
            return gx, None
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = (p * t.sum(axis=1, keepdims=True) - t) * g
        if self.needs_input_grad[1]:
            logp = x.log_softmax(axis=1) if recorded else self.saved_tensors[3]
            gt = -logp * g
        return gx, gt


class BinaryCrossEntropy(Function):
    """Elementwise -(t * log(x) + (1 - t) * log(1 - x)) with each log clamped at -100.

    x, t: the same shape, x in [0, 1]. The gradient for x is (x - t) / max(x (1 - x), 1e-12)
    (finite at x = 0 and x = 1, like PyTorch); for t it is log(1 - x) - log(x) (clamped).
    """

    def forward(self, x, t):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        self.save_for_backward(x, t)
        return -(t * log_x + (1 - t) * log_1mx)

    def backward(self, gy):
        x, t = self.saved_tensors
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = gy * (x - t) / (x * (1 - x)).maximum(1e-12)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gt = gy * ((1 - x).log().maximum(-100) - x.log().maximum(-100))
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """Elementwise binary cross-entropy of sigmoid(x) against t, computed from the logits x.

    Forward max(x, 0) - x * t + log(1 + exp(-|x|)) never overflows; the gradient for x is
    sigmoid(x) - t, for t it is -x.
    """

    def forward(self, x, t):
        self.save_for_backward(x, t)
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def backward(self, gy):
        x, t = self.saved_tensors
        gx = gy * (x.sigmoid() - t) if self.needs_input_grad[0] else None
        gt = gy * -x if self.needs_input_grad[1] else None
        return gx, gt
