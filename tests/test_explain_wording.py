"""What a native reader stopped at in why / why-not / what-if (ar, fa): joins and numbers
written by code follow the language, and a watch decision names warning signs, not red
flags."""

from __future__ import annotations

import partways
from partways.render.explain import render_what_if, render_why

from _paths import EXAMPLES

ATLAS = EXAMPLES / "atlas-logistics-scope-creep.yaml"  # an attempt dated within two bounds
DARYA = EXAMPLES / "darya-travel-minor-signs.yaml"  # monitor: five minor signs, numbered


def test_two_bounds_of_a_date_join_as_the_language_writes_and() -> None:
    a = partways.assess(ATLAS)
    text = {lang: render_why(a.kb, a.why(), lang) for lang in ("en", "ar", "fa")}
    assert "on or after 20 April 2026 and after 10 June 2026" in text["en"]
    assert "أو بعده وبعد 10 يونيو 2026" in text["ar"] and " و بعد " not in text["ar"]
    assert "یا پس از آن و پس از ۲۰ خرداد ۱۴۰۵" in text["fa"]


def test_numbered_items_take_the_language_digits() -> None:
    a = partways.assess(DARYA)
    fa = render_why(a.kb, a.why(), "fa")
    assert "    ۱. " in fa and "    ۵. " in fa and "    1. " not in fa
    en = render_why(a.kb, a.why(), "en")
    assert "    1. " in en
    what_if = render_what_if(a.kb, partways.what_if(a, ["wellbeing=low"]), "fa")
    assert "  ۱. " in what_if and "  1. " not in what_if


def test_a_watch_decision_names_warning_signs() -> None:
    a = partways.assess(DARYA)
    assert a.decision == "monitor"
    lines = {lang: render_why(a.kb, a.why(), lang).splitlines()[4] for lang in ("en", "ar", "fa")}
    assert lines["en"].startswith("Warning signs behind it: Pays late")
    assert lines["ar"].startswith("علامات التحذير وراء ذلك:")
    assert lines["fa"].startswith("نشانه‌های هشدارِ پشت آن:")
    steady = partways.assess(EXAMPLES / "acme-late-payer.yaml")
    assert "Red flags behind it:" in render_why(steady.kb, steady.why(), "en")
