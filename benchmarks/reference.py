"""Assess the same generated cases with durable_rules and the reference evaluator.

    python benchmarks/reference.py            # 2,000 cases
    python benchmarks/reference.py --n 500 --kb examples/overlay-strict-payments

Prints cases/s of both (full assess: facts, inference, graph, outputs) and of inference
alone, their ratio, and whether both made the same firings on every case. The reference
evaluator is the speed floor: the product path stays on durable_rules. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import make_cases

import partways
from partways.assessment import build
from partways.facts import FactBase, build_facts
from partways.inference import Program, Trace, run
from partways.reference import run_reference

Runner = Callable[[Program, FactBase], Trace]


def timed(n_rounds: int, fn: Callable[[], object]) -> float:
    """Best wall time of ``n_rounds`` runs of ``fn`` (the least disturbed one)."""
    best = float("inf")
    for _ in range(n_rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="cases to assess")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (best is kept)")
    ap.add_argument("--kb", action="append", default=[], help="overlay KB directory")
    args = ap.parse_args()

    kb = partways.load_kb(overlays=args.kb)
    program = partways.program_for(kb)
    cases = [partways.case_from_data(c, kb) for c in make_cases(args.n)]
    facts = [build_facts(kb, c) for c in cases]

    same = 0
    for fb in facts:
        a, b = run(program, fb), run_reference(program, fb)
        same += {(f.rule, f.premises, f.conclusion) for f in a.firings} == \
            {(f.rule, f.premises, f.conclusion) for f in b.firings}

    def assess_all(runner: Runner) -> None:
        for c in cases:
            build(program, c, runner(program, build_facts(kb, c)))

    def infer_all(runner: Runner) -> None:
        for fb in facts:
            runner(program, fb)

    runners: dict[str, Runner] = {"durable": run, "reference": run_reference}
    for runner in runners.values():
        assess_all(runner)  # warm up
    full = {name: timed(args.rounds, partial(assess_all, r)) for name, r in runners.items()}
    infer = {name: timed(args.rounds, partial(infer_all, r)) for name, r in runners.items()}

    print(f"rules: {len(kb.rules)}  strata: {program.max_stratum + 1}  cases: {args.n}")
    print(f"same firings on both: {same}/{args.n}")
    for label, times in (("assess", full), ("inference only", infer)):
        d, r = (args.n / times["durable"], args.n / times["reference"])
        print(f"{label:>15}: durable {d:8,.0f} cases/s   reference {r:8,.0f} cases/s   "
              f"reference/durable {r / d:5.2f}x")


if __name__ == "__main__":
    main()
