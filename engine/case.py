"""Read and validate a case file against the KB's case schema and vocabulary."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import _yaml, limits
from ._fastschema import Check, compile_schema
from .errors import CaseError, PolicyError, Source, did_you_mean
from .knowledge import KnowledgeBase
from .textsafe import visible_data


@dataclass(frozen=True)
class Case:
    """A validated case: its data, where it came from, its evaluation date and policy."""

    data: Mapping[str, Any]
    as_of: dt.date
    params: Mapping[str, float]
    path: str | None = None
    doc: _yaml.Document | None = None

    @property
    def name(self) -> str:
        return str(self.data.get("client", ""))

    def source(self, path: tuple[Any, ...]) -> Source:
        return self.doc.source(path) if self.doc else Source(self.path)


class CaseSchema:
    """The KB's case schema: a compiled check decides, jsonschema only words the error."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = dict(schema)
        self.fast: Check | None = compile_schema(self.schema)
        self._full: Any = None

    @property
    def full(self) -> Any:
        """The jsonschema validator (built on first use: only a refused case needs it)."""
        if self._full is None:
            from jsonschema import Draft202012Validator, FormatChecker

            self._full = Draft202012Validator(self.schema, format_checker=FormatChecker())
        return self._full

    def validate(self, doc: _yaml.Document) -> None:
        """Raise :class:`CaseError` for the most relevant violation of ``doc``, if any."""
        if self.fast is not None and self.fast(doc.data):
            return
        from ._validate import validate

        validate(doc, self.full, CaseError)


@cache
def _validator(kb: KnowledgeBase) -> CaseSchema:
    return CaseSchema(kb.case_schema)


def load_case(source: str | os.PathLike[str], kb: KnowledgeBase, *,
              today: dt.date | None = None) -> Case:
    """Load a case file (YAML or JSON); raise :class:`CaseError` naming file and line."""
    doc = _yaml.load_file(os.fspath(source), CaseError)
    return _build(doc, kb, today)


def parse_case(text: str, kb: KnowledgeBase, *, name: str = "<stdin>",
               today: dt.date | None = None) -> Case:
    """Parse case text (YAML or JSON) as if read from ``name``."""
    return _build(_yaml.load_text(text, name, CaseError), kb, today)


def case_from_data(data: Mapping[str, Any], kb: KnowledgeBase, *, name: str = "<data>",
                   today: dt.date | None = None) -> Case:
    """Validate an already-parsed mapping (dates as ISO strings or ``date`` objects)."""
    return _build(_yaml.Document(_Plain(name).plain(data, (), 0), name, {}), kb, today)


class _Plain:
    """A mapping given by a program made plain (dates as ISO text), within the same
    :mod:`partways.limits` as a parsed file: depth, values, text length, numbers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes = 0

    def fail(self, message: str, path: tuple[Any, ...]) -> CaseError:
        return CaseError(message, Source(self.name, None, _yaml.format_path(path) or None))

    def plain(self, value: Any, path: tuple[Any, ...], depth: int) -> Any:
        if depth > limits.MAX_DEPTH:
            raise self.fail(f"nesting deeper than {limits.MAX_DEPTH} levels", path)
        self.nodes += 1
        if self.nodes > limits.MAX_NODES:
            raise self.fail(f"more than {limits.MAX_NODES} values in one case", path)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): self.plain(v, (*path, str(k)), depth + 1)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.plain(v, (*path, i), depth + 1) for i, v in enumerate(value)]
        if isinstance(value, str) and len(value) > limits.MAX_STRING:
            raise self.fail(f"text longer than the {limits.MAX_STRING}-character limit", path)
        if value is not None and not isinstance(value, (str, int, float)):
            raise self.fail(f"must be text, a number, true/false, null, a list or a mapping, "
                            f"not {type(value).__name__}", path)
        problem = limits.number_problem(value)
        if problem:
            raise self.fail(problem, path)
        return value


def _build(doc: _yaml.Document, kb: KnowledgeBase, today: dt.date | None) -> Case:
    if not isinstance(doc.data, dict):
        raise CaseError("a case file must be a mapping (client, as_of, events, ...)",
                        doc.source(()))
    _validator(kb).validate(doc)
    data = doc.data
    as_of = _date(data["as_of"]) if "as_of" in data else (today or dt.date.today())
    problem = limits.date_problem(as_of)
    if problem:
        raise CaseError(problem, doc.source(("as_of",)))
    _check_dates(doc, kb, as_of)
    params = resolve_policy(kb, data.get("policy") or {}, doc)
    # free text can no longer carry control characters into any output (textsafe)
    return Case(visible_data(data), as_of, params, doc.path, doc)


def check_doc(doc: _yaml.Document, kb: KnowledgeBase,
              today: dt.date | None = None) -> list[CaseError]:
    """Every problem of a parsed case (schema, dates after ``as_of``, policy), in line
    order; an empty list for a valid case."""
    if not isinstance(doc.data, dict):
        return [CaseError("a case file must be a mapping (client, as_of, events, ...)",
                          doc.source(()))]
    from ._validate import all_problems

    schema = _validator(kb)
    problems: list[CaseError] = [] if schema.fast is not None and schema.fast(doc.data) else [
        e for e in all_problems(doc, schema.full, CaseError) if isinstance(e, CaseError)]
    data = doc.data
    as_of = today or dt.date.today()
    if isinstance(data.get("as_of"), str):
        with contextlib.suppress(ValueError):
            as_of = _date(data["as_of"])
    seen = {(p.source.line, p.source.field) for p in problems if p.source}
    extra = list(_date_problems(doc, kb, as_of))
    policy = data.get("policy")
    if isinstance(policy, dict):
        extra += _policy_problems(kb, policy, doc)
    problems += [p for p in extra if not p.source or (p.source.line, p.source.field) not in seen]
    return sorted(problems, key=lambda p: (p.source.line or 0, p.source.field or "")
                  if p.source else (0, ""))


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _check_dates(doc: _yaml.Document, kb: KnowledgeBase, as_of: dt.date) -> None:
    """Every date lies in the supported range (:mod:`partways.limits`), and dates the
    vocabulary marks ``past`` do not lie after ``as_of``."""
    for problem in _date_problems(doc, kb, as_of):
        raise problem


@cache
def _date_fields(kb: KnowledgeBase) -> tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]:
    """Per case section read by a fact type: its date fields (case key, ``past``), in the
    order of the KB's fact types and fields; sections without a date field left out."""
    out = []
    for ft in kb.fact_types.values():
        if ft.source is None or ft.derived or ft.table:
            continue
        dates = tuple((spec.origin or spec.name, spec.past) for spec in ft.fields.values()
                      if spec.type == "date")
        if dates:
            out.append((ft.source, dates))
    return tuple(out)


