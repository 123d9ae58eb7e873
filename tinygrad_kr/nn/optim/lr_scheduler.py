"""Learning-rate schedulers with PyTorch's names, arguments, values and `state_dict`.

    StepLR, MultiStepLR, ExponentialLR, LambdaLR, LinearLR, CosineAnnealingLR,
    CosineAnnealingWarmRestarts, OneCycleLR, and ReduceLROnPlateau (stepped with a metric).

A scheduler wraps an optimizer and rewrites each group's "lr" on every `step()`. On
construction it records each group's starting lr as "initial_lr" (`base_lrs`) and takes its
first step (epoch 0). Like PyTorch, most updates are chainable: each step derives the new lr
from the group's current lr, so an lr changed by hand (or by another scheduler) carries
through. When resuming with `last_epoch >= 0`, the first step keeps the lr the optimizer holds
(restore the optimizer's state dict too), as PyTorch 2.x does.

`state_dict()` holds plain numbers, lists and dicts (saveable with `tg.save`), never the
optimizer. LambdaLR cannot save its functions: as in PyTorch, a plain function or lambda is
stored as None and only a callable object's attributes (`__dict__`) are saved; give the
scheduler the same functions again before `load_state_dict`.
"""

from __future__ import annotations

import math
import types
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

from tinygrad_kr._args import check_int as _check_int
from tinygrad_kr._args import check_real as _check_real

from .optimizer import Optimizer, _plain


def _per_group(value: Any, name: str, optimizer: Optimizer, who: str) -> list:
    """One value per parameter group: a list/tuple of that length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{who}: {name} has {len(value)} values, but the optimizer has {n} param groups")
        return list(value)
    return [value] * n


def _check_optimizer(optimizer: Any, who: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who}: expected an Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: `step()`, `get_last_lr()`, `state_dict()` / `load_state_dict()`.

    last_epoch: index of the last epoch when resuming (the groups must then hold
    "initial_lr"); -1 starts from scratch.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{name}: param_groups[{i}] has no 'initial_lr', needed to resume at "
                        f"last_epoch={last_epoch}; resume from a state_dict or pass last_epoch=-1"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The first step: epoch 0, or (resuming) the epoch after last_epoch at the current lr.
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define get_lr")

    def step(self) -> None:
        """Advance one epoch and write the new lr into every parameter group."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of each group as set by the last `step()`."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer: plain numbers and lists (saveable by `tg.save`)."""
        return {
            k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items() if k != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the values saved by `state_dict`."""
        self.__dict__.update({k: _plain(v) for k, v in state_dict.items() if k != "optimizer"})


