"""``partways kb coverage``: which rules a corpus exercises, and why the others stay silent."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import partways
from partways.cli.main import main

from _paths import EXAMPLES, FIXTURES

MINI = FIXTURES / "kb_mini"
LATE = {"client": "B", "as_of": "2026-06-01", "contract": {"notice_days": 10},
        "events": [{"date": "2026-01-01", "type": "late"}, {"date": "2026-02-01", "type": "late"}]}
QUIET = {"client": "A", "as_of": "2026-06-01"}


def test_fired_and_never_fired_with_reasons() -> None:
    kb = partways.load_kb(MINI)
    cov = partways.rule_coverage([partways.assess_data(d, kb) for d in (QUIET, LATE)], kb)
    by = {r.rule: r for r in cov.rules}
    assert {r.rule for r in cov.fired} == {"dec.decide", "dec.watch", "sig.late",
                                           "step.contract", "step.fix"}
    assert by["sig.late"].cases == 1 and by["sig.late"].firings == 1
    assert [(x.text, x.cases) for x in by["sig.rude"].reasons] == [
        ("pattern 1: 'metric' rude_events: value needs >= 1", 2)]
    assert [x.text for x in by["dec.stop"].reasons] == [
        "pattern 1: 'signal' late: severity needs = 'critical'",
        "pattern 1: no 'signal' fact"]
    assert cov.decisions == {"keep": 1, "watch": 1}
    assert round(cov.ratio, 2) == 0.56


def test_a_rule_lint_proves_impossible_is_marked(tmp_path: Path) -> None:
    rules = tmp_path / "o" / "rules"
    rules.mkdir(parents=True)
    texts = "{en: T, ar: ت, fa: ت}"
    (rules / "x.yaml").write_text(
        f"id: sig.never\ntitle: {texts}\ndescription: {texts}\nguidance: [MINI-01]\n"
        "sources: [{id: S1}]\nwhen: [{fact: signal, as: s, where: {name: polite}}]\n"
        "then: {fact: next_step, step: talk}\n", encoding="utf-8")
    kb = partways.load_kb(MINI, overlays=[tmp_path / "o"])
    cov = partways.rule_coverage([partways.assess_data(LATE, kb)], kb)
    never = {r.rule: r for r in cov.never}["sig.never"]
    assert never.impossible is not None and "never name = 'polite'" in never.impossible


def test_cli_coverage_over_the_examples_directory() -> None:
    result = CliRunner().invoke(main, ["kb", "coverage", str(EXAMPLES), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    cases = [p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json")]
    assert len(data["cases"]) == len(cases)  # the overlay's files are not cases
    assert data["fired"] + data["never"] == data["rules"] > 0
    assert all("reasons" in r for r in data["by_rule"] if r["firings"] == 0)


def test_cli_coverage_text_and_errors() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["kb", "coverage", str(EXAMPLES / "nour-bakery-steady.yaml")])
    assert ok.exit_code == 0 and ok.output.startswith("Rule coverage over 1 case(s): ")
    assert "Never fired:" in ok.output
    bad = runner.invoke(main, ["kb", "coverage", str(EXAMPLES / "overlay-strict-payments" /
                                                      "parameters.yaml")])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert runner.invoke(main, ["kb", "coverage"]).exit_code == 2
