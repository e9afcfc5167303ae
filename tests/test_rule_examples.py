"""Every rule has positive and negative examples that state what it concludes.

Files: tests/rule_examples/**/<rule id>.yaml::

    rule: sig.late_payment
    examples:
      - name: two late payments in the window
        expect: fires                     # or: silent
        conclusion: {name: late_payment}  # optional: fields the conclusion must have
        overlay: overlay_unfitted         # optional: run on the shipped KB plus this
                                          # overlay (a directory under tests/fixtures)
        case: {client: X, as_of: 2026-11-01, events: [...]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import partways

from _paths import RULE_EXAMPLES, example_kb


def _load() -> tuple[list[tuple[str, Path, dict[str, Any]]], dict[str, str]]:
    out = []
    always: dict[str, str] = {}
    for path in sorted(RULE_EXAMPLES.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc.get("always_fires"):
            always[doc["rule"]] = doc["always_fires"]
        for ex in doc["examples"]:
            out.append((doc["rule"], path, ex))
    return out, always


EXAMPLES, ALWAYS_FIRES = _load()


@pytest.mark.parametrize(
    ("rule_id", "path", "example"), EXAMPLES,
    ids=[f"{r}:{e['expect']}:{e['name']}" for r, _, e in EXAMPLES])
def test_rule_example(kb: partways.KnowledgeBase, rule_id: str, path: Path,
                      example: dict[str, Any]) -> None:
    kb = example_kb(example, kb)
    kb.rule(rule_id)  # the rule exists
    a = partways.assess_data(example["case"], kb)
    fired = [f for f in a.trace.firings if f.rule == rule_id]
    if example["expect"] == "fires":
        assert fired, f"{path.name}: '{example['name']}' expected {rule_id} to fire"
        wanted = example.get("conclusion") or {}
        conclusions = [a.trace.facts[f.conclusion] for f in fired]
        assert any(all(c.get(k) == v for k, v in wanted.items()) for c in conclusions), (
            f"{path.name}: no conclusion of {rule_id} has {wanted}: {conclusions}")
    else:
        assert example["expect"] == "silent", f"{path.name}: expect is 'fires' or 'silent'"
        assert not fired, f"{path.name}: '{example['name']}' expected {rule_id} not to fire"
    if "decision" in example:
        assert a.decision == example["decision"]


def test_every_rule_has_positive_and_negative_examples(kb: partways.KnowledgeBase) -> None:
    kinds: dict[str, set[str]] = {r.id: set() for r in kb.rules}
    for rule_id, path, ex in EXAMPLES:
        assert rule_id in kinds, f"{path.name} names unknown rule {rule_id}"
        kinds[rule_id].add(ex["expect"])
    # A rule that fires on every case by design (the decision selector) says so, with the
    # reason, instead of a negative example; the reason is checked below.
    missing = sorted(r for r, k in kinds.items()
                     if k != {"fires", "silent"} and not (r in ALWAYS_FIRES and "fires" in k))
    assert not missing, f"rules without both a positive and a negative example: {missing}"


def test_always_firing_rules_do_fire_on_every_example(kb: partways.KnowledgeBase) -> None:
    for rule_id, reason in ALWAYS_FIRES.items():
        assert len(reason) > 20, f"{rule_id}: say why it always fires"
        cases = [ex["case"] for _, _, ex in EXAMPLES if not ex.get("overlay")][:40]
        for case in cases:
            a = partways.assess_data(case, kb)
            assert any(f.rule == rule_id for f in a.trace.firings), (rule_id, case)
