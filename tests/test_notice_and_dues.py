"""What the exit plan and the letters tell a client manager about time and money.

- The notice step, when the plan ends with the contract's own term, names the day to tell
  the client, the contract's end and the notice they would otherwise have had (EXIT-02,
  EXIT-09); every other plan keeps the plain "N days before the end date" step.
- The letter and the talking points ask for the money still owed, by the end date, when
  the case has an outstanding balance (S3, EXIT-04), and say nothing of money otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render.lang import for_kb
from partways.render.letters import find_forbidden, render_letter
from partways.render.plan import fill

from _paths import EXAMPLES

ACME = EXAMPLES / "acme-late-payer.yaml"  # the contract ends 69 days after telling, 30-day clause
PIXEL = EXAMPLES / "pixelforge-never-satisfied.yaml"  # the contract expires 7 days after telling
ZAGROS: dict[str, Any] = {  # a 14-day clause, a contract a year on: the notice ends it
    "client": "Zagros", "as_of": "2026-11-01",
    "relationship": {"since": "2025-01-01", "recurring": True},
    "contract": {"ends": "2027-12-31", "termination_clause": True, "notice_days": 14},
    "events": [{"date": "2026-05-04", "type": "late_payment", "days_late": 20},
               {"date": "2026-08-03", "type": "late_payment", "days_late": 35}],
    "remediation": [{"date": "2026-09-01", "step": "frank_conversation", "outcome": "failed"}]}


def _notice(case: Any, lang: str) -> str:
    args = [str(case)] if not isinstance(case, dict) else []
    if isinstance(case, dict):
        import json
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(case, fh)
        args = [fh.name]
    out = CliRunner().invoke(main, ["plan", *args, "--lang", lang]).output
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if "(EXIT-09)" in line)
    return lines[i + 1].strip()


def test_at_the_contract_end_the_step_names_the_day_the_end_and_the_usual_notice() -> None:
    en = _notice(ACME, "en")
    assert en.startswith("Tell the client on 23 November 2026 that you will not renew the "
                         "contract, which runs until 31 January 2027: that gives them 69 "
                         "days, no less than the 30-day notice"), en
    assert "the notice this plan works out" not in en
    ar, fa = _notice(ACME, "ar"), _notice(ACME, "fa")
    assert "23 نوفمبر 2026" in ar and "31 يناير 2027" in ar and "69 يومًا" in ar \
        and "30 يومًا" in ar and "لن تجدّد" in ar, ar
    assert "۲ آذر ۱۴۰۵" in fa and "۱۱ بهمن ۱۴۰۵" in fa and "۶۹ روز" in fa \
        and "مهلت ۳۰ روزه" in fa and "تمدید" in fa, fa
    for text in (en, ar, fa):
        assert "{" not in text and "}" not in text


def test_a_contract_that_expires_before_a_full_notice_says_so() -> None:
    en = _notice(PIXEL, "en")
    assert "the contract ends on 15 December 2026, only 7 days later, before the 30-day " \
           "notice you would otherwise give could run its course" in en, en
    ar, fa = _notice(PIXEL, "ar"), _notice(PIXEL, "fa")
    assert "7 أيام فقط" in ar and "قبل أن تكتمل مهلة الإشعار" in ar, ar
    assert "فقط ۷ روز بعد" in fa and "به سر برسد" in fa, fa


def test_a_notice_that_ends_the_relationship_keeps_the_plain_step() -> None:
    en = _notice(ZAGROS, "en")
    assert en.startswith("Tell the client 14 days before the end date, the notice this plan "
                         "works out from your contract"), en
    assert "renew" not in en and "30" not in en
    assert "تجدّد" not in _notice(ZAGROS, "ar") and "تمدید" not in _notice(ZAGROS, "fa")


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_select_blocks_choose_by_value_and_nest_plurals(lang: str) -> None:
    lx = for_kb(partways.load_kb(), lang)
    text = "{basis, select, a {A {n, plural, one {# day} other {# days}}} other {Z {n}}}"
    assert fill(text, {"basis": "a", "n": 1}, lx) == f"A {lx.num(1)} day"
    assert fill(text, {"basis": "a", "n": 3}, lx) == f"A {lx.num(3)} days"
    assert fill(text, {"basis": "b", "n": 3}, lx) == f"Z {lx.num(3)}"
    assert fill(text, {"n": 3}, lx) == f"Z {lx.num(3)}"   # no value: the other form


OWED = {"en": "4000 still outstanding", "ar": "مبلغ 4000 ما زال مستحقًّا",
        "fa": "مبلغ ۴۰۰۰"}
COBALT = "s42-cobalt-team-member-abused-money-owed.yaml"


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
@pytest.mark.parametrize("channel", ["email", "meeting"])
def test_the_letters_ask_for_the_money_still_owed(lang: str, channel: str) -> None:
    from _paths import TESTS

    a = partways.assess(TESTS / "scenarios" / "cases" / COBALT)
    text = render_letter(a, lang, channel)
    assert OWED[lang] in text, text
    end = for_kb(a.kb, lang).date(a.plan.end_on)
    line = next(li for li in text.splitlines() if OWED[lang] in li)
    assert end in line, line  # settled by the end date
    assert find_forbidden(a.kb, lang, text) == []  # no grievance named with it


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
@pytest.mark.parametrize("channel", ["email", "meeting"])
def test_no_word_of_money_when_nothing_is_owed(lang: str, channel: str) -> None:
    a = partways.assess_data({**ZAGROS, "money": {"outstanding": 0}})
    assert a.plan is not None
    text = render_letter(a, lang, channel)
    assert not re.search(r"outstanding|مستحق|پرداخت نشده", text), text
