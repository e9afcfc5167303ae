"""Rule graph and decision-graph diagrams: structure, formats, determinism, the CLI, and
the committed diagrams/ being current."""

from __future__ import annotations

import dataclasses
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render import diagram
from partways.render.diagram import case_view, render, rule_diagrams, to_dot, to_mermaid
from partways.render.rulegraph import rule_graph

from _paths import EXAMPLES, ROOT

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed "
                               "(Debian/Ubuntu package 'graphviz')")
ABUSE = EXAMPLES / "kian-construction-verbal-abuse.yaml"  # terminate_now, with a plan
STEADY = EXAMPLES / "nour-bakery-steady.yaml"  # keep


@pytest.fixture(scope="module")
def rules_g(kb: partways.KnowledgeBase) -> nx.DiGraph:
    return rule_graph(kb)


@pytest.fixture(scope="module")
def abuse(kb: partways.KnowledgeBase) -> partways.Assessment:
    return partways.assess(ABUSE, kb)


# -- the rule graph ---------------------------------------------------------------------------

def test_every_rule_is_a_node_with_its_patterns_and_conclusion(
        kb: partways.KnowledgeBase, rules_g: nx.DiGraph) -> None:
    for r in kb.rules:
        node = f"rule:{r.id}"
        d = rules_g.nodes[node]
        assert d["kind"] == "rule" and d["label"] == kb.text(r.title, "en")
        assert d["note"] == r.id and d["guidance"].split() == list(r.guidance)
        sources = [u for u in rules_g.predecessors(node)]
        assert len(sources) >= 1, r.id
        # every pattern's fact type feeds the rule, through its type or one of its values
        for p in r.when:
            assert any(u == f"fact:{p.fact}" or u.startswith(f"value:{p.fact}=")
                       for u in sources), (r.id, p.fact)
        (target,) = list(rules_g.successors(node))
        assert target == f"fact:{r.then_fact}" or target.startswith(f"value:{r.then_fact}=")


def test_negated_patterns_are_dashed(kb: partways.KnowledgeBase, rules_g: nx.DiGraph) -> None:
    negated = [(r, p) for r in kb.rules for p in r.when if p.negated]
    assert negated, "the shipped KB uses negation"
    for r, p in negated:
        edges = [rules_g.edges[u, f"rule:{r.id}"] for u in rules_g.predecessors(f"rule:{r.id}")
                 if u == f"fact:{p.fact}" or u.startswith(f"value:{p.fact}=")]
        assert any(e["style"] == "dashed" and e["label"] == "not" for e in edges), r.id


def test_conclusions_name_their_values(rules_g: nx.DiGraph) -> None:
    decisions = {rules_g.nodes[n]["note"] for n in rules_g
                 if n.startswith("value:candidate=")}
    assert {"keep", "monitor", "remediate", "terminate", "terminate_now"} <= decisions


def test_layers_run_left_to_right(rules_g: nx.DiGraph) -> None:
    layers = rules_g.graph["layers"]
    assert layers[0] == "evidence"
    for early, late in [("remediation", "exit"), ("decision", "exit")]:
        assert layers.index(early) < layers.index(late)
    assert {rules_g.nodes[n]["layer"] for n in rules_g} == set(layers)


def test_titles_follow_the_language(kb: partways.KnowledgeBase) -> None:
    g = rule_graph(kb, "fa")
    r = kb.rules[0]
    assert g.nodes[f"rule:{r.id}"]["label"] == r.title["fa"]
    assert g.graph["layer_titles"]["evidence"] == kb.ui_text("diagram_layer_evidence", "fa")


def test_layer_focus_keeps_neighbours_as_context(kb: partways.KnowledgeBase) -> None:
    g = rule_graph(kb, layers=["decision"])
    core = [n for n in g if not g.nodes[n].get("context")]
    assert core and all(g.nodes[n]["layer"] == "decision" for n in core)
    context = [n for n in g if g.nodes[n].get("context")]
    assert context and all(g.nodes[n]["layer"] != "decision" for n in context)
    assert g.number_of_nodes() < rule_graph(kb).number_of_nodes()


# -- formats ----------------------------------------------------------------------------------

def test_dot_is_left_to_right_clustered_and_deterministic(
        kb: partways.KnowledgeBase, rules_g: nx.DiGraph) -> None:
    src = to_dot(rules_g)
    assert src == to_dot(rule_graph(kb))
    assert "rankdir=LR" in src
    assert src.count("subgraph cluster_") == len(rules_g.graph["layers"])
    for r in kb.rules:
        assert r.id in src


