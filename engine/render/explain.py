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

from ..explain import (
    Attempt,
    Check,
    Constraint,
    Derivation,
    FactRef,
    Found,
    Goal,
    Premise,
    Support,
    Why,
    WhyNot,
)
from ..knowledge import KnowledgeBase
from ..whatif import Diff, Edit, FlipResult, WhatIf, load_editable
from .lang import citation, for_kb, is_iso_date, param_title
from .rulegraph import type_title
from .text import describe_fact

_SYM = {"eq": "=", "neq": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
_OK, _NO = "✓", "✗"


class _Words:
    """The KB's words in one language (titles, ui strings, field and type names)."""

    def __init__(self, kb: KnowledgeBase, lang: str, as_of: str | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        self.kb, self.lang = kb, lang
        self.lx = for_kb(kb, lang)
        self.as_of = dt.date.fromisoformat(as_of) if as_of else None
        self.params: Mapping[str, Any] = params or {}
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
        """A KB text with its placeholders filled through the language module: numbers in
        the reader's digits, ISO dates as the reader writes dates, plural forms."""
        fmt = {k: self.lx.date(v) if isinstance(v, str) and is_iso_date(v) else v
               for k, v in fmt.items()}
        return self.lx.format(self.kb.ui_text(key, self.lang), **fmt)

    def type_name(self, fact_type: str) -> str:
        key = f"explain_fact_{fact_type}"
        return self.ui(key) if key in self.kb.ui else type_title(self.kb, fact_type, self.lang)

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
        """What a fact is, in words: the KB's title template for its type
        (``explain_title_<type>``, its fields as placeholders), a measure with its value,
        a case record as the assessment shows it, or '<kind>: <concept title>'."""
        ft = self.kb.fact_types.get(fact.type)
        key = f"explain_title_{fact.type}"
        if key in self.kb.ui and ft is not None:
            values = {name: "" for name in ft.fields}
            values.update({k: self.field_value(k, v) for k, v in fact.fields.items()})
            return self.ui(key, **values)
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

    def field_value(self, field_name: str, value: Any) -> str:
        """A field's value in words; a field named like a kind of concept (``signal``,
        ``step``) takes that concept's title, so a red flag named like an event type
        (``slow_response``) reads as the red flag, not as the event."""
        c = self.kb.concept(field_name, value) if isinstance(value, str) else None
        return self.kb.text(c.title, self.lang) if c is not None else self.value(value)

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
        if concept is not None:
            return self.kb.text(concept.title, self.lang)
        for key in (f"{fact_type}_{label}", f"value_{label}"):  # e.g. event_unethical_request
            if key in self.kb.ui:
                return self.ui(key)
        return self.value(label)

    def rule(self, rule_id: str) -> str:
        r = self.kb.rule(rule_id)
        return f"{self.kb.text(r.title, self.lang)} [{r.id}; {', '.join(r.guidance)}; " \
            f"{self.sources(rule_id)}]"

    def param(self, name: str | None) -> str:
        return f" ({self.ui('parameter')}: {param_title(self.kb, name, self.lang)})" \
            if name else ""

    def value(self, value: Any, display: str = "number") -> str:
        """A value as shown: an enum value the KB labels (``value_<v>`` in its UI texts) in
        the reader's language, a number as ``display`` says (a share as a percentage),
        anything else formatted as is."""
        if isinstance(value, bool):
            return self.ui(f"value_{str(value).lower()}")
        if isinstance(value, str):
            for key in (f"value_{value}", f"event_{value}"):  # an enum value, an event type
                if key in self.kb.ui:
                    return self.ui(key)
        if isinstance(value, str):
            for items in self.kb.concepts.values():  # a signal, step, ... named by its key
                if value in items:
                    return self.kb.text(items[value].title, self.lang)
            for fact_type in sorted(self.kb.fact_types):  # a value a fact type labels
                if f"{fact_type}_{value}" in self.kb.ui:
                    return self.ui(f"{fact_type}_{value}")
        if isinstance(value, (list, tuple)):
            return self.comma().join(self.value(v) for v in value)
        if isinstance(value, str) and is_iso_date(value):
            return self.lx.date(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if display != "number":
                return self.lx.shown(value, display)
            return self.lx.num(round(value, 2) if isinstance(value, float) else value)
        return _fmt(value)

    def alternatives(self, values: Any) -> str:
        """``a``, ``a or b``, ``a, b or c`` in the reader's words."""
        items = [self.value(v) for v in (values if isinstance(values, (list, tuple))
                                         else [values])]
        if len(items) <= 1:
            return "".join(items)
        return f"{self.comma().join(items[:-1])} {self.ui('explain_or')} {items[-1]}"

    def semi(self) -> str:
        """The separator between sentences of a list, in the reader's script."""
        return self.lx.semi

    def comma(self) -> str:
        return self.lx.sep

    def refs(self, rule_ids: Iterable[str]) -> str:
        """The guidance ids of ``rule_ids`` (each once, in order): ``DEC-01, SIG-01``."""
        out: list[str] = []
        for rid in rule_ids:
            for g in self.kb.rule(rid).guidance:
                if g not in out:
                    out.append(g)
        return self.comma().join(out)

    def rule_title(self, rule_id: str) -> str:
        return self.kb.text(self.kb.rule(rule_id).title, self.lang)

    def sources(self, rule_id: str) -> str:
        return self.semi().join(citation(self.kb, s, sec, self.lang)
                                for s, sec in self.kb.rule(rule_id).sources)

    def decision(self, value: str) -> str:
        kind = self.kb.outputs["decision"].get("concept", "")
        c = self.kb.concept(kind, value)
        return self.kb.text(c.title, self.lang) if c else value


def fact_title(kb: KnowledgeBase, fact_type: str, fields: Mapping[str, Any], lang: str
               ) -> str | None:
    """The title of a fact from its type's KB template (``explain_title_<type>``), or
    ``None`` when the KB has none for the type."""
    if f"explain_title_{fact_type}" not in kb.ui:
        return None
    ft = kb.fact_types.get(fact_type)
    shown = {k: v for k, v in fields.items() if ft is not None and k in ft.fields}
    return _Words(kb, lang).title(FactRef("", fact_type, "", None, shown))


def condition_text(kb: KnowledgeBase, fact_type: str, c: Check, fact: FactRef | None,
                   lang: str, as_of: str | None = None,
                   params: Mapping[str, Any] | None = None) -> str:
    """A condition of a rule as a sentence in ``lang`` (actual value, what was required)."""
    return sentence(_Words(kb, lang, as_of, params), fact_type, c, fact)


def looked_for_text(kb: KnowledgeBase, p: Premise, lang: str) -> str:
    """What a "no such fact" premise looks for, in ``lang``."""
    return _looked_for(_Words(kb, lang), p)


def display_value(kb: KnowledgeBase, value: Any, lang: str) -> str:
    """A value in the reader's words: an enum value's or a concept's title, else as is."""
    return _Words(kb, lang).value(value)


def _is_iso_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-" \
        and value.replace("-", "").isdigit()


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# --------------------------------------------------------------------------- conditions

_DATE_OP = {"lte": "gte", "lt": "gt", "gte": "lte", "gt": "lt"}  # an age's test as a date's


def _date_twin(w: _Words, fact_type: str, field: str) -> str | None:
    """The date field whose age ``field`` is (``date_age`` -> ``date``), if any."""
    ft = w.kb.fact_types.get(fact_type)
    if ft is None or not field.endswith("_age"):
        return None
    spec = ft.fields.get(field[:-4])
    return spec.name if spec is not None and spec.type == "date" else None


def _what(w: _Words, fact_type: str, field: str, fact: FactRef | None) -> str:
    """What a tested field is, in words: a measure's title, or the field's title."""
    if fact_type == "metric" and field == "value" and fact is not None \
            and fact.label in w.metrics:
        return w.kb.text(w.metrics[fact.label].title, w.lang)
    for key in (f"field_{fact_type}_{field}", f"field_{field}", f"explain_field_{field}"):
        if key in w.kb.ui:
            return w.ui(key)
    return field.replace("_", " ")


def _display(w: _Words, fact_type: str, field: str, fact: FactRef | None,
             param: str | None = None) -> str:
    """How the KB shows a compared value: as its parameter's ``display`` says, else as
    the measure's (a metric's value), else as a plain number."""
    if param is not None and param in w.kb.parameters:
        return w.kb.parameters[param].display
    if fact_type == "metric" and field == "value" and fact is not None \
            and fact.label in w.metrics:
        return w.metrics[fact.label].display
    return "number"


def _measure(w: _Words, fact_type: str, field: str, fact: FactRef | None, actual: Any) -> str:
    """The measured side of a condition: the thing tested with its actual value."""
    if actual is None:
        return w.ui("cond_missing", what=_what(w, fact_type, field, fact))
    display = _display(w, fact_type, field, fact)
    value = w.value(actual, display)
    if fact_type == "metric" and field == "value" and fact is not None:
        key = f"measure_metric_{fact.label}"
        if key in w.kb.ui:
            raw = actual if isinstance(actual, (int, float)) and not isinstance(actual, bool) \
                and display == "number" else value
            return w.ui(key, **{**dict(w.params), "value": raw})
    key = f"measure_field_{field}"
    if key in w.kb.ui:
        return w.ui(key, value=value)
    return w.ui("cond_measure", what=_what(w, fact_type, field, fact), value=value)


def sentence(w: _Words, fact_type: str, c: Check, fact: FactRef | None) -> str:
    """A condition of a rule in words, with the actual value and what was required:
    "4 late payments in the last 365 days; 2 or more count"."""
    if c.op == "any":
        options = [[sentence(w, fact_type, x, fact) for x in o] for o in c.options]
        return f" {w.ui('explain_or')} ".join(
            "(" + w.semi().join(o) + ")" if len(o) > 1 else o[0] for o in options if o)
    state = "held" if c.held else "failed"
    twin = _date_twin(w, fact_type, c.field)
    if twin is not None and w.as_of is not None:
        when = fact.fields.get(twin) if fact is not None else None
        measure = w.ui("cond_date", value=w.lx.date(when)) if when else \
            w.ui("cond_missing", what=_what(w, fact_type, twin, fact))
        if c.op in _DATE_OP and isinstance(c.required, (int, float)) \
                and not isinstance(c.required, bool):
            day = w.lx.date(w.as_of - dt.timedelta(days=int(c.required)))
            need = w.ui(f"need_date_{_DATE_OP[c.op]}_{state}", required=day)
            return w.ui("cond_join_date", measure=measure, need=need)
        return measure
    if c.op == "ex":
        return _measure(w, fact_type, c.field, fact, c.actual) if c.held else \
            w.ui("cond_join", measure=_measure(w, fact_type, c.field, fact, None),
                 need=w.ui("need_ex_failed"))
    ft = w.kb.fact_types.get(fact_type)
    if ft is not None and c.field == ft.label_field and c.op in ("eq", "neq", "in"):
        # the fact's own name: said with the title of what it names
        names = c.required if isinstance(c.required, (list, tuple)) else [c.required]
        measure = w.ui("cond_measure", what=w.type_name(fact_type),
                       value=w.label(fact_type, c.actual)) if c.actual is not None else \
            w.ui("cond_missing", what=w.type_name(fact_type))
        if c.held and c.op == "eq":
            return measure
        required = f" {w.ui('explain_or')} ".join(w.label(fact_type, n) for n in names)
        return w.ui("cond_join", measure=measure,
                    need=w.ui(f"need_{c.op}_{state}", required=required))
    measure = _measure(w, fact_type, c.field, fact, c.actual)
    if c.op == "eq" and c.held:
        return measure
    required = w.alternatives(c.required) if c.op == "in" else \
        w.value(c.required, _display(w, fact_type, c.field, fact, c.param))
    return w.ui("cond_join", measure=measure, need=w.ui(f"need_{c.op}_{state}",
                                                        required=required))


def _shown(w: _Words, fact_type: str, checks: Iterable[Check], fact: FactRef | None
           ) -> list[Check]:
    """The checks worth saying: a held "is recorded" guard, a held join with another
    premise and a held test of the fact's own name say nothing a reader needs."""
    ft = w.kb.fact_types.get(fact_type)
    label_field = ft.label_field if ft else None
    derived = ft is not None and ft.derived
    checks = list(checks)
    # a failed "is recorded" guard beside another failed test says nothing more (a count of
    # 0 has no first incident): said only when it is all that failed
    other_failed = any(not c.held and c.op != "ex" for c in checks)
    out = []
    for c in checks:
        if c.held and c.op == "any":
            # the alternative that held, not every other one that did not
            held = next((o for o in c.options if all(x.held for x in o)), ())
            out.extend(_shown(w, fact_type, held, fact))
            continue
        if c.held and (c.op == "ex" or (c.op == "eq" and (c.ref or c.field == label_field))):
            continue
        if c.held and _is_case(w, fact_type) and _names_a_kind(c):
            continue  # a held test of what kind of record it is: the record line says it
        if not c.held and c.op == "ex" and other_failed:
            continue
        if c.held and derived and c.op == "eq" and isinstance(c.required, bool):
            continue  # an engine flag of a derived fact (a measure that indicates a sign)
        if c.ref and c.required is None:
            continue  # a test against a premise that is not there: that premise says it
        out.append(c)
    return out


def _names_a_kind(c: Check) -> bool:
    """A test that a record is of some kind (its type, a kind, who it was aimed at): a
    comparison with words, not with a number or a date."""
    if c.op not in ("eq", "neq", "in"):
        return False
    values = c.required if isinstance(c.required, (list, tuple)) else [c.required]
    return bool(values) and all(isinstance(v, str) and not _is_iso_date(v) for v in values)


def _sentences(w: _Words, fact_type: str, checks: Iterable[Check], fact: FactRef | None,
               *, failed_only: bool = False) -> str:
    shown = [c for c in _shown(w, fact_type, checks, fact) if not (failed_only and c.held)]
    out: list[str] = []
    dated: dict[str, int] = {}  # a date tested twice is said once, with both bounds
    for c in shown:
        text = sentence(w, fact_type, c, fact)
        twin = _date_twin(w, fact_type, c.field) if c.op in _DATE_OP else None
        if twin is not None and twin in dated and w.as_of is not None:
            day = w.lx.date(w.as_of - dt.timedelta(days=int(c.required)))
            need = w.ui(f"need_date_{_DATE_OP[c.op]}_{'held' if c.held else 'failed'}",
                        required=day)
            out[dated[twin]] = w.ui("explain_both", first=out[dated[twin]], then=need)
            continue
        if twin is not None and isinstance(c.required, (int, float)):
            dated[twin] = len(out)
        out.append(text)
    return w.semi().join(out)


def _check_text(w: _Words, fact_type: str, c: Check, fact: FactRef | None = None) -> str:
    return sentence(w, fact_type, c, fact)


def _looked_for(w: _Words, p: Premise) -> str:
    """What a "no such fact" premise looked for, in words."""
    key = f"explain_looked_for_{p.fact_type}"
    if key in w.kb.ui:
        return w.ui(key)
    what = w.type_name(p.fact_type)
    ft = w.kb.fact_types.get(p.fact_type)
    label_field = ft.label_field if ft else None
    conds = []
    for c in p.checks:
        if c.op in ("ex", "any") or c.required is None:
            continue
        if c.op == "eq" and c.field == label_field:
            what = f"{what}: {w.label(p.fact_type, c.required)}"
            continue
        conds.append(_need(w, p.fact_type, Constraint(c.field, c.op, c.required), held=True))
    return w.ui("explain_where", what=what, conds=w.semi().join(conds)) if conds else what


def _negation(w: _Words, p: Premise, some: bool) -> str | None:
    """A "no such fact" condition as a sentence from the KB's keys, or None when the KB has
    none: ``neg_<type>_<fields>_none`` (it holds: there is no such fact) or ``..._some``
    (there is one; the facts follow). ``<fields>`` are the tested fields, sorted and joined
    by ``_`` (a date's ``_age`` twin as the date's name); each is a placeholder holding the
    required value in words, a date as the reader writes it. A key without the fields
    (``neg_<type>_none``) is the fallback when a value is unknown."""
    state = "some" if some else "none"
    fields: dict[str, Any] = {}
    known = True
    for c in p.checks:
        if c.op in ("ex",):
            continue
        if c.op == "any":
            fields.setdefault("any", "")
            continue
        twin = _date_twin(w, p.fact_type, c.field)
        name = twin if twin is not None else c.field
        if c.required is None:
            known = False
            fields[name] = ""
        elif twin is not None:
            if w.as_of is None or not isinstance(c.required, (int, float)):
                known = False
                fields[name] = ""
            else:
                fields[name] = w.as_of - dt.timedelta(days=int(c.required))
        elif isinstance(c.required, bool):
            fields[name] = ""
        else:
            names = c.required if isinstance(c.required, (list, tuple)) else [c.required]
            fields[name] = f" {w.ui('explain_or')} ".join(
                w.label(p.fact_type, n) for n in names)
    keys = [f"neg_{p.fact_type}_{'_'.join(sorted(fields))}_{state}"] if fields and known \
        else []
    keys.append(f"neg_{p.fact_type}_{state}")
    for key in keys:
        if key in w.kb.ui:
            values = {k: (w.lx.date(v) if isinstance(v, dt.date) else v)
                      for k, v in fields.items()}
            return w.ui(key, **values)
    return None


def _found_reason(w: _Words, f: Found) -> str | None:
    """Why a record found where a "no such fact" condition looked did not count, from the
    KB's keys ``found_<record type>_<blocks|near>_<what the rule concludes>`` ({checks}:
    the tests it met or failed), or None when the KB has none."""
    if f.rule is None:
        return None
    then = w.kb.rule(f.rule).then_fact
    key = f"found_{f.fact.type}_{'blocks' if f.blocks else 'near'}_{then}"
    if key not in w.kb.ui:
        return None
    checks = _sentences(w, f.fact.type, f.checks, f.fact, failed_only=not f.blocks)
    return w.ui(key, checks=checks)


def describe(w: _Words, f: FactRef) -> str:
    """A fact in one line: a case record as the assessment shows it, else its title."""
    ft = w.kb.fact_types.get(f.type)
    if ft is not None and not ft.derived and not ft.table:
        order = {name: i for i, name in enumerate(ft.fields)}
        fields = sorted(f.fields.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        return describe_fact(w.kb, {"fact": f.type, **dict(fields)}, w.lang)
    return w.title(f)


def _item(w: _Words, f: FactRef) -> str:
    """A fact as an item of a summary list: its name, then its date and enum values."""
    ft = w.kb.fact_types.get(f.type)
    if f"explain_title_{f.type}" in w.kb.ui:
        return w.title(f)
    name = w.label(f.type, f.label) if f.label is not None else w.type_name(f.type)
    extra = []
    if ft is not None:
        for fname, spec in ft.fields.items():
            value = f.fields.get(fname)
            if value is None or fname == ft.label_field or value == spec.default:
                continue
            if spec.type == "date" or (spec.enum and isinstance(value, str)) or (
                    isinstance(value, str) and w.value(value) != value):
                extra.append(w.value(value) if spec.type != "date" else w.lx.date(value))
    return f"{name} ({w.comma().join(extra)})" if extra else name


# --------------------------------------------------------------------------- why


Line = tuple[int, str]  # (depth, text)


def why_summary(kb: KnowledgeBase, why: Why, lang: str = "en") -> list[str]:
    """Two to four sentences saying why the decision was reached: the decision and the
    rules behind it, every red flag behind it, the records found on the way (e.g. the
    repairs tried and why none counted) and what is still open. Empty for a why of a
    node other than the decision."""
    w = _Words(kb, lang, why.as_of, why.params)
    if why.query is not None or not why.roots:
        if why.default:
            return [w.ui("explain_default_decision", what=w.decision(why.decision))]
        return []
    root = why.roots[0]
    node = _chain_end(w, root)
    reasons = list(dict.fromkeys(s.rule for s in node.supports))
    kind = kb.outputs["decision"].get("concept", "")
    c = kb.concept(kind, why.decision)
    lead = f"explain_lead_{why.decision}"  # "Ending the relationship is advised"
    lines = [w.ui("explain_summary_lead",
                  decision=w.ui(lead) if lead in kb.ui else
                  (kb.text(c.title, lang) if c else why.decision),
                  reasons=w.semi().join(w.rule_title(r) for r in reasons))]
    flags: dict[str, FactRef] = {}
    found: dict[str, FactRef] = {}
    layer: dict[str, list[FactRef]] = {}  # the remediation layer's facts, by type
    finding_types = [spec["fact"] for spec in kb.outputs.get("findings", [])]
    repair_types = [spec["fact"] for spec in kb.outputs.get("repairs", [])]
    for d in _walk(root):
        if d.fact.type in finding_types and d.fact.label not in flags:
            flags[str(d.fact.label)] = d.fact
        if d.fact.type in repair_types:
            layer.setdefault(d.fact.type, []).append(d.fact)
        for s in d.supports:
            for p in s.premises:
                for f in p.instead:
                    if _is_case(w, f.fact.type):
                        found.setdefault(f.fact.id, f.fact)
                    elif f.fact.type in repair_types:
                        layer.setdefault(f.fact.type, []).append(f.fact)
                if not p.negated and p.fact is not None and _is_case(w, p.fact.type) \
                        and p.fact.label is not None:
                    found.setdefault(p.fact.id, p.fact)
    if flags:
        flags_key = f"explain_summary_flags_{why.decision}"  # e.g. warning signs (watch)
        flags_key = flags_key if flags_key in kb.ui else "explain_summary_flags"
        lines.append(w.ui(flags_key, items=w.semi().join(_flag(w, f) for f in flags.values())))
    for ftype in repair_types:  # in the manifest's order
        facts = sorted(layer.get(ftype, []), key=_by_date)
        if not facts:
            continue
        items = w.semi().join(dict.fromkeys(_item(w, f) for f in facts))
        key = next((k for k in (f"explain_summary_type_{ftype}_{why.decision}",
                                f"explain_summary_type_{ftype}") if k in kb.ui), None)
        lines.append(w.ui(key, items=items) if key else
                     w.ui("explain_summary_type", type=w.type_name(ftype), items=items))
    found = {k: f for k, f in found.items() if f.label is not None}
    if found and not layer:
        key = f"explain_summary_found_{why.decision}"
        key = key if key in kb.ui else "explain_summary_found"
        lines.append(w.ui(key, items=w.semi().join(
            _item(w, f) for f in sorted(found.values(), key=_by_date))))
    return lines[:4]


def _flag(w: _Words, f: FactRef) -> str:
    title = w.label(f.type, f.label) if f.label is not None else w.type_name(f.type)
    status = next((spec.get("status") for spec in w.kb.outputs.get("findings", [])
                   if spec["fact"] == f.type), None)
    if status and status != "active" and f"status_{status}" in w.kb.ui:
        return f"{title} ({w.ui(f'status_{status}')})"
    return title


def _by_date(f: FactRef) -> tuple[str, str]:
    return (str(f.fields.get("date", "")), f.id)


def _is_case(w: _Words, fact_type: str) -> bool:
    ft = w.kb.fact_types.get(fact_type)
    return ft is not None and not ft.derived and not ft.table


def _walk(d: Derivation, seen: set[str] | None = None) -> Iterable[Derivation]:
    seen = set() if seen is None else seen
    if d.fact.id in seen:
        return
    seen.add(d.fact.id)
    yield d
    for s in d.supports:
        for p in s.premises:
            if p.derivation is not None:
                yield from _walk(p.derivation, seen)


def _same(p: Premise, d: Derivation) -> bool:
    """``p`` concludes the same thing as ``d`` under another name (a decision from its
    candidate, an active red flag from the red flag): shown as one."""
    return (not p.negated and p.derivation is not None and p.derivation.rule is not None
            and p.fact is not None and p.fact.label is not None
            and p.fact.label == d.fact.label)


def _chain_end(w: _Words, d: Derivation) -> Derivation:
    """Follow ``d`` through single firings to the fact of the same name they rest on."""
    node = d
    while len(node.supports) == 1:
        nxt = next((p.derivation for p in node.supports[0].premises if _same(p, node)), None)
        if nxt is None:
            break
        node = nxt
    return node


def why_outline(kb: KnowledgeBase, why: Why, lang: str = "en") -> list[Line]:
    """The support of the conclusion as an outline of sentences: each red flag or fact
    behind it (every firing, grouped by rule), the conditions with actual and required
    values, what each measure counted, and for each "no such fact" condition what was
    looked for and what was found instead."""
    w = _Words(kb, lang, why.as_of, why.params)
    lines: list[Line] = []
    seen: set[str] = set()
    for root in why.roots:
        if root.rule is None:
            _leaf(w, root, None, 0, lines, "• ")
        else:
            _fact_block(w, root, 0, lines, seen, "• ", [])
    return lines


def render_why(kb: KnowledgeBase, why: Why, lang: str = "en") -> str:
    """The answer of ``why`` as text: a short summary, then every reason behind it."""
    w = _Words(kb, lang, why.as_of, why.params)
    what = w.decision(why.decision) if why.query is None else \
        w.title(why.roots[0].fact) if len(why.roots) == 1 else w.value(why.query)
    lines = [w.ui("explain_why_title", what=what),
             f"{w.lx.isolate(why.subject)} — {w.ui('as_of')} {w.lx.date(why.as_of)} — "
             f"{w.ui('explain_current_decision')}: {w.decision(why.decision)}", ""]
    summary = why_summary(kb, why, lang)
    if summary:
        lines += [*summary, ""]
    outline = why_outline(kb, why, lang)
    if outline and summary:
        lines.append(w.ui("explain_in_detail"))
    lines += ["  " * depth + text for depth, text in outline]
    return "\n".join(lines).rstrip("\n") + "\n"


def _fact_block(w: _Words, d: Derivation, depth: int, lines: list[Line], seen: set[str],
                bullet: str, negs: list[Premise], extra: list[Premise] | None = None,
                context: frozenset[str] = frozenset()) -> None:
    """A derived fact: its title and guidance, then what it rests on. ``negs`` and
    ``extra`` are conditions of the firing that bound it, said under it; ``context``
    the facts of the blocks around it (not repeated)."""
    if d.fact.id in seen:
        lines.append((depth, f"{bullet}{w.title(d.fact)} {w.ui('explain_see_above')}"))
        return
    seen.add(d.fact.id)
    rules: list[str] = []
    items: list[Premise] = []
    negs = list(negs)
    node = d
    chain = {d.fact.id}
    while True:
        sups = node.supports
        if len(sups) != 1:
            break
        rules.append(sups[0].rule)
        nxt = None
        for p in sups[0].premises:
            if p.negated:
                negs.append(p)
            elif nxt is None and _same(p, node):
                nxt = p.derivation
            else:
                items.append(p)
        if nxt is None:
            break
        seen.add(nxt.fact.id)
        chain.add(nxt.fact.id)
        node = nxt
    context = context | chain
    refs = w.refs(rules)
    lines.append((depth, f"{bullet}{w.title(d.fact)}" + (f" ({refs})" if refs else "")))
    for p in [*items, *(extra or [])]:
        _premise(w, p, depth + 1, lines, seen, context)
    if len(node.supports) > 1:
        groups: dict[str, list[Support]] = {}
        for s in node.supports:
            groups.setdefault(s.rule, []).append(s)
        for rule_id, group in groups.items():
            src = w.sources(rule_id)
            lines.append((depth + 1, f"{w.rule_title(rule_id)} ({w.refs([rule_id])}"
                                     + (f"{w.semi()}{src}" if src else "") + "):"))
            _supports(w, group, depth + 2, lines, seen, context)
    _negations(w, negs, depth + 1, lines, seen)


def _subject(s: Support) -> Premise | None:
    """The derived fact a firing is about (its first derived premise)."""
    return next((p for p in s.premises if not p.negated and p.derivation is not None
                 and p.derivation.rule is not None), None)


def _supports(w: _Words, group: list[Support], depth: int, lines: list[Line],
              seen: set[str], context: frozenset[str]) -> None:
    """The firings of one rule, grouped by their subject (e.g. one red flag with every
    attempt that counted for it), numbered when there are several."""
    by_subject: dict[str, list[Support]] = {}
    for s in group:
        subj = _subject(s)
        by_subject.setdefault(subj.fact.id if subj and subj.fact else "", []).append(s)
    numbered = len(by_subject) > 1
    if numbered:  # what every firing shares (e.g. a measure beside each red flag): once
        common = set.intersection(*({p.fact.id for p in s.premises
                                     if not p.negated and p.fact is not None}
                                    for s in group)) - set(by_subject)
        for p in group[0].premises:
            if not p.negated and p.fact is not None and p.fact.id in common:
                _premise(w, p, depth, lines, seen, context)
        context = context | common
    for k, (sid, sups) in enumerate(by_subject.items(), 1):
        bullet = f"{w.lx.num(k)}. " if numbered else "– "
        negs: list[Premise] = []
        extra: list[Premise] = []
        keys: set[tuple[Any, ...]] = set()
        for s in sups:
            for p in s.premises:
                if p.fact is not None and (p.fact.id == sid or p.fact.id in context):
                    continue
                key = (p.negated, p.fact.id if p.fact else None, p.fact_type,
                       tuple((c.field, c.op, str(c.required)) for c in p.checks))
                if key in keys:
                    continue
                keys.add(key)
                (negs if p.negated else extra).append(p)
        subj = _subject(sups[0])
        if subj is None or subj.derivation is None:
            for p in extra:
                _premise(w, p, depth, lines, seen, context)
            _negations(w, negs, depth, lines, seen)
            continue
        _fact_block(w, subj.derivation, depth, lines, seen, bullet, negs, extra, context)


def _premise(w: _Words, p: Premise, depth: int, lines: list[Line], seen: set[str],
             context: frozenset[str] = frozenset()) -> None:
    if p.fact is not None and p.fact.id in context:
        return  # the block around already says it
    d = p.derivation
    if d is not None and d.rule is not None:
        _fact_block(w, d, depth, lines, seen, "• ", [], context=context)
        return
    ft = w.kb.fact_types.get(p.fact_type)
    if ft is not None and ft.table:
        return  # knowledge, not case: the rule's title says what it pairs
    _leaf(w, d, p, depth, lines, "", seen)


def _leaf(w: _Words, d: Derivation | None, p: Premise | None, depth: int,
          lines: list[Line], bullet: str, seen: set[str] | None = None) -> None:
    """A measure with what it counted, or a case record with its tested values."""
    fact = d.fact if d is not None else (p.fact if p is not None else None)
    if fact is None:
        return
    text = _sentences(w, fact.type, p.checks, fact) if p is not None else ""
    ft = w.kb.fact_types.get(fact.type)
    if text and ft is not None and ft.label_field and _is_case(w, fact.type):
        # a record among several (a repair attempt): the record, then its tested values
        lines.append((depth, f"{bullet or '– '}{describe(w, fact)}"))
        lines.append((depth + 1, text))
        return
    if not text:
        text = w.title(fact) if fact.type == "metric" else describe(w, fact)
    counted = d.evidence if d is not None else ()
    # each record once in the whole answer: a second measure of the same records (demands
    # you cannot meet, and those of them pushed with pressure) says they are the same
    fresh = [e for e in counted if seen is None or e.fact.id not in seen]
    lines.append((depth, f"{bullet}{text}" + (":" if fresh else "")))
    for e in fresh:
        if seen is not None:
            seen.add(e.fact.id)
        lines.append((depth + 1, f"– {describe(w, e.fact)}"))
    if len(fresh) < len(counted):
        lines.append((depth + 1, w.ui("explain_same_records", n=len(counted) - len(fresh))))


def _negations(w: _Words, negs: list[Premise], depth: int, lines: list[Line],
               shown: set[str] | None = None) -> None:
    """What the "no such fact" conditions looked for, and what was found instead (each
    record once, with why it did not count under each rule that examined it; facts
    ``shown`` above are not repeated)."""
    if not negs:
        return
    said = [_negation(w, p, False) for p in negs]
    if all(said):
        looked = " ".join(dict.fromkeys(x for x in said if x))
    else:
        looked = f"{w.comma()}{w.ui('explain_or')} ".join(
            dict.fromkeys(_looked_for(w, p) for p in negs))
    found: dict[str, list[Found]] = {}
    facts: dict[str, FactRef] = {}
    above = False
    for p in negs:
        for f in p.instead:
            if shown is not None and f.fact.id in shown:
                above = True
                continue
            found.setdefault(f.fact.id, []).append(f)
            facts[f.fact.id] = f.fact
    sentences = "_said" if all(said) else ""
    if not found:
        key = "explain_looked_for_above" if above else "explain_looked_for_none"
        lines.append((depth, w.ui(key + sentences, what=looked)))
        return
    key = "explain_looked_for_more" if above else "explain_looked_for"
    lines.append((depth, w.ui(key + sentences, what=looked)))
    for fid in sorted(found, key=lambda i: _by_date(facts[i])):
        lines.append((depth + 1, f"– {describe(w, facts[fid])}"))
        reasons = []
        for f in _nearest(found[fid]):
            plain = _found_reason(w, f)
            if plain is not None:
                reasons.append(plain)
                continue
            checks = _sentences(w, f.fact.type, f.checks, f.fact, failed_only=not f.blocks)
            head = w.ui("explain_found_blocks" if f.blocks else "explain_found_near",
                        rule=w.rule_title(f.rule)) if f.rule else ""
            reasons.append(f"{head}: {checks}" if head and checks else head or checks)
        for r in dict.fromkeys(x for x in reasons if x):
            lines.append((depth + 2, r))


def _nearest(found: list[Found]) -> list[Found]:
    """The reasons worth saying for one record: every rule it blocked, and of the rules it
    nearly matched only the nearest misses (fewest failed tests). A record that several
    rules examined is then explained by what kept it closest to counting, not once per
    rule with every failed test."""
    # each near miss's failed fields (their number is how near it came), once
    misses = [None if f.blocks else tuple(c.field for c in f.checks if not c.held)
              for f in found]
    near = [len(m) for m in misses if m is not None]
    if not near:
        return found
    fewest = min(near)
    out: list[Found] = []
    seen: set[tuple[str, ...]] = set()  # one reason per set of failed fields
    for f, fields in zip(found, misses, strict=True):
        if fields is not None:
            if len(fields) != fewest or fields in seen:
                continue
            seen.add(fields)
        out.append(f)
    return out


# --------------------------------------------------------------------------- why not

_SHORT_WAYS = 3  # ways (and closest measures) shown at a branch of the short answer


def render_why_not(kb: KnowledgeBase, wn: WhyNot, lang: str = "en", *,
                   full: bool = False) -> str:
    """Why ``wn.target`` was not concluded, as text. By default the short answer: the
    nearest way to the target and what it lacks; ``full``: every rule that could
    conclude it, what held, what failed, and what the missing parts would need."""
    w = _Words(kb, lang, wn.as_of, wn.params)
    lines = [w.ui("explain_why_not_title", what=_target(w, wn)),
             f"{w.lx.isolate(wn.subject)} — {w.ui('as_of')} {w.lx.date(wn.as_of)} — "
             f"{w.ui('explain_current_decision')}: {w.decision(wn.decision)}", ""]
    if full:
        seen: set[tuple[Any, ...]] = set()
        for g in wn.goals:
            _goal(w, g, 0, lines, wn.depth, seen)
            lines.append("")
    else:
        out: list[Line] = []
        why_not_short(w, wn, out)
        lines += ["  " * depth + text for depth, text in out]
        lines += ["", w.ui("explain_full_hint")]
    return "\n".join(lines).rstrip("\n") + "\n"


def _target(w: _Words, wn: WhyNot) -> str:
    kind = w.kb.outputs["decision"].get("concept", "")
    if w.kb.concept(kind, wn.target) is not None:
        return w.decision(wn.target)
    return w.value(wn.target)


def _cost(g: Goal) -> int:
    """How much is missing for ``g``: 0 when it holds, else the missing conditions along
    its cheapest rule (a missing record or measure counts one)."""
    if g.present and g.kind != "computed":
        return 0
    if g.kind != "derived" or g.truncated or not g.attempts:
        return 1
    return min(_attempt_cost(a) for a in g.attempts)


def _attempt_cost(a: Attempt) -> int:
    total = 0
    for p in a.premises:
        if p.held:
            continue
        total += _cost(p.goal) if (not p.negated and p.goal is not None) else 1
    return total


def _closeness(a: Attempt) -> float:
    """How near a rule's failed measures are to their thresholds (higher is nearer)."""
    best = 0.0
    for p in a.premises:
        for c in p.checks:
            if c.held or not isinstance(c.actual, (int, float)) \
                    or not isinstance(c.required, (int, float)) or c.required == 0:
                continue
            ratio = c.actual / c.required if c.op in ("gte", "gt") else \
                c.required / c.actual if c.actual else 0.0
            best = max(best, float(ratio))
    return best


def _ranked(g: Goal) -> list[Attempt]:
    return sorted(g.attempts, key=lambda a: (_attempt_cost(a), -_closeness(a), a.rule))


def why_not_short(w: _Words, wn: WhyNot, out: list[Line]) -> None:
    """The short answer of why-not as outline lines: the nearest way and what it lacks."""
    if wn.holds and not any(g.present for g in wn.goals):
        out.append((0, w.ui("explain_default_decision", what=w.decision(wn.decision))))
        return
    if wn.holds:
        out.append((0, w.ui("explain_already_holds")))
        for g in wn.goals:
            for f in g.present:
                out.append((1, f"– {w.title(f)}"))
        return
    goals = sorted(wn.goals, key=_cost)
    g = goals[0]
    while g.kind == "derived" and len(g.attempts) == 1 and not g.present:
        nxt = _pass_through(g.attempts[0])
        if nxt is None:
            break
        g = nxt
    if g.kind != "derived" or not g.attempts:
        _lacks_goal(w, g, 0, out)
        return
    ranked = _ranked(g)
    best = ranked[0]
    out.append((0, w.ui("explain_nearest_way", rule=w.rule_title(best.rule),
                        refs=w.refs([best.rule]))))
    out.append((0, w.ui("explain_it_lacks")))
    _lacks_attempt(w, best, 1, out)
    others = [a for a in ranked[1:] if a.rule != best.rule]
    if others:
        names = w.semi().join(dict.fromkeys(
            f"{w.rule_title(a.rule)} ({w.refs([a.rule])})" for a in others))
        out.append((0, w.ui("explain_other_ways", ways=names)))


def _pass_through(a: Attempt) -> Goal | None:
    """The one missing derived premise of a rule that lacks nothing else, if any."""
    failed = [p for p in a.premises if not p.held]
    if len(failed) == 1 and not failed[0].negated and failed[0].goal is not None \
            and failed[0].goal.kind == "derived" and failed[0].goal.attempts:
        return failed[0].goal
    return None


def _lacks_attempt(w: _Words, a: Attempt, depth: int, out: list[Line]) -> None:
    for p in a.premises:
        if p.held:
            continue
        if p.negated:
            out.append((depth, "• " + (_negation(w, p, True) or
                                       w.ui("explain_must_be_none", what=_looked_for(w, p)))))
            for b in p.blocking[:_SHORT_WAYS]:
                out.append((depth + 1, f"– {describe(w, b)}"))
            continue
        if p.goal is None:
            text = _sentences(w, p.fact_type, p.checks, p.fact, failed_only=True)
            out.append((depth, f"• {text or w.type_name(p.fact_type)}"))
            continue
        _lacks_goal(w, p.goal, depth, out, p)


def _lacks_goal(w: _Words, g: Goal, depth: int, out: list[Line],
                p: Premise | None = None) -> None:
    if g.kind == "computed" or (p is not None and p.fact is not None
                                and p.fact.type == "metric"):
        text = _sentences(w, p.fact_type, p.checks, p.fact, failed_only=True) \
            if p is not None else ""
        out.append((depth, f"• {text or _wanted(w, g)}"))
        return
    if g.kind == "evidence":
        out.append((depth, "• " + w.ui("explain_record_needed", what=_wanted(w, g))))
        return
    if g.kind == "knowledge" or g.truncated or not g.attempts:
        out.append((depth, f"• {_wanted(w, g)}"))
        return
    ranked = _ranked(g)
    # a rule that lacks only one derived fact, nearer than any other: say what that
    # fact would need
    while len(ranked) == 1 or _attempt_cost(ranked[0]) < _attempt_cost(ranked[1]):
        nxt = _pass_through(ranked[0])
        if nxt is None:
            break
        g, ranked = nxt, _ranked(nxt)
    head = _wanted(w, g)
    best = [a for a in ranked if _attempt_cost(a) == _attempt_cost(ranked[0])]
    if len(best) == 1:
        out.append((depth, f"• {head}"))
        _lacks_attempt(w, best[0], depth + 1, out)
        return
    out.append((depth, "• " + w.ui("explain_none_yet", what=head)))
    for a in best[:_SHORT_WAYS]:
        text = w.semi().join(_sentences(w, q.fact_type, q.checks, q.fact, failed_only=True)
                         or _wanted(w, q.goal) if q.goal is not None else
                         _sentences(w, q.fact_type, q.checks, q.fact, failed_only=True)
                         for q in a.premises if not q.held and not q.negated)
        out.append((depth + 1, f"– {w.rule_title(a.rule)}: {text}" if text
                    else f"– {w.rule_title(a.rule)}"))
    if len(best) > _SHORT_WAYS:
        out.append((depth + 1, w.ui("explain_and_more", n=len(best) - _SHORT_WAYS)))


def _wanted(w: _Words, g: Goal) -> str:
    """A wanted fact in words: its kind and name, then the tests it must pass."""
    what = w.type_name(g.fact_type)
    ft = w.kb.fact_types.get(g.fact_type)
    label_field = ft.label_field if ft else None
    named = [c for c in g.constraints if c.op == "eq" and c.field == label_field]
    if named:
        what = w.label(g.fact_type, named[0].value) if g.fact_type == "metric" else \
            f"{what}: {w.label(g.fact_type, named[0].value)}"
    # "is recorded" tests only guard references: they say nothing a reader needs
    rest = [c for c in g.constraints if c not in named and c.op != "ex"]
    if not rest:
        return what
    conds = w.semi().join(_need(w, g.fact_type, c) for c in rest)
    return w.ui("explain_with", what=what, conds=conds)


def _need(w: _Words, fact_type: str, c: Constraint, *, held: bool = False) -> str:
    """A wanted test in words: "severity: serious", "the value — 2 or more would count"
    (``held``: as a description, "2 or more count")."""
    state = "held" if held else "failed"
    twin = _date_twin(w, fact_type, c.field)
    if twin is not None and w.as_of is not None and c.op in _DATE_OP \
            and isinstance(c.value, (int, float)):
        day = w.lx.date(w.as_of - dt.timedelta(days=int(c.value)))
        return w.ui(f"need_date_{_DATE_OP[c.op]}_{state}", required=day)
    what = "" if fact_type == "metric" and c.field == "value" else \
        _what(w, fact_type, c.field, None)
    ft = w.kb.fact_types.get(fact_type)
    if ft is not None and c.field == ft.label_field:
        names = c.value if isinstance(c.value, (list, tuple)) else [c.value]
        value = f" {w.ui('explain_or')} ".join(w.label(fact_type, n) for n in names)
        if c.op in ("eq", "in"):
            return w.ui("cond_measure", what=what, value=value) if what else value
        need = w.ui(f"need_{c.op}_{state}", required=value)
        return f"{what} — {need}" if what else need
    if c.op in ("eq", "in"):
        value = w.alternatives(c.value)
        return w.ui("cond_measure", what=what, value=value) if what else value
    need = w.ui(f"need_{c.op}_{state}", required=w.value(c.value))
    return f"{what} — {need}" if what else need


def _goal(w: _Words, g: Goal, depth: int, lines: list[str], bound: int,
          seen: set[tuple[Any, ...]] | None = None) -> None:
    pad = "  " * depth
    seen = set() if seen is None else seen
    key = (g.fact_type, g.constraints, g.kind)
    if key in seen and (g.attempts or g.kind == "computed"):
        lines.append(f"{pad}{w.ui('explain_needed', what=_wanted(w, g))} "
                     f"{w.ui('explain_see_above')}")
        return
    seen.add(key)
    lines.append(f"{pad}{w.ui('explain_needed', what=_wanted(w, g))}")
    if g.present and g.kind != "computed":
        ft = w.kb.fact_types.get(g.fact_type)
        if ft is not None and ft.table and "explain_in_kb_table" in w.kb.ui:
            # rows of the knowledge base, the same for every case: not a list to read here
            lines.append(f"{pad}  {w.ui('explain_in_kb_table', n=len(g.present))}")
            return
        lines.append(f"{pad}  {w.ui('explain_already_holds')}")
        for f in g.present:
            lines.append(f"{pad}    – {w.title(f)}")
        return
    if g.kind == "evidence":
        lines.append(f"{pad}  {w.lx.arrow} {w.ui('explain_record_needed', what=_wanted(w, g))}")
        return
    if g.kind == "knowledge":
        lines.append(f"{pad}  {w.lx.arrow} {w.ui('explain_table_needed')}")
        return
    if g.kind == "computed":
        lines.append(f"{pad}  {w.lx.arrow} {w.ui('explain_measured_now')}")
        for f in g.present:
            lines.append(f"{pad}    – {w.title(f)}")
        for e in g.evidence:
            lines.append(f"{pad}      · {describe(w, e)}")
        if not g.present:
            lines.append(f"{pad}    – {w.ui('explain_none_in_case')}")
        return
    if g.truncated:
        lines.append(f"{pad}  {w.ui('explain_depth_reached', depth=bound)}")
        return
    if not g.attempts:
        lines.append(f"{pad}  {w.lx.arrow} {w.ui('explain_no_rule')}")
        return
    lines.append(f"{pad}  {w.ui('explain_could_conclude')}")
    for att in g.attempts:
        src = w.sources(att.rule)
        lines.append(f"{pad}  {_OK if att.held else _NO} {w.rule_title(att.rule)} "
                     f"({w.refs([att.rule])}" + (f"{w.semi()}{src}" if src else "") + ")")
        for p in att.premises:
            _premise_line(w, p, depth + 2, lines)
            if p.goal is not None and not p.held and p.goal.kind != "computed":
                _goal(w, p.goal, depth + 3, lines, bound, seen)


def _premise_line(w: _Words, p: Premise, depth: int, lines: list[str]) -> None:
    """One pattern of a rule in the full why-not tree: held or not, in words."""
    pad = "  " * depth
    mark = _OK if p.held else _NO
    if p.negated:
        key = "explain_must_be_none" if p.blocking else "explain_none_as_needed"
        lines.append(f"{pad}{mark} " + (_negation(w, p, bool(p.blocking)) or
                                        w.ui(key, what=_looked_for(w, p))))
        for b in p.blocking:
            lines.append(f"{pad}    – {describe(w, b)}")
        return
    checks = _sentences(w, p.fact_type, p.checks, p.fact)
    if p.fact is not None and p.fact.type == "metric" and checks:
        lines.append(f"{pad}{mark} {checks}")
        for_counted = p.goal.evidence if p.goal is not None else ()
        for e in for_counted:
            lines.append(f"{pad}    – {describe(w, e)}")
        return
    if p.fact is None and "explain_none_found" in w.kb.ui:
        # no fact of the kind at all: say so, not each test against nothing
        lines.append(f"{pad}{mark} " + w.ui("explain_none_found", what=_looked_for(w, p)))
        return
    head = describe(w, p.fact) if p.fact is not None else w.type_name(p.fact_type)
    lines.append(f"{pad}{mark} {head}" + (f" — {checks}" if checks else ""))



# --------------------------------------------------------------------------- what-if


def describe_edit(kb: KnowledgeBase, e: Edit, lang: str = "en") -> str:
    """One line saying what an edit changes, in the case's own terms."""
    w = _Words(kb, lang)
    if e.op == "policy":
        display = _display(w, "", "", None, param=str(e.field))
        return f"{w.ui('explain_policy')} {param_title(kb, str(e.field), lang)}: " \
            f"{w.value(e.old, display)} {w.lx.arrow} {w.value(e.value, display)}"
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
           f"{w.value(e.old)} {w.lx.arrow} {w.value(e.value)}"


def _diff_lines(w: _Words, d: Diff, pad: str) -> list[str]:
    after = f"{w.lx.arrow} {w.decision(d.decision_after)}" \
        if d.decision_after != d.decision_before else f"({w.ui('unchanged')})"
    lines = [f"{pad}{w.ui('decision')}: {w.decision(d.decision_before)} {after}"]
    if not d.changed:
        lines.append(f"{pad}{w.ui('explain_nothing_changed')}")
        return lines
    for s in d.signals:
        before = _status(w, s.before, s.before_status)
        after = _status(w, s.after, s.after_status)
        key = "gained" if s.before is None else "lost" if s.after is None else "changed"
        lines.append(f"{pad}{w.ui(key)}: " + w.ui(
            "explain_signal_status", what=w.label("signal", s.id), before=before, after=after))
    for sid in d.steps_gained:  # words, not "+"/"−" signs that read oddly right to left
        lines.append(f"{pad}{w.ui('step_gained', what=w.label(_step_fact(w), sid))}")
    for sid in d.steps_lost:
        lines.append(f"{pad}{w.ui('step_lost', what=w.label(_step_fact(w), sid))}")
    if d.plan_before != d.plan_after:
        lines.append(f"{pad}{w.ui('plan')}: {_plan(w, d.plan_before)} {w.lx.arrow} "
                     f"{_plan(w, d.plan_after)}")
    elif d.plan:
        for c in d.plan:
            subject = f": {w.lx.isolate(c.subject)}" if c.subject else ""
            lines.append(f"{pad}{w.ui('plan')} · {w.label(_plan_fact(w), c.id)}{subject}: "
                         f"{_day(w, c.before)} {w.lx.arrow} {_day(w, c.after)}")
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
    return f"{w.ui('notify_on')} {_day(w, dates[0])} · {w.ui('end_on')} {_day(w, dates[1])}"


def _day(w: _Words, d: dt.date | None) -> str:
    return w.lx.date(d) if d else "—"


def render_what_if(kb: KnowledgeBase, wi: WhatIf, lang: str = "en") -> str:
    """The edits and what they change, as text."""
    w = _Words(kb, lang)
    a = wi.before
    lines = [w.ui("explain_what_if_title"),
             f"{w.lx.isolate(a.client)} — {w.ui('as_of')} {w.lx.date(a.case.as_of)}",
             w.ui("explain_changes_made")]
    lines += [f"  {w.lx.num(i)}. {describe_edit(kb, e, lang)}" for i, e in enumerate(wi.edits, 1)]
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
             f"{w.lx.isolate(a.client)} — {w.ui('as_of')} {w.lx.date(a.case.as_of)} — "
             f"{w.decision(a.decision)} {w.lx.arrow} {target}"]
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
    if fr.stopped == "time":
        lines.append(w.ui("explain_time_spent", n=fr.evaluated,
                          seconds=w.lx.num(fr.seconds) if fr.seconds is not None else "?"))
    elif not fr.complete:
        lines.append(w.ui("explain_budget_spent", n=fr.evaluated))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JSON


def _fact_json(w: _Words, f: FactRef) -> dict[str, Any]:
    return {"id": f.id, "type": f.type, "type_title": w.type_name(f.type), "layer": f.layer,
            "label": f.label, "title": describe(w, f), "fields": dict(f.fields)}


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
        out["looked_for"] = _looked_for(w, p)
        out["instead"] = [_found_json(w, f) for f in p.instead]
    if p.derivation is not None:
        out["derivation"] = _derivation_json(w, p.derivation)
    if p.goal is not None:
        out["goal"] = _goal_json(w, p.goal)
    return out


def _found_json(w: _Words, f: Found) -> dict[str, Any]:
    return {"fact": _fact_json(w, f.fact), "rule": _rule_json(w, f.rule) if f.rule else None,
            "blocks": f.blocks,
            "checks": [_check_json(w, f.fact.type, c, f.fact) for c in f.checks]}


def _rule_json(w: _Words, rule_id: str) -> dict[str, Any]:
    r = w.kb.rule(rule_id)
    return {"id": r.id, "title": w.kb.text(r.title, w.lang), "guidance": list(r.guidance),
            "sources": [{"id": s, "section": sec} for s, sec in r.sources]}


def _derivation_json(w: _Words, d: Derivation) -> dict[str, Any]:
    return {"fact": _fact_json(w, d.fact),
            "rule": _rule_json(w, d.rule) if d.rule else None,
            "premises": [_premise_json(w, p) for p in d.premises],
            "evidence": [_derivation_json(w, e) for e in d.evidence],
            "also": [{"rule": _rule_json(w, s.rule),
                      "premises": [_premise_json(w, p) for p in s.premises]} for s in d.also]}


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
    w = _Words(kb, lang, why.as_of, why.params)
    return {"query": "why", "subject": why.subject, "as_of": why.as_of,
            "decision": why.decision, "node": why.query, "default": why.default,
            "lang": lang, "summary": why_summary(kb, why, lang),
            "roots": [_derivation_json(w, r) for r in why.roots]}


def why_not_dict(kb: KnowledgeBase, wn: WhyNot, lang: str = "en") -> dict[str, Any]:
    """The JSON form of a why-not tree (docs/EXPLAIN.md)."""
    w = _Words(kb, lang, wn.as_of, wn.params)
    short: list[Line] = []
    why_not_short(w, wn, short)
    return {"query": "why_not", "subject": wn.subject, "as_of": wn.as_of,
            "decision": wn.decision, "target": wn.target, "holds": wn.holds,
            "depth": wn.depth, "lang": lang,
            "answer": ["  " * depth + text for depth, text in short],
            "goals": [_goal_json(w, g) for g in wn.goals]}


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
            "stopped": fr.stopped,
            "flips": [{"size": len(f.edits), "decision": f.after.decision,
                       "edits": [_edit_json(kb, e, lang) for e in f.edits],
                       "diff": _diff_json(f.diff)} for f in fr.flips]}


def to_json(data: Mapping[str, Any]) -> str:
    """Byte-stable JSON, like ``Assessment.to_json``."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2, default=str) + "\n"

