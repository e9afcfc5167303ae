"""A JSON Schema compiled once into straight-line Python: the fast accept/refuse check.

jsonschema walks the schema anew for every instance, and a case schema with one
``if``/``then`` branch per event type costs it ~2 ms per case. Here the schema is compiled
once, and an ``allOf`` of ``if``/``then`` branches that all test the
same property against string constants becomes a dictionary lookup (only the branch of the
item's ``type`` runs). fastjsonschema was measured too: ~1.5 ms per case on this schema
(its generated code runs every branch) and ~190 ms to compile.

The schema is written out as Python source once per KB (as compiled.py does for rules):
one function of plain ``if ...: return False`` statements, ``properties`` and ``items``
inline, the ``isinstance`` guard of a keyword dropped where the schema's ``type`` already
settled it; the code is kept on disk like the rules' (``_kbcache.compiled_code``). ~20 us per
case where nested closures took ~65.

The generated code answers only *whether* an instance is valid, with jsonschema's semantics for
the keywords below (Draft 2020-12); :func:`partways._validate.validate` asks jsonschema
to word the error only when this check refuses. A schema using any other keyword compiles
to ``None`` (the caller then validates with jsonschema alone). A differential property test
(tests/test_fast_validation.py) holds the two decisions identical.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._kbcache import compiled_code

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
        return _Compiler().compile(schema)
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


def _is_number(d: Any) -> bool:
    return isinstance(d, (int, float)) and not isinstance(d, bool)


def _strings(values: Any) -> frozenset[str]:
    """``values`` as a set when every one is a string (the only exact fast case)."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Unsupported("enum/const of non-strings")
    return frozenset(values)


