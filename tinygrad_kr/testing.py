"""Property tests for gradients: hypothesis strategies and `check_gradients`, for your own ops.

    from tinygrad_kr.testing import arrays, broadcastable_shapes, check_gradients, shapes

    check_gradients(lambda x: MyOp.apply(x), arrays(shapes()))            # any shape, real x
    check_gradients(lambda x: x.log(), arrays(shapes(), "positive"))      # x in [0.5, 3]
    pair = st.shared(broadcastable_shapes(), key="pair")                  # one draw, e.g. ((2, 3), (3,))
    check_gradients(lambda a, b: a * b, arrays(pair.map(lambda s: s[0])), arrays(pair.map(lambda s: s[1])))

(`st` is `hypothesis.strategies`.) `check_gradients` draws inputs from the strategies (100
examples by default), compares the engine's gradient of fn with float64 central differences on
each, and, when one disagrees, lets hypothesis shrink the inputs to a minimal failing example,
which the error shows with the worst index and both values. Shapes that must agree across
inputs come from one shared draw: `st.shared(shapes(), key="s")` in each `arrays(...)`.

The strategies (`shapes`, `broadcastable_shapes`, `arrays`, `axes`) are the ones the project's
own op tests use. Domains keep values where an op is smooth:
    "real"      [-3, 3]
    "positive"  [0.5, 3]             (log, sqrt, the base of pow)
    "nonzero"   [-3, -0.2] u [0.2, 3] (away from the kinks of relu, abs and 1/x)
    "unit"      [-0.9, 0.9]          (atanh, arcsin)
    "distinct"  distinct values at least 0.37 apart (no ties for max, min, sort)
    (low, high) any interval.
`sample(shape, domain, seed)` gives one fixed array from the same domains, for example-based
tests.

Needs the hypothesis package: pip install "tinygrad_kr[testing]".
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

try:
    import hypothesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # hypothesis is an optional dependency
    raise ImportError(
        'tinygrad_kr.testing needs the hypothesis package: pip install "tinygrad_kr[testing]" '
        '(or pip install "hypothesis>=6.80")'
    ) from e

from .autograd import grad
from .errors import add_note
from .gradcheck import GradcheckError, first_order_mismatch, upstream_weight, worst_mismatch
from .tensor import Tensor

__all__ = [
    "DOMAINS",
    "GradientCheckFailure",
    "arrays",
    "assert_gradients",
    "axes",
    "broadcastable_shapes",
    "check_gradients",
    "sample",
    "shapes",
]

# name -> the intervals the values are drawn from (a union for "nonzero")
DOMAINS: dict[str, tuple[tuple[float, float], ...]] = {
    "real": ((-3.0, 3.0),),
    "positive": ((0.5, 3.0),),
    "nonzero": ((-3.0, -0.2), (0.2, 3.0)),
    "unit": ((-0.9, 0.9),),
}
_DISTINCT_GAP = 0.37  # "distinct": a permutation of 0, 1, ..., n-1 times this, centred


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


def _check_sides(who: str, min_dims: int, max_dims: int, min_side: int, max_side: int) -> None:
    for name, v in (
        ("min_dims", min_dims),
        ("max_dims", max_dims),
        ("min_side", min_side),
        ("max_side", max_side),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{who}: {name} must be a non-negative integer, got {v!r}")
    if min_dims > max_dims or min_side > max_side:
        raise ValueError(
            f"{who}: need min_dims <= max_dims and min_side <= max_side, got dims {min_dims}..{max_dims}, "
            f"sides {min_side}..{max_side}"
        )


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Array shapes: tuples of min_dims..max_dims sides, each min_side..max_side. The defaults
    (up to 4 x 4 x 4) keep central differences fast; shrinking goes to () and then to 1s."""
    _check_sides("shapes", min_dims, max_dims, min_side, max_side)
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy:
    """Tuples of `num_shapes` shapes that broadcast together, such as ((2, 1), (3,)): sides of 1
    and missing leading axes in any of them."""
    if isinstance(num_shapes, bool) or not isinstance(num_shapes, (int, np.integer)) or num_shapes < 1:
        raise ValueError(f"broadcastable_shapes: num_shapes must be a positive integer, got {num_shapes!r}")
    _check_sides("broadcastable_shapes", min_dims, max_dims, min_side, max_side)
    return hnp.mutually_broadcastable_shapes(
        num_shapes=int(num_shapes), min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda b: tuple(b.input_shapes))


def _intervals(domain: Any, who: str) -> tuple[tuple[float, float], ...] | None:
    """The intervals of a domain name or (low, high) pair; None for "distinct"."""
    if isinstance(domain, str):
        if domain == "distinct":
            return None
        if domain in DOMAINS:
            return DOMAINS[domain]
    elif isinstance(domain, (tuple, list)) and len(domain) == 2:
        low, high = domain
        ok = all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in domain
        )
        if ok and np.isfinite(low) and np.isfinite(high) and low < high:
            return ((float(low), float(high)),)
        raise ValueError(
            f"{who}: a domain pair must be finite numbers (low, high) with low < high, got {domain!r}"
        )
    names = ", ".join(repr(n) for n in (*DOMAINS, "distinct"))
    raise ValueError(f"{who}: unknown domain {domain!r}; use one of {names} or a (low, high) pair")


