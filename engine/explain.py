"""Explanation queries as data: why a fact was concluded, why another was not.

``why`` walks a trace's firings backwards from a conclusion to the case evidence and
re-evaluates every condition of every rule on the facts it matched, so each step shows
the actual value, the required one and the parameter behind it. ``why_not`` takes a
conclusion that did not happen, finds the rules that could have concluded it, evaluates
their patterns against the case's facts (the best partial match) and recurses into what
is missing, down to evidence, with a depth bound. Both return plain frozen records; the
renderers (``partways.render.explain``) turn them into text or JSON.

Domain-free: fact types, fields and outputs come from the KB.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import QueryError, did_you_mean
from .expr import MISSING, AnyOf, Cond, Const, Param, Ref, Test, compare, evaluate, holds
from .facts import Fact
from .inference import Firing, Trace, _alias
from .knowledge import KnowledgeBase, Pattern, Rule


class _Case(Protocol):
    @property
    def as_of(self) -> _dt.date: ...


class Assessment(Protocol):
    """What an explanation reads of an assessment (:class:`partways.Assessment` has it):
    declared here so this module does not import the one that imports it."""

    @property
    def kb(self) -> KnowledgeBase: ...
    @property
    def trace(self) -> Trace: ...
    @property
    def case(self) -> _Case: ...
    @property
    def client(self) -> str: ...
    @property
    def decision(self) -> str: ...
    @property
    def decision_node(self) -> str | None: ...
    @property
    def graph(self) -> Any: ...

DEFAULT_DEPTH = 4
_BEAM = 8  # partial bindings kept per pattern when looking for the best near-match
_HIDDEN_FIELDS = ("fact", "id", "index", "sid")  # sid: durable_rules session key


@dataclass(frozen=True)
class FactRef:
    """A fact as the explanation shows it: its id, type, layer, label and fields."""

    id: str
    type: str
    layer: str
    label: str | None
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Check:
    """One condition of a rule evaluated on a fact: actual value vs required value.

    ``op`` is a comparison (``eq`` .. ``in``) or ``any`` (then ``options`` holds the
    alternatives, each a conjunction of checks). ``param`` names the parameter the
    required value came from, ``ref`` the other premise's field it was read from.
    ``actual`` and ``required`` are ``None`` when absent.
    """

    field: str
    op: str
    actual: Any
    required: Any
    held: bool
    param: str | None = None
    ref: str | None = None
    options: tuple[tuple[Check, ...], ...] = ()


@dataclass(frozen=True)
class Premise:
    """One pattern of a rule, as it stood on the case.

    Positive patterns carry the fact they matched (``why``) or the best candidate
    (``why_not``, ``fact`` is ``None`` when no fact of the type exists). Negated
    patterns ("no such fact") carry the facts that break them in ``blocking``.
    ``derivation`` (why) explains the matched fact; ``goal`` (why-not) explains how
    the missing fact could come about.
    """

    fact_type: str
    alias: str | None
    negated: bool
    held: bool
    checks: tuple[Check, ...]
    fact: FactRef | None = None
    blocking: tuple[FactRef, ...] = ()
    derivation: Derivation | None = None
    goal: Goal | None = None
    instead: tuple[Found, ...] = ()  # why, negated: what was found where it looked


@dataclass(frozen=True)
class Found:
    """A fact met where a "no such fact" premise looked, and why it did not count.

    A held negation ("no open repair for this red flag") is explained by the rules that
    could have concluded such a fact: ``rule`` names the one that examined ``fact``.
    ``blocks`` is true when the fact met a "no such fact" test of that rule, so the rule
    could not conclude (``checks``: the tests it met); false when the fact nearly
    matched one of its patterns (``checks``: every test, the failed ones say why).
    ``rule`` is ``None`` for a near match of the premise's own type.
    """

    fact: FactRef
    rule: str | None
    blocks: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Support:
    """One firing behind a fact: the rule and its premises as they stood."""

    rule: str
    premises: tuple[Premise, ...]


@dataclass(frozen=True)
class Derivation:
    """A node of a why-tree: a fact, the rule that concluded it and its premises.

    Case evidence and table rows have no rule. A computed fact (a metric) has no rule
    either: ``evidence`` lists the facts it counted or was computed from. A fact several
    firings concluded (a keyed conclusion, e.g. one decision supported by a rule bound to
    each red flag) names the first firing in ``rule``/``premises`` (rule ids sorted, as
    the decision graph names it) and every other in ``also``.
    """

    fact: FactRef
    rule: str | None
    premises: tuple[Premise, ...] = ()
    evidence: tuple[Derivation, ...] = ()
    also: tuple[Support, ...] = ()

    @property
    def supports(self) -> tuple[Support, ...]:
        """Every firing behind the fact, the first one included."""
        if self.rule is None:
            return ()
        return (Support(self.rule, self.premises), *self.also)


@dataclass(frozen=True)
class Why:
    """The answer of ``why``: one derivation per fact the query named."""

    subject: str
    as_of: str
    decision: str
    query: str | None
    roots: tuple[Derivation, ...]
    default: bool = False  # the decision is the KB default: no rule concluded one
    params: Mapping[str, Any] = field(default_factory=dict)  # the parameters in force
    kb: KnowledgeBase | None = field(default=None, repr=False, compare=False)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON form (docs/EXPLAIN.md), texts in ``lang``."""
        from .render.explain import why_dict

        return why_dict(_kb_of(self.kb), self, lang)


