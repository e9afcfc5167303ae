"""Time the explanation queries on the shipped examples: assess, why, why-not, flip.

    python benchmarks/explain.py               # every example under examples/
    python benchmarks/explain.py --kb DIR      # with an overlay KB on top
    python benchmarks/explain.py --repeat 20   # more runs per figure (median is shown)

`why` and `why-not` figures are what they add to an assessment already made (the query
and its text rendering); `flip` runs with its default bound. Prints figures; asserts
nothing (timing is not a test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import partways
from partways.render.explain import render_flip, render_why, render_why_not

ROOT = Path(__file__).resolve().parent.parent


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def other_decision(a: partways.Assessment) -> str:
    """A decision the case did not get: the question a user would ask."""
    return "terminate" if a.decision != "terminate" else "keep"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kb", action="append", default=[], help="overlay KB directory")
    ap.add_argument("--repeat", type=int, default=7, help="runs per figure")
    ap.add_argument("--flip-repeat", type=int, default=3, help="runs of flip per example")
    args = ap.parse_args()

    kb = partways.load_kb(overlays=args.kb)
    examples = sorted(p for p in (ROOT / "examples").iterdir()
                      if p.suffix in (".yaml", ".yml", ".json"))
    if not examples:
        sys.exit("no examples under examples/")
    for path in examples[:2]:  # warm up: compile the KB, import everything
        partways.assess(path, kb).why()
    print(f"{'example':40} {'decision':>13} {'assess':>8} {'why':>7} {'why-not':>8} "
          f"{'flip':>8} {'evals':>6} {'flips':>5}")
    rows = []
    for path in examples:
        case = partways.load_case(path, kb)
        a = partways.assess_case(case, kb)
        target = other_decision(a)
        t_assess = median_ms(lambda c=case: partways.assess_case(c, kb), args.repeat)
        t_why = median_ms(lambda a=a: render_why(kb, a.why()), args.repeat)
        t_not = median_ms(lambda a=a, t=target: render_why_not(kb, a.why_not(t)), args.repeat)
        result = partways.flip(a)
        t_flip = median_ms(lambda a=a: render_flip(kb, partways.flip(a)), args.flip_repeat)
        rows.append((t_assess, t_why, t_not, t_flip))
        print(f"{path.name[:40]:40} {a.decision:>13} {t_assess:7.1f}ms {t_why:5.1f}ms "
              f"{t_not:6.1f}ms {t_flip:6.0f}ms {result.evaluated:6} {len(result.flips):5}")
    cols = list(zip(*rows, strict=True))
    print(f"{'median':40} {'':>13} {statistics.median(cols[0]):7.1f}ms "
          f"{statistics.median(cols[1]):5.1f}ms {statistics.median(cols[2]):6.1f}ms "
          f"{statistics.median(cols[3]):6.0f}ms")
    print(f"{'max':40} {'':>13} {max(cols[0]):7.1f}ms {max(cols[1]):5.1f}ms "
          f"{max(cols[2]):6.1f}ms {max(cols[3]):6.0f}ms")


if __name__ == "__main__":
    main()
