"""Compile a KB's rules for durable_rules, stratify negation, run a case, record a trace."""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import InferenceError, KBError, PartwaysError
from .expr import (
    MISSING,
    AnyOf,
    Cond,
    Const,
    Op,
    Param,
    Ref,
    Test,
    evaluate,
    fields_of,
    normalize_number,
    params_of,
    refs_of,
)
from .facts import PARAMS_ID, Fact, FactBase
from .knowledge import KnowledgeBase, Pattern, Rule

if TYPE_CHECKING:
    from ._durable import DurableProgram
    from .compiled import Admit, CompiledRules, Concluder

STRATUM = "$stratum"
_PARAMS_ALIAS = "params__"
_GATE_ALIAS = "gate__"
_DURABLE_ARITH = {"add": "$add", "sub": "$sub", "mul": "$mul", "div": "$div"}
_BY_ID = itemgetter("id")
_VARIANT = "#"  # a rule id never holds it: "rule.id#2" names a durable variant of a rule
_MAX_VARIANTS = 64


class Firing(NamedTuple):
    """One rule firing: the facts it matched (by alias), and the fact it concluded.

    (A named tuple: a case makes a few dozen, and a frozen dataclass costs twice as much
    to build.)"""

    rule: str
    premises: tuple[tuple[str, str], ...]  # (alias, fact id), in pattern order
    conclusion: str
    stratum: int


@dataclass
class Trace:
    """Everything one inference run did: every fact by id and every firing, in order."""

    facts: dict[str, Fact]
    firings: list[Firing]
    params: dict[str, Any]
    support: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def conclusions(self, fact_type: str) -> list[Fact]:
        return sorted((f for f in self.facts.values() if f["fact"] == fact_type),
                      key=lambda f: f["id"])

    def firing_of(self, fact_id: str) -> Firing | None:
        for f in self.firings:
            if f.conclusion == fact_id:
                return f
        return None


