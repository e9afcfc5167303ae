"""What-if: edit a case, re-assess it, and show what changed; flip: search the smallest
sets of edits that change the decision.

Edits work on the case data (the public case format), so every result is what the
engine gives on the edited case. The flip search space is KB data (``editable.yaml``:
which sections and fields may change, and how); this module reads it generically.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import _yaml, limits
from .assessment import Assessment
from .case import Case, case_from_data, resolve_policy
from .errors import CaseError, KBError, PartwaysError, QueryError, Source, did_you_mean
from .expr import params_of
from .facts import build_facts
from .inference import Program, compile_kb, run
from .journal import coerce_entry, parse_pairs
from .knowledge import FactType, KnowledgeBase, Texts, per_kb
from .records import Record

DEFAULT_MAX_SIZE = 2
DEFAULT_K = 3
DEFAULT_MAX_EVALS = 800  # variants one flip search may run before it gives up

_MISSING: Any = object()


@dataclass(frozen=True)
class Edit(Record):
    """One change to a case.

    ``op`` is ``add`` (``value``: the new item of ``fact``'s list section), ``remove``
    (drop item ``item``, 0-based), ``set`` (``field`` of ``fact``'s section, or of item
    ``item`` of a list section, to ``value``; ``None`` removes the field) or ``policy``
    (parameter ``field`` to ``value``). ``old`` is the value before the edit (the removed
    item for ``remove``), filled in when the edit is applied; ``domain`` is the
    ``editable.yaml`` entry a flip took it from.
    """

    op: str
    fact: str | None = None
    field: str | None = None
    value: Any = None
    item: int | None = None
    old: Any = None
    domain: str | None = None

    def key(self) -> tuple[Any, ...]:
        """What the edit touches: two edits with the same key conflict."""
        if self.op == "add":
            return ("add", self.fact, json.dumps(self.value, sort_keys=True))
        if self.op == "policy":
            return ("policy", self.field)
        return ("item", self.fact, self.item) if self.item is not None \
            else ("set", self.fact, self.field)


@dataclass(frozen=True)
class SignalChange(Record):
    """A finding gained (``before`` None), lost (``after`` None) or re-rated."""

    id: str
    before: str | None  # severity before (None: absent)
    after: str | None
    before_status: str | None = None
    after_status: str | None = None


@dataclass(frozen=True)
class DatedChange(Record):
    id: str
    subject: str | None
    before: dt.date | None
    after: dt.date | None


@dataclass(frozen=True)
class Diff(Record):
    """What differs between two assessments of (versions of) the same case."""

    decision_before: str
    decision_after: str
    signals: tuple[SignalChange, ...]  # gained (before None), lost (after None), re-rated
    steps_gained: tuple[str, ...]
    steps_lost: tuple[str, ...]
    plan: tuple[DatedChange, ...]  # milestones and plan steps whose dates changed
    plan_before: tuple[dt.date | None, dt.date | None] | None = None  # notify, end
    plan_after: tuple[dt.date | None, dt.date | None] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.decision_before != self.decision_after or self.signals
                    or self.steps_gained or self.steps_lost or self.plan)


@dataclass(frozen=True, eq=False)
class WhatIf:
    """A case before and after some edits, both assessed, and their difference."""

    edits: tuple[Edit, ...]
    before: Assessment
    after: Assessment
    diff: Diff

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON form (docs/EXPLAIN.md), texts in ``lang``."""
        from .render.explain import what_if_dict

        return what_if_dict(self.before.kb, self, lang)


@dataclass(frozen=True, eq=False)
class Flip:
    """A set of edits that changes the decision, verified by a full re-assessment."""

    edits: tuple[Edit, ...]
    after: Assessment
    diff: Diff

    def to_dict(self) -> dict[str, Any]:
        return {"edits": [e.to_dict() for e in self.edits], "decision": self.after.decision,
                "diff": self.diff.to_dict()}


@dataclass(frozen=True, eq=False)
class FlipResult:
    """The answer of ``flip``: the smallest changes found, and how far it searched."""

    before: Assessment
    target: str | None
    flips: tuple[Flip, ...]
    max_size: int
    k: int
    evaluated: int
    complete: bool  # False when the evaluation budget ran out before the size bound
    stopped: str | None = None  # "time" or "evaluations" when a budget ended the search
    seconds: float | None = None  # the time budget it had

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON form (docs/EXPLAIN.md), texts in ``lang``."""
        from .render.explain import flip_dict

        return flip_dict(self.before.kb, self, lang)


@dataclass(frozen=True)
class Editable:
    """One entry of ``editable.yaml``: a kind of change the flip search may make."""

    id: str
    title: Texts
    fact: str | None
    field: str | None = None
    set: Any = None
    shift: tuple[float, ...] = ()
    add: Mapping[str, Any] | None = None
    remove: bool = False
    repeat: bool = False
    policy: Any = None


# --------------------------------------------------------------------------- edits


def apply_edits(case: Case, kb: KnowledgeBase, edits: Sequence[Edit]) -> tuple[
        dict[str, Any], tuple[Edit, ...]]:
    """The case data with ``edits`` applied in order, and the edits with ``old`` filled.

    Raises :class:`CaseError` for an edit that cannot apply (no such item, section).
    """
    data: dict[str, Any] = copy.deepcopy(dict(case.data))
    data.setdefault("as_of", case.as_of.isoformat())  # keep the evaluation date fixed
    # removals by index apply last, highest first, so earlier indexes stay valid
    order = sorted(range(len(edits)), key=lambda i: (
        edits[i].op == "remove", -(edits[i].item or 0) if edits[i].op == "remove" else i))
    applied: dict[int, Edit] = {}
    for i in order:
        applied[i] = _apply(data, kb, edits[i], case.as_of)
    done = [applied[i] for i in range(len(edits))]
    return data, tuple(done)


def _section(kb: KnowledgeBase, fact: str | None) -> FactType:
    ft = kb.fact_types.get(fact or "")
    if ft is None or ft.source is None or ft.derived or ft.table:
        editable = sorted(n for n, t in kb.fact_types.items()
                          if t.source is not None and not t.derived and not t.table)
        raise QueryError(f"'{fact}' is not a part of the case that can be edited (one of "
                         f"{', '.join(editable)}){did_you_mean(str(fact), editable)}")
    return ft


def _apply(data: dict[str, Any], kb: KnowledgeBase, e: Edit, as_of: dt.date) -> Edit:
    where = Source(field=f"what-if {e.op} {e.fact or e.field}")
    if e.op == "policy":
        policy = data.setdefault("policy", {})
        name = str(e.field)
        old = policy.get(name, kb.parameters[name].default if name in kb.parameters else None)
        policy[name] = e.value
        return replace(e, old=old)
    ft = _section(kb, e.fact)
    src = str(ft.source)
    if e.op == "add":
        item = dict(e.value)
        for spec in ft.fields.values():
            key = spec.origin or spec.name
            if spec.type == "date" and spec.past and key not in item:
                item[key] = as_of.isoformat()
        if not isinstance(data.get(src), list):
            data[src] = []
        data[src].append(item)
        return replace(e, value=item)
    if src == ".":
        target: Any = data
    elif e.item is not None:
        items = data.get(src)
        if not isinstance(items, list) or not 0 <= e.item < len(items):
            n = len(items) if isinstance(items, list) else 0
            raise CaseError(f"there is no item {e.item + 1} in '{src}' ({n} recorded)", where)
        if e.op == "remove":
            return replace(e, old=items.pop(e.item))
        target = items[e.item]
    else:
        target = data.setdefault(src, {})
        if not isinstance(target, dict):
            raise CaseError(f"'{src}' is not a section with fields", where)
    if e.op != "set" or e.field is None:
        raise QueryError(f"cannot {e.op} '{src}' (a list item is removed by number or id)")
    old = target.get(e.field)
    if e.value is None:
        target.pop(e.field, None)
    else:
        target[e.field] = e.value
    return replace(e, old=old)


def edit_case(case: Case, kb: KnowledgeBase, edits: Sequence[Edit]
              ) -> tuple[Case, tuple[Edit, ...]]:
    """The edited case, validated like any case file, and the applied edits."""
    data, done = apply_edits(case, kb, edits)
    return case_from_data(data, kb, name=f"{case.path or '<case>'} (what-if)",
                          today=case.as_of), done


def what_if(a: Assessment, edits: Sequence[Edit | str]) -> WhatIf:
    """Re-assess ``a``'s case with ``edits`` and show what changed.

    An edit is an :class:`Edit` or a string in the CLI's words: ``path=value`` (as
    ``--set``: ``wellbeing=low``, ``contract.notice_days=60``), or one of
    ``add-event: k=v,...``, ``remediation: k=v,...``, ``remove-event: N``,
    ``set: path=value``, ``policy: name=value``.

    Examples
    --------
    >>> import partways
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})  # doctest: +SKIP
    >>> edit = partways.Edit("set", "profile", "wellbeing", "high")
    >>> partways.what_if(a, [edit]).diff.decision_after  # doctest: +SKIP
    'remediate'
    """
    from .api import assess_case

    case, done = edit_case(a.case, a.kb, [e if isinstance(e, Edit) else parse_edit(a, e)
                                          for e in edits])
    after = assess_case(case, a.kb)
    return WhatIf(done, a, after, diff(a, after))


def diff(before: Assessment, after: Assessment) -> Diff:
    """What differs between two assessments: decision, signals, steps, plan dates."""
    sb = {s.id: (s.severity, getattr(s, "status", None)) for s in before.signals}
    sa = {s.id: (s.severity, getattr(s, "status", None)) for s in after.signals}
    none = (None, None)
    signals = tuple(SignalChange(k, sb.get(k, none)[0], sa.get(k, none)[0],
                                 sb.get(k, none)[1], sa.get(k, none)[1])
                    for k in sorted(sb.keys() | sa.keys()) if sb.get(k) != sa.get(k))
    stb = {s.id for s in before.next_steps}
    sta = {s.id for s in after.next_steps}
    db, da = _dates(before), _dates(after)
    plan = tuple(DatedChange(k[0], k[1], db.get(k), da.get(k))
                 for k in sorted(db.keys() | da.keys(), key=lambda x: (x[0], x[1] or ""))
                 if db.get(k) != da.get(k))
    return Diff(before.decision, after.decision, signals, tuple(sorted(sta - stb)),
                tuple(sorted(stb - sta)), plan, _plan(before), _plan(after))


def _plan(a: Assessment) -> tuple[dt.date | None, dt.date | None] | None:
    return None if a.plan is None else (a.plan.notify_on, a.plan.end_on)


def _dates(a: Assessment) -> dict[tuple[str, str | None], dt.date]:
    out: dict[tuple[str, str | None], dt.date] = {}
    if a.plan is None:
        return out
    for name, day in sorted(a.milestones.items()):
        out[(name, None)] = day
    for s in a.plan.steps:
        out[(s.id, s.subject)] = s.date
    return out


# --------------------------------------------------------------------------- parsing


def parse_fields(text: str) -> dict[str, Any]:
    """``"type=late_payment,days_late=10"`` -> a mapping, split by the parser ``log`` uses
    (a quoted value may hold commas: ``note="late, again"``); unquoted values are read as
    YAML scalars. :func:`entry_fields` types them by the case schema instead."""
    return {k: parse_value(v) for k, v in parse_pairs(text, _WHAT_IF).items()}


def entry_fields(kb: KnowledgeBase, fact: str, text: str) -> dict[str, Any]:
    """A new item of ``fact``'s list section from ``key=value,...``: the same parser and
    typing as ``partways log`` (an integer field gets an integer, a date field a date)."""
    section = str(_section(kb, fact).source)
    entry = coerce_entry(kb, section, parse_pairs(text, _WHAT_IF), _WHAT_IF)
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in entry.items()}


_WHAT_IF = Source(field="what-if")


def parse_value(raw: str) -> Any:
    """A YAML scalar (dates stay ISO strings): ``10`` -> 10, ``true`` -> True."""
    if raw == "":
        return ""
    value = _yaml.load_text(raw, "<value>", QueryError).data
    if isinstance(value, (dict, list)):
        raise QueryError(f"expected a single value, got {raw!r}")
    return value


def parse_set(kb: KnowledgeBase, case: Case, text: str) -> Edit:
    """``path=value`` -> a ``set`` edit. The path is a top-level field (``wellbeing``),
    ``section.field`` (``contract.notice_days``) or ``section.N.field`` / ``section.ID.field``
    for the N-th (from 1) or the identified item of a list section."""
    path, eq, raw = text.partition("=")
    if not eq:
        raise QueryError(f"write --set as path=value, got {text!r}")
    parts = path.strip().split(".")
    value = parse_value(raw.strip())
    by_source = {ft.source: name for name, ft in kb.fact_types.items()
                 if ft.source not in (None, ".") and not ft.derived and not ft.table}
    top = next((n for n, ft in kb.fact_types.items() if ft.source == "."), None)
    if len(parts) == 1:
        return Edit("set", top, parts[0], value)
    fact = by_source.get(parts[0])
    if fact is None:
        raise QueryError(f"unknown case section '{parts[0]}'{did_you_mean(parts[0], by_source)}")
    if len(parts) == 2:
        return Edit("set", fact, parts[1], value)
    if len(parts) == 3:
        return Edit("set", fact, parts[2], value, item=item_index(kb, case, fact, parts[1]))
    raise QueryError(f"path {path!r} is too deep: section.field or section.N.field")


def item_index(kb: KnowledgeBase, case: Case, fact: str, ref: str) -> int:
    """0-based index of the item ``ref`` (its number from 1, its id, or ``fact:N``)."""
    ft = _section(kb, fact)
    items = case.data.get(str(ft.source))
    items = items if isinstance(items, list) else []
    ref = ref.removeprefix(f"{fact}:").removeprefix("#")
    if ref.isdigit() and 1 <= int(ref) <= len(items):
        return int(ref) - 1
    ids = [str(x.get("id")) for x in items if isinstance(x, dict) and x.get("id")]
    for i, x in enumerate(items):
        if isinstance(x, dict) and str(x.get("id")) == ref:
            return i
    raise QueryError(f"no item '{ref}' in '{ft.source}' (number 1..{len(items)} or an id)"
                     f"{did_you_mean(ref, ids)}")


# --------------------------------------------------------------------------- flip


def load_editable(kb: KnowledgeBase) -> tuple[Editable, ...]:
    """The ``editable.yaml`` entries of every KB root (later roots replace by id)."""
    entries: dict[str, Editable] = {}
    for root in kb.roots:
        path = Path(root) / "editable.yaml"
        if path.is_file():
            doc = _yaml.load_file(str(path), KBError)
            for i, raw in enumerate(_entries(doc)):
                entries[raw["id"]] = _editable(kb, doc, i, raw)
    return tuple(entries[k] for k in sorted(entries))


def _entries(doc: _yaml.Document) -> list[dict[str, Any]]:
    items = doc.data.get("editable") if isinstance(doc.data, dict) else None
    if not isinstance(items, list) or not all(isinstance(x, dict) and "id" in x for x in items):
        raise KBError("editable.yaml needs 'editable:', a list of entries with an 'id'",
                      doc.source(()))
    return items


_KINDS = ("set", "shift", "add", "remove", "repeat", "policy")
_KEYS = {"id", "title", "fact", "field", *_KINDS}


def _editable(kb: KnowledgeBase, doc: _yaml.Document, i: int, raw: Mapping[str, Any]) -> Editable:
    src = doc.source(("editable", i))
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise KBError(f"unknown key '{unknown[0]}' in editable entry '{raw['id']}'"
                      f"{did_you_mean(unknown[0], _KEYS)}", src)
    kinds = [k for k in ("set", "add", "remove", "repeat", "policy")
             if raw.get(k) not in (None, False)]
    if len(kinds) != 1 and not (not kinds and "shift" in raw):
        raise KBError(f"editable entry '{raw['id']}' needs exactly one of set, shift, add, "
                      "remove, repeat, policy", src)
    title = raw.get("title") or {}
    if not isinstance(title, dict) or not all(title.get(lang) for lang in kb.languages):
        raise KBError(f"editable entry '{raw['id']}' needs a title in "
                      f"{', '.join(kb.languages)}", src)
    if "policy" not in raw:
        if raw.get("fact") not in kb.fact_types:
            raise KBError(f"editable entry '{raw['id']}' names unknown fact type "
                          f"'{raw.get('fact')}'{did_you_mean(str(raw.get('fact')), kb.fact_types)}",
                          src)
        _section(kb, raw["fact"])
        needs_field = "set" in raw or "shift" in raw
        if needs_field and raw.get("field") not in kb.fact_types[raw["fact"]].fields:
            raise KBError(f"editable entry '{raw['id']}': '{raw['fact']}' has no field "
                          f"'{raw.get('field')}'", src)
    shift = raw.get("shift", ())
    if not isinstance(shift, list) or not all(isinstance(x, (int, float)) for x in shift):
        shift = ()
    return Editable(raw["id"], title, raw.get("fact"), raw.get("field"), raw.get("set"),
                    tuple(shift), raw.get("add"), bool(raw.get("remove")),
                    bool(raw.get("repeat")), raw.get("policy"))


def candidate_edits(a: Assessment, domain: Sequence[Editable]) -> list[Edit]:
    """Every single edit the declared ``domain`` allows on ``a``'s case, deduplicated."""
    kb, case = a.kb, a.case
    out: list[Edit] = []
    for ed in domain:
        out.extend(_edits_of(kb, case, ed))
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for e in out:
        sig = (*e.key(), json.dumps(e.value, sort_keys=True, default=str))
        if sig not in seen:
            seen.add(sig)
            unique.append(e)
    return unique


