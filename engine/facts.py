"""From a validated case to the facts inference starts from: case facts, metrics,
table rows and the parameters. Domain-free: the KB's vocabulary says what to read."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .case import Case
from .expr import (
    MISSING,
    NUMBER_LIMIT,
    AnyOf,
    Cond,
    Const,
    Expr,
    FactTest,
    Param,
    Ref,
    Resolver,
    Test,
    evaluate,
    fact_test,
    normalize_number,
    refs_of,
)
from .knowledge import FactType, KnowledgeBase, Metric, per_kb

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
    plan = _plan(kb)
    fb = FactBase(params=dict(case.params))
    facts, by_type = fb.facts, fb.by_type
    for reader in plan.readers:
        found = _from_case(reader, case)
        if found:  # as fb.add would add them, one type at a time
            for fact in found:
                facts[fact["id"]] = fact
            by_type.setdefault(reader.name, []).extend(found)
    # the table rows: the same dicts for every case, added as fb.add would add them
    facts.update(plan.table_by_id)
    for fact_type, rows in plan.table_by_type.items():
        by_type.setdefault(fact_type, []).extend(rows)
    fb.static.update(plan.table_static)
    _metrics(plan, fb)
    return fb


def table_facts(kb: KnowledgeBase) -> tuple[Fact, ...]:
    """The facts of the KB's tables: the same for every case, so built once per KB (the
    same dicts in every fact base; nothing downstream changes a fact)."""
    return _plan(kb).table_rows


class _Reader:
    """How the facts of one case-sourced fact type are read: its fields as
    (name, case key, default, is a date, name of the age field), and ``read``, the
    reader generated once per KB (:func:`_compiled_reader`)."""

    __slots__ = ("fields", "name", "read", "source")

    def __init__(self, ft: FactType) -> None:
        self.name = ft.name
        self.source = ft.source
        self.fields = tuple((spec.name, spec.origin or spec.name, spec.default,
                             spec.type == "date", f"{spec.name}_age")
                            for spec in ft.fields.values())
        self.read = _compiled_reader(self)


def _compiled_reader(ft: _Reader) -> Callable[[Mapping[str, Any], dt.date], Fact]:
    """The reader of ``ft``'s facts as straight-line Python (no loop over the fields, no
    tuple unpacking, the field names as constants): per field, the item's value or else
    the default; a field without either is left out; a date also gives its age in days
    at ``as_of``; a number goes through :func:`~partways.expr.normalize_number`."""
    env: dict[str, Any] = {"_fromiso": dt.date.fromisoformat, "_norm": normalize_number,
                           "_str": str, "_bool": bool, "_int": int, "_LIMIT": NUMBER_LIMIT}
    code = ["def read(item, as_of):", "    get = item.get",
            f"    fact = {{'fact': {ft.name!r}}}"]
    for i, (name, key, default, is_date, age) in enumerate(ft.fields):
        code.append(f"    v = get({key!r})")
        if default is None:
            code.append("    if v is not None:")
        else:
            env[f"_d{i}"] = default
            code += ["    if v is None:", f"        v = _d{i}", "    if True:"]
        if is_date:
            code += [f"        fact[{name!r}] = v",
                     f"        fact[{age!r}] = (as_of - _fromiso(v)).days"]
        else:
            # normalize_number leaves text, booleans and integers within the limit as
            # they are: only other values go through it
            code += ["        t = type(v)",
                     f"        fact[{name!r}] = v if t is _str or t is _bool or (t is _int "
                     "and -_LIMIT <= v <= _LIMIT) else _norm(v)"]
    code.append("    return fact")
    exec(compile("\n".join(code), f"<partways: reader of {ft.name}>", "exec"), env)
    read: Callable[[Mapping[str, Any], dt.date], Fact] = env["read"]
    return read


class _Plan:
    """What :func:`build_facts` needs of a KB, prepared once per KB: the fact types read
    from a case, the table rows (and the same as :meth:`FactBase.add` would index them),
    and the metrics with their constant fields and compiled counts."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.readers = tuple(_Reader(ft) for ft in kb.fact_types.values()
                             if ft.source is not None and not ft.derived and not ft.table)
        rows = []
        for table in kb.tables:
            for i, row in enumerate(table.rows, 1):
                key = ":".join(str(row[k]) for k in sorted(row)
                               if isinstance(row[k], str)) or str(i)
                rows.append({"fact": table.fact, "id": f"{table.fact}:{key}", **row})
        self.table_rows: tuple[Fact, ...] = tuple(rows)
        self.table_by_id = {f["id"]: f for f in rows}
        self.table_by_type: dict[str, list[Fact]] = {}
        for f in rows:
            self.table_by_type.setdefault(f["fact"], []).append(f)
        self.table_static = dict.fromkeys(self.table_by_id, True)
        metrics = []
        for metric in kb.metrics:
            base: Fact = {"fact": "metric", "id": f"metric:{metric.name}", "name": metric.name}
            if metric.signal:
                base["signal"] = metric.signal
                base["indicates"] = True
            else:
                base["indicates"] = False
            aliases = () if metric.count or metric.value is None else \
                tuple(dict.fromkeys(r.alias for r in refs_of(metric.value)))
            metrics.append((metric, base, _Count(metric, base) if metric.count else None,
                            aliases))
        self.metrics = tuple(metrics)
        self.measure = _compiled_metrics(self.metrics)


