"""What the example smoke tests share: importing examples/<name>.py in-process and checking
the files an example says it wrote."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


def example(name: str):
    """Import examples/<name>.py as a module (the examples import their sibling `_common`)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def assert_file(path: str | Path | None, needs_mpl: bool = False) -> None:
    """The file exists and is not empty (plots only when matplotlib is installed)."""
    if needs_mpl and not HAVE_MPL:
        return
    assert path is not None and Path(path).is_file() and Path(path).stat().st_size > 0, path
