"""Hypothesis strategies shared by the op tests: shapes, broadcast pairs, axes, values."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

# shapes of 0 to 3 dims, each 1..4: small enough for central differences
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
nonscalar_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def broadcast_pair(draw, base=shapes):
    """Two shapes that broadcast together: the second drops leading axes or uses size 1."""
    a = draw(base)
    keep = draw(st.integers(0, len(a)))
    b = list(a[len(a) - keep:])
    b = [1 if draw(st.booleans()) else n for n in b]
    if draw(st.booleans()):
        return a, tuple(b)
    return tuple(b), a


@st.composite
def axis_for(draw, shape, allow_none=True, allow_tuple=True):
    """None, an int (maybe negative) or a tuple of distinct axes valid for `shape`."""
    nd = len(shape)
    options = []
    if allow_none or nd == 0:
        options.append(st.none())
    if nd:
        options.append(st.integers(-nd, nd - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
    return draw(st.one_of(*options))


def values(seed: int, shape: tuple, domain: str = "real") -> np.ndarray:
    """float64 values in an op's smooth domain.

    real: N(0, 1); positive: [0.5, 2.5]; nonzero: |x| >= 0.2 (away from kinks at 0);
    unit: (-0.9, 0.9); distinct: a random permutation of well-separated values (no ties).
    """
    rng = np.random.default_rng(seed)
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.5, shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "distinct":
        n = int(np.prod(shape, dtype=np.int64))
        return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape).astype(np.float64)
    raise ValueError(domain)
