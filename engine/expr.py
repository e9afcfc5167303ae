"""Values and conditions of the rule language: parsed once, then evaluated in Python
(metrics, explanations, the reference evaluator) or compiled for durable_rules."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import KBError, Source

OPS = ("eq", "neq", "lt", "lte", "gt", "gte", "in")
ARITH = ("add", "sub", "mul", "div", "min", "max", "neg", "coalesce")
MISSING: Any = object()
T = TypeVar("T")


@dataclass(frozen=True)
class Const:
    value: Any

    def __str__(self) -> str:
        return repr(self.value) if isinstance(self.value, str) else str(self.value)


@dataclass(frozen=True)
class Param:
    name: str

    def __str__(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True)
class Ref:
    """A field of an alias (rules) or of the single fact of a type (metrics)."""

    alias: str
    field: str

    def __str__(self) -> str:
        return f"@{self.alias}.{self.field}"


@dataclass(frozen=True)
class Op:
    op: str
    args: tuple[Expr, ...]

    def __str__(self) -> str:
        return f"{self.op}({', '.join(map(str, self.args))})"


Expr = Const | Param | Ref | Op


@dataclass(frozen=True)
class Test:
    """``field op operand``: one comparison against a fact's field."""

    field: str
    op: str
    operand: Expr

    def __str__(self) -> str:
        if self.op == "ex":
            return f"{self.field} is present"
        sym = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "in": "in"}
        return f"{self.field} {sym[self.op]} {self.operand}"


@dataclass(frozen=True)
class AnyOf:
    """At least one of several conjunctions of tests holds."""

    options: tuple[tuple[Cond, ...], ...]

    def __str__(self) -> str:
        return " or ".join("(" + " and ".join(map(str, o)) + ")" for o in self.options)


Cond = Test | AnyOf

Resolver = Callable[[Ref], Any]


def parse_expr(raw: Any, source: Source, *, allow_ops: bool = True) -> Expr:
    """Parse a value expression: constant, ``$param``, ``"@alias.field"`` or an operator."""
    if isinstance(raw, str):
        if raw.startswith("$"):
            name = raw[1:]
            if not name.isidentifier():
                raise KBError(f"bad parameter reference {raw!r}", source)
            return Param(name)
        if raw.startswith("@"):
            alias, dot, fld = raw[1:].partition(".")
            if not dot or not alias.isidentifier() or not fld.isidentifier():
                raise KBError(f"bad reference {raw!r}; write '@alias.field'", source)
            return Ref(alias, fld)
        return Const(raw)
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise KBError(f"an operator expression has exactly one key, got {sorted(raw)}", source)
        ((op, args),) = raw.items()
        if op not in ARITH:
            raise KBError(f"unknown operator '{op}' (one of {', '.join(ARITH)})", source)
        if not allow_ops:
            raise KBError(f"operator '{op}' is not allowed here: compare with a constant, "
                          "a $parameter or an @alias.field", source)
        items = [args] if op == "neg" and not isinstance(args, list) else args
        if not isinstance(items, list) or not items:
            raise KBError(f"operator '{op}' takes a non-empty list", source)
        if op == "neg" and len(items) != 1:
            raise KBError("operator 'neg' takes one operand", source)
        return Op(op, tuple(parse_expr(a, source) for a in items))
    if isinstance(raw, (bool, int, float)) or raw is None:
        return Const(raw)
    raise KBError(f"cannot use {type(raw).__name__} as a value", source)


def parse_where(raw: Any, source: Source, *, allow_ops: bool = False) -> tuple[Cond, ...]:
    """Parse a ``where`` mapping into conditions (all must hold)."""
    if not isinstance(raw, dict):
        raise KBError("'where' must be a mapping of field -> test", source)
    out: list[Cond] = []
    for fld, spec in raw.items():
        if fld == "any":
            if not isinstance(spec, list) or len(spec) < 2:
                raise KBError("'any' takes a list of at least two where-blocks", source)
            out.append(AnyOf(tuple(parse_where(o, source, allow_ops=allow_ops) for o in spec)))
            continue
        if not fld.isidentifier():
            raise KBError(f"bad field name {fld!r}", source)
        if isinstance(spec, dict) and len(spec) >= 1 and all(k in OPS for k in spec):
            for op, operand in spec.items():
                if op == "in":
                    if not isinstance(operand, list) or not operand:
                        raise KBError(f"'{fld}: in' takes a non-empty list", source)
                    out.append(Test(fld, "in", Const(tuple(operand))))
                else:
                    out.append(Test(fld, op, parse_expr(operand, source, allow_ops=allow_ops)))
        elif isinstance(spec, dict) and any(k in OPS for k in spec):
            bad = sorted(k for k in spec if k not in OPS)
            raise KBError(f"unknown test operator {bad[0]!r} on '{fld}' (one of {', '.join(OPS)})",
                          source)
        else:
            out.append(Test(fld, "eq", parse_expr(spec, source, allow_ops=allow_ops)))
    return tuple(out)


