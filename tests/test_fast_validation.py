"""The compiled case-schema check decides exactly as full jsonschema validation does.

The fast path (engine/_fastschema.py) accepts or refuses; jsonschema only words the
error. Hypothesis mutates valid cases (a key dropped or added, a value replaced by any
JSON value, dates and numbers at their edges) and the two decisions must agree.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from test_reference import cases as valid_cases

import partways
from partways._fastschema import compile_schema
from partways.case import _validator

from _paths import EXAMPLES

EDGE_VALUES = ["2026-02-30", "2026-1-01", "2026-01-01\n", "２０２６-01-01", "20260101", "",
               "x" * 201, "x" * 2001, 0, -1, 1.5, 3.0, 1e12, 1e13, True, False, None,
               "late_payment", "frank_conversation", "failed", [], {}, [1], {"a": 1}]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**13, 10**13) | st.floats(allow_nan=False)
    | st.text(max_size=12)
    # a copy: the mutations below must never change the shared edge values themselves
    | st.sampled_from(EDGE_VALUES).map(copy.deepcopy),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)
KEYS = st.sampled_from(["type", "date", "days_late", "amount", "hours", "pressure", "toward",
                        "kind", "what", "note", "id", "step", "outcome", "since", "ends",
                        "notice_days", "revenue", "doubts", "wellbeing", "client", "as_of",
                        "policy", "late_fee", "dayslate"])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (the root included)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(valid_cases()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(data)))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        target = parent[path[-1]] if path else data
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace" and path:
            parent[path[-1]] = draw(JSON)
        elif action == "drop" and path:
            del parent[path[-1]]
        elif isinstance(target, dict):
            target[draw(KEYS)] = draw(JSON)
        elif isinstance(target, list):
            target.append(draw(JSON))
    return data


def decisions(kb: partways.KnowledgeBase, data: Any) -> tuple[bool, bool]:
    fast = _validator(kb).fast
    assert fast is not None, "the shipped case schema compiles to the fast check"
    full = Draft202012Validator(dict(kb.case_schema), format_checker=FormatChecker())
    return fast(data), not any(True for _ in full.iter_errors(data))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_fast_check_decides_as_jsonschema_on_mutated_cases(kb: partways.KnowledgeBase,
                                                          data: dict[str, Any]) -> None:
    fast, full = decisions(kb, data)
    assert fast == full


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_cases())
def test_fast_check_accepts_what_jsonschema_accepts(kb: partways.KnowledgeBase,
                                                   data: dict[str, Any]) -> None:
    assert decisions(kb, data) == (True, True)


def test_fast_check_on_the_examples_and_edges(kb: partways.KnowledgeBase) -> None:
    from partways import _yaml

    docs = [_yaml.load_file(str(p), partways.CaseError) for p in sorted(EXAMPLES.glob("*"))
            if p.suffix in (".yaml", ".json")]
    assert docs
    for doc in docs:
        assert decisions(kb, doc.data) == (True, True)
    base = {"client": "X", "as_of": "2026-01-01"}
    refused = [{**base, "as_of": "2026-02-30"}, {**base, "as_of": "2026-01-01\n"},
               {**base, "doubts": 1.5}, {**base, "doubts": True}, {**base, "extra": 1},
               {**base, "events": [{"date": "2026-01-01", "type": "late_payment"}]},
               {**base, "remediation": [{"date": "2026-01-01", "step": "new_channel"}]},
               {**base, "contract": {"ends": 5}}, {**base, "policy": {"x": "1"}}]
    for data in refused:
        assert decisions(kb, data) == (False, False), data
    assert decisions(kb, {**base, "doubts": 3.0}) == (True, True)


def test_an_unsupported_keyword_leaves_validation_to_jsonschema() -> None:
    assert compile_schema({"type": "object", "patternProperties": {"^x": {}}}) is None
    assert compile_schema({"enum": [1, 2]}) is None  # numbers: jsonschema's own equality
    assert compile_schema({"type": "string", "format": "email"}) is None


def test_a_refused_case_is_still_worded_by_jsonschema(kb: partways.KnowledgeBase) -> None:
    import pytest

    with pytest.raises(partways.CaseError, match=r"events\[0\]: needs a 'days_late'"):
        partways.case_from_data({"client": "X", "as_of": "2026-01-01", "events": [
            {"date": "2025-01-01", "type": "late_payment"}]}, kb)


# What the source generator special-cases, each against jsonschema on arbitrary values: the
# ``type`` that drops later guards, a keyword with no ``type`` (guarded), the type dispatch
# (a value selecting two branches, a non-object running every branch), NaN against a bound
# (jsonschema's comparisons: it violates none),
# ``additionalProperties`` as a schema, and the branches called as functions.
SPECIAL_SCHEMAS: list[dict[str, Any]] = [
    {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
    {"minimum": 1, "maxLength": 2, "pattern": "^a", "enum": ["a", "ab", "b"], "maxItems": 1},
    {"type": ["string", "null"], "minLength": 1, "format": "date"},
    {"allOf": [
        {"if": {"properties": {"k": {"const": "a"}}, "required": ["k"]},
         "then": {"required": ["x"]}},
        {"if": {"properties": {"k": {"enum": ["a", "b"]}}, "required": ["k"]},
         "then": {"properties": {"x": {"type": "integer"}}}},
        {"if": {"properties": {"k": {"const": "c"}}, "required": ["k"]},
         "then": {"maxProperties": 1}}]},
    {"type": "object", "allOf": [
        {"if": {"properties": {"k": {"const": "a"}}, "required": ["k"]},
         "then": {"required": ["x"]}},
        {"if": {"properties": {"k": {"const": "b"}}, "required": ["k"]},
         "then": {"properties": {"x": False}}}]},
    {"type": "object", "properties": {"a": {"type": "number", "maximum": 3}},
     "additionalProperties": {"type": "array", "items": {"type": "boolean"}, "minItems": 1}},
    {"anyOf": [{"type": "string"}, {"type": "array", "maxItems": 1}],
     "oneOf": [{"type": "string", "maxLength": 1}, {"type": "array"}], "not": {"const": "z"}},
    {"if": {"type": "object"}, "then": {"required": ["a"]}, "else": {"type": "number"}},
    {"type": "object", "minProperties": 1, "properties": {"a": True, "b": False},
     "additionalProperties": False},
]
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats()
    | st.sampled_from(["a", "ab", "b", "c", "k", "x", "z", "", "2026-01-01", "2026-02-30"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["a", "b", "k", "x"]), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SPECIAL_SCHEMAS) - 1), data=ANY_JSON)
def test_generated_special_cases_decide_as_jsonschema(index: int, data: Any) -> None:
    schema = SPECIAL_SCHEMAS[index]
    fast = compile_schema(schema)
    assert fast is not None, schema
    full = Draft202012Validator(schema, format_checker=FormatChecker())
    assert fast(data) == full.is_valid(data), (schema, data)


def test_generated_special_cases_on_chosen_values() -> None:
    nan = float("nan")
    chosen = [(0, nan, False), (0, 9.0, True), (0, 10, False), (0, True, False),
              (1, nan, False), (1, "ab", True), (1, "ba", False), (1, [1, 2], False),
              (3, [], True), (3, {"k": "a", "x": 1}, True), (3, {"k": "a"}, False),
              (3, {"k": "b", "x": "1"}, False), (3, {"k": "c", "a": 1}, False),
              (3, {"k": 1}, True), (4, {"k": "b", "x": 1}, False), (4, {"k": "b"}, True),
              (5, {"a": 1, "b": [True]}, True), (5, {"b": []}, False), (5, {"a": nan}, True),
              (6, "z", False), (6, "y", True), (6, "ab", False), (6, ["q"], True), (7, {}, False), (7, "s", False),
              (8, {"a": 1}, True), (8, {"b": 1}, False), (8, {}, False)]
    for index, data, valid in chosen:
        schema = SPECIAL_SCHEMAS[index]
        fast = compile_schema(schema)
        assert fast is not None
        assert fast(data) is valid, (schema, data)
        assert Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(
            data) is valid, (schema, data)
