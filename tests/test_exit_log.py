"""`partways log`: append events and remediation steps to a case file, validated first,
keeping comments, order and layout, written atomically; refused entries change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.journal import parse_pairs

CASE = """\
# Acme: kept by hand; the comments must survive
client: Acme Ltd                # display name
as_of: 2026-11-01

relationship:
  since: 2025-02-01             # when work began
  recurring: true
events:                         # dated evidence, any order
  - {date: 2026-03-10, type: late_payment, days_late: 25, amount: 1500}
  - {date: 2026-09-02, type: verbal_abuse, note: "insulted me in front of my team"}   # the worst
remediation:
  - {date: 2026-06-01, step: frank_conversation, outcome: failed}
wellbeing: high   # trailing comment
"""


@pytest.fixture()
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(CASE, encoding="utf-8")
    return path


def _log(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["log", str(path), *args])
    return result.exit_code, result.output


def _only_added(old: str, new: str) -> list[str]:
    """The lines of ``new`` not in ``old``, asserting every old line is kept, in order."""
    new_lines = new.splitlines()
    it = iter(enumerate(new_lines))
    kept = set()
    for line in old.splitlines():
        for i, candidate in it:
            if candidate == line:
                kept.add(i)
                break
        else:
            raise AssertionError(f"line lost or changed: {line!r}")
    return [ln for i, ln in enumerate(new_lines) if i not in kept]


def test_log_appends_and_keeps_comments_order_and_layout(case_file: Path) -> None:
    code, out = _log(case_file, "--event", "type=slow_response,date=2026-10-20,hours=72",
                     "--remediation", "step=new_channel,date=2026-10-21,outcome=pending")
    assert code == 0, out
    assert "logged 2 entries" in out
    new = case_file.read_text(encoding="utf-8")
    added = _only_added(CASE, new)
    assert added == ["  - {date: 2026-10-20, type: slow_response, hours: 72}",
                     "  - {date: 2026-10-21, step: new_channel, outcome: pending}"]
    # each went to the end of its own list
    lines = new.splitlines()
    assert lines.index(added[0]) == lines.index(
        '  - {date: 2026-09-02, type: verbal_abuse, note: "insulted me in front of my team"}'
        "   # the worst") + 1
    case = partways.load_case(case_file, partways.load_kb())
    assert case.data["events"][-1] == {"date": "2026-10-20", "type": "slow_response",
                                       "hours": 72}
    assert case.data["remediation"][-1]["outcome"] == "pending"


def test_log_types_values_by_the_case_schema(case_file: Path) -> None:
    code, out = _log(case_file, "--event",
                     'date=2026-10-01,type=late_payment,days_late=12,amount=99.5,'
                     'note="paid 12 days after, again"',
                     "--event", "type=impossible_demand,date=2026-10-02,pressure=yes",
                     "--event", "type=pessimism,date=2026-10-03,note=yes")
    assert code == 0, out
    events = partways.load_case(case_file, partways.load_kb()).data["events"]
    assert events[-3] == {"date": "2026-10-01", "type": "late_payment", "days_late": 12,
                          "amount": 99.5, "note": "paid 12 days after, again"}
    assert events[-2]["pressure"] is True
    assert events[-1]["note"] == "yes"  # a note stays text: quoted in the file
    assert 'note: "yes"' in case_file.read_text(encoding="utf-8")


def test_log_reassesses_to_a_changed_decision(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("client: Foo\nas_of: 2026-11-01\n", encoding="utf-8")
    assert partways.assess(path).decision == "keep"
    code, out = _log(path, "--event", "type=verbal_abuse,date=2026-10-30")
    assert code == 0, out
    assert partways.assess(path).decision == "terminate_now"
    assert path.read_text(encoding="utf-8").endswith(
        "events:\n  - {date: 2026-10-30, type: verbal_abuse}\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--event", "type=late_payment,date=2026-10-01"], "needs a 'days_late'"),
    (["--event", "type=late_pay,date=2026-10-01"], "did you mean 'late_payment'"),
    (["--event", "type=slow_response,date=2026-10-01,hours=many"], "hours: must be an integer"),
    (["--event", "type=pessimism,date=2026-10-01,mood=grim"], "unknown key 'mood'"),
    (["--event", "type=late_payment,date=2026-10-01,days_lat=3"], "did you mean 'days_late'"),
    (["--event", "type=pessimism,date=2026-13-01"], "not a valid date"),
    (["--event", "type=pessimism,date=2026-12-01"], "after as_of 2026-11-01"),
    (["--event", "type=pessimism,date"], "expected key=value"),
    (["--event", "type=pessimism,type=reversal,date=2026-10-01"], "given twice"),
    (["--remediation", "step=frank_talk,date=2026-10-01,outcome=failed"],
     "'frank_talk' is not one of"),
    (["--remediation", "step=frank_conversation,date=2026-10-01,outcome=meh"], "outcome"),
    # one bad entry refuses the good ones with it
    (["--event", "type=pessimism,date=2026-10-01", "--event", "type=nope,date=2026-10-01"],
     "'nope' is not one of"),
])
def test_invalid_entries_leave_the_file_byte_for_byte(case_file: Path, args: list[str],
                                                      message: str) -> None:
    before = case_file.read_bytes()
    code, out = _log(case_file, *args)
    assert code == 1, out
    assert message in out and ("--event" in out or "--remediation" in out)
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1
    assert case_file.read_bytes() == before
    assert sorted(p.name for p in case_file.parent.iterdir()) == ["acme.yaml"]  # no temp file


def test_log_needs_an_entry_and_an_existing_file(tmp_path: Path, case_file: Path) -> None:
    assert _log(case_file)[0] == 2
    code, out = _log(tmp_path / "missing.yaml", "--event", "type=pessimism,date=2026-10-01")
    assert code == 1 and "not found" in out


def test_log_refuses_an_already_invalid_file_with_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("client: Foo\nas_of: 2026-11-01\nwellbeing: awful\n", encoding="utf-8")
    before = path.read_bytes()
    code, out = _log(path, "--event", "type=pessimism,date=2026-10-01")
    assert code == 1 and "bad.yaml:3" in out
    assert path.read_bytes() == before


def test_log_keeps_crlf_bom_and_an_empty_flow_list(tmp_path: Path) -> None:
    path = tmp_path / "win.yaml"
    path.write_bytes(b"\xef\xbb\xbfclient: Foo\r\nas_of: 2026-11-01\r\nevents: []\r\n")
    code, out = _log(path, "--event", "type=pessimism,date=2026-10-01")
    assert code == 0, out
    assert path.read_bytes() == (b"\xef\xbb\xbfclient: Foo\r\nas_of: 2026-11-01\r\nevents:\r\n"
                                 b"  - {date: 2026-10-01, type: pessimism}\r\n")


def test_log_follows_the_files_block_style(tmp_path: Path) -> None:
    text = ("client: Foo\nas_of: 2026-11-01\nevents:\n- date: 2026-10-01\n"
            "  type: pessimism  # block style, no indent\n")
    path = tmp_path / "block.yaml"
    path.write_text(text, encoding="utf-8")
    code, out = _log(path, "--event", "type=reversal,date=2026-10-02")
    assert code == 0, out
    assert path.read_text(encoding="utf-8") == text + "- date: 2026-10-02\n  type: reversal\n"


def test_log_json_case(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"client": "Foo", "as_of": "2026-11-01"}, indent=2),
                    encoding="utf-8")
    code, out = _log(path, "--remediation", "step=cool_off,date=2026-10-05")
    assert code == 0, out
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["remediation"] == [{"date": "2026-10-05", "step": "cool_off"}]
    assert list(data) == ["client", "as_of", "remediation"]


def test_log_round_trips_twice_to_the_same_bytes(case_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy.yaml"
    other.write_text(CASE, encoding="utf-8")
    for path in (case_file, other):
        assert _log(path, "--event", "type=reversal,date=2026-10-02")[0] == 0
    assert case_file.read_bytes() == other.read_bytes()


def test_parse_pairs_quotes_and_escapes() -> None:
    assert parse_pairs('a=1, b="x, y", c=\'z\', d="say \\"hi\\""') == {
        "a": "1", "b": "x, y", "c": "z", "d": 'say "hi"'}
    with pytest.raises(partways.CaseError):
        parse_pairs("")
