"""From a validated case to the facts inference starts from: case facts, metrics,
table rows and the parameters. Domain-free: the KB's vocabulary says what to read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .case import Case
from .expr import MISSING, Cond, Const, Ref, Test, evaluate, holds, normalize_number, refs_of
from .knowledge import FactType, KnowledgeBase, Metric

PARAMS_ID = "$params"

Fact = dict[str, Any]


@dataclass
class FactBase:
    """The input facts of one case, by id, plus what each metric counted."""

    facts: dict[str, Fact] = field(default_factory=dict)
    support: dict[str, tuple[str, ...]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    static: dict[str, bool] = field(default_factory=dict)  # ids of KB table rows
    by_type: dict[str, list[Fact]] = field(default_factory=dict)

    def add(self, fact: Fact, *, static: bool = False) -> None:
        self.facts[fact["id"]] = fact
        self.by_type.setdefault(fact["fact"], []).append(fact)
        if static:
            self.static[fact["id"]] = True

    def of_type(self, fact_type: str) -> list[Fact]:
        return self.by_type.get(fact_type, [])

    def single(self, fact_type: str) -> Fact | None:
        found = self.of_type(fact_type)
        return found[0] if len(found) == 1 else None


def build_facts(kb: KnowledgeBase, case: Case) -> FactBase:
    """Every input fact of ``case``: from the case, the KB's tables, metrics, parameters."""
    fb = FactBase(params=dict(case.params))
    for ft in kb.fact_types.values():
        if ft.source is not None and not ft.derived and not ft.table:
            for fact in _from_case(ft, case):
                fb.add(fact)
    for fact in table_facts(kb):
        fb.add(fact, static=True)
    for metric in kb.metrics:
        measured = _metric(metric, fb)
        if measured is not None:
            fb.add(measured)
    return fb


_TABLES: dict[int, tuple[KnowledgeBase, tuple[Fact, ...]]] = {}


def table_facts(kb: KnowledgeBase) -> tuple[Fact, ...]:
    """The facts of the KB's tables: the same for every case, so built once per KB (the
    same dicts in every fact base; nothing downstream changes a fact)."""
    hit = _TABLES.get(id(kb))
    if hit is None or hit[0] is not kb:
        out = []
        for table in kb.tables:
            for i, row in enumerate(table.rows, 1):
                key = ":".join(str(row[k]) for k in sorted(row)
                               if isinstance(row[k], str)) or str(i)
                out.append({"fact": table.fact, "id": f"{table.fact}:{key}", **row})
        hit = _TABLES[id(kb)] = (kb, tuple(out))
    return hit[1]


def params_fact(params: Mapping[str, Any]) -> Fact:
    return {"fact": PARAMS_ID, "id": PARAMS_ID, **params}


def _from_case(ft: FactType, case: Case) -> list[Fact]:
    data = case.data
    section = data if ft.source == "." else data.get(ft.source or "")
    if isinstance(section, list):
        out = []
        for i, item in enumerate(section):
            fact = _fact(ft, item, case.as_of)
            ref = fact.get("ref")
            fact["id"] = f"{ft.name}:{ref}" if ref else f"{ft.name}:{i + 1}"
            fact["index"] = i
            out.append(fact)
        ids = [f["id"] for f in out]
        if len(set(ids)) != len(ids):
            from .errors import CaseError

            dup = next(x for x in ids if ids.count(x) > 1)
            i = ids.index(dup, ids.index(dup) + 1)
            raise CaseError(f"duplicate id '{dup.split(':', 1)[1]}'",
                            case.source((ft.source, i, "id")))
        return out
    if isinstance(section, dict):
        single = _fact(ft, section, case.as_of)
        single["id"] = ft.name
        return [single]
    return []


def _fact(ft: FactType, item: Mapping[str, Any], as_of: dt.date) -> Fact:
    fact: Fact = {"fact": ft.name}
    for spec in ft.fields.values():
        value = item.get(spec.origin or spec.name)
        if value is None:
            value = spec.default
        if value is None:
            continue
        if spec.type == "date":
            fact[spec.name] = value
            fact[f"{spec.name}_age"] = (as_of - dt.date.fromisoformat(value)).days
        else:
            fact[spec.name] = normalize_number(value)
    return fact


_SPLITS: dict[int, tuple[Metric, tuple[tuple[str, frozenset[Any]], ...], tuple[Cond, ...]]] = {}


def _split_where(metric: Metric) -> tuple[tuple[tuple[str, frozenset[Any]], ...],
                                          tuple[Cond, ...]]:
    """A count metric's string-equality tests as set lookups (a cheap first filter), and the
    other tests. Cached per metric object."""
    hit = _SPLITS.get(id(metric))
    if hit is not None and hit[0] is metric:
        return hit[1], hit[2]
    quick, rest = [], []
    for c in metric.where:
        if isinstance(c, Test) and isinstance(c.operand, Const) and (
                (c.op == "eq" and isinstance(c.operand.value, str)) or (
                c.op == "in" and all(isinstance(v, str) for v in c.operand.value))):
            values = [c.operand.value] if c.op == "eq" else list(c.operand.value)
            quick.append((c.field, frozenset(values)))
        else:
            rest.append(c)
    _SPLITS[id(metric)] = (metric, tuple(quick), tuple(rest))
    return tuple(quick), tuple(rest)


def _metric(metric: Metric, fb: FactBase) -> Fact | None:
    def resolve(ref: Ref) -> Any:
        single = fb.single(ref.alias)
        return MISSING if single is None else single.get(ref.field, MISSING)

    fact: Fact = {"fact": "metric", "id": f"metric:{metric.name}", "name": metric.name}
    if metric.signal:
        fact["signal"] = metric.signal
        fact["indicates"] = True
    else:
        fact["indicates"] = False
    if metric.count:
        quick, rest = _split_where(metric)
        matched = [f for f in fb.of_type(metric.count)
                   if all(f.get(k, MISSING) in ok for k, ok in quick)
                   and all(holds(c, f, fb.params, resolve) for c in rest)]
        fact["value"] = len(matched)
        ages = [f["date_age"] for f in matched if isinstance(f.get("date_age"), int)]
        if ages:
            fact["first_age"] = max(ages)
            fact["last_age"] = min(ages)
        fb.support[fact["id"]] = tuple(sorted(f["id"] for f in matched))
        return fact
    assert metric.value is not None
    value = evaluate(metric.value, fb.params, resolve)
    if value is MISSING or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = normalize_number(value)
    if value is MISSING:
        return None
    fact["value"] = value
    fb.support[fact["id"]] = tuple(sorted({
        single["id"] for r in refs_of(metric.value) if (single := fb.single(r.alias))}))
    return fact
