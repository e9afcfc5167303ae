"""Draw graphs: DOT (via the ``graphviz`` package), Mermaid, node-link JSON, GraphML,
and SVG/PNG through Graphviz ``dot``.

Renderers read *diagram attributes*, so the rule graph (:mod:`partways.rulegraph`) and a
case's decision graph (:func:`case_view`) share them:

* node: ``kind`` (``fact``, ``value``, ``rule``, ``condition``, ``missing``), ``layer``
  (one cluster per layer), ``label`` (title, in the chosen language), ``note`` (the id,
  shown small), ``tooltip``; optional ``style`` (``dashed`` for a path that did not
  fire) and ``context`` (a neighbour outside a ``--layer`` focus);
* edge: ``style`` (``solid``, ``dashed``, ``dotted``) and ``label``;
* graph: ``layers`` (in reading order), ``layer_titles``, ``name``, ``direction``
  (``rtl`` for a right-to-left language: the flow runs right to left, evidence on the
  right, as the reader reads).

Every renderer sorts what it writes: the same graph gives the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import json
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from .. import limits
from ..assessment import Assessment
from ..errors import PartwaysError
from ..explain import Check, FactRef, Goal, Premise
from ..expr import MISSING
from ..knowledge import KnowledgeBase
from ..textsafe import visible
from .lang import for_kb
from .rulegraph import (
    layer_order,
    layer_overview,
    layer_title,
    rule_graph,
    type_title,
    value_title,
)

TEXT_FORMATS = ("dot", "mermaid", "json", "graphml")
IMAGE_FORMATS = ("svg", "png")
FORMATS = (*TEXT_FORMATS, *IMAGE_FORMATS)
DOT_HASH_PREFIX = "partways-dot-sha256:"
WRAP = 28
FONT = "Noto Sans"

# Fill colours per layer position (light, printable; cycled when a KB has more layers).
_PALETTE = ("#eef4fb", "#f3f0fa", "#eef8f1", "#fdf6e7", "#fbeeee", "#edf7f7", "#f6f6f0",
            "#f9eef6")
_KIND_STYLE = {
    "rule": {"shape": "box", "style": "filled", "fillcolor": "#fff7d6", "color": "#b58900"},
    "fact": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffffff",
             "color": "#44546a"},
    "value": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff",
              "color": "#6b7b8c"},
    "condition": {"shape": "note", "style": "filled", "fillcolor": "#fdecea",
                  "color": "#c0392b"},
    "missing": {"shape": "box", "style": "rounded,dashed", "fillcolor": "#ffffff",
                "color": "#c0392b"},
}


# -- the decision graph of one case ----------------------------------------------------------

def case_view(a: Assessment, lang: str = "en", *, why_not: str | None = None,
              depth: int = 2, merge: bool = True) -> nx.DiGraph:
    """The decision graph of ``a`` with diagram attributes, texts in ``lang``.

    With ``merge`` (the default), derived facts with the same content (the same
    decision reached by three rules, then the same plan step under each) are drawn once,
    with every way they were reached as incoming edges; case evidence is never merged.
    With ``why_not`` (a target as :func:`partways.explain.why_not` takes it: a decision,
    a signal or step name, ``type:label``), the rules that could have concluded it are
    added, dashed, with the facts they matched and the first condition that failed on
    each (in red); ``depth`` levels of missing premises are followed.

    Examples
    --------
    >>> import partways
    >>> from partways.diagram import case_view
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})  # doctest: +SKIP
    >>> g = case_view(a)  # doctest: +SKIP
    >>> set(a.graph) >= set(g)  # doctest: +SKIP
    True
    """
    kb = a.kb
    lx = for_kb(kb, lang)
    src = a.graph
    alias = _merged(a) if merge else {n: n for n in src}
    primary = _primary_facts(kb)
    g = nx.DiGraph()
    for n in sorted(src):
        rep = alias[n]
        d = src.nodes[n]
        if rep in g:
            rules = {*g.nodes[rep]["rule"].split(), str(d.get("rule", ""))} - {""}
            g.nodes[rep]["rule"] = " ".join(sorted(rules))
            g.nodes[rep]["merged"] += 1
            g.nodes[rep]["tooltip"] = f"{rep} ← {g.nodes[rep]['rule']} " \
                f"(×{g.nodes[rep]['merged']})"
            continue
        fact = d.get("fact", "")
        ft = kb.fact_types.get(fact)
        has_value = bool(ft and ft.label_field and ft.label_field in d)
        templated = f"explain_title_{fact}" in kb.ui  # the KB's title says it all
        if templated:
            label = _fact_title(kb, fact, d, lang) or type_title(kb, fact, lang)
        elif has_value:
            label = value_title(kb, fact, d["label"], lang)
            if ft is not None and ft.derived and fact not in primary:
                # a state of another fact (an active red flag, a proposed decision): say
                # which, so it does not read as the same node twice
                label = f"{type_title(kb, fact, lang)}: {label}"
        elif d["layer"] == "evidence" and fact in kb.fact_types and d["label"] != fact:
            label = str(d["label"])  # a deliverable by its name, as the case wrote it
        else:
            label = type_title(kb, fact, lang)
        date = d.get("date", "") if d["layer"] == "evidence" else ""
        shown_id = d["label"] if lang == "en" and label != d["label"] and not templated \
            else ""
        note = " · ".join(x for x in (lx.date(str(date)) if date else "", shown_id,
                                      *(() if templated else _named_fields(a, n, ft, lang)))
                          if x)
        tip = n if not d.get("rule") else f"{n} ← {d['rule']}"
        g.add_node(rep, kind="value" if has_value else "fact", layer=d["layer"], label=label,
                   note=note, tooltip=tip, fact=fact, rule=str(d.get("rule", "")), merged=1)
    for u, v in sorted(src.edges()):
        rule = str(src.edges[u, v].get("rule", ""))
        if g.has_edge(alias[u], alias[v]):
            rules = {*g.edges[alias[u], alias[v]]["rule"].split(), rule}
            rule = " ".join(sorted(rules))
        g.add_edge(alias[u], alias[v], style="solid", label="", rule=rule, tooltip=rule)
    g.graph["alias"] = alias
    if why_not is not None:
        _add_failed_paths(g, a, why_not, lang, depth)
    del g.graph["alias"]
    present = {d["layer"] for _n, d in g.nodes(data=True)}
    order = kb.layers
    g.graph["layers"] = [x for x in (*order, *sorted(present - set(order))) if x in present]
    g.graph["layer_titles"] = {x: layer_title(kb, x, lang) for x in g.graph["layers"]}
    g.graph["name"] = a.client
    g.graph["direction"] = lx.direction
    return g


def _primary_facts(kb: KnowledgeBase) -> set[str]:
    """The fact types the KB's outputs are made of, plus those named like a concept kind:
    their nodes are titled by their value alone."""
    out = {"metric", *(k for k in kb.fact_types if k in kb.concepts)}
    for name in ("decision", "steps", "plan_steps", "milestones"):
        specs = kb.outputs.get(name) or []
        for spec in specs if isinstance(specs, list) else [specs]:
            out.add(str(spec.get("fact", "")))
    return out


def _named_fields(a: Assessment, node: str, ft: Any, lang: str) -> list[str]:
    """The titles of a derived fact's other fields that name a concept (the red flag and
    the step of a repair attempt), so equal labels stay apart."""
    fact = a.trace.facts.get(node)
    if fact is None or ft is None or not ft.derived:
        return []
    out = []
    for key in sorted(fact):
        value = fact[key]
        if key in ("fact", "id", "sid", ft.label_field) or not isinstance(value, str):
            continue
        title = value_title(a.kb, "", value, lang)
        if title != value:
            out.append(title)
    return out


def _fact_title(kb: KnowledgeBase, fact: str, fields: Mapping[str, Any], lang: str
                ) -> str | None:
    """A fact's title from the KB's template for its type (an attempt: its step, date and
    effect), if the KB has one."""
    from .explain import display_value, fact_title

    return fact_title(kb, fact, fields, lang) or (
        display_value(kb, fields["label"], lang) if "label" in fields else None)


def _merged(a: Assessment) -> dict[str, str]:
    """Node -> the node it is drawn as: derived facts with equal content share the
    smallest id among them."""
    groups: dict[str, list[str]] = {}
    for n in sorted(a.graph):
        fact = a.trace.facts.get(n)
        ft = a.kb.fact_types.get(fact["fact"]) if fact else None
        if fact is None or ft is None or not ft.derived:
            groups[n] = [n]
            continue
        content = json.dumps({k: v for k, v in fact.items() if k not in ("id", "sid")},
                             sort_keys=True, default=str)
        groups.setdefault(content, []).append(n)
    return {n: members[0] for members in groups.values() for n in members}


def _add_failed_paths(g: nx.DiGraph, a: Assessment, target: str, lang: str,
                      depth: int) -> None:
    """Draw, dashed, the rules that could conclude ``target`` and where each one fails
    (from :func:`partways.explain.why_not`)."""
    answer = a.why_not(target, depth=depth)
    for goal in answer.goals:
        _draw_goal(g, a, goal, lang)


def _draw_goal(g: nx.DiGraph, a: Assessment, goal: Goal, lang: str) -> str:
    """The node standing for ``goal``: a fact that satisfies it, else a dashed ghost with
    the rules that could conclude it (and, recursively, what they miss)."""
    kb = a.kb
    alias = g.graph.get("alias", {})
    for ref in goal.present:
        if alias.get(ref.id, ref.id) in g:
            return str(alias.get(ref.id, ref.id))
    ft = kb.fact_types.get(goal.fact_type)
    layer = ft.layer if ft else "evidence"
    named = [c for c in goal.constraints if ft is not None and c.field == ft.label_field
             and c.op == "eq"]
    label = value_title(kb, goal.fact_type, named[0].value, lang) if named else \
        type_title(kb, goal.fact_type, lang)
    wanted = "; ".join(_test_text(c.field, c.op, _fmt(c.value)) for c in goal.constraints)
    nid = f"why-not:{goal.fact_type}:{wanted}"
    if nid in g:
        return nid
    g.add_node(nid, kind="missing", layer=layer, label=label,
               note=(f"{goal.fact_type}: {wanted}" if wanted else goal.fact_type)
               if lang == "en" else type_title(kb, goal.fact_type, lang),
               tooltip=f"{goal.kind}: {goal.fact_type} {wanted}".strip(), style="dashed",
               fact=goal.fact_type, rule="")
    for attempt in goal.attempts:
        rule = kb.rule(attempt.rule)
        rid = f"why-not:rule:{rule.id}"
        if rid not in g:
            rft = kb.fact_types.get(rule.then_fact)
            g.add_node(rid, kind="rule", layer=rft.layer if rft else layer,
                       label=kb.text(rule.title, lang),
                       note=rule.id if lang == "en" else " ".join(rule.guidance),
                       tooltip=f"{rule.id} · {' '.join(rule.guidance)}", style="dashed",
                       fact="", rule=rule.id)
            for i, prem in enumerate(attempt.premises):
                _draw_premise(g, a, rid, i, prem, lang)
        g.add_edge(rid, nid, style="dashed", label="", rule=rule.id)
    return nid


def _draw_premise(g: nx.DiGraph, a: Assessment, rid: str, index: int, prem: Premise,
                  lang: str) -> None:
    """One pattern of a failed rule: a dashed edge from what it matched or missed."""
    from .explain import condition_text, looked_for_text

    failing = next((c for c in prem.checks if not c.held), None)
    text = condition_text(a.kb, prem.fact_type, failing, prem.fact, lang,
                          a.case.as_of.isoformat(), a.trace.params) \
        if failing is not None else ""
    if prem.negated:
        if not prem.held and prem.blocking:
            src = _ensure_fact(g, a, prem.blocking[0], lang)
            g.add_edge(src, rid, style="dashed", label=a.kb.ui_text(
                "explain_must_be_none", lang).format(what=looked_for_text(a.kb, prem, lang)),
                failed=True, rule=rid)
        return
    followed = prem.goal is not None and not prem.held and (
        prem.goal.attempts or prem.goal.kind != "derived")
    if prem.fact is not None:
        # the nearest fact, and why it is not the one the rule needs
        src = _ensure_fact(g, a, prem.fact, lang)
        g.add_edge(src, rid, style="dashed", label="" if prem.held else text,
                   failed=not prem.held, rule=rid)
    if followed and prem.goal is not None:
        g.add_edge(_draw_goal(g, a, prem.goal, lang), rid, style="dashed", label="",
                   failed=True, rule=rid)
    elif prem.fact is None:
        src = f"{rid}#{index}"
        missing = type_title(a.kb, prem.fact_type, lang)
        g.add_node(src, kind="condition", layer=g.nodes[rid]["layer"],
                   label=a.kb.ui_text("explain_none_in_case_of", lang).format(what=missing),
                   note=text, tooltip=text, fact="", rule="")
        g.add_edge(src, rid, style="dashed", label="", failed=True, rule=rid)


def _ensure_fact(g: nx.DiGraph, a: Assessment, ref: FactRef, lang: str) -> str:
    """The node of a case fact, added when the decision graph left it out."""
    rid = g.graph.get("alias", {}).get(ref.id, ref.id)
    if rid in g:
        return str(rid)
    if ref.id not in g:
        label = value_title(a.kb, ref.type, ref.label, lang) if ref.label else \
            type_title(a.kb, ref.type, lang)
        g.add_node(ref.id, kind="value" if ref.label else "fact", layer=ref.layer,
                   label=label, note=(ref.label or "") if lang == "en" else "",
                   tooltip=ref.id, fact=ref.type, rule="")
    return ref.id


_SYM = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "in": "in",
        "any": "any"}


def check_text(c: Check) -> str:
    """A failed condition with its values: ``value >= 3 ($late_payments_for_signal); is 2``."""
    if c.op == "any":
        return " or ".join("(" + ", ".join(check_text(x) for x in o) + ")" for o in c.options)
    required = _fmt(c.required)
    if c.param:
        required += f" (${c.param})"
    elif c.ref:
        required += f" ({c.ref})"
    actual = "absent" if c.actual is None else f"is {_fmt(c.actual)}"
    return f"{_test_text(c.field, c.op, required)}; {actual}"


def _test_text(field: str, op: str, required: str) -> str:
    """``field op value`` with the operator as a symbol (``ex``: the field is present)."""
    if op == "ex":
        return f"{field} is present"
    return f"{field} {_SYM.get(op, op)} {required}"


def _fmt(value: Any) -> str:
    if value is MISSING:
        return "missing"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# -- renderers ------------------------------------------------------------------------------

def stable_ids(g: nx.DiGraph) -> dict[str, str]:
    """Node name -> an id safe in DOT and Mermaid, derived from the name (so adding a node
    does not renumber the others and diffs of committed diagrams stay small)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for n in sorted(g, key=str):
        base = re.sub(r"[^A-Za-z0-9_]+", "_", str(n)).strip("_") or "n"
        nid, k = base, 2
        while nid in taken:
            nid, k = f"{base}_{k}", k + 1
        taken.add(nid)
        out[n] = nid
    return out


