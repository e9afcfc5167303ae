"""Lint a knowledge base: every check a small class, each problem located by file and line.

A check has an ``id``, a ``description`` and a ``severity`` (``error`` or ``warning``).
:meth:`Check.validate` looks at one rule, :meth:`Check.finalize` at the whole KB; both
return :class:`Problem` records. Beyond schema and reference checks, the data-flow checks
follow facts across chained rules: which fact types and field values each rule can
produce, and so which rules can never fire.

>>> from partways import lint_kb
>>> report = lint_kb()
>>> report.errors  # doctest: +SKIP
()
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx

from . import _yaml
from .errors import KBError, Source, did_you_mean
from .expr import AnyOf, Cond, Const, Expr, Op, Param, Ref, Test, compare, params_of, refs_of
from .knowledge import KnowledgeBase, Pattern, Rule, Texts, _files, load_kb

SEVERITIES = ("error", "warning", "notice")
METRIC = "metric"  # the fact type engine/facts.py asserts for every metric
_MAX_LISTED = 8
_MAX_EXPANSIONS = 64


@dataclass(frozen=True)
class Problem:
    """One finding of one check, at a place in the KB."""

    check: str
    severity: str
    message: str
    source: Source | None = None

    def sort_key(self) -> tuple[Any, ...]:
        src = self.source or Source()
        return (src.path or "", src.line or 0, SEVERITIES.index(self.severity), self.check,
                self.message)

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.severity} [{self.check}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        src = self.source or Source()
        return {"check": self.check, "severity": self.severity, "message": self.message,
                "path": src.path, "line": src.line}


@dataclass(frozen=True)
class LintReport:
    """Every problem the checks found, sorted by place."""

    problems: tuple[Problem, ...]
    checks: tuple[str, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) "
                f"from {len(self.checks)} checks")

    def to_dict(self) -> dict[str, Any]:
        return {"problems": [p.to_dict() for p in self.problems],
                "errors": len(self.errors), "warnings": len(self.warnings),
                "checks": list(self.checks)}


# ---------------------------------------------------------------------------------------
# What lint knows beyond the loaded model: where every definition is, per KB directory.


@dataclass
class Context:
    """The KB under lint plus what the checks share: definitions' places, value domains."""

    kb: KnowledgeBase
    examples: tuple[Path, ...] | None
    definitions: dict[tuple[str, str], list[Source]] = field(default_factory=dict)
    _flow: _Flow | None = None

    def where(self, kind: str, key: str) -> Source | None:
        """The place of the effective (last) definition of ``key``."""
        found = self.definitions.get((kind, key))
        return found[-1] if found else None

    def recency(self, rule_id: str) -> tuple[int, str]:
        """Sort key: rules of later KB directories (overlays) last."""
        src = self.where("rule", rule_id)
        return (int(src.field[1:]) if src and src.field else 0, rule_id)

    @property
    def flow(self) -> _Flow:
        if self._flow is None:
            self._flow = _Flow(self.kb)
        return self._flow


_SECTIONS = (  # (kind, single file, folder, top key, keyed by)
    ("source", "sources.yaml", None, "sources", "map"),
    ("guidance", "guidance.yaml", None, "guidance", "map"),
    ("fact_type", "vocabulary.yaml", None, "fact_types", "map"),
    ("parameter", "parameters.yaml", "parameters", "parameters", "map"),
    ("metric", "metrics.yaml", "metrics", "metrics", "list"),
    ("ui", "ui.yaml", "ui", "ui", "map"),
)


def _index(roots: Sequence[str]) -> dict[tuple[str, str], list[Source]]:
    """Where each definition is, by (kind, key), tagged with its directory's index."""
    out: dict[tuple[str, str], list[Source]] = {}

    def add(kind: str, key: Any, doc: _yaml.Document, path: tuple[Any, ...], root: int) -> None:
        src = doc.source(path)
        out.setdefault((kind, str(key)), []).append(Source(src.path, src.line, f"#{root}"))

    for r, root_s in enumerate(roots):
        root = Path(root_s)
        for kind, single, folder, top, keyed in _SECTIONS:
            for f in _files(root, single, folder):
                doc = _read(f)
                if doc is None or not isinstance(doc.data, dict):
                    continue
                body = doc.data.get(top)
                if keyed == "map" and isinstance(body, dict):
                    for key in body:
                        add(kind, key, doc, (top, key), r)
                elif isinstance(body, list):
                    for i, item in enumerate(body):
                        if isinstance(item, dict) and "name" in item:
                            add(kind, item["name"], doc, (top, i, "name"), r)
        for f in _files(root, None, "concepts"):
            doc = _read(f)
            if doc and isinstance(doc.data, dict) and isinstance(doc.data.get("items"), dict):
                for key in doc.data["items"]:
                    add(f"concept:{doc.data.get('kind')}", key, doc, ("items", key), r)
        for f in _files(root, None, "rules"):
            doc = _read(f)
            if doc is None:
                continue
            items = doc.data if isinstance(doc.data, list) else [doc.data]
            for j, raw in enumerate(items):
                if isinstance(raw, dict) and "id" in raw:
                    base = (j,) if isinstance(doc.data, list) else ()
                    add("rule", raw["id"], doc, (*base, "id"), r)
    return out


def _read(path: Path) -> _yaml.Document | None:
    try:
        return _yaml.load_file(str(path), KBError)
    except KBError:
        return None  # the loader reported it; see LoadProblems


def _plain(src: Source | None) -> Source | None:
    """Drop the directory tag :func:`_index` keeps in ``field``."""
    return Source(src.path, src.line) if src else None


# ---------------------------------------------------------------------------------------
# Checks


