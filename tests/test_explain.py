"""Explanation queries: why, why-not, what-if, flip; examples, faithfulness properties,
renderings (en/ar/fa, JSON) and the CLI.

The cases run on the shipped KB with a small fixed signal layer on top
(tests/fixtures/explain_kb), so thresholds the KB authors tune do not move these tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partways
from partways.cli.main import main
from partways.explain import Derivation, Goal, Premise
from partways.expr import MISSING, compare
from partways.render.explain import (
    flip_dict,
    render_flip,
    render_what_if,
    render_why,
    render_why_not,
    to_json,
    what_if_dict,
    why_dict,
    why_not_dict,
)
from partways.whatif import Edit, edit_case

from _paths import FIXTURES

OVERLAY = FIXTURES / "explain_kb"
AS_OF = "2026-11-01"


def explain_kb() -> partways.KnowledgeBase:
    return partways.load_kb(overlays=[OVERLAY])  # cached by load_kb


@pytest.fixture(scope="module")
def xkb() -> partways.KnowledgeBase:
    return explain_kb()


def late_payer(outcomes: tuple[str, ...] = ("failed",), **extra: Any) -> dict[str, Any]:
    """Three late payments in the window; repairs tried with ``outcomes``."""
    steps = ["frank_conversation", "fresh_agreement"]
    return {
        "client": "Acme", "as_of": AS_OF,
        "relationship": {"since": "2025-01-01", "recurring": True},
        "events": [
            {"date": "2026-03-10", "type": "late_payment", "days_late": 25,
             "note": "invoice 12, after three reminders"},
            {"date": "2026-06-10", "type": "late_payment", "days_late": 12},
            {"date": "2026-09-10", "type": "late_payment", "days_late": 40},
        ],
        "remediation": [{"date": f"2026-10-0{i + 1}", "step": steps[i], "outcome": o}
                        for i, o in enumerate(outcomes)],
        **extra,
    }


def walk(d: Derivation) -> list[Derivation]:
    out = [d]
    for p in d.premises:
        if p.derivation is not None:
            out += walk(p.derivation)
    for e in d.evidence:
        out += walk(e)
    return out


def goals(g: Goal) -> list[Goal]:
    out = [g]
    for att in g.attempts:
        for p in att.premises:
            if p.goal is not None:
                out += goals(p.goal)
    return out


def premises_of(g: Goal) -> list[Premise]:
    return [p for sub in goals(g) for att in sub.attempts for p in att.premises]


# --------------------------------------------------------------------------- why


def test_why_reaches_the_evidence_with_actual_vs_required(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    tree = a.why()
    assert tree.roots and tree.roots[0].fact.id == a.decision_node
    nodes = [n for r in tree.roots for n in walk(r)]
    checks = [c for n in nodes for p in n.premises for c in p.checks
              if c.param == "late_payments_for_signal"]
    assert checks and checks[0].actual == 3 and checks[0].required == 2 and checks[0].held
    counted = {e.fact.id for n in nodes if n.fact.type == "metric" for e in n.evidence}
    assert {"event:1", "event:2", "event:3"} <= counted
    text = render_why(xkb, tree)
    assert "3 late payments in the last 365 days; 2 or more count" in text
    assert "late_payments_for_signal" not in text  # the parameter's name: JSON only
    assert "10 March 2026" in text and "invoice 12, after three reminders" in text
    assert "DEC-01" in text and "Repairs were tried and the problem persists" in text
    data = why_dict(xkb, tree)
    assert data["summary"] and "late_payments_for_signal" in to_json(data)


def test_why_shows_negations_as_held(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    negs = [p for r in a.why().roots for n in walk(r) for p in n.premises if p.negated]
    assert negs and all(p.held and not p.blocking for p in negs)


def test_why_of_a_named_node(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    tree = a.why("late_payment")
    # the label names the signal, its active form and more: the one nearest the decision
    assert [r.fact.type for r in tree.roots] == ["active"]
    assert a.why(tree.roots[0].fact.id).roots == tree.roots
    with pytest.raises(partways.QueryError, match="did you mean"):
        a.why("late_paymnt")


# --------------------------------------------------------------------------- why not


def test_why_not_terminate_names_the_open_repair(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("pending",)), xkb)
    assert a.decision == "remediate"
    wn = a.why_not("terminate")
    assert not wn.holds
    blocked = [p for g in wn.goals for p in premises_of(g) if p.negated and not p.held]
    assert any(b.type == "open_repair" for p in blocked for b in p.blocking)
    text = render_why_not(xkb, wn, full=True)
    assert "Repairs were tried and the problem persists" in text
    assert "The same doubts keep coming back" in text
    short = render_why_not(xkb, wn)
    assert "Talk frankly about the problems" in short  # the pending repair in the way
    assert len(short.split("\n")) < len(text.split("\n"))


def test_why_not_recurses_to_missing_evidence(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    wn = a.why_not("keep")
    kinds = {g.kind for top in wn.goals for g in goals(top)}
    assert "evidence" in kinds  # e.g. a repair recorded as improved
    leaves = [g for top in wn.goals for g in goals(top) if g.kind == "evidence"]
    assert any(g.fact_type == "remediation" and any(c.value == "improved" for c in g.constraints)
               for g in leaves)


def test_why_not_depth_bound(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    shallow = a.why_not("keep", depth=1)
    assert any(g.truncated for top in shallow.goals for g in goals(top))
    assert max(len(goals(g)) for g in shallow.goals) < max(
        len(goals(g)) for g in a.why_not("keep").goals)


def test_why_not_what_already_holds(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    wn = a.why_not(a.decision)
    assert wn.holds
    with pytest.raises(partways.QueryError, match="did you mean 'terminate'"):
        a.why_not("terminat")


# --------------------------------------------------------------------------- what-if


def test_what_if_improved_repair_keeps_the_client(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    wi = partways.what_if(a, [Edit("set", "remediation", "outcome", "improved", item=1)])
    assert (wi.diff.decision_before, wi.diff.decision_after) == ("terminate", "keep")
    assert wi.edits[0].old == "failed"
    assert wi.diff.plan_before is not None and wi.diff.plan_after is None
    text = render_what_if(xkb, wi)
    assert "End the relationship" in text and "Keep the client" in text
    assert "failed → improved" in text


def test_what_if_options_from_strings(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    edits = partways.whatif.edits_from_options(
        a, add=[("event", "type=verbal_abuse,note=shouted")], remove=[("event", "1")],
        sets=["doubts=4"], policy=["late_payments_for_signal=3"])
    wi = partways.what_if(a, edits)
    assert wi.after.decision == "terminate_now"
    assert wi.edits[0].value["date"] == AS_OF  # a new event defaults to as_of
    assert any(s.id == "verbal_abuse" and s.before is None for s in wi.diff.signals)
    with pytest.raises(partways.QueryError, match="did you mean"):
        partways.whatif.edits_from_options(a, policy=["late_payments_for_signl=3"])
    with pytest.raises(partways.QueryError):
        partways.whatif.edits_from_options(a, remove=[("event", "9")])


# --------------------------------------------------------------------------- flip


def test_flip_finds_the_smallest_changes(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    fr = partways.flip(a, to="keep")
    assert fr.flips and all(f.after.decision == "keep" for f in fr.flips)
    assert [len(f.edits) for f in fr.flips] == sorted(len(f.edits) for f in fr.flips)
    assert len(fr.flips[0].edits) == 1
    assert len(fr.flips) <= fr.k
    text = render_flip(xkb, fr)
    assert "Keep the client" in text


def test_flip_says_when_nothing_is_found(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data({"client": "Calm", "as_of": AS_OF}, xkb)
    fr = partways.flip(a, to="terminate_now", max_size=1)
    assert not fr.flips and fr.complete
    assert "searched" in render_flip(xkb, fr).lower()
    with pytest.raises(partways.QueryError):
        partways.flip(a, to=a.decision)


def test_flip_budget_is_reported(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "failed")), xkb)
    fr = partways.flip(a, to="terminate_now", max_evals=5)
    assert fr.evaluated == 5 and not fr.complete


# --------------------------------------------------------------------------- renderings


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_renderings_in_every_language(xkb: partways.KnowledgeBase, lang: str) -> None:
    a = partways.assess_data(late_payer(("failed", "pending")), xkb)
    wi = partways.what_if(a, [Edit("set", "remediation", "outcome", "failed", item=1)])
    texts = [render_why(xkb, a.why(), lang), render_why_not(xkb, a.why_not("keep"), lang),
             render_what_if(xkb, wi, lang)]
    for text in texts:
        assert text.endswith("\n") and "{" not in text
        if lang != "en":
            assert sum("\u0600" <= ch <= "\u06ff" for ch in text) > 20
    if lang == "fa":
        assert "ی" in texts[0]


def test_json_shapes_are_stable(xkb: partways.KnowledgeBase) -> None:
    a = partways.assess_data(late_payer(("failed", "pending")), xkb)
    wi = partways.what_if(a, [Edit("set", "remediation", "outcome", "failed", item=1)])
    for data in (why_dict(xkb, a.why()), why_not_dict(xkb, a.why_not("terminate")),
                 what_if_dict(xkb, wi), flip_dict(xkb, partways.flip(a, max_size=1))):
        text = to_json(data)
        assert json.loads(text)["query"] in ("why", "why_not", "what_if", "flip")
        assert "sid" not in text  # no engine internals
    again = partways.assess_data(late_payer(("failed", "pending")), xkb)
    assert to_json(why_dict(xkb, a.why())) == to_json(why_dict(xkb, again.why()))
    root = why_dict(xkb, a.why())["roots"][0]
    assert set(root) == {"fact", "rule", "premises", "evidence", "also"}
    assert root["rule"]["title"] and root["fact"]["title"]


# --------------------------------------------------------------------------- CLI


def _case_file(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_cli_queries(tmp_path: Path) -> None:
    case = _case_file(tmp_path, late_payer(("failed", "failed")))
    kb = ["--kb", str(OVERLAY)]
    run = CliRunner().invoke
    r = run(main, ["why", case, *kb])
    assert r.exit_code == 0, r.output
    assert "2 or more count" in r.output
    r = run(main, ["why-not", case, "keep", "--full", *kb])
    assert r.exit_code == 0, r.output
    full = r.output
    r = run(main, ["why-not", case, "keep", *kb])
    assert r.exit_code == 0 and len(r.output) < len(full)
    r = run(main, ["why-not", case, "keep", "--format", "json", *kb])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["target"] == "keep"
    r = run(main, ["what-if", case, "--set", "remediation.2.outcome=improved", *kb])
    assert r.exit_code == 0, r.output
    assert "Keep the client" in r.output
    r = run(main, ["flip", case, "--to", "keep", "--lang", "fa", *kb])
    assert r.exit_code == 0, r.output
    r = run(main, ["why", case, "nonsense", *kb])
    assert r.exit_code == 1 and "nothing named 'nonsense'" in r.output
    r = run(main, ["what-if", case, *kb])
    assert r.exit_code == 2
    r = run(main, ["what-if", case, "--remove-event", "7", *kb])
    assert r.exit_code == 1 and "Traceback" not in r.output


# --------------------------------------------------------------------------- properties

EVENT_TYPES = ["late_payment", "late_payment", "verbal_abuse", "poor_communication",
               "impossible_demand", "unfounded_criticism"]
STEPS = ["frank_conversation", "fresh_agreement", "new_channel", "self_review", "cool_off"]


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    events = []
    for _ in range(draw(st.integers(0, 5))):
        etype = draw(st.sampled_from(EVENT_TYPES))
        ev: dict[str, Any] = {"date": f"2026-{draw(st.integers(1, 10)):02d}-"
                                      f"{draw(st.integers(1, 28)):02d}", "type": etype}
        if etype == "late_payment":
            ev["days_late"] = draw(st.integers(1, 60))
        events.append(ev)
    remediation = [{"date": f"2026-{draw(st.integers(1, 10)):02d}-15",
                    "step": draw(st.sampled_from(STEPS)),
                    "outcome": draw(st.sampled_from(["improved", "failed", "pending"]))}
                   for _ in range(draw(st.integers(0, 3)))]
    data: dict[str, Any] = {"client": "Generated", "as_of": AS_OF,
                            "relationship": {"since": "2025-01-01",
                                             "recurring": draw(st.booleans()),
                                             "has_team": draw(st.booleans())},
                            "events": events, "remediation": remediation,
                            "doubts": draw(st.integers(0, 5))}
    if draw(st.booleans()):
        data["contract"] = {"ends": "2027-03-31", "termination_clause": draw(st.booleans()),
                            "notice_days": draw(st.sampled_from([14, 30, 60]))}
    return data


PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(cases())
def test_why_tree_is_in_the_decision_graph(data: dict[str, Any]) -> None:
    xkb = explain_kb()
    a = partways.assess_data(data, xkb)
    g = a.graph
    tables = {t.fact for t in xkb.tables}
    for root in a.why().roots:
        for node in walk(root):
            if node.fact.type in tables:
                continue  # knowledge, not case: kept out of the graph by design
            assert node.fact.id in g
            if node.rule is not None:
                assert g.nodes[node.fact.id]["rule"] == node.rule
            for p in node.premises:
                assert p.held
                if p.negated:  # "no such fact": nothing in the case matches it
                    assert not p.blocking
                else:
                    assert all(c.held for c in p.checks)
                if p.fact is not None and p.fact.type not in tables:
                    assert g.has_edge(p.fact.id, node.fact.id)
            for e in node.evidence:
                assert g.has_edge(e.fact.id, node.fact.id)


@PROPS
@given(cases(), st.sampled_from(["keep", "monitor", "remediate", "terminate",
                                 "terminate_now"]))
def test_why_not_reports_only_real_failures(data: dict[str, Any], target: str) -> None:
    xkb = explain_kb()
    a = partways.assess_data(data, xkb)
    wn = a.why_not(target)
    assert wn.holds == (a.decision == target)
    facts = a.trace.facts
    for top in wn.goals:
        for p in premises_of(top):
            if p.negated:
                for b in p.blocking:  # what breaks a negation really exists
                    assert b.id in facts and facts[b.id]["fact"] == p.fact_type
                continue
            for c in p.checks:
                if p.fact is None or c.op == "any":
                    continue
                actual = facts[p.fact.id].get(c.field, MISSING)
                assert (None if actual is MISSING else actual) == c.actual
                required = list(c.required) if isinstance(c.required, tuple) else c.required
                assert compare(actual, c.op, required if c.required is not None else MISSING) \
                    == c.held


@PROPS
@given(cases(), st.sampled_from(["improved", "failed"]), st.integers(0, 5))
def test_what_if_is_what_the_engine_gives(data: dict[str, Any], outcome: str,
                                          doubts: int) -> None:
    xkb = explain_kb()
    a = partways.assess_data(data, xkb)
    edits = [Edit("add", "remediation", value={"step": "frank_conversation",
                                               "outcome": outcome}),
             Edit("set", "profile", "doubts", doubts)]
    wi = partways.what_if(a, edits)
    edited, _ = edit_case(a.case, xkb, edits)
    direct = partways.assess_case(edited, xkb)
    assert wi.after.to_json() == direct.to_json()
    assert wi.diff.decision_before == a.decision
    assert wi.diff.decision_after == direct.decision


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_flips_are_what_the_engine_gives(data: dict[str, Any]) -> None:
    xkb = explain_kb()
    a = partways.assess_data(data, xkb)
    fr = partways.flip(a, max_size=1, k=2)
    for f in fr.flips:
        edited, _ = edit_case(a.case, xkb, f.edits)
        direct = partways.assess_case(edited, xkb)
        assert direct.decision == f.after.decision != a.decision
        assert 1 <= len(f.edits) <= fr.max_size