def _distinct(perm: Any, shape: tuple) -> np.ndarray:
    n = len(perm)
    return ((np.asarray(perm, dtype=np.float64) - (n - 1) / 2) * _DISTINCT_GAP).reshape(shape)


def _shape_arg(shape: Any, who: str) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise ValueError(
            f"{who}: shape must be a tuple of non-negative ints (or a strategy of them), got {shape!r}"
        )
    return tuple(int(n) for n in shape)


def arrays(shape: Any, domain: Any = "real") -> st.SearchStrategy:
    """float64 arrays of `shape` (a tuple, an int, or a strategy such as `shapes()`) with values
    in `domain` (see the module docstring). Every element is drawn on its own (no filled
    blocks), never nan, inf or subnormal; hypothesis shrinks them towards simple numbers."""
    intervals = _intervals(domain, "arrays")
    if isinstance(shape, st.SearchStrategy):
        return shape.flatmap(lambda s: arrays(s, domain))
    shape = _shape_arg(shape, "arrays")
    if intervals is None:
        n = int(np.prod(shape, dtype=np.int64))
        return st.permutations(range(n)).map(lambda p: _distinct(p, shape))
    elements = st.one_of(
        *[
            st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
            for lo, hi in intervals
        ]
    )
    return hnp.arrays(np.float64, shape, elements=elements, fill=st.nothing())


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """An `axis` argument valid for `ndim` dimensions: None (all axes), an int (maybe
    negative), or a tuple of distinct axes. A 0-d array gets None."""
    if isinstance(ndim, bool) or not isinstance(ndim, (int, np.integer)) or ndim < 0:
        raise ValueError(f"axes: ndim must be a non-negative integer, got {ndim!r}")
    options = []
    if allow_none or ndim == 0:
        options.append(st.none())
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(
                st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
            )
    return st.one_of(*options)


def sample(shape: Any, domain: Any = "real", seed: int = 0) -> np.ndarray:
    """One fixed float64 array of `shape` from `domain` (uniform in its intervals; "distinct":
    a random permutation of well-separated values), for example-based tests."""
    intervals = _intervals(domain, "sample")
    shape = _shape_arg(shape, "sample")
    rng = np.random.default_rng(seed)
    if intervals is None:
        return _distinct(rng.permutation(int(np.prod(shape, dtype=np.int64))), shape)
    which = rng.integers(0, len(intervals), size=shape)
    lows = np.array([lo for lo, _ in intervals])[which]
    highs = np.array([hi for _, hi in intervals])[which]
    return lows + (highs - lows) * rng.random(shape)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


class GradientCheckFailure(GradcheckError):
    """fn's gradient (or Hessian-vector product) differs from central differences.

    Attributes: `inputs` (the arguments fn got, as numpy arrays / values), `argument` (the
    position of the input whose gradient is wrong), `index` (the worst element), `analytic`
    and `numeric` (the two values there), `order` (1: gradient, 2: Hessian-vector product)."""

    def __init__(
        self,
        message: str,
        inputs: tuple,
        argument: int,
        index: tuple,
        analytic: float,
        numeric: float,
        order: int,
    ):
        super().__init__(message)
        self.inputs, self.argument, self.index = inputs, argument, index
        self.analytic, self.numeric, self.order = analytic, numeric, order


def _show(v: Any) -> str:
    if isinstance(v, np.ndarray):
        body = np.array2string(v, separator=", ", floatmode="unique", max_line_width=100)
        return f"array({body})"
    return repr(v)