def _enum(ft: FactType, name: str) -> list[Any]:
    spec = ft.fields.get(name)
    if spec is None:
        return []
    if spec.enum:
        return list(spec.enum)
    return [True, False] if spec.type == "boolean" else []


def _edits_of(kb: KnowledgeBase, case: Case, ed: Editable) -> Iterator[Edit]:
    if ed.policy is not None:
        yield from _policy_edits(kb, case, ed)
        return
    ft = kb.fact_types[str(ed.fact)]
    src = str(ft.source)
    section = case.data if src == "." else case.data.get(src)
    if ed.add is not None:
        fields = sorted(ed.add)
        choices = [(_enum(ft, f) if ed.add[f] == "*" else
                    ed.add[f] if isinstance(ed.add[f], list) else [ed.add[f]]) for f in fields]
        for combo in itertools.product(*choices):
            yield Edit("add", ed.fact, value=dict(zip(fields, combo, strict=True)), domain=ed.id)
        return
    if ed.remove:
        for i in range(len(section) if isinstance(section, list) else 0):
            yield Edit("remove", ed.fact, item=i, domain=ed.id)
        return
    if ed.repeat:
        # one more like an existing item, dated as_of; without its id (ids are unique)
        ref = ft.fields.get("ref")
        drop = {ref.origin or ref.name} if ref is not None else set()
        dates = {s.origin or s.name for s in ft.fields.values() if s.type == "date" and s.past}
        for x in section if isinstance(section, list) else []:
            if isinstance(x, dict):
                yield Edit("add", ed.fact, value={k: v for k, v in sorted(x.items())
                                                  if k not in drop | dates}, domain=ed.id)
        return
    targets: list[tuple[int | None, Mapping[str, Any]]]
    if isinstance(section, list):
        targets = [(i, x) for i, x in enumerate(section) if isinstance(x, dict)]
    elif isinstance(section, dict) or src == ".":
        targets = [(None, section if isinstance(section, dict) else {})]
    else:
        return  # the section is absent: nothing to change in it
    fname = str(ed.field)
    spec = ft.fields[fname]
    key = spec.origin or spec.name
    for item, obj in targets:
        old = obj.get(key, spec.default)
        for new in _new_values(ft, fname, ed, old):
            if new != old or isinstance(new, bool) != isinstance(old, bool):
                yield Edit("set", ed.fact, key, new, item=item, domain=ed.id)


