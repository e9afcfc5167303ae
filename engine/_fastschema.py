"""A JSON Schema compiled once into Python closures: the fast accept/refuse check.

jsonschema walks the schema anew for every instance, and a case schema with one
``if``/``then`` branch per event type costs it ~2 ms per case. Here the schema is compiled
once into nested closures, and an ``allOf`` of ``if``/``then`` branches that all test the
same property against string constants becomes a dictionary lookup (only the branch of the
item's ``type`` runs). fastjsonschema was measured too: ~1.5 ms per case on this schema
(its generated code runs every branch) and ~190 ms to compile.

The closures answer only *whether* an instance is valid, with jsonschema's semantics for
the keywords below (Draft 2020-12); :func:`partways._validate.validate` asks jsonschema
to word the error only when this check refuses. A schema using any other keyword compiles
to ``None`` (the caller then validates with jsonschema alone). A differential property test
(tests/test_fast_validation.py) holds the two decisions identical.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sized
from typing import Any

from .expr import all_of

Check = Callable[[Any], bool]

_IGNORED = frozenset({"$schema", "$id", "$comment", "title", "description", "examples",
                      "default", "deprecated", "readOnly", "writeOnly"})
_KNOWN = frozenset({"type", "enum", "const", "format", "pattern", "minLength", "maxLength",
                    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "items",
                    "minItems", "maxItems", "properties", "additionalProperties", "required",
                    "minProperties", "maxProperties", "allOf", "anyOf", "oneOf", "not", "if",
                    "then", "else"}) | _IGNORED


class Unsupported(Exception):
    """The schema uses something this compiler does not do exactly like jsonschema."""


def compile_schema(schema: Any) -> Check | None:
    """A closure telling whether an instance is valid against ``schema``, or ``None``."""
    try:
        return _Compiler().schema(schema)
    except Unsupported:
        return None


_RE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # as jsonschema's FormatChecker


def _is_date(value: Any) -> bool:
    """jsonschema's ``date`` format check (a non-string conforms)."""
    if not isinstance(value, str):
        return True
    try:
        return bool(_RE_DATE.fullmatch(value) and dt.date.fromisoformat(value))
    except ValueError:
        return False


_FORMATS: dict[str, Check] = {"date": _is_date}


def _true(_: Any) -> bool:
    return True


def _false(_: Any) -> bool:
    return False


def _is_number(d: Any) -> bool:
    return isinstance(d, (int, float)) and not isinstance(d, bool)


_TYPES: dict[str, Check] = {
    "object": lambda d: isinstance(d, dict),
    "array": lambda d: isinstance(d, list),
    "string": lambda d: isinstance(d, str),
    "boolean": lambda d: isinstance(d, bool),
    "null": lambda d: d is None,
    "number": _is_number,
    "integer": lambda d: (isinstance(d, int) and not isinstance(d, bool)) or (
        isinstance(d, float) and d.is_integer()),
}


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda d, b: d >= b, "maximum": lambda d, b: d <= b,
    "exclusiveMinimum": lambda d, b: d > b, "exclusiveMaximum": lambda d, b: d < b}


def _bounded(ok: Callable[[Any, Any], bool], bound: Any) -> Check:
    return lambda d: not _is_number(d) or ok(d, bound)


def _all(checks: list[Check]) -> Check:
    return all_of(checks, _true)


