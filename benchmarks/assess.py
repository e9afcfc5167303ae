"""End to end: a case file (or a mapping) to its assessment JSON, per inference backend.

    python benchmarks/assess.py                   # 2,000 generated cases + shipped examples
    python benchmarks/assess.py --n 500 --rounds 5
    python benchmarks/assess.py --workers 2       # also: a process pool of 2 vs 1 worker
    python benchmarks/assess.py --soak 100000     # RSS across 100k cases (per backend)
    python benchmarks/assess.py --clock cpu       # CPU time per case (a shared machine)

The headline is file -> ``to_json()`` (what a user gets) and mapping -> ``to_json()``
(what an embedding gets), median of ``--rounds`` timed runs over the same cases; beneath
it, the stage table (YAML parse, schema validation, semantic checks, facts, inference,
graph and result, JSON). Every figure is printed beside the machine's load average
(``os.getloadavg``): on a busy machine they are upper bounds; the host's own speed (a fixed
loop, timed at the start and at the end) says whether the machine drifted during the run.
benchmarks/instructions.py counts instructions instead, which no drift moves. Asserts
nothing.

Garbage collection: the headline pays whatever collections a real run pays (nothing is
retained across cases). The stage table times each stage alone over inputs prepared in
advance (documents, cases, facts, traces, results); those inputs are frozen out of the
collector (``gc.freeze``) and each stage drops its outputs, so a stage's figure does not
count full collections that only the benchmark's own retained objects would cause.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from cases import make_cases

import partways
from partways import _yaml
from partways.assessment import build
from partways.case import _build, _check_dates, _validator, resolve_policy
from partways.facts import FactBase, build_facts
from partways.inference import Program, Trace

ROOT = Path(__file__).resolve().parent.parent
Runner = Callable[[Program, FactBase], Trace]


def runners() -> dict[str, Runner]:
    """The inference backends this installation has, by name."""
    from partways.inference import durable_problem, run_durable, run_python
    from partways.reference import run_reference

    out: dict[str, Runner] = {} if durable_problem() else {"durable": run_durable}
    return {**out, "python": run_python, "reference": run_reference}


def session_facts(program: Program, sample: Sequence[FactBase]) -> str:
    """How many input facts a durable session is given per case: the admitted ones, then
    the table rows released on demand (inference._Demand)."""
    from partways import inference

    if inference.durable_problem() or not sample:
        return ""
    counts = [0, 0]
    admitted, release = inference._admitted, inference._Demand.release

    def counted_admitted(p: Program, fb: FactBase, *rest: Any) -> tuple[list[Any], list[Any]]:
        out = admitted(p, fb, *rest)
        counts[0] += len(out[0])
        return out

    def counted_release(self: Any, fact: Any) -> list[Any]:
        out = release(self, fact)
        counts[1] += len(out)
        return out

    inference._admitted = counted_admitted
    inference._Demand.release = counted_release
    try:
        for fb in sample:
            inference.run_durable(program, fb)
    finally:
        inference._admitted, inference._Demand.release = admitted, release
    n = len(sample)
    return (f"   asserted into a durable session: {sum(counts) / n:.1f} "
            f"({counts[0] / n:.1f} case facts and metrics + {counts[1] / n:.1f} table rows "
            "on demand)")


#: durable_rules_engine's functions partways._durable calls (the C side of the engine)
C_CALLS = ("assert_fact", "assert_facts", "start_action_for_state", "complete_and_start_action",
           "abandon_action", "delete_state")


def durable_c_calls(program: Program, facts: Sequence[FactBase]) -> str:
    """Time inside durable_rules_engine's C calls per case, by function, over one run of
    ``facts`` on the durable backend: each call wrapped with a clock for that run only
    (here, not in the product), so the figure says where durable's floor is."""
    import durable_rules_engine as engine

    from partways.inference import run_durable

    spent = dict.fromkeys(C_CALLS, 0.0)
    calls = dict.fromkeys(C_CALLS, 0)
    clock = CLOCK[0]
    originals = {name: getattr(engine, name) for name in C_CALLS}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args)
            finally:
                spent[name] += clock() - t0
                calls[name] += 1

        return call

    for name, fn in originals.items():
        setattr(engine, name, timed(name, fn))
    try:
        gc.collect()
        t0 = clock()
        for fb in facts:
            run_durable(program, fb)
        total = clock() - t0
    finally:
        for name, fn in originals.items():
            setattr(engine, name, fn)
    n = len(facts)
    inside = sum(spent.values())
    parts = ", ".join(f"{name} {calls[name] / n:.1f}x {spent[name] / n * 1e6:,.0f}"
                      for name in C_CALLS if calls[name])
    return (f"  inside durable_rules_engine's C calls: {inside / n * 1e6:,.0f} us of "
            f"{total / n * 1e6:,.0f} us per case (wrapped run; calls per case and us: {parts})")


