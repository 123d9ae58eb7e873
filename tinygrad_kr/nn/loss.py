"""Loss modules: each holds its options and calls the function of the same name in
`nn.functional` (reduction='mean' | 'sum' | 'none').

`output_is_probability` (a class attribute, also set on the matching functions of
`nn.functional`): True for the losses that compare a single-column output with the 0/1 target
itself (BCELoss, MSELoss, L1Loss), so the output reads as a probability and `tg.train`'s
"accuracy" thresholds it at 0.5; False for the others, whose single-column output is a logit
(threshold 0). A custom loss may set it too.
"""

from __future__ import annotations

from typing import Any

from tinygrad_kr.tensor import Tensor

from . import functional as F
from .module import Module


class _Loss(Module):
    output_is_probability = False

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: (input - target)**2 reduced; input and target of the same shape."""

    output_is_probability = True

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: |input - target| reduced; input and target of the same shape."""

    output_is_probability = True

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class _ClassIndexLoss(_Loss):
    def __init__(self, reduction: str = "mean", ignore_index: int = -100):
        super().__init__(reduction)
        self.ignore_index = ignore_index


class CrossEntropyLoss(_ClassIndexLoss):
    """Softmax cross-entropy of logits (N, C, *d) against integer classes (N, *d) or class
    probabilities (N, C, *d); one fused, numerically stable node. label_smoothing as in
    `F.cross_entropy` (PyTorch's formula)."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100, label_smoothing: float = 0.0):
        super().__init__(reduction, ignore_index)
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.reduction, self.ignore_index, self.label_smoothing)

    def extra_repr(self) -> str:
        smoothing = f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return ", ".join(e for e in (super().extra_repr(), smoothing) if e)


class NLLLoss(_ClassIndexLoss):
    """Negative log-likelihood of log-probabilities (N, C, *d) at integer classes (N, *d)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.reduction, self.ignore_index)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100)."""

    output_is_probability = True

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(logits), computed stably from the logits."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)
