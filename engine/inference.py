"""Compile a KB's rules for durable_rules, stratify negation, run a case, record a trace."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._durable import DurableProgram
from .errors import InferenceError, KBError
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
    params_of,
    refs_of,
)
from .facts import PARAMS_ID, Fact, FactBase, params_fact
from .knowledge import KnowledgeBase, Pattern, Rule

STRATUM = "$stratum"
_PARAMS_ALIAS = "params__"
_GATE_ALIAS = "gate__"
_DURABLE_ARITH = {"add": "$add", "sub": "$sub", "mul": "$mul", "div": "$div"}


@dataclass(frozen=True)
class Firing:
    """One rule firing: the facts it matched (by alias), and the fact it concluded."""

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
    durable: DurableProgram
    consumed: frozenset[str]

    def rule(self, rule_id: str) -> Rule:
        return self.kb.rule(rule_id)


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
    consumed: set[str] = set()
    for r in kb.rules:
        conds: list[Any] = []
        if any(p.negated for p in r.when):
            conds.append({_GATE_ALIAS: {"$and": [{"fact": STRATUM}, {"level": strata[r.id]}]}})
        if any(params_of(c) for p in r.when for c in p.where):
            conds.append({_PARAMS_ALIAS: {"fact": PARAMS_ID}})
        for i, p in enumerate(r.when):
            consumed.add(p.fact)
            body = _compile_pattern(p)
            conds.append({f"n{i}$not" if p.negated else _alias(p, i): body})
        compiled[r.id] = conds
    if any(strata.values()):
        consumed.add(STRATUM)
    if any(params_of(c) for r in kb.rules for p in r.when for c in p.where):
        consumed.add(PARAMS_ID)
    return Program(kb, strata, max(strata.values(), default=0), DurableProgram(compiled),
                   frozenset(consumed))


def _alias(p: Pattern, index: int) -> str:
    return p.alias or f"p{index}__"


def _compile_pattern(p: Pattern) -> Any:
    terms = [{"fact": p.fact}, *(_compile_cond(c) for c in p.where)]
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
    label = fields.get(ft.label_field) if ft.label_field else None
    digest = hashlib.sha1("|".join([rule.id, *premise_ids]).encode()).hexdigest()[:8]
    return f"{rule.then_fact}:{label}#{digest}" if label is not None \
        else f"{rule.then_fact}#{digest}"


def conclude(kb: KnowledgeBase, rule: Rule, matched: Mapping[str, Fact],
             params: Mapping[str, Any]) -> Fact:
    """The fact ``rule`` concludes from ``matched`` facts (by alias)."""
    def resolve(ref: Ref) -> Any:
        fact = matched.get(ref.alias)
        return MISSING if fact is None else fact.get(ref.field, MISSING)

    fields: dict[str, Any] = {}
    for key, expr in rule.then.items():
        value = evaluate(expr, params, resolve)
        if value is not MISSING and value is not None:
            fields[key] = value
    premise_ids = [matched[_alias(p, i)]["id"] for i, p in enumerate(rule.when)
                   if not p.negated and _alias(p, i) in matched]
    return {"fact": rule.then_fact, "id": conclusion_id(kb, rule, premise_ids, fields), **fields}


def run(program: Program, fb: FactBase) -> Trace:
    """Evaluate one case's facts with durable_rules and return the trace of every firing."""
    kb = program.kb
    rules = {r.id: r for r in kb.rules}
    trace = Trace(facts=dict(fb.facts), firings=[], params=dict(fb.params),
                  support=dict(fb.support))
    cap = kb.max_firings

    def dispatch(rule_id: str, matched: Mapping[str, Fact]) -> list[Fact]:
        if len(trace.firings) >= cap:
            raise InferenceError(f"more than {cap} rule firings for one case: the knowledge "
                                 "base is probably looping (see 'partways kb lint')")
        rule = rules[rule_id]
        clean = {a: {k: v for k, v in f.items() if k != "sid"} for a, f in matched.items()}
        fact = conclude(kb, rule, clean, trace.params)
        if fact["id"] in trace.facts:
            return []
        premises = tuple((_alias(p, i), clean[_alias(p, i)]["id"])
                         for i, p in enumerate(rule.when) if not p.negated)
        trace.firings.append(Firing(rule_id, premises, fact["id"], program.strata[rule_id]))
        trace.facts[fact["id"]] = fact
        return [fact] if fact["fact"] in program.consumed else []

    inputs = [f for f in fb.facts.values() if f["fact"] in program.consumed]
    inputs.sort(key=lambda f: f["id"])
    if PARAMS_ID in program.consumed:
        inputs.insert(0, params_fact(fb.params))
    controls = [{"fact": STRATUM, "id": f"{STRATUM}:{k}", "level": k}
                for k in range(1, program.max_stratum + 1)]
    program.durable.run(inputs, controls, dispatch)
    return trace