def backends() -> list[str]:
    return list(runners())


def runner(name: str) -> Runner:
    return runners()[name]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc), else peak."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


#: The clock of median_s: wall time (the default), or with ``--clock cpu`` this process's
#: CPU time, which time spent waiting for a core (a shared, loaded machine) does not inflate.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def median_s(rounds: int, fn: Callable[[], object]) -> float:
    return medians_s(rounds, fn)[0]


def medians_s(rounds: int, *fns: Callable[[], object]) -> list[float]:
    """The median time of each of ``fns`` over ``rounds`` rounds, run in turn within each
    round (a, b, a, b ...), so that a drift of the host's speed falls on all of them."""
    times: list[list[float]] = [[] for _ in fns]
    clock = CLOCK[0]
    for _ in range(rounds):
        for fn, out in zip(fns, times, strict=True):
            gc.collect()
            t0 = clock()
            fn()
            out.append(clock() - t0)
    return [statistics.median(t) for t in times]


def write_cases(folder: Path, data: Sequence[dict[str, Any]]) -> list[Path]:
    paths = []
    for i, case in enumerate(data):
        path = folder / f"case-{i:05d}.yaml"
        path.write_text(yaml.safe_dump(case, allow_unicode=True, sort_keys=False), "utf-8")
        paths.append(path)
    return paths


def stage_table(kb: partways.KnowledgeBase, paths: Sequence[Path], engine: str,
                rounds: int) -> list[tuple[str, float]]:
    """Microseconds per case of each stage, each timed alone over every case."""
    run = runner(engine)
    program = partways.program_for(kb)
    n = len(paths)
    texts = [p.read_text("utf-8") for p in paths]
    docs = [_yaml.load_text(t, str(p)) for t, p in zip(texts, paths, strict=True)]
    validator = _validator(kb)
    cases = [_build(d, kb, None) for d in docs]
    facts = [build_facts(kb, c) for c in cases]
    traces: list[Trace] = [run(program, fb) for fb in facts]
    results = [build(program, c, t) for c, t in zip(cases, traces, strict=True)]
    pairs = list(zip(cases, traces, strict=True))

    def each(fn: Callable[[Any], object], items: Sequence[Any]) -> Callable[[], None]:
        def stage() -> None:
            for item in items:
                fn(item)  # the output is dropped: nothing the stage makes is retained
        return stage

    def semantic() -> None:
        for d, c in zip(docs, cases, strict=True):
            _check_dates(d, kb, c.as_of)
            resolve_policy(kb, d.data.get("policy") or {}, d)

    stages: list[tuple[str, Callable[[], object]]] = [
        ("YAML parse", each(lambda t: _yaml.load_text(t, "x"), texts)),
        ("schema validation", each(validator.validate, docs)),
        ("semantic checks", semantic),
        ("build_facts", each(lambda c: build_facts(kb, c), cases)),
        (f"inference ({engine})", each(lambda fb: run(program, fb), facts)),
        ("build(): graph and result", each(lambda ct: build(program, *ct), pairs)),
        ("to_json", each(lambda a: a.to_json(), results)),
    ]
    # The prepared inputs live for the whole table: frozen, the collector never walks them,
    # as it would not walk them in a real run (which holds one case at a time).
    gc.collect()
    gc.freeze()
    try:
        return [(name, median_s(rounds, fn) / n * 1e6) for name, fn in stages]
    finally:
        gc.unfreeze()


