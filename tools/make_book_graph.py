"""Regenerate docs/book_graph.svg, the README's picture of the book-style graph.

    python tools/make_book_graph.py

It is the shopping example's figure (examples/computational_graph.py writes it as
shopping_book.svg): tg.trace_backward on price = (apple * apple_num + orange * orange_num) * tax,
drawn with tg.save_graph(steps, ..., style="book"). Needs the Graphviz `dot` program.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import computational_graph  # noqa: E402

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        r = computational_graph.main(["--out", tmp])
        if Path(r["book"]).suffix != ".svg":
            raise SystemExit("the Graphviz `dot` program is needed to draw the SVG")
        shutil.copyfile(r["book"], ROOT / "docs" / "book_graph.svg")
    print(f"wrote {ROOT / 'docs' / 'book_graph.svg'}")
