"""Read as a native reader would: every command's output for every shipped example, in
Arabic and Persian, holds no English word that is not a name or value from the case itself
(or a citation code such as SIG-01); typography comes from one language module."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from _leaks import CASES, case_words, leaks, outputs
from click.testing import CliRunner

import partways
from partways.cli import common
from partways.cli.main import main
from partways.render import render_text
from partways.render.lang import FSI, PDI, Lang, display_width, fit_width, for_kb

from _paths import EXAMPLES


@pytest.mark.parametrize("lang", ["ar", "fa"])
@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_no_english_in_any_output(path: Path, lang: str) -> None:
    allowed = case_words(path)
    texts = outputs(path, lang)
    found = {cmd: leaks(text, allowed) for cmd, text in texts.items()}
    found = {cmd: words for cmd, words in found.items() if words}
    assert not found, f"English words in {lang} output: {found}"
    if lang == "fa":  # one choice of digits: Persian, but in the case's own words and codes
        mixed = {cmd: lines for cmd, text in texts.items()
                 if (lines := latin_digits(text, allowed))}
        assert not mixed, f"Latin digits in Persian output: {mixed}"


_ISOLATED = re.compile(f"{FSI}[^{PDI}]*{PDI}")
_CODE = re.compile(r"(?<![\w-])(?:[A-Z]{2,6}-\d+|S\d+)(?![\w-])")


def latin_digits(text: str, case_words: set[str]) -> list[str]:
    """The lines of ``text`` with a Western digit outside an isolated value, a citation
    code (SIG-01, S4) or a word of the case itself."""
    numbered = sorted((w for w in case_words if any(c.isdigit() for c in w) and len(w) > 1),
                      key=len, reverse=True)
    out = []
    for line in text.splitlines():
        bare = _CODE.sub(" ", _ISOLATED.sub(" ", line))
        for w in numbered:
            bare = bare.replace(w, " ")
        if any("0" <= c <= "9" for c in bare):
            out.append(line)
    return out


def test_the_digit_check_finds_latin_digits() -> None:
    assert latin_digits("  1. پرچم قرمز (SIG-01، S4)\n  ۲. «⁨Brand book v2⁩»", set()) == \
        ["  1. پرچم قرمز (SIG-01، S4)"]
    assert latin_digits("مشتری: Studio 54", {"Studio", "54"}) == []


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


def test_digits_separators_arrows_quotes_per_language(kb: partways.KnowledgeBase) -> None:
    ar, fa, en = (for_kb(kb, x) for x in ("ar", "fa", "en"))
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


# -- batch, import, check, log ---------------------------------------------------------------

CSV_SET = EXAMPLES / "csv"


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_no_english_in_batch_import_and_log(tmp_path: Path, lang: str) -> None:
    """The whole book (every example and the CSV export) as a table and its summary, the
    import of the CSV export and a logged entry: nothing English but the cases' own words."""
    allowed = case_words(CSV_SET).union(*(case_words(p) for p in CASES))
    runner = CliRunner()
    book = runner.invoke(main, ["batch", str(EXAMPLES), str(CSV_SET), "--lang", lang,
                                "--no-progress"])
    assert book.exit_code == 0, book.output
    out = tmp_path / "cases"
    imported = runner.invoke(main, ["import", str(CSV_SET), "-o", str(out), "--lang", lang])
    assert imported.exit_code == 0, imported.output
    case = tmp_path / "acme.yaml"
    case.write_text(ACME.read_text("utf-8"), "utf-8")
    logged = runner.invoke(main, ["log", str(case), "--lang", lang, "--event",
                                  "type=late_payment,date=2026-10-20,days_late=3"])
    assert logged.exit_code == 0, logged.output
    found = {name: leaks(text.replace(str(case), " ").replace(str(out), " "), allowed)
             for name, text in [("batch", book.output), ("import", imported.output),
                                ("log", logged.output)]}
    assert not {k: v for k, v in found.items() if v}, found
    assert len(list(out.glob("*.yaml"))) == 6 and FSI + str(out) + PDI in imported.output


def _batch(*args: str) -> str:
    result = CliRunner().invoke(main, ["batch", *args, "--no-progress"])
    assert result.exit_code == 0, result.output
    return result.output


def test_batch_summary_counts_take_plural_forms_and_the_languages_digits() -> None:
    en = _batch(str(CSV_SET))
    ar = _batch(str(CSV_SET), "--lang", "ar")
    fa = _batch(str(CSV_SET), "--lang", "fa")
    assert "6 cases: 6 assessed, 0 could not be read" in en
    assert "1 case: 1 assessed" in _batch(str(ACME))  # the singular
    # Arabic: two clients take the dual, 3-10 the plural; Western digits as the KB writes
    decisions = next(ln for ln in ar.splitlines() if ln.startswith("القرارات: "))
    assert "أنهِ العلاقة فورًا (عميلان)" in decisions, decisions
    assert "(عميل واحد)" in decisions and "، " in decisions and ", " not in decisions
    # Persian: Persian digits and percent sign, the Persian decimal separator
    assert "۶ پرونده: ۶ ارزیابی شد، ۰ خوانده نشد" in fa
    pareto = next(ln for ln in fa.splitlines() if "SIG-25" in ln)
    assert "٪" in pareto and "%" not in pareto and not any(c.isascii() and c.isdigit()
                                                           for c in pareto.replace("SIG-25", ""))
    rate = fa.splitlines()[-1]
    assert "۲۹٫۰۷ (۵۸٪)" in rate and not any("0" <= c <= "9" for c in rate), rate
    assert "%" in ar.splitlines()[-1] and "٪" not in ar


