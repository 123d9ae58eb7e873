"""Smoke test of the speed suite: every impl agrees with numpy_ref on the guard values of each
workload's main case (2 steps, no timing)."""

import pytest

from benchmarks import run

run.load_impls()
CASES = run.select_cases("all", main_only=True)


@pytest.mark.parametrize("impl", ["tinygrad_kr", "torch"])
@pytest.mark.parametrize("wl,size", CASES, ids=[wl.label(s) for wl, s in CASES])
def test_guard_agrees_with_numpy_ref(wl, size, impl):
    factory = run.REGISTRY[impl].get(wl.name)
    if factory is None:
        pytest.skip(f"{impl} has no {wl.name}")
    problem = wl.make(size, run.SEED)
    ref = run.guard_values(run.as_runner(run.REGISTRY["numpy_ref"][wl.name](problem)), wl)
    try:
        runner = run.as_runner(factory(problem))
    except run.Unavailable as e:
        pytest.skip(str(e))
    vals = run.guard_values(runner, wl)
    assert run.compare(vals, ref) <= run.GUARD_TOL, (vals, ref)