class _Compiler:
    """Writes one Python function per schema: straight-line statements that ``return
    False`` at the first violated keyword. Sub-schemas that only ever apply to one value
    (``properties``, ``items``, ``allOf``, an ``if``'s branches) are written inline; the
    ``type`` a schema has already checked drops the ``isinstance`` guards of the keywords
    after it. Constants the source cannot spell live in the function's namespace."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"_is_date": _is_date, "_M": _MISSING}
        self.functions: list[str] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any) -> str:
        key = self.name("_c")
        self.ns[key] = value
        return key

    def compile(self, schema: Any) -> Check:
        entry = self.function(schema, None)
        source = "\n\n".join(self.functions)
        exec(compiled_code(source, "<partways: compiled case schema>"), self.ns)
        check: Check = self.ns[entry]
        return check

    def function(self, schema: Any, known: str | None) -> str:
        """The name of a new function checking ``schema`` (its value is of ``known`` type)."""
        fn = self.name("_s")
        body = self.emit(schema, "d", "    ", known)
        self.functions.append("\n".join([f"def {fn}(d):", *body, "    return True"]))
        return fn

    def emit(self, s: Any, v: str, ind: str, known: str | None) -> list[str]:
        """Statements returning False when ``v`` violates ``s``."""
        if s is True:
            return []
        if s is False:
            return [f"{ind}return False"]
        if not isinstance(s, dict) or any(k not in _KNOWN for k in s):
            raise Unsupported(str(s)[:80])
        out: list[str] = []
        if "type" in s:
            names = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not names or any(n not in _TYPE_SOURCE for n in names):
                raise Unsupported(f"type {names}")
            if not (len(names) == 1 and names[0] == known):
                test = " or ".join(f"({_TYPE_SOURCE[n].format(v=v)})" for n in names)
                out.append(f"{ind}if not ({test}):")
                out.append(f"{ind}    return False")
            if len(names) == 1:
                known = names[0]
        guard = _GuardFor(v, known)
        if "enum" in s:
            allowed = self.const(_strings(s["enum"]))
            out.append(f"{ind}if {guard('string', 'not ', ' or ')}{v} not in {allowed}:")
            out.append(f"{ind}    return False")
        if "const" in s:
            value = repr(next(iter(_strings([s["const"]]))))
            out.append(f"{ind}if {guard('string', 'not ', ' or ')}{v} != {value}:")
            out.append(f"{ind}    return False")
        out += self._string(s, v, ind, guard)
        out += self._number(s, v, ind, guard)
        out += self._array(s, v, ind, guard, known)
        out += self._object(s, v, ind, guard, known)
        out += self._logic(s, v, ind, known)
        return out

    def _string(self, s: Mapping[str, Any], v: str, ind: str, guard: _GuardFor) -> list[str]:
        out = _length_bounds(s, v, ind, guard, "string", "minLength", "maxLength")
        if "pattern" in s:
            rx = self.const(re.compile(s["pattern"]))
            out.append(f"{ind}if {guard('string', '', ' and ')}{rx}.search({v}) is None:")
            out.append(f"{ind}    return False")
        if "format" in s:
            if s["format"] not in _FORMATS:
                raise Unsupported(f"format {s['format']}")
            out.append(f"{ind}if not _is_date({v}):")
            out.append(f"{ind}    return False")
        return out

    def _number(self, s: Mapping[str, Any], v: str, ind: str, guard: _GuardFor) -> list[str]:
        out: list[str] = []
        for key, op in _BOUND_OPS.items():
            if key in s:
                bound = s[key]
                if not _is_number(bound):
                    raise Unsupported(key)
                # jsonschema's own comparison (a NaN violates no bound)
                out.append(f"{ind}if {guard('number', '', ' and ')}"
                           f"{v} {op} {self.const(bound)}:")
                out.append(f"{ind}    return False")
        return out

    def _array(self, s: Mapping[str, Any], v: str, ind: str, guard: _GuardFor,
               known: str | None) -> list[str]:
        out = _length_bounds(s, v, ind, guard, "array", "minItems", "maxItems")
        if "items" in s:
            if isinstance(s["items"], list):
                raise Unsupported("items as a list")
            x = self.name("x")
            inner = self.emit(s["items"], x, ind + "        ", None)
            if inner:
                out += _guarded(guard, "array", ind, [f"{ind}    for {x} in {v}:", *inner])
        return out

    def _object(self, s: Mapping[str, Any], v: str, ind: str, guard: _GuardFor,
                known: str | None) -> list[str]:
        deeper = ind + "    "
        body = _length_bounds(s, v, deeper, _GuardFor(v, "object"), "object",
                              "minProperties", "maxProperties")
        if "required" in s:
            req = s["required"]
            if not isinstance(req, list) or not all(isinstance(k, str) for k in req):
                raise Unsupported("required")
            if req:
                test = " or ".join(f"{k!r} not in {v}" for k in req)
                body += [f"{deeper}if {test}:", f"{deeper}    return False"]
        props = s.get("properties") or {}
        if not isinstance(props, dict):
            raise Unsupported("properties")
        for k, sub in props.items():
            x = self.name("x")
            inner = self.emit(sub, x, deeper + "    ", None)
            if inner:
                body += [f"{deeper}{x} = {v}.get({k!r}, _M)", f"{deeper}if {x} is not _M:",
                         *inner]
        extra = s.get("additionalProperties", True)
        inner = []  # what each property not declared must pass
        if extra is not True and extra is not False:
            x, k = self.name("x"), self.name("k")
            inner = self.emit(extra, x, deeper + "        ", None)
        if extra is False or inner:
            declared = self.const(frozenset(props))  # one constant, made when a test reads it
            if extra is False:
                body += [f"{deeper}if not {declared}.issuperset({v}):",
                         f"{deeper}    return False"]
            else:
                body += [f"{deeper}for {k}, {x} in {v}.items():",
                         f"{deeper}    if {k} not in {declared}:", *inner]
        if not body:
            return []
        if known == "object":
            return [line[4:] for line in body]
        return [f"{ind}if isinstance({v}, dict):", *body]

    def _logic(self, s: Mapping[str, Any], v: str, ind: str, known: str | None) -> list[str]:
        out: list[str] = []
        if "allOf" in s:
            branches = s["allOf"]
            if not isinstance(branches, list):
                raise Unsupported("allOf")
            dispatch = self._dispatch(branches, v, ind, known)
            if dispatch is not None:
                out += dispatch
            else:
                for b in branches:
                    out += self.emit(b, v, ind, known)
        if "anyOf" in s:
            calls = " or ".join(f"{self.function(x, known)}({v})" for x in s["anyOf"])
            out += [f"{ind}if not ({calls or 'False'}):", f"{ind}    return False"]
        if "oneOf" in s:
            calls = " + ".join(f"{self.function(x, known)}({v})" for x in s["oneOf"])
            out += [f"{ind}if ({calls or '0'}) != 1:", f"{ind}    return False"]
        if "not" in s:
            out += [f"{ind}if {self.function(s['not'], known)}({v}):", f"{ind}    return False"]
        if "if" in s:
            cond = self.function(s["if"], known)
            then = self.emit(s.get("then", True), v, ind + "    ", known) or [f"{ind}    pass"]
            other = self.emit(s.get("else", True), v, ind + "    ", known)
            out += [f"{ind}if {cond}({v}):", *then]
            if other:
                out += [f"{ind}else:", *other]
        return out

    def _dispatch(self, branches: list[Any], v: str, ind: str,
                  known: str | None) -> list[str] | None:
        """``allOf: [{if: {properties: {P: {const|enum}}, required: [P]}, then: T}, ...]``
        over one property P as a lookup from P's value to the function of the ``then``
        schemas it selects (only that branch runs)."""
        if len(branches) < 2:
            return None
        prop: str | None = None
        selected: list[tuple[frozenset[str], Any]] = []
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
            selected.append((values, b["then"]))
        table: dict[str, str] = {}
        for value in sorted({val for values, _ in selected for val in values}):
            table[value] = self.function({"allOf": [t for vs, t in selected if value in vs]}
                                         if sum(value in vs for vs, _ in selected) > 1 else
                                         next(t for vs, t in selected if value in vs), "object")
        lookup = self.const({})
        self.functions.append("\n".join(f"{lookup}[{k!r}] = {f}" for k, f in table.items()))
        x, f = self.name("x"), self.name("f")
        on_object = [f"{ind}    {x} = {v}.get({prop!r})",
                     f"{ind}    if isinstance({x}, str):",
                     f"{ind}        {f} = {lookup}.get({x})",
                     f"{ind}        if {f} is not None and not {f}({v}):",
                     f"{ind}            return False"]
        if known == "object":
            return [line[4:] for line in on_object]
        every = [line for _, t in selected for line in self.emit(t, v, ind + "    ", known)]
        return [f"{ind}if isinstance({v}, dict):", *on_object,
                *([f"{ind}else:", *every] if every else [])]


class _GuardFor:
    """The ``isinstance`` test a keyword of one JSON type needs before it, unless the
    schema's ``type`` already settled it: ``guard(kind, prefix, joiner)``."""

    def __init__(self, v: str, known: str | None) -> None:
        self.v, self.known = v, known

    def __call__(self, kind: str, prefix: str, joiner: str) -> str:
        if self.known == kind or (kind == "number" and self.known == "integer"):
            return ""
        return f"{prefix}({_TYPE_SOURCE[kind].format(v=self.v)}){joiner}"