def end_to_end(kb: partways.KnowledgeBase, paths: Sequence[Path], data: Sequence[dict[str, Any]],
               engine: str, rounds: int) -> tuple[float, float]:
    """Microseconds per case: file -> to_json, and mapping -> to_json."""
    run = runner(engine)
    program = partways.program_for(kb)

    def files() -> None:
        for p in paths:
            case = partways.load_case(p, kb)
            build(program, case, run(program, build_facts(kb, case))).to_json()

    def mappings() -> None:
        for d in data:
            case = partways.case_from_data(d, kb)
            build(program, case, run(program, build_facts(kb, case))).to_json()

    files()  # warm up
    f_s, m_s = medians_s(rounds, files, mappings)  # interleaved: drift falls on both
    return f_s / len(paths) * 1e6, (m_s / len(data) * 1e6 if data else 0.0)


#: A pool worker's KB and program, loaded once per process (by its warm-up task).
_LOADED: dict[str, Any] = {}


def _worker(args: tuple[list[str], str]) -> int:
    paths, engine = args
    if not _LOADED:
        _LOADED["kb"] = partways.load_kb()
        _LOADED["program"] = partways.program_for(_LOADED["kb"])
    kb, program = _LOADED["kb"], _LOADED["program"]
    run = runner(engine)
    total = 0
    for p in paths:
        case = partways.load_case(p, kb)
        total += len(build(program, case, run(program, build_facts(kb, case))).to_json())
    return total


def _warm(args: tuple[list[str], str]) -> int:
    """A worker's warm-up: load the KB, assess a few cases, then stay busy a moment, so
    that the pool starts a process per warm-up task (an idle one would take the next)."""
    total = _worker(args)
    time.sleep(0.5)
    return total


def pool_speedup(paths: Sequence[Path], engine: str, workers: int,
                 rounds: int = 3) -> tuple[float, float]:
    """Cases/s with one worker process and with ``workers``: both pools started and their
    workers warmed first, then timed in turn (1, n, 1, n ...) ``rounds`` times, the best
    of each kept, so a drift of the host's speed does not fall on one side only."""
    names = [str(p) for p in paths]
    best = {1: 0.0, workers: 0.0}
    pools = {w: ProcessPoolExecutor(w) for w in best}
    try:
        for w, pool in pools.items():
            list(pool.map(_warm, [(names[:20], engine)] * w))
        for _ in range(rounds):
            for w, pool in pools.items():
                chunks = [names[i::w] for i in range(w)]
                t0 = time.perf_counter()
                list(pool.map(_worker, [(c, engine) for c in chunks]))
                best[w] = max(best[w], len(names) / (time.perf_counter() - t0))
    finally:
        for pool in pools.values():
            pool.shutdown()
    return best[1], best[workers]