_PLANS: dict[int, tuple[KnowledgeBase, _Plan]] = {}


def _plan(kb: KnowledgeBase) -> _Plan:
    return per_kb(_PLANS, kb, _Plan)


def params_fact(params: Mapping[str, Any]) -> Fact:
    return {"fact": PARAMS_ID, "id": PARAMS_ID, **params}


def _from_case(ft: _Reader, case: Case) -> list[Fact]:
    data = case.data
    section = data if ft.source == "." else data.get(ft.source or "")
    if isinstance(section, list):
        out = []
        read, as_of = ft.read, case.as_of
        for i, item in enumerate(section):
            fact = read(item, as_of)
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
        single = ft.read(section, case.as_of)
        single["id"] = ft.name
        return [single]
    return []


class _Count:
    """A count metric compiled once per KB: the facts it counts are looked up by the value
    of a string-equality test (an index of the case's facts built once per case and
    shared by every metric keyed on the same field), then filtered by its other string
    tests as set lookups and by the remaining tests, whose operands (constants, parameters,
    the case's single facts) are evaluated once per case, not once per fact; a test that
    names no fact (``date_age <= $window``, in most metrics) once per case for all metrics.

    The key is the metric's first string-equality (or all-string ``in``) test; without
    one, an ``any`` whose every alternative has such a test on the same field gives it (the
    union of their values: only those facts can pass the ``any``, which is still tested).
    A metric that matches nothing gives ``zero``, its fact with the value 0."""

    __slots__ = ("index", "key", "one", "quick", "rest", "shared", "type", "values", "zero")

    def __init__(self, metric: Metric, base: Fact) -> None:
        assert metric.count is not None
        quick: list[tuple[str, frozenset[Any]]] = []
        rest: list[Cond] = []
        for c in metric.where:
            values = _string_values(c)
            if values is not None and isinstance(c, Test):
                quick.append((c.field, values))
            else:
                rest.append(c)
        self.type = metric.count
        first: frozenset[Any] = frozenset()
        self.key: str | None = None
        if quick:
            self.key, first = quick.pop(0)
        else:
            for c in rest:
                found = _any_key(c)
                if found is not None:
                    self.key, first = found
                    break
        self.index = (self.type, self.key or "")
        self.values = tuple(sorted(first))
        self.one = self.values[0] if len(self.values) == 1 else None
        self.quick = tuple(quick)
        self.rest = tuple(rest)
        # the same text, the same test within a case: only parameters and constants in it
        self.shared = tuple(None if refs_of(c) else repr(c) for c in rest)
        self.zero = {**base, "value": 0}


def _string_values(c: Cond) -> frozenset[Any] | None:
    """The values of a string-equality test or of an ``in`` of strings, else ``None``."""
    if isinstance(c, Test) and isinstance(c.operand, Const) and (
            (c.op == "eq" and isinstance(c.operand.value, str)) or (
            c.op == "in" and all(isinstance(v, str) for v in c.operand.value))):
        return frozenset([c.operand.value] if c.op == "eq" else c.operand.value)
    return None


def _any_key(c: Cond) -> tuple[str, frozenset[Any]] | None:
    """A field every alternative of the ``any`` ``c`` tests for string values, and the
    union of those values (a fact passing ``c`` has one of them there), else ``None``."""
    if not isinstance(c, AnyOf):
        return None
    per_option = [{t.field: v for t in o
                   if isinstance(t, Test) and (v := _string_values(t)) is not None}
                  for o in c.options]
    for fld in per_option[0] if per_option else ():
        if all(fld in tests for tests in per_option):
            return fld, frozenset().union(*(tests[fld] for tests in per_option))
    return None


