"""tinygrad_kr.testing: the strategies draw what they promise, and check_gradients both passes
correct ops and catches planted wrong backwards (scaled, transposed, a wrong reduction, wrong
only on part of the domain, a backward that cannot be differentiated again) with a minimal,
shrunk counterexample."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_kr as tg
from tinygrad_kr.testing import (
    DOMAINS,
    GradientCheckFailure,
    arrays,
    assert_gradients,
    axes,
    broadcastable_shapes,
    check_gradients,
    sample,
    shapes,
)

# ---- strategies -------------------------------------------------------------------------------


@given(shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 2 and all(2 <= n <= 3 for n in shape)


@given(broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes3):
    assert len(shapes3) == 3
    np.broadcast_shapes(*shapes3)  # raises if they do not


@pytest.mark.parametrize("domain", ["real", "positive", "nonzero", "unit", (2.0, 2.5)])
@given(data=st.data())
def test_arrays_stay_in_their_domain(domain, data):
    x = data.draw(arrays(shapes(), domain))
    assert x.dtype == np.float64 and np.isfinite(x).all()
    intervals = DOMAINS[domain] if isinstance(domain, str) else (domain,)
    inside = np.zeros(x.shape, bool)
    for lo, hi in intervals:
        inside |= (x >= lo) & (x <= hi)
    assert inside.all(), x


@given(arrays((3, 4), "distinct"))
def test_distinct_arrays_are_well_separated(x):
    gaps = np.diff(np.sort(x.ravel()))
    assert x.shape == (3, 4) and gaps.min() >= 0.37 - 1e-12


@given(data=st.data())
def test_axes_are_valid_for_numpy(data):
    shape = data.draw(shapes())
    axis = data.draw(axes(len(shape)))
    x = np.ones(shape)
    assert np.sum(x, axis=axis).size <= max(x.size, 1)


def test_sample_is_fixed_and_in_domain():
    np.testing.assert_array_equal(sample((3, 2), "nonzero", seed=4), sample((3, 2), "nonzero", seed=4))
    x = sample((1000,), "nonzero", seed=1)
    assert (np.abs(x) >= 0.2).all() and (np.abs(x) <= 3).all() and (x < 0).any() and (x > 0).any()
    assert ((sample((50,), (1, 2)) >= 1) & (sample((50,), (1, 2)) <= 2)).all()
    assert sorted(sample((2, 2), "distinct").ravel().tolist()) == pytest.approx(
        [-0.555, -0.185, 0.185, 0.555]
    )


@pytest.mark.parametrize("bad", ["complex", (3, 1), (0, float("inf")), ("a", "b"), 5])
def test_bad_domains_are_refused(bad):
    with pytest.raises(ValueError, match="arrays: .*domain"):
        arrays((2,), bad)


def test_bad_strategy_arguments_are_refused():
    with pytest.raises(ValueError, match="shapes: need min_dims <= max_dims"):
        shapes(min_dims=3, max_dims=1)
    with pytest.raises(ValueError, match="axes: ndim"):
        axes(-1)
    with pytest.raises(TypeError, match="input strategy 0 is a ndarray"):
        check_gradients(lambda x: x, np.ones(3))
    with pytest.raises(ValueError, match="max_examples"):
        check_gradients(lambda x: x, arrays((2,)), max_examples=0)


# ---- check_gradients passes correct ops -------------------------------------------------------


class Cube(tg.Function):
    """x**3, correctly: gradient 3 x**2 gy, written with Tensor ops (differentiable again)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 3 * x * x


def pair():
    s = st.shared(broadcastable_shapes(), key="pair")
    return arrays(s.map(lambda p: p[0])), arrays(s.map(lambda p: p[1]))


def test_correct_ops_pass():
    check_gradients(lambda x: Cube.apply(x), arrays(shapes()), second_order=True)
    check_gradients(lambda a, b: a * b + a / (b * b + 1), *pair(), second_order=True)
    check_gradients(lambda x: x.log().sqrt(), arrays(shapes(), (1.5, 3.0)))
    k = st.shared(st.integers(1, 3), key="k")
    check_gradients(
        lambda a, b: (a @ b).tanh(),
        arrays(st.tuples(st.integers(1, 3), k)),
        arrays(st.tuples(k, st.integers(1, 3))),
        max_examples=30,
    )


def test_non_array_inputs_are_passed_as_is():
    seen = []

    def fn(x, axis):
        seen.append(axis)
        return x.sum(axis)

    check_gradients(fn, arrays((2, 3)), axes(2), max_examples=20)
    assert any(a is None for a in seen) and any(isinstance(a, int) for a in seen)


class BiasNoUnbroadcast(tg.Function):
    """x + b, whose backward leaves the bias gradient broadcast: the engine sums it down."""

    def forward(self, x, b):
        return x + b

    def backward(self, gy):
        return gy, gy


