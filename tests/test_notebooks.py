"""The Korean tutorial notebooks (docs/ko/*.ipynb): committed without outputs, and each one
runs top to bottom in a fresh Jupyter kernel (nbclient) without an error, its cells in under
30 s (they run offline: the MNIST subset is embedded)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "ko").glob("*.ipynb"))
MAX_SECONDS = 30  # what the tutorials promise on 2 cores


def test_the_six_tutorials_are_there():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, path.name
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), (
        f"{path.name} has outputs: clear them before committing (jupyter nbconvert --clear-output --inplace)"
    )
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# ") and any("\uac00" <= ch <= "\ud7a3" for ch in first)  # a Korean title


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(path, as_version=4)
    # the kernel imports this checkout's tinygrad_kr, installed or not
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError (with the cell and its traceback) on any error
    seconds = sum(_cell_seconds(c) for c in nb.cells if c.cell_type == "code")
    assert seconds < MAX_SECONDS, f"{path.name}: its cells took {seconds:.1f} s"


def _cell_seconds(cell) -> float:
    from datetime import datetime

    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()