def _fn_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def assert_gradients(
    fn: Callable,
    *inputs: Any,
    second_order: bool = False,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> None:
    """Check fn's gradients at one set of inputs (what `check_gradients` runs per example).

    inputs: numpy float arrays become float64 Tensors that require grad and are checked; any
    other value (an axis, a flag, an int array of labels) is passed to fn as it is. The engine's
    gradient of sum(fn(*inputs) * w), for a fixed random w, is compared with central differences
    (step eps) in float64; with second_order, also the Hessian-vector product H v (for a random
    direction v, through backward with create_graph) with central differences of the gradient
    along v. Raises GradientCheckFailure with the inputs, the worst index and both values.
    """
    args = list(inputs)
    at = [i for i, v in enumerate(args) if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    if not at:
        raise ValueError(f"assert_gradients: no numpy float array among the {len(args)} input(s) to check")
    shown = tuple(np.array(v, dtype=np.float64) if i in at else v for i, v in enumerate(args))
    tensors = [Tensor(np.array(args[i], dtype=np.float64), requires_grad=True) for i in at]

    def fn_of_tensors(*ts: Tensor) -> Tensor:
        full = list(args)
        for i, t in zip(at, ts):
            full[i] = t
        return fn(*full)

    found = first_order_mismatch(fn_of_tensors, tensors, eps, atol, rtol, seed)
    order, hint = 1, ""
    if found is None and second_order:
        found, hint = _hvp_mismatch(fn_of_tensors, tensors, eps, atol, rtol, seed)
        order = 2
    if found is None:
        return
    k, index, analytic, numeric = found
    what = "gradient" if order == 1 else "Hessian-vector product"
    lines = [
        f"{_fn_name(fn)}: the {what} of input x{at[k]} (shape {tensors[k].shape}; of sum(w * output) "
        f"for a fixed random w) differs from float64 central differences at index {index}: "
        f"analytic {analytic!r}, numeric {numeric!r} "
        f"(atol={atol}, rtol={rtol}){hint}",
        "inputs:",
        *[f"  x{i} = {_show(v)}" + ("" if i in at else "  (passed as is)") for i, v in enumerate(shown)],
    ]
    raise GradientCheckFailure("\n".join(lines), shown, at[k], index, analytic, numeric, order)


def _hvp_mismatch(fn: Callable, tensors: list[Tensor], eps: float, atol: float, rtol: float, seed: int):
    """Compare H v (double backward) with (g(x + eps v) - g(x - eps v)) / 2 eps, where g is the
    engine's first gradient (already checked) and v a random direction."""
    rng = np.random.default_rng(seed + 1)
    vs = [rng.standard_normal(t.shape) for t in tensors]
    w = None

    def first(arrays: list[np.ndarray], create_graph: bool) -> tuple:
        nonlocal w
        xs = [Tensor(a, requires_grad=True) for a in arrays]
        out = fn(*xs)
        if w is None:
            w = Tensor(upstream_weight(out.shape, seed).astype(out.dtype))
        return xs, grad(out, xs, grad_outputs=w, create_graph=create_graph, allow_unused=True)

    xs, gs = first([t.data.copy() for t in tensors], True)
    terms = [(g * Tensor(v)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    hint = ""
    if terms:
        hv = grad(sum(terms[1:], terms[0]), xs, allow_unused=True)
    else:
        hv = (None,) * len(xs)
        hint = (
            "; the recorded backward is not differentiable (no gradient of the gradient): write "
            "backward with Tensor operations (see tg.Function)"
        )
    _, plus = first([t.data + eps * v for t, v in zip(tensors, vs)], False)
    _, minus = first([t.data - eps * v for t, v in zip(tensors, vs)], False)
    for k, (h, p, m) in enumerate(zip(hv, plus, minus)):
        shape = tensors[k].shape
        numeric = np.zeros(shape) if p is None else (p.data - m.data) / (2 * eps)
        analytic = np.zeros(shape) if h is None else np.asarray(h.data, dtype=np.float64)
        found = worst_mismatch(analytic, numeric, atol, rtol)
        if found is not None:
            return (k, *found), hint
    return None, ""


def check_gradients(
    fn: Callable,
    *input_strategies: st.SearchStrategy,
    max_examples: int = 100,
    second_order: bool = False,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int | None = None,
) -> None:
    """Property-test fn's gradients: for inputs drawn from `input_strategies` (one strategy per
    argument of fn, e.g. `arrays(shapes())`), compare them (and, with second_order,
    Hessian-vector products) with float64 central differences, as `assert_gradients` does.

    Runs up to max_examples examples under the current hypothesis settings profile (no example
    database: every call starts afresh); seed (an int) makes the examples reproducible. On a
    failure hypothesis shrinks the inputs; the GradientCheckFailure raised shows the minimal
    failing inputs, the worst index and the analytic and numeric values there. Errors raised
    by fn itself propagate with the inputs attached as a note.
    """
    if not callable(fn):
        raise TypeError(f"check_gradients: fn must be callable, got {type(fn).__name__}")
    if not input_strategies:
        raise ValueError(
            "check_gradients: pass one hypothesis strategy per argument of fn, e.g. arrays(shapes())"
        )
    for i, s in enumerate(input_strategies):
        if not isinstance(s, st.SearchStrategy):
            raise TypeError(
                f"check_gradients: input strategy {i} is a {type(s).__name__}, not a hypothesis strategy "
                "(use arrays(...), or st.just(value) for a fixed value)"
            )
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 1:
        raise ValueError(f"check_gradients: max_examples must be a positive integer, got {max_examples!r}")

    @settings(
        max_examples=int(max_examples),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.tuples(*input_strategies))
    def gradients_match(inputs: tuple) -> None:
        try:
            assert_gradients(fn, *inputs, second_order=second_order, eps=eps, atol=atol, rtol=rtol)
        except GradientCheckFailure:
            raise
        except Exception as e:
            add_note(
                e,
                f"check_gradients: raised by {_fn_name(fn)} for the inputs " + ", ".join(map(_show, inputs)),
            )
            raise

    if seed is not None:
        gradients_match = hypothesis.seed(int(seed))(gradients_match)
    try:
        gradients_match()
    except GradientCheckFailure as e:
        raise GradientCheckFailure(
            f"check_gradients: {e}\n(the smallest failing example hypothesis found, after shrinking)",
            e.inputs,
            e.argument,
            e.index,
            e.analytic,
            e.numeric,
            e.order,
        ) from None
