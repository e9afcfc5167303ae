"""Load, validate and model a knowledge base (a directory of YAML data)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from . import _yaml, limits
from .errors import KBError, Source, did_you_mean
from .expr import Cond, Const, Expr, Test, parse_expr, parse_where, refs_of
from .textsafe import first_control

Texts = Mapping[str, str]
RESERVED_FACTS = ("$params", "$stratum")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    enum: tuple[Any, ...] | None = None
    default: Any = None
    past: bool = False
    origin: str | None = None  # the case key it is read from, when it differs


@dataclass(frozen=True)
class FactType:
    name: str
    layer: str
    fields: Mapping[str, FieldSpec]
    source: str | None = None  # case path: a list, a mapping, or "." (top-level scalars)
    derived: bool = False
    table: bool = False
    label_field: str | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float
    rationale: Texts
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    guidance: tuple[str, ...] = ()
    origin: Source | None = None
    title: Texts | None = None  # what the setting is, in a few words (else its name shows)
    display: str = "number"  # how a person sees the value: "number", or "percent" (0.8: 80%)


@dataclass(frozen=True)
class Metric:
    name: str
    title: Texts
    unit: str = ""
    signal: str | None = None
    count: str | None = None
    where: tuple[Cond, ...] = ()
    value: Expr | None = None
    origin: Source | None = None
    display: str = "number"  # as Parameter.display


@dataclass(frozen=True)
class Pattern:
    fact: str
    alias: str | None
    where: tuple[Cond, ...]
    negated: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    title: Texts
    description: Texts
    guidance: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    severity: str | None
    when: tuple[Pattern, ...]
    then_fact: str
    then: Mapping[str, Expr]
    origin: Source | None = None
    key: tuple[str, ...] = ()  # conclusion fields that identify it (one fact per key)

    @property
    def positives(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.when if not p.negated)


@dataclass(frozen=True)
class Concept:
    kind: str
    key: str
    guidance: tuple[str, ...]
    title: Texts
    advice: Texts | None = None
    rank: int | None = None
    origin: Source | None = None


@dataclass(frozen=True)
class Table:
    name: str
    fact: str
    rows: tuple[Mapping[str, Any], ...]
    description: Texts | None = None
    origin: Source | None = None


_T = TypeVar("_T")


def per_kb(cache: dict[int, tuple[KnowledgeBase, _T]], kb: KnowledgeBase,
           make: Callable[[KnowledgeBase], _T]) -> _T:
    """``make(kb)``, made once per KB object and kept in ``cache`` (a KB is immutable once
    loaded). Kept by the KB's id beside the KB itself: a new KB that reuses a freed id is
    told apart by identity and gets its own."""
    hit = cache.get(id(kb))
    if hit is None or hit[0] is not kb:
        hit = cache[id(kb)] = (kb, make(kb))
    return hit[1]


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """Everything a KB directory (plus overlays) says, validated and frozen."""

    name: str
    version: str
    languages: tuple[str, ...]
    rtl: tuple[str, ...]
    outputs: Mapping[str, Any]
    max_firings: int
    sources: Mapping[str, Mapping[str, Any]]
    guidance: Mapping[str, Mapping[str, Any]]
    fact_types: Mapping[str, FactType]
    parameters: Mapping[str, Parameter]
    metrics: tuple[Metric, ...]
    rules: tuple[Rule, ...]
    concepts: Mapping[str, Mapping[str, Concept]]
    tables: tuple[Table, ...]
    ui: Mapping[str, Texts]
    case_schema: Mapping[str, Any]
    title: Texts | None = None
    roots: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()  # decision-graph layers, in reading order
    # per language: separators, quotes, digits, decimal and percent signs, calendar
    typography: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    problems: tuple[KBError, ...] = field(default=(), compare=False)

    def rule(self, rule_id: str) -> Rule:
        index = self.__dict__.get("_rule_index")
        if index is None:  # made on first use (the first rule of an id wins, as a scan)
            index = {}
            for r in self.rules:
                index.setdefault(r.id, r)
            object.__setattr__(self, "_rule_index", index)
        found = index.get(rule_id)
        if found is not None:
            return found
        from .errors import QueryError

        raise QueryError(f"no rule '{rule_id}'{did_you_mean(rule_id, [r.id for r in self.rules])}")

    def concept(self, kind: str, key: str) -> Concept | None:
        return self.concepts.get(kind, {}).get(key)

    def findings_concept(self) -> str:
        """The concept kind that names the KB's findings (its red flags): the first
        finding output's (the manifest schema requires one, with a concept)."""
        return str(self.outputs["findings"][0]["concept"])

    def text(self, texts: Texts | None, lang: str) -> str:
        """``texts`` in ``lang``, falling back to the KB's first language."""
        if not texts:
            return ""
        return texts.get(lang) or texts.get(self.languages[0]) or next(iter(texts.values()))

    def ui_text(self, key: str, lang: str) -> str:
        return self.text(self.ui.get(key), lang) or key.replace("_", " ")

    def default_params(self) -> dict[str, float]:
        defaults = self.__dict__.get("_defaults")
        if defaults is None:  # sorted once per KB; each caller gets its own copy
            defaults = {name: p.default for name, p in sorted(self.parameters.items())}
            object.__setattr__(self, "_defaults", defaults)
        return dict(defaults)