def test_batch_table_shows_titles_and_keeps_its_columns() -> None:
    """In Arabic and Persian the decision and red-flag columns hold titles, every cell is
    isolated (a Latin client name cannot reorder the row) and the columns line up by
    display width (Arabic vowel marks take no column)."""
    fa = _batch(str(CSV_SET), "--lang", "fa").split("\n\n")[0].splitlines()
    en = _batch(str(CSV_SET)).split("\n\n")[0].splitlines()
    assert "terminate" in "".join(en) and "terminate" not in "".join(fa)
    assert fa[1].lstrip().startswith("۱  " + FSI)
    starts = {display_width(ln[:ln.index(FSI, ln.index(PDI))]) for ln in fa}
    assert len(starts) == 1, starts  # the decision column starts at one column everywhere
    ar = _batch(str(EXAMPLES), "--lang", "ar").split("\n\n")[0].splitlines()
    third = {display_width(ln[:ln.index(FSI, ln.index(PDI, ln.index(PDI) + 1))])
             for ln in ar if ln.count(FSI) >= 3}
    assert len(third) == 1, third  # "أنهِ العلاقة فورًا" has two marks: padded to match


@pytest.mark.parametrize(("lang", "want"), [
    ("en", "1 of 1 case valid, 0 problems"), ("ar", "الحالات السليمة: 1 من 1، والمشكلات: 0"),
    ("fa", "۱ از ۱ پرونده درست است؛ ۰ مشکل")])
def test_check_summary_in_the_language(lang: str, want: str) -> None:
    result = CliRunner().invoke(main, ["check", str(ACME), "--lang", lang])
    assert result.exit_code == 0 and result.output == want + "\n"


def test_percent_and_display_width(kb: partways.KnowledgeBase) -> None:
    ar, fa, en = (for_kb(kb, x) for x in ("ar", "fa", "en"))
    assert (en.percent(0.8234), ar.percent(0.5), fa.percent(1.05)) == ("82%", "50%", "۱۰۵٪")
    assert display_width("أنهِ العلاقة فورًا") == 16  # kasra and tanween take no column
    assert display_width(f"{FSI}Acme{PDI}") == 4 and display_width("رابطه‌ای") == 7


def test_fit_width_never_breaks_a_date_and_hangs_under_a_first_column(
        kb: partways.KnowledgeBase) -> None:
    fa = for_kb(kb, "fa")
    day = fa.date("2026-12-22")  # ۱ دی ۱۴۰۵ (۲۲ دسامبر ۲۰۲۶)
    line = "برنامهٔ خروج: اعلام به مشتری در ۱ آذر ۱۴۰۵ (۲۲ نوامبر ۲۰۲۶) · پایان همکاری در " + day
    out = fit_width(line, 80).splitlines()
    assert len(out) == 2 and out[1] == day  # the whole date moved, not "۱" left behind
    step = f"  {day}  " + "منظم تحویل دهید و کسی را بلاتکلیف نگذارید " * 2 + "(EXIT-11)"
    out = fit_width(step, 70).splitlines()
    assert out[0].startswith(f"  {day}  منظم")
    assert all(ln.startswith(" " * display_width(f"  {day}  ")) and ln[len(day) + 4] != " "
               for ln in out[1:])


def test_plan_dates_padded_so_titles_share_a_column() -> None:
    result = CliRunner().invoke(main, ["plan", str(ACME), "--lang", "fa", "--width", "0"])
    steps = [ln for ln in result.output.splitlines() if ln.startswith("  [ ] ")]
    assert len(steps) > 5
    starts = {display_width(re.match(r"  \[ \] .*?\S\s{2,}(?=\S)", ln).group(0))  # type: ignore[union-attr]
              for ln in steps}
    assert len(starts) == 1, starts


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_batch_table_fits_the_terminal(lang: str) -> None:
    """At 80 columns a row whose warning signs do not fit has them wrapped in their own
    column (a failed row's problems on the lines below, indented); nothing is lost and no
    line is wider than the terminal."""
    wide = _batch(str(EXAMPLES), "--lang", lang, "--width", "0")
    narrow = _batch(str(EXAMPLES), "--lang", lang, "--width", "80")
    assert max(display_width(ln) for ln in narrow.splitlines()) <= 80
    assert max(display_width(ln) for ln in wide.splitlines()) > 80
    assert sorted(_words(narrow)) == sorted(_words(wide))  # a long name wraps in its column
    rows = [ln for ln in narrow.split("\n\n")[0].splitlines()[1:] if ln[:5].strip()]
    assert len(rows) == len(CASES)  # one numbered line a case, continuations indented


