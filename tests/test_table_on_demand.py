"""Static table rows that only join another fact's field go into a durable session on
demand, after the first fact they can join; the result is the same (the differential
tests in test_reference.py and tools/differential.py prove the outputs identical)."""

from __future__ import annotations

import pytest

import partways
from partways import inference
from partways.facts import build_facts, table_facts
from partways.inference import _admitted, _Demand, on_demand, run_durable
from partways.reference import run_reference

from _paths import EXAMPLES


def test_only_tables_joined_positively_on_another_facts_field_wait(
        kb: partways.KnowledgeBase) -> None:
    joins = on_demand(kb)
    # fit joins signal.name and active.name; repair_condition is negated by a rule, so it
    # goes into every session as before
    assert joins == {"fit": (("signal", "name", "signal"), ("active", "name", "signal"))}


def test_a_joining_fact_releases_its_rows_once(kb: partways.KnowledgeBase) -> None:
    program = partways.program_for(kb)
    fb = build_facts(kb, partways.load_case(EXAMPLES / "acme-late-payer.yaml", kb))
    asserted, held = _admitted(program, fb)
    assert {f["fact"] for f in held} == {"fit"}
    assert not any(f["fact"] == "fit" for f in asserted)
    demand = _Demand(program, held)
    rows = demand.release({"fact": "signal", "id": "signal:late_payment",
                           "name": "late_payment"})
    expected = [r for r in table_facts(kb) if r["fact"] == "fit"
                and r["signal"] == "late_payment"]
    assert rows == expected and rows
    assert demand.release({"fact": "active", "id": "active:late_payment",
                           "name": "late_payment"}) == []
    assert demand.release({"fact": "signal", "id": "signal:x", "name": "no_such"}) == []
    assert demand.release({"fact": "remediation", "id": "r", "step": "cool_off"}) == []


@pytest.mark.skipif(inference.durable_problem() is not None, reason="durable not installed")
def test_sessions_get_fewer_facts_and_the_same_trace(kb: partways.KnowledgeBase,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    program = partways.program_for(kb)
    fb = build_facts(kb, partways.load_case(EXAMPLES / "acme-late-payer.yaml", kb))
    released: list[dict[str, object]] = []
    release = _Demand.release

    def counting(self: _Demand, fact: dict[str, object]) -> list[dict[str, object]]:
        out = release(self, fact)
        released.extend(out)
        return out

    monkeypatch.setattr(_Demand, "release", counting)
    trace = run_durable(program, fb)
    fit_rows = [r for r in table_facts(kb) if r["fact"] == "fit"]
    assert 0 < len(released) < len(fit_rows)
    assert {r["signal"] for r in released} <= {f["name"] for f in trace.facts.values()
                                               if f["fact"] in ("signal", "active")}
    ref = run_reference(program, fb)
    assert {(f.rule, f.premises, f.conclusion) for f in trace.firings} == \
        {(f.rule, f.premises, f.conclusion) for f in ref.firings}
    assert trace.facts == ref.facts