def default_kb_dir() -> Path:
    """The knowledge base shipped inside the package."""
    import partways.kb as shipped  # a package of data files: its folder (no importlib.resources,
    #                                which costs the cold start ~5 ms of imports)

    where = getattr(shipped, "__file__", None)
    if where:
        return Path(where).parent
    from importlib import resources

    return Path(str(resources.files("partways.kb")))


_CACHE: dict[tuple[str, ...], KnowledgeBase] = {}


def load_kb(path: str | os.PathLike[str] | None = None, *,
            overlays: Sequence[str | os.PathLike[str]] = (),
            collect_errors: bool = False) -> KnowledgeBase:
    """Load the KB at ``path`` (default: the shipped one) with ``overlays`` on top.

    An overlay directory holds the same kinds of files; a rule, parameter, metric,
    concept or text with the same id replaces the base one, new ones are added.
    Raises the first :class:`KBError`, or with ``collect_errors`` returns the KB with
    every problem in ``problems`` (for lint).
    """
    roots = tuple(str(Path(p).resolve()) for p in [path or default_kb_dir(), *overlays])
    if not collect_errors and roots in _CACHE:
        return _CACHE[roots]
    if collect_errors:
        return _Loader(True).load(roots)
    from . import _kbcache

    try:
        key = _kbcache.digest(roots)
    except OSError:  # a file vanished or is unreadable: the loader reports it properly
        key = None
    kb = _kbcache.load(key) if key else None
    if not isinstance(kb, KnowledgeBase) or kb.roots != roots:
        kb = _Loader(False).load(roots)
        if key:
            _kbcache.store(key, kb)
    _CACHE[roots] = kb
    return kb


