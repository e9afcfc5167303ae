"""User overlays: the documented example changes the outcome as its README says, is
linted like the shipped KB, and every command takes --kb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import partways
from partways.cli.main import main

from _paths import EXAMPLES

OVERLAY = EXAMPLES / "overlay-strict-payments"
DARYA = EXAMPLES / "darya-travel-minor-signs.yaml"


@pytest.fixture(scope="module")
def strict() -> partways.KnowledgeBase:
    return partways.load_kb(overlays=[OVERLAY])


def test_the_overlay_changes_the_outcome_as_documented(kb: partways.KnowledgeBase,
                                                       strict: partways.KnowledgeBase) -> None:
    before = partways.assess(DARYA, kb)
    after = partways.assess(DARYA, strict)
    assert before.decision == "monitor"
    assert after.decision == "remediate"
    assert "late_payment" in {s.id for s in after.signals if s.severity == "serious"}
    steps = [s.id for s in after.next_steps]
    assert steps.index("require_deposit") < steps.index("frank_conversation"), steps
    assert "require_deposit" not in {s.id for s in before.next_steps}


def test_the_overlay_overrides_and_adds(kb: partways.KnowledgeBase,
                                        strict: partways.KnowledgeBase) -> None:
    assert kb.parameters["late_payments_for_signal"].default == 2
    assert strict.parameters["late_payments_for_signal"].default == 1
    origin = strict.rule("firm.next.deposit").origin
    assert origin is not None and str(origin.path).startswith(str(OVERLAY))
    concept = strict.concept("step", "require_deposit")
    assert concept is not None and set(concept.title) == {"en", "ar", "fa"}
    assert len(strict.rules) == len(kb.rules) + 1


def test_the_overlay_lints_clean() -> None:
    report = partways.lint_kb(overlays=[OVERLAY])
    overlay_problems = [p for p in report.problems
                        if p.source and p.source.path and p.source.path.startswith(str(OVERLAY))]
    assert overlay_problems == []
    assert report.errors == (), "\n".join(map(str, report.errors))  # the rest: test_lint


def _examples() -> list[dict[str, Any]]:
    doc = yaml.safe_load((OVERLAY / "rule_examples" / "firm.next.deposit.yaml").read_text("utf-8"))
    return list(doc["examples"])


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e["name"])
def test_the_overlay_rule_examples(strict: partways.KnowledgeBase, example: dict[str, Any]) -> None:
    a = partways.assess_data(example["case"], strict)
    fired = [f for f in a.trace.firings if f.rule == "firm.next.deposit"]
    assert bool(fired) == (example["expect"] == "fires")
    for key, value in (example.get("conclusion") or {}).items():
        assert any(a.trace.facts[f.conclusion].get(key) == value for f in fired)


def test_assess_cli_takes_the_overlay() -> None:
    runner = CliRunner()
    plain = runner.invoke(main, ["assess", str(DARYA), "--format", "json"])
    strict = runner.invoke(main, ["assess", str(DARYA), "--format", "json", "--kb", str(OVERLAY)])
    assert plain.exit_code == 0 and strict.exit_code == 0, plain.output + strict.output
    assert '"decision": "monitor"' in plain.output
    assert '"decision": "remediate"' in strict.output


def test_a_broken_overlay_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "parameters.yaml").write_text("parameters:\n  late_payments_for_signal: {default: one}\n",
                                              encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(DARYA), "--kb", str(tmp_path)])
    assert result.exit_code == 1
    assert "parameters.yaml:2" in result.output and "Traceback" not in result.output


def test_every_command_takes_kb() -> None:
    """Every command that reads the KB has the shared --kb overlay option."""
    missing = []

    def walk(cmd: Any, path: str) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, f"{path} {name}")
        elif not any("--kb" in p.opts for p in cmd.params):
            missing.append(path.strip())

    walk(main, "")
    assert missing == []