def evaluate(expr: Expr, params: Mapping[str, Any], resolve: Resolver) -> Any:
    """Value of ``expr``; ``MISSING`` when an input is absent or arithmetic is undefined."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Param):
        return params.get(expr.name, MISSING)
    if isinstance(expr, Ref):
        return resolve(expr)
    if expr.op == "coalesce":
        for arg in expr.args:
            val = evaluate(arg, params, resolve)
            if val is not MISSING and val is not None:
                return val
        return MISSING
    vals = [evaluate(a, params, resolve) for a in expr.args]
    if any(v is MISSING or v is None or isinstance(v, (str, bool)) for v in vals):
        return MISSING
    if expr.op == "neg":
        return -vals[0]
    if expr.op == "add":
        return sum(vals)
    if expr.op == "mul":
        return math.prod(vals)
    if expr.op == "min":
        return min(vals)
    if expr.op == "max":
        return max(vals)
    result = vals[0]
    for v in vals[1:]:
        if expr.op == "sub":
            result -= v
        elif v == 0:
            return MISSING
        else:
            result /= v
    return result


NUMBER_LIMIT = 1e15  # beyond this, durable's integers saturate and floats print as 1e+15
NUMBER_QUANTUM = 6  # decimals kept: Python writes smaller floats as 1e-05, which durable drops


def normalize_number(value: Any) -> Any:
    """A number as every evaluator sees it: finite, within +-1e15, at most 6 decimals.

    durable_rules reads JSON numbers in plain notation only, so a float that Python would
    print with an exponent (``1e-05``, ``1e+16``) must not reach it; the reference
    evaluator sees the same normalised value, so both compare alike.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return MISSING
        value = round(value, NUMBER_QUANTUM)
        if abs(value) < 10 ** -4:  # repr switches to exponent notation below 1e-4
            value = 0.0
    return max(-NUMBER_LIMIT, min(NUMBER_LIMIT, value)) if abs(value) > NUMBER_LIMIT else value


def compare(actual: Any, op: str, required: Any) -> bool:
    """The comparison semantics shared by every evaluator, matching durable_rules'.

    A missing field fails every test (``neq`` too); booleans compare as the numbers 0
    and 1 (durable's ``true == 1``); a string never orders against a number.
    """
    if op == "ex":
        return actual is not MISSING and actual is not None
    if actual is MISSING or required is MISSING or actual is None:
        return False
    if op == "in":
        return any(_eq(actual, r) for r in required)
    if op == "eq":
        return _eq(actual, required)
    if op == "neq":
        return not _eq(actual, required)
    if isinstance(actual, str) != isinstance(required, str):
        return False
    if op == "lt":
        return bool(actual < required)
    if op == "lte":
        return bool(actual <= required)
    if op == "gt":
        return bool(actual > required)
    return bool(actual >= required)


FactTest = Callable[[Mapping[str, Any]], bool]


def always(_: Mapping[str, Any]) -> bool:
    return True


def never(_: Mapping[str, Any]) -> bool:
    return False


def fact_test(fld: str, op: str, v: Any) -> FactTest:
    """``fact[fld] op v`` with :func:`compare`'s semantics, specialised on the operator and
    the (already known) value ``v``: what a test costs once its operand is evaluated."""
    if op == "ex":
        return lambda f: f.get(fld) is not None
    if v is MISSING:
        return never
    if op == "eq":
        if v is None:
            return never
        return lambda f: f.get(fld) == v  # a string never equals a number in Python either
    if op == "in":
        values = tuple(v)
        if all(isinstance(x, str) for x in values):
            allowed = frozenset(values)
            return lambda f: isinstance(f.get(fld), str) and f[fld] in allowed
        return lambda f: compare(f.get(fld, MISSING), "in", values)
    if op in ("lt", "lte", "gt", "gte") and isinstance(v, (int, float)) \
            and not isinstance(v, bool):
        if op == "lt":
            return lambda f: _num(f.get(fld)) and f[fld] < v
        if op == "lte":
            return lambda f: _num(f.get(fld)) and f[fld] <= v
        if op == "gt":
            return lambda f: _num(f.get(fld)) and f[fld] > v
        return lambda f: _num(f.get(fld)) and f[fld] >= v
    return lambda f: compare(f.get(fld, MISSING), op, v)


