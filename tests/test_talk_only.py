"""A serious red flag no listed repair applies to (here an overlay's flag with no fit row):
the frank talk it asks for first is counted, so the decision no longer stays at remediate
whatever came of the talk (kb/rules/decision/talk_only.yaml, REM-04, DEC-01)."""

from __future__ import annotations

from typing import Any

import pytest

import partways
from partways.render.explain import render_why

from _paths import FIXTURES

UNFITTED = FIXTURES / "overlay_unfitted"


def _case(outcome: str | None, talk_on: str = "2026-10-10") -> dict[str, Any]:
    case: dict[str, Any] = {"client": "Mirage Media", "as_of": "2026-11-01",
                            "events": [{"date": "2026-10-01", "type": "misleading_information"}]}
    if outcome:
        case["remediation"] = [{"date": talk_on, "step": "frank_conversation",
                                "outcome": outcome}]
    return case


@pytest.mark.parametrize(("outcome", "talk_on", "decision"), [
    (None, "", "remediate"),                  # nothing tried: talk first
    ("pending", "2026-10-10", "remediate"),   # wait for it
    ("failed", "2026-10-10", "terminate"),    # the one repair hit a wall
    ("failed", "2026-09-10", "remediate"),    # before the problem: not about it
    ("improved", "2026-10-10", "monitor"),    # worked; the shipped minor sign stays watched
])
def test_the_talk_decides_a_flag_no_repair_fits(outcome: str | None, talk_on: str,
                                                decision: str) -> None:
    kb = partways.load_kb(overlays=[UNFITTED])
    a = partways.assess_data(_case(outcome, talk_on), kb)
    assert a.decision == decision
    steps = [s.id for s in a.next_steps]
    if decision == "remediate":
        assert "frank_conversation" in steps
    if decision == "terminate":
        # the failed talk is in the graph, linked into the decision, and why names it
        rec = next(n for n, d in a.graph.nodes.items() if d.get("fact") == "remediation")
        cand = next(n for n, d in a.graph.nodes.items()
                    if d.get("fact") == "candidate" and d.get("value") == "terminate")
        assert rec in set(a.graph.predecessors(cand))
        why = render_why(kb, a.why(), "en")
        assert "The frank talk, the one repair this problem has, did not work" in why
        assert "10 October 2026" in why


def test_without_the_overlay_the_same_case_is_decided_by_the_fit_table() -> None:
    a = partways.assess_data(_case("failed"))
    assert a.decision == "monitor"   # one report is below the shipped threshold
    assert not [f for f in a.trace.firings if f.rule.startswith(("dec.terminate.talk",
                                                                 "rem.talk_worked"))]