def test_no_second_pair_of_brackets_after_a_persian_date() -> None:
    fa = CliRunner().invoke(main, ["plan", str(ACME), "--lang", "fa"]).output
    ar = CliRunner().invoke(main, ["plan", str(ACME), "--lang", "ar"]).output
    end_fa = next(ln for ln in fa.splitlines() if "۶۹ روز" in ln)
    assert end_fa.endswith("(۳۱ ژانویه ۲۰۲۷)؛ ۶۹ روز از اعلام تا پایان"), end_fa
    assert "2027 (69 يومًا بين الإبلاغ والإنهاء)" in ar


def test_a_persian_date_inside_brackets_does_not_nest_them(kb: partways.KnowledgeBase) -> None:
    fa = for_kb(kb, "fa")
    assert fa.date("2025-06-01", inner=True) == "۱۱ خرداد ۱۴۰۴ [۱ ژوئن ۲۰۲۵]"
    assert for_kb(kb, "ar").date("2025-06-01", inner=True) == "1 يونيو 2025"
    out = CliRunner().invoke(main, ["why", str(EXAMPLES / "sepehr-software-no-progress.yaml"),
                                    "--lang", "fa"]).output
    assert "(از: ۱۱ خرداد ۱۴۰۴ [۱ ژوئن ۲۰۲۵]، " in out
    assert fit_width("x " * 30 + fa.date("2025-06-01", inner=True), 70).endswith(
        "\n" + fa.date("2025-06-01", inner=True))  # never broken


def test_typography_is_the_kbs_data(kb: partways.KnowledgeBase) -> None:
    """Digits, separators, quotes, signs and calendar come from the KB's ``typography``
    (engine/ names no language); a language the KB does not describe writes as Latin."""
    assert kb.typography["fa"]["digits"] == "persian"
    arabic_digits = dataclasses.replace(kb, typography={
        **kb.typography, "ar": {**kb.typography["ar"], "digits": "arabic", "percent": "٪"}})
    ar = for_kb(arabic_digits, "ar")
    assert (ar.num(2026), ar.percent(0.5), ar.list_style) == ("٢٠٢٦", "٥٠٪", "arabic-indic")
    assert for_kb(kb, "ar").num(2026) == "2026"
    plain = Lang("xx")
    assert (plain.num(1.5), plain.sep, plain.date("2026-11-16")) == \
        ("1.5", ", ", "2026-11-16")


def test_what_if_says_an_unchanged_decision_is_unchanged() -> None:
    def decision_line(*edits: str) -> str:
        out = CliRunner().invoke(main, ["what-if", str(ACME), "--lang", "ar", *edits]).output
        return next(ln for ln in out.splitlines() if ln.startswith("القرار: "))

    assert decision_line("--set", "wellbeing=low") == "القرار: أنهِ العلاقة (دون تغيير)"
    changed = decision_line("--set", "wellbeing=low", "--remediation",
                            "step=frank_conversation,outcome=improved,date=2026-11-10")
    assert changed.startswith("القرار: أنهِ العلاقة ← ") and "دون تغيير" not in changed


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_the_kb_months_and_plural_rules_are_cldr_s(lang: str) -> None:
    # the KB names the months of a date and gives the plural rules itself (a cold command
    # then skips loading babel's locale data): they must be what CLDR says
    from babel import Locale
    from babel.dates import format_date

    from partways.render.lang import Style, _category, to_western

    kb = partways.load_kb()
    style = kb.typography[lang]
    locale = Locale.parse(lang)
    assert style["months"] == [locale.months["format"]["wide"][m] for m in range(1, 13)]
    assert dict(style["plural"]) == locale.plural_form.rules
    ours, babel_only = for_kb(kb, lang), Lang(lang, style=Style())
    for n in [*range(0, 250), 1000, 1001, 1_000_000, 0.5, 1.5, 2.0]:
        assert _category(ours, n) == _category(babel_only, n), n
    day = dt.date(2024, 1, 31)
    while day.year < 2026:
        shown = ours.date(day)
        gregorian = to_western(str(format_date(day, "d MMMM y", locale=lang)))
        assert gregorian in to_western(shown), (shown, gregorian)
        day += dt.timedelta(days=29)


def test_a_plural_rule_that_is_not_cldr_is_refused(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(Path(partways.load_kb().roots[0]), kb_dir)
    manifest = kb_dir / "kb.yaml"
    text = manifest.read_text("utf-8")
    manifest.write_text(text.replace('plural: {one: "i in 1 and v in 0"}',
                                     'plural: {one: "i is one"}'), "utf-8")
    with pytest.raises(partways.KBError, match=r"kb\.yaml: typography\.en\.plural: not a CLDR"):
        partways.load_kb(kb_dir)
