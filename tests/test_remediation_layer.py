"""The remediation layer of the decision graph: recorded attempts between the red flags and
the decision (issue 9, item 1), in the graph and in the JSON contract."""

from __future__ import annotations

import networkx as nx

import partways
from partways.render import render_text

from _paths import EXAMPLES


def _acme() -> partways.Assessment:
    return partways.assess(EXAMPLES / "acme-late-payer.yaml")


def test_acme_attempts_sit_between_the_flags_and_terminate() -> None:
    a = _acme()
    g = a.graph
    assert a.decision == "terminate"
    records = sorted(n for n, d in g.nodes(data=True)
                     if d["fact"] == "remediation" and d["layer"] == "remediation")
    steps = {g.nodes[r]["step"]: r for r in records}
    assert {"frank_conversation", "fresh_agreement"} <= set(steps)
    candidate = next(p for p in g.predecessors(a.decision_node)
                     if g.nodes[p]["fact"] == "candidate")
    for step in ("frank_conversation", "fresh_agreement"):
        record = steps[step]
        assert g.nodes[record]["outcome"] == "failed" and g.nodes[record]["date"]
        for flag in ("late_payment", "boundary_violation"):
            # flag -> attempt <- record, attempt -> terminate
            attempts = [t for t in g.successors(record) if g.nodes[t]["fact"] == "attempt"
                        and g.nodes[t]["signal"] == flag]
            assert len(attempts) == 1, (step, flag)
            t = attempts[0]
            assert g.nodes[t]["effect"] == "failed" and g.nodes[t]["layer"] == "remediation"
            assert any(g.nodes[s]["fact"] == "signal" and g.nodes[s]["name"] == flag
                       for s in g.predecessors(t))
            assert g.has_edge(t, candidate)
            assert g.edges[t, candidate]["rule"] == "dec.terminate.exhausted"
    # nothing of the layer points backwards: the graph stays acyclic
    assert nx.is_directed_acyclic_graph(g)


def test_acme_json_lists_the_layer() -> None:
    d = _acme().to_dict()
    rows = d["repairs"]
    failed = {(r["signal"], r["step"]) for r in rows
              if r["kind"] == "attempt" and r["effect"] == "failed"}
    assert {("late_payment", "frank_conversation"), ("late_payment", "fresh_agreement"),
            ("boundary_violation", "frank_conversation"),
            ("boundary_violation", "fresh_agreement")} <= failed
    # the April talk is older than the recency window for a state flag (well-being)
    assert {"kind": "attempt", "signal": "wellbeing", "step": "frank_conversation",
            "effect": "too_early"}.items() <= next(
        r for r in rows if r["signal"] == "wellbeing" and r["kind"] == "attempt"
        and r["step"] == "frank_conversation").items()
    nodes = {n["id"] for n in d["graph"]["nodes"]}
    assert all(r["node"] in nodes for r in rows)


def test_an_unavailable_repair_is_a_node_and_a_json_row() -> None:
    a = partways.assess_data({
        "client": "Solo Ltd", "as_of": "2026-11-01",
        "events": [{"date": "2026-05-04", "type": "late_payment", "days_late": 20},
                   {"date": "2026-08-03", "type": "late_payment", "days_late": 35}]})
    assert a.decision == "remediate"
    rows = [r for r in a.to_dict()["repairs"] if r["kind"] == "unavailable_repair"]
    assert rows == [{"kind": "unavailable_repair", "node": rows[0]["node"],
                     "signal": "late_payment", "step": "fresh_agreement",
                     "status": "not_applicable", "needs": "renewal"}]
    assert a.graph.nodes[rows[0]["node"]]["layer"] == "remediation"


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"{heading}:") + 1
    end = lines.index("", start)
    return lines[start:end]


def test_the_text_report_lists_every_repair_record_with_how_it_counted() -> None:
    section = _section(render_text(_acme(), "en"), "Repairs tried")
    assert section == [
        "  6 April 2026 Repair attempt (step: Talk frankly about the problems, outcome: "
        "failed) — “Owner promised to fix accounts payable and respect office hours; "
        "nothing changed”",
        "      “Crosses personal boundaries”, “Pays late”: failed",
        "      “The client is wearing you down”: too early to count",
        "  1 July 2026 Repair attempt (step: Start afresh with a new agreement, outcome: "
        "failed) — “Renewed to Jan 2027: net-15 terms, late fee, office hours 9-18 in "
        "writing; ignored”",
        "      “Crosses personal boundaries”, “Pays late”, “The client is wearing you down”: "
        "failed",
        # a step that is done by being recorded is listed, judged against nothing
        "  9 November 2026 Repair attempt (step: Consult your team) — “Both editors want "
        "out; they dread the late-night calls”"]


def test_an_old_repair_is_listed_as_too_early_to_count_and_in_every_language(
        ) -> None:
    case = {"client": "Mahan Print House", "as_of": "2026-11-20",
            "events": [{"date": "2026-06-10", "type": "late_payment", "days_late": 35},
                       {"date": "2026-09-15", "type": "late_payment", "days_late": 28}],
            "remediation": [
                {"date": "2024-03-12", "step": "frank_conversation", "outcome": "improved"},
                {"date": "2026-10-20", "step": "frank_conversation", "outcome": "failed"}]}
    a = partways.assess_data(case)
    assert _section(render_text(a, "en"), "Repairs tried")[1::2] == [
        "      “Pays late”: too early to count", "      “Pays late”: failed"]
    for lang, heading, failed in [("ar", "محاولات الإصلاح", "لم ينجح"),
                                  ("fa", "تلاش‌های اصلاح", "جواب نداد")]:
        lines = _section(render_text(a, lang), heading)
        assert len(lines) == 4 and lines[3].endswith(f": {failed}"), lang


def test_no_repair_section_without_repair_records() -> None:
    a = partways.assess(EXAMPLES / "nour-bakery-steady.yaml")
    assert "Repairs tried" not in render_text(a, "en")