class Check:
    """A lint check: override :meth:`validate` (one rule) and/or :meth:`finalize` (the KB)."""

    id: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[str] = "error"
    # finalize() reasons about the whole KB: skipped when files failed to load, where it
    # would only report the consequences of the missing data
    whole_kb: ClassVar[bool] = False

    def problem(self, message: str, source: Source | None, severity: str | None = None) -> Problem:
        return Problem(self.id, severity or self.severity, message, _plain(source))

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        return ()

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        return ()


class LoadProblems(Check):
    id = "schema"
    description = "Every file parses, has no duplicate keys and matches the KB schema."

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        for err in ctx.kb.problems:
            yield self.problem(err.message, err.source)


class DuplicateIds(Check):
    id = "ids"
    description = ("Ids and interface-text keys are unique within a KB directory, across "
                   "all its files (an overlay may replace one on purpose) and rule ids are "
                   "dotted: <layer>.<name>[.<variant>].")

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        if "." not in rule.id:
            yield self.problem(f"rule id '{rule.id}' needs a layer prefix: "
                               "<layer>.<name>[.<variant>]", rule.origin)

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        for (kind, key), places in sorted(ctx.definitions.items()):
            if kind == "rule":
                continue  # the loader reports duplicate rule ids (LoadProblems)
            by_root: dict[str | None, list[Source]] = {}
            for src in places:
                by_root.setdefault(src.field, []).append(src)
            for same in by_root.values():
                for dup in same[1:]:
                    what = "interface text" if kind == "ui" else kind.replace(":", " ")
                    yield self.problem(f"duplicate {what} '{key}' (also at "
                                       f"{_plain(same[0])}); the later one silently wins", dup)


class GuidanceIds(Check):
    id = "guidance"
    description = ("Every guidance id a rule, concept or parameter cites is in the KB's "
                   "guidance registry, and every registered id is cited by a rule (unless "
                   "its scope is wider than one case).")
    whole_kb = True

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        if ctx.kb.guidance:
            yield from self._unknown(ctx, rule.guidance, f"rule '{rule.id}'", rule.origin)

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        kb = ctx.kb
        if not kb.guidance:
            yield self.problem("the KB has no guidance registry (guidance.yaml): cited "
                               "guidance ids cannot be checked", Source(kb.roots[0]))
            return
        for kind, items in kb.concepts.items():
            for c in items.values():
                yield from self._unknown(ctx, c.guidance, f"{kind} '{c.key}'", c.origin)
        for p in kb.parameters.values():
            yield from self._unknown(ctx, p.guidance, f"parameter '{p.name}'", p.origin)
        from .portfolio import portfolio_spec

        spec = portfolio_spec(kb)  # rules over a whole client book cite guidance too
        cited = {g for r in kb.rules for g in r.guidance} | (spec.guidance if spec else set())
        for gid, entry in sorted(kb.guidance.items()):
            scope = entry.get("scope", "case")
            if gid not in cited and scope == "case":
                yield self.problem(f"guidance {gid} is cited by no rule (mark it with a "
                                   "'scope' if it cannot apply to a single case)",
                                   ctx.where("guidance", gid), "warning")

    def _unknown(self, ctx: Context, ids: Iterable[str], who: str,
                 src: Source | None) -> Iterator[Problem]:
        for gid in ids:
            if gid not in ctx.kb.guidance:
                yield self.problem(f"{who} cites unknown guidance {gid}"
                                   f"{did_you_mean(gid, ctx.kb.guidance)}", src)


class SourceIds(Check):
    id = "sources"
    description = "Every source a rule or guidance entry cites is in sources.yaml."

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        if not ctx.kb.sources:
            return
        for sid, _section in rule.sources:
            if sid not in ctx.kb.sources:
                yield self.problem(f"rule '{rule.id}' cites unknown source {sid}"
                                   f"{did_you_mean(sid, ctx.kb.sources)}", rule.origin)

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        if not ctx.kb.sources:
            yield self.problem("the KB has no source registry (sources.yaml): cited "
                               "sources cannot be checked", Source(ctx.kb.roots[0]))
            return
        for gid, entry in sorted(ctx.kb.guidance.items()):
            for s in entry.get("sources", ()):
                if s.get("id") not in ctx.kb.sources:
                    yield self.problem(f"guidance {gid} cites unknown source {s.get('id')}",
                                       ctx.where("guidance", gid))


class Translations(Check):
    id = "texts"
    description = "Every text is present and non-empty in each of the KB's languages."

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        yield from self._check(ctx, rule.title, f"rule '{rule.id}' title", rule.origin)
        yield from self._check(ctx, rule.description, f"rule '{rule.id}' description",
                               rule.origin)

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        kb = ctx.kb
        if kb.title is not None:
            yield from self._check(ctx, kb.title, "the manifest title",
                                   Source(str(Path(kb.roots[0]) / "kb.yaml")))
        for sid, s in sorted(kb.sources.items()):
            yield from self._check(ctx, s.get("title"), f"source {sid} title",
                                   ctx.where("source", sid))
        for gid, g in sorted(kb.guidance.items()):
            yield from self._check(ctx, g.get("title"), f"guidance {gid} title",
                                   ctx.where("guidance", gid))
        for p in kb.parameters.values():
            yield from self._check(ctx, p.rationale, f"parameter '{p.name}' rationale",
                                   p.origin)
        for m in kb.metrics:
            yield from self._check(ctx, m.title, f"metric '{m.name}' title", m.origin)
        for kind, items in kb.concepts.items():
            for c in items.values():
                yield from self._check(ctx, c.title, f"{kind} '{c.key}' title", c.origin)
                if c.advice is not None:
                    yield from self._check(ctx, c.advice, f"{kind} '{c.key}' advice", c.origin)
        for t in kb.tables:
            if t.description is not None:
                yield from self._check(ctx, t.description, f"table '{t.name}' description",
                                       t.origin)
        for key, texts in sorted(kb.ui.items()):
            yield from self._check(ctx, texts, f"interface text '{key}'", ctx.where("ui", key))

    def _check(self, ctx: Context, texts: Texts | None, what: str,
               src: Source | None) -> Iterator[Problem]:
        texts = texts or {}
        missing = [lang for lang in ctx.kb.languages
                   if not isinstance(texts.get(lang), str) or not texts[lang].strip()]
        if missing:
            yield self.problem(f"{what} has no text in {', '.join(missing)}", src)


