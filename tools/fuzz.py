"""Fuzz partways for a few minutes: mutated shipped examples through every command.

    python tools/fuzz.py [--minutes 3] [--seed 1] [--slow]

Prints the counts (inputs, clean errors, valid outputs, tracebacks, hangs) and every
failure. ``--slow`` adds the commands that run Graphviz. The same harness runs briefly
in the suite (tests/test_fuzz.py). Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _fuzz import COMMANDS, SLOW_COMMANDS, Tally, mutate, run_case  # noqa: E402

HANG_SECONDS = 120


class Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow", action="store_true", help="also svg and the report's graph")
    args = ap.parse_args()
    commands = COMMANDS + (SLOW_COMMANDS if args.slow else [])
    tally = Tally()
    signal.signal(signal.SIGALRM, _alarm)
    end = time.monotonic() + args.minutes * 60
    i = 0
    with tempfile.TemporaryDirectory() as folder:
        while time.monotonic() < end:
            rng = random.Random(args.seed * 1_000_003 + i)
            name, data, done = mutate(rng)
            signal.alarm(HANG_SECONDS)
            try:
                run_case(data, Path(folder), tally, commands=commands,
                         label=f"seed {args.seed} #{i} {name}: {done}")
            except Hang:
                tally.hangs += 1
                tally.failures.append(f"hang #{i} {name}: {done}")
            finally:
                signal.alarm(0)
            i += 1
    runs = sum(tally.by_command.values()) + tally.inputs
    print(f"inputs: {tally.inputs} mutated cases, {runs} runs (every command + assess_data)")
    print(f"clean errors: {tally.clean_errors}")
    print(f"valid outputs: {tally.valid_outputs}")
    print(f"tracebacks: {tally.tracebacks}")
    print(f"hangs: {tally.hangs}")
    print(f"other failures: {len(tally.failures) - tally.tracebacks - tally.hangs}")
    for failure in tally.failures[:20]:
        print("---", failure[:3000])
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
