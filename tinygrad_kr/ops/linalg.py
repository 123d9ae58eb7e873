"""Matrix product."""

from __future__ import annotations

import numpy as np

from .. import threads
from ..autograd import Function


class MatMul(Function):
    """a @ b for a: (..., n, k), b: (..., k, m) with broadcast batch axes.

    Gradients: gy @ b^T and a^T @ gy (summed over broadcast batch axes by the engine).
    1-D operands are reshaped by `Tensor.__matmul__` before they reach this node.
    """

    array_backward = True

    def forward(self, a, b):
        threads.check()  # one BLAS thread while the machine is busy (see threads.py)
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} are not aligned: "
                f"{a.shape[-1] if a.ndim else None} (axis {a.ndim - 1}) != "
                f"{b.shape[-2] if b.ndim > 1 else None} (axis {max(b.ndim - 2, 0)})"
            )
        need_a, need_b = self.needs_input_grad  # each gradient needs the other operand only
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return a @ b

    def backward(self, gy):
        threads.check()
        a, b = self.saved_tensors
        if isinstance(gy, np.ndarray) and 0 in gy.strides and all(self.needs_input_grad):
            # A broadcast gradient (the gradient of a sum) has stride 0, which BLAS cannot
            # take: numpy would copy it for each of the two products; copying it once here
            # made big_matmul's backward 0.6-0.85 ms faster (of 16 ms).
            gy = np.ascontiguousarray(gy)
        ga = gy @ b.mT if self.needs_input_grad[0] else None
        gb = a.mT @ gy if self.needs_input_grad[1] else None
        return ga, gb