def _new_values(ft: FactType, fname: str, ed: Editable, old: Any) -> list[Any]:
    if ed.shift:
        if isinstance(old, bool) or not isinstance(old, (int, float)):
            return []
        return [old + s for s in ed.shift if old + s >= 0]
    if ed.set == "*":
        return [v for v in _enum(ft, fname) if v != old]
    if isinstance(ed.set, dict):
        return list(ed.set.get(str(old).lower() if isinstance(old, bool) else str(old), []))
    if isinstance(ed.set, list):
        return list(ed.set)
    return []


def condition_params(kb: KnowledgeBase) -> list[str]:
    """Parameters a rule pattern or a metric tests or computes with (not plan offsets)."""
    names: set[str] = set()
    for r in kb.rules:
        for p in r.when:
            for c in p.where:
                names.update(params_of(c))
    for m in kb.metrics:
        for c in m.where:
            names.update(params_of(c))
        if m.value is not None:
            names.update(params_of(m.value))
    return sorted(n for n in names if n in kb.parameters)


def _policy_edits(kb: KnowledgeBase, case: Case, ed: Editable) -> Iterator[Edit]:
    names = condition_params(kb) if ed.policy == "conditions" else list(ed.policy)
    for name in names:
        p = kb.parameters.get(name)
        if p is None:
            continue
        old = case.params.get(name, p.default)
        for s in ed.shift or (-1, 1):
            new = old + s
            if (p.minimum is not None and new < p.minimum) or \
                    (p.maximum is not None and new > p.maximum):
                continue
            yield Edit("policy", field=name, value=int(new) if p.integer else float(new),
                       domain=ed.id)


