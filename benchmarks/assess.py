"""Assess generated cases in-process and print throughput, latency and memory.

    python benchmarks/assess.py              # 2,000 cases + cold CLI
    python benchmarks/assess.py --soak 100000  # RSS across 100k cases

Prints figures and ratios; asserts nothing (timing is not a test).
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import make_cases

import partways

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc), else peak."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="cases to assess")
    ap.add_argument("--soak", type=int, default=0, help="also assess this many for RSS")
    ap.add_argument("--no-cli", action="store_true", help="skip the cold CLI timing")
    args = ap.parse_args()

    kb = partways.load_kb()
    program = partways.program_for(kb)
    cases = [partways.case_from_data(c, kb) for c in make_cases(args.n)]
    for c in cases[:50]:  # warm up
        partways.assess_case(c, kb)

    decisions: Counter[str] = Counter()
    firings = nodes = 0
    gc.collect()
    t0 = time.perf_counter()
    for c in cases:
        a = partways.assess_case(c, kb)
        decisions[a.decision] += 1
        firings += len(a.trace.firings)
        nodes += a.graph.number_of_nodes()
    dt_full = time.perf_counter() - t0

    raw = make_cases(args.n)
    t0 = time.perf_counter()
    for data in raw:
        partways.case_from_data(data, kb)
    dt_validate = time.perf_counter() - t0

    print(f"rules: {len(kb.rules)}  strata: {program.max_stratum + 1}")
    print(f"cases: {args.n}  decisions: {dict(sorted(decisions.items()))}")
    print(f"firings/case: {firings / args.n:.1f}  graph nodes/case: {nodes / args.n:.1f}")
    print(f"assess (facts + durable inference + graph + outputs): "
          f"{args.n / dt_full:,.0f} cases/s, {dt_full / args.n * 1e6:,.0f} us/case")
    print(f"case validation (JSON Schema + semantic checks): "
          f"{args.n / dt_validate:,.0f} cases/s, {dt_validate / args.n * 1e6:,.0f} us/case")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f} MB")

    if args.soak:
        step = max(args.soak // 10, 1)
        pool = cases
        base = None
        t0 = time.perf_counter()
        for i in range(args.soak):
            partways.assess_case(pool[i % len(pool)], kb)
            if i % step == step - 1:
                gc.collect()
                now = rss_mb()
                base = base if base is not None else now
                print(f"  after {i + 1:>7,} cases: RSS {now:7.1f} MB ({now - base:+.1f} MB)")
        soak_s = time.perf_counter() - t0
        print(f"soak: {args.soak:,} cases in {soak_s:.1f} s ({args.soak / soak_s:,.0f} cases/s)")

    if not args.no_cli:
        example = sorted((ROOT / "examples").glob("*.yaml"))[0]
        exe = Path(sys.executable).with_name("partways")
        cmd = [str(exe) if exe.exists() else "partways", "assess", str(example)]
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        times.sort()
        print(f"cold `partways assess {example.name}`: median {times[2] * 1e3:.0f} ms "
              f"(min {times[0] * 1e3:.0f} ms over 5 runs)")


if __name__ == "__main__":
    main()