def _bound(c: Cond, params: Mapping[str, Any], resolve: Resolver) -> FactTest:
    """``c`` as a test of one fact, its operand evaluated now (it does not depend on the
    fact tested): the same answer as :func:`~partways.expr.holds`."""
    if isinstance(c, AnyOf):
        options = tuple(tuple(_bound(x, params, resolve) for x in o) for o in c.options)
        return lambda f: any(all(t(f) for t in o) for o in options)
    value = c.operand.value if (c.op == "in" and isinstance(c.operand, Const)) \
        else evaluate(c.operand, params, resolve)
    return fact_test(c.field, c.op, value)


def _metrics(plan: _Plan, fb: FactBase) -> None:
    """Measure every metric on ``fb`` and add the metric facts, in KB order."""
    def resolve(ref: Ref) -> Any:
        single = fb.single(ref.alias)
        return MISSING if single is None else single.get(ref.field, MISSING)

    plan.measure(fb, fb.params, resolve)


_MetricPlan = tuple[Metric, Fact, "_Count | None", tuple[str, ...]]


def _compiled_metrics(metrics: tuple[_MetricPlan, ...]
                      ) -> Callable[[FactBase, dict[str, Any], Resolver], None]:
    """``measure(fb, params, resolve)``: every metric measured on ``fb`` and its fact
    added, in KB order, as straight-line Python generated once per KB (no loop over the
    metrics, their constants named). A count metric: its candidates (all the facts of its
    type, or those its key selects, from an index of the case's facts built where the
    first metric needs it), its string tests as set lookups, then each other test bound
    to the case (:func:`_bound`; a test without references once per case, shared); the
    count, the first and last ages and the support when something matched, else a copy
    of its zero fact. A value metric: its expression written out (:func:`_expr_source`),
    normalised, the metric left out when it is not a number. KB values (names, fields,
    constants) reach the code only as names bound in its namespace, never as text."""
    env: dict[str, Any] = {"MISSING": MISSING, "_bound": _bound, "_norm": normalize_number,
                           "_counted": _counted, "_int": int, "_float": float, "_bool": bool,
                           "_str": str, "_sum": sum, "_prod": math.prod, "_min": min,
                           "_max": max}
    code = ["def measure(fb, params, resolve):",
            "    facts, support, by_type = fb.facts, fb.support, fb.by_type",
            "    single = fb.single",
            "    added = by_type.setdefault('metric', [])",
            "    bound = {}"]
    indexes: dict[tuple[str, str], str] = {}
    for i, (metric, base, count, aliases) in enumerate(metrics):
        fid = base["id"]
        env[f"B{i}"], env[f"ID{i}"] = base, fid
        if count is None:
            if metric.value is None:
                code.append("    raise AssertionError('a metric without count or value')")
                continue
            env[f"A{i}"] = aliases
            value = _expr_source(metric.value, env, f"V{i}", code, "    ")
            code += [f"    value = {value}",
                     "    if value is not MISSING and not isinstance(value, _bool) and "
                     "isinstance(value, (_int, _float)):",
                     "        value = _norm(value)",
                     "        if value is not MISSING:",
                     f"            fact = dict(B{i})",
                     "            fact['value'] = value",
                     f"            support[ID{i}] = tuple(sorted({{single_['id'] for alias in A{i} "
                     "if (single_ := single(alias))}))",
                     f"            facts[ID{i}] = fact",
                     "            added.append(fact)"]
            continue
        env[f"T{i}"] = count.type
        if count.key is None:
            code.append(f"    found = by_type.get(T{i}, ())")
        else:
            ix = indexes.get(count.index)
            if ix is None:
                ix = indexes[count.index] = f"ix{len(indexes)}"
                env[f"K{i}"] = count.key
                code += [f"    {ix} = {{}}",
                         f"    for f in by_type.get(T{i}, ()):",
                         f"        {ix}.setdefault(f.get(K{i}, MISSING), []).append(f)"]
            if count.one is not None:
                env[f"O{i}"] = count.one
                code.append(f"    found = {ix}.get(O{i}, ())")
            else:
                env[f"O{i}"] = count.values
                code.append(f"    found = [f for v in O{i} for f in {ix}.get(v, ())]")
        if count.quick:
            for j, (k, ok) in enumerate(count.quick):
                env[f"Q{i}_{j}"], env[f"QK{i}_{j}"] = ok, k
            tests = " and ".join(f"f.get(QK{i}_{j}, MISSING) in Q{i}_{j}"
                                 for j in range(len(count.quick)))
            code += ["    if found:", f"        found = [f for f in found if {tests}]"]
        for j, (c, shared) in enumerate(zip(count.rest, count.shared, strict=True)):
            env[f"C{i}_{j}"] = c
            code.append("    if found:")
            if shared is None:
                code.append(f"        test = _bound(C{i}_{j}, params, resolve)")
            else:
                env[f"R{i}_{j}"] = shared
                code += [f"        test = bound.get(R{i}_{j})",
                         "        if test is None:",
                         f"            test = bound[R{i}_{j}] = _bound(C{i}_{j}, params, resolve)"]
            code.append("        found = [f for f in found if test(f)]")
        env[f"Z{i}"] = count.zero
        code += ["    if found:", f"        fact = _counted(B{i}, found, support)",
                 "    else:", f"        fact = dict(Z{i})", f"        support[ID{i}] = ()",
                 f"    facts[ID{i}] = fact", "    added.append(fact)"]
    exec(compile("\n".join(code), "<partways: metrics>", "exec"), env)
    measure: Callable[[FactBase, dict[str, Any], Resolver], None] = env["measure"]
    return measure