class References(Check):
    id = "references"
    description = ("Rules name only known fact types, fields, aliases and parameters (a "
                   "test on a field the fact type lacks can never hold).")

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        kb = ctx.kb
        bound: dict[str, str] = {}
        for p in rule.when:
            if p.fact not in kb.fact_types:
                yield self.problem(f"rule '{rule.id}' matches unknown fact type '{p.fact}'"
                                   f"{did_you_mean(p.fact, kb.fact_types)}", rule.origin)
            else:
                fields = fields_of_type(kb, p.fact)
                for t in _tests(p.where):
                    if t.field not in fields:
                        yield self.problem(f"rule '{rule.id}' tests '{p.fact}.{t.field}', "
                                           f"which '{p.fact}' does not have"
                                           f"{did_you_mean(t.field, fields)}", rule.origin)
            for c in p.where:
                yield from self._refs(rule, refs_of(c), bound, kb)
            if p.alias:
                if p.alias in bound:
                    yield self.problem(f"rule '{rule.id}' binds alias '{p.alias}' twice",
                                       rule.origin)
                if not p.negated:
                    bound[p.alias] = p.fact
        ft = kb.fact_types.get(rule.then_fact)
        if ft is None:
            yield self.problem(f"rule '{rule.id}' concludes unknown fact type "
                               f"'{rule.then_fact}'{did_you_mean(rule.then_fact, kb.fact_types)}",
                               rule.origin)
        for key, expr in rule.then.items():
            if ft is not None and key not in ft.fields:
                yield self.problem(f"rule '{rule.id}' sets '{key}', which '{rule.then_fact}' "
                                   f"does not have{did_you_mean(key, ft.fields)}", rule.origin)
            yield from self._refs(rule, refs_of(expr), bound, kb)

    def _refs(self, rule: Rule, refs: Iterable[Ref], bound: Mapping[str, str],
              kb: KnowledgeBase) -> Iterator[Problem]:
        for ref in refs:
            if ref.alias not in bound:
                yield self.problem(f"rule '{rule.id}' uses '@{ref.alias}' before binding it",
                                   rule.origin)
            elif bound[ref.alias] in kb.fact_types and \
                    ref.field not in fields_of_type(kb, bound[ref.alias]):
                yield self.problem(f"rule '{rule.id}': '@{ref.alias}' is a "
                                   f"'{bound[ref.alias]}', which has no field '{ref.field}'",
                                   rule.origin)


class Parameters(Check):
    id = "parameters"
    description = "Every parameter used is defined, and every one defined is used."
    whole_kb = True

    def validate(self, rule: Rule, ctx: Context) -> Iterable[Problem]:
        for name in sorted(set(_rule_params(rule))):
            if name not in ctx.kb.parameters:
                yield self.problem(f"rule '{rule.id}' uses undefined parameter '${name}'"
                                   f"{did_you_mean(name, ctx.kb.parameters)}", rule.origin)

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        kb = ctx.kb
        used = {n for r in kb.rules for n in _rule_params(r)}
        for m in kb.metrics:
            names = [n for c in m.where for n in params_of(c)]
            if m.value is not None:
                names += params_of(m.value)
            used.update(names)
            for name in sorted(set(names)):
                if name not in kb.parameters:
                    yield self.problem(f"metric '{m.name}' uses undefined parameter '${name}'"
                                       f"{did_you_mean(name, kb.parameters)}", m.origin)
        for name, p in kb.parameters.items():
            if name not in used:
                yield self.problem(f"parameter '{name}' is defined but no rule or metric uses "
                                   "it", p.origin, "warning")


class DataFlow(Check):
    id = "data-flow"
    description = ("Every fact type a rule matches is produced (by the case, a table, a "
                   "metric or a rule), and every conclusion is matched by a rule or shown "
                   "in the manifest's outputs.")
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        kb, flow = ctx.kb, ctx.flow
        for r in kb.rules:
            for p in r.when:
                if p.fact in kb.fact_types and not flow.producible(p.fact):
                    if p.negated:
                        yield self.problem(f"rule '{r.id}' negates '{p.fact}', which nothing "
                                           "produces: the negation always holds", r.origin,
                                           "warning")
                    else:
                        yield self.problem(f"rule '{r.id}' matches '{p.fact}', which nothing "
                                           "produces (not the case, a table, a metric or a "
                                           "rule): it can never fire", r.origin)
        matched = {p.fact for r in kb.rules for p in r.when}
        shown = output_fact_types(kb)
        for r in kb.rules:
            if r.then_fact not in matched and r.then_fact not in shown:
                yield self.problem(f"rule '{r.id}' concludes '{r.then_fact}', which no rule "
                                   "matches and the outputs do not show", r.origin, "warning")


class Unreachable(Check):
    id = "unreachable"
    description = ("No rule is impossible given the vocabulary's value domains and what "
                   "other rules can produce: a value outside a field's domain, a field no "
                   "producer sets, contradictory tests, or only impossible producers.")
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        for rule_id, reason in sorted(ctx.flow.dead.items()):
            yield self.problem(f"rule '{rule_id}' can never fire: {reason}",
                               ctx.kb.rule(rule_id).origin)


