"""What a demanding reader sees in the explanations: yes/no in words, counted nouns in the
language's plural forms, repairs explained in plain sentences, and one story per incident.
"""

from __future__ import annotations

import pytest

import partways
from partways.render.lang import for_kb
from partways.render.plan import fill, render_plan
from partways.render.text import describe_fact

from _paths import ROOT


@pytest.fixture(scope="module")
def kb() -> partways.KnowledgeBase:
    return partways.load_kb()


@pytest.mark.parametrize(("lang", "yes", "no"), [("en", "yes", "no"), ("ar", "نعم", "لا"),
                                                 ("fa", "بله", "خیر")])
def test_yes_no_values_read_as_words(kb: partways.KnowledgeBase, lang: str, yes: str,
                                     no: str) -> None:
    on = describe_fact(kb, {"fact": "event", "type": "impossible_demand", "date": "2026-08-11",
                            "under_pressure": True}, lang)
    off = describe_fact(kb, {"fact": "relationship", "since": "2025-06-01", "recurring": True,
                             "has_team": False}, lang)
    assert f": {yes}" in on and "✓" not in on
    assert f": {yes}" in off and f": {no}" in off and "✗" not in off


NOTICE = {  # days -> the counted noun each language must show
    "en": {1: "1 day before", 3: "3 days before", 11: "11 days before", 100: "100 days before"},
    "ar": {1: "بمهلة يوم واحد", 2: "بمهلة يومين", 3: "بمهلة 3 أيام", 7: "بمهلة 7 أيام",
           11: "بمهلة 11 يومًا", 100: "بمهلة 100 يوم"},
    "fa": {3: "۳ روز پیش", 11: "۱۱ روز پیش", 100: "۱۰۰ روز پیش"},
}


@pytest.mark.parametrize("lang", sorted(NOTICE))
def test_notice_advice_uses_the_languages_plural_forms(kb: partways.KnowledgeBase,
                                                       lang: str) -> None:
    concept = kb.concept(kb.outputs["plan_steps"]["concept"], "give_notice")
    assert concept is not None and concept.advice
    text = kb.text(concept.advice, lang)
    for days, expected in NOTICE[lang].items():
        shown = fill(text, {"days": days}, for_kb(kb, lang))
        assert expected in " ".join(shown.split()), (lang, days, shown)
        assert "{" not in shown and "plural" not in shown


def test_plan_text_states_the_notice_in_the_readers_digits() -> None:
    a = partways.assess(ROOT / "tests/scenarios/cases/s22-zagros-notice-14.yaml")
    assert "Tell the client 14 days before" in " ".join(render_plan(a, "text", "en").split())
    assert "۱۴ روز پیش از تاریخ پایان" in " ".join(render_plan(a, "text", "fa").split())
    assert "بمهلة 14 يومًا" in render_plan(a, "text", "ar")


@pytest.mark.parametrize(("n", "en"), [(1, "1 variation"), (4, "4 variations")])
def test_search_counts_agree_in_english(kb: partways.KnowledgeBase, n: int, en: str) -> None:
    text = for_kb(kb, "en").format(kb.ui_text("explain_budget_spent", "en"), n=n)
    assert en + " " in text