_DECIDERS: dict[int, tuple[KnowledgeBase, Program]] = {}


def decision_program(kb: KnowledgeBase) -> Program:
    """The rules that can influence the decision, compiled once per KB.

    A rule whose conclusion type no decision derivation reads (exit plan, next steps)
    cannot change the decision, so screening variants of a case needs only the rest:
    the producers of the decision's type and, transitively, of every type they match or
    negate. Same strata for what remains, so the same decision.
    """
    return per_kb(_DECIDERS, kb, _decider)


def _decider(kb: KnowledgeBase) -> Program:
    needed = {kb.outputs["decision"]["fact"]}
    grew = True
    while grew:
        before = len(needed)
        for r in kb.rules:
            if r.then_fact in needed:
                needed.update(p.fact for p in r.when)
        grew = len(needed) > before
    rules = tuple(r for r in kb.rules if r.then_fact in needed)
    return compile_kb(replace(kb, rules=rules))


def _rests_on(kb: KnowledgeBase, trace: Any) -> frozenset[Any]:
    """Every derived fact of ``trace`` (id and value): what a decision rests on."""
    return frozenset((fid, json.dumps(f.get("value"), default=str))
                     for fid, f in trace.facts.items()
                     if (ft := kb.fact_types.get(f["fact"])) is not None and ft.derived)