class Cycles(Check):
    id = "cycles"
    description = ("No cycle through negation between fact types (an error: the rules "
                   "cannot be stratified); no rule whose conclusions can feed back into "
                   "itself through other rules (a warning: it may loop).")
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        types = nx.MultiDiGraph()
        for r in ctx.kb.rules:
            for p in r.when:
                types.add_edge(p.fact, r.then_fact, rule=r.id, negated=p.negated)
        for comp in _cyclic_components(types):
            edges = [d for _u, v, d in types.edges(comp, data=True) if v in comp]
            negating = sorted({d["rule"] for d in edges if d["negated"]}, key=ctx.recency)
            if negating:
                rules = sorted({d["rule"] for d in edges})
                yield self.problem(f"cycle through negation among fact types "
                                   f"{' -> '.join([*comp, comp[0]])} (rules {', '.join(rules)}): "
                                   "the rules cannot be stratified",
                                   ctx.kb.rule(negating[-1]).origin)
        # Positive loops at the rule level: a conclusion of A can match a pattern of B
        # given the values A sets, so a type-level self-loop whose values never match back
        # (an option refined into a different kind of option) is no cycle.
        flow, rules_g = ctx.flow, nx.DiGraph()
        for a in ctx.kb.rules:
            for b in ctx.kb.rules:
                if any(flow.can_feed(a, p) for p in b.positives):
                    rules_g.add_edge(a.id, b.id)
        for comp in _cyclic_components(rules_g):
            yield self.problem(f"rules {' -> '.join([*comp, comp[0]])} feed each other's "
                               "conclusions back in: they may loop up to the firing cap",
                               ctx.kb.rule(comp[0]).origin, "warning")


def _cyclic_components(g: nx.DiGraph) -> list[list[str]]:
    """Strongly connected components that hold a cycle (a self-loop counts), sorted."""
    out = [sorted(c) for c in nx.strongly_connected_components(g)
           if len(c) > 1 or any(g.has_edge(n, n) for n in c)]
    return sorted(out)


class ConflictingDecisions(Check):
    id = "conflicts"
    description = ("No two rules conclude different decision candidates from the same "
                   "premises.")

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        dec = ctx.kb.outputs.get("decision", {})
        candidate, fld = dec.get("candidate"), dec.get("field")
        groups: dict[Any, list[tuple[Rule, Any]]] = {}
        for r in ctx.kb.rules:
            value = r.then.get(fld)
            if r.then_fact == candidate and isinstance(value, Const):
                groups.setdefault(_premises_key(r), []).append((r, value.value))
        for group in groups.values():
            group.sort(key=lambda rv: ctx.recency(rv[0].id))
            for (a, va), (b, vb) in itertools.combinations(group, 2):
                if va != vb:  # reported at the later one (an overlay's, say)
                    yield self.problem(f"rules '{a.id}' ({va}) and '{b.id}' ({vb}) conclude "
                                       "different decisions from the same premises", b.origin)


class LetterTemplates(Check):
    id = "letters"
    description = ("The message templates (letters/*.yaml) are valid, exist in every language "
                   "and compile; each language with letters has a grievance word list.")
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        from .render.letters import load_letters

        try:
            letters = load_letters(ctx.kb)
        except KBError as err:
            yield self.problem(err.message, err.source)
            return
        for channel, letter in letters.channels.items():
            for lang in sorted(letter.templates):
                if lang not in letters.forbidden:
                    yield self.problem(f"letter '{channel}' has a {lang} template but no {lang} "
                                       "grievance word list to check it against",
                                       letter.origins.get(lang), "warning")


class Glossary(Check):
    id = "glossary"
    description = ("Texts use the glossary's preferred terms (glossary.yaml): a line holding "
                   "a listed variant to avoid is reported with the term to use instead.")
    severity = "warning"

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        avoid = glossary_variants(ctx.kb.roots)
        if not avoid:
            return
        for root in ctx.kb.roots:
            for path in sorted(Path(root).rglob("*.yaml")):
                if path.name == GLOSSARY:
                    continue
                lines = path.read_text("utf-8").splitlines()
                for n, line in enumerate(lines, 1):
                    for lang, variant, use, pattern in avoid:
                        if pattern.search(line):
                            yield self.problem(f"'{variant}' ({lang}): the glossary's term is "
                                               f"'{use}'", Source(str(path), n))


GLOSSARY = "glossary.yaml"


def glossary_variants(roots: Sequence[str]) -> list[tuple[str, str, str, re.Pattern[str]]]:
    """(language, variant, preferred term, whole-word pattern) for every variant the
    glossaries of ``roots`` list under ``avoid`` (a later root's entry replaces one)."""
    entries: dict[str, Any] = {}
    for root in roots:
        path = Path(root) / GLOSSARY
        doc = _read(path) if path.is_file() else None
        if doc is not None and isinstance(doc.data, dict):
            entries.update(doc.data.get("glossary") or {})
    out = []
    for _concept, langs in sorted(entries.items()):
        for lang, spec in sorted((langs or {}).items()):
            if not isinstance(spec, dict):
                continue
            for variant in spec.get("avoid") or ():
                pattern = re.compile(rf"(?<!\w){re.escape(str(variant))}(?!\w)")
                out.append((lang, str(variant), str(spec.get("use", "")), pattern))
    return out


