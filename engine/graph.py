"""The decision graph of one case: evidence -> metrics -> signals -> remediation ->
decision -> plan, one node per fact, one edge per premise of a firing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .facts import PARAMS_ID
from .inference import Trace
from .knowledge import KnowledgeBase

if TYPE_CHECKING:
    import networkx as nx


class LightGraph:
    """A directed graph of plain dicts with the few operations an assessment needs.

    Building it costs a fraction of a networkx graph and needs no networkx import (cold
    start); :meth:`to_networkx` gives the same graph as a ``networkx.DiGraph`` (same nodes,
    attributes, edges and insertion order) for everything else.
    """

    __slots__ = ("_pred", "_succ", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self._succ: dict[str, dict[str, dict[str, Any]]] = {}
        self._pred: dict[str, dict[str, dict[str, Any]]] = {}

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def add_node(self, node: str, **attrs: Any) -> None:
        if node not in self.nodes:
            self.nodes[node] = {}
            self._succ[node] = {}
            self._pred[node] = {}
        self.nodes[node].update(attrs)

    def add_edge(self, u: str, v: str, **attrs: Any) -> None:
        for n in (u, v):
            if n not in self.nodes:
                self.add_node(n)
        data = self._succ[u].get(v)
        if data is None:
            data = self._succ[u][v] = {}
            self._pred[v][u] = data
        data.update(attrs)

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._pred[node])

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ[node])

    def ancestors(self, node: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self._pred[node])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self._pred[n])
        seen.discard(node)
        return seen

    def to_networkx(self) -> nx.DiGraph:
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from((n, dict(a)) for n, a in self.nodes.items())
        g.add_edges_from((u, v, dict(d)) for u, nbrs in self._succ.items()
                         for v, d in nbrs.items())
        return g


def decision_graph(kb: KnowledgeBase, trace: Trace) -> nx.DiGraph:
    """The decision graph of ``trace`` as a ``networkx.DiGraph`` (see :func:`light_graph`).

    Examples
    --------
    >>> import partways
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})
    >>> a.graph.number_of_nodes() >= 1
    True
    """
    return light_graph(kb, trace).to_networkx()


def light_graph(kb: KnowledgeBase, trace: Trace) -> LightGraph:
    """Build the decision graph of ``trace``.

    Nodes are fact ids with ``fact`` (type), ``layer``, ``label`` and the fact's fields;
    an edge ``premise -> conclusion`` carries the ``rule`` id (``metric`` for a metric's
    supporting facts). Table rows and parameters stay out: they are KB, not case.
    """
    g = LightGraph()

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
                # two rules may draw the same edge to a keyed conclusion: name the first
                # by id, whatever the order they fired in
                seen = g._succ[pid].get(firing.conclusion)
                rule = min(seen["rule"], firing.rule) if seen and "rule" in seen \
                    else firing.rule
                g.add_edge(pid, firing.conclusion, rule=rule)
    for mid in sorted(n for n in list(g) if g.nodes[n]["fact"] == "metric"):
        for sid in trace.support.get(mid, ()):
            add(sid)
            g.add_edge(sid, mid, rule="metric")
    return g


def node_link(g: nx.DiGraph | LightGraph) -> dict[str, Any]:
    """Node-link JSON of ``g`` with nodes and links sorted (byte-stable); the same data as
    ``networkx.node_link_data(g, edges="links")``, sorted."""
    if isinstance(g, LightGraph):
        data: dict[str, Any] = {
            "directed": True, "multigraph": False, "graph": {},
            "nodes": [{**a, "id": n} for n, a in g.nodes.items()],
            "links": [{**d, "source": u, "target": v} for u, nbrs in g._succ.items()
                      for v, d in nbrs.items()]}
    else:
        import networkx as nx

        data = nx.node_link_data(g, edges="links")
    data["nodes"] = sorted(data["nodes"], key=lambda n: n["id"])
    data["links"] = sorted(data["links"], key=lambda e: (e["source"], e["target"], e["rule"]))
    return data


def ancestors_in(g: nx.DiGraph | LightGraph, node: str, layers: Iterable[str]) -> list[str]:
    """Ancestors of ``node`` whose layer is in ``layers``, sorted."""
    wanted = set(layers)
    if isinstance(g, LightGraph):
        found: Iterable[str] = g.ancestors(node)
    else:
        import networkx as nx

        found = nx.ancestors(g, node)
    return sorted(a for a in found if g.nodes[a]["layer"] in wanted)
