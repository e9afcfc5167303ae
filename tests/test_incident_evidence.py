"""Each piece of evidence is shown once, where it belongs: the signs inside one incident are
part of the incident (not also minor concerns of their own), and a why lists a record once
even when two measures counted it. The JSON graph keeps every record linked."""

from __future__ import annotations

import json

import networkx as nx
import pytest

import partways
from partways.render.explain import render_what_if, render_why
from partways.whatif import what_if

from _paths import EXAMPLES, TESTS

CASES = TESTS / "scenarios" / "cases"


def _graph(a: partways.Assessment) -> nx.DiGraph:
    return nx.node_link_graph(json.loads(a.to_json())["graph"], edges="links")


@pytest.mark.parametrize(("case", "incident", "signs"), [
    ("s01-lamsa-agency-team-harm", "team_harmed", {"disrespect", "boundary_violation",
                                                   "team_tension"}),
    ("s32-tanin-harmful-incident-you", "harmful_incident", {"disrespect",
                                                            "boundary_violation"}),
])
def test_signs_inside_an_incident_are_not_watched_again(case: str, incident: str,
                                                        signs: set[str]) -> None:
    a = partways.assess(CASES / f"{case}.yaml")
    shown = {s.id: s.status for s in a.signals}
    assert shown.get(incident) == "active"
    assert not signs & set(shown), shown  # once, as the incident
    # ... and the records are still in the graph, each linked (through the incident's
    # members) to the incident's red flag
    g = _graph(a)
    flag = next(n for n, d in g.nodes(data=True) if d.get("fact") == "signal"
                and d.get("name") == incident)
    events = [n for n, d in g.nodes(data=True) if d.get("fact") == "event"
              and d.get("type") in signs]
    assert len(events) >= len(signs)
    for e in events:
        assert nx.has_path(g, e, flag), e


def test_a_sign_of_the_same_kind_outside_the_incident_is_still_watched() -> None:
    data = {"client": "Tanin Studio", "as_of": "2026-11-01",
            "events": [{"date": "2026-07-01", "type": "unfounded_criticism"},
                       {"date": "2026-10-20", "type": "unfounded_criticism"},
                       {"date": "2026-10-21", "type": "boundary_violation",
                        "kind": "personal"}]}
    a = partways.assess_data(data)
    shown = {s.id: s.status for s in a.signals}
    assert shown == {"harmful_incident": "active", "unfounded_criticism": "watch"}


def test_a_why_lists_each_record_once() -> None:
    a = partways.assess(EXAMPLES / "pixelforge-never-satisfied.yaml")
    text = render_why(a.kb, a.why())
    for day in ("11 August 2026", "13 October 2026"):
        assert text.count(f"– {day} impossible demand") == 1, text
    assert "(the same 2 records as above)" in text
    # the JSON keeps both measures' evidence
    g = _graph(a)
    for name in ("impossible_demands", "pressured_demands"):
        m = next(n for n, d in g.nodes(data=True) if d.get("fact") == "metric"
                 and d.get("name") == name)
        assert len([u for u in g.predecessors(m)
                    if g.nodes[u].get("fact") == "event"]) == 2, name



@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_a_record_of_an_incident_is_explained_by_its_dates_not_every_alternative(
        lang: str) -> None:
    # verbal abuse aimed at the team and a disrespectful email the same day: one incident.
    # Under each record, why says the dates that made it count; the kinds of sign the rule
    # accepts (held, and the alternatives that did not hold) are not listed under it: the
    # record line already says what it is.
    data = {"client": "Cedar Dental Clinic", "as_of": "2026-11-20",
            "relationship": {"recurring": True, "has_team": True},
            "events": [{"date": "2026-11-12", "type": "verbal_abuse", "toward": "team"},
                       {"date": "2026-11-12", "type": "disrespect"}]}
    a = partways.assess_data(data)
    assert a.decision == "terminate_now"
    lines = render_why(a.kb, a.why(), lang).splitlines()
    dated = {"en": "dated 12 November 2026", "ar": "بتاريخ 12 نوفمبر 2026",
             "fa": "به تاریخ ۲۱ آبان ۱۴۰۵"}[lang]
    under = [line.strip() for line in lines if line.strip().startswith(dated)]
    assert len(under) == 2, lines  # one line under each record of the incident
    for line in under:
        assert f" {a.kb.ui_text('explain_or', lang)} (" not in line, line
        assert ";" not in line and "؛" not in line, line  # the dates alone, no other test


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_a_case_event_and_an_incident_have_different_names(lang: str) -> None:
    # "incident no. 1" for the first event read as if it were a whole incident (several
    # signs within a few days, judged together): each has its own word
    kb = partways.load_kb()
    event = kb.ui_text("explain_fact_event", lang)
    for key in ("explain_fact_incident_sign", "explain_fact_incident_kind"):
        incident_words = kb.ui_text(key, lang)
        assert event not in incident_words, (event, incident_words)
    data = {"client": "Cedar", "as_of": "2026-11-20",
            "events": [{"date": "2026-11-12", "type": "disrespect", "toward": "team"}]}
    a = partways.assess_data(data)
    text = render_what_if(a.kb, what_if(a, ["events.1.toward=you"]), lang)
    assert f". {event} " in text, text  # "1. event no. 1 — ..." (digits per language)
