"""The decision graph of one case: evidence -> metrics -> signals -> remediation ->
decision -> plan, one node per fact, one edge per premise of a firing."""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .facts import PARAMS_ID
from .inference import Trace
from .knowledge import KnowledgeBase, per_kb

if TYPE_CHECKING:
    import networkx as nx


class LightGraph:
    """A directed graph of plain dicts with the few operations an assessment needs.

    Building it costs a fraction of a networkx graph and needs no networkx import (cold
    start); :meth:`to_networkx` gives the same graph as a ``networkx.DiGraph`` (same nodes,
    attributes, edges and insertion order) for everything else.

    Nodes and edges are held in their node-link form, so that :func:`node_link` needs no
    copies: a node's attributes also carry its ``id``, an edge's its ``source`` and
    ``target`` (``to_networkx`` leaves them out).
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
        attrs.pop("id", None)  # a node's id is its name: an attribute does not replace it
        found = self.nodes.get(node)
        if found is None:
            self.nodes[node] = {"id": node, **attrs}
            self._succ[node] = {}
            self._pred[node] = {}
        else:
            found.update(attrs)

    def add_edge(self, u: str, v: str, **attrs: Any) -> None:
        for n in (u, v):
            if n not in self.nodes:
                self.add_node(n)
        data = self._succ[u].get(v)
        if data is None:
            data = self._succ[u][v] = {}
            self._pred[v][u] = data
        data.update(attrs)
        data["source"], data["target"] = u, v

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

    def ancestors_in(self, node: str, layers: Container[str]) -> list[str]:
        """:meth:`ancestors` whose layer is in ``layers``, sorted (one walk)."""
        nodes, pred = self.nodes, self._pred
        seen = {node}  # the node itself is never its own ancestor, even on a cycle
        todo = list(pred[node])
        out = []
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(pred[n])
                if nodes[n]["layer"] in layers:
                    out.append(n)
        out.sort()
        return out

    def to_networkx(self) -> nx.DiGraph:
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from((n, {k: x for k, x in a.items() if k != "id"})
                         for n, a in self.nodes.items())
        g.add_edges_from((u, v, {k: x for k, x in d.items() if k not in _ENDS})
                         for u, nbrs in self._succ.items() for v, d in nbrs.items())
        return g


_ENDS = ("source", "target")


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
    nodes, succ, pred = g.nodes, g._succ, g._pred
    facts = trace.facts
    kinds = _node_kinds(kb)
    plain = _PLAIN_KIND

    def add(fid: str) -> bool:  # fid is not a node yet
        fact = facts[fid]
        kind = kinds.get(fact["fact"], plain)
        if kind is None:
            return False
        label_field = kind[1]
        attrs = fact.copy()  # a copy without the list index
        attrs["id"] = fid
        attrs.pop("index", None)
        attrs["layer"] = kind[0]
        attrs["label"] = str(fact.get(label_field, fact["fact"])) if label_field \
            else fact["fact"]
        nodes[fid] = attrs
        succ[fid] = {}
        pred[fid] = {}
        return True

    for rule, premises, conclusion, _stratum in trace.firings:
        node = nodes.get(conclusion)
        if node is None:
            add(conclusion)
            node = nodes[conclusion]
        if "rule" in node or "rules" in node:
            # a keyed conclusion may be supported by several rules: keep them all, and
            # name the first by id so the result does not depend on the order rules fired in
            rules = sorted({*node.get("rules", ()), *filter(None, [node.get("rule")]), rule})
            node["rule"] = rules[0]
            if len(rules) > 1:
                node["rules"] = rules
        else:
            node["rule"] = rule
        into = pred[conclusion]
        for _alias, pid in premises:
            if pid in nodes or add(pid):
                # two rules may draw the same edge to a keyed conclusion: name the first
                # by id, whatever the order they fired in
                seen = into.get(pid)
                if seen is None:
                    into[pid] = succ[pid][conclusion] = {"rule": rule, "source": pid,
                                                         "target": conclusion}
                else:
                    seen["rule"] = min(seen["rule"], rule) if "rule" in seen else rule
    support = trace.support
    for mid in sorted(m for m in support if m in nodes and nodes[m]["fact"] == "metric"):
        for sid in support[mid]:
            if sid not in nodes and not add(sid):
                g.add_edge(sid, mid, rule="metric")
                continue
            data = succ[sid].get(mid)
            if data is None:
                succ[sid][mid] = pred[mid][sid] = {"rule": "metric", "source": sid,
                                                   "target": mid}
            else:
                data["rule"] = "metric"
    return g


#: A fact type's place in the graph: ``None`` (a table row: kept out), else its layer and
#: label field; a type the KB does not declare is evidence labelled by its type.
_PLAIN_KIND: tuple[str, str | None] = ("evidence", None)
_KINDS: dict[int, tuple[KnowledgeBase, dict[str, tuple[str, str | None] | None]]] = {}


def _node_kinds(kb: KnowledgeBase) -> dict[str, tuple[str, str | None] | None]:
    """Every fact type's :data:`_PLAIN_KIND`-like entry, computed once per KB."""
    return per_kb(_KINDS, kb, _kinds_of)


def _kinds_of(kb: KnowledgeBase) -> dict[str, tuple[str, str | None] | None]:
    table = {name: None if ft.table else (ft.layer, ft.label_field or None)
             for name, ft in kb.fact_types.items()}
    table[PARAMS_ID] = None  # the parameters fact (its id is its type): KB, not case
    return table


_ID = itemgetter("id")
_LINK_KEY = itemgetter("source", "target", "rule")
_ENDS_KEY = itemgetter("source", "target")


def node_link(g: nx.DiGraph | LightGraph, *, copy: bool = True) -> dict[str, Any]:
    """Node-link JSON of ``g`` with nodes and links sorted (byte-stable); the same data as
    ``networkx.node_link_data(g, edges="links")``, sorted. ``copy=False`` (a
    :class:`LightGraph` about to be serialised) hands out the graph's own dicts."""
    if isinstance(g, LightGraph):
        nodes, succ = g.nodes, g._succ
        # a graph has one edge per (source, target): sorted by both, the sources in the
        # nodes' order and each source's targets among themselves (small sorts of plain
        # strings instead of one keyed sort of every edge)
        order = sorted(nodes)
        links = [nbrs[t] for n in order if (nbrs := succ[n]) for t in sorted(nbrs)]
        if copy:
            return {"directed": True, "multigraph": False, "graph": {},
                    "nodes": [dict(nodes[n]) for n in order],
                    "links": [dict(d) for d in links]}
        return {"directed": True, "multigraph": False, "graph": {},
                "nodes": [nodes[n] for n in order], "links": links}
    import networkx as nx

    data = nx.node_link_data(g, edges="links")
    data["nodes"] = sorted(data["nodes"], key=_ID)
    data["links"] = sorted(data["links"], key=_LINK_KEY)
    return data


def ancestors_in(g: nx.DiGraph | LightGraph, node: str, layers: Iterable[str]) -> list[str]:
    """Ancestors of ``node`` whose layer is in ``layers``, sorted."""
    wanted = set(layers)
    if isinstance(g, LightGraph):
        return g.ancestors_in(node, wanted)
    import networkx as nx

    return sorted(a for a in nx.ancestors(g, node) if g.nodes[a]["layer"] in wanted)
