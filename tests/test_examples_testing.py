"""Smoke test of examples/custom_op_testing.py: the correct custom op passes check_gradients,
the buggy one passes on a domain that misses the bug and is caught, with a minimal
counterexample, on the default domain (`--help`: test_examples_help.py)."""

from __future__ import annotations

import numpy as np
import pytest

from .examples_support import example


def test_custom_op_testing():
    r = example("custom_op_testing").main(["--examples", "60", "--seed", "1"])
    assert r["caught"]
    x = np.asarray(r["counterexample"])
    assert x.shape == () and abs(float(x)) > 1  # shrunk to one number outside [-1, 1]
    # the buggy backward gives gy * x where the right one gives gy * sign(x)
    assert r["analytic"] == pytest.approx(abs(float(x)) * r["numeric"], rel=1e-6)
