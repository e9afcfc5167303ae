"""Each class of bad case input gives one clear line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main

GOOD = """\
client: Acme Ltd
as_of: 2026-11-01
relationship:
  since: 2025-02-01
  recurring: true
events:
  - {date: 2026-03-10, type: late_payment, days_late: 25}
"""

# (name, text, expected message fragment, expected line)
BAD = [
    ("malformed YAML", "client: [Acme\nas_of: 2026-11-01\n", "malformed YAML/JSON", 2),
    ("duplicate key", "client: A\nas_of: 2026-11-01\nclient: B\n", "duplicate key 'client' (first at line 1)", 3),
    ("unknown top-level key", "client: A\nas_off: 2026-11-01\n", "unknown key 'as_off'; did you mean 'as_of'?", 2),
    ("unknown event type", GOOD.replace("type: late_payment, days_late: 25", "type: late_pay"),
     "'late_pay' is not one of", 7),
    ("unknown event type suggestion", GOOD.replace("type: late_payment, days_late: 25", "type: late_pay"),
     "did you mean 'late_payment'?", 7),
    ("unknown event field", GOOD.replace("days_late: 25", "days_late: 25, days: 3"),
     "unknown key 'days'", 7),
    ("field of another event type", GOOD.replace("days_late: 25", "days_late: 25, hours: 3"),
     "unknown key 'hours'", 7),
    ("missing required field", GOOD.replace(", days_late: 25", ""), "needs a 'days_late'", 7),
    ("missing client", "as_of: 2026-11-01\n", "the document needs a 'client'", 1),
    ("wrong type", GOOD.replace("recurring: true", "recurring: often"), "must be true or false", 5),
    ("impossible date", GOOD.replace("as_of: 2026-11-01", "as_of: 2026-02-30"),
     "'2026-02-30' is not a valid date", 2),
    ("not a date", GOOD.replace("since: 2025-02-01", "since: last spring"),
     "'last spring' is not a valid date", 4),
    ("negative money", GOOD + "money: {revenue: -5}\n", "must be >= 0, got -5", 8),
    ("bad enum", GOOD + "wellbeing: awful\n", "'awful' is not one of low, medium, high", 8),
    ("event after as_of", GOOD.replace("date: 2026-03-10", "date: 2026-12-10"),
     "date 2026-12-10 is after as_of 2026-11-01", 7),
    ("unknown policy", GOOD + "policy:\n  late_payment_for_signal: 3\n",
     "unknown policy parameter 'late_payment_for_signal'; did you mean 'late_payments_for_signal'?", 9),
    ("policy not a number", GOOD + "policy:\n  late_payments_for_signal: many\n", "must be a number", 9),
    ("remediation without outcome", GOOD + "remediation:\n  - {date: 2026-06-01, step: frank_conversation}\n",
     "needs a 'outcome'", 9),
    ("not a mapping", "- just\n- a list\n", "a case file must be a mapping", 1),
    ("empty", "", "the document is empty", 1),
    ("python tag refused", "client: !!python/object:os.system x\n", "unsupported YAML", 1),
]


@pytest.mark.parametrize(("name", "text", "fragment", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_case_raises_located_error(kb: partways.KnowledgeBase, tmp_path: Path, name: str,
                                       text: str, fragment: str, line: int) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(partways.CaseError) as info:
        partways.load_case(path, kb)
    message = str(info.value)
    assert fragment in message
    assert info.value.source is not None
    assert info.value.source.line == line, message
    assert message.startswith(f"{path}:{line}:")
    assert "\n" not in message


@pytest.mark.parametrize(("name", "text", "fragment", "line"), BAD, ids=[b[0] for b in BAD])
def test_cli_reports_bad_case_in_one_line(tmp_path: Path, name: str, text: str, fragment: str,
                                          line: int) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["assess", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert fragment in result.output
    assert f"{path}:{line}:" in result.output
    assert result.output.count("\n") == 1


def test_good_case_loads(kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(GOOD, encoding="utf-8")
    case = partways.load_case(path, kb)
    assert case.name == "Acme Ltd"
    assert case.as_of.isoformat() == "2026-11-01"


def test_json_case_with_tabs_and_lines(kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{\n\t"client": "A",\n\t"as_of": "2026-11-01",\n\t"wellbeing": "bad"\n}\n',
                    encoding="utf-8")
    with pytest.raises(partways.CaseError) as info:
        partways.load_case(path, kb)
    assert info.value.source is not None and info.value.source.line == 4


def test_oversized_input_refused(kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("client: A\nevents:\n" + "  - {date: 2026-01-01, type: pessimism}\n" * 60000,
                    encoding="utf-8")
    with pytest.raises(partways.CaseError, match="limit"):
        partways.load_case(path, kb)


def test_too_many_events_refused(kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("client: A\nas_of: 2026-11-01\nevents:\n"
                    + "  - {date: 2026-01-01, type: pessimism}\n" * 10001, encoding="utf-8")
    with pytest.raises(partways.CaseError, match="too many items: at most 10000"):
        partways.load_case(path, kb)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["assess", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "case file not found" in result.output


def test_duplicate_event_ids(kb: partways.KnowledgeBase) -> None:
    text = GOOD + "  - {id: x, date: 2026-03-11, type: pessimism}\n  - {id: x, date: 2026-03-12, type: pessimism}\n"
    with pytest.raises(partways.CaseError, match="duplicate id 'x'"):
        partways.assess_text(text, kb)


def test_usage_error_exits_2() -> None:
    result = CliRunner().invoke(main, ["assess"])
    assert result.exit_code == 2


def test_unknown_key_is_reported_before_the_required_key_it_replaced(
        kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("client: A\nas_of: 2026-11-01\nevents:\n"
                    "  - {date: 2026-03-11, type: late_payment, days: 3}\n", encoding="utf-8")
    with pytest.raises(partways.CaseError) as info:
        partways.load_case(path, kb)
    assert str(info.value) == (f"{path}:4: events[0].days: unknown key 'days'; "
                               "did you mean 'days_late'?")
