"""Print the scenario corpus as a Markdown table: expected vs actual, per scenario.

    python tools/scenario_table.py            # every scenario of tests/scenarios/
    python tools/scenario_table.py s01 s12    # only those whose file name starts so

A case the engine refuses (e.g. a new event type it does not know yet) is a row saying so,
never a crash. The checks are those of tests/test_scenarios.py
(tests/scenarios/expectations.py). Exit status 0 whatever the results: it is a report.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from scenarios.expectations import CASES, Outcome, check, load_expected  # noqa: E402

import partways  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _refusal(o: Outcome) -> str:
    """The case error without the directory (file:line: field: message), kept short."""
    text = (o.refused or "").replace(str(CASES) + "/", "")
    return text if len(text) <= 110 else text[:107] + "..."


def _row(o: Outcome) -> str:
    actual = o.actual if o.refused is None else f"{o.actual} ({_refusal(o)})"
    missing = ", ".join(o.missing) or "–"
    unwanted = ", ".join(o.unwanted) or "–"
    other = o.other
    result = "pass" if o.passed else "FAIL"
    return (f"| {_cell(o.name.removesuffix('.yaml'))} | {o.expected} | {_cell(actual)} | "
            f"{_cell(missing)} | {_cell(unwanted)} | {_cell('; '.join(other) or '–')} | "
            f"{result} |")


def main(argv: list[str]) -> int:
    scenarios = load_expected()["scenarios"]
    names = sorted(n for n in scenarios if not argv or any(n.startswith(a) for a in argv))
    kb = partways.load_kb()
    outcomes = [check(n, scenarios[n], kb) for n in names]
    print("| scenario | expected | actual | expected steps missing | unwanted steps present "
          "| other failed checks | result |")
    print("|---|---|---|---|---|---|---|")
    for o in outcomes:
        print(_row(o))
    passed = sum(o.passed for o in outcomes)
    decided = sum(o.actual == o.expected for o in outcomes)
    refused = sum(o.actual == "refused" for o in outcomes)
    print()
    print(f"{passed}/{len(outcomes)} scenarios pass every check; {decided}/{len(outcomes)} "
          f"get the expected decision; {refused} refused by the case format.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
