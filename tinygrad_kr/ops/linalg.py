"""Matrix product."""

from __future__ import annotations

from ..autograd import Function, unbroadcast


class MatMul(Function):
    """a @ b for a: (..., n, k), b: (..., k, m) with broadcast batch axes.

    1-D operands are reshaped by `Tensor.__matmul__` before they reach this node.
    """

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} are not aligned: "
                f"{a.shape[-1] if a.ndim else None} (axis {a.ndim - 1}) != "
                f"{b.shape[-2] if b.ndim > 1 else None} (axis {max(b.ndim - 2, 0)})"
            )
        return a @ b

    def backward(self, gy):
        gy, a, b = self.plain(gy, *self.inputs)
        ga = unbroadcast(gy @ b.mT, a) if self.needs_grad(0) else None
        gb = unbroadcast(a.mT @ gy, b) if self.needs_grad(1) else None
        return ga, gb
