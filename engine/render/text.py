"""Text rendering of an assessment for a person, in the KB's languages.

Rendering reads the assessment and the KB's texts; it computes nothing.
"""

from __future__ import annotations

from typing import Any

from ..assessment import Assessment
from ..knowledge import Concept, KnowledgeBase
from .lang import decision_text, display_width, for_kb, guidance_refs, ids_shown, is_iso_date
from .rulegraph import value_title

__all__ = ["describe_fact", "guidance_refs", "isolate", "render_text", "repair_records"]

_DETAIL_SKIP = {"fact", "id", "index", "type", "date", "date_age", "note", "ref", "layer",
                "label", "rule"}


def isolate(kb: KnowledgeBase, text: str, lang: str) -> str:
    """``text`` wrapped in Unicode isolates inside right-to-left output, so a note or a name
    in another script keeps its own direction without reordering the line around it."""
    return for_kb(kb, lang).isolate(text)


def describe_fact(kb: KnowledgeBase, fact: dict[str, Any], lang: str) -> str:
    """One line for an evidence fact: date, what it is, its details and note."""
    ui = kb.ui_text
    lx = for_kb(kb, lang)
    ftype = fact.get("fact", "")
    what = ui(f"event_{fact.get('type')}", lang) if ftype == "event" else ui(ftype, lang)
    details = []
    ft = kb.fact_types.get(ftype)
    for key, value in fact.items():
        if key in _DETAIL_SKIP or key.endswith("_age"):
            continue
        spec = ft.fields.get(key) if ft else None
        if spec is not None and spec.default is not None and value == spec.default:
            continue
        if isinstance(value, bool):
            value = ui(f"value_{str(value).lower()}", lang)  # yes / no in the reader's words
        elif isinstance(value, str) and f"value_{value}" in kb.ui and (
                spec is None or not spec.enum or value in spec.enum):
            value = ui(f"value_{value}", lang)
        elif isinstance(value, str) and spec is not None and spec.enum \
                and (concept := _concept_title(kb, value, lang)) is not None:
            value = concept  # a step or signal named by its key: its title
        elif isinstance(value, str) and is_iso_date(value):
            value = lx.date(value, inner=True)  # inside the details' brackets
        elif isinstance(value, str):
            value = lx.isolate(value)
        elif isinstance(value, (int, float)):
            value = lx.num(value)
        name = ui(f"field_{key}", lang) if f"field_{key}" in kb.ui else key
        details.append(f"{name}: {value}")
    date = lx.date(fact["date"]) if fact.get("date") else ""
    line = " ".join(x for x in [date, what] if x)
    if details:
        line += " (" + lx.join(details) + ")"
    if fact.get("note"):
        line += f" — {lx.quote(fact['note'])}"
    if fact.get("ref"):
        line += f" {lx.bracket(lx.isolate(str(fact['ref'])))}"
    return line


def _concept_title(kb: KnowledgeBase, key: str, lang: str) -> str | None:
    for items in kb.concepts.values():
        if key in items:
            return kb.text(items[key].title, lang)
    return None


def finding_evidence(a: Assessment, lang: str
                     ) -> list[tuple[Any, Concept | None, str, list[dict[str, Any]],
                                     list[tuple[str, int]]]]:
    """Each finding with its concept and title, the evidence it shows first (``fresh``)
    and, for records an earlier finding already listed, that finding's title and how many
    (``shared``): one record may support two red flags when their signs differ (slow
    replies are both late replies and communication that has not improved), and it is
    listed once."""
    kb = a.kb
    fconcept = kb.findings_concept()
    first: dict[str, str] = {}
    out = []
    for s in a.signals:
        c = kb.concept(fconcept, s.id)
        title = kb.text(c.title, lang) if c else s.id
        fresh: list[dict[str, Any]] = []
        shared: dict[str, int] = {}
        for ev in s.evidence:
            fact = a.trace.facts.get(ev)
            if fact is None:
                continue
            if ev in first and first[ev] != title:
                shared[first[ev]] = shared.get(first[ev], 0) + 1
                continue
            first.setdefault(ev, title)
            fresh.append(fact)
        out.append((s, c, title, fresh, list(shared.items())))
    return out


def repair_records(a: Assessment, lang: str) -> list[tuple[str, list[str]]]:
    """Every record of the repair layer in the case (the layer of the manifest's
    ``outputs.repairs`` facts that name a ``record``), by date: the line describing it and
    a line per way it was judged (the judging fact's label, in its enum's order) naming
    the findings it was judged against. A record judged against nothing (no finding it
    fits, or a step that is done by being recorded) has no such line."""
    kb = a.kb
    specs = {spec["fact"]: spec for spec in kb.outputs.get("repairs", ()) if spec.get("record")}
    if not specs:
        return []
    lx = for_kb(kb, lang)
    layers = {kb.fact_types[fact].layer for fact in specs}
    rank = {s.id: i for i, s in enumerate(a.signals)}
    # record id -> (the label's place in its enum, the judging fact, the label) -> findings
    judged: dict[str, dict[tuple[int, str, str], set[str]]] = {}
    for row in a.repairs():
        spec = specs.get(row["kind"])
        if spec is None or row.get(spec["record"]) is None:
            continue
        ft = kb.fact_types[spec["fact"]]
        label = ft.fields.get(ft.label_field or "")
        value = str(row.get(ft.label_field or "", ""))
        enum = list(label.enum or ()) if label is not None else []
        place = enum.index(value) if value in enum else len(enum)
        judged.setdefault(str(row[spec["record"]]), {}).setdefault(
            (place, spec["fact"], value), set()).add(str(row.get(spec.get("finding", ""), "")))
    fconcept = kb.findings_concept()
    records = sorted((f for f in a.trace.facts.values()
                      if (rt := kb.fact_types.get(f.get("fact", ""))) is not None
                      and rt.layer in layers and not rt.derived and not rt.table),
                     key=lambda f: (str(f.get("date", "")), f.get("index", 0), str(f["id"])))
    out = []
    for fact in records:
        lines = []
        for (_place, ftype, value), keys in sorted(judged.get(str(fact["id"]), {}).items()):
            found = sorted(filter(None, keys), key=lambda k: (rank.get(k, len(rank)), k))
            lines.append(lx.format(
                kb.ui_text("repair_judged", lang), effect=value_title(kb, ftype, value, lang),
                flags=lx.join(lx.quote(_title(kb, fconcept, k, lang)) for k in found)))
        out.append((describe_fact(kb, fact, lang), lines))
    return out


