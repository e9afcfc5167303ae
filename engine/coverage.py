"""Rule coverage over a corpus of cases: which rules fired, which never did, and why not.

For a rule that never fired, each case's best partial match (the explanation machinery's
why-not attempt) names the first premise that failed; coverage counts those reasons
across the corpus, so the report says, e.g., "in 12 of 14 cases: metric late_payments
value is 1, needs >= 3 ($late_payments_for_signal)". Rules the lint's data-flow analysis
proves impossible are marked as such.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .assessment import Assessment
from .explain import Check, Premise, rule_attempt
from .knowledge import KnowledgeBase, Rule

_SHOWN_REASONS = 3


@dataclass(frozen=True)
class Reason:
    """Why a rule did not fire in some cases: the first premise that failed."""

    text: str
    cases: int
    example: str  # the first case it was seen in


@dataclass(frozen=True)
class RuleCoverage:
    """How one rule did across the corpus."""

    rule: str
    cases: int  # cases in which it fired at least once
    firings: int
    reasons: tuple[Reason, ...] = ()  # for a rule that never fired, most frequent first
    impossible: str | None = None  # the lint's proof that it can never fire, if any


@dataclass(frozen=True)
class Coverage:
    """Rule coverage of a corpus of assessed cases."""

    cases: tuple[str, ...]
    rules: tuple[RuleCoverage, ...]
    decisions: Mapping[str, int]

    @property
    def fired(self) -> tuple[RuleCoverage, ...]:
        return tuple(r for r in self.rules if r.firings)

    @property
    def never(self) -> tuple[RuleCoverage, ...]:
        return tuple(r for r in self.rules if not r.firings)

    @property
    def ratio(self) -> float:
        return len(self.fired) / len(self.rules) if self.rules else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": list(self.cases),
            "decisions": dict(sorted(self.decisions.items())),
            "rules": len(self.rules), "fired": len(self.fired), "never": len(self.never),
            "coverage": round(self.ratio, 4),
            "by_rule": [
                {"rule": r.rule, "cases": r.cases, "firings": r.firings,
                 **({"impossible": r.impossible} if r.impossible else {}),
                 **({"reasons": [{"text": x.text, "cases": x.cases, "example": x.example}
                                 for x in r.reasons]} if not r.firings else {})}
                for r in self.rules
            ],
        }


def rule_coverage(assessments: Sequence[Assessment], kb: KnowledgeBase | None = None) -> Coverage:
    """Which rules of ``kb`` fired across ``assessments`` and, for the others, why not."""
    if kb is None:
        if not assessments:
            raise ValueError("coverage needs a KB or at least one assessment")
        kb = assessments[0].kb
    from .lint import _Flow  # the data-flow proof of impossibility, shared with lint

    impossible = _Flow(kb).dead
    names = tuple(a.case.path or a.client for a in assessments)
    firings: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    for a in assessments:
        seen = Counter(f.rule for f in a.trace.firings)
        firings.update(seen)
        cases.update(seen.keys())
    out = []
    for rule in kb.rules:
        reasons: tuple[Reason, ...] = ()
        if not firings[rule.id]:
            reasons = _reasons(rule, assessments, names)
        out.append(RuleCoverage(rule.id, cases[rule.id], firings[rule.id], reasons,
                                impossible.get(rule.id)))
    decisions = Counter(a.decision for a in assessments)
    return Coverage(names, tuple(out), dict(decisions))


def _reasons(rule: Rule, assessments: Sequence[Assessment],
             names: Sequence[str]) -> tuple[Reason, ...]:
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for a, name in zip(assessments, names, strict=True):
        # depth 0: the first failing premise is the answer; no need to recurse into it
        attempt = rule_attempt(a, rule)
        failing = next((p for p in attempt.premises if not p.held), None)
        text = "all premises held but the conclusion already existed" if failing is None \
            else describe_premise(rule, failing)
        counts[text] += 1
        first.setdefault(text, name)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Reason(t, n, first[t]) for t, n in ranked)


def describe_premise(rule: Rule, p: Premise) -> str:
    """One line on why premise ``p`` of ``rule`` failed (without case-specific values)."""
    index = next((i + 1 for i, q in enumerate(rule.when)
                  if q.fact == p.fact_type and q.negated == p.negated
                  and (q.alias == p.alias or p.negated)), 0)
    where = f"pattern {index}"
    if p.negated:
        label = p.blocking[0].label if p.blocking and p.blocking[0].label else p.fact_type
        return f"{where}: a '{p.fact_type}' ({label}) exists that the rule requires absent"
    if p.fact is None:
        return f"{where}: no '{p.fact_type}' fact"
    failed = [c for c in p.checks if not c.held]
    if not failed:
        return f"{where}: no '{p.fact_type}' fact fits together with the earlier premises"
    label = f"'{p.fact_type}' {p.fact.label}" if p.fact.label else f"'{p.fact_type}'"
    return f"{where}: {label}: " + "; ".join(_check_text(c) for c in failed)


def _check_text(c: Check) -> str:
    if c.op == "any":
        return "none of its alternatives holds"
    if c.op == "ex":
        return f"{c.field} needs to be present"
    sym = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "in": "in"}
    required = list(c.required) if isinstance(c.required, tuple) else c.required
    why = f" (${c.param})" if c.param else f" ({c.ref})" if c.ref else ""
    return f"{c.field} needs {sym[c.op]} {required!r}{why}"