@dataclass(frozen=True)
class Program:
    """A KB compiled once: rules with their strata, ready to evaluate cases."""

    kb: KnowledgeBase
    strata: Mapping[str, int]
    max_stratum: int
    # durable_rules' condition lists, by rule id, or by variant name for a rule compiled
    # into several durable rules (see _alternatives; durable_variants maps them back)
    durable_rules: Mapping[str, list[Any]]
    consumed: frozenset[str]
    # table fact type -> its joins ((joining fact type, its field, the table's field), ...):
    # rows asserted on demand, when a fact they can join is (see on_demand)
    on_demand: Mapping[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)
    durable_variants: Mapping[str, str] = field(default_factory=dict)  # variant -> rule id
    backends: dict[Any, Any] = field(default_factory=dict, compare=False)

    def rule(self, rule_id: str) -> Rule:
        return self.kb.rule(rule_id)

    @property
    def durable(self) -> DurableProgram:
        """The rules registered with durable_rules (on first use: only that backend needs it)."""
        hit = self.backends.get("durable")
        if hit is None:
            from ._durable import DurableProgram

            hit = self.backends["durable"] = DurableProgram(self.durable_rules)
        return hit

    def condition_key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The values of the parameters rule conditions read (what compiled matching
        depends on), in a fixed order."""
        names = self.backends.get("condition params")
        if names is None:
            names = self.backends["condition params"] = sorted(
                {n for r in self.kb.rules for p in r.when for c in p.where
                 for n in params_of(c)})
        return tuple(map(params.get, names, repeat(MISSING)))

    def python_rules(self, params: Mapping[str, Any]) -> CompiledRules:
        """The rules compiled into Python for ``params`` (cached: most cases share them;
        keyed on the parameters rule conditions read, the only ones compiled in)."""
        key = ("python", self.condition_key(params))
        hit = self.backends.get(key)
        if hit is None:
            from .compiled import CompiledRules

            hit = self._cache(key, CompiledRules(self.kb, self.strata, params,
                                                 self.conclusions()))
        return hit

    def conclusions(self) -> Mapping[str, tuple[Concluder, Concluder]]:
        """Per rule id, its firing as generated Python (compiled.conclusion_functions:
        the facts of its positive patterns in order, or by alias), made when first asked
        for (a case fires a few dozen of the rules; a cold command should not compile
        them all). For any parameter set: they read ``trace.params``."""
        hit = self.backends.get("conclude")
        if hit is None:
            hit = self.backends["conclude"] = _Conclusions(self)
        return hit

    def admission(self, params: Mapping[str, Any],
                  key: tuple[Any, ...] | None = None) -> Admit:
        """compiled.admission for ``params``: whether a fact can take part in a match
        (cached per values of the parameters conditions read: ``key``, when the caller
        has it)."""
        key = ("admit", self.condition_key(params) if key is None else key)
        hit = self.backends.get(key)
        if hit is None:
            made = self.backends.get("admission")
            if made is None:
                from .compiled import Admission

                made = self.backends["admission"] = Admission(self.kb)
            hit = self._cache(key, made.for_params(params))
        return hit

    def durable_fields(self) -> dict[str, frozenset[str]]:
        """Per fact type some pattern matches, the fields durable_rules' conditions read:
        its patterns' tests and the other patterns' references to it (``@alias.field``),
        plus ``fact`` and ``id``. A fact goes into a session with these fields alone (what
        no condition reads cannot change a match; fewer fields are less JSON both ways
        and less for durable to parse, store and index), and a firing reads the whole
        facts on this side, by id (see run_durable)."""
        hit = self.backends.get("durable fields")
        if hit is None:
            read: dict[str, set[str]] = {STRATUM: {"level"}}
            for r in self.kb.rules:
                types = {p.alias: p.fact for p in r.when if p.alias}
                for p in r.when:
                    mine = read.setdefault(p.fact, set())
                    for c in p.where:
                        mine.update(fields_of(c))
                        for ref in refs_of(c):
                            read.setdefault(types[ref.alias], set()).add(ref.field)
            hit = self.backends["durable fields"] = {
                t: frozenset({"fact", "id", *fields}) for t, fields in read.items()}
        return hit

    def durable_params(self, params: Mapping[str, Any],
                       key: tuple[Any, ...] | None = None) -> Fact:
        """The parameters fact a durable session gets: the parameters rule conditions read
        (what else it holds no condition can see; it is in every firing's message), for
        the values ``key`` (:meth:`condition_key`) gives: the last one made is kept (most
        cases share their values; kept apart from the per-key entries of :meth:`_cache`,
        which a what-if over many parameter sets fills)."""
        key = self.condition_key(params) if key is None else key
        last = self.backends.get("durable params")
        if last is not None and last[0] == key:
            fact: Fact = last[1]
            return fact
        names = self.backends["condition params"]
        fact = {"fact": PARAMS_ID, "id": PARAMS_ID,
                **{n: v for n, v in zip(names, key, strict=True) if v is not MISSING}}
        self.backends["durable params"] = (key, fact)
        return fact

    def durable_rows(self, fb: FactBase) -> dict[str, tuple[Fact, Fact]]:
        """The KB table rows as a durable session gets them, by id: (the row, a copy with
        the fields conditions read, see :meth:`durable_fields`), made once from ``fb``'s
        rows (the same dicts in every case's facts; a row that is not the one kept here
        goes in whole, which matches the same)."""
        hit = self.backends.get("durable rows")
        if hit is None:
            fields = self.durable_fields()
            hit = self.backends["durable rows"] = {}
            for i in fb.static:
                f = fb.facts.get(i)
                if f is not None and f["fact"] in fields:
                    keep = fields[f["fact"]]
                    hit[i] = (f, {k: v for k, v in f.items() if k in keep})
        return hit

    def always_admitted(self) -> frozenset[str]:
        """The fact types of which admission takes every fact: some pattern of the type
        tests nothing of the fact alone (each of its conditions compares with another
        pattern's field), so the compiled admission has nothing to refuse it on."""
        hit = self.backends.get("always admitted")
        if hit is None:
            hit = self.backends["always admitted"] = frozenset(
                p.fact for r in self.kb.rules for p in r.when
                if all(refs_of(c) for c in p.where))
        return hit

    def durable_controls(self) -> list[Fact]:
        """The control facts of a durable session, one per level of :meth:`gated_levels`."""
        hit = self.backends.get("durable controls")
        if hit is None:
            hit = self.backends["durable controls"] = [
                {"fact": STRATUM, "id": f"{STRATUM}:{k}", "level": k}
                for k in self.gated_levels()]
        return hit

    def durable_firings(self) -> Mapping[str, Callable[..., Sequence[Fact]]]:
        """Per durable rule (a rule id, or a variant's name), its firing as generated
        Python (see _durable_firings)."""
        hit = self.backends.get("durable firings")
        if hit is None:
            hit = self.backends["durable firings"] = _durable_firings(self)
        return hit

    def gated_levels(self) -> list[int]:
        """The strata of the rules that negate (each waits on a control fact)."""
        hit = self.backends.get("gated")
        if hit is None:
            hit = self.backends["gated"] = sorted({self.strata[r.id] for r in self.kb.rules
                                                  if any(p.negated for p in r.when)})
        return hit

    def _cache(self, key: Any, value: Any) -> Any:
        kept = ("durable", "conclude", "condition params", "gated", "demand", "admission",
                "durable fields", "durable firings", "durable controls", "durable rows",
                "always admitted", "durable params")
        if sum(1 for k in self.backends if k not in kept) >= 32:  # many policies: bound it
            for k in [k for k in self.backends if k not in kept]:
                del self.backends[k]
        self.backends[key] = value
        return value


class _Conclusions(dict[str, "tuple[Concluder, Concluder]"]):
    """:meth:`Program.conclusions`, each rule's entry made on first use."""

    def __init__(self, program: Program) -> None:
        super().__init__()
        self.program = program

    def __missing__(self, rule_id: str) -> tuple[Concluder, Concluder]:
        from .compiled import conclusion_functions

        entry = self[rule_id] = conclusion_functions(
            self.program.kb, self.program.rule(rule_id), self.program.strata[rule_id])
        return entry


def _durable_firings(program: Program) -> dict[str, Callable[..., Sequence[Fact]]]:
    """Per durable rule (a rule id, or a variant's name), ``fire(trace, admit, release,
    slim, fired, matched)`` (see run_durable), as generated Python, one source for the
    program compiled once (its code kept on disk as the rules' is): the rule's conclusion
    function (made on the rule's first firing) called on the whole facts of its positive
    patterns, looked up in the trace by the ids in ``matched``; and the facts to assert in
    response: none when no pattern takes the conclusion's type or when ``admit`` refuses
    it (not asked when a pattern of that type tests nothing of the fact alone), else the
    conclusion with the fields conditions read, and the table rows it releases. A variant
    of a rule (see _alternatives) fires once per set of matched facts (``fired``)."""
    fields = program.durable_fields()
    always = program.always_admitted()
    joining = {by for joins in program.on_demand.values() for by, _, _ in joins}
    source: list[str] = []
    names: dict[str, str] = {}
    for i, name in enumerate(program.durable_rules):
        variant_of = program.durable_variants.get(name)
        rule = program.rule(variant_of or name)
        args = "".join(f", facts[matched[{_alias(p, k)!r}]['id']]"
                       for k, p in enumerate(rule.when) if not p.negated)
        names[name] = f"fire_{i}"
        source.append(f"def fire_{i}(trace, admit, release, slim, fired, matched):")
        if variant_of is not None:  # the facts satisfying several variants fire it once
            source += [f"    once = ({rule.id!r}, tuple(sorted((a, f['id']) for a, f in "
                       "matched.items())))",
                       "    if once in fired:", "        return ()", "    fired.add(once)"]
        source += ["    facts = trace.facts", f"    fact = C[{rule.id!r}][0](trace{args})"]
        keep = fields.get(rule.then_fact)
        if keep is None:  # no pattern matches its type: it never goes into the session
            source += ["    return ()", ""]
            continue
        source += ["    if fact is None:" if rule.then_fact in always else
                   "    if fact is None or not admit(fact):", "        return ()",
                   f"    out = {{k: fact[k] for k in {tuple(sorted(keep))!r} if k in fact}}"]
        source += ["    rows = release(fact)",
                   "    return [out, *map(slim, rows)] if rows else (out,)", ""] \
            if rule.then_fact in joining else ["    return (out,)", ""]
    from ._kbcache import compiled_code

    ns: dict[str, Any] = {"C": program.conclusions(), "sorted": sorted, "tuple": tuple}
    exec(compiled_code("\n".join(source), "<partways: durable firings>"), ns)
    return {name: ns[fn] for name, fn in names.items()}


def stratify(rules: Sequence[Rule]) -> dict[str, int]:
    """Assign each rule a stratum so a negated fact type is complete before it is tested.

    A rule is at least as high as the producers of the types it matches, and strictly
    higher than the producers of the types it negates. Raises :class:`KBError` on a cycle
    through negation.
    """
    producers: dict[str, list[Rule]] = {}
    for r in rules:
        producers.setdefault(r.then_fact, []).append(r)
    stratum = {r.id: 0 for r in rules}
    limit = len(rules) + 1
    changed = True
    while changed:
        changed = False
        for r in rules:
            need = 0
            for p in r.when:
                level = max((stratum[q.id] for q in producers.get(p.fact, [])), default=-1)
                need = max(need, level + 1 if p.negated else max(level, 0))
            if need > stratum[r.id]:
                if need > limit:
                    raise KBError(f"rule '{r.id}' is part of a cycle through negation "
                                  f"(on '{r.then_fact}')", r.origin)
                stratum[r.id] = need
                changed = True
    return stratum


def compile_kb(kb: KnowledgeBase) -> Program:
    """Check references and compile every rule into a durable_rules ruleset."""
    _check_rules(kb)
    strata = stratify(kb.rules)
    compiled: dict[str, list[Any]] = {}
    variant_of: dict[str, str] = {}
    consumed: set[str] = set()
    for r in kb.rules:
        head: list[Any] = []
        if any(p.negated for p in r.when):
            head.append({_GATE_ALIAS: {"$and": [{"fact": STRATUM}, {"level": strata[r.id]}]}})
        if any(params_of(c) for p in r.when for c in p.where):
            head.append({_PARAMS_ALIAS: {"fact": PARAMS_ID}})
        # a pattern's alternatives (see _alternatives): a negated pattern becomes one
        # negated pattern per alternative (none of them may match), a positive one makes
        # the rule one durable rule per combination of its positive patterns' alternatives
        negated: list[Any] = []
        positive: list[list[Any]] = []
        for i, p in enumerate(r.when):
            consumed.add(p.fact)
            alternatives = _alternatives(p.where)
            if p.negated:
                negated.extend({f"n{i}$not" if len(alternatives) == 1 else f"n{i}_{j}$not":
                                _compile_pattern(p.fact, where)}
                               for j, where in enumerate(alternatives))
            else:
                positive.append([{_alias(p, i): _compile_pattern(p.fact, where)}
                                 for where in alternatives])
        variants = [[*head, *combo, *negated] for combo in itertools.product(*positive)]
        if len(variants) > _MAX_VARIANTS:
            raise KBError(f"rule '{r.id}': its 'any' blocks that compare with another "
                          f"pattern's field or a $parameter make {len(variants)} combinations"
                          f" (at most {_MAX_VARIANTS}): split the rule", r.origin)
        if len(variants) == 1:
            compiled[r.id] = variants[0]
        else:
            for j, conds in enumerate(variants):
                compiled[f"{r.id}{_VARIANT}{j}"] = conds
                variant_of[f"{r.id}{_VARIANT}{j}"] = r.id
    if any(p.negated for r in kb.rules for p in r.when):
        consumed.add(STRATUM)
    if any(params_of(c) for r in kb.rules for p in r.when for c in p.where):
        consumed.add(PARAMS_ID)
    return Program(kb, strata, max(strata.values(), default=0), compiled,
                   frozenset(consumed), on_demand=on_demand(kb), durable_variants=variant_of)


def on_demand(kb: KnowledgeBase) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """The KB tables whose rows need not go into every session.

    A table qualifies when no rule negates it and every pattern on it joins, by equality,
    a field of a fact of another (non-table) type: ``{fact: T, where: {f: "@x.g"}}``. A
    row can then only take part in a match alongside a fact whose ``g`` equals its ``f``,
    so it is asserted right after the first such fact is, and never when none is (a case
    touching three of fifty rows asserts three). Returns, per such table, its joins as
    (joining fact type, that type's field, the table's field).
    """
    out: dict[str, list[tuple[str, str, str]]] = {}
    refused: set[str] = set()
    for r in kb.rules:
        bound: dict[str, str] = {}
        for p in r.when:
            ft = kb.fact_types.get(p.fact)
            if ft is not None and ft.table:
                joins = [(bound[c.operand.alias], c.operand.field, c.field) for c in p.where
                         if isinstance(c, Test) and c.op == "eq" and isinstance(c.operand, Ref)
                         and c.operand.alias in bound and c.field != "id"
                         and not kb.fact_types[bound[c.operand.alias]].table]
                if p.negated or not joins:
                    refused.add(p.fact)
                else:
                    out.setdefault(p.fact, []).append(joins[0])
            if p.alias and not p.negated:
                bound[p.alias] = p.fact
    return {t: tuple(dict.fromkeys(j)) for t, j in out.items() if t not in refused}


def _admitted(program: Program, fb: FactBase, key: tuple[Any, ...] | None = None
              ) -> tuple[list[Fact], list[Fact]]:
    """The input facts worth asserting (Program.admission, given the case's parameters),
    and apart from them the table rows to assert on demand (see :func:`on_demand`); table
    rows are the same for every case: their answer is kept per parameter values (``key``,
    Program.condition_key, when the caller has it)."""
    params = fb.params
    key = program.condition_key(params) if key is None else key
    admit = program.admission(params, key)
    kept = program.backends.get(("admitted", key))  # row id -> 0 left out, 1 in, 2 held
    if kept is None:
        kept = program._cache(("admitted", key), {})
    is_static = fb.static.get
    held = program.on_demand
    types = program.durable_fields()  # no pattern matches another type: admit says no
    out: list[Fact] = []
    later: list[Fact] = []
    for f in fb.facts.values():
        if is_static(f["id"]):
            k = kept.get(f["id"])
            if k is None:
                k = kept[f["id"]] = (2 if f["fact"] in held else 1) if admit(f) else 0
            if k == 1:
                out.append(f)
            elif k:
                later.append(f)
        elif f["fact"] in types and admit(f):
            out.append(f)
    return out, later


class _Demand:
    """Table rows held back from a session, released by the first fact that can join them.

    A joining value that is not a string releases every row of the table (durable's own
    comparison decides then; only string keys are matched here).
    """

    def __init__(self, program: Program, rows: Sequence[Fact]) -> None:
        # the joins, the rows by table and their index: the same while the rows are
        # (the KB's table rows, admitted alike for most cases), so kept on the program
        self.joins: dict[str, list[tuple[str, str, str]]]
        self.rows: dict[str, list[Fact]]
        self.index: dict[tuple[str, str], dict[Any, list[Fact]]]
        kept = program.backends.get("demand")
        if kept is not None and len(kept[0]) == len(rows) and all(map(is_, kept[0], rows)):
            _, self.joins, self.rows, self.index = kept
        else:
            self.joins = {}
            for table, joins in program.on_demand.items():
                for by, their, mine in joins:
                    self.joins.setdefault(by, []).append((table, their, mine))
            self.index = {}
            self.rows = {}
            for f in rows:
                self.rows.setdefault(f["fact"], []).append(f)
            program.backends["demand"] = (list(rows), self.joins, self.rows, self.index)
        self.sent: set[str] = set()

    def release(self, fact: Fact) -> list[Fact]:
        joins = self.joins.get(fact["fact"])
        if not joins:
            return []
        out = []
        for table, their, mine in joins:
            value = fact.get(their, MISSING)
            if value is MISSING:
                continue
            if isinstance(value, str):
                index = self.index.get((table, mine))
                if index is None:
                    index = self.index[(table, mine)] = {}
                    for row in self.rows.get(table, ()):
                        index.setdefault(row.get(mine), []).append(row)
                rows = index.get(value, ())
            else:
                rows = self.rows.get(table, ())
            for row in rows:
                if row["id"] not in self.sent:
                    self.sent.add(row["id"])
                    out.append(row)
        return out


def _alias(p: Pattern, index: int) -> str:
    return p.alias or f"p{index}__"


def _alternatives(where: Sequence[Cond]) -> list[tuple[Cond, ...]]:
    """``where`` as a disjunction of condition lists durable_rules evaluates right.

    durable_rules mis-evaluates an "$or" that compares with another alias's field (a
    ``@alias.field`` or a ``$parameter``, read from the parameters fact) in some
    alternative: it drops matches of the other alternatives, or keeps facts the
    comparison rejects, depending on the alternatives' shapes (measured on 2.0.28; see
    tests/test_durable_any.py). Such an ``any`` is expanded here, one alternative per
    option (recursively); an ``any`` of constants alone stays one "$or", which it
    evaluates right."""
    out: list[tuple[Cond, ...]] = [()]
    for c in where:
        if isinstance(c, AnyOf) and (refs_of(c) or params_of(c)):
            out = [(*done, *option) for done in out
                   for o in c.options for option in _alternatives(o)]
        else:
            out = [(*done, c) for done in out]
    return out


def _compile_pattern(fact: str, where: Sequence[Cond]) -> Any:
    # durable_rules drops a comparison with another alias's field when an "$or" precedes
    # it in the same pattern (found by the exit.step.end_at_term examples): disjunctions
    # go last.
    conds = sorted(where, key=lambda c: isinstance(c, AnyOf) or (
        isinstance(c, Test) and c.op == "in"))
    terms = [{"fact": fact}, *(_compile_cond(c) for c in conds)]
    return {"$and": terms} if len(terms) > 1 else terms[0]


def _operand(expr: Any) -> Any:
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Param):
        return {_PARAMS_ALIAS: expr.name}
    if isinstance(expr, Ref):
        return {expr.alias: expr.field}
    if isinstance(expr, Op) and expr.op in _DURABLE_ARITH and len(expr.args) == 2:
        left, right = (_operand(a) for a in expr.args)
        return {_DURABLE_ARITH[expr.op]: {"$l": left, "$r": right}}
    raise KBError(f"cannot compare with {expr} inside a rule: use a constant, a $parameter, "
                  "an @alias.field, or add/sub/mul/div of two of them (or a metric)")


def _compile_cond(c: Cond) -> Any:
    if isinstance(c, AnyOf):
        return {"$or": [{"$and": [_compile_cond(x) for x in option]} if len(option) > 1
                        else _compile_cond(option[0]) for option in c.options]}
    if c.op == "in":
        assert isinstance(c.operand, Const)
        return {"$or": [{c.field: v} for v in c.operand.value]}
    if c.op == "eq":
        return {c.field: _operand(c.operand)}
    if c.op == "ex":
        return {"$ex": {c.field: 1}}
    return {f"${c.op}": {c.field: _operand(c.operand)}}


def _check_rules(kb: KnowledgeBase) -> None:
    """References a rule makes must exist: fact types, fields, aliases, parameters."""
    for r in kb.rules:
        bound: dict[str, str] = {}
        for p in r.when:
            ft = kb.fact_types.get(p.fact)
            if ft is None:
                from .errors import did_you_mean

                raise KBError(f"rule '{r.id}' matches unknown fact type '{p.fact}'"
                              f"{did_you_mean(p.fact, kb.fact_types)}", r.origin)
            for c in p.where:
                _check_cond(kb, r, c, p.fact, bound)
            if p.alias:
                if p.alias in bound:
                    raise KBError(f"rule '{r.id}' binds alias '{p.alias}' twice", r.origin)
                bound[p.alias] = p.fact
        if r.then_fact not in kb.fact_types:
            raise KBError(f"rule '{r.id}' concludes unknown fact type '{r.then_fact}'", r.origin)
        ft = kb.fact_types[r.then_fact]
        for key, expr in r.then.items():
            if key not in ft.fields:
                from .errors import did_you_mean

                raise KBError(f"rule '{r.id}' sets unknown field '{key}' of '{r.then_fact}'"
                              f"{did_you_mean(key, ft.fields)}", r.origin)
            for ref in refs_of(expr):
                _check_ref(kb, r, ref, bound)
            for name in params_of(expr):
                _check_param(kb, r, name)


def _check_cond(kb: KnowledgeBase, r: Rule, c: Cond, fact: str, bound: Mapping[str, str]) -> None:
    if isinstance(c, AnyOf):
        for option in c.options:
            for x in option:
                _check_cond(kb, r, x, fact, bound)
        return
    assert isinstance(c, Test)
    if c.field == "id":  # durable_rules keeps ids for itself: a rule may read one, not test it
        raise KBError(f"rule '{r.id}' tests 'id' of '{fact}': a rule may copy \"@alias.id\" "
                      "into its conclusion but not match on it", r.origin)
    fields = _fields(kb, fact)
    if c.field not in fields:
        from .errors import did_you_mean

        raise KBError(f"rule '{r.id}' tests unknown field '{c.field}' of '{fact}'"
                      f"{did_you_mean(c.field, fields)}", r.origin)
    for ref in refs_of(c):
        _check_ref(kb, r, ref, bound)
    for name in params_of(c):
        _check_param(kb, r, name)


def _fields(kb: KnowledgeBase, fact: str) -> set[str]:
    ft = kb.fact_types[fact]
    out = set(ft.fields)
    out |= {f"{n}_age" for n, s in ft.fields.items() if s.type == "date"}
    out.add("id")  # every fact has one: "@alias.id" names the matched fact
    return out


def _check_ref(kb: KnowledgeBase, r: Rule, ref: Ref, bound: Mapping[str, str]) -> None:
    if ref.alias not in bound:
        raise KBError(f"rule '{r.id}' uses '@{ref.alias}' before binding it", r.origin)
    if ref.field not in _fields(kb, bound[ref.alias]):
        raise KBError(f"rule '{r.id}': '{bound[ref.alias]}' has no field '{ref.field}'", r.origin)


def _check_param(kb: KnowledgeBase, r: Rule, name: str) -> None:
    if name not in kb.parameters:
        from .errors import did_you_mean

        raise KBError(f"rule '{r.id}' uses unknown parameter '${name}'"
                      f"{did_you_mean(name, kb.parameters)}", r.origin)


def conclusion_id(kb: KnowledgeBase, rule: Rule, premise_ids: Sequence[str],
                  fields: Mapping[str, Any]) -> str:
    """A stable id for a conclusion: its type and label, plus a digest of its derivation."""
    ft = kb.fact_types[rule.then_fact]
    if rule.key:
        return f"{rule.then_fact}:" + "/".join(str(fields.get(k)) for k in rule.key)
    label = fields.get(ft.label_field) if ft.label_field else None
    digest = derivation_digest("|".join([rule.id, *premise_ids]))
    return f"{rule.then_fact}:{label}#{digest}" if label is not None \
        else f"{rule.then_fact}#{digest}"


def derivation_digest(derivation: str) -> str:
    """The 8 hex digits a conclusion id carries for ``derivation`` (``rule|premise ids``),
    the same in every backend."""
    return hashlib.sha1(derivation.encode()).hexdigest()[:8]


def conclude(kb: KnowledgeBase, rule: Rule, matched: Mapping[str, Fact],
             params: Mapping[str, Any]) -> Fact:
    """The fact ``rule`` concludes from ``matched`` facts (by alias)."""
    def resolve(ref: Ref) -> Any:
        fact = matched.get(ref.alias)
        return MISSING if fact is None else fact.get(ref.field, MISSING)

    fields: dict[str, Any] = {}
    for key, expr in rule.then.items():
        value = normalize_number(evaluate(expr, params, resolve))
        if value is not MISSING and value is not None:
            fields[key] = value
    premise_ids = [matched[_alias(p, i)]["id"] for i, p in enumerate(rule.when)
                   if not p.negated and _alias(p, i) in matched]
    return {"fact": rule.then_fact, "id": conclusion_id(kb, rule, premise_ids, fields), **fields}


def record(trace: Trace, rule: Rule, matched: Mapping[str, Fact], fact: Fact,
           stratum: int, premises: tuple[tuple[str, str], ...] | None = None) -> bool:
    """Add a firing to ``trace``; return whether its conclusion is a new fact.

    A rule with a ``key`` concludes one fact per key: a later firing for the same key joins
    the existing fact (its premises become more support) instead of adding a duplicate.
    ``premises``, when the caller has them: (alias, fact id) of each positive pattern.
    """
    if premises is None:
        premises = tuple((_alias(p, i), matched[_alias(p, i)]["id"])
                         for i, p in enumerate(rule.when) if not p.negated)
    existing = trace.facts.get(fact["id"])
    if existing is not None:
        if not rule.key:
            return False
        if existing != fact:
            raise InferenceError(f"rule '{rule.id}' concluded two different '{rule.then_fact}' "
                                 f"facts with the same key {fact['id']}", rule.origin)
        trace.firings.append(Firing(rule.id, premises, fact["id"], stratum))
        return False
    trace.firings.append(Firing(rule.id, premises, fact["id"], stratum))
    trace.facts[fact["id"]] = fact
    return True


ENGINES = ("durable", "python")
_chosen: list[str | None] = [None]  # set by the CLI's --engine for one command
_durable_state: list[str | None] = []  # [None] when durable imports, [reason] when not
_noticed: list[bool] = [False]


def set_engine(name: str | None) -> str | None:
    """Choose the backend for this process (``None``: the default); returns the previous."""
    if name is not None and name not in ENGINES:
        raise PartwaysError(f"unknown engine '{name}' (one of {', '.join(ENGINES)})")
    previous, _chosen[0] = _chosen[0], name
    return previous


def durable_problem() -> str | None:
    """Why durable_rules cannot be used here, or ``None`` when it imports."""
    if not _durable_state:
        try:
            from . import _durable  # noqa: F401
        except Exception as exc:  # ImportError, or an undefined symbol in its C extension
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if "PyEval_CallObject" in reason:  # built for Python >= 3.13 without the define
                reason += ("; to use it, rebuild it for this Python: CPPFLAGS=-DPyEval_CallObject"
                           "=PyObject_CallObject pip install --force-reinstall --no-cache-dir "
                           "--no-binary durable-rules durable-rules==2.0.28")
            _durable_state.append(reason)
        else:
            _durable_state.append(None)
    return _durable_state[0]


def engine_name(requested: str | None = None) -> str:
    """The backend to run: ``requested``, else ``set_engine``'s, else ``PARTWAYS_ENGINE``,
    else durable_rules when it imports, else the compiled Python backend (with a one-line
    notice on standard error, once per process)."""
    name = requested or _chosen[0] or os.environ.get("PARTWAYS_ENGINE") or None
    if name is not None and name not in ENGINES:
        raise PartwaysError(f"unknown engine '{name}' (PARTWAYS_ENGINE or --engine: one of "
                            f"{', '.join(ENGINES)})")
    if name == "python":
        return name
    problem = durable_problem()
    if problem is None:
        return "durable"
    if name == "durable":
        raise InferenceError(f"the durable engine is not available here ({problem}); "
                             "use --engine python")
    if not _noticed[0]:
        _noticed[0] = True
        print(f"partways: durable_rules is not available ({problem}); using the compiled "
              "Python engine (same rules and results)", file=sys.stderr)
    return "python"


def run(program: Program, fb: FactBase, engine: str | None = None) -> Trace:
    """Evaluate one case's facts and return the trace of every firing.

    ``engine`` is ``"durable"`` or ``"python"``; by default see :func:`engine_name`.
    """
    if engine_name(engine) == "python":
        return run_python(program, fb)
    return run_durable(program, fb)


def run_python(program: Program, fb: FactBase) -> Trace:
    """Evaluate with the compiled pure-Python backend (partways.compiled)."""
    trace = Trace(facts=dict(fb.facts), firings=[], params=dict(fb.params),
                  support=dict(fb.support))
    program.python_rules(fb.params).run(fb, trace)
    return trace


def run_durable(program: Program, fb: FactBase) -> Trace:
    """Evaluate one case's facts with durable_rules and return the trace of every firing."""
    trace = Trace(facts=dict(fb.facts), firings=[], params=dict(fb.params),
                  support=dict(fb.support))
    key = program.condition_key(fb.params)
    admit = program.admission(fb.params, key)
    fired: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    get = program.durable_rows(fb).get

    def slim(f: Fact) -> Fact:
        """A KB table row as its session gets it (Program.durable_rows), else ``f``."""
        hit = get(f["id"])
        return hit[1] if hit is not None and hit[0] is f else f

    # Only facts some pattern can match go in (the others could never take part), which
    # also lets them go in one batch; table rows that join other facts follow those facts.
    base, held = _admitted(program, fb, key)
    base.sort(key=_BY_ID)
    if PARAMS_ID in program.consumed:
        base.insert(0, program.durable_params(fb.params, key))
    demand = _Demand(program, held)
    joins = demand.joins
    inputs = [*base, *(row for f in base if f["fact"] in joins for row in demand.release(f))]
    inputs = [h[1] if (h := get(f["id"])) is not None and h[0] is f else f for f in inputs]
    # Level 0 too: a rule that only negates case facts sits in stratum 0 and waits on it.
    # (only the strata that have such rules: another control fact would match nothing)
    controls = program.durable_controls()
    firings = program.durable_firings()
    if not program.durable.run(inputs, controls, firings,
                               (trace, admit, demand.release, slim, fired)):
        # durable judged a fact unmatched that the filter let through: run fact by fact.
        trace.firings.clear()
        fired.clear()
        trace.facts = dict(fb.facts)
        demand = _Demand(program, held)
        inputs = [*base, *(row for f in base for row in demand.release(f))]
        inputs = [h[1] if (h := get(f["id"])) is not None and h[0] is f else f for f in inputs]
        program.durable.run(inputs, controls, firings,
                            (trace, admit, demand.release, slim, fired), batch=False)
    return trace