def _strings(values: Any) -> frozenset[str]:
    """``values`` as a set when every one is a string (the only exact fast case)."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Unsupported("enum/const of non-strings")
    return frozenset(values)


class _Compiler:
    def schema(self, s: Any) -> Check:
        if s is True:
            return _true
        if s is False:
            return _false
        if not isinstance(s, dict) or any(k not in _KNOWN for k in s):
            raise Unsupported(str(s)[:80])
        checks: list[Check] = []
        if "type" in s:
            names = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if any(n not in _TYPES for n in names):
                raise Unsupported(f"type {names}")
            tests = tuple(_TYPES[n] for n in names)
            checks.append(tests[0] if len(tests) == 1 else
                          (lambda d: any(t(d) for t in tests)))
        if "enum" in s:
            allowed = _strings(s["enum"])
            checks.append(lambda d: isinstance(d, str) and d in allowed)
        if "const" in s:
            value = next(iter(_strings([s["const"]])))
            checks.append(lambda d: isinstance(d, str) and d == value)
        checks.extend(self._string(s))
        checks.extend(self._number(s))
        checks.extend(self._array(s))
        checks.extend(self._object(s))
        checks.extend(self._logic(s))
        return _all(checks)

    @staticmethod
    def _string(s: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        out += _length_bounds(s, str, "minLength", "maxLength")
        if "pattern" in s:
            rx = re.compile(s["pattern"])
            out.append(lambda d: not isinstance(d, str) or rx.search(d) is not None)
        if "format" in s:
            if s["format"] not in _FORMATS:
                raise Unsupported(f"format {s['format']}")
            out.append(_FORMATS[s["format"]])
        return out

    @staticmethod
    def _number(s: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        for key, ok in _BOUNDS.items():
            if key in s:
                bound = s[key]
                if not _is_number(bound):
                    raise Unsupported(key)
                out.append(_bounded(ok, bound))
        return out

    def _array(self, s: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        out += _length_bounds(s, list, "minItems", "maxItems")
        if "items" in s:
            if isinstance(s["items"], list):
                raise Unsupported("items as a list")
            item = self.schema(s["items"])
            out.append(lambda d: not isinstance(d, list) or all(item(x) for x in d))
        return out

    def _object(self, s: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        out += _length_bounds(s, dict, "minProperties", "maxProperties")
        if "required" in s:
            req = tuple(s["required"])
            out.append(lambda d: not isinstance(d, dict) or all(k in d for k in req))
        props = {k: self.schema(v) for k, v in (s.get("properties") or {}).items()}
        extra = s.get("additionalProperties", True)
        if props:
            items = tuple((k, c) for k, c in props.items() if c is not _true)
            out.append(lambda d: not isinstance(d, dict) or all(
                c(d[k]) for k, c in items if k in d))
        if extra is False:
            known = frozenset(props)
            out.append(lambda d: not isinstance(d, dict) or all(k in known for k in d))
        elif extra is not True:
            known, check = frozenset(props), self.schema(extra)
            out.append(lambda d: not isinstance(d, dict) or all(
                check(v) for k, v in d.items() if k not in known))
        return out

    def _logic(self, s: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "allOf" in s:
            out.append(self._dispatch(s["allOf"]) or _all([self.schema(x) for x in s["allOf"]]))
        if "anyOf" in s:
            options = tuple(self.schema(x) for x in s["anyOf"])
            out.append(lambda d: any(o(d) for o in options))
        if "oneOf" in s:
            choices = tuple(self.schema(x) for x in s["oneOf"])
            out.append(lambda d: sum(1 for o in choices if o(d)) == 1)
        if "not" in s:
            negated = self.schema(s["not"])
            out.append(lambda d: not negated(d))
        if "if" in s:
            cond = self.schema(s["if"])
            then = self.schema(s.get("then", True))
            other = self.schema(s.get("else", True))
            out.append(lambda d: then(d) if cond(d) else other(d))
        return out

    def _dispatch(self, branches: Any) -> Check | None:
        """``allOf: [{if: {properties: {P: {const|enum}}, required: [P]}, then: T}, ...]``
        over one property P as a lookup from P's value to the ``then`` checks it selects."""
        if not isinstance(branches, list) or len(branches) < 2:
            return None
        prop: str | None = None
        table: dict[str, list[Check]] = {}
        thens: list[Check] = []
        for b in branches:
            if not isinstance(b, dict) or set(b) != {"if", "then"}:
                return None
            cond = b["if"]
            if not isinstance(cond, dict) or set(cond) != {"properties", "required"}:
                return None
            props = cond["properties"]
            if not isinstance(props, dict) or len(props) != 1 or cond["required"] != list(props):
                return None
            ((p, test),) = props.items()
            if prop not in (None, p) or not isinstance(test, dict) or len(test) != 1:
                return None
            prop = p
            if "const" in test:
                values = _strings([test["const"]])
            elif "enum" in test:
                values = _strings(test["enum"])
            else:
                return None
            then = self.schema(b["then"])
            thens.append(then)
            for v in values:
                table.setdefault(v, []).append(then)
        lookup = {k: _all(v) for k, v in table.items()}
        every = _all(thens)  # on a non-object every ``if`` holds vacuously
        key = prop

        def check(d: Any) -> bool:
            if not isinstance(d, dict):
                return every(d)
            value = d.get(key, _MISSING)
            if not isinstance(value, str):
                return True  # no branch's string test can hold
            branch = lookup.get(value)
            return branch is None or branch(d)

        return check


_MISSING = object()


def _length_bounds(s: Mapping[str, Any], kind: type[Sized], lo_key: str,
                   hi_key: str) -> list[Check]:
    """The checks of ``lo_key``/``hi_key`` (minLength/maxLength, minItems/maxItems,
    minProperties/maxProperties): they bound ``len`` of a value of ``kind`` only."""
    out: list[Check] = []
    if lo_key in s:
        lo = s[lo_key]
        out.append(lambda d: not isinstance(d, kind) or len(d) >= lo)
    if hi_key in s:
        hi = s[hi_key]
        out.append(lambda d: not isinstance(d, kind) or len(d) <= hi)
    return out
