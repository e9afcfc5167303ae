"""The durable_rules adapter's batch path: a batch durable refuses (a fact no condition
takes) reports it, leaves no session behind, and the same run fact by fact fires."""

from __future__ import annotations

from typing import Any

import pytest

from partways.inference import durable_problem

pytestmark = pytest.mark.skipif(durable_problem() is not None, reason="durable_rules missing")


def test_a_refused_batch_is_reported_and_the_run_fact_by_fact_fires() -> None:
    from partways._durable import DurableProgram

    program = DurableProgram({"r": [{"a": {"$and": [{"fact": "x"}, {"v": 1}]}}]})
    fired: list[tuple[str, Any]] = []

    def action(rule: str, matched: Any) -> list[Any]:
        fired.append((rule, matched["a"]["id"]))
        return []

    actions = {"r": action}
    facts = [{"fact": "x", "id": "x:1", "v": 1}, {"fact": "y", "id": "y:1"}]
    assert program.run(facts, [], actions, ("r",)) is False
    assert fired == []
    assert program.run(facts, [], actions, ("r",), batch=False) is True
    assert fired == [("r", "x:1")]
    fired.clear()
    assert program.run(facts[:1], [], actions, ("r",)) is True  # a fresh session each run
    assert fired == [("r", "x:1")]