def test_mermaid_has_one_subgraph_per_layer(kb: partways.KnowledgeBase,
                                            rules_g: nx.DiGraph) -> None:
    text = to_mermaid(rules_g)
    assert text.startswith("flowchart LR\n")
    assert text.count("\n  subgraph ") == len(rules_g.graph["layers"])
    assert text.count("\n  end\n") == len(rules_g.graph["layers"])
    assert "-.->|\"not\"|" in text
    assert text == to_mermaid(rule_graph(kb))


def test_mermaid_labels_are_escaped() -> None:
    g = nx.DiGraph(layers=["x"])
    g.add_node("a", layer="x", label='say "hi" [now] <b> a|b #1', note="", kind="fact")
    text = to_mermaid(g)
    line = next(x for x in text.splitlines() if "hi" in x)
    assert '"hi"' not in line and "[now]" not in line and "<b>" not in line
    assert "#quot;hi#quot;" in line and "#35;1" in line


def test_json_and_graphml_round_trip(rules_g: nx.DiGraph) -> None:
    data = json.loads(render(rules_g, "json"))
    assert len(data["nodes"]) == rules_g.number_of_nodes()
    assert len(data["links"]) == rules_g.number_of_edges()
    back = nx.parse_graphml(render(rules_g, "graphml").decode("utf-8"))
    assert back.number_of_nodes() == rules_g.number_of_nodes()
    assert back.number_of_edges() == rules_g.number_of_edges()


