"""End-to-end runs of every shipped example: decision, signals, JSON contract, stability."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import partways
from partways.cli.main import main

from _paths import EXAMPLES, TESTS

EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (TESTS / "examples_expected.yaml").read_text(encoding="utf-8"))["examples"]
CASES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json")
               and p.parent == EXAMPLES)
DECISIONS = ("keep", "monitor", "remediate", "terminate", "terminate_now")


def test_every_example_has_an_expectation() -> None:
    assert sorted(p.name for p in CASES) == sorted(EXPECTED)
    assert len(CASES) >= 10


def test_examples_cover_every_decision() -> None:
    assert {e["decision"] for e in EXPECTED.values()} == set(DECISIONS)


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_example_decision_and_signals(kb: partways.KnowledgeBase, path: Path) -> None:
    a = partways.assess(path, kb)
    want = EXPECTED[path.name]
    assert a.decision == want["decision"]
    strong = sorted(s.id for s in a.signals if s.severity in ("serious", "critical"))
    assert strong == sorted(want.get("signals", []))


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_example_json_contract(kb: partways.KnowledgeBase, path: Path) -> None:
    a = partways.assess(path, kb)
    data = json.loads(a.to_json())
    for key in ("client", "as_of", "decision", "signals", "next_steps", "plan", "graph"):
        assert key in data
    assert data["decision"] in DECISIONS
    known = set(kb.guidance)
    for item in [*data["signals"], *data["next_steps"],
                 *((data["plan"] or {}).get("steps", []))]:
        assert item["guidance"], item
        assert set(item["guidance"]) <= known, item
    if data["decision"] in ("terminate", "terminate_now"):
        plan = data["plan"]
        assert plan is not None
        assert plan["notify_on"] >= data["as_of"]
        assert plan["end_on"] >= plan["notify_on"]
        assert [s["date"] for s in plan["steps"]] == sorted(s["date"] for s in plan["steps"])
    else:
        assert data["plan"] is None
    assert set(data["graph"]) >= {"nodes", "links", "directed"}
    ids = {n["id"] for n in data["graph"]["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in data["graph"]["links"])
    for signal in data["signals"]:
        assert set(signal["evidence"]) <= ids


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_two_runs_are_byte_identical(path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["assess", str(path), "--format", "json"])
    second = runner.invoke(main, ["assess", str(path), "--format", "json"])
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    text1 = runner.invoke(main, ["assess", str(path), "--lang", "fa"]).output
    text2 = runner.invoke(main, ["assess", str(path), "--lang", "fa"]).output
    assert text1 == text2


def test_decision_graph_layers(kb: partways.KnowledgeBase) -> None:
    layers: set[str] = set()
    for path in CASES:
        g = partways.assess(path, kb).graph
        layers |= {d["layer"] for _, d in g.nodes(data=True)}
        for u, v, d in g.edges(data=True):
            assert d["rule"] == "metric" or d["rule"] in {r.id for r in kb.rules}
            assert u != v
    assert {"evidence", "metric", "signal", "remediation", "decision", "step", "plan"} <= layers