def short_ids(g: nx.DiGraph) -> dict[str, str]:
    """Node name -> a short id from a digest of the name (stable as nodes come and go);
    keeps a large KB's Mermaid text under Mermaid's default size limit (50,000)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for n in sorted(g, key=str):
        digest = hashlib.sha1(str(n).encode("utf-8")).hexdigest()
        size = 6
        while f"n{digest[:size]}" in taken:
            size += 1
        out[n] = f"n{digest[:size]}"
        taken.add(out[n])
    return out


def _ordered_nodes(g: nx.DiGraph) -> list[str]:
    layers = {name: i for i, name in enumerate(g.graph.get("layers") or layer_order(g))}
    return sorted(g, key=lambda n: (layers.get(g.nodes[n]["layer"], len(layers)), n))


def _wrap(text: str, width: int = WRAP) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def to_dot(g: nx.DiGraph) -> str:
    """DOT source of ``g``: in the reading direction of its language (left to right, or
    right to left for ``direction: rtl``), one cluster per layer, HTML-like labels."""
    import graphviz  # optional at import time: only this renderer needs it

    rtl = g.graph.get("direction") == "rtl"
    dot = graphviz.Digraph(name="partways", strict=False)
    dot.attr(rankdir=_rankdir(g), newrank="true", nodesep="0.12", ranksep="0.5", fontname=FONT,
             fontsize="11", labelloc="t", label=_esc_label(g.graph.get("name", ""), rtl),
             tooltip=_esc_label(g.graph.get("name", "") or "partways"), compound="true")
    dot.attr("node", fontname=FONT, fontsize="10", margin="0.08,0.04")
    dot.attr("edge", fontname=FONT, fontsize="9", color="#5b6b7b", arrowsize="0.6")
    titles = g.graph.get("layer_titles", {})
    order = g.graph.get("layers") or layer_order(g)
    ids = stable_ids(g)
    by_layer: dict[str, list[str]] = {}
    for n in _ordered_nodes(g):
        by_layer.setdefault(g.nodes[n]["layer"], []).append(n)
    shown: list[tuple[int, list[str]]] = []
    for i, layer in enumerate(order):
        members = by_layer.get(layer, [])
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{i}") as sub:
            sub.attr(label=_esc_label(titles.get(layer, layer), rtl), style="rounded,filled",
                     fillcolor=_PALETTE[i % len(_PALETTE)], color="#c5ced8", fontsize="12",
                     tooltip=_esc_label(layer))
            for n in members:
                sub.node(ids[n], **_dot_node(g.nodes[n], rtl))
            # An invisible post at the start of each layer; every node sits between its
            # layer's post and the next one, so layers follow strictly in reading order.
            sub.node(f"layer_{i}", label="", shape="point", style="invis", width="0")
        shown.append((i, members))
    for (i, members), (j, _next) in itertools.pairwise(shown):
        dot.edge(f"layer_{i}", f"layer_{j}", style="invis", weight="10")
        for n in members:
            dot.edge(f"layer_{i}", ids[n], style="invis", weight="0")
            dot.edge(ids[n], f"layer_{j}", style="invis", weight="0")
    for u, v in sorted(g.edges(), key=lambda e: (ids[e[0]], ids[e[1]])):
        d = g.edges[u, v]
        attrs = {"style": d.get("style", "solid")}
        if d.get("label"):
            attrs["label"] = _esc_label("\n".join(_wrap(str(d["label"]), 36)), rtl)
        if d.get("tooltip"):
            attrs["tooltip"] = _esc_label(str(d["tooltip"]))
        if d.get("failed"):
            attrs["color"] = "#c0392b"
            attrs["fontcolor"] = "#c0392b"
        elif d.get("style") == "dotted":
            attrs["color"] = "#a0aab4"
            attrs["arrowhead"] = "none"
        dot.edge(ids[u], ids[v], **attrs)
    return dot.source


def _rankdir(g: nx.DiGraph) -> str:
    return "RL" if g.graph.get("direction") == "rtl" else "LR"


RLI, PDI = "\u2067", "\u2069"


def _line(text: str, rtl: bool) -> str:
    """One line of a label, already made safe, as a right-to-left paragraph of its own in
    a right-to-left graph. Graphviz places each line from its left end (an SVG viewer lays
    it out left to right); the isolate orders its words for a right-to-left reader (``25
    مايو 2026`` reads from the day on the right), whatever the viewer's direction."""
    return f"{RLI}{text}{PDI}" if rtl and text else text