def render_text(a: Assessment, lang: str = "en") -> str:
    """The assessment as readable text in ``lang``."""
    kb = a.kb
    lx = for_kb(kb, lang)
    ui = kb.ui_text
    out = kb.outputs
    ids = ids_shown(lang)
    lines: list[str] = []
    name = kb.text(kb.title, lang) if kb.title else kb.name
    lines.append(f"{name} — {lx.isolate(a.client)} — {ui('as_of', lang)} "
                 f"{lx.date(a.case.as_of)}")
    dconcept = kb.concept(out["decision"]["concept"], a.decision)
    lines.append(f"{ui('decision', lang)}: {decision_text(kb, a.decision, lang)}")
    if dconcept and dconcept.advice:
        lines.append(f"  {kb.text(dconcept.advice, lang)}")
    if a.reason_rule:
        rule = kb.rule(a.reason_rule)
        cite = lx.join(rule.guidance)
        lines.append(f"{ui('reason', lang)}: {kb.text(rule.title, lang)} "
                     + (f"[{rule.id}; {cite}]" if ids else f"({cite})"))
    lines.append("")
    lines.append(f"{ui('signals', lang)}:")
    if not a.signals:
        lines.append(f"  {ui('no_signals', lang)}")
    fconcept = kb.findings_concept()
    for s, _c, title, fresh, shared in finding_evidence(a, lang):
        sev = lx.bracket(ui(f"severity_{s.severity}", lang))
        status = f" {lx.bracket(ui(f'status_{s.status}', lang))}" \
            if s.status and s.status != "active" else ""
        ident = ""  # the title says it; the id is in the JSON (no raw ids in text)
        lines.append(f"  • {sev}{status} {title}{ident} ({lx.join(s.guidance)})")
        for fact in fresh:
            lines.append(f"      {describe_fact(kb, fact, lang)}")
        for earlier, n in shared:
            lines.append(f"      {lx.format(ui('evidence_shared', lang), n=n, flag=earlier)}")
    records = repair_records(a, lang)
    if records:
        lines.append("")
        lines.append(f"{ui('repairs_tried', lang)}:")
    for record, judged in records:
        lines.append(f"  {record}")
        lines.extend(f"      {line}" for line in judged)
    lines.append("")
    lines.append(f"{ui('next_steps', lang)}:")
    if not a.next_steps:
        lines.append(f"  {ui('none', lang)}")
    sconcept = out["steps"]["concept"]
    for i, st in enumerate(a.next_steps, 1):
        c = kb.concept(sconcept, st.id)
        title = kb.text(c.title, lang) if c else st.id
        extra = ""
        if st.signals:
            names = [st_title for sid in st.signals
                     for st_title in [_title(kb, fconcept, sid, lang)]]
            extra = f" — {lx.join(names)}"
        status = f" {lx.bracket(ui(f'status_{st.status}', lang))}" \
            if st.status and st.status != "untried" and f"status_{st.status}" in kb.ui else ""
        lines.append(f"  {lx.num(i)}. {title}{status}{extra}")
        lines.append(f"     {ui('guidance', lang)}: {guidance_refs(kb, st.guidance, lang)}")
        if c and c.advice:
            lines.append(f"     {kb.text(c.advice, lang)}")
    if a.plan is not None:
        lines.append("")
        notify = lx.date(a.plan.notify_on) if a.plan.notify_on else "—"
        end = lx.date(a.plan.end_on) if a.plan.end_on else "—"
        lines.append(f"{ui('plan', lang)}: {ui('notify_on', lang)} {notify} · "
                     f"{ui('end_on', lang)} {end}")
        pconcept = out["plan_steps"]["concept"]
        width = max((display_width(lx.date(ps.date)) for ps in a.plan.steps), default=0)
        for ps in a.plan.steps:
            title = _title(kb, pconcept, ps.id, lang)
            subject = f": {lx.isolate(ps.subject)}" if ps.subject else ""
            lines.append(f"  {lx.pad(lx.date(ps.date), width)}  {title}{subject} "
                         f"({lx.join(ps.guidance)})")
    return "\n".join(lines) + "\n"


def _title(kb: KnowledgeBase, kind: str, key: str, lang: str) -> str:
    c = kb.concept(kind, key)
    return kb.text(c.title, lang) if c else key
