"""Batch normalization, composed from engine ops (no hand-written gradient).

Training mode normalizes with the batch statistics (biased variance) and updates the running
statistics with the *unbiased* batch variance, like PyTorch:
    running = (1 - momentum) * running + momentum * batch_stat
(momentum=None: a cumulative average over the batches seen). Eval mode uses the running
statistics.
"""

from __future__ import annotations

import numpy as np

from tinygrad_kr.grad_mode import no_grad
from tinygrad_kr.tensor import Tensor, wrap

from . import init
from ._checks import weight_dtype
from .module import Module, Parameter


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
        dtype=np.float32,
    ):
        super().__init__()
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
        """x: (N, C, *d) -> the same shape, normalized per channel C."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self._check(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.size // self.num_features
            if self.training and n <= 1:
                raise ValueError(
                    f"{self._label()}: expected more than 1 value per channel when training, "
                    f"got input shape {x.shape}"
                )
            mean = x.mean(axis=axes, keepdims=True)
            d = x - mean
            var = (d * d).mean(axis=axes, keepdims=True)
            if self.training and self.track_running_stats:
                self._update_running(mean.data, var.data, n)
            y = d / (var + self.eps).sqrt()
            if not self.affine:
                return y
            return y * self.weight.reshape(shape) + self.bias.reshape(shape)
        # Eval: one scale and one shift per channel (the statistics are constants).
        inv = 1 / np.sqrt(self.running_var.data + self.running_var.data.dtype.type(self.eps))
        mean = self.running_mean.data
        if not self.affine:
            return (x - wrap(mean.reshape(shape))) * wrap(inv.reshape(shape))
        scale = self.weight * wrap(inv)
        shift = self.bias - wrap(mean) * scale
        return x * scale.reshape(shape) + shift.reshape(shape)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        with no_grad():
            self.num_batches_tracked.add_(1)
            m = self.momentum
            if m is None:  # cumulative moving average
                m = 1.0 / float(self.num_batches_tracked.data)
            for buf, stat in ((self.running_mean, mean), (self.running_var, var * (n / (n - 1)))):
                buf.mul_(1 - m)
                buf.add_(m * stat.reshape(buf.shape).astype(buf.dtype, copy=False))

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
