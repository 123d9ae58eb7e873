"""AdaGrad: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, check_nonnegative, coupled_decay


class Adagrad(Optimizer):
    """`torch.optim.Adagrad`: for each parameter p with gradient g, at its step t = 1, 2, ...,

        g <- g + weight_decay * p                        (if weight_decay != 0)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g * g                                    (s starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(s) + eps)

    State: "step" (int) and "sum" (array shaped like p, in p's dtype). Also exported as
    `AdaGrad`.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        names = dict(lr="learning rate", lr_decay="lr_decay", weight_decay="weight_decay", eps="epsilon")
        check_nonnegative(
            type(self).__name__, group, dict(names, initial_accumulator_value="initial_accumulator_value")
        )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        weight_decay = float(group["weight_decay"])
        eps = float(group["eps"])
        acc = float(group["initial_accumulator_value"])
        for p, g, st in self._params_with_grad(group, lambda p: {"sum": np.full_like(p.data, acc)}):
            if weight_decay != 0.0:
                g = coupled_decay(g, p.data, weight_decay)
            clr = lr / (1.0 + (st["step"] - 1) * lr_decay)
            s = st["sum"]
            tmp = np.multiply(g, g)
            s += tmp
            np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            tmp *= clr
            p.sub_(tmp)


AdaGrad = Adagrad
