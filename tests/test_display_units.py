"""A value is shown as the KB declares (`display:` of a parameter or a measure): a share
such as the target-rate threshold (0.8) reads as a percentage in the reader's digits and
sign, in explanations, what-if changes and the report's thresholds table; JSON keeps the
number. The engine knows no parameter by name: the declaration alone decides."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render.explain import describe_edit, render_why
from partways.render.lang import for_kb, param_value
from partways.render.report import render_html

from _paths import EXAMPLES

LOSING = EXAMPLES / "lumen-architects-losing-money.yaml"  # rate 0.585 of the target, 0.8 counts
# what why says of the measure and its threshold, per language
WHY = {"en": ("58.5% of your target hourly rate", "below 80% counts"),
       "ar": ("للساعة: 58.5%", "ما دون 80%"),
       "fa": ("نرخ هدف: ۵۸٫۵٪", "کمتر از ۸۰٪")}


def test_the_language_module_writes_a_share_as_a_percentage(kb: partways.KnowledgeBase
                                                             ) -> None:
    en, ar, fa = (for_kb(kb, lang) for lang in ("en", "ar", "fa"))
    assert en.shown(0.8, "percent") == "80%"
    assert ar.shown(0.8, "percent") == "80%"
    assert fa.shown(0.8, "percent") == "۸۰٪"
    assert fa.shown(0.585, "percent") == "۵۸٫۵٪"
    assert en.shown(1.25, "percent") == "125%"
    # a plain number stays a number
    assert en.shown(0.8) == "0.8" and fa.shown(3) == "۳"


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_why_shows_the_rate_and_its_threshold_as_percentages(lang: str) -> None:
    a = partways.assess(LOSING)
    text = render_why(a.kb, a.why(), lang)
    measure, threshold = WHY[lang]
    assert measure in text and threshold in text, text
    assert "0.8" not in text and "۰٫۸" not in text and "0.59" not in text


@pytest.mark.parametrize(("lang", "shown"), [("en", "80%"), ("ar", "80%"), ("fa", "۸۰٪")])
def test_report_thresholds_table_and_what_if(lang: str, shown: str) -> None:
    a = partways.assess(LOSING)
    page = html.unescape(render_html(a, lang))
    assert f"<td>{shown}</td>" in page
    assert "<td>0.8</td>" not in page and "<td>۰٫۸</td>" not in page
    edit = partways.what_if(a, ["policy: losing_money_rate_ratio=0.5"]).edits[0]
    line = describe_edit(a.kb, edit, lang)
    half = "۵۰٪" if lang == "fa" else "50%"
    assert shown in line and half in line, line
    # a count keeps its unit words, not a percentage
    assert param_value(a.kb, "doubts_for_gut_check", 3, lang) == \
        {"en": "3 times", "ar": "3 مرات", "fa": "۳ بار"}[lang]


def test_json_keeps_the_number_beside_the_sentence() -> None:
    result = CliRunner().invoke(main, ["why", str(LOSING), "--format", "json"])
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("parameter") == "losing_money_rate_ratio":
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(result.output))
    assert found
    for check in found:
        assert check["required"] == 0.8 and isinstance(check["actual"], float)
        assert str(check["text"]).endswith("below 80% counts")


def test_without_the_declaration_the_share_stays_a_number(tmp_path: Path) -> None:
    # the same parameter redeclared by an overlay without `display`: shown as it is
    base = partways.load_kb().parameters["losing_money_rate_ratio"]
    overlay = tmp_path / "o"
    (overlay / "parameters").mkdir(parents=True)
    (overlay / "parameters" / "rate.yaml").write_text(
        "parameters:\n  losing_money_rate_ratio:\n    default: 0.8\n    unit: ratio\n"
        "    min: 0\n    max: 2\n    guidance: [SIG-23]\n"
        f"    rationale: {json.dumps(dict(base.rationale), ensure_ascii=False)}\n",
        encoding="utf-8")
    kb = partways.load_kb(overlays=[overlay])
    assert kb.parameters["losing_money_rate_ratio"].display == "number"
    a = partways.assess(LOSING, kb)
    assert "<td>0.8</td>" in html.unescape(render_html(a, "en"))
    assert "below 0.8 counts" in render_why(kb, a.why(), "en")


def test_an_unknown_display_is_a_kb_error(tmp_path: Path) -> None:
    overlay = tmp_path / "o"
    overlay.mkdir()
    (overlay / "parameters.yaml").write_text(
        "parameters:\n  spare:\n    default: 1\n    display: percentage\n"
        "    rationale: {en: x, ar: x, fa: x}\n", encoding="utf-8")
    with pytest.raises(partways.KBError) as err:
        partways.load_kb(overlays=[overlay])
    assert "parameters.yaml:4" in str(err.value) and "display" in str(err.value)
