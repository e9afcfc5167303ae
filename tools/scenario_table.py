"""Print the scenario corpus as a Markdown table: expected vs actual, per scenario.

    python tools/scenario_table.py            # every scenario of tests/scenarios/
    python tools/scenario_table.py s01 s12    # only those whose file name starts so
    python tools/scenario_table.py --expected # the expected answers only, nothing run

A case the engine refuses (e.g. a new event type it does not know yet) is a row saying so,
never a crash. The checks are those of tests/test_scenarios.py
(tests/scenarios/expectations.py). Exit status 0 whatever the results: it is a report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def _expected_row(name: str, spec: dict[str, Any]) -> str:
    ns = spec.get("next_steps") or {}
    plan = spec.get("plan") or {}
    steps = [*ns.get("must", []), *(f"plan:{s}" for s in plan.get("must", []))]
    never = [*ns.get("must_not", []), *(f"plan:{s}" for s in plan.get("must_not", []))]
    if "first_not" in ns:
        never.append(f"{ns['first_not']} (first)")
    signals = [f"{s['id']} ({s.get('severity', '?')})" for s in spec.get("signals", [])]
    return (f"| {_cell(name.removesuffix('.yaml'))} | {spec['decision']} | "
            f"{_cell(', '.join(signals) or '–')} | {_cell(', '.join(steps) or '–')} | "
            f"{_cell(', '.join(never) or '–')} | {', '.join(spec['guidance'])} |")


def main(argv: list[str]) -> int:
    scenarios = load_expected()["scenarios"]
    if argv[:1] == ["--expected"]:
        print("| scenario | decision | signals | steps that must appear | must not appear "
              "| guidance |")
        print("|---|---|---|---|---|---|")
        for name in sorted(scenarios):
            print(_expected_row(name, scenarios[name]))
        return 0
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
