"""Machine instructions per case, end to end and per stage, counted by valgrind.

    python benchmarks/instructions.py                  # 100 generated cases, both backends
    python benchmarks/instructions.py --n 300 --engine python

Wall-clock figures on a shared or virtual machine drift with the host (the same loop can
take 1.7x longer from one minute to the next); a count of executed instructions does not.
This script runs each measured loop under ``valgrind --tool=callgrind`` twice, over 0 and
over ``--n`` cases, and prints the difference per case: a deterministic figure to compare
two versions of the code (it is not a time: a cache miss costs more than an add). It
needs valgrind; without it, it says so and exits. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What a measured child runs: a loop over the prepared cases, by name.
STEPS = ("file->json", "mapping->json", "yaml", "case", "facts", "inference", "build", "json")

CHILD = r'''
import sys
sys.path.insert(0, {bench!r})
from pathlib import Path
import partways
from partways import _yaml
from partways.assessment import build
from partways.case import CaseError, _build
from partways.facts import build_facts
from partways.inference import run_durable, run_python
from cases import make_cases
import yaml

step, engine, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
kb = partways.load_kb()
program = partways.program_for(kb)
run = run_durable if engine == "durable" else run_python
paths = sorted(folder.glob("case-*.yaml"))
data = [yaml.safe_load(p.read_text("utf-8")) for p in paths]
texts = [p.read_text("utf-8") for p in paths]
docs = [_yaml.load_text(t, str(p), CaseError) for t, p in zip(texts, paths)]
cases = [_build(d, kb, None) for d in docs]
facts = [build_facts(kb, c) for c in cases]
traces = [run(program, f) for f in facts]
results = [build(program, c, t) for c, t in zip(cases, traces)]

def one(i):
    if step == "file->json":
        case = partways.load_case(paths[i], kb)
        build(program, case, run(program, build_facts(kb, case))).to_json()
    elif step == "mapping->json":
        case = partways.case_from_data(data[i], kb)
        build(program, case, run(program, build_facts(kb, case))).to_json()
    elif step == "yaml":
        _yaml.load_text(texts[i], "x", CaseError)
    elif step == "case":
        d = docs[i]
        _build(_yaml.Document(d.data, d.path, d.lines), kb, None)
    elif step == "facts":
        build_facts(kb, cases[i])
    elif step == "inference":
        run(program, facts[i])
    elif step == "build":
        build(program, cases[i], traces[i])
    else:
        results[i].to_json()

# the prepared inputs are frozen out of the collector (as benchmarks/assess.py does): a
# full collection walking them would be counted at random in one run and not the other
import gc
gc.collect()
gc.freeze()
for i in range(len(paths)):  # warm: every cache a long run would have is filled
    one(i)
for _ in range(n):
    for i in range(len(paths)):
        one(i)
'''


def own_cache(folder: Path) -> dict[str, str]:
    """The compiled-KB cache in the run's own folder: other runs sharing the user's cache
    could evict its entry, and a counted run would then pay for compiling the KB."""
    return {"PARTWAYS_CACHE_DIR": str(folder / "cache")}


def count(step: str, engine: str, rounds: int, folder: Path, script: Path) -> int:
    """Instructions valgrind counts for one child process."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, str(script), step, engine, str(rounds), str(folder)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0", **own_cache(folder)})
    found = re.search(r"Collected : (\d+)", out.stderr)
    if not found:
        raise SystemExit(f"valgrind printed no count: {out.stderr[-400:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="cases (default 100)")
    ap.add_argument("--engine", choices=["durable", "python", "both"], default="both")
    ap.add_argument("--steps", default=",".join(STEPS), help="comma-separated, of: "
                    + ", ".join(STEPS))
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions "
                         "with it (apt-get install valgrind)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import yaml
    from cases import make_cases

    from partways.inference import durable_problem

    engines = ["durable", "python"] if args.engine == "both" else [args.engine]
    if "durable" in engines and durable_problem():
        print(f"durable backend unavailable here ({durable_problem()}): python only")
        engines = ["python"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, case in enumerate(make_cases(args.n)):
            (folder / f"case-{i:05d}.yaml").write_text(
                yaml.safe_dump(case, allow_unicode=True, sort_keys=False), "utf-8")
        script = folder / "child.py"
        script.write_text(CHILD.format(bench=str(ROOT / "benchmarks")), "utf-8")
        print(f"python {sys.version.split()[0]}  cases: {args.n}  (valgrind callgrind; "
              "instructions per case, thousands)")
        for engine in engines:
            print(f"\n{engine}:")
            for step in args.steps.split(","):
                # the same child outside valgrind first: whatever it caches on disk (the
                # KB, generated code) is there before either counted run
                subprocess.run([sys.executable, str(script), step, engine, "0", str(folder)],
                               check=True, env={**os.environ, **own_cache(folder)})
                base = count(step, engine, 0, folder, script)
                total = count(step, engine, 1, folder, script)
                print(f"  {step:14} {(total - base) / args.n / 1e3:9,.0f} k", flush=True)


if __name__ == "__main__":
    main()