class Examples(Check):
    id = "examples"
    description = ("Every rule has examples (tests/rule_examples/**/<rule id>.yaml) with a "
                   "case where it fires and one where it stays silent (or, for a rule that "
                   "fires on every case by design, an 'always_fires' reason).")
    severity = "warning"
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        if ctx.examples is None:
            return
        if not ctx.examples:
            yield self.problem("no rule examples directory found: example coverage not "
                               "checked (give one with --examples)", None, "notice")
            return
        kinds: dict[str, set[str]] = {}
        for d in ctx.examples:
            for path in sorted(d.rglob("*.yaml")):
                doc = _read(path)
                data = doc.data if doc else None
                if not isinstance(data, dict) or not isinstance(data.get("rule"), str):
                    yield self.problem("a rule example file needs 'rule' and 'examples'",
                                       Source(str(path), 1))
                    continue
                ids = [r.id for r in ctx.kb.rules]
                if data["rule"] not in ids:
                    yield self.problem(f"examples for unknown rule '{data['rule']}'"
                                       f"{did_you_mean(data['rule'], ids)}",
                                       Source(str(path), doc.line(("rule",)) if doc else 1))
                got = kinds.setdefault(data["rule"], set())
                if isinstance(data.get("always_fires"), str) and data["always_fires"].strip():
                    got.add("silent")  # documented: no case exists where it stays silent
                for ex in data.get("examples") or ():
                    if isinstance(ex, dict):
                        got.add(str(ex.get("expect")))
        for r in ctx.kb.rules:
            got = kinds.get(r.id, set())
            if not got:
                yield self.problem(f"rule '{r.id}' has no examples", r.origin)
            else:
                for kind in ("fires", "silent"):
                    if kind not in got:
                        yield self.problem(f"rule '{r.id}' has no example where it {kind} "
                                           f"(expect: {kind})", r.origin)


class TableJoins(Check):
    id = "table-values"
    description = ("A table value a rule joins on can be matched: when a pattern tests a "
                   "field against a table row's field, every row's value there is one some "
                   "rule concludes (e.g. a repair that needs a situation no rule concludes "
                   "could never apply).")
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        kb = ctx.kb
        tables = {t.fact: t for t in kb.tables}
        reported: set[tuple[str, str, Any]] = set()
        for r in kb.rules:
            bound: dict[str, str] = {}
            for p in r.when:
                for c in p.where:
                    if not (isinstance(c, Test) and c.op == "eq" and isinstance(c.operand, Ref)):
                        continue
                    table = tables.get(bound.get(c.operand.alias, ""))
                    ft = kb.fact_types.get(p.fact)
                    if table is None or ft is None or not ft.derived:
                        continue
                    given = _concluded_values(kb, p.fact, c.field)
                    if given is None:
                        continue
                    for row in table.rows:
                        value = row.get(c.operand.field)
                        key = (table.name, c.operand.field, value)
                        if value is None or value in given or key in reported:
                            continue
                        reported.add(key)
                        yield self.problem(
                            f"table '{table.name}': {c.operand.field} '{value}' is never "
                            f"concluded as '{p.fact}.{c.field}' by any rule, so rule "
                            f"'{r.id}' can never match that row (e.g. a repair whose "
                            "condition can never hold)", table.origin)
                if p.alias and not p.negated:
                    bound[p.alias] = p.fact


class UndecidedFindings(Check):
    id = "undecided"
    description = ("Every finding the KB can produce leads some rule to a decision "
                   "candidate when it stands alone in an otherwise empty case: none falls "
                   "silently to the default decision (e.g. a serious red flag no repair "
                   "fits and no rule decides).")
    severity = "warning"
    whole_kb = True

    def finalize(self, ctx: Context) -> Iterable[Problem]:
        from .case import case_from_data
        from .errors import PartwaysError
        from .facts import FactBase, build_facts
        from .inference import compile_kb
        from .reference import run_reference

        kb = ctx.kb
        dec = kb.outputs.get("decision") or {}
        candidate, default = dec.get("candidate"), dec.get("default")
        subject = (kb.outputs.get("subject") or {}).get("key")
        if not candidate or not subject:
            return
        try:
            program = compile_kb(kb)
            empty = build_facts(kb, case_from_data({subject: "lint", "as_of": "2000-01-01"}, kb))
        except PartwaysError:
            return  # a KB that cannot compile or take an empty case: other checks say why
        seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
        for spec in kb.outputs.get("findings") or ():
            fact, key = spec.get("fact"), spec.get("key")
            if fact not in kb.fact_types or not key:
                continue
            for row, origin in _standalone_rows(kb, ctx.flow, fact, key, 0):
                ident = (fact, tuple(sorted(row.items(), key=lambda kv: kv[0])))
                if ident in seen:
                    continue
                seen.add(ident)
                fb = FactBase(params=dict(empty.params))
                for f in empty.facts.values():
                    fb.add(f, static=f["id"] in empty.static)
                fb.add({"fact": fact, "id": f"lint:{fact}", **row})
                try:
                    if run_reference(program, fb).conclusions(candidate):
                        continue
                except PartwaysError:
                    return  # rules that loop or break: the cycles check reports them
                shown = ", ".join(f"{k} = {v!r}" for k, v in ident[1])
                yield self.problem(
                    f"a '{fact}' with {shown}, alone in an otherwise empty case, leads no "
                    f"rule to a '{candidate}': the decision falls silently to the default "
                    f"'{default}' (add a rule that decides this state)", origin.origin)


_MAX_ROWS = 400


def _standalone_rows(kb: KnowledgeBase, flow: _Flow, fact: str, key: str,
                     depth: int) -> list[tuple[dict[str, Any], Rule]]:
    """The constant field values a ``fact`` can carry, each with the rule that set ``key``.

    Values a producing rule sets as constants are taken as they are; values it copies from
    the fact bound to the alias that supplies ``key`` are followed back to that fact's own
    producers (filtered by the pattern's constant tests). Fields computed or copied from
    other aliases are left out: the row describes the fact standing alone.
    """
    if depth > 6:
        return []
    out: list[tuple[dict[str, Any], Rule]] = []
    for r in kb.rules:
        if r.then_fact != fact or r.id in flow.dead or key not in r.then:
            continue
        consts = {k: e.value for k, e in r.then.items() if isinstance(e, Const)}
        kexpr = r.then[key]
        if isinstance(kexpr, Const):
            out.append((consts, r))
            continue
        if not isinstance(kexpr, Ref):
            continue
        pattern = next((p for p in r.positives if p.alias == kexpr.alias), None)
        if pattern is None:
            continue
        copied = {k: e.field for k, e in r.then.items()
                  if isinstance(e, Ref) and e.alias == kexpr.alias}
        for sub, origin in _source_rows(kb, flow, pattern, kexpr.field, depth):
            row = dict(consts)
            row.update({k: sub[f] for k, f in copied.items() if f in sub})
            if key in row:
                out.append((row, origin if origin is not None else r))
        if len(out) > _MAX_ROWS:
            break
    return out[:_MAX_ROWS]


