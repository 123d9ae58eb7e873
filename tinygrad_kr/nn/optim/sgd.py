"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Iterable

from .optimizer import Optimizer, check_nonnegative, coupled_decay


class SGD(Optimizer):
    """`torch.optim.SGD`: for each parameter p with gradient g (t = 1, 2, ...),

        g <- g + weight_decay * p                       (if weight_decay != 0)
        b <- g  at t = 1,  else  momentum * b + (1 - dampening) * g     (if momentum != 0)
        g <- g + momentum * b  if nesterov,  else  b                  (if momentum != 0)
        p <- p - lr * g

    The buffer b is state "momentum_buffer" (created only when momentum != 0). Nesterov needs
    momentum > 0 and dampening = 0.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative(
            "SGD", group, dict(lr="learning rate", momentum="momentum", weight_decay="weight_decay")
        )
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum="
                f"{group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        # Python floats keep float32 parameters float32 (a numpy float64 scalar would promote).
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        if momentum == 0.0 and weight_decay == 0.0:
            # the hot path of plain SGD: one temporary per parameter, as in hand-written numpy
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    p.sub_(lr * g.data)
            return
        damp = 1.0 - float(group["dampening"])
        nesterov = bool(group["nesterov"])
        state = self.state
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            d_p = g.data
            if weight_decay != 0.0:
                d_p = coupled_decay(d_p, p.data, weight_decay)
            if momentum != 0.0:
                st = state[p]
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = d_p.astype(p.data.dtype)  # a copy
                else:
                    buf *= momentum
                    if damp == 1.0:
                        buf += d_p
                    else:
                        buf += damp * d_p
                if nesterov:
                    d_p = buf * momentum + d_p
                else:
                    d_p = buf
            p.sub_(lr * d_p)