def _esc_label(text: str, rtl: bool = False) -> str:
    """A plain DOT string from any text: never read as an HTML-like label (``<...>``),
    backslashes literal (no ``\\N``-style escapes, no unterminated string), control
    characters visible; the graphviz package then quotes it and escapes its quotes.
    Newlines become centred line breaks; ``rtl``: each line a right-to-left paragraph."""
    import graphviz

    lines = text.split("\n")
    return graphviz.nohtml("\\n".join(_line(visible(x).replace("\\", "\\\\"), rtl)
                                       for x in lines))


def _html_text(text: str) -> str:
    """Text for inside an HTML-like label the renderer builds: entities for markup and
    quotes, control characters visible."""
    return html.escape(visible(text), quote=True)


def _dot_node(d: dict[str, Any], rtl: bool = False) -> dict[str, str]:
    lines = "<BR/>".join(_line(_html_text(x), rtl) for x in _wrap(str(d.get("label", ""))))
    note = _line(_html_text(str(d.get("note", ""))), rtl)
    label = f"<{lines}" + (f'<BR/><FONT POINT-SIZE="9" COLOR="#5b6b7b">{note}</FONT>'
                           if note and str(d.get("note")) != str(d.get("label")) else "") + ">"
    attrs = dict(_KIND_STYLE.get(d.get("kind", "fact"), _KIND_STYLE["fact"]))
    attrs["label"] = label
    attrs["tooltip"] = _esc_label(str(d.get("tooltip") or d.get("note") or ""))
    if d.get("style") == "dashed":
        attrs["style"] = attrs["style"].replace("filled", "dashed,filled") \
            if "dashed" not in attrs["style"] else attrs["style"]
    if d.get("context"):
        attrs["color"] = "#b0b8c0"
        attrs["fontcolor"] = "#7b8794"
        attrs["fillcolor"] = "#f4f4f4"
    return attrs


