"""Batch normalization: `batch_norm` (nn.functional) and the BatchNorm1d/2d layers built on it,
composed from engine ops (no hand-written gradient).

Training mode normalizes with the batch statistics (biased variance) and updates the running
statistics in place with the *unbiased* batch variance, like PyTorch:
    running = (1 - momentum) * running + momentum * batch_stat
(the layers' momentum=None: a cumulative average over the batches seen). Eval mode uses the
running statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_kr.grad_mode import no_grad
from tinygrad_kr.tensor import Tensor, as_tensor, wrap

from . import init
from ._checks import factory_dtype, float_tensor, weight_dtype
from .module import Module, Parameter


def batch_norm(
    input: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization per channel, like torch.nn.functional.batch_norm.

    input: (N, C, *d) floats. running_mean, running_var: (C,) tensors or None; weight (scale)
    and bias (shift): (C,) or None. training=True normalizes with the batch's mean and
    (biased) variance over the axes other than C, and updates the running statistics in place
    (not recorded; running_var gets the unbiased variance) when they are given; training=False
    uses the running statistics, which are then required. Output: input's shape.
    """
    x = float_tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, *d), got shape {x.shape}")
    C = x.shape[1]
    weight = None if weight is None else as_tensor(weight, x)
    bias = None if bias is None else as_tensor(bias, x)
    named = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in named:
        if t is not None and (not isinstance(t, Tensor) or t.shape != (C,)):
            raise ValueError(
                f"batch_norm: {name} must be a tensor of shape ({C},) for input {x.shape}, got "
                f"{getattr(t, 'shape', type(t).__name__)}"
            )
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    return batch_norm_checked(
        x, running_mean, running_var, weight, bias, bool(training), momentum, eps, "batch_norm"
    )


def batch_norm_checked(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    who: str,
) -> Tensor:
    """`batch_norm` after its argument checks (`who` names the caller in errors)."""
    C = x.shape[1]
    shape = (1, C) + (1,) * (x.ndim - 2)
    if training:
        n = x.size // C
        if n <= 1:
            raise ValueError(
                f"{who}: expected more than 1 value per channel when training, got input shape {x.shape}"
            )
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axes, True)  # (positional: the cheapest call)
        d = x - mean
        var = (d * d).mean(axes, True)
        with no_grad():
            for buf, stat in ((running_mean, mean.data), (running_var, var.data * (n / (n - 1)))):
                if buf is not None:
                    buf.mul_(1 - momentum)
                    buf.add_(momentum * stat.reshape(C).astype(buf.dtype, copy=False))
        y = d / (var + eps).sqrt()
        if weight is not None:
            y = y * weight.reshape(shape)
        return y if bias is None else y + bias.reshape(shape)
    # Eval: one scale and one shift per channel (the statistics are constants).
    inv = 1 / np.sqrt(running_var.data + running_var.data.dtype.type(eps))
    mean = running_mean.data
    scale = wrap(inv) if weight is None else weight * wrap(inv)
    shift = -wrap(mean) * scale if bias is None else bias - wrap(mean) * scale
    return x * scale.reshape(shape) + shift.reshape(shape)


class _BatchNorm(Module):
    _dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        dtype = factory_dtype(device, dtype, type(self).__name__)
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}"
            )
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check(self, x: Tensor) -> None:
        if x.ndim not in self._dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._label()}: expected input {self._layout} with C={self.num_features}, "
                f"got shape {x.shape}"
            )
        ref = self.weight if self.affine else self.running_mean if self.track_running_stats else None
        if ref is not None:
            weight_dtype(x, ref.data.dtype, self._label())  # as Linear and Conv2d check it
        elif x.data.dtype.kind != "f":
            raise TypeError(f"{self._label()}: input must be floating point, got dtype {x.dtype}")

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *d) -> the same shape, normalized per channel C (see `batch_norm`)."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self._check(x)
        track = self.training and self.track_running_stats
        momentum = self.momentum
        if track and momentum is None:  # a cumulative moving average
            momentum = 1.0 / (float(self.num_batches_tracked.data) + 1)
        stats = not self.training or self.track_running_stats  # as PyTorch passes them to batch_norm
        y = batch_norm_checked(
            x,
            self.running_mean if stats else None,
            self.running_var if stats else None,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            momentum,
            self.eps,
            self._label(),
        )
        if track:
            with no_grad():
                self.num_batches_tracked.add_(1)
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C."""

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, per channel C."""

    _dims = (4,)
    _layout = "(N, C, H, W)"
