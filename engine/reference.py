"""A reference evaluator: naive forward chaining in plain Python over the compiled rules.

It shares everything with the durable_rules path except the matcher: the same
:class:`~partways.inference.Program` (rules and strata), the same condition semantics
(:func:`~partways.expr.holds`), the same conclusions and ids
(:func:`~partways.inference.conclude`) and the same :class:`~partways.inference.Trace`,
so :func:`partways.assessment.build` reads its result unchanged. It is the test oracle
for the product path (which stays on durable_rules) and its speed floor.

>>> import partways
>>> from partways.reference import assess_reference
>>> a = assess_reference(partways.case_from_data({"client": "X", "as_of": "2026-01-01"},
...                                              partways.load_kb()))
>>> a.decision
'keep'
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .assessment import Assessment, build
from .case import Case
from .errors import InferenceError
from .expr import MISSING, Const, Ref, Test, holds
from .facts import Fact, FactBase, build_facts
from .inference import Program, Trace, _alias, conclude, record
from .knowledge import KnowledgeBase, Pattern, Rule


def run_reference(program: Program, fb: FactBase) -> Trace:
    """Evaluate one case's facts by forward chaining, stratum by stratum.

    Rules of stratum *k* run to a fixpoint only after every lower stratum has reached
    its own, so a negated fact type is complete before it is tested (the same guarantee
    the durable path gets from its ``$stratum`` control facts). Within a stratum the
    evaluation is semi-naive: each round only looks at matches that use at least one
    fact concluded in the previous round, so no match is enumerated twice.
    """
    kb = program.kb
    trace = Trace(facts=dict(fb.facts), firings=[], params=dict(fb.params),
                  support=dict(fb.support))
    store = _Store()
    for fact in sorted(trace.facts.values(), key=lambda f: f["id"]):
        store.add(fact)
    strata: dict[int, list[Rule]] = {}
    for rule in kb.rules:
        strata.setdefault(program.strata[rule.id], []).append(rule)
    for level in sorted(strata):
        old: dict[str, int] = {}  # facts of each type every rule has already seen
        while True:
            now = {t: len(facts) for t, facts in store.by_type.items()}
            if now == old:
                break
            for rule in strata[level]:
                for matched in _new_matches(rule, store, old, now, trace.params):
                    _fire(program, rule, matched, trace, store, level)
            old = now
    return trace


class _Store:
    """Facts by type in arrival order, with lazily built indexes on constant equalities."""

    def __init__(self) -> None:
        self.by_type: dict[str, list[Fact]] = {}
        self._index: dict[tuple[str, str], dict[Any, list[int]]] = {}

    def add(self, fact: Fact) -> None:
        facts = self.by_type.setdefault(fact["fact"], [])
        for (ftype, fld), index in self._index.items():
            if ftype == fact["fact"] and fld in fact:
                index.setdefault(_key(fact[fld]), []).append(len(facts))
        facts.append(fact)

    def candidates(self, p: Pattern, lo: int, hi: int) -> list[Fact]:
        """Facts ``lo``..``hi`` of ``p.fact``, narrowed by its first constant equality."""
        facts = self.by_type.get(p.fact, [])
        test = next((c for c in p.where if isinstance(c, Test) and c.op == "eq"
                     and isinstance(c.operand, Const)), None)
        if test is None or not _hashable(test.operand.value):  # type: ignore[union-attr]
            return facts[lo:hi]
        index = self._index.get((p.fact, test.field))
        if index is None:
            index = self._index[(p.fact, test.field)] = {}
            for pos, f in enumerate(facts):
                if test.field in f:
                    index.setdefault(_key(f[test.field]), []).append(pos)
        positions = index.get(_key(test.operand.value), [])  # type: ignore[union-attr]
        return [facts[i] for i in positions[bisect_left(positions, lo):
                                            bisect_left(positions, hi)]]


def _key(value: Any) -> Any:
    """Index key with :func:`~partways.expr.compare`'s equality: a string never equals a
    number, a boolean equals the number it stands for (as dict keys already behave)."""
    return value if _hashable(value) else repr(value)


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _fire(program: Program, rule: Rule, matched: Mapping[str, Fact], trace: Trace,
          store: _Store, level: int) -> None:
    kb = program.kb
    fact = conclude(kb, rule, matched, trace.params)
    if len(trace.firings) >= kb.max_firings:
        raise InferenceError(f"more than {kb.max_firings} rule firings for one case "
                             "(reference evaluator)")
    if record(trace, rule, matched, fact, level):
        store.add(fact)


def _new_matches(rule: Rule, store: _Store, old: Mapping[str, int], now: Mapping[str, int],
                 params: Mapping[str, Any]) -> list[dict[str, Fact]]:
    """Matches of ``rule`` among the first ``now`` facts of each type that use at least
    one fact past the first ``old`` (the standard semi-naive split: the *j*-th positive
    pattern takes a new fact, earlier ones old facts, later ones any)."""
    positives = [i for i, p in enumerate(rule.when) if not p.negated]
    order = positives + [i for i, p in enumerate(rule.when) if p.negated]
    out: list[dict[str, Fact]] = []
    for j in positives:
        ranges = {}
        for i in positives:
            n_old, n_now = old.get(rule.when[i].fact, 0), now.get(rule.when[i].fact, 0)
            ranges[i] = (0, n_old) if i < j else (n_old, n_now) if i == j else (0, n_now)
        if ranges[j][0] < ranges[j][1]:
            out.extend(_matches(rule.when, order, 0, {}, store, ranges, now, params))
    return out


def _matches(patterns: Sequence[Pattern], order: Sequence[int], at: int,
             bound: dict[str, Fact], store: _Store, ranges: Mapping[int, tuple[int, int]],
             now: Mapping[str, int], params: Mapping[str, Any]) -> Iterator[dict[str, Fact]]:
    """Every binding of ``patterns[order[at:]]`` consistent with ``bound`` (a nested loop
    join; ``order``: the positive patterns in order, then the negated ones).

    As in durable_rules, a fact binds at most one positive pattern of a match, and a
    negated pattern ignores the facts the positive ones bound."""
    if at == len(order):
        yield dict(bound)
        return
    index = order[at]
    p = patterns[index]
    taken = [f["id"] for f in bound.values() if f["fact"] == p.fact]

    def resolve(ref: Ref) -> Any:
        fact = bound.get(ref.alias)
        return MISSING if fact is None else fact.get(ref.field, MISSING)

    def ok(fact: Fact) -> bool:
        return (fact["id"] not in taken
                and all(holds(c, fact, params, resolve) for c in p.where))

    if p.negated:
        if not any(ok(f) for f in store.candidates(p, 0, now.get(p.fact, 0))):
            yield from _matches(patterns, order, at + 1, bound, store, ranges, now, params)
        return
    alias = _alias(p, index)
    for fact in store.candidates(p, *ranges[index]):
        if ok(fact):
            bound[alias] = fact
            yield from _matches(patterns, order, at + 1, bound, store, ranges, now, params)
            del bound[alias]


def assess_reference(case: Case, kb: KnowledgeBase | None = None) -> Assessment:
    """Assess ``case`` with the reference evaluator instead of durable_rules."""
    from .api import program_for
    from .knowledge import load_kb

    kb = kb or load_kb()
    program = program_for(kb)
    return build(program, case, run_reference(program, build_facts(kb, case)))