def flip(a: Assessment, *, to: str | None = None, max_size: int = DEFAULT_MAX_SIZE,
         k: int = DEFAULT_K, max_evals: int = DEFAULT_MAX_EVALS,
         domain: Sequence[Editable] | None = None,
         seconds: float | None = limits.SEARCH_SECONDS) -> FlipResult:
    """The smallest sets of edits (at most ``max_size``) that change the decision.

    Searches breadth-first by size over the KB's ``editable.yaml`` domain, skipping
    supersets of changes already found and edits that touch the same thing twice;
    returns up to ``k``, smallest first, each verified by a full re-assessment. With
    ``to``, only changes leading to that decision count. Variants are screened with the
    decision's rules only (:func:`decision_program`); combinations of edits that alone
    change some conclusion come first; the search stops after ``max_evals`` variants
    (at most :data:`~partways.limits.SEARCH_WORK` divided by the case's items) or
    ``seconds`` of wall-clock time (``complete`` is then False and ``stopped`` says
    which budget ended it). The changes found are then verified in full.
    """
    from .api import assess_case

    kb = a.kb
    dec = kb.outputs["decision"]
    if to is not None:
        values = sorted({*kb.concepts.get(dec.get("concept", ""), {}),
                         *(kb.fact_types[dec["fact"]].fields[dec["field"]].enum or ())})
        if values and to not in values:
            raise QueryError(f"unknown decision '{to}' (one of {', '.join(values)})"
                             f"{did_you_mean(to, values)}")
        if to == a.decision:
            raise QueryError(f"the decision is already '{to}'")
    if max_size < 1 or k < 1:
        raise QueryError("the size bound and k must be at least 1")
    program = decision_program(kb)
    singles = candidate_edits(a, load_editable(kb) if domain is None else domain)
    items = 1 + sum(len(v) for v in a.case.data.values() if isinstance(v, list))
    max_evals = min(max_evals, max(10, limits.SEARCH_WORK // items))
    found: list[tuple[int, ...]] = []  # indexes into singles
    seen: set[str] = set()
    evaluated = 0
    complete = True
    stopped: str | None = None
    deadline = None if seconds is None else time.monotonic() + seconds

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() > deadline

    def decided(edits: tuple[Edit, ...]) -> tuple[str | None, frozenset[Any] | None]:
        """The decision on the edited case (inference only) and what it rests on: every
        derived fact with its value. (None, None) when the variant is invalid or seen."""
        try:
            data, _ = apply_edits(a.case, kb, edits)
        except PartwaysError:
            return None, None
        fingerprint = json.dumps(data, sort_keys=True, default=str)
        if fingerprint in seen:
            return None, None
        seen.add(fingerprint)
        try:
            # the search runs inference only; the flips found are re-checked in full below
            case = Case(data, a.case.as_of, resolve_policy(kb, data.get("policy") or {}))
            trace = run(program, build_facts(kb, case))
        except PartwaysError:
            return None, None
        values = sorted({f[dec["field"]] for f in trace.conclusions(dec["fact"])})
        got = values[-1] if len(values) == 1 else (dec["default"] if not values else None)
        return got, _rests_on(kb, trace)

    baseline = _rests_on(kb, run(program, build_facts(kb, a.case)))
    live: set[int] = set()  # edits that alone change something the decision rests on
    for size in range(1, max_size + 1):
        # combine edits that alone changed something first: they are where joint
        # changes are most likely; the rest follow while the budget lasts
        for combo in _combinations(len(singles), size, live, out_of_time):
            if len(found) >= k:
                break
            edits = tuple(singles[i] for i in combo)
            if len({e.key() for e in edits}) < size:
                continue  # two edits to the same thing
            if any(set(f) <= set(combo) for f in found):
                continue  # contains a smaller change already found
            if evaluated >= max_evals or out_of_time():
                complete = False
                stopped = "evaluations" if evaluated >= max_evals else "time"
                break
            evaluated += 1
            got, rests = decided(edits)
            if size == 1 and rests is not None and rests != baseline:
                live.add(combo[0])
            if got is not None and got != a.decision and (to is None or got == to):
                found.append(combo)
        if out_of_time() and complete:
            complete, stopped = False, "time"
        if len(found) >= k or not complete:
            break
    flips = []
    for combo in found:
        try:  # verify: the full engine on the validated case
            case, done = edit_case(a.case, kb, [singles[i] for i in combo])
            after = assess_case(case, kb)
        except PartwaysError:
            continue  # an edit the case contract refuses (e.g. a required field missing)
        if after.decision != a.decision and (to is None or after.decision == to):
            flips.append(Flip(done, after, diff(a, after)))
    return FlipResult(a, to, tuple(flips), max_size, k, evaluated, complete, stopped,
                      seconds)


def _combinations(n: int, size: int, live: set[int],
                  stop: Callable[[], bool]) -> Iterator[tuple[int, ...]]:
    """``size``-subsets of ``range(n)``, those with fewer edits outside ``live`` first,
    each group in lexicographic order; generated lazily (never all held in memory) and
    ended when ``stop()`` says the time is up."""
    groups = range(size + 1) if size > 1 else (None,)
    for outside in groups:
        for count, combo in enumerate(itertools.combinations(range(n), size)):
            if count % 4096 == 0 and stop():
                return
            if outside is None or sum(i not in live for i in combo) == outside:
                yield combo


def edits_from_options(a: Assessment, *, add: Iterable[tuple[str, str]] = (),
                       remove: Iterable[tuple[str, str]] = (), sets: Iterable[str] = (),
                       policy: Iterable[str] = ()) -> list[Edit]:
    """Edits from command-line style strings: ``add`` (fact type, ``k=v,...``),
    ``remove`` (fact type, item number or id), ``sets`` (``path=value``), ``policy``
    (``name=value``)."""
    kb = a.kb
    out: list[Edit] = []
    for fact, text in add:
        out.append(Edit("add", fact, value=entry_fields(kb, fact, text)))
    for fact, ref in remove:
        out.append(Edit("remove", fact, item=item_index(kb, a.case, fact, ref)))
    for text in sets:
        out.append(parse_set(kb, a.case, text))
    for text in policy:
        name, eq, raw = text.partition("=")
        if not eq:
            raise QueryError(f"write --policy as name=value, got {text!r}")
        name = name.strip()
        if name not in kb.parameters:
            raise QueryError(f"unknown policy parameter '{name}'"
                             f"{did_you_mean(name, kb.parameters)}")
        out.append(Edit("policy", field=name, value=parse_value(raw.strip())))
    return out



_EDIT_PREFIX = re.compile(r"^\s*(add-event|remove-event|remediation|set|policy)\s*:\s*")


def parse_edit(a: Assessment, text: str) -> Edit:
    """One edit from a string in the CLI's words (see :func:`what_if`)."""
    m = _EDIT_PREFIX.match(text)
    kind, rest = (m.group(1), text[m.end():]) if m else ("set", text)
    options: dict[str, Any] = {
        "add-event": {"add": [("event", rest)]}, "remediation": {"add": [("remediation", rest)]},
        "remove-event": {"remove": [("event", rest.strip())]}, "set": {"sets": [rest]},
        "policy": {"policy": [rest]}}
    return edits_from_options(a, **options[kind])[0]