class _Loader:
    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.problems: list[KBError] = []

    def fail(self, err: KBError) -> None:
        if not self.collect:
            raise err
        self.problems.append(err)

    def doc(self, path: Path, definition: str) -> _yaml.Document | None:
        try:
            doc = _yaml.load_file(str(path), KBError)
            found = first_control(doc.data)
            if found:
                where, ch = found
                raise KBError(f"text holds the control character U+{ord(ch):04X}; knowledge-base "
                              f"texts may hold newlines and tabs only", doc.source(where))
            from ._validate import validate_kb_file

            validate_kb_file(doc, definition, KBError)
            return doc
        except KBError as err:
            self.fail(err)
            return None

    def load(self, roots: tuple[str, ...]) -> KnowledgeBase:
        manifest: dict[str, Any] = {}
        sources: dict[str, Any] = {}
        guidance: dict[str, Any] = {}
        fact_types: dict[str, FactType] = {}
        params: dict[str, Parameter] = {}
        metrics: dict[str, Metric] = {}
        rules: dict[str, Rule] = {}
        concepts: dict[str, dict[str, Concept]] = {}
        tables: dict[str, Table] = {}
        ui: dict[str, Texts] = {}
        case_schema: dict[str, Any] = {}
        for i, root_s in enumerate(roots):
            root = Path(root_s)
            if not root.is_dir():
                raise KBError("knowledge-base directory not found", Source(root_s))
            mf = root / "kb.yaml"
            if mf.is_file():
                d = self.doc(mf, "manifest")
                if d:
                    manifest.update(d.data)
                    if "case_schema" in d.data:
                        case_schema = self._case_schema(root, d.data["case_schema"],
                                                        d.source(("case_schema",)))
            elif i == 0:
                raise KBError("a knowledge base needs a kb.yaml manifest", Source(str(mf)))
            for f in _files(root, "sources.yaml"):
                d = self.doc(f, "sources_file")
                if d:
                    sources.update(d.data["sources"])
            for f in _files(root, "guidance.yaml"):
                d = self.doc(f, "guidance_file")
                if d:
                    guidance.update(d.data["guidance"])
            for f in _files(root, "vocabulary.yaml"):
                d = self.doc(f, "vocabulary_file")
                if d:
                    fact_types.update(self._fact_types(d))
            for f in _files(root, "parameters.yaml", "parameters"):
                d = self.doc(f, "parameters_file")
                if d:
                    params.update(self._params(d))
            for f in _files(root, "metrics.yaml", "metrics"):
                d = self.doc(f, "metrics_file")
                if d:
                    for m in self._metrics(d):
                        metrics[m.name] = m
            for f in _files(root, None, "concepts"):
                d = self.doc(f, "concepts_file")
                if d:
                    kind = d.data["kind"]
                    concepts.setdefault(kind, {}).update(self._concepts(d))
            for f in _files(root, None, "tables"):
                d = self.doc(f, "table_file")
                if d:
                    tables[f.stem] = Table(f.stem, d.data["fact"],
                                           tuple(MappingProxyType(r) for r in d.data["rows"]),
                                           d.data.get("description"), d.source(()))
            for f in _files(root, "ui.yaml", "ui"):
                d = self.doc(f, "ui_file")
                if d:
                    ui.update(d.data["ui"])
            seen_here: dict[str, Source] = {}
            for f in _files(root, None, "rules"):
                d = self.doc(f, "rules_file")
                if not d:
                    continue
                items = d.data if isinstance(d.data, list) else [d.data]
                for j, raw in enumerate(items):
                    base = (j,) if isinstance(d.data, list) else ()
                    try:
                        rule = self._rule(d, raw, base)
                    except KBError as err:
                        self.fail(err)
                        continue
                    if rule.id in seen_here:
                        self.fail(KBError(f"duplicate rule id '{rule.id}' (also at "
                                          f"{seen_here[rule.id]})", rule.origin))
                        continue
                    seen_here[rule.id] = rule.origin or Source(str(f))
                    rules[rule.id] = rule
        if not manifest:
            raise KBError("the knowledge base manifest could not be read", Source(roots[0]))
        outputs = manifest["outputs"]
        self._check_plural_rules(manifest, Source(str(Path(roots[-1]) / "kb.yaml")))
        return KnowledgeBase(
            name=manifest["name"], version=str(manifest["version"]),
            languages=tuple(manifest["languages"]), rtl=tuple(manifest.get("rtl", ())),
            outputs=outputs, max_firings=int(manifest.get("max_firings", 20000)),
            sources=sources, guidance=guidance, fact_types=fact_types,
            parameters=dict(sorted(params.items())),
            metrics=tuple(metrics.values()),
            rules=tuple(sorted(rules.values(), key=lambda r: r.id)),
            concepts={k: dict(sorted(v.items())) for k, v in sorted(concepts.items())},
            tables=tuple(tables[k] for k in sorted(tables)), ui=ui,
            case_schema=case_schema, title=manifest.get("title"), roots=roots,
            layers=tuple(manifest.get("layers", ())),
            typography={k: dict(v) for k, v in sorted(manifest.get("typography", {}).items())},
            problems=tuple(self.problems),
        )

    def _check_plural_rules(self, manifest: Mapping[str, Any], where: Source) -> None:
        """Each language's plural rules parse as CLDR rules (a typo would otherwise fall
        back to one/other without a word)."""
        for lang, style in sorted(manifest.get("typography", {}).items()):
            rules = (style or {}).get("plural")
            if not rules:
                continue
            from babel.plural import PluralRule

            try:
                PluralRule(dict(rules))
            except Exception as exc:
                self.fail(KBError(f"typography.{lang}.plural: not a CLDR plural rule ({exc})",
                                  where))

    def _case_schema(self, root: Path, name: str, where: Source) -> dict[str, Any]:
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            self.fail(KBError(f"case_schema '{name}' lies outside the knowledge base's folder",
                              where))
            return {}
        try:
            if path.stat().st_size > limits.MAX_BYTES:
                raise ValueError(f"larger than the {limits.MAX_BYTES // 1_000_000} MB limit")
            schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
            from ._validate import validator_for

            validator_for(schema)
            for at, pattern in _patterns(schema, ()):
                problem = limits.pattern_problem(pattern)
                if problem:
                    self.fail(KBError(f"pattern {pattern!r} refused: {problem}",
                                      Source(str(path), None, _yaml.format_path(at))))
                    return {}
            return schema
        except (OSError, ValueError) as exc:
            self.fail(KBError(f"case schema unreadable: {exc}", Source(str(path))))
        except Exception as exc:  # jsonschema.SchemaError and friends
            self.fail(KBError(f"case schema is not a valid JSON Schema: {exc}", Source(str(path))))
        return {}

    def _fact_types(self, d: _yaml.Document) -> dict[str, FactType]:
        out = {}
        for name, raw in d.data["fact_types"].items():
            fields = {}
            for fname, spec in raw["fields"].items():
                enum = tuple(spec["enum"]) if "enum" in spec else None
                fields[fname] = FieldSpec(fname, spec["type"], enum, spec.get("default"),
                                          bool(spec.get("past", False)), spec.get("from"))
            out[name] = FactType(name, raw["layer"], fields, raw.get("source"),
                                 bool(raw.get("derived", False)), bool(raw.get("table", False)),
                                 raw.get("label_field"))
        return out

    def _params(self, d: _yaml.Document) -> dict[str, Parameter]:
        out = {}
        for name, raw in d.data["parameters"].items():
            default = raw["default"]
            integer = raw.get("integer", isinstance(default, int))
            out[name] = Parameter(name, default, raw["rationale"], raw.get("unit", ""),
                                  raw.get("min"), raw.get("max"), integer,
                                  tuple(raw.get("guidance", ())),
                                  d.source(("parameters", name)), raw.get("title"),
                                  raw.get("display", "number"))
        return out

    def _metrics(self, d: _yaml.Document) -> list[Metric]:
        out = []
        for i, raw in enumerate(d.data["metrics"]):
            src = d.source(("metrics", i))
            try:
                where = parse_where(raw.get("where", {}), src, allow_ops=True)
                value = parse_expr(raw["value"], src) if "value" in raw else None
            except KBError as err:
                self.fail(err)
                continue
            out.append(Metric(raw["name"], raw["title"], raw.get("unit", ""), raw.get("signal"),
                              raw.get("count"), where, value, src,
                              raw.get("display", "number")))
        return out

    def _concepts(self, d: _yaml.Document) -> dict[str, Concept]:
        kind = d.data["kind"]
        return {key: Concept(kind, key, tuple(raw["guidance"]), raw["title"], raw.get("advice"),
                             raw.get("rank"), d.source(("items", key)))
                for key, raw in d.data["items"].items()}

    def _rule(self, d: _yaml.Document, raw: dict[str, Any], base: tuple[Any, ...]) -> Rule:
        idsrc = d.source((*base, "id"))
        src = Source(idsrc.path, idsrc.line)
        patterns = []
        for k, p in enumerate(raw["when"]):
            psrc = d.source((*base, "when", k))
            if "not" in p:
                n = p["not"]
                patterns.append(Pattern(n["fact"], None,
                                        parse_where(n.get("where", {}), psrc, allow_ops=True),
                                        negated=True))
            else:
                patterns.append(Pattern(p["fact"], p.get("as"),
                                        parse_where(p.get("where", {}), psrc, allow_ops=True)))
        patterns = _guard_references(patterns)
        then_raw = dict(raw["then"])
        then_fact = then_raw.pop("fact")
        tsrc = d.source((*base, "then"))
        for key in then_raw:
            if key in ("id", "fact") or not key.isidentifier():
                raise KBError(f"'then' cannot set field {key!r}", tsrc)
        then = {k: parse_expr(v, tsrc) for k, v in then_raw.items()}
        return Rule(raw["id"], raw["title"], raw["description"], tuple(raw["guidance"]),
                    tuple((s["id"], s.get("section", "")) for s in raw["sources"]),
                    raw.get("severity"), tuple(patterns), then_fact, then, src,
                    tuple(raw.get("key", ())))


