"""Exit messages (email, meeting talking points) in en/ar/fa from the KB's templates:
the end date, no grievance vocabulary, the clause or term, handover, referral when due,
correct right-to-left text, and a sandbox around the templates."""

from __future__ import annotations

import copy
import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render.lang import for_kb
from partways.render.letters import FSI, PDI, find_forbidden, forbidden_words, render_letter

from _exit_cases import LATE
from _paths import EXAMPLES


def day(kb: partways.KnowledgeBase, lang: str, d: dt.date) -> str:
    """A date as a letter in ``lang`` writes it."""
    return for_kb(kb, lang).date(d)


# One case per branch of the templates: clause, term end, no clause (mutual end), no
# contract, paid work, abuse (no referral), a one-day span.
CASES: dict[str, dict[str, Any]] = {
    "clause": {**LATE, "relationship": {"recurring": True},
               "contract": {"ends": None, "termination_clause": True, "notice_days": 45}},
    "clause_zero": {**LATE, "contract": {"ends": None, "termination_clause": True,
                                          "notice_days": 0}},
    "term": {**LATE, "contract": {"ends": "2026-12-28", "termination_clause": True,
                                  "notice_days": 30}},
    "no_clause": {**LATE, "contract": {"ends": "2027-06-30", "termination_clause": False}},
    "no_contract": {**LATE, "money": {"outstanding": 3000},
                    "deliverables": [{"name": "Site v2", "paid": True, "due": "2026-11-20"},
                                     {"name": "Logo", "paid": True, "due": "2026-11-18"}]},
    "abuse": {"client": "شرکت نمونه", "as_of": "2026-11-01",
              "relationship": {"recurring": True},
              "events": [{"date": "2026-10-02", "type": "verbal_abuse",
                          "note": "insulted me, rude and abusive"}]},
    "imminent": {**LATE, "contract": {"ends": "2026-11-02", "termination_clause": True,
                                      "notice_days": 30}},
}
LANGS = ("en", "ar", "fa")
CHANNELS = ("email", "meeting")


@pytest.fixture(scope="module")
def assessments(kb: partways.KnowledgeBase) -> dict[str, partways.Assessment]:
    return {name: partways.assess_data(copy.deepcopy(c), kb) for name, c in CASES.items()}


def test_every_language_has_forbidden_words(kb: partways.KnowledgeBase) -> None:
    for lang in LANGS:
        assert len(forbidden_words(kb, lang)) >= 10


def test_the_forbidden_check_catches_grievances(kb: partways.KnowledgeBase) -> None:
    assert find_forbidden(kb, "en", "You paid LATE and were rude.") == ["late", "rude"]
    assert find_forbidden(kb, "en", "I will translate it later.") == []  # whole words only
    assert "إهانة" in find_forbidden(kb, "ar", "بسبب الإهانة المتكررة")  # with the article
    # Persian written with Arabic ي/ك and without ZWNJ is still caught
    assert find_forbidden(kb, "fa", "رفتارش بيادب بود") == ["بی‌ادب"]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_letter_has_the_end_date_and_no_grievance(
        kb: partways.KnowledgeBase, assessments: dict[str, partways.Assessment], name: str,
        lang: str, channel: str) -> None:
    a = assessments[name]
    text = render_letter(a, lang, channel)
    assert a.plan is not None and a.plan.end_on is not None
    assert day(kb, lang, a.plan.end_on) in text  # dates written for the reader
    assert a.client in text
    assert find_forbidden(kb, lang, text) == [], text
    assert "{{" not in text and "{%" not in text
    assert "insulted" not in text  # case notes never leak into the message
    for step in a.plan.steps:
        if step.id == "deliver_paid_work":
            assert step.subject in text and day(kb, lang, step.date) in text


def _first_strong(line: str) -> str | None:
    """The bidi class that sets a line's direction (rule P2: isolates are skipped)."""
    depth = 0
    for ch in line:
        if ch == FSI:
            depth += 1
        elif ch == PDI:
            depth = max(0, depth - 1)
        elif depth == 0 and unicodedata.bidirectional(ch) in ("L", "R", "AL"):
            return unicodedata.bidirectional(ch)
    return None


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_rtl_letters_read_right_to_left(assessments: dict[str, partways.Assessment],
                                        lang: str, channel: str) -> None:
    for a in assessments.values():
        text = render_letter(a, lang, channel)
        for line in text.splitlines():
            if line.strip():
                assert _first_strong(line) in ("R", "AL"), line
        if a.client.isascii():
            assert f"{FSI}{a.client}{PDI}" in text  # Latin names are isolated
        if lang == "fa":
            assert "ي" not in text and "ك" not in text  # Persian ی and ک


def test_english_letters_carry_no_bidi_marks(assessments: dict[str, partways.Assessment]) -> None:
    text = render_letter(assessments["term"], "en")
    assert FSI not in text and PDI not in text


def test_email_cites_the_clause_the_term_or_the_notice(
        assessments: dict[str, partways.Assessment]) -> None:
    assert "termination clause" in render_letter(assessments["clause"])
    assert "45 days' notice" in render_letter(assessments["clause"])
    assert "termination clause allows" in render_letter(assessments["clause_zero"])
    assert "agreement runs until 28 December 2026" in render_letter(assessments["term"])
    no_clause = render_letter(assessments["no_clause"])
    assert "runs until 30 June 2027" in no_clause and "earlier date" in no_clause
    no_contract = render_letter(assessments["no_contract"])
    assert "agreement" not in no_contract and "14 days" in no_contract
    assert "one day" not in render_letter(assessments["imminent"])
    assert "runs until 2 November 2026" in render_letter(assessments["imminent"])