def _date_problems(doc: _yaml.Document, kb: KnowledgeBase,
                   as_of: dt.date) -> Iterator[CaseError]:
    data = doc.data
    low, high = limits.MIN_DATE, limits.MAX_DATE
    for source, dates in _date_fields(kb):
        section = data if source == "." else data.get(source)
        items: list[Any]
        if isinstance(section, list):
            items = section
        elif isinstance(section, dict):
            items = [section]
        else:
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for key, past in dates:
                text = item.get(key)
                if not isinstance(text, str):
                    continue
                try:
                    day = _date(text)
                except ValueError:  # not a date: the schema check names it
                    continue
                if low <= day <= high and not (past and day > as_of):
                    continue  # the common case: nothing to say (no path made)
                base = (source, i) if section is items else () if source == "." else (source,)
                problem = limits.date_problem(day)
                if problem:
                    yield CaseError(problem, doc.source((*base, key)))
                elif past and day > as_of:
                    yield CaseError(f"date {text} is after as_of {as_of.isoformat()}",
                                    doc.source((*base, key)))


def resolve_policy(kb: KnowledgeBase, policy: Mapping[str, Any],
                   doc: _yaml.Document | None = None) -> dict[str, float]:
    """The KB's parameter defaults with ``policy`` overrides applied and checked."""
    params = kb.default_params()
    for problem in _policy_problems(kb, policy, doc):
        raise problem
    for name, value in policy.items():
        params[name] = int(value) if kb.parameters[name].integer else float(value)
    return params


def _policy_problems(kb: KnowledgeBase, policy: Mapping[str, Any],
                     doc: _yaml.Document | None = None) -> list[PolicyError]:
    out = []
    for name, value in policy.items():
        src = doc.source(("policy", name)) if doc else Source(field=f"policy.{name}")
        problem = _policy_problem(kb, name, value)
        if problem:
            out.append(PolicyError(problem, src))
    return out


def _policy_problem(kb: KnowledgeBase, name: str, value: Any) -> str | None:
    if name not in kb.parameters:
        return f"unknown policy parameter '{name}'{did_you_mean(name, kb.parameters)}"
    p = kb.parameters[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"policy '{name}' must be a number"
    problem = limits.number_problem(value)
    if problem:
        return f"policy '{name}' {problem}"
    if p.integer and not float(value).is_integer():
        return f"policy '{name}' must be a whole number ({p.unit})"
    if p.minimum is not None and value < p.minimum:
        return f"policy '{name}' must be >= {p.minimum}, got {value}"
    if p.maximum is not None and value > p.maximum:
        return f"policy '{name}' must be <= {p.maximum}, got {value}"
    return None