@dataclass(frozen=True)
class Constraint:
    """A field test a wanted fact must pass (``field op value``)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Attempt:
    """A rule that could conclude a goal, with how each of its patterns stands."""

    rule: str
    held: bool
    premises: tuple[Premise, ...]


@dataclass(frozen=True)
class Goal:
    """A wanted fact: its type, the tests it must pass, and how it could come about.

    ``kind`` is ``derived`` (rules conclude it: see ``attempts``), ``computed`` (the
    engine computes it before inference, e.g. a metric: ``present`` shows the current
    value), ``evidence`` (it must come from the case) or ``knowledge`` (a KB table).
    ``truncated`` is set when the depth bound or a cycle stopped the recursion.
    """

    fact_type: str
    constraints: tuple[Constraint, ...]
    kind: str
    present: tuple[FactRef, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    truncated: bool = False
    section: str | None = None  # case section the evidence would be recorded in
    evidence: tuple[FactRef, ...] = ()  # computed goals: what the present facts counted


@dataclass(frozen=True)
class WhyNot:
    """The answer of ``why_not``: the goals the target names and whether it holds."""

    subject: str
    as_of: str
    decision: str
    target: str
    holds: bool
    goals: tuple[Goal, ...]
    depth: int
    params: Mapping[str, Any] = field(default_factory=dict)  # the parameters in force
    kb: KnowledgeBase | None = field(default=None, repr=False, compare=False)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON form (docs/EXPLAIN.md), texts in ``lang``."""
        from .render.explain import why_not_dict

        return why_not_dict(_kb_of(self.kb), self, lang)


def _kb_of(kb: KnowledgeBase | None) -> KnowledgeBase:
    from .knowledge import load_kb

    return kb if kb is not None else load_kb()


# --------------------------------------------------------------------------- shared


def fact_ref(kb: KnowledgeBase, fact: Mapping[str, Any]) -> FactRef:
    """The displayable form of ``fact``: no engine keys, no derived ``*_age`` twins."""
    ft = kb.fact_types.get(fact["fact"])
    dates = {n for n, s in ft.fields.items() if s.type == "date"} if ft else set()
    fields = {k: v for k, v in sorted(fact.items())
              if k not in _HIDDEN_FIELDS and not (k.endswith("_age") and k[:-4] in dates)}
    label = fact.get(ft.label_field) if ft and ft.label_field else None
    return FactRef(fact["id"], fact["fact"], ft.layer if ft else "evidence",
                   None if label is None else str(label), fields)