class StepLR(LRScheduler):
    """Multiply each group's lr by gamma every `step_size` epochs:
    lr(epoch) = initial_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from initial_lr down to eta_min over T_max epochs:
    lr(epoch) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2,
    computed recursively from the current lr as PyTorch does (so past T_max it rises again)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:  # resumed at last_epoch > -1: the closed form
            return [
                eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs
            ]
        if (t - 1 - T) % (2 * T) == 0:  # the recursion's denominator is 0 at the minimum
            return [
                group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base, group in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by gamma when the epoch reaches a milestone (by gamma**k for a
    milestone listed k times): lr(epoch) = initial_lr * gamma ** (number of milestones <= epoch).

    milestones: epoch indices (integers >= 0), kept as a Counter like PyTorch."""

    def __init__(
        self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1
    ):
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be a list of epoch indices, got {milestones!r}")
        milestones = list(milestones)
        for m in milestones:
            _check_int(m, "every milestone", "MultiStepLR", 0)
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = _check_real(gamma, "gamma", "MultiStepLR", lambda g: g > 0, "a number > 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        times = self.milestones.get(self.last_epoch, 0)  # a dict after load_state_dict
        if times == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma**times for group in groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by gamma every epoch: lr(epoch) = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _check_real(gamma, "gamma", "ExponentialLR", lambda g: g > 0, "a number > 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class LambdaLR(LRScheduler):
    """lr(epoch) = initial_lr * lr_lambda(epoch), not chainable.

    lr_lambda: a function of the epoch index, or a list with one function per param group.
    state_dict: the functions themselves are not saved (see the module docstring)."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ):
        _check_optimizer(optimizer, "LambdaLR")
        lambdas = _per_group(lr_lambda, "lr_lambda", optimizer, "LambdaLR")
        for i, fn in enumerate(lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda[{i}] must be callable, got {type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with "lr_lambdas": None for each plain function or lambda, the
        attribute dict of each callable object (PyTorch's rule)."""
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__) for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the counters; the attributes saved for callable objects are put back on this
        scheduler's own lr_lambdas (the functions are not replaced)."""
        saved = state_dict.get("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"LambdaLR.load_state_dict: the state dict has {len(saved)} lr_lambdas, "
                f"this scheduler has {len(self.lr_lambdas)}"
            )
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LinearLR(LRScheduler):
    """Scale each group's lr by a factor going linearly from start_factor (epoch 0) to
    end_factor (epoch total_iters), then constant:
    lr(epoch) = initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters).
    Computed recursively from the current lr, as PyTorch does."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        self.start_factor = _check_real(
            start_factor, "start_factor", "LinearLR", lambda f: 0 < f <= 1, "in (0, 1]"
        )
        self.end_factor = _check_real(
            end_factor, "end_factor", "LinearLR", lambda f: 0 <= f <= 1, "in [0, 1]"
        )
        self.total_iters = _check_int(total_iters, "total_iters", "LinearLR", 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [group["lr"] * start for group in groups]
        if self._is_initial or t > self.total_iters:
            return [group["lr"] for group in groups]
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [group["lr"] * ratio for group in groups]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): the lr falls from initial_lr to eta_min over
    T_i epochs and jumps back; T_0 is the first period, each next one T_mult times longer:
    lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2.

    `step(epoch)` also takes a fractional epoch (e.g. epoch + batch / batches per epoch), as in
    PyTorch; `step()` advances one epoch."""

    def __init__(
        self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ):
        who = "CosineAnnealingWarmRestarts"
        self.T_0 = _check_int(T_0, "T_0", who, 1)
        self.T_i = self.T_0
        self.T_mult = _check_int(T_mult, "T_mult", who, 1)
        self.eta_min = _check_real(eta_min, "eta_min", who, lambda e: e >= 0, "a number >= 0")
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cos = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to `epoch` (a number >= 0, may be fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = _check_real(epoch, "epoch", "CosineAnnealingWarmRestarts.step", lambda e: e >= 0, ">= 0")
            self._jump_to(epoch)
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _jump_to(self, epoch: float) -> None:
        """T_cur and T_i at `epoch` from the closed form of the restart times."""
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            # restarts at T_0 * (T_mult**n - 1) / (T_mult - 1): n restarts happened before epoch
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n


class OneCycleLR(LRScheduler):
    """The 1cycle policy (PyTorch's OneCycleLR), meant to be stepped after every batch.

    The lr rises from initial_lr = max_lr / div_factor to max_lr during the first
    pct_start * total_steps steps, then anneals to min_lr = initial_lr / final_div_factor
    (three_phase=True: back down to initial_lr first, then to min_lr), by cosine or linear
    interpolation (anneal_strategy). With cycle_momentum (default) the momentum goes the other
    way, from max_momentum down to base_momentum and back: the group's "momentum" (SGD,
    RMSprop) or beta1 of "betas" (Adam, AdamW). Not chainable. total_steps, or epochs *
    steps_per_epoch, fixes the length; stepping past total_steps is an error, as in PyTorch.
    The groups get the keys "initial_lr", "max_lr", "min_lr" (and "max_momentum",
    "base_momentum"), as in PyTorch. max_lr, base_momentum, max_momentum: one value or one
    per group.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        who = "OneCycleLR"
        _check_optimizer(optimizer, who)
        if total_steps is not None:
            self.total_steps = _check_int(total_steps, "total_steps", who, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _check_int(epochs, "epochs", who, 1) * _check_int(
                steps_per_epoch, "steps_per_epoch", who, 1
            )
        else:
            raise ValueError(f"{who}: give total_steps, or both epochs and steps_per_epoch")
        pct = _check_real(pct_start, "pct_start", who, lambda p: 0 <= p <= 1, "a number in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{who}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        positive = lambda v: v > 0  # noqa: E731
        div_factor = _check_real(div_factor, "div_factor", who, positive, "a number > 0")
        final_div_factor = _check_real(final_div_factor, "final_div_factor", who, positive, "a number > 0")
        self.three_phase = bool(three_phase)
        self._phases = self._make_phases(pct, self.total_steps, self.three_phase)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, _per_group(max_lr, "max_lr", optimizer, who)):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _make_phases(pct: float, total: int, three_phase: bool) -> list[tuple]:
        """PyTorch's phases: (last step, lr from, lr to, momentum from, momentum to), the
        values named by their param-group keys."""
        up = float(pct * total) - 1
        if three_phase:
            return [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct * total) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        return [
            (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
        ]

    def _init_momentum(self, optimizer: Optimizer, base: Any, top: Any, last_epoch: int) -> None:
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError(
                f"OneCycleLR: cycle_momentum=True needs an optimizer with 'momentum' or 'betas' "
                f"({type(optimizer).__name__} has neither); pass cycle_momentum=False"
            )
        self.use_beta1 = "betas" in optimizer.defaults
        tops = _per_group(top, "max_momentum", optimizer, "OneCycleLR")
        bases = _per_group(base, "base_momentum", optimizer, "OneCycleLR")
        if last_epoch != -1:
            return
        for group, m_top, m_base in zip(optimizer.param_groups, tops, bases):
            self._set_momentum(group, m_top)
            group["max_momentum"] = m_top
            group["base_momentum"] = m_base

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """The lr of every group at step `last_epoch` (and, with cycle_momentum, its momentum
        is written into the group as a side effect, as in PyTorch)."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps} "
                "(make total_steps, or epochs * steps_per_epoch, cover every step)"
            )
        start, phase = 0.0, self._phases[-1]
        for i, phase in enumerate(self._phases):
            if step <= phase[0] or i == len(self._phases) - 1:
                break
            start = phase[0]
        end, lr_from, lr_to, m_from, m_to = phase
        if end == start:
            raise ValueError(
                f"OneCycleLR: pct_start and total_steps={self.total_steps} give a phase of zero steps "
                f"(it ends at step {end:g}), so step {step} cannot be interpolated; change pct_start"
            )
        pct = (step - start) / (end - start)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's lr by `factor` when a metric has stopped improving (PyTorch's rules).

    `step(metric)` once per epoch: the value is an improvement when it beats the best so far by
    the threshold (mode "min": value < best * (1 - threshold) in threshold_mode "rel", value <
    best - threshold in "abs"; mode "max" mirrors it). After more than `patience` epochs in a row
    without improvement the lr of every group becomes max(lr * factor, min_lr) (a change smaller
    than eps is skipped), and `cooldown` epochs follow in which bad epochs are not counted.

    monitor (a tinygrad_kr addition, not a PyTorch argument): the key of the epoch logs that
    `tg.train.fit(..., scheduler=...)` steps it with ("val_loss" as in Keras; "loss" for the
    training loss, "val_accuracy" with mode="max").
    """

    steps_with_metric = True  # read by tg.train.fit: step(logs[self.monitor]) instead of step()

    # Like PyTorch's, it does not call LRScheduler.__init__: no initial step, no "initial_lr".

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        monitor: str = "val_loss",
    ):
        who = "ReduceLROnPlateau"
        _check_optimizer(optimizer, who)
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{who}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"{who}: monitor must be a log key such as 'val_loss', got {monitor!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode, self.monitor = mode, threshold_mode, monitor
        self.factor = _check_real(
            factor, "factor", who, lambda f: 0 <= f < 1, "in [0, 1) (new_lr = lr * factor)"
        )
        self.patience = _check_int(patience, "patience", who, 0)
        self.threshold = _check_real(threshold, "threshold", who, lambda t: t >= 0, "a number >= 0")
        self.cooldown = _check_int(cooldown, "cooldown", who, 0)
        self.eps = _check_real(eps, "eps", who, lambda e: e >= 0, "a number >= 0")
        self.min_lrs = [
            _check_real(v, "min_lr", who, lambda m: m >= 0, "a number >= 0 (or one per param group)")
            for v in _per_group(min_lr, "min_lr", optimizer, who)
        ]
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, value: float, best: float) -> bool:
        """Whether `value` improves on `best` by the threshold (the rule in the class docstring)."""
        if self.mode == "min":
            bound = best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return value < bound
        bound = best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return value > bound

    def step(self, metrics: Any) -> None:
        """Record one epoch's metric (a number or a one-element Tensor/array)."""
        data = getattr(metrics, "data", metrics)
        try:
            current = float(data.reshape(()) if hasattr(data, "reshape") else data)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step: metrics must be a number (the monitored value), got {metrics!r}"
            ) from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            raise RuntimeError(
                f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups, but {len(self.min_lrs)} "
                "when the scheduler was made; set scheduler.min_lrs to one value per group"
            )
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def get_lr(self) -> list[float]:
        raise TypeError(
            "ReduceLROnPlateau has no get_lr(): its lr depends on the metrics given to step(metrics); "
            "read the current lr with get_last_lr()"
        )
