"""Words a client manager reads without stopping: one Arabic spelling of "serious" (the
severity of a red flag), and why-not --full speaking of the guidance and your case, not
of "the knowledge base" and its "entries"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import partways
from partways.lint import lint_kb
from partways.render.explain import render_why_not

from _paths import EXAMPLES, ROOT

CASES = sorted(EXAMPLES.glob("*.yaml"))
SHADDA_SERIOUS = re.compile(r"جدّي")
STIFF = re.compile(r"knowledge base|such entr|could give it|قاعدة المعرفة|القواعد:|پایگاه دانش"
                   r"|این قاعده‌ها")


def test_arabic_writes_serious_one_way_and_lint_keeps_it_so(tmp_path: Path) -> None:
    kb = partways.load_kb()
    assert kb.ui_text("severity_serious", "ar") == "جدية"
    glossary = ROOT / "kb" / "glossary.yaml"
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "kb").rglob("*.yaml"))
            if p != glossary
            for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
            if SHADDA_SERIOUS.search(line)]
    assert hits == []
    assert "جدية" in (ROOT / "kb" / "rules" / "decision" / "remediate.yaml").read_text("utf-8")
    # an overlay text with the other spelling is flagged by the glossary check
    (tmp_path / "ui.yaml").write_text(
        "ui:\n  p9_flag: {en: A serious flag, ar: علامة جدّية, fa: پرچم جدی}\n", "utf-8")
    report = lint_kb(overlays=[tmp_path], check_examples=False)
    found = [p.message for p in report.problems if p.check == "glossary"]
    assert any("'جدّية' (ar): the glossary's term is 'جدية'" in m for m in found), found
    plain = tmp_path.parent / "plain"
    plain.mkdir()
    (plain / "ui.yaml").write_text(
        "ui:\n  p9_flag: {en: A serious flag, ar: علامة جدية, fa: پرچم جدی}\n", "utf-8")
    report = lint_kb(overlays=[plain], check_examples=False)
    assert not [p for p in report.problems if p.check == "glossary"]


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_why_not_full_speaks_of_the_guidance_and_your_case(lang: str) -> None:
    seen_table_line = False
    for case in CASES:
        a = partways.assess(case)
        for target in ("keep", "monitor", "remediate", "terminate", "terminate_now"):
            if target == a.decision:
                continue
            text = render_why_not(a.kb, a.why_not(target), lang, full=True)
            assert not STIFF.search(text), (case.name, target, STIFF.search(text))
            seen_table_line |= any(w in text for w in (
                "Set by the guidance itself, not by your case (47 entries)",
                "تحدّده الإرشادات نفسها لا حالتك (47 مدخلًا)",
                "این را خود رهنمودها تعیین می‌کنند، نه پرونده‌تان (۴۷ مورد)"))
    assert seen_table_line


S45 = ROOT / "tests" / "scenarios" / "cases" / "s45-marjan-renewal-window.yaml"
SEPEHR = EXAMPLES / "sepehr-software-no-progress.yaml"


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_a_record_behind_two_red_flags_is_listed_once(lang: str) -> None:
    from partways.render.text import render_text

    for case in (S45, SEPEHR):
        a = partways.assess(case)
        text = render_text(a, lang)
        slow = [e for e in a.trace.facts.values()
                if e.get("fact") == "event" and e.get("type") == "slow_response"]
        assert slow
        lx = partways.render.lang.for_kb(a.kb, lang)
        for e in slow:  # each slow reply once, with its date, in the text
            assert text.count(lx.date(e["date"]) + " ") == 1, (case.name, e["date"])
        shared = {"en": "read here as a different sign", "ar": "علامةً مختلفة",
                  "fa": "نشانهٔ دیگری به شمار می‌آید"}[lang]
        assert text.count(shared) >= 1
        # the graph keeps both links: each slow reply supports both red flags
        by_id = {s.id: set(s.evidence) for s in a.signals}
        ids = {e["id"] for e in slow}
        assert ids <= by_id["slow_response"] and ids & by_id["no_progress"]
    if lang == "en":
        assert "the same 3 records as under “The relationship is not progressing”" in \
            render_text(partways.assess(S45), "en")


def test_a_flag_with_no_shared_record_has_no_such_note() -> None:
    from partways.render.text import render_text

    text = render_text(partways.assess(EXAMPLES / "acme-late-payer.yaml"), "en")
    assert "read here as a different sign" not in text and "the same" not in text


def test_a_red_flag_named_like_an_event_reads_as_the_red_flag() -> None:
    from partways.render.explain import render_why

    a = partways.assess(S45)
    en = render_why(a.kb, a.why(), "en")
    assert "for “Replies too slowly”: not tried yet" in en and "for “Pays late”" in en
    assert "for “slow response”" not in en and "for “late payment”" not in en


def test_a_flip_search_stopped_by_its_time_budget_says_so_in_persian_digits() -> None:
    import dataclasses

    from partways.render.explain import render_flip
    from partways.whatif import flip

    a = partways.assess(EXAMPLES / "acme-late-payer.yaml")
    fr = dataclasses.replace(flip(a, max_size=1), stopped="time", complete=False, seconds=10.0)
    fa = render_flip(a.kb, fr, "fa")
    assert "(۱۰ ثانیه)" in fa and not re.search(r"[0-9]", fa.split("\n", 2)[-1]), fa
    assert "(10 seconds)" in render_flip(a.kb, fr, "en") or "10 s" in render_flip(a.kb, fr, "en")
