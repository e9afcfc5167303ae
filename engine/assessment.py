"""The result of assessing a case: decision, findings, next steps, dated plan, graph."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ._json import dumps_sorted
from .case import Case
from .contract import stamp
from .errors import InferenceError
from .graph import LightGraph, light_graph, node_link
from .inference import Program, Trace
from .knowledge import KnowledgeBase, per_kb
from .records import Record

if TYPE_CHECKING:  # explain imports this module; import it lazily at run time
    import networkx as nx

    from .explain import Why, WhyNot

SEVERITY_ORDER = {"info": 0, "minor": 1, "serious": 2, "critical": 3}
_EVIDENCE = frozenset(["evidence"])  # the layer of a finding's evidence


def _layers(spec: Mapping[str, Any] | None) -> frozenset[str]:
    """The layers whose facts an output entry lists as its evidence (``evidence:`` in the
    manifest; default the evidence layer)."""
    return frozenset(spec["evidence"]) if spec and "evidence" in spec else _EVIDENCE


@dataclass(frozen=True)
class Finding(Record):
    """A signal shown to the user (a red flag), with the evidence behind it."""

    id: str
    severity: str
    guidance: tuple[str, ...]
    evidence: tuple[str, ...]
    nodes: tuple[str, ...]
    status: str | None = None


@dataclass(frozen=True)
class Step(Record):
    """A next step (e.g. a repair to try), with the signals it addresses."""

    id: str
    guidance: tuple[str, ...]
    signals: tuple[str, ...]
    status: str | None
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class PlanStep(Record):
    id: str
    guidance: tuple[str, ...]
    date: dt.date
    subject: str | None
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Plan(Record):
    notify_on: dt.date | None
    end_on: dt.date | None
    steps: tuple[PlanStep, ...]


@dataclass(frozen=True, eq=False)
class Assessment:
    """What partways concluded about one case, and how (``graph``, ``trace``)."""

    kb: KnowledgeBase
    case: Case
    program: Program
    trace: Trace
    light: LightGraph  # the decision graph as plain dicts (``graph``: as networkx)
    decision: str
    decision_node: str | None
    signals: tuple[Finding, ...]
    next_steps: tuple[Step, ...]
    plan: Plan | None
    milestones: Mapping[str, dt.date] = field(default_factory=dict)
    #: the trace's conclusions grouped by type, when the builder has them at hand (else
    #: made on first use); not a field of the result
    conclusions: InitVar[_Conclusions | None] = None

    def __post_init__(self, conclusions: _Conclusions | None) -> None:
        if conclusions is not None:
            self.__dict__["_conclusions"] = conclusions  # the cached property, filled

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The decision graph as a ``networkx.DiGraph`` (built on first use)."""
        return self.light.to_networkx()

    @cached_property
    def _conclusions(self) -> _Conclusions:
        return _Conclusions(self.trace, self.kb)

    @property
    def client(self) -> str:
        return self.case.name

    @property
    def reason_rule(self) -> str | None:
        """The rule whose conclusion became the decision (the one-line reason)."""
        if self.decision_node is None:
            return None
        preds = sorted(self.light.predecessors(self.decision_node))
        cands = [p for p in preds if self.light.nodes[p]["fact"] ==
                 self.kb.outputs["decision"]["candidate"]]
        return str(self.light.nodes[cands[0]]["rule"]) if cands else None

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The assessment JSON (``partways schema assessment``, docs/CASE_FORMAT.md)."""
        return self._data(lang, copy=True)

    def _data(self, lang: str, *, copy: bool) -> dict[str, Any]:
        """:meth:`to_dict`; ``copy=False`` shares the graph's dicts (to be serialised)."""
        kb = self.kb
        out = kb.outputs
        dconcept = kb.concept(out["decision"]["concept"], self.decision)

        outputs = _outputs(kb)

        def titles(kind: str) -> Callable[[str], str]:
            """The title of a concept of ``kind`` by key, remembered per KB and language."""
            known = outputs.titles_in(lang, kind)

            def title(key: str) -> str:
                hit = known.get(key)
                if hit is None:
                    c = kb.concept(kind, key)
                    hit = known[key] = kb.text(c.title, lang) if c else key
                return hit
            return title

        reason = self.reason_rule
        reason_rule = kb.rule(reason) if reason else None
        plan: dict[str, Any] | None = None
        # each entry built in its keys' order, an optional key set where it belongs
        if self.plan is not None:
            title = titles(out["plan_steps"]["concept"])
            steps = []
            for p in self.plan.steps:
                entry = {"id": p.id, "guidance": list(p.guidance), "date": p.date.isoformat()}
                if p.subject:
                    entry["subject"] = p.subject
                entry["title"] = title(p.id)
                steps.append(entry)
            plan = {"notify_on": _iso(self.plan.notify_on), "end_on": _iso(self.plan.end_on),
                    "steps": steps}
        title = titles(out["findings"][0]["concept"])
        signals = []
        for f in self.signals:
            entry = {"id": f.id, "guidance": list(f.guidance), "severity": f.severity}
            if f.status:
                entry["status"] = f.status
            entry["evidence"] = list(f.evidence)
            entry["title"] = title(f.id)
            signals.append(entry)
        title = titles(out["steps"]["concept"])
        next_steps = []
        for n in self.next_steps:
            entry = {"id": n.id, "guidance": list(n.guidance)}
            if n.signals:
                entry["signals"] = list(n.signals)
            if n.status:
                entry["status"] = n.status
            entry["title"] = title(n.id)
            next_steps.append(entry)
        return {
            out["subject"]["key"]: self.client,
            "as_of": self.case.as_of.isoformat(),
            "decision": self.decision,
            "decision_title": kb.text(dconcept.title, lang) if dconcept else self.decision,
            "reason": None if reason_rule is None else {
                "rule": reason_rule.id, "guidance": list(reason_rule.guidance),
                "text": kb.text(reason_rule.title, lang)},
            "signals": signals,
            "next_steps": next_steps,
            "plan": plan,
            **({"repairs": self.repairs()} if "repairs" in out else {}),
            **({"uncounted": self.uncounted()} if "uncounted" in out else {}),
            # (serialised with sorted keys, the parameters need no sorted copy)
            "parameters": dict(sorted(self.trace.params.items())) if copy else self.trace.params,
            "lang": lang,
            "graph": node_link(self.light, copy=copy),
            **stamp(kb, self.case),
        }

    def repairs(self) -> list[dict[str, Any]]:
        """The remediation layer as the manifest's ``outputs.repairs`` lists it: one entry
        per concluded fact of each listed type, with its ``node`` id in the graph."""
        rows = []
        for spec in self.kb.outputs.get("repairs", ()):
            kind, fields = spec["fact"], spec["fields"]
            for f in self._conclusions(kind):
                row = {"kind": kind, "node": f["id"]}
                for k in fields:
                    if k in f:
                        row[k] = f[k]
                rows.append(row)
        return sorted(rows, key=lambda r: (str(r.get("signal", "")), r["kind"], r["node"]))

    def uncounted(self) -> list[dict[str, Any]]:
        """Evidence the manifest's ``outputs.uncounted`` fact reports as not counted, one
        entry per kind of evidence (its label field and value) with how many there are."""
        spec = self.kb.outputs.get("uncounted")
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        layers = _layers(spec)
        for f in self._conclusions(spec["fact"]) if spec else ():
            extra = {k: v for k, v in f.items() if k not in ("fact", "id", "count")}
            for ev in self.light.ancestors_in(f["id"], layers):
                node = self.light.nodes[ev]
                ft = self.kb.fact_types.get(node["fact"])
                field_name = ft.label_field if ft and ft.label_field else "fact"
                key = (field_name, str(node.get(field_name, node["fact"])))
                row = rows.setdefault(key, {**extra, field_name: key[1], "count": 0})
                row["count"] += 1
        return [rows[k] for k in sorted(rows)]

    def why(self, node: str | None = None) -> Why:
        """How ``node`` (default: the decision) was concluded; see :func:`partways.explain.why`."""
        from .explain import why

        return why(self, node)

    def why_not(self, target: str, *, depth: int = 4) -> WhyNot:
        """Why ``target`` was not concluded; see :func:`partways.explain.why_not`."""
        from .explain import why_not

        return why_not(self, target, depth=depth)

    def to_json(self, lang: str = "en") -> str:
        """Byte-stable JSON (sorted keys, fixed separators, UTF-8 text kept)."""
        return dumps_sorted(self._data(lang, copy=False)) + "\n"


