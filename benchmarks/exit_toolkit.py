"""Time the exit toolkit on generated cases: plan renderings, letters, and `log` edits.

    python benchmarks/exit_toolkit.py          # 300 cases

Prints figures; asserts nothing (timing is not a test).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import make_cases

import partways

ROOT = Path(__file__).resolve().parent.parent


def per_call_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and max milliseconds per call of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=300, help="cases to generate")
    args = ap.parse_args()

    kb = partways.load_kb()
    assessed = [partways.assess_case(partways.case_from_data(c, kb), kb)
                for c in make_cases(args.n)]
    exits = [a for a in assessed if a.plan is not None]
    print(f"{len(exits)} of {len(assessed)} generated cases end the relationship")
    if not exits:
        return
    partways.render_letter(exits[0])  # load and compile the templates once
    for fmt in ("text", "md", "json", "ics"):
        t0 = time.perf_counter()
        for a in exits:
            partways.render_plan(a, fmt, "fa")
        ms = (time.perf_counter() - t0) * 1e3 / len(exits)
        print(f"plan --format {fmt:<4} {ms:7.3f} ms per case")
    for channel in partways.letter_channels(kb):
        t0 = time.perf_counter()
        for a in exits:
            for lang in kb.languages:
                partways.render_letter(a, lang, channel)
        ms = (time.perf_counter() - t0) * 1e3 / (len(exits) * len(kb.languages))
        print(f"letter --channel {channel:<8} {ms:7.3f} ms per letter")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.yaml"
        shutil.copy(ROOT / "examples" / "acme-late-payer.yaml", path)
        days = iter(range(1, 10_000))

        def log_one() -> None:
            day = 1 + next(days) % 28
            partways.log_entries(path, kb, [("event", f"type=pessimism,date=2026-10-{day:02d}")])

        med, worst = per_call_ms(log_one, 50)
        print(f"log (validate + round trip + atomic write) median {med:.2f} ms, max "
              f"{worst:.2f} ms over 50 appends")


if __name__ == "__main__":
    main()
