"""The knowledge base as a graph: fact types and values -> rules -> conclusions.

Nodes and edges carry the *diagram attributes* every renderer in :mod:`partways.diagram`
reads (see there); the graph itself is plain networkx, so it can be analysed too.

Node ids:

* ``fact:<type>``: a fact type of the vocabulary;
* ``value:<type>=<value>``: one value of a fact type's label field (a signal name, a
  decision value, a plan step, a metric, an event type), present when a rule concludes it
  as a constant or a pattern tests for it;
* ``rule:<id>``: a rule.

Edges run ``fact/value -> rule`` (a pattern; ``negated`` for ``not``), ``rule ->
fact/value`` (the conclusion), ``value -> fact`` when a rule concludes the value (it is
one of that type: generic consumers read it), ``fact -> value`` when a value is only
tested for, and ``fact/value -> value:metric=...`` for the inputs of a metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..expr import Cond, Const, Test, refs_of
from ..knowledge import KnowledgeBase, Rule

if TYPE_CHECKING:  # imported where a graph is made: titles need no networkx (cold start)
    import networkx as nx

METRIC = "metric"  # the fact type engine/facts.py asserts for every metric (docs/KB_FORMAT.md)


def concept_kinds(kb: KnowledgeBase) -> dict[str, str]:
    """Which concept kind names the label values of each fact type (from the manifest).

    A fact type named like a concept kind (``signal`` facts, ``signal`` concepts) maps
    to it too.
    """
    out: dict[str, str] = {}

    def walk(spec: Any) -> None:
        if isinstance(spec, Mapping):
            if isinstance(spec.get("fact"), str) and isinstance(spec.get("concept"), str):
                out.setdefault(spec["fact"], spec["concept"])
                if isinstance(spec.get("candidate"), str):
                    out.setdefault(spec["candidate"], spec["concept"])
            for key in sorted(spec):
                walk(spec[key])
        elif isinstance(spec, (list, tuple)):
            for item in spec:
                walk(item)

    walk(kb.outputs)
    for name in kb.fact_types:
        if name in kb.concepts:
            out.setdefault(name, name)
    return dict(sorted(out.items()))


def value_title(kb: KnowledgeBase, fact: str, value: Any, lang: str) -> str:
    """The display title of a label value: its concept, metric or UI text, else itself."""
    kind = concept_kinds(kb).get(fact)
    c = kb.concept(kind, str(value)) if kind else None
    if c is not None:
        return kb.text(c.title, lang)
    if fact == METRIC:
        for m in kb.metrics:
            if m.name == value:
                return kb.text(m.title, lang)
    for key in (f"{fact}_{value}", f"value_{value}"):
        if key in kb.ui:
            return kb.text(kb.ui[key], lang)
    for items in kb.concepts.values():  # a step or signal named by its key elsewhere
        if str(value) in items:
            return kb.text(items[str(value)].title, lang)
    return str(value)


def type_title(kb: KnowledgeBase, fact: str, lang: str) -> str:
    """What a fact type is, in words (``fact_<type>``, ``explain_fact_<type>`` or
    ``<type>`` of the KB's UI texts), else its name."""
    for key in (f"fact_{fact}", f"explain_fact_{fact}", fact):
        if key in kb.ui:
            return kb.text(kb.ui[key], lang)
    return fact


def rule_group(kb: KnowledgeBase, rule: Rule) -> str:
    """The layer a rule is drawn in: its folder under ``rules/``, else its conclusion's layer."""
    if rule.origin is not None and rule.origin.path:
        path = Path(rule.origin.path)
        for root in kb.roots:
            try:
                rel = path.relative_to(Path(root) / "rules")
            except ValueError:
                continue
            if len(rel.parts) > 1:
                return rel.parts[0]
    ft = kb.fact_types.get(rule.then_fact)
    return ft.layer if ft else "rules"


def rule_graph(kb: KnowledgeBase, lang: str = "en", *,
               layers: Iterable[str] | None = None) -> nx.DiGraph:
    """Build the rule graph of ``kb`` with texts in ``lang``.

    Parameters
    ----------
    kb : KnowledgeBase
    lang : str
        Language of the titles (ids are shown as well).
    layers : iterable of str, optional
        Keep only these layers plus their direct neighbours (drawn as context), for a
        readable picture of one part of a large KB.

    Examples
    --------
    >>> import partways
    >>> from partways.rulegraph import rule_graph
    >>> g = rule_graph(partways.load_kb())
    >>> all(g.nodes[n]["kind"] == "rule" for n in g if n.startswith("rule:"))
    True
    """
    import networkx as nx

    g = nx.DiGraph()
    kinds = concept_kinds(kb)
    produced_values: set[str] = set()

    def fact_node(name: str) -> str:
        nid = f"fact:{name}"
        if nid not in g:
            ft = kb.fact_types.get(name)
            g.add_node(nid, kind="fact", label=type_title(kb, name, lang),
                       note=name if lang == "en" else "",
                       base_layer=ft.layer if ft else "evidence", tooltip=name)
        return nid

    def value_node(fact: str, value: Any) -> str:
        nid = f"value:{fact}={value}"
        if nid not in g:
            fact_node(fact)
            ft = kb.fact_types.get(fact)
            g.add_node(nid, kind="value", label=value_title(kb, fact, value, lang),
                       note=str(value) if lang == "en" else "", fact=fact,
                       base_layer=ft.layer if ft else "evidence",
                       tooltip=f"{fact} {ft.label_field if ft else ''} = {value}")
            kind = kinds.get(fact)
            c = kb.concept(kind, str(value)) if kind else None
            if c is not None and c.guidance:
                g.nodes[nid]["guidance"] = " ".join(c.guidance)
                g.nodes[nid]["tooltip"] += " · " + " ".join(c.guidance)
        return nid

    for m in kb.metrics:
        mid = value_node(METRIC, m.name)
        inputs: set[str] = set()
        if m.count:
            inputs.update(_pattern_sources(kb, m.count, m.where, value_node, fact_node))
        exprs = [*([m.value] if m.value is not None else []), *m.where]
        for expr in exprs:
            for ref in refs_of(expr):
                if ref.alias in kb.fact_types:
                    inputs.add(fact_node(ref.alias))
        for src in sorted(inputs):
            g.add_edge(src, mid, kind="input", style="solid", label="", tooltip="")

    for r in kb.rules:
        rid = f"rule:{r.id}"
        tip = " ".join(r.guidance)
        g.add_node(rid, kind="rule", label=kb.text(r.title, lang),
                   note=r.id if lang == "en" else " ".join(r.guidance),
                   layer=rule_group(kb, r), guidance=tip, severity=r.severity or "",
                   tooltip=f"{r.id} · {tip}" if tip else r.id)
        for p in r.when:
            for src in _pattern_sources(kb, p.fact, p.where, value_node, fact_node):
                conds = "; ".join(str(c) for c in p.where)
                g.add_edge(src, rid, kind="pattern", negated=p.negated,
                           style="dashed" if p.negated else "solid",
                           label=kb.ui_text("diagram_negated", lang) if p.negated else "",
                           tooltip=conds)
        ft = kb.fact_types.get(r.then_fact)
        label_expr = r.then.get(ft.label_field) if ft and ft.label_field else None
        if isinstance(label_expr, Const) and label_expr.value is not None:
            target = value_node(r.then_fact, label_expr.value)
            produced_values.add(target)
        else:
            target = fact_node(r.then_fact)
        g.add_edge(rid, target, kind="conclusion", style="solid", label="", tooltip="")

    for nid in sorted(n for n in g if g.nodes[n]["kind"] == "value"):
        generic = f"fact:{g.nodes[nid]['fact']}"
        # A concluded value feeds the generic consumers of its type; a tested-only value
        # is a special case of whatever produces the type.
        edge = (nid, generic) if nid in produced_values else (generic, nid)
        g.add_edge(*edge, kind="isa", style="dotted", label="", tooltip="")

    _assign_layers(g)
    if layers is not None:
        g = _focus(g, set(layers))
    g.graph["layers"] = layer_order(g, kb.layers)
    g.graph["layer_titles"] = {name: layer_title(kb, name, lang) for name in g.graph["layers"]}
    g.graph["name"] = kb.text(kb.title, lang) if kb.title else kb.name
    g.graph["direction"] = _direction(kb, lang)
    return g


def layer_overview(kb: KnowledgeBase, lang: str = "en") -> nx.DiGraph:
    """The rule graph folded to its layers: one node per layer (its title and how many
    rules it holds), an edge where a layer's conclusions feed another's rules. Small
    enough to read at the width of a README, where the full graph is not.

    Examples
    --------
    >>> import partways
    >>> from partways.rulegraph import layer_overview
    >>> g = layer_overview(partways.load_kb())
    >>> "layer:decision" in g
    True
    """
    import networkx as nx

    from .lang import for_kb

    full = rule_graph(kb, lang)
    lx = for_kb(kb, lang)
    order = full.graph["layers"]
    rules: dict[str, int] = {}
    for _n, d in full.nodes(data=True):
        if d["kind"] == "rule":
            rules[d["layer"]] = rules.get(d["layer"], 0) + 1
    g = nx.DiGraph()
    for layer in order:
        count = rules.get(layer, 0)
        note = lx.format(kb.ui_text("diagram_rule_count", lang), n=count) \
            if count and "diagram_rule_count" in kb.ui else ""
        g.add_node(f"layer:{layer}", kind="fact", layer="overview",
                   label=layer_title(kb, layer, lang), note=note, tooltip=layer)
    for u, v in full.edges():
        lu, lv = full.nodes[u]["layer"], full.nodes[v]["layer"]
        if lu != lv and order.index(lu) < order.index(lv):
            g.add_edge(f"layer:{lu}", f"layer:{lv}", style="solid", label="", tooltip="")
    g.graph["layers"] = ["overview"]
    g.graph["layer_titles"] = {"overview": full.graph["name"]}
    g.graph["name"] = ""
    g.graph["direction"] = lx.direction
    return g


def _direction(kb: KnowledgeBase, lang: str) -> str:
    from .lang import for_kb

    return for_kb(kb, lang).direction


def layer_title(kb: KnowledgeBase, layer: str, lang: str) -> str:
    """``diagram_layer_<name>`` from the KB's UI texts, else the name."""
    key = f"diagram_layer_{layer}"
    return kb.text(kb.ui[key], lang) if key in kb.ui else layer


def layer_order(g: nx.DiGraph, preferred: tuple[str, ...] = ()) -> list[str]:
    """The layers of ``g`` left to right: by how deep each sits in the flow of edges.

    Layers named in ``preferred`` (the KB manifest's ``layers``) keep that order among
    equals; cycles between layers are collapsed, so any graph gets an order.
    """
    import networkx as nx

    lg = nx.DiGraph()
    for _n, d in g.nodes(data=True):
        lg.add_node(d["layer"])
    for u, v in g.edges():
        lu, lv = g.nodes[u]["layer"], g.nodes[v]["layer"]
        if lu != lv:
            lg.add_edge(lu, lv)
    cond = nx.condensation(lg)
    depth: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        depth[c] = max((depth[p] + 1 for p in cond.predecessors(c)), default=0)
    known = {name: i for i, name in enumerate(preferred)}

    def key(layer: str) -> tuple[int, int, str]:
        return (depth[cond.graph["mapping"][layer]], known.get(layer, len(known)), layer)

    return sorted(lg, key=key)


def _label_values(kb: KnowledgeBase, fact: str, where: Iterable[Cond]) -> list[Any]:
    """Values of the label field a condition list pins down (``eq``/``in`` constants)."""
    ft = kb.fact_types.get(fact)
    if ft is None or ft.label_field is None:
        return []
    for c in where:
        if isinstance(c, Test) and c.field == ft.label_field and isinstance(c.operand, Const):
            if c.op == "eq":
                return [c.operand.value]
            if c.op == "in":
                return sorted(c.operand.value, key=str)
    return []


def _pattern_sources(kb: KnowledgeBase, fact: str, where: Iterable[Cond], value_node: Any,
                     fact_node: Any) -> list[str]:
    """The nodes a pattern reads: its pinned label values, else the whole fact type."""
    where = tuple(where)
    values = _label_values(kb, fact, where)
    # One pinned value reads that value's node; a set of values (``in``, ``any``) reads
    # the fact type, so a hub like "decision in [...]" is one edge, not one per value.
    if len(values) == 1:
        return [value_node(fact, values[0])]
    return [fact_node(fact)]


def _assign_layers(g: nx.DiGraph) -> None:
    """Put each fact/value node in the layer of the rules that conclude it.

    Inputs (never concluded) keep their vocabulary layer; a value only tested for sits
    with its fact type.
    """
    for n in sorted(g):
        d = g.nodes[n]
        if d["kind"] == "rule":
            continue
        producers = sorted(g.nodes[p]["layer"] for p in g.predecessors(n)
                           if g.nodes[p]["kind"] == "rule")
        if producers:
            d["layer"] = producers[0]
    for n in sorted(g):
        d = g.nodes[n]
        if "layer" not in d and d["kind"] == "fact":
            # A type whose values are concluded sits with the first of them.
            values = sorted(g.nodes[p]["layer"] for p in g.predecessors(n)
                            if "layer" in g.nodes[p])
            if values:
                d["layer"] = values[0]
    for n in sorted(g):
        d = g.nodes[n]
        if "layer" not in d and d["kind"] == "value":
            d["layer"] = g.nodes[f"fact:{d['fact']}"].get("layer", d["base_layer"])
    for n in sorted(g):
        if "layer" not in g.nodes[n]:
            g.nodes[n]["layer"] = g.nodes[n]["base_layer"]


def _focus(g: nx.DiGraph, layers: set[str]) -> nx.DiGraph:
    """The nodes of ``layers`` plus their direct neighbours (marked ``context``)."""
    import networkx as nx

    core = {n for n, d in g.nodes(data=True) if d["layer"] in layers}
    near = {m for n in core for m in (*g.predecessors(n), *g.successors(n))} - core
    sub = nx.DiGraph(g.subgraph(core | near))
    for n in near:
        sub.nodes[n]["context"] = True
    # Edges between two context nodes are outside the focus.
    sub.remove_edges_from([(u, v) for u, v in list(sub.edges()) if u in near and v in near])
    return sub
