"""Every rule has positive and negative examples that state what it concludes.

Files: tests/rule_examples/**/<rule id>.yaml::

    rule: sig.late_payment
    examples:
      - name: two late payments in the window
        expect: fires                     # or: silent
        conclusion: {name: late_payment}  # optional: fields the conclusion must have
        case: {client: X, as_of: 2026-11-01, events: [...]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import partways

from _paths import RULE_EXAMPLES


def _load() -> list[tuple[str, Path, dict[str, Any]]]:
    out = []
    for path in sorted(RULE_EXAMPLES.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for ex in doc["examples"]:
            out.append((doc["rule"], path, ex))
    return out


EXAMPLES = _load()


@pytest.mark.parametrize(
    ("rule_id", "path", "example"), EXAMPLES,
    ids=[f"{r}:{e['expect']}:{e['name']}" for r, _, e in EXAMPLES])
def test_rule_example(kb: partways.KnowledgeBase, rule_id: str, path: Path,
                      example: dict[str, Any]) -> None:
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
    missing = sorted(r for r, k in kinds.items() if k != {"fires", "silent"})
    assert not missing, f"rules without both a positive and a negative example: {missing}"