def check(cond: Cond, fact: Mapping[str, Any] | None, params: Mapping[str, Any],
          bound: Mapping[str, Fact]) -> Check:
    """Evaluate ``cond`` on ``fact`` (``None``: no fact) with aliases ``bound``."""
    resolve = _resolver(bound)
    if isinstance(cond, AnyOf):
        options = tuple(tuple(check(c, fact, params, bound) for c in o) for o in cond.options)
        return Check("", "any", None, None, any(all(c.held for c in o) for o in options),
                     options=options)
    assert isinstance(cond, Test)
    if cond.op == "in" and isinstance(cond.operand, Const):
        required: Any = tuple(cond.operand.value)
    else:
        required = evaluate(cond.operand, params, resolve)
    actual = MISSING if fact is None else fact.get(cond.field, MISSING)
    held = fact is not None and holds(cond, fact, params, resolve)
    return Check(cond.field, cond.op, None if actual is MISSING else actual,
                 None if required is MISSING else required, held,
                 param=cond.operand.name if isinstance(cond.operand, Param) else None,
                 ref=str(cond.operand) if isinstance(cond.operand, Ref) else None)


def _resolver(bound: Mapping[str, Fact]) -> Any:
    def resolve(ref: Ref) -> Any:
        fact = bound.get(ref.alias)
        return MISSING if fact is None else fact.get(ref.field, MISSING)

    return resolve


def _constraint_check(c: Constraint, fact: Mapping[str, Any] | None) -> Check:
    actual = MISSING if fact is None else fact.get(c.field, MISSING)
    held = fact is not None and compare(actual, c.op, c.value)
    return Check(c.field, c.op, None if actual is MISSING else actual, c.value, held)


def _matches(fact: Mapping[str, Any], where: Sequence[Cond], params: Mapping[str, Any],
             bound: Mapping[str, Fact]) -> bool:
    resolve = _resolver(bound)
    return all(holds(c, fact, params, resolve) for c in where)


class _Index:
    """A trace's facts by type (sorted by id), their display forms, and answered goals:
    built once per query so the search does not rescan the trace."""

    def __init__(self, kb: KnowledgeBase, trace: Trace) -> None:
        self.kb, self.trace = kb, trace
        self.by_type: dict[str, list[Fact]] = {}
        for fid in sorted(trace.facts):
            fact = trace.facts[fid]
            self.by_type.setdefault(fact["fact"], []).append(fact)
        self.refs: dict[str, FactRef] = {}
        self.goals: dict[tuple[Any, ...], Goal] = {}

    def of_type(self, fact_type: str) -> list[Fact]:
        return self.by_type.get(fact_type, [])

    def ref(self, fact: Mapping[str, Any]) -> FactRef:
        hit = self.refs.get(fact["id"])
        if hit is None:
            hit = self.refs[fact["id"]] = fact_ref(self.kb, fact)
        return hit


# --------------------------------------------------------------------------- why


def why(a: Assessment, node: str | None = None) -> Why:
    """Explain how ``node`` (default: the decision) was concluded, down to the evidence.

    ``node`` is a fact id (as in the decision graph), ``type:label`` (e.g.
    ``active:late_payment``) or a label (``late_payment``); a label that names several
    facts explains the ones nearest the decision.

    Examples
    --------
    >>> import partways
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})  # doctest: +SKIP
    >>> a.why().roots[0].rule  # doctest: +SKIP
    'dec.decide'
    """
    kb, trace = a.kb, a.trace
    fired: dict[str, list[Firing]] = {}
    for f in trace.firings:
        fired.setdefault(f.conclusion, []).append(f)
    default = False
    if node is None:
        if a.decision_node is None:
            ids: list[str] = []
            default = True
        else:
            ids = [a.decision_node]
    else:
        ids = resolve_node(a, node)
    memo: dict[str, Derivation] = {}
    ix = _Index(kb, trace)
    roots = tuple(_derive(ix, fired, fid, memo) for fid in ids)
    return Why(a.client, a.case.as_of.isoformat(), a.decision, node, roots, default,
               params=dict(trace.params), kb=a.kb)


