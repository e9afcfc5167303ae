"""ruff and mypy stay clean (run as part of the test suite so CI enforces them).

Both run through this interpreter (``python -m ruff``), so they run whether or not the
virtual environment's ``bin`` is on the PATH (a landing script calling ``.venv/bin/python
-m pytest`` once skipped ruff that way and let an import-order error through).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from _paths import ROOT


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_static_checks(tool: str) -> None:
    cmd = [sys.executable, "-m", "mypy"] if tool == "mypy" else \
        [sys.executable, "-m", "ruff", "check", "."]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
