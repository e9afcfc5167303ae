"""The long form of the backend differential test: ``python tools/differential.py``.

Assesses ``--n`` generated cases (default 10,000; benchmarks/cases.py, a different seed
per run with ``--seed``) plus the shipped examples with every backend this interpreter
has (durable_rules where it imports, the compiled Python backend) and the plain
reference evaluator, and compares firings (rule, premises, conclusion, stratum), the
decision graph and the assessment JSON. Prints the disagreements (none expected) and
exits 1 if there is any. ``--kb DIR`` adds an overlay.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from cases import make_cases  # noqa: E402

import partways  # noqa: E402
from partways.assessment import build  # noqa: E402
from partways.facts import build_facts  # noqa: E402
from partways.graph import node_link  # noqa: E402
from partways.inference import Trace, durable_problem, run  # noqa: E402
from partways.reference import run_reference  # noqa: E402


def firings(trace: Trace) -> set[tuple[object, ...]]:
    return {(f.rule, f.premises, f.conclusion, f.stratum) for f in trace.firings}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--kb", action="append", default=[], help="overlay KB directory")
    args = ap.parse_args()
    kb = partways.load_kb(overlays=args.kb)
    program = partways.program_for(kb)
    engines = ["python"] if durable_problem() else ["durable", "python"]
    examples = [partways.load_case(p, kb) for p in sorted((ROOT / "examples").glob("*"))
                if p.suffix in (".yaml", ".json")]
    cases = examples + [partways.case_from_data(d, kb) for d in make_cases(args.n, args.seed)]
    bad = 0
    t0 = time.perf_counter()
    for i, case in enumerate(cases):
        fb = build_facts(kb, case)
        ref = run_reference(program, fb)
        expected = (firings(ref), node_link(build(program, case, ref).graph),
                    build(program, case, ref).to_json())
        for engine in engines:
            trace = run(program, fb, engine)
            a = build(program, case, trace)
            got = (firings(trace), node_link(a.graph), a.to_json())
            if got != expected:
                bad += 1
                what = [n for n, x, y in zip(("firings", "graph", "json"), got, expected,
                                             strict=True) if x != y]
                print(f"case {i} ({case.name}): {engine} differs from the reference in "
                      f"{', '.join(what)}")
    s = time.perf_counter() - t0
    print(f"{len(cases):,} cases ({len(examples)} examples), backends {', '.join(engines)} "
          f"against the reference evaluator: {bad} disagreement(s) in {s:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