def resolve_node(a: Assessment, query: str) -> list[str]:
    """The fact ids ``query`` names (see :func:`why`); raise :class:`QueryError`."""
    facts = a.trace.facts
    if query in facts:
        return [query]
    kb = a.kb
    ftype, colon, label = query.partition(":")
    if not colon:
        ftype, label = "", query
    hits = []
    for fid, fact in facts.items():
        ft = kb.fact_types.get(fact["fact"])
        if ftype and fact["fact"] != ftype:
            continue
        named = ft is not None and ft.label_field and str(fact.get(ft.label_field)) == label
        if named or (ftype and not label):  # "type:" alone names every fact of the type
            hits.append(fid)
    if not hits:
        known = sorted({*facts, *(f"{f['fact']}:{lab}" for f in facts.values()
                                  if (lab := _label(kb, f)) is not None)})
        raise QueryError(f"nothing named '{query}' in this case's reasoning"
                         f"{did_you_mean(query, known)}")
    g = a.graph
    in_graph = [h for h in hits if h in g]
    if not in_graph:
        return sorted(hits)
    # keep the hits nearest the decision: those that are not an ancestor of another hit
    return sorted(h for h in in_graph
                  if not any(h != o and g.has_node(o) and _reaches(g, h, o) for o in in_graph))


def _reaches(g: Any, src: str, dst: str) -> bool:
    import networkx as nx

    return bool(nx.has_path(g, src, dst))


def _label(kb: KnowledgeBase, fact: Mapping[str, Any]) -> str | None:
    ft = kb.fact_types.get(fact["fact"])
    if ft and ft.label_field and fact.get(ft.label_field) is not None:
        return str(fact[ft.label_field])
    return None


def _derive(ix: _Index, fired: Mapping[str, list[Firing]], fid: str,
            memo: dict[str, Derivation]) -> Derivation:
    if fid in memo:
        return memo[fid]
    kb, trace = ix.kb, ix.trace
    fact = trace.facts[fid]
    firings = fired.get(fid)
    if not firings:
        evidence = tuple(_derive(ix, fired, s, memo) for s in trace.support.get(fid, ()))
        out = Derivation(fact_ref(kb, fact), None, evidence=evidence)
        memo[fid] = out
        return out
    memo[fid] = Derivation(fact_ref(kb, fact), None)  # a cycle stops here
    supports = [_support(ix, fired, f, memo)
                for f in sorted(firings, key=lambda f: (f.rule, f.premises))]
    out = Derivation(fact_ref(kb, fact), supports[0].rule, supports[0].premises,
                     also=tuple(supports[1:]))
    memo[fid] = out
    return out


def _support(ix: _Index, fired: Mapping[str, list[Firing]], firing: Firing,
             memo: dict[str, Derivation]) -> Support:
    kb, trace = ix.kb, ix.trace
    rule = kb.rule(firing.rule)
    bound: dict[str, Fact] = {alias: trace.facts[pid] for alias, pid in firing.premises}
    premises: list[Premise] = []
    for i, p in enumerate(rule.when):
        if p.negated:
            neg = _negated(ix, p, bound)
            premises.append(Premise(neg.fact_type, None, True, neg.held, neg.checks,
                                    blocking=neg.blocking, instead=_instead(ix, p, bound)))
            continue
        matched = bound[_alias(p, i)]
        # conditions may refer to aliases bound earlier only, as inference does
        earlier = {_alias(q, j): bound[_alias(q, j)] for j, q in enumerate(rule.when[:i])
                   if not q.negated}
        checks = tuple(check(c, matched, trace.params, earlier) for c in p.where)
        premises.append(Premise(p.fact, p.alias, False, all(c.held for c in checks), checks,
                                fact=fact_ref(kb, matched),
                                derivation=_derive(ix, fired, matched["id"], memo)))
    return Support(rule.id, tuple(premises))


