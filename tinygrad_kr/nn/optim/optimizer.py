"""`Optimizer`: the base class of every optimizer (parameter groups, state, state_dict).

Follows `torch.optim.Optimizer`: `params` is an iterable of Tensors or of dicts, each dict a
*parameter group* with a "params" entry and its own option values (missing options take the
optimizer's defaults). `state` maps a parameter to its dict of buffers (created on the first
step that sees a gradient). `state_dict()` uses PyTorch's layout:

    {"state": {0: {"momentum_buffer": array}, ...},
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}, ...]}

with parameters numbered in group order, numpy arrays (copies) for buffers and plain Python
numbers, bools and tuples for everything else: nothing that would need pickle.

A subclass sets its defaults, checks option values in `_check_group`, and updates one group
in `_update_group` (called by `step` under `no_grad`): in place on `p.data`, in the
parameter's dtype, skipping parameters whose `.grad` is None.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from tinygrad_kr.grad_mode import enable_grad, no_grad
from tinygrad_kr.tensor import Tensor


def _plain(v: Any) -> Any:
    """A value read back from a saved state dict as a plain Python value (numpy scalars, 0-d
    arrays and lists/tuples of them)."""
    if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return v.item()
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    return v


class Optimizer:
    """Base class: holds `param_groups` (list of dicts) and `state` (param -> dict of buffers).

    Optimizer(params, defaults). params: an iterable of Tensors that require grad, or of dicts
    {"params": ..., <option>: value}. defaults: option name -> default value.
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, but got a Tensor of "
                f"shape {params.shape}; pass a list: [param]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered iterable (list), not a set")
        if isinstance(params, dict):
            params = [params]
        self._check_group(defaults)
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- parameter groups ------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group: {"params": Tensor or iterable of Tensors, <option>: value, ...}.

        Options not given take the optimizer's defaults. Raises for an empty group, a
        non-Tensor, a Tensor that does not require grad or is not a leaf, a parameter listed
        twice, and a parameter that already belongs to another group.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: the params of a group must be an ordered iterable (list), not a set")
        else:
            params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: can only optimize Tensors, but parameter {i} is a {type(p).__name__}"
                )
            if not p.requires_grad:
                raise ValueError(
                    f"{name}: parameter {i} (shape {p.shape}, dtype {p.dtype}) does not require grad; "
                    "create it with requires_grad=True (or use nn.Parameter)"
                )
            if p.grad_fn is not None:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, made "
                    f"by {type(p.grad_fn).__name__}); optimize the leaf it was computed from"
                )
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{name}: a parameter group lists the same parameter more than once")
        for group in self.param_groups:
            if any(id(p) in ids for p in group["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = {k: v for k, v in param_group.items() if k != "params"}
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        group["params"] = params
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid option value (subclasses check their options)."""

    # ---- the update ------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: `.grad = None` (or zero it in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g.requires_grad:
                    p.grad = Tensor(np.zeros_like(g.data))
                else:
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient.

        closure: optional function that re-evaluates the model and returns the loss (run with
        grad enabled before the update); its return value is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _params_with_grad(self, group: dict[str, Any], init: Callable[[Tensor], dict]) -> Iterator:
        """(p, g, state) for each parameter of the group that has a gradient (g: the gradient
        array). On a parameter's first step its state gets "step" 0 and the buffers `init(p)`
        returns; "step" is then incremented, so it counts this parameter's updates."""
        state = self.state
        for p in group["params"]:
            if p.grad is None:
                continue
            st = state[p]
            if not st:
                st["step"] = 0
                st.update(init(p))
            st["step"] += 1
            yield p, p.grad.data, st

    def _update_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define _update_group (or override step)")

    # ---- state dict ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: array or number}}, "param_groups": [{option: value,
        "params": [index, ...]}]}, PyTorch's layout; arrays are copies (a snapshot)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            i = index.get(id(p))
            if i is not None and s:
                state[i] = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and buffers saved by `state_dict` (arrays are copied and cast to the
        parameter's dtype). The groups must have the same sizes as this optimizer's. Nothing
        changes unless the whole state dict is valid."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            saved_params = list(saved["params"])
            if len(saved_params) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {gi} has {len(saved_params)} parameters "
                    f"in the state dict but {len(group['params'])} in the optimizer"
                )
            for i, p in zip(saved_params, group["params"]):
                by_index[int(i)] = p
        new_state: dict = {}
        for key, values in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(
                    f"{name}.load_state_dict: the state dict has state for parameter {key}, which is "
                    "in none of its parameter groups"
                )
            new_state[p] = {k: self._load_value(p, int(key), k, v) for k, v in values.items()}
        new_options = []
        for group, saved in zip(self.param_groups, saved_groups):
            options = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                v = _plain(v)
                if isinstance(group.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                options[k] = v
            self._check_group({**group, **options})
            new_options.append(options)
        for group, options in zip(self.param_groups, new_options):
            group.update(options)
        self.state = defaultdict(dict, new_state)

    def _load_value(self, p: Tensor, index: int, key: str, v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.ndim > 0:
            if v.shape != p.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: state {key!r} of parameter {index} has "
                    f"shape {v.shape}, but the parameter has shape {p.shape}"
                )
            return np.array(v, dtype=p.dtype if v.dtype.kind == "f" else v.dtype)
        return _plain(v)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def coupled_decay(g: np.ndarray, p: np.ndarray, weight_decay: float) -> np.ndarray:
    """g + weight_decay * p as a new array: L2 weight decay folded into the gradient."""
    out = p * weight_decay
    out += g
    return out


def zeros_buffer(st: dict[str, Any], key: str, p: Tensor) -> np.ndarray:
    """The state buffer `key`, created as zeros like p on first use (for options that can be
    switched on mid-run, like momentum)."""
    buf = st.get(key)
    if buf is None:
        buf = st[key] = np.zeros_like(p.data)
    return buf


def check_nonnegative(optimizer: str, group: dict[str, Any], names: dict[str, str]) -> None:
    """check_option(value >= 0) for each option key -> its name in messages."""
    for key, what in names.items():
        check_option(optimizer, group[key] >= 0, what, group[key], "must be >= 0")


def check_option(optimizer: str, cond: bool, what: str, value: Any, rule: str) -> None:
    """Raise ValueError naming the optimizer when an option value breaks its rule."""
    if not cond:
        raise ValueError(f"{optimizer}: invalid {what} {value!r} ({rule})")