def _source_rows(kb: KnowledgeBase, flow: _Flow, p: Pattern, key: str,
                 depth: int) -> list[tuple[dict[str, Any], Rule | None]]:
    """Rows of the facts pattern ``p`` can match, as far as constants tell."""
    rows: list[tuple[dict[str, Any], Rule | None]]
    if any(r.then_fact == p.fact for r in kb.rules):
        rows = list(_standalone_rows(kb, flow, p.fact, key, depth + 1))
    else:
        plain: list[dict[str, Any]] = [dict(row) for t in kb.tables if t.fact == p.fact
                                       for row in t.rows]
        if p.fact == METRIC:
            plain += [{"name": m.name, "indicates": m.signal is not None,
                       **({"signal": m.signal} if m.signal else {})} for m in kb.metrics]
        rows = [(row, None) for row in plain]
    return [(row, origin) for row, origin in rows if _may_match(row, p.where)]


def _may_match(row: Mapping[str, Any], where: Sequence[Cond]) -> bool:
    """Whether ``row`` can pass the constant tests of ``where`` (unknown fields: yes)."""
    for c in where:
        if isinstance(c, Test) and isinstance(c.operand, Const) and c.field in row \
                and c.op != "ex" and not compare(row[c.field], c.op, c.operand.value):
            return False
    return True


def _concluded_values(kb: KnowledgeBase, fact: str, fld: str) -> set[Any] | None:
    """Constant values rules conclude for ``fact.fld``; None when some rule computes it."""
    out: set[Any] = set()
    for r in kb.rules:
        if r.then_fact != fact:
            continue
        expr = r.then.get(fld)
        if not isinstance(expr, Const):
            return None
        out.add(expr.value)
    return out


CHECKS: tuple[type[Check], ...] = (
    LoadProblems, DuplicateIds, GuidanceIds, SourceIds, Translations, References, Parameters,
    DataFlow, Unreachable, Cycles, ConflictingDecisions, LetterTemplates, Glossary,
    Examples, TableJoins, UndecidedFindings,
)


# ---------------------------------------------------------------------------------------
# Running the checks


def default_examples_dirs(kb: KnowledgeBase) -> tuple[Path, ...]:
    """Rule example directories next to each KB directory: ``<dir>/rule_examples``, and
    ``tests/rule_examples`` beside the base KB (the source layout)."""
    out: list[Path] = []
    for i, root_s in enumerate(kb.roots):
        root = Path(root_s)
        candidates = [root / "rule_examples"]
        if i == 0:
            candidates.append(root.parent / "tests" / "rule_examples")
        out.extend(c for c in candidates if c.is_dir())
    return tuple(out)


def lint(kb: KnowledgeBase, *, examples: Sequence[str | os.PathLike[str]] | None = None,
         check_examples: bool = True, checks: Sequence[type[Check]] = CHECKS) -> LintReport:
    """Run ``checks`` over ``kb`` (loaded with ``collect_errors=True`` to see load problems).

    ``examples`` are the rule example directories (default: :func:`default_examples_dirs`).
    """
    ex: tuple[Path, ...] | None = None
    if check_examples:
        ex = tuple(Path(p) for p in examples) if examples is not None \
            else default_examples_dirs(kb)
    ctx = Context(kb, ex, _index(kb.roots))
    found: set[Problem] = set()
    instances = [c() for c in checks]
    skipped = sorted(c.id for c in instances if c.whole_kb and kb.problems)
    if skipped:
        found.add(Problem("lint", "notice", "some files did not load: whole-KB checks skipped "
                          f"until they do ({', '.join(skipped)})", Source(kb.roots[0])))
    for check in instances:
        for rule in kb.rules:
            found.update(check.validate(rule, ctx))
        if not (check.whole_kb and kb.problems):
            found.update(check.finalize(ctx))
    return LintReport(tuple(sorted(found, key=Problem.sort_key)),
                      tuple(c.id for c in instances))


def lint_kb(path: str | os.PathLike[str] | None = None, *,
            overlays: Sequence[str | os.PathLike[str]] = (),
            examples: Sequence[str | os.PathLike[str]] | None = None,
            check_examples: bool = True) -> LintReport:
    """Load the KB at ``path`` (default: the shipped one) with ``overlays`` and lint it.

    A KB that cannot be loaded at all (no manifest, a missing directory) gives a report
    with that one error.
    """
    try:
        kb = load_kb(path, overlays=overlays, collect_errors=True)
    except KBError as err:
        return LintReport((Problem(LoadProblems.id, "error", err.message, err.source),),
                          (LoadProblems.id,))
    return lint(kb, examples=examples, check_examples=check_examples)


# ---------------------------------------------------------------------------------------
# Data flow: which fact types, fields and values the KB can produce, and which rules are
# therefore dead. Domains are finite sets of values, or None for "any value".

Domain = frozenset[Any] | None


