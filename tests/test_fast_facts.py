"""build_facts' compiled case readers give the facts a plain field-by-field reader gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import partways
from partways.expr import normalize_number
from partways.facts import Fact, _plan, _Reader

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 1)
# every kind of value a field may meet, valid or not for its type
VALUES: list[Any] = [None, 0, 7, -3, 10**15, 10**16, -(10**16), 2.5, 1.0000004, 1e-7,
                     float("nan"), float("inf"), True, False, "", "text", "2026-01-05",
                     "2026-13-01", [1], {"a": 1}]


def _fact(ft: _Reader, item: Any, as_of: dt.date) -> Fact:
    """One fact of ``ft`` read from a case item, field by field (the oracle)."""
    fact: Fact = {"fact": ft.name}
    for name, key, default, is_date, age in ft.fields:
        value = item.get(key)
        if value is None:
            value = default
            if value is None:
                continue
        if is_date:
            fact[name] = value
            fact[age] = (as_of - dt.date.fromisoformat(value)).days
        elif type(value) is str:
            fact[name] = value
        else:
            fact[name] = normalize_number(value)
    return fact


def outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "fact", read()
    except Exception as exc:  # the same failure from both readers
        return "error", type(exc)


def test_every_field_and_value_reads_alike() -> None:
    kb = partways.load_kb()
    readers = _plan(kb).readers
    assert readers
    checked = 0
    for reader in readers:
        for _name, key, _default, _is_date, _age in reader.fields:
            for value in VALUES:
                for item in ({key: value}, {}, {key: value, "other": 1}):
                    got = outcome(lambda r=reader, item=item: r.read(item, AS_OF))
                    want = outcome(lambda r=reader, item=item: _fact(r, item, AS_OF))
                    assert repr(got) == repr(want), (reader.name, key, value)
                    checked += 1
    assert checked > 500


def test_every_example_reads_alike() -> None:
    kb = partways.load_kb()
    readers = _plan(kb).readers
    paths = sorted(p for p in (ROOT / "examples").glob("*") if p.suffix in (".yaml", ".json"))
    assert paths
    for path in paths:
        case = partways.load_case(path, kb)
        for reader in readers:
            section = case.data if reader.source == "." else case.data.get(reader.source or "")
            items = section if isinstance(section, list) else \
                [section] if isinstance(section, dict) else []
            for item in items:
                assert reader.read(item, case.as_of) == _fact(reader, item, case.as_of)


def test_generated_metric_values_evaluate_alike() -> None:
    """A value metric's generated code gives what evaluate gives (then normalised), for
    every operator over present, missing, None, text, boolean, zero and number operands."""
    import itertools

    from partways.expr import MISSING, Const, Op, Param, Ref, evaluate
    from partways.facts import FactBase, _compiled_metrics
    from partways.knowledge import Metric

    operands = [Ref("a", "x"), Ref("a", "y"), Ref("b", "x"), Param("p"), Param("absent"),
                Const(0), Const(2.5), Const(None)]
    exprs: list[Any] = [*operands]
    for op in ("add", "sub", "mul", "div", "min", "max", "coalesce"):
        exprs += [Op(op, pair) for pair in itertools.permutations(operands[:5], 2)]
        exprs.append(Op(op, (Ref("a", "x"), Op("div", (Param("p"), Ref("a", "y"))),
                             Const(3))))
    exprs += [Op("neg", (e,)) for e in operands]
    exprs.append(Op("coalesce", (Ref("b", "x"), Op("neg", (Param("absent"),)), Const(7))))
    metrics = tuple((Metric(f"m{i}", {"en": "m"}, value=e),
                     {"fact": "metric", "id": f"metric:m{i}", "name": f"m{i}",
                      "indicates": False}, None, ("a", "b"))
                    for i, e in enumerate(exprs))
    measure = _compiled_metrics(metrics)
    values: list[Any] = [None, 0, 0.0, 4, -1.5, 10**15, "text", True, False]
    checked = produced = 0
    for x, y, p in itertools.product(values, values, [0, 3, -2.0, None]):
        facts = [{"fact": "a", "id": "a", "x": x, "y": y}]
        fb = FactBase(params={"p": p} if p is not None else {},
                      by_type={"a": facts, "b": [dict(facts[0], id="b1"), {"id": "b2"}]})

        def resolve(ref: Any, fb: FactBase = fb) -> Any:
            single = fb.single(ref.alias)
            return MISSING if single is None else single.get(ref.field, MISSING)

        measure(fb, fb.params, resolve)
        for metric, _base, _count, _aliases in metrics:
            assert metric.value is not None
            want = outcome(lambda m=metric, fb=fb, r=resolve: normalize_number(
                evaluate(m.value, fb.params, r)))
            fact = fb.facts.get(f"metric:{metric.name}")
            if want[0] == "fact" and isinstance(want[1], (int, float)) \
                    and not isinstance(want[1], bool) and want[1] is not MISSING:
                assert fact is not None and repr(fact["value"]) == repr(want[1]), metric
                assert fb.support[fact["id"]] == ("a",)
                produced += 1
            else:
                assert fact is None, (metric, want, fact)
            checked += 1
    assert checked > 10_000 and produced > 2_000
