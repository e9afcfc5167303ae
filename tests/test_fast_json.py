"""orjson on the hot path writes exactly what the json module wrote before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_reference import cases as generated_cases

import partways
from partways._json import dumps_canonical, dumps_compact, dumps_sorted, loads

from _paths import EXAMPLES


def reference(value: Any) -> str:
    """The renderer before orjson: the json module with the same options."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def test_every_example_renders_byte_identical(kb: partways.KnowledgeBase) -> None:
    paths = sorted(p for p in EXAMPLES.glob("*") if p.suffix in (".yaml", ".json"))
    assert paths
    for path in paths:
        a = partways.assess(path, kb)
        for lang in kb.languages:
            assert a.to_json(lang) == reference(a.to_dict(lang)), (path.name, lang)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=generated_cases())
def test_generated_cases_render_byte_identical(kb: partways.KnowledgeBase,
                                               data: dict[str, Any]) -> None:
    a = partways.assess_data(data, kb)
    assert a.to_json() == reference(a.to_dict())


@pytest.mark.parametrize("value", [
    1e-05, 2.5e-07, 1e-30, 1e16, 1.5e300, 2**64, -(2**63) - 1, "\ud800",
    {"b": [1.0, 0.1, -0.0, 2.675], "a": {"é": "\u2028\x7f\x1f"}}, {1: "int key"}, [], {},
])
def test_values_outside_orjsons_common_ground_fall_back(value: Any) -> None:
    assert dumps_sorted(value) + "\n" == reference(value)


def test_compact_round_trip() -> None:
    fact = {"fact": "event", "id": "event:1", "days_late": 12, "ratio": 0.25, "note": "دير"}
    assert loads(dumps_compact(fact)) == fact



@pytest.mark.parametrize("value", [
    1e-05, 2.5e-07, 1e16, 2**64, "\ud800", float("nan"), float("inf"), -float("inf"),
    {"b": [1.0, None, -0.0, 2.675], "a": {"é": "\u2028\x7f\x1f"}}, {1: "int key"},
    {"d": __import__("datetime").date(2026, 1, 2), "t": (1, "x")}, "null", [], {},
])
def test_canonical_json_is_the_json_modules(value: Any) -> None:
    assert dumps_canonical(value) == json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=generated_cases())
def test_canonical_json_of_generated_cases(data: dict[str, Any]) -> None:
    assert dumps_canonical(data) == json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
