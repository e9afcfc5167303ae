"""The CLI through click's CliRunner: exit codes, formats, languages, stdin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from partways.cli.main import main

from _paths import EXAMPLES

TERMINATE = """\
client: Foo
as_of: 2026-11-01
relationship: {since: 2025-01-01, recurring: true}
events:
  - {date: 2026-09-02, type: verbal_abuse, note: "insulted me in front of my team"}
"""


def _first_example() -> Path:
    return sorted(EXAMPLES.glob("*.yaml"))[0]


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "assess" in result.output


def test_assess_text(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TERMINATE, encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(path)])
    assert result.exit_code == 0, result.output
    assert "TERMINATE_NOW" in result.output
    assert "Verbal abuse" in result.output and "verbal_abuse" not in result.output
    assert "2 September 2026" in result.output
    assert "insulted me in front of my team" in result.output
    assert "DEC-02" in result.output
    assert "3 November 2026" in result.output  # notify_on = as_of + urgent_notify_days


def test_assess_json_matches_contract(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TERMINATE, encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"] == "terminate_now"
    assert data["plan"]["notify_on"] == "2026-11-03"
    # no contract and an urgent end: a week after telling, not a month (exit.end.urgent_no_contract)
    assert data["plan"]["end_on"] == "2026-11-10"
    assert [s["id"] for s in data["signals"]] == ["verbal_abuse"]
    step_ids = {s["id"] for s in data["plan"]["steps"]}
    assert "no_referral" in step_ids and "refer_alternative" not in step_ids


def test_assess_stdin_json() -> None:
    data = {"client": "Bar", "as_of": "2026-11-01",
            "events": [{"date": "2026-10-01", "type": "illegal_request"}]}
    result = CliRunner().invoke(main, ["assess", "-", "--format", "json"],
                                input=json.dumps(data))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["decision"] == "terminate_now"


def test_assess_stdin_error_names_stdin() -> None:
    result = CliRunner().invoke(main, ["assess", "-"], input="client: A\nfoo: 1\n")
    assert result.exit_code == 1
    assert "<stdin>:2" in result.output


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_assess_in_rtl_languages(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TERMINATE, encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(path), "--lang", lang])
    assert result.exit_code == 0, result.output
    english = CliRunner().invoke(main, ["assess", str(path)]).output
    assert result.output != english
    letters = [ch for ch in result.output if "\u0600" <= ch <= "\u06ff"]
    assert len(letters) > 100
    if lang == "fa":
        assert "ی" in result.output  # Persian yeh, not Arabic


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    result = CliRunner().invoke(main, ["assess", str(_first_example()), "--format", "json",
                                       "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["client"]


def test_bad_lang_is_usage_error() -> None:
    result = CliRunner().invoke(main, ["assess", str(_first_example()), "--lang", "de"])
    assert result.exit_code == 2
