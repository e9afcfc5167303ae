"""Cold command-line start: a fresh process for each run, median of ``--runs``.

    python benchmarks/cold.py               # --help, assess, why (10 runs each)
    python benchmarks/cold.py --runs 20 --engine python

Times ``partways --help``, ``partways assess EXAMPLE`` and ``partways why EXAMPLE`` as a
user starts them (the installed console script, or ``python -m partways.cli.main``), plus
a bare ``python -c pass`` for the interpreter's own start. Prints the load average beside
every figure; asserts nothing.

The runs use compiled bytecode, as an installed package has it (pip compiles it): the
warm-up run of each command writes it even where ``PYTHONDONTWRITEBYTECODE`` is set (else
every run would compile every module of an editable install from source, ~100 ms more).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme-late-payer.yaml"


def command() -> list[str]:
    exe = Path(sys.executable).with_name("partways")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("partways")
    return [found] if found else [sys.executable, "-m", "partways.cli.main"]


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children so far."""
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float]:
    """Median and minimum wall time, and median CPU time, in ms of ``runs`` fresh
    processes running ``cmd`` (CPU time: what a shared machine's load inflates least)."""
    warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # warm the OS file cache, and write the bytecode an installed package has
    subprocess.run(cmd, check=True, capture_output=True, env=warm)
    times, cpu = [], []
    for _ in range(runs):
        c0, t0 = children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((children_cpu() - c0) * 1e3)
    return statistics.median(times), min(times), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--engine", help="PARTWAYS_ENGINE for the runs (default: unset)")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.engine:
        env["PARTWAYS_ENGINE"] = args.engine
    cli = command()
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("partways --help", [*cli, "--help"]),
        (f"partways assess {EXAMPLE.name}", [*cli, "assess", str(EXAMPLE)]),
        (f"partways why {EXAMPLE.name}", [*cli, "why", str(EXAMPLE)]),
    ]
    print(f"python {sys.version.split()[0]}  runs: {args.runs}  "
          f"engine: {args.engine or 'default'}")
    for label, cmd in rows:
        med, low, cpu = timed(cmd, args.runs, env)
        one, five, _ = os.getloadavg()
        print(f"  {label:<40} median {med:6.0f} ms  (min {low:5.0f} ms, CPU {cpu:5.0f} ms)  "
              f"[load {one:.2f}/{five:.2f}]")


if __name__ == "__main__":
    main()
