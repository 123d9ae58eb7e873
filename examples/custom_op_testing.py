"""Write your own op, then let a property test check its gradient (tinygrad_kr.testing).

The op is the Huber function (smooth L1), used as a robust loss:

    huber(x) = x^2 / 2        for |x| <= 1
               |x| - 1/2      for |x| > 1          d huber / dx = clip(x, -1, 1)

written as a `tg.Function` that follows the op contract: forward on numpy arrays, saving what
backward reads with `save_for_backward`; backward reads it back from `saved_tensors` and is
written with Tensor operations. `check_gradients` draws inputs of many shapes and values
(hypothesis strategies `arrays(shapes())`) and compares the engine's gradient with float64
central differences on each.

Then the same op with a subtle bug: backward returns gy * x, the derivative of x^2 / 2, and
forgets the clip. It is right for |x| <= 1 and wrong only beyond. A test on inputs in
[-0.9, 0.9] (domain "unit") passes; the default domain [-3, 3] catches it, and hypothesis
shrinks the failure to a minimal counterexample (a single number just outside [-1, 1]),
printed with the worst index and both gradient values.

Run:
    python examples/custom_op_testing.py [--examples 100] [--seed 0]     # ~2 s

Needs hypothesis (pip install "tinygrad_kr[testing]").
"""

from __future__ import annotations

from typing import Sequence

import _common as C
from _common import Tensor, np, tg

from tinygrad_kr.testing import GradientCheckFailure, arrays, check_gradients, shapes


class Huber(tg.Function):
    """Huber (smooth L1) elementwise. Gradient: gy * clip(x, -1, 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        a = np.abs(x)
        return np.where(a <= 1, 0.5 * x * x, a - 0.5)

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.saved_tensors
        return gy * x.clip(-1.0, 1.0)


class HuberForgotClip(Huber):
    """The same forward; backward forgets the clip: right for |x| <= 1 only."""

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.saved_tensors
        return gy * x


def huber(x: Tensor) -> Tensor:
    return Huber.apply(x)


def buggy(x: Tensor) -> Tensor:
    return HuberForgotClip.apply(x)


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    p.add_argument("--examples", type=int, default=100, help="hypothesis examples per check (default 100)")
    args = p.parse_args(argv)
    if args.examples < 1:
        raise C.ExampleError("--examples must be at least 1")

    check_gradients(huber, arrays(shapes()), max_examples=args.examples, seed=args.seed)
    print(f"Huber: the gradient matches central differences on {args.examples} drawn inputs")

    check_gradients(buggy, arrays(shapes(), "unit"), max_examples=args.examples, seed=args.seed)
    print("HuberForgotClip on [-0.9, 0.9] only: passes too (the domain never reaches the bug)")

    try:
        check_gradients(buggy, arrays(shapes()), max_examples=args.examples, seed=args.seed)
    except GradientCheckFailure as e:
        print("HuberForgotClip on [-3, 3]: caught.\n" + str(e))
        x = e.inputs[0]
        return {"caught": True, "counterexample": x, "analytic": e.analytic, "numeric": e.numeric}
    print("HuberForgotClip on [-3, 3]: not caught (try more --examples)")
    return {"caught": False}


if __name__ == "__main__":
    C.run(main)
