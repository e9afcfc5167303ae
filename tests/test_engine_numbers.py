"""Numbers reach the rule engine in a form it reads: no exponent notation, no overflow."""

from __future__ import annotations

import json

import pytest

import partways
from partways.expr import normalize_number
from partways.reference import assess_reference


def test_a_tiny_ratio_still_fires_on_durable(kb: partways.KnowledgeBase) -> None:
    # revenue/hours/target = 1e-05: Python writes it 1e-05, which durable_rules cannot read
    data = {"client": "X", "as_of": "2026-11-01",
            "money": {"revenue": 1, "hours": 1059, "target_rate": 90}}
    a = partways.assess_data(data, kb)
    assert [s.id for s in a.signals] == ["losing_money"]
    assert a.decision == "remediate"
    b = assess_reference(partways.case_from_data(data, kb), kb)
    assert {f.rule for f in a.trace.firings} == {f.rule for f in b.trace.firings}
    assert "e-0" not in a.to_json()


@pytest.mark.parametrize(("raw", "expected"), [
    (1e-05, 0.0), (0.00012345678, 0.000123), (0.5, 0.5), (3, 3), (2e20, 1e15), (-2e20, -1e15),
    (True, True), ("text", "text"),
])
def test_normalize_number(raw: object, expected: object) -> None:
    assert normalize_number(raw) == expected
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        assert "e" not in json.dumps(normalize_number(raw)).lower()


def test_absurd_money_is_refused(kb: partways.KnowledgeBase) -> None:
    with pytest.raises(partways.CaseError, match="must be <= 1000000000000"):
        partways.assess_data({"client": "X", "money": {"revenue": 1e13}}, kb)
