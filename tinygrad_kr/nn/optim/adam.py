"""Adam and AdamW: moment estimates with bias correction; L2 or decoupled weight decay."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, check_nonnegative, check_option, coupled_decay, zeros_buffer


def _moments(p) -> dict:
    return {"exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}


class Adam(Optimizer):
    """`torch.optim.Adam`: for each parameter p with gradient g, at its step t = 1, 2, ...,

        g <- g + weight_decay * p                            (if weight_decay != 0)
        m <- beta1 * m + (1 - beta1) * g                     (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g * g
        v_max <- max(v_max, v) and use it for v below       (if amsgrad)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State: "step" (int), "exp_avg", "exp_avg_sq" (and "max_exp_avg_sq" with amsgrad), arrays
    shaped like p in p's dtype.
    """

    _decoupled = False  # AdamW: weight decay shrinks p directly instead of entering g

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        check_nonnegative(name, group, dict(lr="learning rate", eps="epsilon", weight_decay="weight_decay"))
        betas = group["betas"]
        check_option(name, len(betas) == 2, "betas", betas, "must be a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            check_option(name, 0.0 <= b < 1.0, f"beta at index {i}", b, "must be in [0, 1)")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        for p, g, st in self._params_with_grad(group, _moments):
            t = st["step"]
            if weight_decay != 0.0:
                if self._decoupled:
                    p.data *= 1.0 - lr * weight_decay
                else:
                    g = coupled_decay(g, p.data, weight_decay)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            tmp = np.subtract(g, m)  # m + (1 - beta1) * (g - m), the lerp form
            tmp *= 1.0 - beta1
            m += tmp
            v *= beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp
            if amsgrad:
                v_max = zeros_buffer(st, "max_exp_avg_sq", p)
                np.maximum(v_max, v, out=v_max)
                v = v_max
            step_size = lr / (1.0 - beta1**t)
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1.0 - beta2**t)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.sub_(tmp)


class AdamW(Adam):
    """`torch.optim.AdamW`: Adam with decoupled weight decay. Before the Adam step (whose
    gradient has no decay term), p <- p * (1 - lr * weight_decay). Default weight_decay 1e-2.
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
