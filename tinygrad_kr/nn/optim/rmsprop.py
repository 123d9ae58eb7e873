"""RMSprop: steps scaled by a moving average of squared gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, check_nonnegative, coupled_decay, zeros_buffer


class RMSprop(Optimizer):
    """`torch.optim.RMSprop`: for each parameter p with gradient g,

        g <- g + weight_decay * p                          (if weight_decay != 0)
        v <- alpha * v + (1 - alpha) * g * g               (v starts at 0)
        d = sqrt(v) + eps;  if centered: m <- alpha * m + (1 - alpha) * g,
                                         d = sqrt(v - m * m) + eps
        b <- momentum * b + g / d;  p <- p - lr * b        (if momentum > 0; b starts at 0)
        p <- p - lr * g / d                                 (otherwise)

    State: "step" (int), "square_avg", plus "momentum_buffer" when momentum > 0 and
    "grad_avg" when centered (arrays shaped like p, in p's dtype).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        names = dict(lr="learning rate", eps="epsilon", momentum="momentum", weight_decay="weight_decay")
        check_nonnegative("RMSprop", group, dict(names, alpha="alpha"))

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        for p, g, st in self._params_with_grad(group, lambda p: {"square_avg": np.zeros_like(p.data)}):
            if weight_decay != 0.0:
                g = coupled_decay(g, p.data, weight_decay)
            v = st["square_avg"]
            v *= alpha
            tmp = np.multiply(g, g)
            tmp *= 1.0 - alpha
            v += tmp
            if centered:
                m = zeros_buffer(st, "grad_avg", p)
                np.subtract(g, m, out=tmp)  # m + (1 - alpha) * (g - m), the lerp form
                tmp *= 1.0 - alpha
                m += tmp
                np.multiply(m, m, out=tmp)
                np.subtract(v, tmp, out=tmp)
                np.sqrt(tmp, out=tmp)
            else:
                np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            if momentum > 0.0:
                buf = zeros_buffer(st, "momentum_buffer", p)
                buf *= momentum
                buf += tmp
                np.multiply(buf, lr, out=tmp)
            else:
                tmp *= lr
            p.sub_(tmp)
