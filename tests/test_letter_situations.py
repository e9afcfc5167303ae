"""A letter's opening and closing depend on the situation, as KB data (`situations` in
letters/*.yaml): a client who asked for something illegal or unethical, or who abused
you or your team, is not warmly thanked; every other client still is."""

from __future__ import annotations

from pathlib import Path

import pytest

import partways
from partways.render.letters import find_forbidden, letter_context, render_letter

from _paths import EXAMPLES

ILLEGAL = EXAMPLES / "gulf-imports-illegal-request.yaml"  # terminate_now: illegal request
LATE = EXAMPLES / "acme-late-payer.yaml"  # terminate: late payments only
THANKS = {"en": ("Thank", "thank"), "ar": ("شكر", "اشكره"), "fa": ("سپاس", "تشکر")}


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
@pytest.mark.parametrize("channel", ["email", "meeting"])
def test_no_warm_thanks_for_an_illegal_request(lang: str, channel: str) -> None:
    a = partways.assess(ILLEGAL)
    assert "illegal_request" in {f.id for f in a.signals}
    context = letter_context(a, lang, channel)
    assert context["situation"] == "professional"
    text = render_letter(a, lang, channel)
    assert not any(word in text for word in THANKS[lang]), text
    assert context["texts"]["opening"] in text and context["texts"]["closing"] in text
    assert find_forbidden(a.kb, lang, text) == []  # calm, and still no grievance named


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
@pytest.mark.parametrize("channel", ["email", "meeting"])
def test_other_clients_are_still_thanked(lang: str, channel: str) -> None:
    a = partways.assess(LATE)
    assert letter_context(a, lang, channel)["situation"] == "usual"
    text = render_letter(a, lang, channel)
    assert any(word in text for word in THANKS[lang]), text


def test_the_meeting_opening_in_each_language() -> None:
    a = partways.assess(ILLEGAL)
    first = {lang: next(line for line in render_letter(a, lang, "meeting").splitlines()
                        if line.startswith(("1.", "۱."))) for lang in ("en", "ar", "fa")}
    assert first["en"].startswith("1. Open calmly and courteously")
    assert first["ar"].startswith("1. ابدأ بهدوء ولباقة")
    assert first["fa"].startswith("۱. آرام و مؤدبانه شروع کنید")


def _overlay(tmp: Path, situations: str) -> Path:
    folder = tmp / "o" / "letters"
    folder.mkdir(parents=True)
    (folder / "email.yaml").write_text(
        "channel: email\ntitle: {en: Mail, ar: بريد, fa: ایمیل}\nguidance: [EXIT-12]\n"
        f"situations:\n{situations}"
        "templates:\n  en: '{{ texts.opening }}'\n  ar: '{{ texts.opening }}'\n"
        "  fa: '{{ texts.opening }}'\n", encoding="utf-8")
    return tmp / "o"


OPENING = "      opening: {en: Hello, ar: مرحبًا, fa: سلام}\n"


def test_an_overlay_decides_its_own_situations(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "  - id: cool\n    signals: [late_payment]\n    texts:\n"
                       "      opening: {en: Hello, ar: مرحبًا, fa: سلام}\n"
                       "  - id: warm\n    texts:\n"
                       "      opening: {en: Dear friend, ar: صديقي العزيز, fa: دوست عزیز}\n")
    kb = partways.load_kb(overlays=[overlay])
    assert render_letter(partways.assess(LATE, kb), "fa") == "سلام\n"
    assert render_letter(partways.assess(ILLEGAL, kb), "en") == "Dear friend\n"


@pytest.mark.parametrize(("situations", "message"), [
    ("  - id: usual\n    signals: [late_payment]\n    texts:\n" + OPENING,
     "situation 'usual' is the last, so it needs no signals"),
    ("  - id: first\n    texts:\n" + OPENING + "  - id: usual\n    texts:\n" + OPENING,
     "situation 'first' needs signals"),
    ("  - id: odd\n    signals: [late_paymnt]\n    texts:\n" + OPENING
     + "  - id: usual\n    texts:\n" + OPENING,
     "unknown signal 'late_paymnt'; did you mean 'late_payment'?"),
    ("  - id: usual\n    texts:\n      opening: {en: Hello, ar: مرحبًا}\n",
     "situation 'usual' has no 'opening' in fa"),
    ("  - id: odd\n    signals: [late_payment]\n    texts:\n" + OPENING
     + "  - id: usual\n    texts:\n      closing: {en: Bye, ar: وداعًا, fa: خدانگهدار}\n",
     "situation 'usual' words closing, not opening as 'odd' does"),
])
def test_a_broken_situation_is_a_kb_error_with_file_and_line(
        tmp_path: Path, situations: str, message: str) -> None:
    overlay = _overlay(tmp_path, situations)
    with pytest.raises(partways.KBError) as err:
        render_letter(partways.assess(LATE, partways.load_kb(overlays=[overlay])))
    assert message in str(err.value)
    assert "letters/email.yaml:" in str(err.value)
