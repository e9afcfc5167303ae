"""ruff and mypy stay clean (run as part of the test suite so CI enforces them)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from _paths import ROOT


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_static_checks(tool: str) -> None:
    if shutil.which(tool) is None and tool == "ruff":
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    cmd = [sys.executable, "-m", "mypy"] if tool == "mypy" else ["ruff", "check", "."]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