_MAX_BINDINGS = 64  # bindings of a producer rule examined when explaining a negation


def _instead(ix: _Index, p: Pattern, bound: Mapping[str, Fact]) -> tuple[Found, ...]:
    """What a held "no such fact" premise found where it looked, and why none counted.

    For a derived type, each rule that could conclude a fact passing the premise's
    tests is matched on the case: a case fact that met one of its "no such fact" tests
    stopped it (``blocks``); a case fact that passed the tests joining it to the rest
    but failed another is a near match. Derived premises that do not hold and table
    rows that do not exist mean the rule does not apply here: nothing to show.
    """
    kb, params = ix.kb, ix.trace.params
    ft = kb.fact_types.get(p.fact)
    if ft is None or not ft.derived:
        return ()
    cons = _wanted(p, params, bound, ())
    out: list[Found] = []
    for rule in producers(kb, p.fact):
        extra = _propagate(rule, cons, params)
        if extra is not None:
            out += _rule_instead(ix, rule, extra)
    seen: set[tuple[str, str | None, bool]] = set()
    unique = []
    for f in out:
        key = (f.fact.id, f.rule, f.blocks)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return tuple(unique)


def _is_case(kb: KnowledgeBase, fact_type: str) -> bool:
    ft = kb.fact_types.get(fact_type)
    return ft is not None and not ft.derived and not ft.table


def _rule_instead(ix: _Index, rule: Rule, extra: Mapping[str, list[Constraint]]
                  ) -> list[Found]:
    kb, params = ix.kb, ix.trace.params
    out: list[Found] = []
    bindings: list[dict[str, Fact]] = [{}]
    for i, p in enumerate(rule.when):
        if p.negated:
            continue
        alias = _alias(p, i)
        wanted = extra.get(p.alias or "", [])
        grown: list[dict[str, Fact]] = []
        for b in bindings:
            resolve = _resolver(b)
            matched = []
            for f in ix.of_type(p.fact):
                if all(holds(c, f, params, resolve) for c in p.where) and all(
                        compare(f.get(c.field, MISSING), c.op, c.value) for c in wanted):
                    matched.append(f)
            grown += [{**b, alias: f} for f in matched]
            if not matched and _is_case(kb, p.fact):
                out += _near(ix, rule.id, p, b, wanted)
        bindings = grown[:_MAX_BINDINGS]
        if not bindings:
            return out
    for b in bindings:
        for p in rule.when:
            if not p.negated:
                continue
            for f in ix.of_type(p.fact):
                if _matches(f, p.where, params, b):
                    out.append(Found(ix.ref(f), rule.id, True,
                                     tuple(check(c, f, params, b) for c in p.where)))
    return out


def _near(ix: _Index, rule_id: str, p: Pattern, bound: Mapping[str, Fact],
          wanted: Sequence[Constraint]) -> list[Found]:
    """Case facts of ``p``'s type that pass its joins (tests against other premises and
    the wanted constraints) but fail another of its tests."""
    params = ix.trace.params
    resolve = _resolver(bound)
    joins = [c for c in p.where
             if isinstance(c, Test) and c.op == "eq" and isinstance(c.operand, Ref)]
    out = []
    for f in ix.of_type(p.fact):
        if not all(holds(c, f, params, resolve) for c in joins) or not all(
                compare(f.get(c.field, MISSING), c.op, c.value) for c in wanted):
            continue
        checks = (*(check(c, f, params, bound) for c in p.where),
                  *(_constraint_check(c, f) for c in wanted))
        if not all(c.held for c in checks):
            out.append(Found(ix.ref(f), rule_id, False, checks))
    return out


