"""Every example answers `--help` as a script and has an in-process smoke test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .examples_support import EXAMPLES, SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")
    assert "--out" in proc.stdout and "--seed" in proc.stdout


def test_every_example_has_a_smoke_test():
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_examples_*.py"))
    assert len(SCRIPTS) >= 11
    missing = [name for name in SCRIPTS if f'example("{name}")' not in tests]
    assert not missing, f"examples without a smoke test: {missing}"