_MERMAID_ESC = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;", "&": "#amp;",
                "`": "#96;", "|": "#124;", "[": "#91;", "]": "#93;", "{": "#123;",
                "}": "#125;", ";": "#59;"}


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes, no raw HTML)."""
    return "".join(_MERMAID_ESC.get(ch, ch) for ch in text.replace("\n", " "))


def to_mermaid(g: nx.DiGraph) -> str:
    """A Mermaid ``flowchart LR`` of ``g`` (``RL`` for a right-to-left language), one
    subgraph per layer."""
    order = g.graph.get("layers") or layer_order(g)
    titles = g.graph.get("layer_titles", {})
    nodes = _ordered_nodes(g)
    ids = short_ids(g)
    out = [f"flowchart {_rankdir(g)}"]
    for i, layer in enumerate(order):
        members = [n for n in nodes if g.nodes[n]["layer"] == layer]
        if not members:
            continue
        out.append(f'  subgraph L{i}["{mermaid_escape(titles.get(layer, layer))}"]')
        for n in members:
            d = g.nodes[n]
            label = "<br/>".join(mermaid_escape(x) for x in _wrap(str(d.get("label", ""))))
            note = str(d.get("note", ""))
            if note and note != str(d.get("label")):
                label += f"<br/><small>{mermaid_escape(note)}</small>"
            shape = ('["', '"]') if d.get("kind") == "rule" else ('("', '")')
            out.append(f"    {ids[n]}{shape[0]}{label}{shape[1]}")
        out.append("  end")
    for u, v in sorted(g.edges(), key=lambda e: (ids[e[0]], ids[e[1]])):
        d = g.edges[u, v]
        arrow = {"dashed": "-.->", "dotted": "-.-"}.get(d.get("style", "solid"), "-->")
        label = f'|"{mermaid_escape(str(d["label"]))}"|' if d.get("label") else ""
        out.append(f"  {ids[u]} {arrow}{label} {ids[v]}")
    kinds: dict[str, list[str]] = {}
    for n in nodes:
        kinds.setdefault(str(g.nodes[n].get("kind", "fact")), []).append(ids[n])
        if g.nodes[n].get("style") == "dashed":
            kinds.setdefault("dashed", []).append(ids[n])
    for kind in sorted(kinds):
        st = _KIND_STYLE.get(kind)
        css = "stroke-dasharray:4 3" if kind == "dashed" else \
            f"fill:{st['fillcolor']},stroke:{st['color']}" if st else ""
        if css:
            out.append(f"  classDef {kind} {css}")
            out.append(f"  class {','.join(kinds[kind])} {kind}")
    return "\n".join(out) + "\n"


def to_json(g: nx.DiGraph) -> str:
    """Node-link JSON of ``g`` (sorted, UTF-8 kept)."""
    data = nx.node_link_data(g, edges="links")
    data["nodes"] = sorted(data["nodes"], key=lambda n: n["id"])
    data["links"] = sorted(data["links"], key=lambda e: (e["source"], e["target"]))
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1, default=str) + "\n"


def to_graphml(g: nx.DiGraph) -> str:
    """GraphML of ``g`` (attributes flattened to strings where GraphML needs it)."""
    h = nx.DiGraph()
    h.graph.update({"name": visible(str(g.graph.get("name", ""))),
                    "layers": " ".join(g.graph.get("layers") or layer_order(g))})
    for n in sorted(g):
        h.add_node(visible(n), **{k: _scalar(v) for k, v in sorted(g.nodes[n].items())})
    for u, v in sorted(g.edges()):
        h.add_edge(visible(u), visible(v),
                   **{k: _scalar(val) for k, val in sorted(g.edges[u, v].items())})
    buf = io.BytesIO()
    nx.write_graphml(h, buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


def _scalar(value: Any) -> Any:
    """A GraphML attribute value: XML 1.0 cannot hold control characters at all."""
    if isinstance(value, str):
        return visible(value)
    return value if isinstance(value, (int, float, bool)) else visible(json.dumps(
        value, ensure_ascii=False, sort_keys=True, default=str))


class GraphvizMissing(PartwaysError):
    """Graphviz ``dot`` is not installed."""


class GraphvizFailed(PartwaysError):
    """Graphviz ``dot`` is installed but failed or ran out of time."""


class GraphTooLarge(PartwaysError):
    """A graph has more nodes than :data:`partways.limits.MAX_LAYOUT_NODES`."""


def check_layout_size(g: nx.DiGraph) -> None:
    """Refuse to lay out a graph above the node cap (layout time grows steeply)."""
    if g.number_of_nodes() > limits.MAX_LAYOUT_NODES:
        raise GraphTooLarge(f"the graph has {g.number_of_nodes()} nodes, more than the "
                            f"{limits.MAX_LAYOUT_NODES} Graphviz lays out; the dot, mermaid, "
                            f"json and graphml formats have no such limit")


def dot_command() -> str:
    """The path of Graphviz ``dot``; a :class:`PartwaysError` naming the package if absent."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizMissing("Graphviz 'dot' not found: install the Debian/Ubuntu package "
                            "'graphviz' (or your OS's equivalent); the dot, mermaid, json "
                            "and graphml formats work without it")
    return path