def fields_of_type(kb: KnowledgeBase, fact: str) -> dict[str, str]:
    """Field -> type of a fact type, including the ``<date>_age`` integer twins."""
    ft = kb.fact_types[fact]
    out = {n: s.type for n, s in ft.fields.items()}
    out.update({f"{n}_age": "integer" for n, s in ft.fields.items() if s.type == "date"})
    out.setdefault("id", "string")  # every fact has one (a rule may copy "@alias.id")
    return out


def output_fact_types(kb: KnowledgeBase) -> set[str]:
    """Fact types the manifest's outputs read (so their conclusions are shown)."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("fact", "candidate") and isinstance(value, str):
                    out.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(kb.outputs)
    return out


class _Flow:
    """Fixpoint over the rules: what can be produced, and which rules can never fire."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.dead: dict[str, str] = {}
        live = [r for r in kb.rules if self._well_formed(r)]
        while True:
            self.domains, self.produced = self._domains(live)
            newly = {r.id: why for r in live if (why := self._why_dead(r)) is not None}
            if not newly:
                break
            self.dead.update(newly)
            live = [r for r in live if r.id not in newly]

    def producible(self, fact: str) -> bool:
        """Whether anything at all produces ``fact`` (ignoring whether its rules can fire)."""
        ft = self.kb.fact_types[fact]
        if ft.source is not None and not ft.derived and not ft.table:
            return True
        if fact == METRIC and self.kb.metrics:
            return True
        if any(t.fact == fact for t in self.kb.tables):
            return True
        return any(r.then_fact == fact for r in self.kb.rules)

    def can_feed(self, producer: Rule, p: Pattern) -> bool:
        """Whether a conclusion of ``producer`` can pass the tests of pattern ``p``."""
        if producer.id in self.dead or producer.then_fact != p.fact or p.negated \
                or not self._well_formed(producer):
            return False
        types = fields_of_type(self.kb, p.fact)
        bound = {q.alias: q for q in producer.positives if q.alias}
        for tests in _expansions(p.where):
            fits = True
            for fld in sorted({t.field for t in tests}):
                if fld not in producer.then or fld not in types:
                    fits = False  # a test on a field the conclusion lacks fails
                    break
                domain = self._expr_domain(producer.then[fld], bound, self.domains)
                on_field = [t for t in tests if t.field == fld and isinstance(t.operand, Const)]
                if _field_unsat(p.fact, fld, types[fld], domain, on_field):
                    fits = False
                    break
            if fits:
                return True
        return False

    def _well_formed(self, r: Rule) -> bool:
        """Rules with unknown names are References' business, not this analysis'."""
        kb = self.kb
        if r.then_fact not in kb.fact_types:
            return False
        for p in r.when:
            if p.fact not in kb.fact_types:
                return False
            fields = fields_of_type(kb, p.fact)
            if any(t.field not in fields for t in _tests(p.where)):
                return False
        return True

    def _domains(self, live: Sequence[Rule]) -> tuple[dict[tuple[str, str], Domain],
                                                       set[str]]:
        kb = self.kb
        dom: dict[tuple[str, str], Domain] = {}
        produced: set[str] = set()

        def widen(key: tuple[str, str], values: Domain) -> bool:
            if key in dom and dom[key] is None:
                return False
            old = dom.get(key, frozenset())
            new = None if values is None or old is None else old | values
            if key in dom and new == old:
                return False
            dom[key] = new
            return True

        for name, ft in kb.fact_types.items():
            types = fields_of_type(kb, name)
            if ft.source is not None and not ft.derived and not ft.table:
                produced.add(name)
                for fname, ftype in types.items():
                    spec = ft.fields.get(fname)
                    widen((name, fname), _type_domain(ftype, spec.enum if spec else None))
        for t in kb.tables:
            produced.add(t.fact)
            for row in t.rows:
                for k, v in row.items():
                    widen((t.fact, k), frozenset([v]))
        if kb.metrics and METRIC in kb.fact_types:
            produced.add(METRIC)
            widen((METRIC, "name"), frozenset(m.name for m in kb.metrics))
            widen((METRIC, "indicates"), frozenset(m.signal is not None for m in kb.metrics))
            signals = frozenset(m.signal for m in kb.metrics if m.signal)
            if signals:
                widen((METRIC, "signal"), signals)
            widen((METRIC, "value"), None)
            if any(m.count for m in kb.metrics):
                widen((METRIC, "first_age"), None)
                widen((METRIC, "last_age"), None)
        changed = True
        while changed:
            changed = False
            for r in live:
                if not all(p.negated or p.fact in produced for p in r.when):
                    continue
                if r.then_fact not in produced:
                    produced.add(r.then_fact)
                    changed = True
                bound = {p.alias: p for p in r.positives if p.alias}
                for key, expr in r.then.items():
                    values = self._expr_domain(expr, bound, dom)
                    if values is not None and not values and (r.then_fact, key) in dom:
                        continue
                    changed |= widen((r.then_fact, key), values)
        return dom, produced

    def _expr_domain(self, expr: Expr, bound: Mapping[str, Pattern],
                     dom: Mapping[tuple[str, str], Domain]) -> Domain:
        if isinstance(expr, Const):
            return frozenset([expr.value])
        if isinstance(expr, Ref) and expr.alias in bound:
            p = bound[expr.alias]
            narrowed = _const_values(p.where, expr.field)
            base = dom.get((p.fact, expr.field), frozenset())
            if narrowed is not None:
                return narrowed if base is None else narrowed & base
            return base
        return None  # parameters and arithmetic: any number

    def _why_dead(self, r: Rule) -> str | None:
        kb = self.kb
        for p in r.positives:
            if p.fact not in self.produced:
                if not self.producible(p.fact):
                    return None  # reported by DataFlow: nothing produces it at all
                makers = sorted(x.id for x in kb.rules if x.then_fact == p.fact)
                return (f"every rule that concludes '{p.fact}' can never fire "
                        f"({', '.join(makers[:_MAX_LISTED])})")
            why = self._unsatisfiable(p)
            if why:
                return why
        return None

    def _unsatisfiable(self, p: Pattern) -> str | None:
        """Why no fact of ``p.fact`` can pass ``p.where``, or None when one might."""
        types = fields_of_type(self.kb, p.fact)
        reasons: list[str] = []
        for tests in _expansions(p.where):
            why = None
            for fld in sorted({t.field for t in tests}):
                on_field = [t for t in tests if t.field == fld and isinstance(t.operand, Const)]
                key = (p.fact, fld)
                if key not in self.domains:
                    why = f"no '{p.fact}' ever has a '{fld}' to test"
                    break
                why = _field_unsat(p.fact, fld, types[fld], self.domains[key], on_field)
                if why:
                    break
            if why is None:
                return None
            reasons.append(why)
        return reasons[0] if reasons else None


