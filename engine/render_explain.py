"""Text and JSON renderings of the explanation records (``explain``, ``whatif``).

Rendering reads records and the KB's texts; it computes nothing. Every word shown comes
from the KB (rule, concept and metric titles, ``ui`` strings) in the requested language;
engine ids appear only next to their meaning. The JSON shapes are documented in
docs/EXPLAIN.md.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .explain import Check, Constraint, Derivation, FactRef, Goal, Premise, Why, WhyNot
from .knowledge import KnowledgeBase
from .render import describe_fact
from .whatif import Diff, Edit, FlipResult, WhatIf, load_editable

_SYM = {"eq": "=", "neq": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
_OK, _NO = "✓", "✗"


class _Words:
    """The KB's words in one language (titles, ui strings, field and type names)."""

    def __init__(self, kb: KnowledgeBase, lang: str) -> None:
        self.kb, self.lang = kb, lang
        self.metrics = {m.name: m for m in kb.metrics}
        self.kinds: dict[str, str] = {}
        out = kb.outputs
        self.kinds[out["decision"]["fact"]] = out["decision"].get("concept", "")
        self.kinds[out["decision"]["candidate"]] = out["decision"].get("concept", "")
        for name in ("findings", "steps", "plan_steps", "milestones"):
            items = out.get(name) or []
            for spec in items if isinstance(items, list) else [items]:
                self.kinds.setdefault(spec["fact"], spec.get("concept", ""))

    def ui(self, key: str, **fmt: Any) -> str:
        text = self.kb.ui_text(key, self.lang)
        return text.format(**fmt) if fmt else text

    def type_name(self, fact_type: str) -> str:
        key = f"explain_fact_{fact_type}"
        return self.ui(key) if key in self.kb.ui else fact_type.replace("_", " ")

    def field_name(self, fact_type: str, field: str) -> str:
        if fact_type and self.metric_of(fact_type, field):
            return ""
        for key in (f"field_{field}", f"explain_field_{field}"):
            if key in self.kb.ui:
                return self.ui(key)
        return field.replace("_", " ")

    def metric_of(self, fact_type: str, field: str) -> bool:
        return field == "value" and fact_type == "metric"

    def title(self, fact: FactRef) -> str:
        """What a fact is, in words: a measure with its value, a case record as the
        assessment shows it, or '<kind>: <concept title> (<key>)'."""
        ft = self.kb.fact_types.get(fact.type)
        if fact.type == "metric" and fact.label in self.metrics:
            m = self.metrics[fact.label]
            return f"{self.kb.text(m.title, self.lang)}: {self.value(fact.fields.get('value'))}"
        if ft is not None and not ft.derived and not ft.table:
            return describe_fact(self.kb, {"fact": fact.type, **fact.fields}, self.lang)
        if ft is not None and ft.table:
            rows = ", ".join(f"{self.field_name(fact.type, k)}: {self.value(v)}"
                             for k, v in sorted(fact.fields.items()))
            return f"{self.type_name(fact.type)} ({rows})"
        if fact.label is not None:
            return f"{self.type_name(fact.type)}: {self.label(fact.type, fact.label)}"
        return self.type_name(fact.type)

    def label(self, fact_type: str, label: Any) -> str:
        if fact_type == "metric" and str(label) in self.metrics:
            return self.kb.text(self.metrics[str(label)].title, self.lang)
        kind = self.kinds.get(fact_type)
        concept = self.kb.concept(kind, str(label)) if kind else None
        if concept is None:
            for kind_items in self.kb.concepts.values():
                if str(label) in kind_items:
                    concept = kind_items[str(label)]
                    break
        return f"{self.kb.text(concept.title, self.lang)} ({label})" if concept else str(label)

    def rule(self, rule_id: str) -> str:
        r = self.kb.rule(rule_id)
        srcs = "; ".join(f"{s} {sec}".strip() for s, sec in r.sources)
        return f"{self.kb.text(r.title, self.lang)} [{r.id}; {', '.join(r.guidance)}; {srcs}]"

    def param(self, name: str | None) -> str:
        return f" ({self.ui('parameter')}: {name})" if name else ""

    def value(self, value: Any) -> str:
        """A value as shown: an enum value the KB labels (``value_<v>`` in its UI texts) in
        the reader's language, anything else formatted as is."""
        if isinstance(value, str) and f"value_{value}" in self.kb.ui:
            return self.ui(f"value_{value}")
        if isinstance(value, (list, tuple)):
            return ", ".join(self.value(v) for v in value)
        return _fmt(value)

    def decision(self, value: str) -> str:
        kind = self.kb.outputs["decision"].get("concept", "")
        c = self.kb.concept(kind, value)
        return f"{value.upper()} — {self.kb.text(c.title, self.lang)}" if c else value.upper()


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _check_text(w: _Words, fact_type: str, c: Check, fact: FactRef | None = None) -> str:
    if c.op == "any":
        opts = f" {w.ui('explain_or')} ".join(
            "(" + "; ".join(_check_text(w, fact_type, x, fact) for x in o) + ")"
            for o in c.options)
        return f"{w.ui('explain_one_of')}: {opts}"
    req = _required(w, c)
    actual = w.ui("explain_missing_value") if c.actual is None else w.value(c.actual)
    if w.metric_of(fact_type, c.field) and fact is not None and fact.label in w.metrics:
        name = w.kb.text(w.metrics[fact.label].title, w.lang)
        return f"{name}: {actual} {req}{w.param(c.param)}"
    return f"{w.field_name(fact_type, c.field)}: {actual} {req}{w.param(c.param)}"


