"""`Module`, `Parameter` and the two containers `Sequential` and `ModuleList`.

A `Module` registers the `Parameter`s and sub-`Module`s assigned to its attributes (in
assignment order), plus buffers given to `register_buffer` (state that is saved but not
trained, like BatchNorm's running statistics). Everything users call follows PyTorch:
`parameters()`, `named_parameters()`, `train()`/`eval()`, `state_dict()`/`load_state_dict()`,
forward hooks, and a nested `repr`.

`Module.__call__` opens `tg.module_scope(self)` while forward runs, so every op node records
the modules that created it (the graph renderer groups by them).

Registered values are also kept in the instance `__dict__`, so `self.weight` in a forward
pass is a plain attribute lookup (no `__getattr__` fallback on the hot path).
"""

from __future__ import annotations

import difflib
import weakref
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np

from tinygrad_kr._args import to_args
from tinygrad_kr.grad_mode import module_scope, no_grad
from tinygrad_kr.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (requires_grad=True).

    Parameter(data, requires_grad=True). data: list (becomes float32), numpy array (float
    arrays keep their dtype, no copy) or Tensor (its array is shared).
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# --------------------------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------------------------


# Bumped whenever a module is attached to or detached from a parent, so that cached
# qualified names (`Module._label`, called on every forward of some layers) stay valid.
_tree_version = 0


