"""Shared test configuration: hypothesis profiles ("ci": deterministic, >= 100 examples), and
one BLAS thread count for the whole session."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True, scope="session")
def _fixed_blas_threads():
    """Some tests compare two runs bit for bit (a resumed training against an uninterrupted
    one). That holds only with a fixed BLAS thread count: the engine otherwise switches to one
    thread while the machine is busy, which changes float32 rounding (tinygrad_kr.threads).
    The session keeps numpy's count, as a user who wants bit-identical reruns would;
    tests/test_threads.py checks the automatic choice on a policy object of its own."""
    import tinygrad_kr as tg

    n = tg.blas_threads()
    if n is not None:
        tg.set_blas_threads(n)
    yield
    tg.set_blas_threads(None)