_FACT_ID = itemgetter("id")


class _Outputs:
    """What results read of a KB's ``outputs``, prepared once per KB (a KB is immutable
    once loaded): the fact types they read, and the concept titles per language and
    kind by key, filled as results ask for them."""

    __slots__ = ("derived", "titles", "types")

    def __init__(self, kb: KnowledgeBase) -> None:
        out = kb.outputs
        specs = [out["decision"], *out["findings"], out["steps"], *out["milestones"],
                 out["plan_steps"], *out.get("repairs", ()),
                 *([out["uncounted"]] if out.get("uncounted") else [])]
        self.types = tuple(dict.fromkeys(s["fact"] for s in specs))
        # every type read is concluded by rules (none comes from the case or a table)
        self.derived = all((ft := kb.fact_types.get(t)) is not None and ft.derived
                           and not ft.table for t in self.types)
        self.titles: dict[tuple[str, str], dict[str, str]] = {}

    def titles_in(self, lang: str, kind: str) -> dict[str, str]:
        """The titles in ``lang`` of the concepts of ``kind`` found so far, by key."""
        found = self.titles.get((lang, kind))
        if found is None:
            found = self.titles[lang, kind] = {}
        return found


_OUTPUTS: dict[int, tuple[KnowledgeBase, _Outputs]] = {}