def _type_domain(ftype: str, enum: Sequence[Any] | None) -> Domain:
    if enum is not None:
        return frozenset(enum)
    if ftype == "boolean":
        return frozenset([True, False])
    return None


def _field_unsat(fact: str, fld: str, ftype: str, domain: Domain,
                 tests: Sequence[Test]) -> str | None:
    # a presence test ("ex") holds for any value: the caller checked the field is set
    tests = [t for t in tests if t.op != "ex"]
    if not tests:
        return None
    consts = [(t.op, t.operand.value) for t in tests if isinstance(t.operand, Const)]
    shown = " and ".join(str(t) for t in tests)
    if domain is not None:
        if any(all(compare(v, op, c) for op, c in consts) for v in domain):
            return None
        values = sorted(map(repr, domain))
        wanted = [c for op, c in consts if op == "eq" and isinstance(c, str)]
        hint = did_you_mean(wanted[0], [v for v in domain if isinstance(v, str)]) \
            if wanted else ""
        listing = ", ".join(values[:_MAX_LISTED]) + (", ..." if len(values) > _MAX_LISTED
                                                      else "")
        return f"'{fact}.{fld}' is one of {listing}, never {shown}{hint}"
    samples = [c for op, c in consts for c in (c if op == "in" else (c,))]
    for c in samples:
        if not _fits_type(c, ftype):
            return f"'{fact}.{fld}' is a {ftype}, so {shown} never holds"
    candidates = [c for op, c in consts if op in ("eq", "in")]
    if candidates:
        pool = [v for op, c in consts if op in ("eq", "in")
                for v in (c if op == "in" else (c,))]
        if not any(all(compare(v, op, c) for op, c in consts) for v in pool):
            return f"the tests {shown} on '{fact}.{fld}' contradict each other"
        return None
    lows = [(c, op == "gt") for op, c in consts if op in ("gt", "gte") and _number(c)]
    highs = [(c, op == "lt") for op, c in consts if op in ("lt", "lte") and _number(c)]
    if lows and highs:
        lo, lo_strict = max(lows, key=lambda x: (x[0], x[1]))
        hi, hi_strict = min(highs, key=lambda x: (x[0], not x[1]))
        if lo > hi or (lo == hi and (lo_strict or hi_strict)):
            return f"the tests {shown} on '{fact}.{fld}' contradict each other"
    return None


def _fits_type(value: Any, ftype: str) -> bool:
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype in ("integer", "number"):
        return _number(value)
    if ftype in ("string", "date"):
        return isinstance(value, str)
    return True


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tests(conds: Iterable[Cond]) -> Iterator[Test]:
    for c in conds:
        if isinstance(c, AnyOf):
            for option in c.options:
                yield from _tests(option)
        else:
            yield c


def _expansions(conds: Sequence[Cond]) -> list[list[Test]]:
    """The where-block as a disjunction of plain conjunctions (bounded)."""
    out: list[list[Test]] = [[]]
    for c in conds:
        if isinstance(c, Test):
            for branch in out:
                branch.append(c)
            continue
        options = [_expansions(o) for o in c.options]
        out = [[*branch, *alt] for branch in out for opt in options for alt in opt]
        if len(out) > _MAX_EXPANSIONS:
            return [[t for t in conds if isinstance(t, Test)]]  # only the plain tests
    return out


def _const_values(conds: Sequence[Cond], fld: str) -> frozenset[Any] | None:
    """The values a plain ``eq``/``in`` constant test pins ``fld`` to, if any."""
    for t in conds:
        if isinstance(t, Test) and t.field == fld and isinstance(t.operand, Const):
            if t.op == "eq":
                return frozenset([t.operand.value])
            if t.op == "in":
                return frozenset(t.operand.value)
    return None


def _rule_params(rule: Rule) -> list[str]:
    names = [n for p in rule.when for c in p.where for n in params_of(c)]
    names += [n for e in rule.then.values() for n in params_of(e)]
    return names


def _premises_key(rule: Rule) -> tuple[Any, ...]:
    """The rule's patterns with aliases replaced by their position (so names don't matter)."""
    names = {p.alias: f"#{i}" for i, p in enumerate(rule.when) if p.alias}

    def expr(e: Expr) -> Any:
        if isinstance(e, Ref):
            return ("ref", names.get(e.alias, e.alias), e.field)
        if isinstance(e, Op):
            return ("op", e.op, tuple(expr(a) for a in e.args))
        if isinstance(e, Param):
            return ("param", e.name)
        return ("const", repr(e.value))

    def cond(c: Cond) -> Any:
        if isinstance(c, AnyOf):
            return ("any", tuple(sorted(tuple(sorted(map(cond, o), key=repr))
                                        for o in c.options)))
        return (c.field, c.op, expr(c.operand))

    return tuple((p.fact, p.negated, tuple(sorted((cond(c) for c in p.where), key=repr)))
                 for p in rule.when)