def fact_test_source(c: Cond, params: Mapping[str, Any], var: str, ns: dict[str, Any],
                name: str) -> str:
    """Python source of :func:`cond_test`'s test on the fact in variable ``var`` (a
    condition on the fact alone, given ``params``), for generated matching code: the same
    answer as :func:`fact_test`, written out. Constants go into ``ns`` under names that
    start with ``name``; ``ns`` must hold ``MISSING`` and ``compare``."""
    if isinstance(c, AnyOf):
        options = [" and ".join(fact_test_source(x, params, var, ns, f"{name}_{i}_{j}")
                                for j, x in enumerate(o)) or "True"
                   for i, o in enumerate(c.options)]
        return "(" + " or ".join(f"({o})" for o in options) + ")"
    if c.op == "in":
        assert isinstance(c.operand, Const)
        v = c.operand.value
    else:
        known, v = known_operand(c.operand, params)
        assert known
    get = f"{var}.get({c.field!r})"
    if c.op == "ex":
        return f"{get} is not None"
    if v is MISSING:
        return "False"
    if c.op == "eq":
        if v is None:
            return "False"
        ns[name] = v
        return f"{get} == {name}"
    if c.op == "in":
        values = tuple(v)
        if all(isinstance(x, str) for x in values):
            ns[name] = frozenset(values)
            return f"(isinstance({get}, str) and {var}[{c.field!r}] in {name})"
        ns[name] = values
        return f"compare({var}.get({c.field!r}, MISSING), 'in', {name})"
    ns[name] = v
    if c.op in _ORDER and isinstance(v, (int, float)) and not isinstance(v, bool):
        return (f"((x := {get}) is not None and not isinstance(x, str) "
                f"and x {_ORDER[c.op]} {name})")
    return f"compare({var}.get({c.field!r}, MISSING), {c.op!r}, {name})"


_ORDER = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def known_operand(expr: Any, params: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` when ``expr`` is known at compile time, else ``(False, None)``."""
    if isinstance(expr, Const):
        return True, expr.value
    if isinstance(expr, Param):
        return True, params.get(expr.name, MISSING)
    if isinstance(expr, Op) and not has_ref(expr):
        return True, evaluate(expr, params, lambda ref: MISSING)
    return False, None


def has_ref(expr: Any) -> bool:
    if isinstance(expr, Ref):
        return True
    return isinstance(expr, Op) and any(has_ref(a) for a in expr.args)


def conds_test(conds: Sequence[Cond], params: Mapping[str, Any]) -> FactTest:
    """``conds`` (tests on a fact alone, given ``params``) as one test: all must hold."""
    return all_of([cond_test(c, params) for c in conds], always)


def all_of(tests: Sequence[Callable[[T], bool]], empty: Callable[[T], bool]
           ) -> Callable[[T], bool]:
    """One test that holds when every one of ``tests`` does (``empty`` when there are
    none), without a loop for one or two."""
    if not tests:
        return empty
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda x: a(x) and b(x)
    seq = tuple(tests)
    return lambda x: all(t(x) for t in seq)


def cond_test(c: Cond, params: Mapping[str, Any]) -> FactTest:
    """One condition on a fact alone (its operand known, given ``params``) as a test: the
    same answer as :func:`holds`."""
    if isinstance(c, AnyOf):
        options = tuple(conds_test(o, params) for o in c.options)
        return lambda f: any(o(f) for o in options)
    if c.op == "in":
        assert isinstance(c.operand, Const)
        return fact_test(c.field, "in", c.operand.value)
    known, value = known_operand(c.operand, params)
    assert known
    return fact_test(c.field, c.op, value)


def _num(value: Any) -> bool:
    """Orders against a number (compare: not missing, not None, not a string)."""
    return value is not None and not isinstance(value, str)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def holds(cond: Cond, fact: Mapping[str, Any], params: Mapping[str, Any],
          resolve: Resolver) -> bool:
    """Whether ``cond`` holds for ``fact``."""
    if isinstance(cond, AnyOf):
        return any(all(holds(c, fact, params, resolve) for c in option)
                   for option in cond.options)
    required = cond.operand.value if (cond.op == "in" and isinstance(cond.operand, Const)) \
        else evaluate(cond.operand, params, resolve)
    return compare(fact.get(cond.field, MISSING), cond.op, required)


def refs_of(expr: Expr | Cond) -> list[Ref]:
    """Every reference inside an expression or a condition."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, Op):
        return [r for a in expr.args for r in refs_of(a)]
    if isinstance(expr, Test):
        return refs_of(expr.operand)
    if isinstance(expr, AnyOf):
        return [r for o in expr.options for c in o for r in refs_of(c)]
    return []


def params_of(expr: Expr | Cond) -> list[str]:
    """Every parameter named inside an expression or a condition."""
    if isinstance(expr, Param):
        return [expr.name]
    if isinstance(expr, Op):
        return [p for a in expr.args for p in params_of(a)]
    if isinstance(expr, Test):
        return params_of(expr.operand)
    if isinstance(expr, AnyOf):
        return [p for o in expr.options for c in o for p in params_of(c)]
    return []


def fields_of(cond: Cond) -> list[str]:
    """Fields a condition tests."""
    if isinstance(cond, AnyOf):
        return [f for o in cond.options for c in o for f in fields_of(c)]
    return [cond.field]