def _expr_source(expr: Expr, env: dict[str, Any], name: str, code: list[str], ind: str
                 ) -> str:
    """Statements (appended to ``code``) giving ``expr`` the value
    :func:`~partways.expr.evaluate` gives it, in a metric's generated code: a
    reference reads the single fact of its alias then (as ``resolve`` does), every operand
    of an operator is evaluated before it is checked. Returns the name holding the value;
    constants go into ``env`` under names that start with ``name``."""
    if isinstance(expr, Const):
        env[name] = expr.value
        return name
    if isinstance(expr, Param):
        env[f"{name}p"] = expr.name
        code.append(f"{ind}{name} = params.get({name}p, MISSING)")
        return name
    if isinstance(expr, Ref):
        env[f"{name}a"], env[f"{name}f"] = expr.alias, expr.field
        code += [f"{ind}{name} = by_type.get({name}a)",
                 f"{ind}{name} = {name}[0].get({name}f, MISSING) "
                 f"if {name} is not None and len({name}) == 1 else MISSING"]
        return name
    if expr.op == "coalesce":
        inner = ind
        for j, arg in enumerate(expr.args):
            got = _expr_source(arg, env, f"{name}_{j}", code, inner)
            code += [f"{inner}{name} = {got}", f"{inner}if {name} is MISSING or {name} is None:"]
            inner += "    "
        code.append(f"{inner}{name} = MISSING")
        return name
    args = [_expr_source(arg, env, f"{name}_{j}", code, ind) for j, arg in enumerate(expr.args)]
    bad = " or ".join(f"{a} is MISSING or {a} is None or isinstance({a}, (_str, _bool))"
                      for a in args)
    code += [f"{ind}if {bad}:", f"{ind}    {name} = MISSING"]
    listed = ", ".join(args)
    if expr.op == "neg":
        code.append(f"{ind}else:\n{ind}    {name} = -{args[0]}")
    elif expr.op in ("add", "mul", "min", "max"):
        fn = {"add": "_sum", "mul": "_prod", "min": "_min", "max": "_max"}[expr.op]
        code.append(f"{ind}else:\n{ind}    {name} = {fn}(({listed},))")
    elif expr.op == "sub":
        code.append(f"{ind}else:\n{ind}    {name} = {' - '.join(args)}")
    else:  # div: undefined when a divisor is 0
        zero = " or ".join(f"{a} == 0" for a in args[1:]) or "False"
        code += [f"{ind}elif {zero}:", f"{ind}    {name} = MISSING",
                 f"{ind}else:\n{ind}    {name} = {' / '.join(args)}"]
    return name


def _counted(base: Fact, matched: list[Fact], support: dict[str, tuple[str, ...]]) -> Fact:
    """The fact of a count metric that matched ``matched`` (not empty), its support set."""
    fact = dict(base)
    fact["value"] = len(matched)
    ages = [f["date_age"] for f in matched if isinstance(f.get("date_age"), int)]
    if ages:
        fact["first_age"] = max(ages)
        fact["last_age"] = min(ages)
    support[fact["id"]] = tuple(sorted(f["id"] for f in matched))
    return fact