def _outputs(kb: KnowledgeBase) -> _Outputs:
    """The KB's :class:`_Outputs` (made on first use)."""
    return per_kb(_OUTPUTS, kb, _Outputs)


class _Conclusions:
    """``trace.conclusions`` as a callable, from the trace's facts grouped by type once
    (a result reads a dozen types: one pass over the facts instead of one per type), for
    the types the KB's ``outputs`` read; each type's list sorted on first use.

    When every type read is a derived one, only the nodes of the decision graph ``light``
    are looked at: a derived fact enters a trace only as the conclusion of a firing, and
    every conclusion is a node (the case's facts and the table rows are skipped)."""

    __slots__ = ("groups", "sorted")

    def __init__(self, trace: Trace, kb: KnowledgeBase, light: LightGraph | None = None
                 ) -> None:
        outputs = _outputs(kb)
        groups: dict[str, list[dict[str, Any]]] = {t: [] for t in outputs.types}
        get = groups.get
        facts = trace.facts
        if light is not None and outputs.derived:
            for nid, node in light.nodes.items():
                found = get(node.get("fact", ""))  # a bare node (no fact) is no conclusion
                if found is not None:
                    found.append(facts[nid])
        else:
            for f in facts.values():
                found = get(f["fact"])
                if found is not None:
                    found.append(f)
        self.groups = groups
        self.sorted: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, fact_type: str) -> list[dict[str, Any]]:
        done = self.sorted.get(fact_type)
        if done is None:
            done = self.sorted[fact_type] = sorted(self.groups[fact_type], key=_FACT_ID)
        return done


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def build(program: Program, case: Case, trace: Trace) -> Assessment:
    """Read the KB's outputs off a finished trace."""
    kb = program.kb
    out = kb.outputs
    g = light_graph(kb, trace)
    conclusions = _Conclusions(trace, kb, g)

    dec = out["decision"]
    decided = conclusions(dec["fact"])
    values = sorted({f[dec["field"]] for f in decided})
    if len(values) > 1:
        raise InferenceError(f"the knowledge base concluded conflicting decisions: "
                             f"{', '.join(values)}")
    decision = values[0] if values else dec["default"]
    decision_node = decided[0]["id"] if decided else None

    findings: dict[str, Finding] = {}
    for spec in out["findings"]:
        for f in conclusions(spec["fact"]):
            key = f[spec["key"]]
            concept = kb.concept(spec["concept"], key)
            evidence = tuple(g.ancestors_in(f["id"], _layers(spec)))
            prev = findings.get(key)
            sev = f.get("severity", "minor")
            if prev is not None:
                sev = max(prev.severity, sev, key=lambda s: SEVERITY_ORDER.get(s, 0))
                evidence = tuple(sorted(set(prev.evidence) | set(evidence)))
            findings[key] = Finding(key, sev, concept.guidance if concept else (), evidence,
                                    tuple(sorted({*prev.nodes, f["id"]})) if prev else
                                    (f["id"],), spec.get("status"))
    signals = tuple(sorted(findings.values(),
                           key=lambda s: (-SEVERITY_ORDER.get(s.severity, 0), s.id)))

    steps: dict[str, dict[str, Any]] = {}
    sspec = out["steps"]
    for f in conclusions(sspec["fact"]):
        key = f[sspec["key"]]
        entry = steps.setdefault(key, {"signals": set(), "order": f.get("order", 99),
                                       "status": set(), "nodes": set()})
        if f.get("signal"):
            entry["signals"].add(f["signal"])
        if f.get("status"):
            entry["status"].add(f["status"])
        entry["order"] = min(entry["order"], f.get("order", 99))
        entry["nodes"].add(f["id"])
    next_steps = tuple(
        Step(k, (c.guidance if (c := kb.concept(sspec["concept"], k)) else ()),
             tuple(sorted(v["signals"])), "/".join(sorted(v["status"])) or None,
             tuple(sorted(v["nodes"])))
        for k, v in sorted(steps.items(), key=lambda kv: (kv[1]["order"], kv[0])))

    milestones: dict[str, dt.date] = {}
    best: dict[str, tuple[int, int]] = {}
    for mspec in out["milestones"]:
        for f in conclusions(mspec["fact"]):
            key, rank_off = f[mspec["key"]], (f.get("rank", 0), f.get("offset", 0))
            if key not in best or rank_off > best[key]:
                best[key] = rank_off
    for key, (_rank, offset) in best.items():
        milestones[key] = case.as_of + dt.timedelta(days=offset)

    plan = None
    if decision in dec["plan_for"]:
        pspec = out["plan_steps"]
        items: dict[tuple[str, str | None], PlanStep] = {}
        for f in conclusions(pspec["fact"]):
            anchor = f.get("anchor", "as_of")
            base = case.as_of if anchor == "as_of" else milestones.get(anchor, case.as_of)
            date = base + dt.timedelta(days=int(f.get("offset", 0)))
            key = (f[pspec["key"]], f.get("subject"))
            c = kb.concept(pspec["concept"], key[0])
            seen = items.get(key)
            nodes = tuple(sorted({*seen.nodes, f["id"]})) if seen else (f["id"],)
            items[key] = PlanStep(key[0], c.guidance if c else (), min(date, seen.date)
                                  if seen else date, key[1], nodes)
        order = {f[pspec["key"]]: f.get("order", 99) for f in conclusions(pspec["fact"])}
        steps_sorted = sorted(items.values(),
                              key=lambda s: (s.date, order.get(s.id, 99), s.id, s.subject or ""))
        plan = Plan(milestones.get("notify"), milestones.get("end"), tuple(steps_sorted))
    return Assessment(kb, case, program, trace, g, decision, decision_node, signals, next_steps,
                      plan, milestones, conclusions)