@needs_dot
def test_svg_and_png_through_dot(rules_g: nx.DiGraph) -> None:
    svg = render(rules_g, "svg").decode("utf-8")
    assert "<svg" in svg and diagram.svg_digest(svg) == diagram.dot_digest(to_dot(rules_g))
    # rule tooltips carry their guidance ids (dot escapes the hyphen)
    assert "DEC-" in html.unescape(svg)
    assert render(rules_g, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_without_dot_images_fail_clearly_and_text_formats_work(
        monkeypatch: pytest.MonkeyPatch, rules_g: nx.DiGraph) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    with pytest.raises(partways.PartwaysError, match="package 'graphviz'"):
        render(rules_g, "svg")
    for fmt in ("dot", "mermaid", "json", "graphml"):
        assert render(rules_g, fmt)
    result = CliRunner().invoke(main, ["graph", "rules", "--format", "png"])
    assert result.exit_code == 1
    assert "Graphviz 'dot' not found" in result.output and "Traceback" not in result.output


# -- one case ---------------------------------------------------------------------------------

def test_case_view_keeps_the_decision_graph(abuse: partways.Assessment) -> None:
    full = case_view(abuse, merge=False)
    assert set(full) == set(abuse.graph)
    assert full.number_of_edges() == abuse.graph.number_of_edges()
    g = case_view(abuse)
    # merged: facts with the same content are drawn once, evidence never merges
    assert set(g) <= set(abuse.graph)
    evidence = {n for n, d in abuse.graph.nodes(data=True) if d["layer"] == "evidence"}
    assert evidence <= set(g)
    labels = [(d["fact"], d["label"], d["note"]) for n, d in g.nodes(data=True)
              if d["layer"] in ("plan", "step")]
    assert len(labels) == len(set(labels))
    assert all(d["style"] == "solid" for _u, _v, d in g.edges(data=True))
    layers = g.graph["layers"]
    assert layers.index("evidence") < layers.index("signal") < layers.index("decision") \
        < layers.index("plan")
    assert abuse.decision_node in g


def test_why_not_draws_failed_paths_dashed(kb: partways.KnowledgeBase) -> None:
    a = partways.assess(STEADY, kb)
    assert a.decision == "keep"
    g = case_view(a, why_not="terminate_now")
    dashed = [n for n, d in g.nodes(data=True) if d.get("style") == "dashed"]
    assert any(g.nodes[n]["kind"] == "rule" for n in dashed)
    failed = [d for _u, _v, d in g.edges(data=True) if d.get("failed")]
    assert failed and all(d["style"] == "dashed" for d in failed)
    # the solid part is the case's own graph, unchanged
    plain = case_view(a)
    assert set(plain) <= set(g)
    assert all(g.nodes[n].get("style") != "dashed" for n in plain)
    text = to_dot(g)
    assert "style=dashed" in text or 'style="dashed' in text


def test_why_not_unknown_target_is_a_query_error(abuse: partways.Assessment) -> None:
    with pytest.raises(partways.QueryError, match="did you mean"):
        case_view(abuse, why_not="terminat")


def test_case_outputs_are_deterministic(kb: partways.KnowledgeBase) -> None:
    one = render(case_view(partways.assess(ABUSE, kb), "ar"), "dot")
    two = render(case_view(partways.assess(ABUSE, kb), "ar"), "dot")
    assert one == two


# -- CLI --------------------------------------------------------------------------------------

def test_cli_graph_rules_formats_from_suffix(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, start in [("r.mmd", "flowchart LR"), ("r.dot", "digraph"), ("r.json", "{"),
                        ("r.graphml", "<?xml")]:
        out = tmp_path / name
        result = runner.invoke(main, ["graph", "rules", "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_text("utf-8").startswith(start)


def test_cli_graph_case_why_not(tmp_path: Path) -> None:
    out = tmp_path / "case.mmd"
    result = CliRunner().invoke(main, ["graph", "case", str(STEADY), "--why-not", "terminate",
                                       "--lang", "ar", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "-.->" in out.read_text("utf-8")
    bad = CliRunner().invoke(main, ["graph", "case", str(STEADY), "--why-not", "nonsense"])
    assert bad.exit_code == 1 and "nonsense" in bad.output


def test_cli_unknown_layer_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["graph", "rules", "--layer", "decisoin"])
    assert result.exit_code == 2
    assert "did you mean 'decision'" in result.output


@needs_dot
def test_cli_png_to_stdout_is_binary() -> None:
    result = CliRunner().invoke(main, ["graph", "case", str(ABUSE), "--format", "png"])
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\x89PNG")


# -- the committed diagrams -------------------------------------------------------------------

def test_committed_diagrams_are_current(kb: partways.KnowledgeBase) -> None:
    """diagrams/rules.{dot,mmd} match the KB byte for byte; rules.svg was made from that
    DOT (its bytes vary with the Graphviz version). Regenerate: python tools/diagrams.py"""
    fresh = rule_diagrams(kb, names=("rules.dot", "rules.mmd", "overview.dot"))
    hint = "diagrams/ is stale: run `python tools/diagrams.py`"
    for name, data in fresh.items():
        path = ROOT / "diagrams" / name
        assert path.is_file() and path.read_bytes() == data, f"{name}: {hint}"
    for stem in ("rules", "overview"):
        svg = (ROOT / "diagrams" / f"{stem}.svg").read_text("utf-8")
        assert diagram.svg_digest(svg) == diagram.dot_digest(fresh[f"{stem}.dot"].decode()), \
            f"{stem}.svg: {hint}"


def test_the_overview_has_one_node_per_layer(kb: partways.KnowledgeBase) -> None:
    from partways.render.rulegraph import layer_overview

    g = layer_overview(kb)
    assert {g.nodes[n]["label"] for n in g} >= {"Evidence", "Decision"}
    assert len(g) <= 12 and nx.is_directed_acyclic_graph(g)
    assert any(g.nodes[n]["note"].endswith("rules") for n in g)


@needs_dot
def test_regeneration_script_check_mode() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "diagrams.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_cli_refuses_png_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from partways.cli import graph as graph_cli

    monkeypatch.setattr(graph_cli, "_stdout_is_terminal", lambda: True)
    result = CliRunner().invoke(main, ["graph", "rules", "--format", "png"])
    assert result.exit_code == 2
    assert "binary format" in result.output and "-o FILE" in result.output
    assert CliRunner().invoke(main, ["graph", "rules", "--format", "dot"]).exit_code == 0


@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_graphs_run_in_the_reading_direction(kb: partways.KnowledgeBase, lang: str) -> None:
    """A right-to-left language (the KB's ``rtl`` list) draws the flow right to left, and
    each label line is a right-to-left paragraph of its own; English is untouched."""
    rtl = lang in kb.rtl
    a = partways.assess(ABUSE)
    for g in (case_view(a, lang), rule_graph(kb, lang), rule_graph(kb, lang,
                                                                    layers=["decision"])):
        assert g.graph["direction"] == ("rtl" if rtl else "ltr")
        dot = to_dot(g)
        assert ("rankdir=RL" in dot) == rtl and ("rankdir=LR" in dot) != rtl
        assert ("\u2067" in dot) == rtl and dot.count("\u2067") == dot.count("\u2069")
        assert to_mermaid(g).startswith("flowchart RL" if rtl else "flowchart LR")
    ar_only = dataclasses.replace(kb, rtl=("ar",))  # the direction is the KB's data
    assert rule_graph(ar_only, "fa").graph["direction"] == "ltr"
