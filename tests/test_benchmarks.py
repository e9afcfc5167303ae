"""The benchmark scripts run and print what they promise (figures are not asserted: no test
times anything). A tiny run of each, so a change of an engine function a script reaches
into breaks here, not at the next measurement."""

from __future__ import annotations

import os
import subprocess
import sys

from _paths import ROOT

BENCH = ROOT / "benchmarks"


def run(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


def test_assess_prints_end_to_end_stages_pool_and_rss() -> None:
    done = run("assess.py", "--n", "4", "--rounds", "1", "--workers", "2", "--soak", "10")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for needed in ("host speed at the start: reference loop", "END TO END",
                   "python: file -> JSON", "STAGES, python", "YAML parse", "to_json",
                   "pool (python; best of 1 interleaved)", "RSS over 10 cases (python)",
                   "host speed at the end"):
        assert needed in out, needed
    from partways.inference import durable_problem

    if durable_problem() is None:
        assert "durable: file -> JSON" in out and "inside durable_rules_engine's C calls" in out


def test_cold_prints_each_command() -> None:
    done = run("cold.py", "--runs", "1")
    assert done.returncode == 0, done.stderr
    for needed in ("partways --help", "partways assess", "partways why"):
        assert needed in done.stdout, needed


def test_instructions_says_when_valgrind_is_missing() -> None:
    done = run("instructions.py", env={**os.environ, "PATH": ""})
    assert done.returncode != 0
    assert "valgrind is not installed" in done.stderr
