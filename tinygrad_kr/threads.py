"""How many threads the engine's matrix products use: chosen by the engine, overridable.

Why: OpenBLAS (numpy's BLAS) starts a worker thread per core, and a worker that waits for
work spins instead of sleeping. On an idle machine two threads make the products faster;
as soon as another program keeps a core busy, the spinning worker competes with it and every
product stalls (a newcomer's quickstart took 79 s this way instead of 22 s).

The choice: while the rest of the machine is idle, products run on numpy's own thread count
(all cores by default); once other processes use more than half a core, they run on one
thread, until the machine is idle again. The load is sampled from /proc/stat at most every
half second, from the ops that run matrix products (MatMul, Linear, Conv2d), so an engine
that runs no products pays nothing. Results do not depend on the thread count beyond float32
rounding, but that rounding does change: a product of the same arrays can differ in its last
bit between a one-thread and a two-thread pass, so two runs of one script, or two passes
inside one run, agree bit for bit only when the thread count is fixed (set_blas_threads, or
the environment variable). While the engine runs products on one thread, so does the rest of
the process.

    tg.set_blas_threads(1)      # always one thread (also: TINYGRAD_KR_BLAS_THREADS=1)
    tg.set_blas_threads(None)   # back to the automatic choice
    tg.blas_threads()           # what the engine uses now

Needs the threadpoolctl package (installed with tinygrad_kr) and Linux for the load
sampling; elsewhere numpy's own setting is left alone unless set_blas_threads fixes it.
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["set_blas_threads", "blas_threads", "check"]

SAMPLE_SECONDS = 0.5
BUSY_CORES = 0.5  # other processes using more than this make the engine use one thread


class _Policy:
    def __init__(self) -> None:
        self.fixed: int | None = None
        self.controller: Any = None  # threadpoolctl's controller of the BLAS, once looked up
        self.looked_up = False
        self.default = None  # numpy's thread count when the engine first looked
        self.current = None  # what the engine last set
        self.next_sample = 0.0
        self.last: tuple | None = None  # (wall, machine busy seconds, own cpu seconds)
        env = os.environ.get("TINYGRAD_KR_BLAS_THREADS")
        if env:
            self.fixed = _check_count(int(env))

    def blas(self) -> Any:
        if not self.looked_up:
            self.looked_up = True
            try:
                from threadpoolctl import ThreadpoolController

                found = ThreadpoolController().select(user_api="blas").lib_controllers
            except Exception:  # no threadpoolctl, or a BLAS it cannot drive
                found = []
            if found:
                self.controller = found[0]
                self.default = self.current = self.controller.num_threads
        return self.controller

    def apply(self, n: int) -> None:
        if n != self.current and self.blas() is not None:
            self.controller.set_num_threads(n)
            self.current = n

    def check(self) -> None:
        if self.fixed is not None:
            self.apply(self.fixed)
            return
        now = time.monotonic()
        if now < self.next_sample:
            return
        self.next_sample = now + SAMPLE_SECONDS
        sample = _sample(now)
        if sample is None or self.blas() is None:
            return
        if self.last is not None:
            wall = sample[0] - self.last[0]
            others = ((sample[1] - self.last[1]) - (sample[2] - self.last[2])) / max(wall, 1e-9)
            self.apply(1 if others > BUSY_CORES else self.default)
        self.last = sample


def _sample(now: float) -> tuple | None:
    """(wall time, busy CPU seconds of the whole machine, CPU seconds of this process)."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return now, (sum(ticks[:8]) - idle) / hz, time.process_time()


def _check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_blas_threads: the number of threads must be an int >= 1 or None, got {n!r}")
    return n


_policy = _Policy()


def check() -> None:
    """Apply the thread choice before a matrix product (the product ops call this)."""
    _policy.check()


def set_blas_threads(n: int | None) -> None:
    """Fix the number of threads of the engine's matrix products (None: choose automatically,
    as the module docstring says)."""
    if n is None:
        _policy.fixed = None
        if _policy.default is not None:
            _policy.apply(_policy.default)
        _policy.next_sample = 0.0
        return
    _policy.fixed = _check_count(n)
    _policy.apply(_policy.fixed)


def blas_threads() -> int | None:
    """The number of threads the BLAS uses now (None when threadpoolctl cannot tell)."""
    blas = _policy.blas()
    return None if blas is None else blas.num_threads
