"""The scenario corpus (tests/scenarios/): realistic cases whose expected answers were
written from the sources and POLICY9 before any run (tests/scenarios/expected.yaml).

One test per scenario asserts its decision, signals, next steps, plan facts, texts and the
guidance behind the answer through the public API; the checks live in
tests/scenarios/expectations.py, shared with tools/scenario_table.py.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml
from scenarios.expectations import CASES, case_files, check, load_expected

import partways

from _paths import ROOT

EXPECTED: dict[str, Any] = load_expected()
SCENARIOS: dict[str, dict[str, Any]] = EXPECTED["scenarios"]
NEW: dict[str, str] = EXPECTED["new_concepts"]
DECISIONS = ("keep", "monitor", "remediate", "terminate", "terminate_now")


def test_every_case_has_an_expectation_and_back() -> None:
    files = [p.name for p in case_files()]
    assert sorted(files) == sorted(SCENARIOS), (
        f"without expectation: {sorted(set(files) - set(SCENARIOS))}; "
        f"without case file: {sorted(set(SCENARIOS) - set(files))}")
    assert len(files) >= 34


def test_corpus_covers_every_decision() -> None:
    assert {s["decision"] for s in SCENARIOS.values()} == set(DECISIONS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_expectation_is_complete_and_names_known_ids(kb: partways.KnowledgeBase,
                                                     name: str) -> None:
    spec = SCENARIOS[name]
    assert spec["decision"] in DECISIONS, name
    assert spec.get("rationale", "").strip(), f"{name}: no rationale"
    assert spec.get("guidance"), f"{name}: no guidance ids"
    assert set(spec["guidance"]) <= set(kb.guidance), \
        f"{name}: unknown guidance {sorted(set(spec['guidance']) - set(kb.guidance))}"

    def known(kind: str, ident: str) -> bool:
        return kb.concept(kind, ident) is not None or ident in NEW

    ids: list[tuple[str, str]] = []
    ids += [("signal", s["id"]) for s in spec.get("signals", [])]
    ids += [("signal", s) for s in spec.get("signals_absent", [])]
    ns = spec.get("next_steps") or {}
    ids += [("step", s) for s in [*ns.get("must", []), *ns.get("must_not", []),
                                  *(ns.get("status") or {})]]
    plan = spec.get("plan") or {}
    ids += [("plan_step", s) for s in [*plan.get("must", []), *plan.get("must_not", []),
                                       *plan.get("before_notify", []),
                                       *(plan.get("step_within_days") or {})]]
    unknown = [f"{k}:{i}" for k, i in ids if not known(k, i)]
    assert not unknown, f"{name}: ids neither in the KB nor in new_concepts: {unknown}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_case_file_is_a_plain_case(name: str) -> None:
    """A scenario is a plain case file (one document, the case format's keys only), so a
    user can run it with `partways assess`; its expectation lives in expected.yaml."""
    docs = list(yaml.safe_load_all((CASES / name).read_text(encoding="utf-8")))
    assert len(docs) == 1 and isinstance(docs[0], dict), name
    allowed = {"client", "as_of", "relationship", "contract", "money", "deliverables",
               "events", "remediation", "doubts", "wellbeing", "policy"}
    assert set(docs[0]) <= allowed, f"{name}: {sorted(set(docs[0]) - allowed)}"
    assert {"client", "as_of"} <= set(docs[0]), name


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(kb: partways.KnowledgeBase, name: str) -> None:
    spec = SCENARIOS[name]
    outcome = check(name, spec, kb)
    assert outcome.passed, (
        f"{name} (expected {spec['decision']}, got {outcome.actual}; "
        f"{spec['rationale']}):\n  - " + "\n  - ".join(outcome.problems))


def test_readme_lists_the_expected_answers() -> None:
    """tests/scenarios/README.md shows the expectations as they are in expected.yaml."""
    listing = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "scenario_table.py"), "--expected"],
        capture_output=True, text=True, check=True).stdout
    readme = (CASES.parent / "README.md").read_text(encoding="utf-8")
    assert listing in readme, (
        "tests/scenarios/README.md is out of date: paste the output of "
        "`python tools/scenario_table.py --expected` under 'Expected answers'")
