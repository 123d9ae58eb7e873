"""Plugin for the team's anchors harness (shared/bench/anchors.py): registers `tinygrad_kr`
for its four workloads, reusing benchmarks/impl_kr.py unchanged.

    cd shared/bench && .venv/bin/python anchors.py --path PROJECT_ROOT \\
        --plugin PROJECT_ROOT/benchmarks/kr_anchor.py --impl numpy_manual,torch_cpu,tinygrad_kr

Only anchors.py loads this file (it provides the `anchors` module); the suite never imports it.
"""

import os
import sys

from anchors import Runner, Unavailable, register

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from benchmarks import impl_kr, run  # noqa: E402, F401  (impl_kr registers on import)


def _adapt(factory):
    """Our factory -> an anchors factory: same Problem attributes, anchors' Runner/Unavailable."""
    def make(problem):
        try:
            r = run.as_runner(factory(problem))
        except run.Unavailable as e:
            raise Unavailable(str(e)) from None
        return Runner(r.step, check=r.check, notes=list(r.notes))
    return make


for _workload, _factory in run.REGISTRY["tinygrad_kr"].items():
    register(_workload, "tinygrad_kr")(_adapt(_factory))
