"""`nn.summary(model, input_size)`: a Keras / torchinfo style table of a model.

    print(nn.summary(model, (32, 1, 28, 28)))     # or model.summary((32, 1, 28, 28))
    s = model.summary((32, 1, 28, 28))
    s.total_params, s.trainable_params, s.rows[0].output_shape

One forward pass on a made-up batch, in eval mode under no_grad, with a forward hook on every
sub-module. What the table counts:

  * rows: one per module call, in order of execution (a container before the layers it runs,
    indented by depth), with the module's qualified name and type, its output shape and its
    parameter count (its own and its sub-modules' parameters, each once). A module called
    again (a shared layer) gets a second row whose count reads "(recursive)".
  * output shape: the shape tuple of a Tensor output; for a tuple or list output (LSTM's
    (out, (h, c))) the list of the shapes of every Tensor in it, in order.
  * totals: every Parameter of the model counted once, however many modules hold it or
    however often it runs (torchinfo counts shared ones twice). Trainable: requires_grad;
    non-trainable: frozen parameters. Buffers (BatchNorm running statistics) are not
    parameters and are not counted (Keras counts them as non-trainable weights).
  * sizes in MB (1 MB = 10**6 bytes, as torchinfo): the parameters' bytes; the input batch;
    the activations = the bytes of every output Tensor of every leaf-module call (modules
    without sub-modules, so a container's output is not counted again).

The input is random in [0, 1) for float dtypes (from its own generator, so the project's
random stream is untouched) and zeros for integer dtypes (valid indices for Embedding). The
model's train/eval modes, parameters and buffers are the same afterwards.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from tinygrad_kr.grad_mode import no_grad
from tinygrad_kr.tensor import Tensor

from .module import Module

__all__ = ["summary", "ModelSummary", "SummaryRow"]

_MB = 1e6


class SummaryRow(NamedTuple):
    """One module call. output_shape: a tuple, a list of tuples (several outputs) or None
    (no Tensor output). params: the module's parameter elements (its sub-modules' included).
    repeated: the module ran before (a shared layer). leaf: it has no sub-modules."""

    name: str
    type: str
    output_shape: tuple | list | None
    params: int
    depth: int
    repeated: bool
    leaf: bool


class ModelSummary:
    """What `summary` returns: `str()` (and `repr()`) is the table; the numbers are attributes.

    rows: list of SummaryRow; total_params, trainable_params, non_trainable_params: element
    counts, each Parameter once; param_bytes, input_bytes, activation_bytes: sizes in bytes
    (the table shows MB); model_type: the model's class name.
    """

    def __init__(
        self, model: Module, rows: list[SummaryRow], inputs: list[np.ndarray], activation_bytes: int
    ):
        params = list(model.parameters())
        self.model_type = type(model).__name__
        self.rows = rows
        self.total_params = sum(p.size for p in params)
        self.trainable_params = sum(p.size for p in params if p.requires_grad)
        self.non_trainable_params = self.total_params - self.trainable_params
        self.param_bytes = sum(p.data.nbytes for p in params)
        self.input_bytes = sum(a.nbytes for a in inputs)
        self.activation_bytes = activation_bytes

    def __str__(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #")
        body = [
            ("  " * r.depth + f"{r.name} ({r.type})", _shape_text(r.output_shape), _count_text(r))
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [head, *body]) for i in range(3)]
        width = sum(widths) + 6

        def line(cells: Sequence[str]) -> str:
            return f"{cells[0]:<{widths[0]}}   {cells[1]:<{widths[1]}}   {cells[2]:>{widths[2]}}"

        out = [f'Model: "{self.model_type}"', "=" * width, line(head), "=" * width]
        out += [line(cells) for cells in body] or ["(no sub-module ran)"]
        out += [
            "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            "-" * width,
            f"Input size (MB): {self.input_bytes / _MB:.2f}",
            f"Activations, leaf-module outputs (MB): {self.activation_bytes / _MB:.2f}",
            f"Params size (MB): {self.param_bytes / _MB:.2f}",
            "-" * width,
        ]
        return "\n".join(out)

    __repr__ = __str__


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "--"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _count_text(row: SummaryRow) -> str:
    return "(recursive)" if row.repeated else f"{row.params:,}"


def _tensors(out: Any) -> list:
    """Every Tensor (or array) in an output, nested tuples/lists flattened, in order."""
    if isinstance(out, (Tensor, np.ndarray)):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _tensors(item)]
    return []


def _output_shape(out: Any) -> tuple | list | None:
    if isinstance(out, (Tensor, np.ndarray)):
        return tuple(out.shape)
    shapes = [tuple(t.shape) for t in _tensors(out)]
    return shapes or None


def _nbytes(out: Any) -> int:
    return sum(t.data.nbytes if isinstance(t, Tensor) else t.nbytes for t in _tensors(out))


def _inputs(input_size: Any, dtype: Any) -> list[np.ndarray]:
    """The made-up batch(es): one array per input shape."""
    if _is_shape(input_size):
        shapes = [tuple(input_size)]
    elif isinstance(input_size, (list, tuple)) and input_size and all(_is_shape(s) for s in input_size):
        shapes = [tuple(s) for s in input_size]
    else:
        raise ValueError(
            "summary: input_size must be the shape of one input batch, batch dimension included, "
            f"e.g. (32, 1, 28, 28) (or a list of shapes for several inputs), got {input_size!r}"
        )
    dtypes = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype] * len(shapes)
    if len(dtypes) != len(shapes):
        raise ValueError(f"summary: {len(dtypes)} dtypes for {len(shapes)} input shapes")
    rng = np.random.default_rng(0)  # own generator: the project's random stream stays untouched
    arrays = []
    for shape, dt in zip(shapes, dtypes):
        try:
            dt = np.dtype(dt)
        except TypeError:
            raise TypeError(f"summary: dtype must be a numpy dtype, got {dt!r}") from None
        arrays.append(rng.random(shape).astype(dt) if dt.kind == "f" else np.zeros(shape, dt))
    return arrays


def _is_shape(s: Any) -> bool:
    return (
        isinstance(s, (tuple, list))
        and len(s) > 0
        and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in s)
    )


def summary(
    model: Module, input_size: Sequence[int] | Sequence[Sequence[int]], dtype: Any = np.float32
) -> ModelSummary:
    """Run one forward pass of `model` on a batch of shape `input_size` and tabulate it.

    input_size: the shape of one input batch, batch dimension included, as torchinfo takes it
    (a list of shapes for a model that takes several inputs). dtype: the input's dtype (one
    per input, or one for all); integer dtypes give zeros. Returns a ModelSummary (rules in
    the module docstring). Modes, parameters and buffers are left as they were, also when the
    forward pass raises.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    inputs = _inputs(input_size, dtype)
    names = {id(m): name for name, m in model.named_modules()}
    calls: list[tuple[Module, Any]] = []
    handles = [
        m.register_forward_hook(lambda mod, args, out: calls.append((mod, out)))
        for _, m in model.named_modules()
        if m is not model
    ]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(*[Tensor(a) for a in inputs])
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:  # each module its own flag back (modes may be mixed)
            m.training = training
    rows, activations = _rows(calls, names)
    return ModelSummary(model, rows, inputs, activations)


def _rows(calls: list[tuple[Module, Any]], names: dict[int, str]) -> tuple[list[SummaryRow], int]:
    """Rows in order of execution from the calls in order of completion, and the activation bytes.

    A forward hook fires when a module finishes, after the sub-modules it ran: each call's row
    goes before the run of rows of its descendants that completed just before it."""
    rows: list[SummaryRow] = []
    seen: set[int] = set()
    activations = 0
    for module, out in calls:
        name = names.get(id(module), type(module).__name__)
        leaf = next(module.children(), None) is None
        if leaf:
            activations += _nbytes(out)
        start = len(rows)
        while start > 0 and rows[start - 1].name.startswith(name + "."):
            start -= 1
        row = SummaryRow(
            name=name,
            type=type(module).__name__,
            output_shape=_output_shape(out),
            params=sum(p.size for p in module.parameters()),
            depth=name.count("."),
            repeated=id(module) in seen,
            leaf=leaf,
        )
        seen.add(id(module))
        rows.insert(start, row)
    return rows, activations