def _guard_references(patterns: list[Pattern]) -> list[Pattern]:
    """Make a pattern bind only facts that have the fields later conditions compare with.

    durable_rules raises (error 311) when a condition reads a field the bound fact lacks;
    in the rule language such a comparison simply fails. An explicit presence test on the
    binding pattern gives both evaluators the same semantics.
    """
    needed: dict[str, list[str]] = {}
    for p in patterns:
        for c in p.where:
            for ref in refs_of(c):
                if ref.field not in needed.setdefault(ref.alias, []):
                    needed[ref.alias].append(ref.field)
    out = []
    for p in patterns:
        extra = [f for f in needed.get(p.alias or "", []) if not any(
            isinstance(c, Test) and c.field == f and c.op == "ex" for c in p.where)]
        if extra and not p.negated:
            p = Pattern(p.fact, p.alias, (*p.where, *(Test(f, "ex", Const(True)) for f in extra)))
        out.append(p)
    return out


def _patterns(schema: Any, at: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every regular expression in a JSON Schema (``pattern``, ``patternProperties``)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield (*at, key), value
            elif key == "patternProperties" and isinstance(value, dict):
                for regex in value:
                    yield (*at, key), str(regex)
            if isinstance(value, (dict, list)):
                yield from _patterns(value, (*at, key))
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from _patterns(item, (*at, i))


def _files(root: Path, single: str | None, folder: str | None = None) -> Iterable[Path]:
    """``root/single`` if present, then every YAML file under ``root/folder`` (sorted)."""
    out: list[Path] = []
    if single and (root / single).is_file():
        out.append(root / single)
    if folder and (root / folder).is_dir():
        out.extend(sorted(p for p in (root / folder).rglob("*.yaml") if p.is_file()))
    return out
