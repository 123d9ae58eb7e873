"""The speed suite: workloads, timing method, correctness guard, memory probe and report.

    python -m benchmarks                        # full run (several minutes)
    python -m benchmarks --quick                # ~1-2 min smoke run
    python -m benchmarks --workload mlp_step,op_overhead:1000 --impl numpy_ref,tinygrad_kr
    python -m benchmarks --md benchmarks/README.md --json-out results.json
    python -m benchmarks --list

An implementation registers one factory per workload with `@register(impl, workload)`.  The
factory gets the shared `Problem` (numpy arrays; `p.params()` gives fresh float32 copies of the
initial weights, torch layout) and returns a `step()` doing one complete, blocking iteration and
returning the loss (or forward value) as a float, or a `Runner` that adds an untimed `check()`
(gradient checksums) and notes.  A missing library raises `Unavailable`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SEED = 0
F32 = np.float32
IMPL_MODULES = ("numpy_ref", "impl_torch", "impl_dezero", "impl_kr")
BASELINES = ("numpy_ref", "torch")
GUARD_TOL = 1e-4
EPOCH_TOL = 1e-3  # an epoch's mean loss after hundreds of float32 steps: rounding adds up
LOAD_WARN = 0.2  # cores used by other processes (or taken by the hypervisor) while timing


class Unavailable(Exception):
    """Raised by a factory when its library is missing: reported as a skip, not a failure."""


@dataclass
class Runner:
    step: Callable[[], float]                 # one timed, blocking iteration -> loss or value
    check: Callable[[], dict] | None = None   # untimed: gradient checksums after the first step
    notes: list[str] = field(default_factory=list)
    traced: bool = True                       # allocations visible to tracemalloc (numpy-based)
    held: Callable[[], int] | None = None     # bytes kept between steps for reuse (count as used)


def as_runner(obj) -> Runner:
    return obj if isinstance(obj, Runner) else Runner(obj)


REGISTRY: dict[str, dict[str, Callable]] = {}  # impl -> workload -> factory(problem)


def register(impl: str, workload: str):
    def deco(factory):
        REGISTRY.setdefault(impl, {})[workload] = factory
        return factory
    return deco


def load_impls() -> None:
    for name in IMPL_MODULES:
        importlib.import_module(f"{__package__ or 'benchmarks'}.{name}")


# ---------------------------------------------------------------------------- problems ----


class Problem:
    """Shared inputs of one workload case; impls copy from it and never mutate it.  Same
    attribute names as the team's anchors harness, so the impls plug into it unchanged."""

    def __init__(self, **arrays: Any):
        self.__dict__.update(arrays)

    def params(self) -> list[np.ndarray]:
        return [a.copy() for a in self.param_list]

    def batch(self, i: int):
        return self.X[i % self.K], self.Y[i % self.K]


def _uniform(rng, shape, fan_in):
    bound = 1.0 / math.sqrt(fan_in)  # torch's default Linear / Conv2d init
    return rng.uniform(-bound, bound, shape).astype(F32)