def _negated(ix: _Index, p: Pattern, bound: Mapping[str, Fact]) -> Premise:
    """A "no such fact" pattern: held when no fact of the type passes its conditions."""
    params = ix.trace.params
    blocking = [f for f in ix.of_type(p.fact) if _matches(f, p.where, params, bound)]
    shown = blocking[0] if blocking else None
    checks = tuple(check(c, shown, params, bound) for c in p.where)
    return Premise(p.fact, None, True, not blocking, checks,
                   blocking=tuple(ix.ref(f) for f in blocking))


# --------------------------------------------------------------------------- why not


def why_not(a: Assessment, target: str, *, depth: int = DEFAULT_DEPTH) -> WhyNot:
    """Explain why ``target`` was not concluded, and what it would take.

    ``target`` is a decision value (``terminate``), an output key such as a signal or a
    step name (``late_payment``), or ``type:label`` for any concluded fact type. For
    each rule that could conclude it, every pattern is evaluated against the case's
    facts (the best partial match) and missing facts are followed through the rules
    that produce them, at most ``depth`` levels deep.
    """
    if depth < 0:
        raise QueryError("the depth bound must be 0 or more")
    ix = _Index(a.kb, a.trace)
    wanted = target_goals(a.kb, target)
    goals = tuple(_goal(ix, ft, cons, depth, frozenset()) for ft, cons in wanted)
    # the KB's default decision holds when no rule concluded one
    default = a.decision_node is None and target == a.decision
    return WhyNot(a.client, a.case.as_of.isoformat(), a.decision, target,
                  default or any(g.present for g in goals), goals, depth,
                  params=dict(a.trace.params), kb=a.kb)


def rule_attempt(a: Assessment, rule: Rule, *, depth: int = 0) -> Attempt:
    """How ``rule`` stands on ``a``'s case: the best partial match of its patterns, with
    what held and what failed (missing premises followed ``depth`` levels deep)."""
    return _attempt(_Index(a.kb, a.trace), rule, {}, depth, frozenset())


def target_goals(kb: KnowledgeBase, target: str) -> list[tuple[str, tuple[Constraint, ...]]]:
    """The (fact type, constraints) pairs ``target`` names; raise :class:`QueryError`."""
    ftype, colon, label = target.partition(":")
    if colon:
        ft = kb.fact_types.get(ftype)
        if ft is None:
            raise QueryError(f"unknown fact type '{ftype}'{did_you_mean(ftype, kb.fact_types)}")
        if not ft.label_field:
            raise QueryError(f"'{ftype}' facts have no name to ask about")
        return [(ftype, (Constraint(ft.label_field, "eq", label),))]
    out: list[tuple[str, tuple[Constraint, ...]]] = []
    known: set[str] = set()
    for fact_type, key, kind in _output_specs(kb):
        values = producible(kb, fact_type, key) | set(kb.concepts.get(kind, {}))
        known |= {str(v) for v in values}
        if target in values:
            out.append((fact_type, (Constraint(key, "eq", target),)))
    if not out:
        raise QueryError(f"'{target}' is not a decision, signal, step or plan step this "
                         f"knowledge base can conclude{did_you_mean(target, known)}")
    return out


