"""The compiled Python backend's generated code against the interpreted semantics it
replaces: values (expr.evaluate), fact tests (expr.fact_test), and the table memories
runs share."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import partways
from partways import expr as x
from partways.compiled import _expr_lines
from partways.expr import ARITH, MISSING, OPS, Const, Expr, Op, Param, Ref
from partways.facts import build_facts
from partways.inference import run_python
from partways.reference import run_reference

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(
    [0.0, -0.0, 0.5, -2.25, 1e16, 3.0000001, "a", "b", ""]))
FIELDS = ("x", "y")
PARAMS = {"p": 2, "q": 0, "s": "a"}


def exprs() -> st.SearchStrategy[Expr]:
    leaves = st.one_of(VALUES.map(Const), st.sampled_from(["p", "q", "s", "gone"]).map(Param),
                       st.builds(Ref, st.sampled_from(["a", "b", "neg"]), st.sampled_from(FIELDS)))

    def ops(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.builds(lambda e: Op("neg", (e,)), children),
            st.builds(lambda op, args: Op(op, tuple(args)),
                      st.sampled_from([o for o in ARITH if o != "neg"]),
                      st.lists(children, min_size=1, max_size=3)))

    return st.recursive(leaves, ops, max_leaves=6)


def facts() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELDS), VALUES)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same type (0 is not 0.0, True is not 1), NaN equal to itself."""
    if a is MISSING or b is MISSING or isinstance(a, type):
        return a is b
    return type(a) is type(b) and (a == b or (a != a and b != b))


@settings(max_examples=400, deadline=None)
@given(expr=exprs(), a=facts(), b=facts())
def test_generated_values_are_evaluate_s(expr: Expr, a: dict[str, Any],
                                         b: dict[str, Any]) -> None:
    """A rule's computed field written out as Python gives what evaluate gives, missing
    inputs, strings, booleans and division by zero included ('neg' is a negated
    pattern's alias: never bound)."""
    ns: dict[str, Any] = {"MISSING": MISSING, "sum": sum, "min": min, "max": max,
                          "isinstance": isinstance}
    import math

    ns["prod"] = math.prod
    lines = ["def f(f0, f1):", *_expr_lines(expr, "out", {"a": "f0", "b": "f1"}, PARAMS, ns,
                                            "K", [0], "    "), "    return out"]
    exec("\n".join(lines), ns)
    facts_ = {"a": a, "b": b}

    def resolve(ref: Ref) -> Any:
        fact = facts_.get(ref.alias)
        return MISSING if fact is None else fact.get(ref.field, MISSING)

    got, expected = outcome(lambda: ns["f"](a, b)), outcome(lambda: x.evaluate(expr, PARAMS,
                                                                              resolve))
    assert got[0] == expected[0] and same(got[1], expected[1])


def outcome(fn: Any) -> tuple[str, Any]:
    """What ``fn()`` gives: ("value", v), or ("raises", the exception's type): the same
    inputs must fail the same way."""
    try:
        return "value", fn()
    except (ArithmeticError, TypeError) as exc:
        return "raises", type(exc)


@settings(max_examples=400, deadline=None)
@given(op=st.sampled_from(["ex", *OPS]), operand=st.one_of(
    VALUES, st.lists(VALUES, min_size=1, max_size=3).map(tuple)), fact=facts())
def test_written_out_fact_tests_are_fact_test_s(op: str, operand: Any,
                                                fact: dict[str, Any]) -> None:
    if op == "in" and not isinstance(operand, tuple):
        operand = (operand,)
    if op != "in" and isinstance(operand, tuple):
        operand = operand[0]
    ns: dict[str, Any] = {"MISSING": MISSING, "compare": x.compare}
    cond = x.Test("x", op, Const(operand))
    exec(f"def t(fact):\n    return {x.fact_test_source(cond, PARAMS, 'fact', ns, 'K')}", ns)
    assert outcome(lambda: ns["t"](fact)) == outcome(lambda: x.fact_test("x", op, operand)(fact))


def test_a_case_with_facts_of_a_table_type_of_its_own_leaves_the_shared_rows_alone(
        kb: partways.KnowledgeBase) -> None:
    """Runs share the memories only the KB's tables fill; a fact base bringing a fact of
    such a type itself gets its own copy, and later runs see the tables unchanged."""
    program = partways.program_for(kb)
    case = partways.case_from_data({
        "client": "X", "as_of": "2026-06-01",
        "events": [{"date": "2026-05-01", "type": "late_payment", "days_late": 30},
                   {"date": "2026-05-20", "type": "late_payment", "days_late": 30}],
        "remediation": [{"date": "2026-05-25", "step": "frank_conversation",
                         "outcome": "failed"}]}, kb)
    plain = build_facts(kb, case)
    rules = program.python_rules(plain.params)
    assert rules.frozen  # the fit table, at least
    table = next(f for f in plain.facts.values() if plain.static.get(f["id"])
                 and f["fact"] in rules.frozen_types)

    def firings(fb: Any, runner: Any) -> set[Any]:
        return {(f.rule, f.premises, f.conclusion) for f in runner(program, fb).firings}

    before = firings(plain, run_python)
    assert before == firings(plain, run_reference)
    extra = build_facts(kb, case)
    own = {**table, "id": table["id"] + ":own"}
    extra.facts[own["id"]] = own
    assert firings(extra, run_python) == firings(extra, run_reference)
    assert firings(plain, run_python) == before


def test_generated_code_is_kept_on_disk_and_a_bad_entry_only_costs_a_compile(
        tmp_path: Any, monkeypatch: Any) -> None:
    from partways import _kbcache

    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_kbcache, "_CODE", {})
    source = "def f():\n    return 42\n"
    ns: dict[str, Any] = {}
    exec(_kbcache.compiled_code(source, "<test>"), ns)
    assert ns["f"]() == 42
    (kept,) = tmp_path.glob("code-*.marshal")
    monkeypatch.setattr(_kbcache, "_CODE", {})
    assert _kbcache.compiled_code(source, "<test>").co_filename == "<test>"  # loaded
    kept.write_bytes(b"not code")
    monkeypatch.setattr(_kbcache, "_CODE", {})
    exec(_kbcache.compiled_code(source, "<test>"), ns)
    assert ns["f"]() == 42
    monkeypatch.setenv("PARTWAYS_CACHE_DIR", str(kept))  # a file, not a folder
    monkeypatch.setattr(_kbcache, "_CODE", {})
    exec(_kbcache.compiled_code(source, "<other>"), ns)
    assert ns["f"]() == 42
