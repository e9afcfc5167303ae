"""Read and validate a case file against the KB's case schema and vocabulary."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
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


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _check_dates(doc: _yaml.Document, kb: KnowledgeBase, as_of: dt.date) -> None:
    """Every date lies in the supported range (:mod:`partways.limits`), and dates the
    vocabulary marks ``past`` do not lie after ``as_of``."""
    data = doc.data
    for ft in kb.fact_types.values():
        if ft.source is None or ft.derived or ft.table:
            continue
        section = data if ft.source == "." else data.get(ft.source)
        items: list[tuple[tuple[Any, ...], Any]]
        if isinstance(section, list):
            items = [((ft.source, i), item) for i, item in enumerate(section)]
        elif isinstance(section, dict):
            items = [((() if ft.source == "." else (ft.source,)), section)]
        else:
            continue
        for base, item in items:
            for spec in ft.fields.values():
                key = spec.origin or spec.name
                if spec.type != "date" or not isinstance(item.get(key), str):
                    continue
                problem = limits.date_problem(_date(item[key]))
                if problem:
                    raise CaseError(problem, doc.source((*base, key)))
                if spec.past and _date(item[key]) > as_of:
                    raise CaseError(f"date {item[key]} is after as_of {as_of.isoformat()}",
                                    doc.source((*base, key)))


def resolve_policy(kb: KnowledgeBase, policy: Mapping[str, Any],
                   doc: _yaml.Document | None = None) -> dict[str, float]:
    """The KB's parameter defaults with ``policy`` overrides applied and checked."""
    params = kb.default_params()
    for name, value in policy.items():
        src = doc.source(("policy", name)) if doc else Source(field=f"policy.{name}")
        if name not in kb.parameters:
            raise PolicyError(f"unknown policy parameter '{name}'"
                              f"{did_you_mean(name, kb.parameters)}", src)
        p = kb.parameters[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PolicyError(f"policy '{name}' must be a number", src)
        problem = limits.number_problem(value)
        if problem:
            raise PolicyError(f"policy '{name}' {problem}", src)
        if p.integer and not float(value).is_integer():
            raise PolicyError(f"policy '{name}' must be a whole number ({p.unit})", src)
        if p.minimum is not None and value < p.minimum:
            raise PolicyError(f"policy '{name}' must be >= {p.minimum}, got {value}", src)
        if p.maximum is not None and value > p.maximum:
            raise PolicyError(f"policy '{name}' must be <= {p.maximum}, got {value}", src)
        params[name] = int(value) if p.integer else float(value)
    return params