def _classifier(seed, x_shape, shapes):
    """4 fixed batches (float32 inputs, int64 labels in 0..9) and torch-style weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((4, *x_shape)).astype(F32)
    Y = rng.integers(0, 10, (4, x_shape[0])).astype(np.int64)
    params = [_uniform(rng, s, math.prod(w[1:])) for w in shapes for s in (w, w[:1])]
    return Problem(K=4, X=X, Y=Y, param_list=params, lr=0.1)


def make_mlp(batch, seed):
    return _classifier(seed, (batch, 784), [(256, 784), (10, 256)])


def make_cnn(_, seed):
    return _classifier(seed, (64, 1, 28, 28), [(16, 1, 3, 3), (32, 16, 3, 3), (10, 1568)])


def make_ops(n_ops, seed):
    x0 = np.random.default_rng(seed).standard_normal(16).astype(F32)
    # constants keep values and gradients O(0.1..1) for 1000 ops: no under/overflow
    return Problem(x0=x0, n_ops=n_ops, c_mul=1.005, c_add=0.001, param_list=[x0])


def op_chain(v, n_ops, c_mul, c_add, tanh):
    """The op_overhead chain on any tensor type: op k is v*c_mul, v+c_add, tanh(v) by k % 3."""
    for k in range(n_ops):
        kind = k % 3
        v = v * c_mul if kind == 0 else v + c_add if kind == 1 else tanh(v)
    return v


def _epoch(seed, n_images, batch, x_shape, shapes, lr):
    """One epoch of mini-batches: random inputs in [0, 1) of the data set's shape (an epoch's
    time does not depend on the pixel values), labels 0..9, torch-style initial weights."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_images // batch, batch, *x_shape), dtype=F32)
    Y = rng.integers(0, 10, (n_images // batch, batch)).astype(np.int64)
    params = [_uniform(rng, s, math.prod(w[1:])) for w in shapes for s in (w, w[:1])]
    return Problem(K=len(X), X=X, Y=Y, param_list=params, lr=lr, images=len(X) * batch)


def make_fashion_epoch(n_images, seed):
    # the course's Fashion-MNIST CNN (examples/fashion_mnist_cnn.py): 48,000 training images
    return _epoch(seed, n_images, 128, (1, 28, 28), [(10, 1, 3, 3), (100, 1960), (10, 100)], 0.01)


def make_mlp_epoch(hidden, seed):
    # TwoLayerNet-style MLP 784-hidden-10 on MNIST's 60,000 training images, batch 100
    return _epoch(seed, 60_000, 100, (784,), [(hidden, 784), (10, hidden)], 0.1)


def make_quickstart(mode, seed):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return Problem(script=os.path.join(root, "examples", "quickstart.py"), busy=mode == "busy",
                   param_list=[])


def make_matmul(_, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((512, 1024)).astype(F32)
    B = rng.standard_normal((1024, 1024)).astype(F32) / F32(32)
    return Problem(A=A, B=B, param_list=[A, B])


# --------------------------------------------------------------------------- workloads ----


@dataclass(frozen=True)
class Workload:
    name: str
    make: Callable[[Any, int], Problem]
    unit: str                   # "ms/step", "us/op", "ms/iter"
    guard: str                  # "loss2": loss of steps 1 and 2; "value": value + checksums
    full: tuple                 # (reps, min_reps, warmup, rounds, budget_s)
    quick: tuple
    what: Callable[[Any], str]
    sizes: tuple = (None,)
    main: Any = None
    base: str | None = None     # the workload whose implementations this one runs
    busy: bool = False          # time it with one other core kept busy (a spinning process)

    def label(self, size) -> str:
        return self.name if size is None else f"{self.name}:{size}"

    def per_step(self, size) -> float:
        """Seconds per timed step -> reported unit."""
        scale = 1e3 if self.unit.startswith("ms") else 1 if self.unit.startswith("s/") else 1e6
        return scale / (size if self.unit == "us/op" else 1)


WORKLOADS = {w.name: w for w in (
    Workload("mlp_step", make_mlp, "ms/step", "loss2", (200, 20, 20, 5, 30), (60, 10, 5, 3, 3),
             lambda n: f"batch {n}x784 -> Linear(784,256) -> ReLU -> Linear(256,10) -> "
                       "softmax cross-entropy (mean) -> backward -> SGD(lr 0.1)",
             sizes=(32, 128, 512), main=128),
    Workload("cnn_step", make_cnn, "ms/step", "loss2", (40, 10, 5, 4, 30), (12, 5, 2, 2, 3),
             lambda _: "batch 64x1x28x28 -> Conv2d(1,16,3,p1) -> ReLU -> MaxPool2d(2) -> "
                       "Conv2d(16,32,3,p1) -> ReLU -> MaxPool2d(2) -> flatten -> "
                       "Linear(1568,10) -> cross-entropy -> backward -> SGD(lr 0.1)"),
    Workload("op_overhead", make_ops, "us/op", "value", (60, 5, 3, 3, 20), (12, 3, 1, 2, 2),
             lambda n: f"x:(16,) -> {n} ops alternating x*1.005, x+0.001, tanh(x) -> sum -> "
                       f"backward; reported per op = (forward + backward time) / {n}",
             sizes=(1000, 10_000, 100_000), main=1000),
    Workload("big_matmul", make_matmul, "ms/iter", "value", (30, 10, 3, 3, 20), (8, 3, 1, 2, 2),
             lambda _: "(512x1024) @ (1024x1024) -> sum -> backward to both inputs "
                       "(3 GEMMs of 1.07 GFLOP)"),
    Workload("cnn_step_busy", make_cnn, "ms/step", "loss2", (40, 10, 5, 4, 30), (12, 5, 2, 2, 3),
             lambda _: "cnn_step while another process keeps one core busy (started before the "
                       "timed rounds, stopped after by its id)", base="cnn_step", busy=True),
    Workload("fashion_epoch", make_fashion_epoch, "s/epoch", "epoch", (3, 1, 1, 3, 120), (1, 1, 0, 1, 60),
             lambda n: f"one epoch of the course's Fashion-MNIST CNN: {n:,} images of 1x28x28, batch "
                       "128, Conv2d(1,10,3,p1) -> ReLU -> MaxPool2d(2) -> Linear(1960,100) -> ReLU -> "
                       "Linear(100,10) -> cross-entropy -> SGD(lr 0.01)",
             sizes=(48_000,), main=48_000),
    Workload("mlp_epoch", make_mlp_epoch, "s/epoch", "epoch", (3, 1, 1, 3, 60), (1, 1, 0, 1, 30),
             lambda h: f"one epoch of an MLP 784-{h}-10 (ReLU) on MNIST's shape: 60,000 images, batch "
                       "100, cross-entropy -> SGD(lr 0.1)",
             sizes=(50, 256), main=256),
    Workload("quickstart", make_quickstart, "s/run", "none", (1, 1, 0, 1, 600), (1, 1, 0, 1, 600),
             lambda busy: "wall time of `python examples/quickstart.py` (a whole training run), idle "
                          "and with one other core kept busy", sizes=("idle", "busy"), main="idle"),
)}
MEMORY_WORKLOADS = ("cnn_step",)


def select_cases(spec: str, main_only: bool) -> list[tuple[Workload, Any]]:
    """'all' or a comma list of workload names (every size) or labels like 'mlp_step:32'."""
    cases = []
    for item in WORKLOADS if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]:
        name, _, size = item.partition(":")
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {item!r}; known: {', '.join(WORKLOADS)}")
        wl = WORKLOADS[name]
        sizes = [wl.main] if main_only else wl.sizes
        if size:
            size = int(size) if size.isdigit() else size
            if size not in wl.sizes:
                raise SystemExit(f"{name}: size {size} not in {wl.sizes}")
            sizes = [size]
        cases += [(wl, s) for s in sizes if (wl, s) not in cases]
    return cases


# ----------------------------------------------------------------------- machine load ----

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_snapshot():
    """(machine busy s, steal s, CPU s of this process and its finished children, wall s).

    A finished child (the quickstart run) counts as our own work, except the spinners of the
    busy cases, which stand for another program (stop_spinner keeps their CPU time apart)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    busy, steal, t = (v[0] + v[1] + v[2] + v[5] + v[6]) / _TICK, v[7] / _TICK, os.times()
    own = t.user + t.system + t.children_user + t.children_system - _SPINNERS_CPU[0]
    return busy, steal, own, time.monotonic()


def _load_between(a, b) -> dict:
    """Cores used by other processes (and stolen by the hypervisor) between two snapshots."""
    wall = max(b[3] - a[3], 1e-9)
    return {"other_cores": round(max(0.0, (b[0] - a[0]) - (b[2] - a[2])) / wall, 3),
            "steal_cores": round((b[1] - a[1]) / wall, 3),
            "own_cores": round((b[2] - a[2]) / wall, 3)}


_SPINNERS_CPU = [0.0]  # CPU seconds of the spinners stopped so far


def start_spinner() -> subprocess.Popen:
    """A process that keeps one core busy (the 'busy laptop' of the busy workloads)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def stop_spinner(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)  # reaps it, with its own CPU time
    proc.returncode = os.waitstatus_to_exitcode(status)
    _SPINNERS_CPU[0] += usage.ru_utime + usage.ru_stime


def _minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


# ---------------------------------------------------------------------------- measure ----


def guard_values(runner: Runner, wl: Workload) -> dict:
    """Runs the first step(s) and returns the values the guard compares (plus text info)."""
    if wl.guard == "none":
        return {}
    vals = {"out@1": float(runner.step())}
    if wl.guard == "loss2":
        vals["out@2"] = float(runner.step())  # depends on the gradients + update of step 1
    if runner.check:
        vals.update(runner.check())
    return vals


def _rel(a, b) -> float:
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(b), 1e-30)


def compare(vals: dict, ref: dict) -> float:
    """Largest relative difference over the numeric guard values both sides have."""
    keys = [k for k, v in ref.items() if isinstance(v, float) and k in vals]
    return max(_rel(float(vals[k]), ref[k]) for k in keys) if keys else math.inf


def peak_step_bytes(step) -> int:
    """Peak bytes traced by tracemalloc during one step (numpy registers its buffers), beyond
    what was allocated before it (memory an impl keeps for reuse is added by the caller)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _stats(ns: list[int], per_step: float) -> dict:
    v = [x * 1e-9 * per_step for x in ns]
    p25, p75 = np.percentile(v, [25, 75])
    return {"median": statistics.median(v), "p25": float(p25), "p75": float(p75),
            "min": min(v), "max": max(v), "n": len(v),
            "samples": [float(f"{x:.4g}") for x in v]}  # in timing order


def run_case(wl: Workload, size, impls: list[str], args) -> dict:
    label, log = wl.label(size), args.log
    reps, min_reps, warmup, rounds, budget = wl.quick if args.quick else wl.full
    per_step = wl.per_step(size)
    log(f"\n=== {label}")
    prob = wl.make(size, args.seed)
    res: dict[str, Any] = {"workload": wl.name, "size": size, "unit": wl.unit,
                           "description": wl.what(size), "impls": {}, "skipped": {}}
    runners: dict[str, Runner] = {}
    for impl in impls:
        factory = REGISTRY[impl].get(wl.base or wl.name)
        if factory is None:
            continue
        try:
            runners[impl] = as_runner(factory(prob))
        except Unavailable as e:
            res["skipped"][impl] = f"unavailable: {e}"
        except Exception as e:  # noqa: BLE001 -- a broken impl must not stop the suite
            res["skipped"][impl] = f"setup failed: {type(e).__name__}: {e}"
    # Everything alive now (torch, matplotlib, ...) leaves the cyclic GC's reach: otherwise a
    # full collection triggered by one impl's garbage also scans the other libraries' heaps.
    gc.collect()
    gc.freeze()

    # guard (its steps are the first warm-up steps), rest of the warm-up, reps from the budget
    for impl, r in list(runners.items()):
        try:
            t0 = time.perf_counter()
            vals = guard_values(r, wl)
            first = time.perf_counter() - t0
            est = first / max(1, len([k for k in vals if k.startswith("out@")]))
            for _ in range(warmup - len([k for k in vals if k.startswith("out@")])):
                t0 = time.perf_counter()
                r.step()
                est = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001
            res["skipped"][impl] = f"failed in guard/warm-up: {type(e).__name__}: {e}"
            del runners[impl]
            continue
        n = reps if est * reps <= budget else max(min_reps, int(budget / est))
        res["impls"][impl] = {"guard": vals, "reps": n, "first_s": first,
                              "notes": list(r.notes)}
        log(f"  {impl:12s} ~{est * per_step:10.4f} {wl.unit}, {n} reps; guard {vals}")

    # interleaved rounds, impl order rotated every round
    times: dict[str, list[int]] = {i: [] for i in runners}
    faults: dict[str, int] = dict.fromkeys(runners, 0)
    order = list(runners)
    spinner = start_spinner() if wl.busy else None
    snap = _cpu_snapshot()
    for rnd in range(rounds):
        for impl in order[rnd % len(order):] + order[:rnd % len(order)] if order else []:
            n_total = res["impls"][impl]["reps"]
            n = n_total // rounds + (rnd < n_total % rounds)
            step, buf = runners[impl].step, times[impl]
            gc.collect()
            gc.freeze()
            time.sleep(args.settle)  # lets the previous impl's BLAS/OpenMP threads go idle
            f0 = _minflt()
            try:
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    step()
                    buf.append(time.perf_counter_ns() - t0)
            except Exception as e:  # noqa: BLE001
                res["skipped"][impl] = f"failed while timing: {type(e).__name__}: {e}"
                del runners[impl], res["impls"][impl]
                order.remove(impl)
                continue
            faults[impl] += _minflt() - f0
    res["load"] = load = _load_between(snap, _cpu_snapshot())
    if spinner is not None:
        stop_spinner(spinner)
    busy = spinner is not None or getattr(prob, "busy", False)  # quickstart:busy spins per run
    if busy:
        load["other_cores_expected"] = 1.0
    if load["other_cores"] > LOAD_WARN and not busy:
        log(f"  WARNING: other processes used {load['other_cores']} cores while timing")
    if load["steal_cores"] > LOAD_WARN:
        log(f"  WARNING: the hypervisor took {load['steal_cores']} cores (steal time) while timing")

    ref = res["impls"].get("numpy_ref", {}).get("guard")
    if wl.guard == "epoch":  # no hand-written reference: the epoch's mean loss against torch's
        ref = res["impls"].get("torch", {}).get("guard")
    elif ref is None and res["impls"] and wl.guard != "none":  # still the guard's reference
        ref = guard_values(as_runner(REGISTRY["numpy_ref"][wl.base or wl.name](prob)), wl)
    for impl, st in res["impls"].items():
        st.update(_stats(times[impl], per_step))
        st["minflt_per_step"] = faults[impl] / max(1, len(times[impl]))
        if "images" in prob.__dict__:
            st["samples_per_s"] = prob.images / (st["median"] / per_step)
        if ref:
            st["guard_diff"] = compare(st["guard"], ref)
            st["guard_pass"] = st["guard_diff"] <= (EPOCH_TOL if wl.guard == "epoch" else GUARD_TOL)
        if wl.name == "mlp_step":
            st["us_per_sample"] = st["median"] * 1e3 / size
        if wl.name == "op_overhead":
            st["ms_per_iter"] = st["median"] * size / 1e3
        if wl.name == "big_matmul":
            st["gflops"] = 3 * 2 * 512 * 1024 * 1024 / (st["median"] / 1e3) / 1e9
    for base in BASELINES:
        bm = res["impls"].get(base, {}).get("median")
        for st in res["impls"].values():
            st[f"x_{base}"] = st["median"] / bm if bm else None
    for impl, r in runners.items() if wl.name in MEMORY_WORKLOADS else ():
        try:
            if r.traced:
                held = r.held() if r.held is not None else 0
                res["impls"][impl]["peak_bytes"] = peak_step_bytes(r.step) + held
        except Exception as e:  # noqa: BLE001
            res["impls"][impl]["notes"].append(f"memory step failed: {type(e).__name__}: {e}")
    for impl, st in res["impls"].items():
        log(f"  {impl:12s} median {st['median']:10.4f} {wl.unit}  n={st['n']}  "
            f"guard {'PASS' if st.get('guard_pass') else 'FAIL' if ref else '-'}")
    for impl, why in res["skipped"].items():
        log(f"  {impl:12s} {why}")
    runners.clear()
    gc.unfreeze()
    gc.collect()
    return res


# -------------------------------------------------------------------------- environment ----


def environment() -> dict:
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    env: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python": platform.python_version(),
        "platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count(),
        "numpy": np.__version__, "blas": f"{blas.get('name')} {blas.get('version')}",
        "git": _git_rev(),
    }
    pkgs = {}
    for pkg in ("torch", "dezero", "threadpoolctl", "numba", "matplotlib"):
        try:
            pkgs[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    env["packages"] = pkgs
    try:
        import threadpoolctl
        env["threadpools"] = [f"{d['prefix']} ({d['internal_api']} {d.get('version')}): "
                              f"{d['num_threads']} threads"
                              for d in threadpoolctl.threadpool_info()]
    except ImportError:
        env["threadpools"] = ["threadpoolctl not installed"]
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        env["torch_threads"] = (f"intra-op {torch.get_num_threads()}, "
                                f"inter-op {torch.get_num_interop_threads()}")
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def _git_rev() -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev or "no commit") + (" + uncommitted changes" if dirty else "")
    except OSError:
        return None


# ------------------------------------------------------------------------------ report ----


def _num(v) -> str:
    if v is None:
        return "—"
    if not math.isfinite(v):
        return str(v)
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 10 else f"{v:.3f}"


def _ratio(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def _notes(st: dict) -> str:
    notes = list(st["notes"])
    if "us_per_sample" in st:
        notes.insert(0, f"{st['us_per_sample']:.2f} us/sample")
    if "ms_per_iter" in st:
        notes.insert(0, f"{st['ms_per_iter']:.2f} ms/iter")
    if "gflops" in st:
        notes.insert(0, f"{st['gflops']:.0f} GFLOP/s")
    if "samples_per_s" in st:
        notes.insert(0, f"{st['samples_per_s']:,.0f} samples/s")
    if "minflt_per_step" in st:
        notes.append(f"{st['minflt_per_step']:,.0f} minor page faults/step")
    notes += [f"{k}={v}" for k, v in st["guard"].items() if not isinstance(v, float)]
    if st["first_s"] > 1:
        notes.append(f"first step {st['first_s']:.1f} s")
    return "; ".join(notes)


def markdown(results: dict) -> str:
    env, out = results["env"], []
    w = out.append
    w(f"Run {env['date']}: `{results['command']}`, {results['total_s']:.0f} s"
      f"{' (quick mode: few repetitions)' if results['quick'] else ''}; git {env['git']}.")
    w("")
    w(f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}; numpy "
      f"{env['numpy']} (BLAS {env['blas']}); "
      + ", ".join(f"{k} {v}" for k, v in env["packages"].items())
      + (f"; torch threads {env['torch_threads']}" if "torch_threads" in env else "")
      + "; thread pools: " + "; ".join(env["threadpools"]) + ".")
    w("")
    w(f"Median of per-step wall times (interleaved rounds); ratios are medians of this run; "
      f"guard = largest relative difference of the losses (steps 1, 2) or of the value and "
      f"gradient checksums against numpy_ref (pass <= {GUARD_TOL:g}).")
    for label, c in results["cases"].items():
        w("")
        w(f"### {label} — {c['unit']}")
        w("")
        load = c.get("load", {})
        busy = "other_cores_expected" in load
        steal = load.get("steal_cores", 0)
        w(f"{c['description']}. Other processes used {load.get('other_cores', 0):.2f} cores "
          "while timing" + (" (one core kept busy on purpose)" if busy else "")
          + f"; the hypervisor took {steal:.2f} (steal time)."
          + (" **WARNING: busy machine, numbers not representative.**"
             if (load.get("other_cores", 0) > LOAD_WARN and not busy) or steal > LOAD_WARN else ""))
        w("")
        w(f"| impl | median {c['unit']} | p25–p75 | min | n | × numpy_ref | × torch | guard "
          "| notes |")
        w("|---|---:|---:|---:|---:|---:|---:|---|---|")
        for impl, st in c["impls"].items():
            guard = "—" if "guard_pass" not in st else (
                f"{'PASS' if st['guard_pass'] else '**FAIL**'} {st['guard_diff']:.0e}")
            w(f"| {impl} | **{_num(st['median'])}** | {_num(st['p25'])}–{_num(st['p75'])} | "
              f"{_num(st['min'])} | {st['n']} | {_ratio(st['x_numpy_ref'])} | "
              f"{_ratio(st['x_torch'])} | {guard} | {_notes(st)} |")
        for impl, why in c["skipped"].items():
            w(f"| {impl} | — | | | | | | | {why} |")
    w("")
    w(_scaling_table(results["cases"]))
    w(_memory_table(results["cases"]))
    return "\n".join(out).rstrip() + "\n"


def _scaling_table(cases: dict) -> str:
    rows = [c for c in cases.values() if len(WORKLOADS[c["workload"]].sizes) > 1]
    if len({c["workload"] for c in rows}) == len(rows):
        return ""  # no family was run at more than one size
    impls = list(dict.fromkeys(i for c in rows for i in c["impls"]))
    out = ["### Scaling — us/sample (mlp_step), us/op (op_overhead)", "",
           "| case | " + " | ".join(impls) + " |", "|---|" + "---:|" * len(impls)]
    for c in rows:
        cells = [c["impls"].get(i, {}) for i in impls]
        out.append(f"| {c['workload']}:{c['size']} | " + " | ".join(
            _num(st.get("us_per_sample", st.get("median"))) for st in cells) + " |")
    return "\n".join(out) + "\n"


def _memory_table(cases: dict) -> str:
    out = []
    for label, c in cases.items():
        mem = {i: st["peak_bytes"] for i, st in c["impls"].items() if "peak_bytes" in st}
        if not mem:
            continue
        ref = mem.get("numpy_ref")
        out += [f"### Memory — peak traced bytes of one {label} (tracemalloc)", "",
                "| impl | peak MB | × numpy_ref |", "|---|---:|---:|"]
        out += [f"| {i} | {b / 2**20:.1f} | {_ratio(b / ref if ref else None)} |"
                for i, b in mem.items()]
        untraced = [i for i in c["impls"] if i not in mem]
        if untraced:
            out += ["", f"Not measured: {', '.join(untraced)} (its allocator is invisible to "
                    "tracemalloc)."]
        out.append("")
    return "\n".join(out)


BEGIN, END = "<!-- BEGIN benchmark results -->", "<!-- END benchmark results -->"


def write_md(path: str, body: str) -> None:
    """Writes the report into `path`, replacing the block between the markers if present."""
    block = f"{BEGIN}\n{body}{END}\n"
    text = open(path).read() if os.path.exists(path) else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        block = head + block + rest.split(END, 1)[1].lstrip("\n")
    with open(path, "w") as f:
        f.write(block)


def _json_safe(o):
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    return o.item() if isinstance(o, np.generic) else o


# --------------------------------------------------------------------------------- CLI ----


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (~1-2 min)")
    ap.add_argument("--workload", default="all",
                    help="comma list: workload names (all their sizes) or name:size")
    ap.add_argument("--impl", default="all", help="comma list of impls")
    ap.add_argument("--main-only", action="store_true", help="skip the scaling sizes")
    ap.add_argument("--json-out", metavar="FILE", help="write all numbers + environment as JSON")
    ap.add_argument("--md", metavar="FILE", help="write the markdown report into FILE "
                    "(replaces the block between the result markers if FILE has them)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--settle", type=float, default=0.1, help="sleep before each timed block (s)")
    ap.add_argument("--list", action="store_true", help="list workloads and impls, then exit")
    args = ap.parse_args(argv)
    args.log = lambda *a: print(*a, file=sys.stderr, flush=True)

    load_impls()
    if args.list:
        for wl in WORKLOADS.values():
            impls = [i for i, fs in REGISTRY.items() if wl.name in fs]
            print(f"{wl.name:12s} sizes {wl.sizes}: {', '.join(impls)}")
        return 0
    cases = select_cases(args.workload, args.main_only)
    impls = list(REGISTRY) if args.impl == "all" else [s.strip() for s in args.impl.split(",")]
    unknown = [i for i in impls if i not in REGISTRY]
    if unknown:
        ap.error(f"unknown impl(s) {unknown}; known: {', '.join(REGISTRY)}")

    t0 = time.time()
    results: dict[str, Any] = {"schema": "tinygrad_kr-benchmarks/1", "quick": args.quick,
                               "command": "python -m benchmarks " + " ".join(argv),
                               "seed": args.seed, "cases": {}}
    for wl, size in cases:
        results["cases"][wl.label(size)] = run_case(wl, size, impls, args)
    results["total_s"] = time.time() - t0
    results["env"] = environment()
    report = markdown(results)
    print(report)
    if args.md:
        write_md(args.md, report)
        args.log(f"wrote {args.md}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(_json_safe(results), f, indent=1, allow_nan=False)
        args.log(f"wrote {args.json_out}")
    return 0