def _guarded(guard: _GuardFor, kind: str, ind: str, body: list[str]) -> list[str]:
    """``body`` (indented one level under ``ind``) run only on a value of ``kind``."""
    test = guard(kind, "", "")
    if not test:
        return [line[4:] for line in body]
    return [f"{ind}if {test}:", *body]


_TYPE_SOURCE = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "number": "isinstance({v}, (int, float)) and not isinstance({v}, bool)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool)) or "
               "(isinstance({v}, float) and {v}.is_integer())",
}
#: The comparison by which jsonschema finds each bound violated.
_BOUND_OPS = {"minimum": "<", "maximum": ">", "exclusiveMinimum": "<=",
              "exclusiveMaximum": ">="}


_MISSING = object()


def _length_bounds(s: Mapping[str, Any], v: str, ind: str, guard: _GuardFor, kind: str,
                   lo_key: str, hi_key: str) -> list[str]:
    """The statements of ``lo_key``/``hi_key`` (minLength/maxLength, minItems/maxItems,
    minProperties/maxProperties): they bound ``len`` of a value of ``kind`` only."""
    out: list[str] = []
    for key, op in ((lo_key, "<"), (hi_key, ">")):
        if key in s:
            bound = s[key]
            if not isinstance(bound, int) or isinstance(bound, bool):
                raise Unsupported(key)
            out += [f"{ind}if {guard(kind, '', ' and ')}len({v}) {op} {bound}:",
                    f"{ind}    return False"]
    return out