def soak(kb: partways.KnowledgeBase, data: Sequence[dict[str, Any]], engine: str,
         total: int) -> None:
    run = runner(engine)
    program = partways.program_for(kb)
    cases = [partways.case_from_data(d, kb) for d in data]
    step = max(total // 10, 1)
    base = None
    t0 = time.perf_counter()
    for i in range(total):
        c = cases[i % len(cases)]
        build(program, c, run(program, build_facts(kb, c))).to_json()
        if i % step == step - 1:
            gc.collect()
            now = rss_mb()
            base = base if base is not None else now
            print(f"  after {i + 1:>7,} cases: RSS {now:7.1f} MB ({now - base:+.1f} MB)")
    s = time.perf_counter() - t0
    print(f"  soak ({engine}): {total:,} cases in {s:.1f} s ({total / s:,.0f} cases/s)")


def host_speed() -> str:
    """The host's speed now: the best of 5 timings of a fixed pure-Python loop. On a
    virtual or shared machine it drifts (this project's measured 204-393 ms for the same
    loop within minutes); figures printed beside it scale with it."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return f"reference loop {best * 1e3:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="generated cases")
    ap.add_argument("--rounds", type=int, default=3, help="timed runs (the median is shown)")
    ap.add_argument("--engine", action="append", choices=backends(),
                    help="backend(s) to measure (default: durable where it imports, and "
                         "python; 'reference' is the plain oracle)")
    ap.add_argument("--workers", type=int, default=0, help="also time a process pool")
    ap.add_argument("--soak", type=int, default=0, help="also assess this many for RSS")
    ap.add_argument("--no-stages", action="store_true", help="headline only")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time per case as wall time, or as this process's CPU time (less "
                         "inflated by other processes on a loaded machine)")
    args = ap.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time

    kb = partways.load_kb()
    program = partways.program_for(kb)
    data = make_cases(args.n)
    examples = sorted(p for p in (ROOT / "examples").glob("*") if p.suffix in (".yaml", ".json"))
    engines = args.engine or [b for b in backends() if b != "reference"]
    print(f"python {sys.version.split()[0]}  rules: {len(kb.rules)}  strata: "
          f"{program.max_stratum + 1}  generated cases: {args.n}  examples: {len(examples)}  "
          f"rounds: {args.rounds} (median)  cores: {os.cpu_count()}  clock: {args.clock}")
    print(f"host speed at the start: {host_speed()} (lower is faster)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_cases(Path(tmp), data)
        sample = [build_facts(kb, c) for c in (partways.load_case(p, kb) for p in paths[:200])]
        print(f"input facts/case: {statistics.mean(len(fb.facts) for fb in sample):.1f}"
              + session_facts(program, sample))
        print("\nEND TO END (us per case; cases/s)")
        for engine in engines:
            f_us, m_us = end_to_end(kb, paths, data, engine, args.rounds)
            x_us, _ = end_to_end(kb, examples * 20, [], engine, args.rounds) if examples \
                else (0.0, 0.0)
            print(f"  {engine:>9}: file -> JSON {f_us:7,.0f} us ({1e6 / f_us:6,.0f}/s)   "
                  f"mapping -> JSON {m_us:7,.0f} us ({1e6 / m_us:6,.0f}/s)   "
                  f"shipped examples file -> JSON {x_us:7,.0f} us   [{load()}]")
        if not args.no_stages:
            for engine in engines:
                print(f"\nSTAGES, {engine} (us per case; prepared inputs frozen out of the "
                      f"collector, outputs dropped: see the module docstring)   [{load()}]")
                rows = stage_table(kb, paths, engine, args.rounds)
                for name, us in rows:
                    print(f"  {name:<28} {us:8,.0f}")
                print(f"  {'sum':<28} {sum(us for _, us in rows):8,.0f}")
                if engine == "durable":
                    print(durable_c_calls(program, [build_facts(kb, partways.load_case(p, kb))
                                                    for p in paths]))
        if args.workers:
            for engine in engines:
                one, many = pool_speedup(paths, engine, args.workers, args.rounds)
                print(f"\npool ({engine}; best of {args.rounds} interleaved): 1 worker "
                      f"{one:,.0f} cases/s, {args.workers} workers {many:,.0f} cases/s: "
                      f"{many / one:.2f}x   [{load()}]")
        if args.soak:
            for engine in engines:
                print(f"\nRSS over {args.soak:,} cases ({engine})")
                soak(kb, data, engine, args.soak)
    print(f"\npeak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f} MB")
    print(f"host speed at the end: {host_speed()}")


if __name__ == "__main__":
    main()
