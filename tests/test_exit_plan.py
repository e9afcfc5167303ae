"""The dated exit plan: each EXIT step under exactly its conditions, date arithmetic edge
cases, and the four renderings (text, Markdown, JSON, iCalendar) through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render.lang import for_kb
from partways.render.plan import plan_items, render_plan

from _exit_cases import ABUSE, LATE, case
from _paths import EXAMPLES

ALWAYS = {"document_everything", "choose_timing", "plan_conversation", "keep_it_brief",
          "tell_directly", "write_message", "listen_to_feedback", "stay_calm", "handover",
          "protect_reputation", "post_mortem"}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def steps(a: partways.Assessment) -> dict[str, list[partways.PlanStep]]:
    assert a.plan is not None, a.decision
    out: dict[str, list[partways.PlanStep]] = {}
    for s in a.plan.steps:
        out.setdefault(s.id, []).append(s)
    return out


# -- each step under exactly its conditions -------------------------------------------------

def test_every_plan_has_the_unconditional_steps_in_date_order(assess_data: Any) -> None:
    for base in (LATE, ABUSE):
        a = assess_data(base)
        assert set(steps(a)) >= ALWAYS
        dates = [s.date for s in a.plan.steps]
        assert dates == sorted(dates)
        for s in a.plan.steps:
            assert s.guidance and all(g.startswith("EXIT-") for g in s.guidance), s


def test_every_step_carries_its_guidance_id(assess_data: Any) -> None:
    a = assess_data(case(LATE, contract={"ends": "2026-12-31", "termination_clause": False},
                         relationship={"recurring": True}, money={"outstanding": 10},
                         deliverables=[{"name": "Site", "paid": True, "due": "2026-11-20"}]))
    got = {s.id: s.guidance for s in a.plan.steps}
    expected = {"review_contract": "EXIT-01", "seek_mutual_end": "EXIT-01",
                "deliver_paid_work": "EXIT-03", "collect_outstanding": "EXIT-04",
                "choose_timing": "EXIT-05", "plan_conversation": "EXIT-06",
                "keep_it_brief": "EXIT-07", "tell_directly": "EXIT-08", "give_notice": "EXIT-09",
                "refer_alternative": "EXIT-10", "handover": "EXIT-11", "write_message": "EXIT-12",
                "document_everything": "EXIT-13", "listen_to_feedback": "EXIT-14",
                "stay_calm": "EXIT-15", "post_mortem": "EXIT-16", "protect_reputation": "EXIT-17",
                "end_at_term": "EXIT-02"}
    for step, gid in expected.items():
        assert gid in got[step], (step, got.get(step))


def test_contract_review_or_gathering_documents(assess_data: Any) -> None:
    with_contract = steps(assess_data(case(LATE, contract={"ends": None,
                                                           "termination_clause": True,
                                                           "notice_days": 30})))
    assert "review_contract" in with_contract and "gather_documents" not in with_contract
    without = steps(assess_data(LATE))
    assert "gather_documents" in without and "review_contract" not in without
    for s in (with_contract.get("review_contract") or without["gather_documents"]):
        assert s.date == d("2026-11-01")  # first thing, on as_of


def test_paid_undelivered_work_gets_one_step_each(assess_data: Any) -> None:
    a = assess_data(case(LATE, relationship={"recurring": True}, deliverables=[
        {"name": "Site", "paid": True, "delivered": False, "due": "2026-11-20"},
        {"name": "Logo", "paid": True, "due": "2026-11-25"},
        {"name": "Done", "paid": True, "delivered": True, "due": "2026-11-10"},
        {"name": "Unpaid", "paid": False, "due": "2026-11-10"}]))
    got = {s.subject: s.date for s in steps(a)["deliver_paid_work"]}
    assert got == {"Site": d("2026-11-20"), "Logo": d("2026-11-25")}
    assert "deliver_paid_work" not in steps(assess_data(case(LATE, deliverables=[
        {"name": "Done", "paid": True, "delivered": True}])))


def test_collect_what_is_owed_before_notice_only_when_payment_is_at_risk(
        assess_data: Any) -> None:
    a = assess_data(case(LATE, money={"outstanding": 4500}))
    collect = steps(a)["collect_outstanding"]
    assert collect[0].date < a.plan.notify_on
    assert "collect_outstanding" not in steps(assess_data(case(LATE, money={"outstanding": 0})))
    # owed by an abusive client who never paid late: collect it all the same (POLICY9),
    # dated before the day the client is told
    abuse = assess_data(case(ABUSE, money={"outstanding": 9}))
    assert steps(abuse)["collect_outstanding"][0].date < abuse.plan.notify_on


@pytest.mark.parametrize(("extra_event", "refer"), [
    (None, True),
    # one minor disrespect is not a reason to skip the referral (POLICY9); a red flag is
    ([{"date": "2026-10-01", "type": "disrespect", "toward": "you"}], True),
    ([{"date": "2026-09-01", "type": "disrespect"}, {"date": "2026-10-01", "type": "disrespect"}],
     False),
    ([{"date": "2026-10-01", "type": "verbal_abuse"}], False),
])
def test_referral_unless_abusive_or_disrespectful(assess_data: Any, extra_event: Any,
                                                  refer: bool) -> None:
    events = LATE["events"] + (extra_event or [])
    got = steps(assess_data(case(LATE, events=events)))
    assert ("refer_alternative" in got) is refer
    assert ("no_referral" in got) is not refer


def test_notice_step_only_for_recurring_work(assess_data: Any) -> None:
    assert "give_notice" in steps(assess_data(case(LATE, relationship={"recurring": True})))
    assert "give_notice" not in steps(assess_data(case(LATE, relationship={"recurring": False})))


def test_no_plan_for_a_decision_that_keeps_the_client(assess_data: Any) -> None:
    a = assess_data({"client": "Calm Co", "as_of": "2026-11-01"})
    assert a.decision == "keep" and a.plan is None
    assert plan_items(a) == []
    assert json.loads(render_plan(a, "json"))["plan"] is None
    assert render_plan(a, "ics") == ""


# -- date arithmetic ---------------------------------------------------------------------

@pytest.mark.parametrize(("base", "extra", "notify", "end", "at_term"), [
    # contract with a clause: notify + contract notice
    (LATE, {"contract": {"ends": None, "termination_clause": True, "notice_days": 45}},
     "2026-11-08", "2026-12-23", False),
    # open-ended contract, no clause, recurring: the KB's default notice (30 days)
    (LATE, {"contract": {"ends": None, "termination_clause": False},
            "relationship": {"recurring": True}}, "2026-11-08", "2026-12-08", False),
    # no contract, recurring: default notice; no contract, one-off: a short wrap-up
    (LATE, {"relationship": {"recurring": True}}, "2026-11-08", "2026-12-08", False),
    (LATE, {}, "2026-11-08", "2026-11-22", False),
    # the term ends 20 days after notice would: prefer the contract's end (EXIT-02)
    (LATE, {"contract": {"ends": "2026-12-28", "termination_clause": True, "notice_days": 30}},
     "2026-11-08", "2026-12-28", True),
    # the contract ends before the notice could run: it ends with the contract
    (LATE, {"contract": {"ends": "2026-11-21", "termination_clause": True, "notice_days": 30}},
     "2026-11-08", "2026-11-21", True),
    # notice longer than the remaining term
    (LATE, {"contract": {"ends": "2026-12-11", "termination_clause": True, "notice_days": 90}},
     "2026-11-08", "2026-12-11", True),
    # the term ends within the week of preparation: tell them today
    (LATE, {"contract": {"ends": "2026-11-05", "termination_clause": True, "notice_days": 30}},
     "2026-11-01", "2026-11-05", True),
    # no termination clause: the term runs to its end
    (LATE, {"contract": {"ends": "2027-06-30", "termination_clause": False}},
     "2026-11-08", "2027-06-30", True),
    # an urgent exit tells within two days and does not wait for a near term end
    (ABUSE, {"contract": {"ends": "2026-12-28", "termination_clause": True, "notice_days": 30}},
     "2026-11-03", "2026-12-03", False),
])
def test_notify_and_end_dates(assess_data: Any, base: dict[str, Any], extra: dict[str, Any],
                              notify: str, end: str, at_term: bool) -> None:
    a = assess_data(case(base, **extra))
    assert (a.plan.notify_on, a.plan.end_on) == (d(notify), d(end))
    got = steps(a)
    assert ("end_at_term" in got) is at_term
    if at_term:
        assert got["end_at_term"][0].date == d(end)
    assert got["post_mortem"][0].date > a.plan.end_on


def test_seek_a_mutual_end_only_when_the_term_runs_on_without_a_clause(
        assess_data: Any) -> None:
    far = steps(assess_data(case(LATE, contract={"ends": "2027-06-30",
                                                 "termination_clause": False})))
    assert "seek_mutual_end" in far
    clause = steps(assess_data(case(LATE, contract={"ends": "2027-06-30",
                                                    "termination_clause": True,
                                                    "notice_days": 30})))
    assert "seek_mutual_end" not in clause


def test_paid_work_due_later_moves_the_end(assess_data: Any) -> None:
    a = assess_data(case(LATE, relationship={"recurring": True},
                         deliverables=[{"name": "Site", "paid": True, "due": "2027-01-15"}]))
    assert a.plan.end_on == d("2027-01-15")
    assert steps(a)["deliver_paid_work"][0].date == d("2027-01-15")
    assert "end_at_term" not in steps(a)


@pytest.mark.parametrize(("base", "extra", "deliver_on"), [
    # urgent exit: paid work due after the end is finished or handed over by the end
    # (no contract: the end is a week after telling, exit.end.urgent_no_contract)
    (ABUSE, {"relationship": {"recurring": True},
             "deliverables": [{"name": "Site", "paid": True, "due": "2027-03-01"}]},
     "2026-11-10"),
    # the contract expires first: the same
    (LATE, {"contract": {"ends": "2026-11-21", "termination_clause": True, "notice_days": 30},
            "deliverables": [{"name": "Site", "paid": True, "due": "2027-01-01"}]},
     "2026-11-21"),
    # no due date: by the end
    (LATE, {"relationship": {"recurring": True},
            "deliverables": [{"name": "Site", "paid": True}]}, "2026-12-08"),
])
def test_no_step_falls_after_the_end_but_the_post_mortem(
        assess_data: Any, base: dict[str, Any], extra: dict[str, Any], deliver_on: str) -> None:
    a = assess_data(case(base, **extra))
    assert steps(a)["deliver_paid_work"][0].date == d(deliver_on)
    for s in a.plan.steps:
        if s.id != "post_mortem":
            assert s.date <= a.plan.end_on, s


# -- renderings ------------------------------------------------------------------------------

FULL = case(LATE, relationship={"recurring": True}, money={"outstanding": 900},
            contract={"ends": "2026-12-28", "termination_clause": True, "notice_days": 30},
            deliverables=[{"name": "Site *v2*", "paid": True, "due": "2026-11-20"}])


@pytest.fixture()
def full_case(tmp_path: Path) -> Path:
    path = tmp_path / "full.json"
    path.write_text(json.dumps(FULL), encoding="utf-8")
    return path


def test_text_checklist_lists_every_step_with_date_and_guidance(full_case: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(full_case)])
    assert result.exit_code == 0, result.output
    a = partways.assess(full_case)
    for item in plan_items(a):
        line = next(ln for ln in result.output.splitlines() if item.title in ln)
        assert for_kb(a.kb, "en").date(item.date) in line  # dates written for the reader
        if not item.milestone:
            assert "[ ]" in line and item.guidance[0] in line
    assert "28 December 2026" in result.output and "Site *v2*" in result.output


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_markdown_checklist(full_case: Path, lang: str) -> None:
    result = CliRunner().invoke(main, ["plan", str(full_case), "--format", "md", "--lang", lang])
    assert result.exit_code == 0, result.output
    assert result.output.count("- [ ] ") == len(partways.assess(full_case).plan.steps)
    assert r"Site \*v2\*" in result.output  # user text is escaped
    assert ('<div dir="rtl">' in result.output) is (lang != "en")


def test_json_plan_matches_the_assessment(full_case: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(full_case), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    contract = partways.assess(full_case).to_dict()["plan"]
    assert data["plan"]["notify_on"] == contract["notify_on"]
    assert data["plan"]["end_on"] == contract["end_on"]
    assert [(s["id"], s["date"], s["guidance"]) for s in data["plan"]["steps"]] == \
        [(s["id"], s["date"], s["guidance"]) for s in contract["steps"]]
    assert data["plan"]["days"] == 50
    assert all(s["title"] and s["advice"] and s["rule"] for s in data["plan"]["steps"])


def test_ics_parses_back_one_all_day_event_per_item(full_case: Path, tmp_path: Path) -> None:
    from icalendar import Calendar

    out = tmp_path / "plan.ics"
    result = CliRunner().invoke(main, ["plan", str(full_case), "--format", "ics", "-o", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends in CRLF
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "partways" in str(cal["PRODID"])
    events = cal.walk("VEVENT")
    a = partways.assess(full_case)
    items = plan_items(a)
    assert len(events) == len(items)
    assert len({str(e["UID"]) for e in events}) == len(events)
    for event, item in zip(events, items, strict=True):
        start = event.decoded("DTSTART")
        assert not isinstance(start, dt.datetime) and start == item.date  # all-day
        assert event.decoded("DTEND") == item.date + dt.timedelta(days=1)
        assert event.decoded("DTSTAMP") == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        assert item.title in str(event["SUMMARY"])
        if item.guidance:
            assert item.guidance[0] in str(event["DESCRIPTION"])


def test_ics_is_byte_identical_across_runs(full_case: Path) -> None:
    first = CliRunner().invoke(main, ["plan", str(full_case), "--format", "ics", "--lang", "fa"])
    again = CliRunner().invoke(main, ["plan", str(full_case), "--format", "ics", "--lang", "fa"])
    assert first.exit_code == 0 and first.output == again.output


@pytest.mark.parametrize("fmt", ["text", "md", "ics"])
def test_cli_plan_for_a_non_terminating_decision(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("client: Calm Co\nas_of: 2026-11-01\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", str(path), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "KEEP" in result.output and "no exit plan" in result.output
    if fmt == "ics":
        assert "BEGIN:VCALENDAR" not in result.output
        assert "no exit plan" in result.stderr and not result.stdout


def test_cli_plan_of_an_example_in_every_language() -> None:
    path = EXAMPLES / "acme-late-payer.yaml"
    for lang in ("en", "ar", "fa"):
        result = CliRunner().invoke(main, ["plan", str(path), "--lang", lang])
        assert result.exit_code == 0, result.output
        assert "EXIT-01" in result.output
        assert {"en": "31 January 2027", "ar": "31 يناير 2027",
                "fa": "۱۱ بهمن ۱۴۰۵ (۳۱ ژانویه ۲۰۲۷)"}[lang] in result.output


@pytest.mark.parametrize(("days", "lang", "expected"), [
    (1, "en", "Tell the client 1 day before"),
    (14, "en", "Tell the client 14 days before"),
    (7, "ar", "بمهلة 7 أيام،"),
    (2, "ar", "بمهلة يومين،"),
    (14, "ar", "بمهلة 14 يومًا،"),
    (100, "ar", "بمهلة 100 يوم،"),
    (14, "fa", "۱۴ روز پیش از تاریخ پایان"),
])
def test_the_notice_step_states_the_computed_notice_in_the_readers_language(
        assess_data: Any, days: int, lang: str, expected: str) -> None:
    contract = {"ends": None, "termination_clause": True, "notice_days": days}
    a = assess_data(case(LATE, relationship={"since": "2025-01-01", "recurring": True},
                         contract=contract))
    notice = [item for item in plan_items(a, lang) if item.id == "give_notice"]
    assert len(notice) == 1, [item.id for item in plan_items(a, lang)]
    assert expected in notice[0].advice
    assert "{" not in notice[0].advice
