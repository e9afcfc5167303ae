"""The decision graph of one case: evidence -> metrics -> signals -> remediation ->
decision -> plan, one node per fact, one edge per premise of a firing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from .facts import PARAMS_ID
from .inference import Trace
from .knowledge import KnowledgeBase


def decision_graph(kb: KnowledgeBase, trace: Trace) -> nx.DiGraph:
    """Build the decision graph of ``trace``.

    Nodes are fact ids with ``fact`` (type), ``layer``, ``label`` and the fact's fields;
    an edge ``premise -> conclusion`` carries the ``rule`` id (``metric`` for a metric's
    supporting facts). Table rows and parameters stay out: they are KB, not case.

    Examples
    --------
    >>> import partways
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})
    >>> a.graph.number_of_nodes() >= 1
    True
    """
    g = nx.DiGraph()

    def add(fid: str) -> bool:
        fact = trace.facts[fid]
        ft = kb.fact_types.get(fact["fact"])
        if fid == PARAMS_ID or (ft is not None and ft.table):
            return False
        if fid not in g:
            label_field = ft.label_field if ft else None
            attrs: dict[str, Any] = {k: v for k, v in fact.items() if k not in ("id", "index")}
            attrs["layer"] = ft.layer if ft else "evidence"
            attrs["label"] = str(fact.get(label_field, fact["fact"])) if label_field \
                else fact["fact"]
            g.add_node(fid, **attrs)
        return True

    for firing in trace.firings:
        add(firing.conclusion)
        node = g.nodes[firing.conclusion]
        # a keyed conclusion may be supported by several rules: keep them all, and name
        # the first by id so the result does not depend on the order rules fired in
        rules = sorted({*node.get("rules", ()), *filter(None, [node.get("rule")]), firing.rule})
        node["rule"] = rules[0]
        if len(rules) > 1:
            node["rules"] = rules
        for _alias, pid in firing.premises:
            if add(pid):
                g.add_edge(pid, firing.conclusion, rule=firing.rule)
    for mid in sorted(n for n in list(g) if g.nodes[n]["fact"] == "metric"):
        for sid in trace.support.get(mid, ()):
            add(sid)
            g.add_edge(sid, mid, rule="metric")
    return g


def node_link(g: nx.DiGraph) -> dict[str, Any]:
    """Node-link JSON of ``g`` with nodes and links sorted (byte-stable)."""
    data = nx.node_link_data(g, edges="links")
    data["nodes"] = sorted(data["nodes"], key=lambda n: n["id"])
    data["links"] = sorted(data["links"], key=lambda e: (e["source"], e["target"], e["rule"]))
    return data


def ancestors_in(g: nx.DiGraph, node: str, layers: Iterable[str]) -> list[str]:
    """Ancestors of ``node`` whose layer is in ``layers``, sorted."""
    wanted = set(layers)
    return sorted(a for a in nx.ancestors(g, node) if g.nodes[a]["layer"] in wanted)