def _tree_changed() -> None:
    global _tree_version
    _tree_version += 1


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns: the keys it did not find, and those it did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class _HookHandle:
    """Returned by `register_forward_hook`; `.remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = _HookHandle._next_id
        _HookHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "_HookHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")


class Module:
    """Base class of every layer and model.

    Subclass it, call `super().__init__()` first, assign Parameters and sub-Modules as
    attributes, and write `forward`. Call the module (`model(x)`), not `forward`, so that
    forward hooks run and the module scope is recorded.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_name", "")

    # ---- registration ----------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} to {type(self).__name__} before "
                    "Module.__init__() ran: call super().__init__() first in your __init__"
                )
            object.__setattr__(self, name, value)
            return
        modules, buffers = d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._unregister(name, keep="_parameters")  # a re-assigned name keeps its place
            params[name] = value
        elif isinstance(value, Module):
            self._unregister(name, keep="_modules")
            modules[name] = value
            value._adopt(self, name)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{self._label()}: cannot assign {type(value).__name__} to parameter {name!r} "
                    "(a Parameter or None is expected; wrap it with nn.Parameter)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{self._label()}: cannot assign {type(value).__name__} to sub-module {name!r} "
                    "(a Module or None is expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{self._label()}: cannot assign {type(value).__name__} to buffer {name!r} "
                    "(a Tensor or None is expected)"
                )
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: registered values live in __dict__ too.
        known = list(self.__dict__) + [n for n in dir(type(self)) if not n.startswith("__")]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}{hint}")

    def _unregister(self, name: str, keep: str = "") -> None:
        d = self.__dict__
        if name in d["_modules"]:
            _tree_changed()
        for key in ("_parameters", "_modules", "_buffers"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent"].discard(name)

    def _adopt(self, parent: "Module", name: str) -> None:
        """Remember the first parent that holds this module (for qualified names in errors)."""
        old = self._parent() if self._parent is not None else None
        if old is not None and old is not parent and old._modules.get(self._name) is self:
            return
        object.__setattr__(self, "_parent", weakref.ref(parent))
        object.__setattr__(self, "_name", name)
        _tree_changed()

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a Parameter (or None: a declared but absent parameter, like `bias=False`)."""
        _check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{self._label()}: register_parameter({name!r}) needs a Parameter or None, "
                f"got {type(param).__name__}"
            )
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() before register_parameter")
        self._unregister(name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in `state_dict` (if persistent) but not a parameter."""
        _check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"{self._label()}: register_buffer({name!r}) needs a Tensor or None, "
                f"got {type(tensor).__name__}"
            )
        if "_buffers" not in self.__dict__:
            raise AttributeError("call super().__init__() before register_buffer")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"{self._label()}: attribute {name!r} already exists")
        self._unregister(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register a sub-module under `name` (same as `setattr(self, name, module)`)."""
        _check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"{self._label()}: add_module({name!r}) needs a Module, got {type(module).__name__}"
            )
        if module is None:
            self._unregister(name)
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    # ---- names -----------------------------------------------------------------------------

    @property
    def _qualname(self) -> str:
        """Dotted name from the outermost parent ("" for a module that has no parent)."""
        parts = []
        m = self
        seen = set()
        while m._parent is not None and id(m) not in seen:
            seen.add(id(m))
            parent = m._parent()
            if parent is None or parent._modules.get(m._name) is not m:
                break
            parts.append(m._name)
            m = parent
        return ".".join(reversed(parts))

    def _label(self) -> str:
        """How errors name this module: 'fc1 (Linear)', or 'Linear' for a root module.

        Cached until the module tree changes: layers pass it along on every forward.
        """
        cached = self.__dict__.get("_label_cache")
        if cached is not None and cached[0] == _tree_version:
            return cached[1]
        q = self._qualname
        label = f"{q} ({type(self).__name__})" if q else type(self).__name__
        object.__setattr__(self, "_label_cache", (_tree_version, label))
        return label

    # ---- calling ---------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self._label()} has no forward(): define forward(self, ...) in the subclass"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with module_scope(self):  # every node recorded in forward belongs to this module
            out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        return out

    def register_forward_hook(self, hook: Callable) -> _HookHandle:
        """Call hook(module, inputs, output) after every forward; a non-None result replaces
        the output. Returns a handle whose `.remove()` unregisters it."""
        handle = _HookHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ---- traversal -------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module ("") and every descendant, pre-order, each
        module once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def _named_members(self, attr: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, t in getattr(m, attr).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs ('fc1.weight'), in registration order, each once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and bulk operations ---------------------------------------------------------

    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (dropout off, BatchNorm uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Turn gradient tracking of every parameter on or off (freezing); returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> "Module":
        """PyTorch's Module.to: to(dtype), to("cpu"), to("cpu", dtype), to(tensor) or keywords.
        Converts every floating point parameter, its gradient and floating point buffer in place
        (the same Parameter objects, so an optimizer built later sees them; one built before
        keeps its existing buffers, such as momentum, in the old dtype: build it after, as in
        PyTorch). Integer buffers (num_batches_tracked) stay. Returns self."""
        dt = to_args(args, device, dtype, f"{self._label()}.to")
        if dt is None:
            return self
        if dt.kind != "f":
            raise TypeError(f"{self._label()}.to: only floating point dtypes are allowed, got {dt}")
        for t in [*self.parameters(), *self.buffers()]:
            if t.data.dtype.kind == "f" and t.data.dtype != dt:
                grad = t.grad
                t.data = t.data.astype(dt)
                if grad is not None:
                    t.grad = Tensor(grad.data.astype(dt))
        return self

    def float(self) -> "Module":
        """Floating point parameters and buffers as float32, in place (see `to`); returns self."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """Floating point parameters and buffers as float64, in place (see `to`); returns self."""
        return self.to(np.float64)

    def half(self) -> "Module":
        """Floating point parameters and buffers as float16, in place (see `to`); returns self."""
        return self.to(np.float16)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (`.grad = None`, or zeros with set_to_none=False)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none or p.grad.requires_grad:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call fn on every sub-module (children first) and then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- state dict ------------------------------------------------------------------------

    def _state_tensors(self) -> "OrderedDict[str, Tensor]":
        """name -> Tensor of every parameter and persistent buffer, PyTorch order (each module's
        parameters, then its buffers, modules pre-order)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for prefix, m in self.named_modules():
            pre = f"{prefix}." if prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[pre + name] = p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[pre + name] = b
        return out

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Ordered dict of name -> a numpy copy of every parameter and persistent buffer."""
        return OrderedDict((k, t.data.copy()) for k, t in self._state_tensors().items())

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from `state_dict` into the existing parameters and buffers, in place.

        Every problem is collected first and reported in one error: missing and unexpected
        keys (only when strict) and shape mismatches (always). Nothing is written unless the
        whole load can succeed. Returns (missing_keys, unexpected_keys).
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems: list[str] = []
        values: dict[str, np.ndarray] = {}
        for k, t in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v.data if isinstance(v, Tensor) else np.asarray(v)
            if arr.dtype.kind not in "biuf":
                problems.append(f"  {k}: value of dtype {arr.dtype} is not numeric")
            elif arr.shape != t.shape:
                problems.append(f"  {k}: shape {arr.shape} in the state dict, {t.shape} in the model")
            else:
                values[k] = arr
        if strict:
            if missing:
                problems.insert(0, "  missing keys: " + ", ".join(missing))
            if unexpected:
                problems.insert(1 if missing else 0, "  unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"load_state_dict into {self._label()} failed:\n" + "\n".join(problems))
        with no_grad():
            for k, arr in values.items():
                own[k].copy_(arr)
        return IncompatibleKeys(missing, unexpected)

    # ---- summary ---------------------------------------------------------------------------

    def summary(self, input_size: Any, dtype: Any = np.float32) -> Any:
        """A Keras / torchinfo style table of this model: `nn.summary(self, input_size, dtype)`.

        input_size: the shape of one input batch, batch dimension included. Returns an
        `nn.ModelSummary` (print it; `.rows`, `.total_params`, `.trainable_params`)."""
        from .summary import summary  # nn.summary imports this module

        return summary(self, input_size, dtype)

    # ---- repr ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (layers override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        name = type(self).__name__
        if not self._modules and len(lines) <= 1:
            return f"{name}({lines[0] if lines else ''})"
        return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


# --------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------


def _index(n: int, idx: Any, who: str) -> int:
    try:
        i = int(idx)
    except TypeError:
        raise TypeError(f"{who} indices must be integers or slices, not {type(idx).__name__}") from None
    if not -n <= i < n:
        raise IndexError(f"{who} index {i} is out of range for {n} modules")
    return i % n


class Sequential(Module):
    """Modules called in order: Sequential(m1, m2, ...) or Sequential(OrderedDict(name=m)).

    Children are named '0', '1', ... (or by the dict's keys). Indexable with ints (negative
    too) and slices (a slice is a new Sequential sharing the modules).
    """

    def __init__(self, *modules: Module | "OrderedDict[str, Module]"):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            items: Iterable = modules[0].items()
        else:
            items = ((str(i), m) for i, m in enumerate(modules))
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: element {name!r} is a {type(m).__name__}, not a Module")
            self.add_module(name, m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index(len(items), idx, "Sequential")][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        setattr(self, keys[_index(len(keys), idx, "Sequential")], module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[_index(len(keys), idx, "Sequential")]]
        for k in doomed:
            delattr(self, k)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of Modules whose parameters are registered (names '0', '1', ...).

    It has no forward: index or iterate it inside your own module's forward.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, mods: list[Module]) -> None:
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __getitem__(self, idx: int | slice) -> "Module | ModuleList":
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(len(mods), idx, "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(len(self._modules), idx, "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(len(mods), idx, "ModuleList")]
        self._renumber(mods)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self._label()} is a container without forward(): iterate over it in your module's forward"
        )
