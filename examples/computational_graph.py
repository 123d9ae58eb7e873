"""The shopping example of "Deep Learning from Scratch" ch. 5, on tinygrad_kr Tensors.

Two apples at 100 each and three oranges at 150 each, plus 10 % tax:

    price = (apple * apple_num + orange * orange_num) * tax = 715

The book writes a MulLayer and an AddLayer with forward() and backward() by hand. Here they
are tinygrad_kr op nodes (`tg.Function` subclasses): forward on numpy arrays, backward with
Tensor ops, side by side, exactly like the engine's own Mul and Add. Calling backward() on the
price walks the recorded graph in reverse and prints every gradient (the book's values):

    d price / d apple = 2.2      d price / d apple_num = 110
    d price / d orange = 3.3     d price / d orange_num = 165     d price / d tax = 650

The same expression written with the ordinary operators (*, +) gives the same gradients, and
the graph is saved with tg.save_graph as shopping_graph.svg in --out (shopping_graph.dot, with
a message, when the Graphviz `dot` program is missing).

Then the way the book draws it: tg.trace_backward runs backward once more on a fresh graph and
records every step; shopping_book.svg is the book's figure (style="book": forward values above
the edges, gradients below in red: 100, 2, 150, 3, 200, 450, 650, 1.1, 715 and 2.2, 110, 3.3,
165, 1.1, 1.1, 1.1, 650, 1), and shopping_backprop.html steps through backward node by node
(open it in a browser; both need `dot`). docs/book_graph.svg in the repository is this figure
(tools/make_book_graph.py).

Run:
    python examples/computational_graph.py [--out out]
"""

from __future__ import annotations

from typing import Sequence

import _common as C
from _common import Tensor, np, tg

from tinygrad_kr import viz


class MulLayer(tg.Function):
    """out = x * y. Backward: the gradient flowing in, times the *other* input."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    def backward(self, dout: Tensor) -> tuple[Tensor, Tensor]:
        x, y = self.inputs
        return dout * y, dout * x


class AddLayer(tg.Function):
    """out = x + y. Backward: the gradient flowing in goes to both inputs unchanged."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    def backward(self, dout: Tensor) -> tuple[Tensor, Tensor]:
        return dout, dout


NAMES = ("apple", "apple_num", "orange", "orange_num", "tax")
VALUES = (100.0, 2.0, 150.0, 3.0, 1.1)


def leaves() -> dict[str, Tensor]:
    """The five inputs as float64 leaves (float64 shows the book's exact digits)."""
    return {n: Tensor(np.float64(v), requires_grad=True, name=n) for n, v in zip(NAMES, VALUES)}


def main(argv: Sequence[str] | None = None) -> dict:
    p = C.parser(__doc__)
    args = p.parse_args(argv)
    out = C.out_dir(args.out)

    # with the book's layers
    v = leaves()
    apple_price = MulLayer.apply(v["apple"], v["apple_num"])
    orange_price = MulLayer.apply(v["orange"], v["orange_num"])
    all_price = AddLayer.apply(apple_price, orange_price)
    price = MulLayer.apply(all_price, v["tax"])
    for t, n in ((apple_price, "apple_price"), (orange_price, "orange_price"), (all_price, "all_price")):
        t.name = n
        t.retain_grad()  # keep the gradients of intermediate results too, as the book's figure shows
    price.name = "price"
    print(f"price: {price.item():g}")
    price.backward(retain_graph=True)  # keep the graph to draw it with the gradients
    grads = {n: v[n].grad.item() for n in NAMES}
    for n in NAMES:
        print(f"d price / d {n:<12s} = {grads[n]:g}")
    for t in (apple_price, orange_price, all_price):
        print(f"d price / d {t.name:<12s} = {t.grad.item():g}")

    # the same expression with the engine's own operators
    w = leaves()
    price2 = (w["apple"] * w["apple_num"] + w["orange"] * w["orange_num"]) * w["tax"]
    price2.backward()
    same = all(np.isclose(w[n].grad.item(), grads[n], rtol=1e-12) for n in NAMES)
    print(f"built-in ops give price {price2.item():g} and the same gradients: {same}")

    graph = C.save_graph(price, out / "shopping_graph.svg", show_values=True, show_grads=True)
    print(f"wrote {graph}")

    # as the book draws it, step by step
    steps = tg.trace_backward(book_expression(leaves()))
    for s in steps:
        print(f"  {s!r}")
    book = C.save_graph(steps, out / "shopping_book.svg", style="book")
    print(f"wrote {book}")
    try:
        page = steps.save_html(out / "shopping_backprop.html")
        print(f"wrote {page} (open it in a browser: Previous / Next step through backward)")
    except viz.GraphvizNotFoundError as e:
        page = None
        print(f"not written: {e}")
    return {"price": price.item(), "grads": grads, "graph": graph, "book": book, "page": page, "steps": steps}


def book_expression(v: dict[str, Tensor]) -> Tensor:
    """price = (apple * apple_num + orange * orange_num) * tax with the built-in ops (drawn as
    the book's x and + nodes), every intermediate named."""
    apple_price = v["apple"] * v["apple_num"]
    orange_price = v["orange"] * v["orange_num"]
    all_price = apple_price + orange_price
    price = all_price * v["tax"]
    names = {"apple_price": apple_price, "orange_price": orange_price, "all_price": all_price, "price": price}
    for n, t in names.items():
        t.name = n
    return price


if __name__ == "__main__":
    C.run(main)
