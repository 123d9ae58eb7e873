"""The README's tour runs as written (its first two Python blocks, in a scratch directory)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0] + "\n" + blocks[1], "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert [float(v) for v in printed[:4]] == [220.0, 2.200000047683716, 110.0, 200.0]
    assert (tmp_path / "ckpt.npz").is_file()
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")  # CI installs Graphviz
