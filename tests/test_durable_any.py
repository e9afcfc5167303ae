"""`any` blocks whose alternatives compare with another pattern's field (``@m.first_age``)
or a ``$parameter``: every backend fires exactly as the reference evaluator.

durable_rules 2.0.28 mis-evaluates an "$or" holding such a comparison (it dropped the
late events of ``any.ref_each`` below and kept ones the comparison rejects); the
compiler expands those blocks into one durable rule per alternative
(``inference._alternatives``), and a negated pattern into one negated pattern per
alternative. Rules: tests/fixtures/overlay_any_ref on tests/fixtures/kb_mini.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import partways
from partways.errors import KBError
from partways.facts import build_facts
from partways.inference import Trace, durable_problem, run
from partways.reference import run_reference

from _engines import ENGINES
from _paths import FIXTURES

MINI = FIXTURES / "kb_mini"
OVERLAY = FIXTURES / "overlay_any_ref"

# as_of 2026-06-01: a late payment on 2026-01-01 is 151 days old (the metric's first_age)
CASES = {
    "rude after the first late payment": [
        ("2026-01-01", "late"), ("2026-03-01", "late"), ("2026-04-01", "rude")],
    "rude before the first late payment": [("2025-12-01", "rude"), ("2026-01-01", "late")],
    "rude only (no first_age to compare with)": [("2026-04-01", "rude")],
}
# what the rules conclude (rule -> the event ids e it fires for), case by case
EXPECTED = {
    "rude after the first late payment": {
        "any.ref_first": ["event:1", "event:2", "event:3"],
        "any.ref_last": ["event:1", "event:2", "event:3"],
        "any.ref_alone": ["event:1", "event:2", "event:3"],
        "any.ref_each": ["event:3"],  # durable alone fired event:1 and event:2 too
        "any.param": ["event:1", "event:2", "event:3"],
        "any.beside_ref": ["event:1", "event:2", "event:3"],
        "any.nested": ["event:2", "event:3"],
        "any.none": [None],
    },
    "rude before the first late payment": {
        "any.ref_first": ["event:2"], "any.ref_last": ["event:2"],
        "any.ref_alone": ["event:2"], "any.param": ["event:1", "event:2"],
        "any.beside_ref": ["event:2"], "any.nested": ["event:1"],
        # silent: any.ref_each (neither alternative holds), any.none (the rude event
        # older than the first late payment blocks it)
    },
    # the rules comparing with first_age need one (no late payment: none fires); the one
    # comparing with a parameter alone does not
    "rude only (no first_age to compare with)": {"any.param": ["event:1"]},
}


@pytest.fixture(scope="module")
def kb() -> partways.KnowledgeBase:
    return partways.load_kb(MINI, overlays=[OVERLAY])


def _fb(kb: partways.KnowledgeBase, events: list[tuple[str, str]]) -> Any:
    case = partways.case_from_data({"client": "X", "as_of": "2026-06-01", "events": [
        {"date": d, "type": t} for d, t in events]}, kb)
    return build_facts(kb, case)


def _firings(trace: Trace) -> list[tuple[Any, ...]]:
    return sorted((f.rule, f.premises, f.conclusion, f.stratum) for f in trace.firings)


@pytest.mark.parametrize("name", CASES)
def test_any_with_references_fires_alike_on_every_backend(kb: partways.KnowledgeBase,
                                                          name: str) -> None:
    fb = _fb(kb, CASES[name])
    program = partways.program_for(kb)
    reference = run_reference(program, fb)
    fired: dict[str, list[str | None]] = {}
    for f in sorted(reference.firings):
        if f.rule.startswith("any."):
            fired.setdefault(f.rule, []).append(dict(f.premises).get("e"))
    assert fired == EXPECTED[name]
    for engine in ENGINES:
        assert _firings(run(program, fb, engine)) == _firings(reference), engine


def test_expanded_rules_keep_their_ids(kb: partways.KnowledgeBase) -> None:
    program = partways.program_for(kb)
    # ref_each: two alternatives, two durable rules named after it; a constant-only
    # `any` (none in this overlay) or a rule without one stays a single durable rule
    assert {v: r for v, r in program.durable_variants.items() if r == "any.ref_each"} == {
        "any.ref_each#0": "any.ref_each", "any.ref_each#1": "any.ref_each"}
    assert "any.ref_each" not in program.durable_rules
    assert set(program.durable_variants.values()) | set(program.durable_rules) >= {
        r.id for r in kb.rules}
    # the negated pattern: one negated durable pattern per alternative, no variants
    assert "any.none" not in program.durable_variants.values()
    assert [next(iter(c)) for c in program.durable_rules["any.none"]][-2:] == [
        "n1_0$not", "n1_1$not"]


def test_too_many_combinations_is_a_one_line_kb_error(tmp_path: Path) -> None:
    any_block = ('{any: [{date_age: {lte: "@m.first_age"}}, '
                 '{date_age: {gt: "@m.last_age"}}]}')
    patterns = "".join(f"    - {{fact: event, as: e{i}, where: {any_block}}}\n"
                       for i in range(7))  # 2**7 = 128 combinations
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "wide.yaml").write_text(
        "- id: any.wide\n  title: {en: t, ar: t, fa: t}\n  description: {en: d, ar: d, fa: d}\n"
        "  guidance: [MINI-01]\n  sources: [{id: S1}]\n  when:\n"
        "    - {fact: metric, as: m, where: {name: late_events}}\n" + patterns +
        "  then: {fact: next_step, step: wide}\n", encoding="utf-8")
    kb = partways.load_kb(MINI, overlays=[tmp_path])
    with pytest.raises(KBError) as err:
        partways.program_for(kb)
    message = str(err.value)
    assert "wide.yaml:" in message and "any.wide" in message and "128 combinations" in message
    assert "\n" not in message


@pytest.mark.skipif(durable_problem() is not None, reason="durable_rules missing")
def test_durable_itself_still_mis_evaluates_such_an_or() -> None:
    """The trap the expansion works around, measured on durable_rules directly: an "$or"
    of a constant test and a comparison with another alias's field drops the facts that
    only the constant test matches (if this starts passing, durable_rules was fixed)."""
    from partways._durable import DurableProgram

    s = {"s": {"fact": "s"}}
    either = {"e": {"$and": [{"fact": "event"}, {"$or": [
        {"type": "y"}, {"$lte": {"date_age": {"s": "first_age"}}}]}]}}
    program = DurableProgram({"r": [s, either]})
    fired: list[str] = []

    def action(matched: Any) -> list[Any]:
        fired.append(matched["e"]["id"])
        return []

    facts = [{"fact": "s", "id": "s1", "first_age": 10},
             {"fact": "event", "id": "e1", "date_age": 5, "type": "x"},
             {"fact": "event", "id": "e2", "date_age": 50, "type": "y"}]
    program.run(facts, [], {"r": action}, batch=False)
    assert fired == ["e1"]  # e2 (type y) is missing: the reason for the expansion
