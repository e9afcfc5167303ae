"""The reference evaluator as the oracle of the durable_rules path.

Property tests generate random cases and assert both evaluators make the same firings
(rule, premises, conclusion), the same decision graph and the same decision. Two
differences this oracle found are pinned by the fixture tests below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partways
from partways.facts import build_facts
from partways.graph import decision_graph, node_link
from partways.inference import Trace, run
from partways.reference import assess_reference, run_reference

from _engines import ENGINES
from _paths import FIXTURES

AS_OF = dt.date(2026, 11, 1)

# the fields each event type takes (docs/CASE_FORMAT.md), as strategies
EXTRA: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "late_payment": {"days_late": st.integers(1, 120),
                     "amount": st.integers(0, 9000)},
    "payment_refused": {"amount": st.integers(0, 9000)},
    "slow_response": {"hours": st.integers(0, 400)},
    "impossible_demand": {"pressure": st.booleans()},
    "unfounded_criticism": {"constructive": st.booleans()},
    "disrespect": {"toward": st.sampled_from(["you", "team"])},
    "boundary_violation": {"kind": st.sampled_from(["off_hours", "personal"])},
    "advice_rejected": {"what": st.sampled_from(["advice", "idea", "deliverable"])},
}
EVENT_TYPES = [
    "late_payment", "payment_refused", "poor_communication", "slow_response",
    "out_of_scope_demand", "impossible_demand", "unfounded_criticism", "pessimism",
    "disrespect", "boundary_violation", "contract_breach", "schedule_disregard",
    "needless_complication", "illegal_request", "unethical_request", "team_tension",
    "misleading_information", "vision_conflict", "reversal", "unprepared_meeting",
    "advice_rejected", "verbal_abuse"]
TRIED = ["frank_conversation", "new_channel", "scope_change", "fresh_agreement",
         "profitability_review"]
RECORDED = ["confirm_reason", "cool_off", "self_review", "team_consulted"]


def day(lo: int, hi: int) -> st.SearchStrategy[str]:
    """An ISO date ``lo``..``hi`` days before as_of (negative: after)."""
    return st.integers(lo, hi).map(lambda d: (AS_OF - dt.timedelta(days=d)).isoformat())


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    etype = draw(st.sampled_from(EVENT_TYPES))
    ev: dict[str, Any] = {"date": draw(day(0, 500)), "type": etype}
    for name, strategy in EXTRA.get(etype, {}).items():
        if name in ("days_late", "hours") or draw(st.booleans()):
            ev[name] = draw(strategy)
    return ev


@st.composite
def remediation(draw: st.DrawFn) -> dict[str, Any]:
    step = draw(st.sampled_from(TRIED + RECORDED))
    item: dict[str, Any] = {"date": draw(day(0, 300)), "step": step}
    if step in TRIED or draw(st.booleans()):
        item["outcome"] = draw(st.sampled_from(["improved", "failed", "pending"]))
    return item


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    case: dict[str, Any] = {"client": "Generated", "as_of": AS_OF.isoformat(),
                            "events": draw(st.lists(events(), max_size=10)),
                            "remediation": draw(st.lists(remediation(), max_size=4))}
    if draw(st.booleans()):
        rel: dict[str, Any] = {"since": draw(day(30, 1500)), "recurring": draw(st.booleans()),
                               "has_team": draw(st.booleans())}
        if draw(st.booleans()):
            rel["response_window_hours"] = draw(st.integers(1, 96))
        case["relationship"] = rel
    if draw(st.booleans()):
        case["contract"] = {"ends": draw(st.none() | day(-400, 20)),
                            "termination_clause": draw(st.booleans()),
                            "notice_days": draw(st.integers(0, 90))}
    if draw(st.booleans()):
        case["money"] = {"revenue": draw(st.integers(0, 80000)),
                         "hours": draw(st.integers(1, 1500)),
                         "target_rate": draw(st.sampled_from([30, 60, 90])),
                         "outstanding": draw(st.sampled_from([0, 0, 750, 5000]))}
    if draw(st.booleans()):
        case["deliverables"] = [
            {"name": f"D{i}", "paid": draw(st.booleans()), "delivered": draw(st.booleans()),
             "due": draw(day(-90, 30))} for i in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        case["doubts"] = draw(st.integers(0, 6))
    if draw(st.booleans()):
        case["wellbeing"] = draw(st.sampled_from(["low", "medium", "high"]))
    return case


def firings(trace: Trace) -> set[tuple[str, tuple[tuple[str, str], ...], str]]:
    return {(f.rule, f.premises, f.conclusion) for f in trace.firings}


def assert_same(kb: partways.KnowledgeBase, case: partways.Case) -> None:
    """Every backend (durable_rules where it imports, the compiled Python one) agrees with
    the reference evaluator on firings, graph and decision for ``case``."""
    program = partways.program_for(kb)
    reference = assess_reference(case, kb)
    for engine in ENGINES:
        a = partways.assess_case(case, kb, engine=engine)
        assert firings(a.trace) == firings(reference.trace), engine
        assert node_link(a.graph) == node_link(reference.graph), engine
        assert a.decision == reference.decision, engine
        assert a.to_json() == reference.to_json(), engine
    # and the strata agree with the program's
    assert all(f.stratum == program.strata[f.rule] for f in reference.trace.firings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=cases())
def test_durable_and_reference_agree_on_generated_cases(kb: partways.KnowledgeBase,
                                                        data: dict[str, Any]) -> None:
    assert_same(kb, partways.case_from_data(data, kb))


def test_durable_and_reference_agree_on_the_shipped_examples(kb: partways.KnowledgeBase) -> None:
    from _paths import EXAMPLES

    paths = sorted(p for p in EXAMPLES.glob("*") if p.suffix in (".yaml", ".json"))
    assert paths
    for path in paths:
        assert_same(kb, partways.load_case(path, kb))


def test_backends_agree_on_the_scenarios_and_rule_examples(kb: partways.KnowledgeBase) -> None:
    """The scenario corpus and the rule examples exercise every rule of the remediation and
    harm layers (attempts copying a record's id, several tests on one date field, pairs of
    events joined on their dates): every backend gives the same trace on each."""
    import yaml

    from _paths import RULE_EXAMPLES, TESTS, example_kb

    scenarios = sorted((TESTS / "scenarios" / "cases").glob("*.yaml"))
    cases = [(kb, partways.load_case(p, kb)) for p in scenarios]
    for path in sorted(RULE_EXAMPLES.rglob("*.yaml")):
        for ex in yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]:
            on = example_kb(ex, kb)
            cases.append((on, partways.case_from_data(ex["case"], on)))
    assert len(cases) > 100
    assert any(on is not kb for on, _ in cases)  # the overlay examples run too
    for on, case in cases:
        assert_same(on, case)


# --------------------------------------------------------------------------- fixture KB

MINI = FIXTURES / "kb_mini"


@pytest.fixture(scope="module")
def mini() -> partways.KnowledgeBase:
    return partways.load_kb(MINI)


@pytest.mark.parametrize("data", [
    {"client": "X", "as_of": "2026-06-01"},
    {"client": "X", "as_of": "2026-06-01", "contract": {"notice_days": 30},
     "events": [{"date": "2026-01-01", "type": "rude"}]},
    {"client": "X", "as_of": "2026-06-01",
     "events": [{"date": "2026-01-01", "type": "late"}, {"date": "2026-02-01", "type": "late"},
                {"date": "2026-03-01", "type": "rude"}]},
])
def test_durable_and_reference_agree_on_the_fixture_kb(mini: partways.KnowledgeBase,
                                                       data: dict[str, Any]) -> None:
    assert_same(mini, partways.case_from_data(data, mini))


def test_a_rule_negating_only_case_facts_fires(mini: partways.KnowledgeBase) -> None:
    """Found by the oracle: such a rule sits in stratum 0, and durable never fired it
    (its gate waited on a level-0 control fact that was never asserted)."""
    case = partways.case_from_data({"client": "X", "as_of": "2026-06-01"}, mini)
    assert partways.program_for(mini).strata["step.contract"] == 0
    for a in (partways.assess_case(case, mini), assess_reference(case, mini)):
        assert [f.rule for f in a.trace.firings] == ["step.contract"]
        assert [s.id for s in a.next_steps] == ["write_contract"]


def test_no_engine_key_leaks_into_the_trace(mini: partways.KnowledgeBase) -> None:
    """Found by the oracle: durable added its session id to asserted conclusions, so the
    graph and the JSON of the same case differed from one run to the next."""
    data = {"client": "X", "as_of": "2026-06-01",
            "events": [{"date": "2026-01-01", "type": "rude"}]}
    program = partways.program_for(mini)
    outs = []
    for _ in range(2):
        case = partways.case_from_data(data, mini)
        trace = run(program, build_facts(mini, case))
        assert all("sid" not in f for f in trace.facts.values())
        outs.append(node_link(decision_graph(mini, trace)))
    assert outs[0] == outs[1]


def test_a_case_where_nothing_fires_runs_on_durable(mini: partways.KnowledgeBase) -> None:
    """Found while testing: durable segfaulted deleting a session in which no action ran."""
    case = partways.case_from_data({"client": "X", "as_of": "2026-06-01",
                                    "contract": {"notice_days": 5}}, mini)
    a = partways.assess_case(case, mini)
    assert a.trace.firings == [] and a.decision == "keep"
    assert run_reference(partways.program_for(mini), build_facts(mini, case)).firings == []
