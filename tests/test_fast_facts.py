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
