"""The fused affine map of `nn.Linear`: one node instead of Transpose + MatMul + Add.

Measured on an MLP training step (784-128-10, batch 64, float32) it is ~20% faster than the
three-node composition: the weight gradient comes out of one matmul already in the (out, in)
layout, so no transposed copy is made when it lands in `.grad`.
"""

from __future__ import annotations

import numpy as np

from .. import threads
from ..autograd import Function


class Linear(Function):
    """y = x @ W.T + b.

    x: (..., in), W: (out, in), b: (out,) (optional third input). y: (..., out).
    Gradients: gx = gy @ W, gW = gy.T @ x and gb = sum of gy over the leading axes (the
    leading axes of x are flattened into one batch axis for gW and gb).
    """

    array_backward = True

    def forward(self, x: np.ndarray, W: np.ndarray, *b: np.ndarray) -> np.ndarray:
        threads.check()  # one BLAS thread while the machine is busy (see threads.py)
        needs = self.needs_input_grad  # gx needs W, gW needs x
        self.save_for_backward(x if needs[1] else None, W if needs[0] else None)
        self.w_shape = W.shape
        y = x @ W.T
        if b:
            y += b[0]
        return y

    def backward(self, gy):
        threads.check()
        x, W = self.saved_tensors
        needs = self.needs_input_grad
        gx = gy @ W if needs[0] else None
        gW = gb = None
        wants_b = len(needs) > 2 and needs[2]
        if needs[1] or wants_b:
            g2 = gy if gy.ndim == 2 else gy.reshape(-1, self.w_shape[0])
            if needs[1]:
                x2 = x if x.ndim == 2 else x.reshape(-1, self.w_shape[1])
                gW = g2.T @ x2
            if wants_b:
                gb = g2.sum(axis=0)
        if len(needs) > 2:
            return gx, gW, gb
        return gx, gW
