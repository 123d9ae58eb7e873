"""The project's single random generator.

Every random choice in tinygrad_kr and nn (randn, rand, weight init, dropout masks, data
shuffling without an explicit seed) draws from `get_generator()`, so `manual_seed(seed)`
reproduces a whole training run.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the project's generator; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_generator() -> np.random.Generator:
    """The generator every random function of the project uses."""
    return _generator