def _output_specs(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(fact type, key field, concept kind) of every output the manifest names."""
    out = kb.outputs
    dec = out["decision"]
    specs = [(dec["fact"], dec["field"], dec.get("concept", ""))]
    for name in ("findings", "steps", "plan_steps", "milestones"):
        items = out.get(name) or []
        for spec in items if isinstance(items, list) else [items]:
            specs.append((spec["fact"], spec["key"], spec.get("concept", "")))
    return specs


def producible(kb: KnowledgeBase, fact_type: str, field: str, _seen: frozenset[str] = frozenset()
               ) -> set[Any]:
    """Constant values rules can give ``field`` of ``fact_type`` (following references).

    A value copied from a premise (``"@s.name"``) is followed to the rules producing
    that premise's type, so a signal name reaches the facts derived from signals.
    """
    key = f"{fact_type}.{field}"
    if key in _seen:
        return set()
    seen = _seen | {key}
    out: set[Any] = set()
    spec = kb.fact_types.get(fact_type)
    enum = spec.fields[field].enum if spec is not None and field in spec.fields else None
    if enum:
        out |= set(enum)
    for rule in producers(kb, fact_type):
        expr = rule.then.get(field)
        if isinstance(expr, Const):
            out.add(expr.value)
        elif isinstance(expr, Ref):
            p = _pattern_of(rule, expr.alias)
            if p is not None:
                out |= producible(kb, p.fact, expr.field, seen)
    return {v for v in out if isinstance(v, (str, int, float)) and not isinstance(v, bool)}


def producers(kb: KnowledgeBase, fact_type: str) -> list[Rule]:
    """The rules that conclude facts of ``fact_type`` (sorted by id)."""
    return [r for r in kb.rules if r.then_fact == fact_type]


def _pattern_of(rule: Rule, alias: str) -> Pattern | None:
    return next((p for p in rule.when if p.alias == alias and not p.negated), None)


def _goal(ix: _Index, fact_type: str, cons: tuple[Constraint, ...], depth: int,
          path: frozenset[tuple[str, tuple[Constraint, ...]]]) -> Goal:
    key = (fact_type, cons, depth, path)
    hit = ix.goals.get(key)
    if hit is None:
        hit = ix.goals[key] = _new_goal(ix, fact_type, cons, depth, path)
    return hit


def _new_goal(ix: _Index, fact_type: str, cons: tuple[Constraint, ...], depth: int,
              path: frozenset[tuple[str, tuple[Constraint, ...]]]) -> Goal:
    kb, trace = ix.kb, ix.trace
    present = tuple(ix.ref(f) for f in ix.of_type(fact_type)
                    if all(compare(f.get(c.field, MISSING), c.op, c.value) for c in cons))
    ft = kb.fact_types.get(fact_type)
    rules = producers(kb, fact_type)
    if ft is not None and not ft.derived:
        kind = "knowledge" if ft.table else "evidence"
        return Goal(fact_type, cons, kind, present, section=ft.source)
    if not rules:
        # computed before inference (a metric): show what exists of it
        named = [c for c in cons if c.op in ("eq", "in")]
        near = present or tuple(ix.ref(f) for f in ix.of_type(fact_type)
                                if all(compare(f.get(c.field, MISSING), c.op, c.value)
                                       for c in named))
        counted = tuple(ix.ref(trace.facts[s]) for f in near
                        for s in trace.support.get(f.id, ()) if s in trace.facts)
        return Goal(fact_type, cons, "computed", near, evidence=counted)
    if present:
        return Goal(fact_type, cons, "derived", present)
    key = (fact_type, cons)
    if depth <= 0 or key in path:
        return Goal(fact_type, cons, "derived", truncated=True)
    attempts = []
    for rule in rules:
        extra = _propagate(rule, cons, trace.params)
        if extra is None:
            continue
        attempts.append(_attempt(ix, rule, extra, depth - 1, path | {key}))
    return Goal(fact_type, cons, "derived", (), tuple(attempts))


def _propagate(rule: Rule, cons: Sequence[Constraint], params: Mapping[str, Any]
               ) -> dict[str, list[Constraint]] | None:
    """Constraints on the conclusion turned into constraints on the premises (by alias).

    ``None`` when the rule cannot produce a fact passing ``cons`` (it sets a constant
    that fails, or does not set the field at all).
    """
    extra: dict[str, list[Constraint]] = {}
    for c in cons:
        expr = rule.then.get(c.field)
        if expr is None:
            return None
        if isinstance(expr, Ref):
            extra.setdefault(expr.alias, []).append(Constraint(expr.field, c.op, c.value))
        elif isinstance(expr, (Const, Param)):
            value = evaluate(expr, params, lambda _r: MISSING)
            if not compare(value, c.op, c.value):
                return None
    return extra


@dataclass
class _State:
    bound: dict[str, Fact]
    picks: list[Fact | None]  # per pattern: the fact bound (None: none, or negated)
    score: int
    order: tuple[str, ...]


def _attempt(ix: _Index, rule: Rule, extra: Mapping[str, list[Constraint]], depth: int,
             path: frozenset[tuple[str, tuple[Constraint, ...]]]) -> Attempt:
    """Best partial match of ``rule`` on the trace's facts, with sub-goals for what fails.

    A beam search over bindings scores each candidate fact by the tests it passes (a
    test of the fact's identity, an equality with a constant, weighs more than a
    threshold); check records are built for the best binding only.
    """
    params = ix.trace.params
    states = [_State({}, [], 0, ())]
    for i, p in enumerate(rule.when):
        nxt: list[_State] = []
        for st in states:
            if p.negated:
                held = not any(_matches(f, p.where, params, st.bound) for f in ix.of_type(p.fact))
                nxt.append(_State(st.bound, [*st.picks, None], st.score + held, st.order))
                continue
            wanted = extra.get(p.alias or "", [])
            resolve = _resolver(st.bound)
            candidates: list[Fact | None] = list(ix.of_type(p.fact)) or [None]
            for cand in candidates:
                ok = 0
                if cand is not None:
                    ok = 1 + sum(_weight(c) for c in p.where if holds(c, cand, params, resolve))
                    ok += sum(10 for c in wanted
                              if compare(cand.get(c.field, MISSING), c.op, c.value))
                bound = st.bound if cand is None else {**st.bound, _alias(p, i): cand}
                nxt.append(_State(bound, [*st.picks, cand], st.score + ok,
                                  (*st.order, "" if cand is None else cand["id"])))
        nxt.sort(key=lambda s: (-s.score, s.order))
        states = nxt[:_BEAM]
    best = states[0]
    premises: list[Premise] = []
    failed: set[str] = set()  # aliases bound to a fact that does not pass its pattern
    for i, (p, cand) in enumerate(zip(rule.when, best.picks, strict=True)):
        earlier = {_alias(q, j): best.bound[_alias(q, j)] for j, q in enumerate(rule.when[:i])
                   if _alias(q, j) in best.bound}
        if p.negated:
            # a "no such fact" test about a premise that does not hold says nothing
            premises.append(_negated(ix, p, {k: v for k, v in earlier.items()
                                             if k not in failed}))
            continue
        wanted = extra.get(p.alias or "", [])
        checks = (*(check(c, cand, params, earlier) for c in p.where),
                  *(_constraint_check(c, cand) for c in wanted))
        held = cand is not None and all(c.held for c in checks)
        if not held:
            failed.add(_alias(p, i))
        goal = None
        if not held:
            cons = _wanted(p, params, earlier, wanted)
            goal = _goal(ix, p.fact, cons, depth, path)
        premises.append(Premise(p.fact, p.alias, False, held, checks,
                                fact=None if cand is None else ix.ref(cand), goal=goal))
    return Attempt(rule.id, all(x.held for x in premises), tuple(premises))


def _weight(c: Cond) -> int:
    """A test of identity (equality with a constant) counts more than a threshold."""
    if isinstance(c, Test) and c.op in ("eq", "in") and isinstance(c.operand, Const):
        return 10
    return 1


def _wanted(p: Pattern, params: Mapping[str, Any], bound: Mapping[str, Fact],
            extra: Iterable[Constraint]) -> tuple[Constraint, ...]:
    """The conditions of ``p`` as constraints with their operands resolved."""
    resolve = _resolver(bound)
    out = []
    for c in p.where:
        if isinstance(c, AnyOf):
            continue  # a disjunction is shown on the premise, not carried down
        value = tuple(c.operand.value) if c.op == "in" and isinstance(c.operand, Const) \
            else evaluate(c.operand, params, resolve)
        if value is not MISSING:
            out.append(Constraint(c.field, c.op, value))
    out.extend(x for x in extra if x not in out)
    return tuple(out)