def _required(w: _Words, c: Check) -> str:
    """The required side of a test: '≥ 2', 'one of a, b', 'is recorded'."""
    if c.op == "in":
        return f"{w.ui('explain_one_of')} {w.value(c.required)}"
    if c.op == "ex":
        return w.ui("explain_is_recorded")
    return f"{_SYM.get(c.op, c.op)} {w.value(c.required)}"


def _cond_text(w: _Words, fact_type: str, checks: Iterable[Check]) -> str:
    parts = []
    for c in checks:
        if c.op == "any":
            parts.append(_check_text(w, fact_type, c))
            continue
        req = _required(w, c)
        parts.append(f"{w.field_name(fact_type, c.field) or w.field_name('', c.field)} {req}"
                     f"{w.param(c.param)}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- why


def render_why(kb: KnowledgeBase, why: Why, lang: str = "en") -> str:
    """A why-tree as indented text, conclusion first, evidence last."""
    w = _Words(kb, lang)
    what = why.query or w.decision(why.decision)
    lines = [w.ui("explain_why_title", what=what),
             f"{why.subject} — {w.ui('as_of')} {why.as_of} — "
             f"{w.ui('explain_current_decision')}: {w.decision(why.decision)}"]
    if why.default:
        lines.append(w.ui("explain_default_decision", what=w.decision(why.decision)))
    for root in why.roots:
        lines.append("")
        _why_node(w, root, 0, lines)
    return "\n".join(lines) + "\n"


def _why_node(w: _Words, d: Derivation, depth: int, lines: list[str],
              nested: bool = False) -> None:
    pad = "  " * depth
    if d.rule is None:
        origin = w.ui("explain_from_kb") if d.fact.layer == "knowledge" else \
            w.ui("explain_from_case")
        if d.fact.type == "metric" or d.evidence:
            if not nested:
                lines.append(f"{pad}• {w.title(d.fact)}")
            if d.evidence:
                lines.append(f"{pad}  {w.ui('explain_counted')}")
                for e in d.evidence:
                    lines.append(f"{pad}    – {w.title(e.fact)}")
            elif d.fact.fields.get("value") == 0:
                lines.append(f"{pad}  {w.ui('explain_none_counted')}")
        elif not nested:
            lines.append(f"{pad}• {w.title(d.fact)} ({origin})")
        return
    if not nested:
        lines.append(f"{pad}• {w.title(d.fact)}")
    lines.append(f"{pad}  {w.ui('explain_because')}: {w.rule(d.rule)}")
    for p in d.premises:
        _premise_line(w, p, depth + 1, lines)
        if p.derivation is not None:
            # the premise line already names the fact: go straight to its reasons
            _why_node(w, p.derivation, depth + 1, lines, nested=True)


def _premise_line(w: _Words, p: Premise, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    mark = _OK if p.held else _NO
    if p.negated:
        what = w.type_name(p.fact_type)
        text = w.ui("explain_no_such", what=what, conds=_cond_text(w, p.fact_type, p.checks)) \
            if p.checks else w.ui("explain_no_such_plain", what=what)
        lines.append(f"{pad}{mark} {text}")
        if p.blocking:
            lines.append(f"{pad}  {w.ui('explain_but_found')}")
            for b in p.blocking:
                lines.append(f"{pad}    – {w.title(b)}")
        return
    head = w.title(p.fact) if p.fact else w.type_name(p.fact_type)
    if p.fact is not None and p.fact.layer in ("evidence", "remediation", "knowledge") \
            and not w.kb.fact_types[p.fact_type].derived:
        origin = "explain_from_kb" if p.fact.layer == "knowledge" else "explain_from_case"
        head += f" ({w.ui(origin)})"
    # a held equality on the fact's own name repeats the title: leave it to the JSON
    label_field = w.kb.fact_types[p.fact_type].label_field \
        if p.fact_type in w.kb.fact_types else None
    shown = [c for c in p.checks if not (c.held and p.fact is not None and (
        c.op == "ex" or (c.op == "eq" and c.field == label_field)))]
    checks = "; ".join(f"{_OK if c.held else _NO} {_check_text(w, p.fact_type, c, p.fact)}"
                       for c in shown)
    if p.fact is not None and p.fact.label in w.metrics and p.fact.type == "metric" \
            and any(w.metric_of(p.fact_type, c.field) for c in shown):
        lines.append(f"{pad}{checks}")  # the measure's check names it and its value
        return
    lines.append(f"{pad}{mark} {head}" + (f" — {checks}" if checks else ""))


# --------------------------------------------------------------------------- why not


def render_why_not(kb: KnowledgeBase, wn: WhyNot, lang: str = "en") -> str:
    """A why-not tree as indented text: each rule that could conclude the target, what
    held and what failed, and what the missing parts would need."""
    w = _Words(kb, lang)
    lines = [w.ui("explain_why_not_title", what=wn.target),
             f"{wn.subject} — {w.ui('as_of')} {wn.as_of} — "
             f"{w.ui('explain_current_decision')}: {w.decision(wn.decision)}"]
    for g in wn.goals:
        lines.append("")
        _goal(w, g, 0, lines, wn.depth)
    return "\n".join(lines) + "\n"


def _wanted(w: _Words, g: Goal) -> str:
    what = w.type_name(g.fact_type)
    named = [c for c in g.constraints if c.op == "eq" and c.field ==
             (w.kb.fact_types[g.fact_type].label_field if g.fact_type in w.kb.fact_types
              else None)]
    if named:
        what = f"{what}: {w.label(g.fact_type, named[0].value)}"
    # "is recorded" tests only guard references: they say nothing a reader needs
    rest = [c for c in g.constraints if c not in named and c.op != "ex"]
    if g.fact_type == "metric" and named:
        what = w.label(g.fact_type, named[0].value)
        if rest:
            return f"{what}: " + _cond_text(w, "", (Check("", c.op, None, c.value, False)
                                                    for c in rest)).lstrip()
    if not rest:
        return what
    return w.ui("explain_with", what=what, conds=_cond_text(
        w, g.fact_type, (Check(c.field, c.op, None, c.value, False) for c in rest)))


def _goal(w: _Words, g: Goal, depth: int, lines: list[str], bound: int) -> None:
    pad = "  " * depth
    lines.append(f"{pad}{w.ui('explain_needed', what=_wanted(w, g))}")
    if g.present and g.kind != "computed":
        lines.append(f"{pad}  {w.ui('explain_already_holds')}")
        for f in g.present:
            lines.append(f"{pad}    – {w.title(f)}")
        return
    if g.kind == "evidence":
        lines.append(f"{pad}  → {w.ui('explain_evidence_needed', section=g.section)}")
        return
    if g.kind == "knowledge":
        lines.append(f"{pad}  → {w.ui('explain_table_needed')}")
        return
    if g.kind == "computed":
        lines.append(f"{pad}  → {w.ui('explain_measured_now')}")
        for f in g.present:
            lines.append(f"{pad}    – {w.title(f)}")
        for e in g.evidence:
            lines.append(f"{pad}      · {w.title(e)}")
        if not g.present:
            lines.append(f"{pad}    – {w.ui('explain_none_in_case')}")
        return
    if g.truncated:
        lines.append(f"{pad}  {w.ui('explain_depth_reached', depth=bound)}")
        return
    if not g.attempts:
        lines.append(f"{pad}  → {w.ui('explain_no_rule')}")
        return
    lines.append(f"{pad}  {w.ui('explain_could_conclude')}")
    for att in g.attempts:
        lines.append(f"{pad}  {_OK if att.held else _NO} {w.rule(att.rule)}")
        for p in att.premises:
            _premise_line(w, p, depth + 2, lines)
            if p.goal is not None and not p.held:
                _goal(w, p.goal, depth + 3, lines, bound)


# --------------------------------------------------------------------------- what-if


def describe_edit(kb: KnowledgeBase, e: Edit, lang: str = "en") -> str:
    """One line saying what an edit changes, in the case's own terms."""
    w = _Words(kb, lang)
    if e.op == "policy":
        return f"{w.ui('explain_policy')} {e.field}: {w.value(e.old)} → {w.value(e.value)}"
    what = w.type_name(str(e.fact))
    if e.op == "add":
        return f"{w.ui('explain_add')} {what}: " + describe_fact(
            kb, {"fact": e.fact, **dict(e.value)}, lang)
    item = f" {w.ui('explain_item', n=e.item + 1)}" if e.item is not None else ""
    if e.op == "remove":
        old = describe_fact(kb, {"fact": e.fact, **dict(e.old)}, lang) \
            if isinstance(e.old, Mapping) else ""
        return f"{w.ui('explain_remove')} {what}{item}: {old}"
    return f"{what}{item} — {w.field_name(str(e.fact), str(e.field))}: " \
           f"{w.value(e.old)} → {w.value(e.value)}"


def _diff_lines(w: _Words, d: Diff, pad: str) -> list[str]:
    lines = [f"{pad}{w.ui('decision')}: {w.decision(d.decision_before)} → "
             f"{w.decision(d.decision_after)}"]
    if not d.changed:
        lines.append(f"{pad}{w.ui('explain_nothing_changed')}")
        return lines
    for s in d.signals:
        before = _status(w, s.before, s.before_status)
        after = _status(w, s.after, s.after_status)
        key = "gained" if s.before is None else "lost" if s.after is None else "changed"
        lines.append(f"{pad}{w.ui(key)}: " + w.ui(
            "explain_signal_status", what=w.label("signal", s.id), before=before, after=after))
    for sid in d.steps_gained:
        lines.append(f"{pad}{w.ui('next_steps')} + {w.label(_step_fact(w), sid)}")
    for sid in d.steps_lost:
        lines.append(f"{pad}{w.ui('next_steps')} − {w.label(_step_fact(w), sid)}")
    if d.plan_before != d.plan_after:
        lines.append(f"{pad}{w.ui('plan')}: {_plan(w, d.plan_before)} → {_plan(w, d.plan_after)}")
    elif d.plan:
        for c in d.plan:
            subject = f": {c.subject}" if c.subject else ""
            lines.append(f"{pad}{w.ui('plan')} · {w.label(_plan_fact(w), c.id)}{subject}: "
                         f"{_day(c.before)} → {_day(c.after)}")
    return lines


def _status(w: _Words, severity: str | None, status: str | None) -> str:
    if severity is None:
        return "—"
    parts = [w.ui(f"severity_{severity}")]
    if status:
        parts.append(w.ui(f"status_{status}"))
    return " · ".join(parts)


def _step_fact(w: _Words) -> str:
    return str(w.kb.outputs["steps"]["fact"])


def _plan_fact(w: _Words) -> str:
    return str(w.kb.outputs["plan_steps"]["fact"])


def _plan(w: _Words, dates: tuple[dt.date | None, dt.date | None] | None) -> str:
    if dates is None:
        return w.ui("explain_no_plan")
    return f"{w.ui('notify_on')} {_day(dates[0])} · {w.ui('end_on')} {_day(dates[1])}"


def _day(d: dt.date | None) -> str:
    return d.isoformat() if d else "—"


def render_what_if(kb: KnowledgeBase, wi: WhatIf, lang: str = "en") -> str:
    """The edits and what they change, as text."""
    w = _Words(kb, lang)
    a = wi.before
    lines = [w.ui("explain_what_if_title"),
             f"{a.client} — {w.ui('as_of')} {a.case.as_of.isoformat()}",
             w.ui("explain_changes_made")]
    lines += [f"  {i}. {describe_edit(kb, e, lang)}" for i, e in enumerate(wi.edits, 1)]
    lines.append("")
    lines += _diff_lines(w, wi.diff, "")
    return "\n".join(lines) + "\n"


def render_flip(kb: KnowledgeBase, fr: FlipResult, lang: str = "en") -> str:
    """The smallest changes that change the decision, as text."""
    w = _Words(kb, lang)
    a = fr.before
    titles = {e.id: kb.text(e.title, lang) for e in load_editable(kb)}
    target = w.decision(fr.target) if fr.target else w.ui("explain_any_other")
    lines = [w.ui("explain_flip_title"),
             f"{a.client} — {w.ui('as_of')} {a.case.as_of.isoformat()} — "
             f"{w.decision(a.decision)} → {target}"]
    for n, f in enumerate(fr.flips, 1):
        lines.append("")
        lines.append(w.ui("explain_option", n=n, count=len(f.edits),
                          decision=w.decision(f.after.decision)))
        for e in f.edits:
            kind = f"{titles[e.domain]}: " if e.domain in titles else ""
            lines.append(f"  • {kind}{describe_edit(kb, e, lang)}")
        lines += _diff_lines(w, f.diff, "    ")[1:]
    lines.append("")
    if not fr.flips:
        lines.append(w.ui("no_flip_found"))
    lines.append(w.ui("explain_searched", n=fr.evaluated, size=fr.max_size))
    if not fr.complete:
        lines.append(w.ui("explain_budget_spent", n=fr.evaluated))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JSON


def _fact_json(w: _Words, f: FactRef) -> dict[str, Any]:
    return {"id": f.id, "type": f.type, "type_title": w.type_name(f.type), "layer": f.layer,
            "label": f.label, "title": w.title(f), "fields": dict(f.fields)}


def _check_json(w: _Words, fact_type: str, c: Check, fact: FactRef | None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": c.field, "op": c.op, "actual": c.actual,
                           "required": list(c.required) if isinstance(c.required, tuple)
                           else c.required, "held": c.held,
                           "text": _check_text(w, fact_type, c, fact)}
    if c.param:
        out["parameter"] = c.param
    if c.ref:
        out["ref"] = c.ref
    if c.options:
        out["options"] = [[_check_json(w, fact_type, x, fact) for x in o] for o in c.options]
    return out


def _premise_json(w: _Words, p: Premise) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": p.fact_type, "type_title": w.type_name(p.fact_type), "negated": p.negated,
        "held": p.held, "checks": [_check_json(w, p.fact_type, c, p.fact) for c in p.checks],
        "fact": _fact_json(w, p.fact) if p.fact else None}
    if p.negated:
        out["blocking"] = [_fact_json(w, b) for b in p.blocking]
    if p.derivation is not None:
        out["derivation"] = _derivation_json(w, p.derivation)
    if p.goal is not None:
        out["goal"] = _goal_json(w, p.goal)
    return out


def _rule_json(w: _Words, rule_id: str) -> dict[str, Any]:
    r = w.kb.rule(rule_id)
    return {"id": r.id, "title": w.kb.text(r.title, w.lang), "guidance": list(r.guidance),
            "sources": [{"id": s, "section": sec} for s, sec in r.sources]}


def _derivation_json(w: _Words, d: Derivation) -> dict[str, Any]:
    return {"fact": _fact_json(w, d.fact),
            "rule": _rule_json(w, d.rule) if d.rule else None,
            "premises": [_premise_json(w, p) for p in d.premises],
            "evidence": [_derivation_json(w, e) for e in d.evidence]}


def _goal_json(w: _Words, g: Goal) -> dict[str, Any]:
    return {"type": g.fact_type, "type_title": w.type_name(g.fact_type), "kind": g.kind,
            "wanted": _wanted(w, g),
            "constraints": [_constraint_json(c) for c in g.constraints],
            "present": [_fact_json(w, f) for f in g.present],
            "evidence": [_fact_json(w, f) for f in g.evidence],
            "section": g.section, "truncated": g.truncated,
            "rules": [{"rule": _rule_json(w, a.rule), "held": a.held,
                       "premises": [_premise_json(w, p) for p in a.premises]}
                      for a in g.attempts]}


def _constraint_json(c: Constraint) -> dict[str, Any]:
    return {"field": c.field, "op": c.op,
            "value": list(c.value) if isinstance(c.value, tuple) else c.value}


def why_dict(kb: KnowledgeBase, why: Why, lang: str = "en") -> dict[str, Any]:
    """The JSON form of a why-tree (docs/EXPLAIN.md)."""
    w = _Words(kb, lang)
    return {"query": "why", "subject": why.subject, "as_of": why.as_of,
            "decision": why.decision, "node": why.query, "default": why.default,
            "lang": lang, "roots": [_derivation_json(w, r) for r in why.roots]}


def why_not_dict(kb: KnowledgeBase, wn: WhyNot, lang: str = "en") -> dict[str, Any]:
    """The JSON form of a why-not tree (docs/EXPLAIN.md)."""
    w = _Words(kb, lang)
    return {"query": "why_not", "subject": wn.subject, "as_of": wn.as_of,
            "decision": wn.decision, "target": wn.target, "holds": wn.holds,
            "depth": wn.depth, "lang": lang, "goals": [_goal_json(w, g) for g in wn.goals]}


def _edit_json(kb: KnowledgeBase, e: Edit, lang: str) -> dict[str, Any]:
    return {"op": e.op, "fact": e.fact, "field": e.field, "value": e.value,
            "item": None if e.item is None else e.item + 1, "old": e.old,
            "domain": e.domain, "text": describe_edit(kb, e, lang)}


def _diff_json(d: Diff) -> dict[str, Any]:
    def plan(p: tuple[dt.date | None, dt.date | None] | None) -> dict[str, Any] | None:
        return None if p is None else {"notify_on": _iso(p[0]), "end_on": _iso(p[1])}

    return {"decision": {"before": d.decision_before, "after": d.decision_after},
            "signals": {
                "gained": [s.id for s in d.signals if s.before is None],
                "lost": [s.id for s in d.signals if s.after is None],
                "changed": [{"id": s.id, "before": {"severity": s.before,
                                                    "status": s.before_status},
                             "after": {"severity": s.after, "status": s.after_status}}
                            for s in d.signals if s.before and s.after]},
            "next_steps": {"gained": list(d.steps_gained), "lost": list(d.steps_lost)},
            "plan": {"before": plan(d.plan_before), "after": plan(d.plan_after),
                     "changed": [{"id": c.id, "subject": c.subject, "before": _iso(c.before),
                                  "after": _iso(c.after)} for c in d.plan]},
            "changed": d.changed}


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def what_if_dict(kb: KnowledgeBase, wi: WhatIf, lang: str = "en") -> dict[str, Any]:
    """The JSON form of a what-if answer (docs/EXPLAIN.md)."""
    return {"query": "what_if", "subject": wi.before.client,
            "as_of": wi.before.case.as_of.isoformat(), "lang": lang,
            "edits": [_edit_json(kb, e, lang) for e in wi.edits], "diff": _diff_json(wi.diff)}


def flip_dict(kb: KnowledgeBase, fr: FlipResult, lang: str = "en") -> dict[str, Any]:
    """The JSON form of a flip answer (docs/EXPLAIN.md)."""
    return {"query": "flip", "subject": fr.before.client,
            "as_of": fr.before.case.as_of.isoformat(), "lang": lang,
            "decision": fr.before.decision, "target": fr.target, "max_size": fr.max_size,
            "k": fr.k, "evaluated": fr.evaluated, "complete": fr.complete,
            "flips": [{"size": len(f.edits), "decision": f.after.decision,
                       "edits": [_edit_json(kb, e, lang) for e in f.edits],
                       "diff": _diff_json(f.diff)} for f in fr.flips]}


def to_json(data: Mapping[str, Any]) -> str:
    """Byte-stable JSON, like ``Assessment.to_json``."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2, default=str) + "\n"