def run_dot(source: str, fmt: str) -> bytes:
    """Lay out DOT ``source`` with Graphviz into ``fmt`` (``svg`` or ``png``)."""
    if fmt not in IMAGE_FORMATS:
        raise PartwaysError(f"unknown image format '{fmt}' (one of {', '.join(IMAGE_FORMATS)})")
    try:
        proc = subprocess.run([dot_command(), f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, check=False, timeout=limits.DOT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GraphvizFailed(f"Graphviz 'dot' failed: stopped after "
                             f"{limits.DOT_SECONDS:g} s") from None
    except OSError as exc:
        raise GraphvizFailed(f"Graphviz 'dot' failed: {exc.strerror}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizFailed(f"Graphviz 'dot' failed: {err[0] if err else proc.returncode}")
    out = proc.stdout
    if fmt == "svg":
        out = stamp_svg(out.decode("utf-8"), source).encode("utf-8")
    return out


def dot_digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def stamp_svg(svg: str, source: str) -> str:
    """Put the digest of the DOT an SVG was made from into it (for freshness checks)."""
    stamp = f"<!-- {DOT_HASH_PREFIX} {dot_digest(source)} -->\n"
    m = re.search(r"<svg[\s>]", svg)
    return svg[: m.start()] + stamp + svg[m.start():] if m else stamp + svg


def svg_digest(svg: str) -> str | None:
    """The DOT digest stamped into an SVG by :func:`stamp_svg`, if any."""
    m = re.search(re.escape(DOT_HASH_PREFIX) + r" ([0-9a-f]{64})", svg)
    return m.group(1) if m else None


def render(g: nx.DiGraph, fmt: str) -> bytes:
    """``g`` in ``fmt`` (one of :data:`FORMATS`) as bytes (text formats are UTF-8)."""
    if fmt == "dot":
        return to_dot(g).encode("utf-8")
    if fmt == "mermaid":
        return to_mermaid(g).encode("utf-8")
    if fmt == "json":
        return to_json(g).encode("utf-8")
    if fmt == "graphml":
        return to_graphml(g).encode("utf-8")
    if fmt in IMAGE_FORMATS:
        check_layout_size(g)
        return run_dot(to_dot(g), fmt)
    raise PartwaysError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")


def inline_svg(g: nx.DiGraph) -> str:
    """``g`` as an SVG element for embedding in HTML (no XML prolog or doctype)."""
    check_layout_size(g)
    svg = run_dot(to_dot(g), "svg").decode("utf-8")
    start = svg.find("<svg")
    return svg[start:].strip() + "\n"


RULE_DIAGRAMS = ("rules.dot", "rules.mmd", "rules.svg", "overview.dot", "overview.svg")


def rule_diagrams(kb: KnowledgeBase, lang: str = "en", *,
                  names: Iterable[str] = RULE_DIAGRAMS) -> dict[str, bytes]:
    """The committed diagrams of ``kb`` by file name: the whole rule graph
    (``diagrams/rules.*``) and its overview by layer (``diagrams/overview.*``)."""
    graphs = {"rules": rule_graph(kb, lang), "overview": layer_overview(kb, lang)}
    sources = {stem: to_dot(g) for stem, g in graphs.items()}
    out: dict[str, bytes] = {}
    for name in names:
        stem, _, suffix = name.partition(".")
        if stem not in graphs:
            raise PartwaysError(f"no diagram named '{name}'")
        if suffix == "dot":
            out[name] = sources[stem].encode("utf-8")
        elif suffix == "mmd":
            out[name] = to_mermaid(graphs[stem]).encode("utf-8")
        elif suffix == "svg":
            out[name] = run_dot(sources[stem], "svg")
        else:
            raise PartwaysError(f"no diagram named '{name}'")
    return out