def test_the_engine_sums_broadcast_gradients_so_that_is_not_a_bug():
    check_gradients(lambda x, b: BiasNoUnbroadcast.apply(x, b), arrays((3, 2)), arrays((2,)), max_examples=20)


# ---- ... and catches planted wrong backwards --------------------------------------------------


def failure(fn, *strategies, **kw) -> GradientCheckFailure:
    with pytest.raises(GradientCheckFailure) as info:
        check_gradients(fn, *strategies, **kw)
    e = info.value
    text = str(e)
    assert "smallest failing example" in text and "analytic" in text and "numeric" in text
    assert f"index {e.index}" in text and "x0 = array(" in text
    return e


class ScaledSquare(tg.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 2.5 * x  # should be 2 x


def test_catches_a_scaled_gradient_with_a_minimal_example():
    e = failure(lambda x: ScaledSquare.apply(x), arrays(shapes()))
    assert e.inputs[0].shape == ()  # shrunk to one number
    assert e.analytic == pytest.approx(1.25 * e.numeric, rel=1e-6)
    assert f"analytic {e.analytic!r}, numeric {e.numeric!r}" in str(e)


class MatMulForgotTranspose(tg.Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved_tensors
        return gy @ b, a.mT @ gy  # should be gy @ b.mT


def test_catches_a_missing_transpose_with_the_smallest_shapes():
    k = st.shared(st.integers(1, 3), key="k")
    e = failure(
        lambda a, b: MatMulForgotTranspose.apply(a, b),
        arrays(st.tuples(st.integers(1, 3), k)),
        arrays(st.tuples(k, k)),
    )
    # 1 x 1 cannot show a transpose: shrinking ends at the smallest k that can, 2
    a, b = e.inputs
    assert e.argument == 0
    assert b.shape == (2, 2) and a.shape[1] == 2
    assert b[0, 1] != b[1, 0]  # a symmetric b hides the bug


class BiasMeanInsteadOfSum(tg.Function):
    def forward(self, x, b):
        return x + b

    def backward(self, gy):
        return gy, gy.mean(axis=0)  # the bias was broadcast over the rows: should be a sum


def test_catches_a_wrong_reduction_of_a_broadcast_gradient():
    e = failure(
        lambda x, b: BiasMeanInsteadOfSum.apply(x, b),
        arrays(st.tuples(st.integers(1, 4), st.shared(st.integers(1, 3), key="m"))),
        arrays(st.tuples(st.shared(st.integers(1, 3), key="m"))),
    )
    assert e.argument == 1
    assert e.inputs[0].shape == (2, 1)  # one row cannot tell a mean from a sum; two can
    assert e.analytic == pytest.approx(e.numeric / 2)


class CubeWrongOutsideUnit(tg.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, gy):
        (x,) = self.saved_tensors
        wrong = tg.where(x.abs().data > 1, 1.1, 1.0)  # 10 % off where |x| > 1 only
        return gy * 3 * x * x * wrong


def test_catches_a_gradient_wrong_only_on_part_of_the_domain():
    check_gradients(lambda x: CubeWrongOutsideUnit.apply(x), arrays(shapes(), "unit"))  # looks fine
    e = failure(lambda x: CubeWrongOutsideUnit.apply(x), arrays(shapes()))
    x = e.inputs[0]
    assert x.shape == () and abs(float(x)) > 1
    assert e.analytic == pytest.approx(1.1 * e.numeric, rel=1e-6)


class SquareFirstOrderOnly(tg.Function):
    """Correct gradient, but computed from a detached x: its own derivative is lost."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 2 * x.detach()


def test_second_order_catches_a_backward_that_is_not_differentiable():
    check_gradients(lambda x: SquareFirstOrderOnly.apply(x), arrays(shapes()))  # first order is right
    e = failure(lambda x: SquareFirstOrderOnly.apply(x), arrays(shapes()), second_order=True)
    assert e.order == 2 and "Hessian-vector product" in str(e) and e.analytic == 0.0


def test_errors_of_fn_propagate_with_the_inputs():
    def broken(x):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom") as info:
        check_gradients(broken, arrays((2,)), max_examples=5)
    notes = "".join(getattr(info.value, "__notes__", [])) + str(info.value)
    assert "check_gradients: raised by " in notes and "broken for the inputs array([" in notes


def test_assert_gradients_checks_one_example():
    assert_gradients(lambda x, y: x * y, np.array([1.0, 2.0]), np.array(3.0), second_order=True)
    with pytest.raises(GradientCheckFailure, match=r"input x0 \(shape \(\)"):
        assert_gradients(lambda x: ScaledSquare.apply(x), np.array(1.0))
    with pytest.raises(ValueError, match="no numpy float array"):
        assert_gradients(lambda n: n, 3)


def test_importing_without_hypothesis_names_the_extra():
    code = "import sys; sys.modules['hypothesis'] = None\nimport tinygrad_kr.testing"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and 'pip install "tinygrad_kr[testing]"' in proc.stderr
