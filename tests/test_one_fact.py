"""One fact per pattern: within a firing a fact binds at most one positive pattern of the
rule, and a negated pattern ignores the facts its positive patterns bound.

That is durable_rules' semantics (the engine of the design); the compiled Python backend
and the reference evaluator follow it, so an overlay rule without a guard such as
``type: {neq: "@e1.type"}`` gets the same answers on every backend. Rules:
tests/fixtures/overlay_one_fact on tests/fixtures/kb_mini.
"""

from __future__ import annotations

from typing import Any

import pytest

import partways
from partways.facts import build_facts
from partways.inference import Trace, run
from partways.reference import run_reference

from _engines import ENGINES
from _paths import FIXTURES

MINI = FIXTURES / "kb_mini"
OVERLAY = FIXTURES / "overlay_one_fact"

# as_of 2026-06-01; event:<n> is the n-th event of the list
CASES = {
    "one late payment": [("2026-01-01", "late")],
    "two late payments, then a rude event": [
        ("2026-01-01", "late"), ("2026-03-01", "late"), ("2026-04-01", "rude")],
    "a rude event as old as the late payment, another later": [
        ("2026-01-01", "rude"), ("2026-01-01", "late"), ("2026-02-01", "rude")],
}
# what the rules conclude: rule -> the facts of its positive patterns, firing by firing
EXPECTED: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "one late payment": {
        # one.pair, one.as_old: the late payment alone cannot take both patterns
        "one.oldest": [("event:1",)],  # not blocked by itself
    },
    "two late payments, then a rude event": {
        "one.pair": [("event:1", "event:2"), ("event:2", "event:1")],
        "one.as_old": [("event:2", "event:1")],
        "one.oldest": [("event:1",)],
        "one.only_rude": [("event:3",)],  # the negated pattern before it ignores it too
    },
    "a rude event as old as the late payment, another later": {
        # one.oldest: the rude event as old blocks it; one.only_rude: two rude events
        "one.as_old": [("event:2", "event:1")],
    },
}


@pytest.fixture(scope="module")
def kb() -> partways.KnowledgeBase:
    return partways.load_kb(MINI, overlays=[OVERLAY])


def _firings(trace: Trace) -> list[tuple[Any, ...]]:
    return sorted((f.rule, f.premises, f.conclusion, f.stratum) for f in trace.firings)


@pytest.mark.parametrize("name", CASES)
def test_a_fact_takes_one_pattern_on_every_backend(kb: partways.KnowledgeBase,
                                                   name: str) -> None:
    case = partways.case_from_data({"client": "X", "as_of": "2026-06-01", "events": [
        {"date": d, "type": t} for d, t in CASES[name]]}, kb)
    fb = build_facts(kb, case)
    program = partways.program_for(kb)
    reference = run_reference(program, fb)
    fired: dict[str, list[tuple[str, ...]]] = {}
    for f in sorted(reference.firings):
        if f.rule.startswith("one."):
            fired.setdefault(f.rule, []).append(tuple(i for _, i in f.premises))
    assert fired == EXPECTED[name]
    for engine in ENGINES:
        assert _firings(run(program, fb, engine)) == _firings(reference), engine


@pytest.mark.parametrize("name", CASES)
def test_the_interpreted_join_agrees(kb: partways.KnowledgeBase, name: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled backend's interpreted matcher (``_Run.join``, for a rule its code
    generator leaves out) keeps one fact per pattern as the generated code does."""
    from partways import compiled

    case = partways.case_from_data({"client": "X", "as_of": "2026-06-01", "events": [
        {"date": d, "type": t} for d, t in CASES[name]]}, kb)
    fb = build_facts(kb, case)
    program = partways.program_for(kb)
    monkeypatch.setattr(compiled, "_generate", lambda *args: None)  # no generated matchers
    rules = compiled.CompiledRules(kb, program.strata, fb.params)
    assert all(r.matchers is None for r in rules.rules)
    trace = Trace(facts=dict(fb.facts), firings=[], params=dict(fb.params),
                  support=dict(fb.support))
    rules.run(fb, trace)
    assert _firings(trace) == _firings(run_reference(program, fb))
