"""Smoke test of the speed suite: every impl agrees with numpy_ref on the guard values of each
workload's main case (2 steps, no timing); the epoch workloads agree with PyTorch on a few
batches of their epoch."""

import pytest

from benchmarks import run

run.load_impls()
CASES = [(wl, s) for wl, s in run.select_cases("all", main_only=True) if wl.guard != "none" and not wl.busy]


@pytest.mark.parametrize("impl", ["tinygrad_kr", "tinygrad_kr_fused", "torch"])
@pytest.mark.parametrize("wl,size", CASES, ids=[wl.label(s) for wl, s in CASES])
def test_guard_agrees_with_the_reference(wl, size, impl):
    factory = run.REGISTRY[impl].get(wl.name)
    if factory is None:
        pytest.skip(f"{impl} has no {wl.name}")
    problem = wl.make(size, run.SEED)
    if wl.guard == "epoch":  # no hand-written reference: PyTorch's loss over a few batches
        problem.X, problem.Y = problem.X[:3], problem.Y[:3]
        reference = run.REGISTRY["torch"][wl.name]
        tol = run.EPOCH_TOL
    else:
        reference = run.REGISTRY["numpy_ref"][wl.name]
        tol = run.GUARD_TOL
    try:
        ref = run.guard_values(run.as_runner(reference(problem)), wl)
        runner = run.as_runner(factory(problem))
    except run.Unavailable as e:
        pytest.skip(str(e))
    vals = run.guard_values(runner, wl)
    assert run.compare(vals, ref) <= tol, (vals, ref)
