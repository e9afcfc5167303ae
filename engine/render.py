"""Text rendering of an assessment for a person, in the KB's languages.

Rendering reads the assessment and the KB's texts; it computes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .assessment import Assessment
from .knowledge import KnowledgeBase

_DETAIL_SKIP = {"fact", "id", "index", "type", "date", "date_age", "note", "ref", "layer",
                "label", "rule"}


def guidance_refs(kb: KnowledgeBase, ids: Iterable[str]) -> str:
    """``SIG-01 (S1 reason 1; S2 reason 1)`` for each id."""
    parts = []
    for gid in ids:
        srcs = kb.guidance.get(gid, {}).get("sources", [])
        where = "; ".join(f"{s['id']} {s.get('section', '')}".strip() for s in srcs)
        parts.append(f"{gid} ({where})" if where else gid)
    return ", ".join(parts)


def isolate(kb: KnowledgeBase, text: str, lang: str) -> str:
    """``text`` wrapped in Unicode isolates inside right-to-left output, so a note or a name
    in another script keeps its own direction without reordering the line around it."""
    return f"\u2068{text}\u2069" if lang in kb.rtl else text


def describe_fact(kb: KnowledgeBase, fact: dict[str, Any], lang: str) -> str:
    """One line for an evidence fact: date, what it is, its details and note."""
    ui = kb.ui_text
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
            value = "✓" if value else "✗"
        elif isinstance(value, str) and spec is not None and spec.enum \
                and value in spec.enum and f"value_{value}" in kb.ui:
            value = ui(f"value_{value}", lang)
        elif isinstance(value, str) and spec is not None and spec.enum \
                and (concept := _concept_title(kb, value, lang)) is not None:
            value = concept  # a step or signal named by its key: its title
        elif isinstance(value, str):
            value = isolate(kb, value, lang)
        details.append(f"{ui(f'field_{key}', lang) if f'field_{key}' in kb.ui else key}: {value}")
    line = " ".join(x for x in [fact.get("date", ""), what] if x)
    if details:
        line += " (" + ", ".join(details) + ")"
    if fact.get("note"):
        line += f" — “{isolate(kb, fact['note'], lang)}”"
    if fact.get("ref"):
        line += f" [{fact['ref']}]"
    return line


def _concept_title(kb: KnowledgeBase, key: str, lang: str) -> str | None:
    for items in kb.concepts.values():
        if key in items:
            return kb.text(items[key].title, lang)
    return None


def render_text(a: Assessment, lang: str = "en") -> str:
    """The assessment as readable text in ``lang``."""
    kb = a.kb
    ui = kb.ui_text
    out = kb.outputs
    lines: list[str] = []
    lines.append(f"partways — {a.client} — {ui('as_of', lang)} {a.case.as_of.isoformat()}")
    dconcept = kb.concept(out["decision"]["concept"], a.decision)
    dtitle = kb.text(dconcept.title, lang) if dconcept else a.decision
    lines.append(f"{ui('decision', lang)}: {a.decision.upper()} — {dtitle}")
    if dconcept and dconcept.advice:
        lines.append(f"  {kb.text(dconcept.advice, lang)}")
    if a.reason_rule:
        rule = kb.rule(a.reason_rule)
        lines.append(f"{ui('reason', lang)}: {kb.text(rule.title, lang)} "
                     f"[{rule.id}; {', '.join(rule.guidance)}]")
    lines.append("")
    lines.append(f"{ui('signals', lang)}:")
    if not a.signals:
        lines.append(f"  {ui('no_signals', lang)}")
    fconcept = out["findings"][0]["concept"]
    for s in a.signals:
        c = kb.concept(fconcept, s.id)
        title = kb.text(c.title, lang) if c else s.id
        sev = ui(f"severity_{s.severity}", lang)
        status = f" · {ui(f'status_{s.status}', lang)}" if s.status and s.status != "active" \
            else ""
        lines.append(f"  • [{sev}]{status} {title} ({', '.join(s.guidance)})")
        for ev in s.evidence:
            fact = a.trace.facts.get(ev)
            if fact is not None:
                lines.append(f"      {describe_fact(kb, fact, lang)}")
    lines.append("")
    lines.append(f"{ui('next_steps', lang)}:")
    if not a.next_steps:
        lines.append(f"  {ui('none', lang)}")
    sconcept = out["steps"]["concept"]
    for i, st in enumerate(a.next_steps, 1):
        c = kb.concept(sconcept, st.id)
        title = kb.text(c.title, lang) if c else st.id
        flags = [kb.text(fc.title, lang) if (fc := kb.concept(fconcept, sig)) else sig
                 for sig in st.signals]
        extra = f" — {'; '.join(flags)}" if flags else ""
        status = f" [{st.status}]" if st.status and st.status != "untried" else ""
        lines.append(f"  {i}. {title}{status}{extra}")
        lines.append(f"     {ui('guidance', lang)}: {guidance_refs(kb, st.guidance)}")
        if c and c.advice:
            lines.append(f"     {kb.text(c.advice, lang)}")
    if a.plan is not None:
        lines.append("")
        notify = a.plan.notify_on.isoformat() if a.plan.notify_on else "—"
        end = a.plan.end_on.isoformat() if a.plan.end_on else "—"
        lines.append(f"{ui('plan', lang)}: {ui('notify_on', lang)} {notify} · "
                     f"{ui('end_on', lang)} {end}")
        pconcept = out["plan_steps"]["concept"]
        for ps in a.plan.steps:
            c = kb.concept(pconcept, ps.id)
            title = kb.text(c.title, lang) if c else ps.id
            subject = f": {ps.subject}" if ps.subject else ""
            lines.append(f"  {ps.date.isoformat()}  {title}{subject} ({', '.join(ps.guidance)})")
    return "\n".join(lines) + "\n"