def test_one_neutral_reason_in_every_language(
        assessments: dict[str, partways.Assessment]) -> None:
    reason = {"en": "no longer the right fit for your needs",
              "ar": "لم تعد خدماتي الخيار الأنسب لاحتياجاتكم",
              "fa": "خدمات من دیگر بهترین گزینه برای نیازهای شما نیست"}
    for lang, words in reason.items():
        assert words in render_letter(assessments["clause"], lang, "email")


def test_referral_offered_only_when_the_plan_has_one(
        assessments: dict[str, partways.Assessment]) -> None:
    for name, a in assessments.items():
        refer = any(s.id == "refer_alternative" for s in a.plan.steps)
        for channel in CHANNELS:
            assert ("recommend a colleague" in render_letter(a, "en", channel)) is refer, name
    assert not any(s.id == "refer_alternative" for s in assessments["abuse"].plan.steps)


def test_meeting_has_talking_points_and_a_rehearsal_checklist(
        assessments: dict[str, partways.Assessment]) -> None:
    text = render_letter(assessments["clause"], "en", "meeting")
    numbers = [ln.split(".", 1)[0] for ln in text.splitlines() if ln[:1].isdigit()]
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)] and len(numbers) >= 7
    assert "Rehearsal checklist" in text and text.count("[ ]") >= 5
    assert day(assessments["clause"].kb, "en", assessments["clause"].plan.notify_on) in text


def test_letters_are_deterministic(assessments: dict[str, partways.Assessment]) -> None:
    a = assessments["no_contract"]
    assert render_letter(a, "ar", "meeting") == render_letter(a, "ar", "meeting")


# -- CLI -------------------------------------------------------------------------------------

def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", LANGS)
def test_cli_letter(tmp_path: Path, lang: str) -> None:
    path = _write(tmp_path, CASES["term"])
    result = CliRunner().invoke(main, ["letter", str(path), "--lang", lang])
    assert result.exit_code == 0, result.output
    assert for_kb(partways.load_kb(), lang).date(dt.date(2026, 12, 28)) in result.output


def test_cli_letter_meeting_to_a_file(tmp_path: Path) -> None:
    path, out = _write(tmp_path, CASES["clause"]), tmp_path / "points.txt"
    result = CliRunner().invoke(main, ["letter", str(path), "--channel", "meeting",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Talking points" in out.read_text(encoding="utf-8")


def test_cli_letter_unknown_channel_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["letter", str(_write(tmp_path, LATE)),
                                       "--channel", "fax"])
    assert result.exit_code == 2
    assert "email" in result.output and "meeting" in result.output


def test_cli_letter_for_a_non_terminating_decision(tmp_path: Path) -> None:
    path = _write(tmp_path, {"client": "Calm Co", "as_of": "2026-11-01"})
    result = CliRunner().invoke(main, ["letter", str(path), "--lang", "fa"])
    assert result.exit_code == 0, result.output
    assert "مشتری را نگه دارید" in result.output and "پیام پایان همکاری لازم نیست" in result.output


# -- templates are data, and sandboxed ----------------------------------------------------

def _overlay(tmp_path: Path, template: str) -> Path:
    root = tmp_path / "overlay"
    (root / "letters").mkdir(parents=True)
    body = "\n".join(f"  {lang}: |\n    {template}" for lang in LANGS)
    (root / "letters" / "email.yaml").write_text(
        "channel: email\ntitle: {en: E, ar: E, fa: E}\nguidance: [EXIT-12]\n"
        f"templates:\n{body}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(("template", "message"), [
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ no_such_name }}", "undefined"),
])
def test_template_errors_are_kb_errors(tmp_path: Path, template: str, message: str) -> None:
    path = _write(tmp_path, CASES["clause"])
    result = CliRunner().invoke(main, ["letter", str(path), "--kb",
                                       str(_overlay(tmp_path, template))])
    assert result.exit_code == 1
    assert message in result.output and "email" in result.output
    assert "Traceback" not in result.output


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "{% if %}")
    with pytest.raises(partways.KBError) as err:
        partways.render_letter(partways.assess_data(CASES["clause"],
                                                    partways.load_kb(overlays=[overlay])))
    assert "email.yaml:6" in str(err.value)  # the line of the bad tag


def test_an_overlay_replaces_the_wording(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "Goodbye {{ client }}, until {{ end_on }}.")
    kb = partways.load_kb(overlays=[overlay])
    text = partways.render_letter(partways.assess_data(CASES["term"], kb))
    assert text == "Goodbye Northwind Ltd, until 28 December 2026.\n"
    # the shipped meeting template is still there
    assert "Talking points" in partways.render_letter(partways.assess_data(CASES["term"], kb),
                                                      "en", "meeting")


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_letter_is_signed_only_when_a_sender_is_given(lang: str) -> None:
    case = str(EXAMPLES / "acme-late-payer.yaml")
    signed = CliRunner().invoke(main, ["letter", case, "--lang", lang, "--sender", "Sara Ahmadi"])
    unsigned = CliRunner().invoke(main, ["letter", case, "--lang", lang])
    assert signed.exit_code == unsigned.exit_code == 0
    last = signed.output.rstrip().splitlines()[-1]
    assert last.replace(FSI, "").replace(PDI, "") == "Sara Ahmadi"
    assert "[" not in unsigned.output.rstrip().splitlines()[-1]  # no placeholder to fill in
    assert "Sara Ahmadi" not in unsigned.output
