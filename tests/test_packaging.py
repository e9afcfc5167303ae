"""The wheel holds every file of the knowledge base, and building it prints no warning."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from _paths import ROOT

# package -> the folder it installs from (pyproject's [tool.setuptools.package-dir])
_ROOTS = {"partways": "engine", "partways.cli": "cli", "partways.kb": "kb"}


def _listed_packages() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M)
    assert block, "pyproject.toml lists no packages"
    return set(re.findall(r'"([\w.]+)"', block.group(1)))


def _folders() -> dict[str, Path]:
    """Every installed folder by its package name."""
    out = {}
    for package, folder in _ROOTS.items():
        base = ROOT / folder
        for path in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
            if "__pycache__" in path.parts or path.name.endswith(".egg-info"):
                continue
            rel = path.relative_to(base).parts
            out[".".join((package, *rel))] = path
    return out


def test_every_folder_is_a_listed_package() -> None:
    listed = _listed_packages()
    missing = sorted(set(_folders()) - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not listed - set(_folders()), sorted(listed - set(_folders()))


def test_wheel_holds_every_kb_file_and_builds_without_warnings(tmp_path: Path) -> None:
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip("setuptools>=77 is needed to build without isolation (pip install -e '.[test]')")
    src = tmp_path / "src"
    for name in ("engine", "cli", "kb"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = proc.stdout + proc.stderr
    warnings = [line.strip() for line in log.splitlines()
                if re.search(r"\w*Warning\b|absent from", line)]
    assert not warnings, "\n".join(warnings)
    (wheel,) = (tmp_path / "dist").glob("partways-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"partways/kb/{p.relative_to(ROOT / 'kb').as_posix()}"
                for p in (ROOT / "kb").rglob("*") if p.suffix in (".yaml", ".json")}
    expected |= {f"partways/{p.relative_to(ROOT / 'engine').as_posix()}"
                 for p in (ROOT / "engine").rglob("*") if p.suffix in (".json", ".py")}
    expected |= {"partways/py.typed"}
    assert expected - names == set()
