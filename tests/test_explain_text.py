"""What a person reads: every shipped example rendered by assess, why, why-not and plan in
en, ar and fa carries no internal notation; why's summary names every red flag behind the
decision; why-not's default answer is short and prints nothing twice.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

import partways
from partways.explain import Derivation
from partways.render import render_text
from partways.render.explain import render_why, render_why_not, why_dict, why_not_dict
from partways.render.plan import render_plan

from _paths import EXAMPLES

CASES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json"))
LANGS = ["en", "ar", "fa"]
DECISIONS = ["keep", "monitor", "remediate", "terminate", "terminate_now"]
NOTATION = ["= ✓", "= ✗", "≠ ✓", ": ✓", ": ✗", "not recorded is recorded", "$", "@"]
FIELD_NOTATION = re.compile(r"\b(order|indicates|dated|first_age|last_age|rank): \S")
SNAKE = re.compile(r"(?<![\w.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")


@cache
def assessed(name: str) -> partways.Assessment:
    return partways.assess(EXAMPLES / name)


def titled_ids(kb: partways.KnowledgeBase) -> set[str]:
    """Every id the KB has a title or label for: shown raw, it is a leak."""
    ids: set[str] = set()
    for items in kb.concepts.values():
        ids |= set(items)
    ids |= {m.name for m in kb.metrics}
    for name, ft in kb.fact_types.items():
        ids.add(name)
        for fname, spec in ft.fields.items():
            ids.add(fname)
            ids |= {str(v) for v in spec.enum or ()}
    ids |= set(kb.parameters)
    return {i for i in ids if "_" in i}


def case_words(a: partways.Assessment) -> set[str]:
    """Words the case itself wrote (names, notes): not a leak when shown."""
    out: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("note", "name", "client", "ref", "id"):
                    out.update(SNAKE.findall(str(v)))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(a.case.data)
    return out


def texts(a: partways.Assessment, lang: str) -> dict[str, str]:
    out = {"assess": render_text(a, lang), "why": render_why(a.kb, a.why(), lang),
           "plan": render_plan(a, "text", lang)}
    for target in DECISIONS:
        if target != a.decision:
            out[f"why-not {target}"] = render_why_not(a.kb, a.why_not(target), lang)
    out["why-not --full terminate"] = render_why_not(a.kb, a.why_not("terminate"), lang,
                                                     full=True)
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_no_internal_notation_in_text(case: Any, lang: str) -> None:
    a = assessed(case.name)
    ids = titled_ids(a.kb)
    own = case_words(a)
    for what, text in texts(a, lang).items():
        for mark in NOTATION:
            assert mark not in text, f"{what} ({lang}) shows {mark!r}"
        assert not FIELD_NOTATION.search(text), f"{what} ({lang}) shows an engine field"
        leaks = {w for w in SNAKE.findall(text) if w in ids and w not in own}
        assert not leaks, f"{what} ({lang}) shows raw ids {sorted(leaks)}"
        assert "{" not in text, f"{what} ({lang}) has an unfilled placeholder"


def _flags_behind(a: partways.Assessment) -> set[str]:
    """The red flags in the support of the decision (from the why records)."""
    kinds = {spec["fact"] for spec in a.kb.outputs["findings"]}
    out: set[str] = set()
    seen: set[str] = set()

    def walk(d: Derivation) -> None:
        if d.fact.id in seen:
            return
        seen.add(d.fact.id)
        if d.fact.type in kinds and d.fact.label:
            out.add(d.fact.label)
        for s in d.supports:
            for p in s.premises:
                if p.derivation is not None:
                    walk(p.derivation)

    for root in a.why().roots:
        walk(root)
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_why_summary_names_every_red_flag_behind_the_decision(case: Any, lang: str) -> None:
    a = assessed(case.name)
    data = why_dict(a.kb, a.why(), lang)
    summary = data["summary"]
    assert 1 <= len(summary) <= 4
    assert all(line.strip() for line in summary)
    text = "\n".join(summary)
    fconcept = a.kb.outputs["findings"][0]["concept"]
    flags = _flags_behind(a)
    for flag in flags:
        c = a.kb.concept(fconcept, flag)
        assert c is not None
        assert a.kb.text(c.title, lang) in text, f"{flag} missing from the summary"
    # the summary opens the text answer
    assert render_why(a.kb, a.why(), lang).split("\n")[3:3 + len(summary)] == summary


def test_acme_why_shows_every_flag_and_both_failed_attempts() -> None:
    a = assessed("acme-late-payer.yaml")
    assert _flags_behind(a) >= {"late_payment", "boundary_violation"}
    text = render_why(a.kb, a.why())
    head = text.split("\n\n")[1]
    for word in ("6 April 2026", "1 July 2026", "Pays late", "Crosses personal boundaries",
                 "Tried without success"):
        assert word in head
    # every binding of the rule, grouped by red flag: both attempts under each flag
    assert text.count("active red flag:") == 2
    for date in ("6 April 2026", "1 July 2026"):
        assert text.count(f", {date}: failed") >= 2
    # a negation says, in a sentence, what is not there and what was found instead
    assert "No fitting repair for “Pays late” is left to try or under way." in text
    assert "applies only when the contract comes up for renewal soon" in text
    assert "so it cannot be tried now" in text
    # the check that no later record supersedes an attempt, as a client manager says it
    assert "No later record of “Talk frankly about the problems” replaces the one of " \
        "6 April 2026." in text
    for stiff in ("Looked for", "rules out", "there is none", "must be absent"):
        assert stiff not in text, stiff


@pytest.mark.parametrize("lang", LANGS)
def test_negations_are_sentences_in_every_language(lang: str) -> None:
    """The "no such fact" conditions of every shipped example's why and why-not (short and
    --full) are sentences from the KB's neg_* keys: no "looked for", no "must be absent"
    in any language."""
    kb = partways.load_kb()
    stiff = {key: max((part.strip(" :;؛،,") for part in
                       re.split(r"\{[^}]*\}", kb.ui_text(key, lang))), key=len)
             for key in ("explain_looked_for", "explain_must_be_none",
                         "explain_none_as_needed", "explain_found_blocks")}
    assert all(len(v) > 4 for v in stiff.values()), stiff
    for case in CASES:
        a = assessed(case.name)
        texts = [render_why(a.kb, a.why(), lang)]
        for target in DECISIONS:
            if target != a.decision:
                wn = a.why_not(target)
                texts += [render_why_not(a.kb, wn, lang),
                          render_why_not(a.kb, wn, lang, full=True)]
        for text in texts:
            for key, start in stiff.items():
                assert not start or start not in text, (case.name, lang, key)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_why_not_default_is_short_and_says_nothing_twice(case: Any, lang: str) -> None:
    a = assessed(case.name)
    for target in DECISIONS:
        if target == a.decision:
            continue
        wn = a.why_not(target)
        text = render_why_not(a.kb, wn, lang)
        lines = text.rstrip("\n").split("\n")
        assert len(lines) < 30, f"why-not {target}: {len(lines)} lines"
        body = [x.strip() for x in lines[3:] if x.strip()]
        assert len(body) == len(set(body)), f"why-not {target} repeats a line"
        full = render_why_not(a.kb, wn, lang, full=True)
        assert len(full.split("\n")) > len(lines)
        data = why_not_dict(a.kb, wn, lang)
        assert data["answer"] and data["goals"]  # the JSON keeps the whole tree too


def test_report_and_case_graph_show_the_attempts_between_flags_and_decision() -> None:
    from partways.render.diagram import case_view
    from partways.render.report import render_html

    a = assessed("acme-late-payer.yaml")
    html = render_html(a, "en", graph=False)
    attempts = ["Talk frankly about the problems, 6 April 2026: failed",
                "Start afresh with a new agreement, 1 July 2026: failed"]
    for title in attempts:
        assert title in html
    g = case_view(a, "en")
    layer = {n: d["layer"] for n, d in g.nodes(data=True)}
    shown = {d["label"] for n, d in g.nodes(data=True) if d.get("fact") == "attempt"}
    assert set(attempts) <= shown
    for title in attempts:  # linked from a red flag, and on to the decision
        assert any(d.get("fact") == "attempt" and d["label"] == title
                   and any(layer[u] == "signal" for u in g.predecessors(n))
                   and any(layer[v] == "decision" for v in g.successors(n))
                   for n, d in g.nodes(data=True))


OLD_TALK = {
    "client": "Sahel Trading", "as_of": "2026-11-20",
    "relationship": {"since": "2024-06-01", "recurring": True},
    "events": [{"date": "2026-10-02", "type": "late_payment", "days_late": 21},
               {"date": "2026-11-03", "type": "late_payment", "days_late": 30}],
    "remediation": [{"date": "2025-03-01", "step": "frank_conversation", "outcome": "improved",
                     "note": "Payments were on time for a year after"}],
}


@pytest.mark.parametrize("lang", LANGS)
def test_an_old_record_is_explained_by_its_nearest_miss_once(lang: str) -> None:
    """A repair recorded long before the problem, examined by several rules: why says once
    what kept it from counting (it came before the first late payment), not every failed
    test of every rule that looked at it."""
    a = partways.assess_data(OLD_TALK)
    assert a.decision == "remediate"
    text = render_why(a.kb, a.why(), lang)
    lines = [line for line in text.splitlines() if line.strip()]
    at = next(i for i, line in enumerate(lines) if "Sahel" not in line and (
        "2025" in line or "۲۰۲۵" in line) and ("2026" not in line and "۲۰۲۶" not in line))
    reasons = []
    for line in lines[at + 1:]:
        if line.lstrip().startswith(("–", "•")) or re.match(r"\s*[0-9۰-۹]+\.", line):
            break
        reasons.append(line)
    said = " ".join(reasons)
    first_late, record = {"en": ("2 October 2026", "1 March 2025"),
                          "ar": ("2 أكتوبر 2026", "1 مارس 2025"),
                          "fa": ("۲ اکتبر ۲۰۲۶", "۱ مارس ۲۰۲۵")}[lang]
    assert first_late in said, said
    assert said.count(record) == 1, said  # one reason, not one per rule and test
