"""`nn` and `tinygrad_kr.nn` are one package, and a student's nn.py cannot hide it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tinygrad_kr
from tinygrad_kr import nn as tnn

ROOT = Path(__file__).resolve().parents[1]


def test_nn_and_tinygrad_kr_nn_are_the_same_package():
    import nn.functional
    import nn.optim.lr_scheduler

    import nn

    assert nn is tnn and nn.functional is tnn.functional is tinygrad_kr.nn.functional
    assert nn.optim.lr_scheduler is tnn.optim.lr_scheduler
    assert isinstance(tnn.Linear(2, 3), nn.Module)


def test_a_students_nn_py_does_not_hide_tinygrad_kr_nn(tmp_path):
    (tmp_path / "nn.py").write_text("# a course exercise\nclass TwoLayerNet:\n    pass\n")
    code = (
        "import nn\n"
        "assert hasattr(nn, 'TwoLayerNet') and not hasattr(nn, 'Sequential')  # the student's file\n"
        "from tinygrad_kr import nn as tnn\n"
        "print(tnn.Sequential.__name__, tnn.functional.relu.__name__)\n"
    )
    env_path = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.append({env_path!r})\n" + code],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert out.stdout.split() == ["Sequential", "relu"]
