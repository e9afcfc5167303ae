"""Read as a native reader would: every command's output for every shipped example, in
Arabic and Persian, holds no English word that is not a name or value from the case itself
(or a citation code such as SIG-01); typography comes from one language module."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _leaks import CASES, case_words, leaks, outputs
from click.testing import CliRunner

import partways
from partways.cli import common
from partways.cli.main import main
from partways.render import render_text
from partways.render.lang import FSI, PDI, Lang, fit_width, for_kb

from _paths import EXAMPLES


@pytest.mark.parametrize("lang", ["ar", "fa"])
@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_no_english_in_any_output(path: Path, lang: str) -> None:
    allowed = case_words(path)
    found = {cmd: leaks(text, allowed) for cmd, text in outputs(path, lang).items()}
    found = {cmd: words for cmd, words in found.items() if words}
    assert not found, f"English words in {lang} output: {found}"


def test_the_leak_check_finds_english() -> None:
    assert leaks("القرار: TERMINATE — أنهِ العلاقة (S4 repair 1)", set()) == \
        ["TERMINATE", "repair"]
    assert leaks("⁨Acme Ltd⁩ — DEC-01، S4", {"Acme", "Ltd"}) == []


def test_dates_in_the_readers_calendar(kb: partways.KnowledgeBase) -> None:
    day = dt.date(2026, 11, 16)
    assert for_kb(kb, "en").date(day) == "16 November 2026"
    assert for_kb(kb, "ar").date(day) == "16 نوفمبر 2026"
    assert for_kb(kb, "fa").date(day) == "۲۵ آبان ۱۴۰۵ (۱۶ نوامبر ۲۰۲۶)"  # Solar Hijri first
    assert for_kb(kb, "fa").date("2027-03-21") == "۱ فروردین ۱۴۰۶ (۲۱ مارس ۲۰۲۷)"  # Nowruz


def test_digits_separators_arrows_quotes_per_language() -> None:
    ar, fa, en = Lang("ar", rtl=True), Lang("fa", rtl=True), Lang("en")
    assert (en.num(3200), ar.num(3200), fa.num(3200)) == ("3200", "3200", "۳۲۰۰")
    assert fa.num(0.8) == "۰٫۸"
    assert (en.join(["a", "b"]), ar.join(["أ", "ب"])) == ("a, b", "أ، ب")
    assert (en.arrow, ar.arrow) == ("→", "←")  # old to new, in the reading direction
    assert fa.quote("hi") == "«\u2068hi\u2069»" and en.quote("hi") == "“hi”"
    assert en.bracket("serious") == "[serious]"


@pytest.mark.parametrize(("n", "want"), [(1, "يوم واحد"), (2, "يومان"), (7, "7 أيام"),
                                          (11, "11 يومًا"), (69, "69 يومًا"), (100, "100 يوم"),
                                          (103, "103 أيام")])
def test_arabic_number_agreement(kb: partways.KnowledgeBase, n: int, want: str) -> None:
    text = for_kb(kb, "ar").format(kb.ui_text("exit_notice_days", "ar"), n=n)
    assert text.startswith(want + " "), text


def test_persian_counts_take_the_singular(kb: partways.KnowledgeBase) -> None:
    assert for_kb(kb, "fa").format(kb.ui_text("exit_notice_days", "fa"), n=69) \
        .startswith("۶۹ روز ")


# -- terminal output -------------------------------------------------------------------------

ACME = EXAMPLES / "acme-late-payer.yaml"


def _assess(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, ["assess", str(ACME), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_text_wraps_to_the_width_and_keeps_every_word(lang: str) -> None:
    plain = _assess("--lang", lang)
    assert max(map(len, plain.splitlines())) > 100  # long lines to wrap
    wrapped = _assess("--lang", lang, "--width", "60")
    lines = wrapped.splitlines()
    assert max(len(ln.replace(FSI, "").replace(PDI, "")) for ln in lines) <= 60
    assert _words(wrapped) == _words(plain)  # prose wrapped, nothing lost or reordered
    for line in lines:  # a line never ends inside an isolate
        assert line.count(FSI) == line.count(PDI), line


def _words(text: str) -> list[str]:
    return text.replace(FSI, " ").replace(PDI, " ").split()


def test_columns_sets_the_width_and_a_pipe_is_left_alone() -> None:
    assert max(map(len, _assess(env={"COLUMNS": "80"}).splitlines())) <= 80
    assert _assess("--width", "0", env={"COLUMNS": "80"}) == _assess()  # 0: no wrapping
    a = partways.assess(ACME)
    assert _assess(env={"COLUMNS": ""}) == render_text(a)  # piped: the text as rendered


def test_decision_emphasised_on_a_terminal_unless_no_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_stdout_is_terminal", lambda: True)
    out = _assess("--width", "100", env={"NO_COLOR": ""})
    bold = [ln for ln in out.splitlines() if "\x1b[1m" in ln]
    assert len(bold) == 1 and "Decision:" in bold[0]
    assert "\x1b[" not in _assess("--width", "100", env={"NO_COLOR": "1"})
    monkeypatch.setattr(common, "_stdout_is_terminal", lambda: False)
    assert "\x1b[" not in _assess()


def test_fit_width_keeps_bullets_as_hanging_indents() -> None:
    text = "  • [serious] " + "word " * 30 + "\nshort line"
    out = fit_width(text, 40).splitlines()
    assert out[0].startswith("  • [serious] ") and out[1].startswith("    ")
    assert out[-1] == "short line"
