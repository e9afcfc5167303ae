"""Render an assessment's dated exit plan: a checklist (text, Markdown), JSON, iCalendar.

The plan itself (dates, steps, guidance ids) is computed by the KB's rules and read off the
trace by :mod:`partways.assessment`; this module only arranges it for a person or a
calendar. Titles and advice come from the KB: the plan-step concept when there is one,
else the rule that concluded the step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..assessment import Assessment
from ..errors import QueryError
from ..knowledge import KnowledgeBase
from .lang import Lang, decision_text, display_width, for_kb

FORMATS = ("text", "json", "md", "ics")

# The calendar's identity; stable so re-imports update events instead of duplicating them.
PRODID = "-//partways//exit plan//EN"


@dataclass(frozen=True)
class PlanItem:
    """One dated line of the checklist: a plan step, or a milestone (notify, end)."""

    id: str
    date: dt.date
    title: str
    advice: str
    guidance: tuple[str, ...]
    subject: str | None = None
    rule: str | None = None
    milestone: bool = False


def plan_items(a: Assessment, lang: str = "en") -> list[PlanItem]:
    """The plan's steps and milestones in date order, with their texts in ``lang``.

    Returns ``[]`` when the decision carries no plan. Milestones sort before the steps
    of their day, in the order the KB's manifest lists them.
    """
    if a.plan is None:
        return []
    kb = a.kb
    say = for_kb(kb, lang)
    items: list[tuple[tuple[Any, ...], PlanItem]] = []
    # a.milestones follows the manifest's order (notify before end), kept within a day
    for rank, (name, day) in enumerate(a.milestones.items()):
        items.append(((day, 0, rank), PlanItem(
            name, day, _milestone_title(kb, name, lang), "", (), milestone=True)))
    concept_kind = kb.outputs["plan_steps"]["concept"]
    for pos, step in enumerate(a.plan.steps):
        concept = kb.concept(concept_kind, step.id)
        rule_id = _rule_of(a, step.nodes)
        rule = kb.rule(rule_id) if rule_id else None
        title = kb.text(concept.title, lang) if concept else (
            kb.text(rule.title, lang) if rule else step.id)
        advice = kb.text(concept.advice, lang) if concept and concept.advice else (
            kb.text(rule.description, lang) if rule else "")
        guidance = step.guidance or (rule.guidance if rule else ())
        # the step's own fields, and the plan's milestones by name (the day to tell the
        # client, the end date) for texts that name them
        fields = {**a.milestones, **_fields_of(a, step.nodes)}
        title, advice = fill(title, fields, say), fill(advice, fields, say)
        items.append(((step.date, 1, pos), PlanItem(
            step.id, step.date, title, " ".join(advice.split()), tuple(guidance),
            step.subject, rule_id)))
    return [item for _key, item in sorted(items, key=lambda kv: kv[0])]


_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def fill(text: str, fields: Mapping[str, Any], lang: Lang | None = None) -> str:
    """``text`` with each ``{field}`` replaced by that field of the concluded fact (the
    number the plan computed, e.g. a notice's ``{days}``; a date as the reader writes it);
    unknown names stay as written. With ``lang``, plural blocks (``{days, plural, one {#
    day} other {# days}}``) take the language's form for the number, select blocks
    (``{basis, select, term_end {...} other {...}}``) the form the value names, and numbers
    are written in the language's digits."""
    if lang is not None:
        text = lang.plural(text, **{k: v for k, v in fields.items()
                                    if isinstance(v, (int, float, str))
                                    and not isinstance(v, bool)})

    def shown(v: Any) -> str:
        if lang is None:
            return str(v)
        return lang.date(v) if isinstance(v, dt.date) else lang.num(v)

    return _FIELD.sub(lambda m: shown(fields[m.group(1)]) if m.group(1) in fields
                      else m.group(0), text)


def _fields_of(a: Assessment, nodes: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a plan step's facts (the first one's, for fields they share)."""
    out: dict[str, Any] = {}
    for node in reversed(nodes):
        out.update(a.trace.facts.get(node, {}))
    return out


def _milestone_title(kb: KnowledgeBase, name: str, lang: str) -> str:
    for spec in kb.outputs.get("milestones", ()):
        concept = kb.concept(spec.get("concept", ""), name)
        if concept is not None:
            return kb.text(concept.title, lang)
    return kb.ui_text(f"exit_milestone_{name}", lang)


def _rule_of(a: Assessment, nodes: tuple[str, ...]) -> str | None:
    rules = sorted(str(a.graph.nodes[n]["rule"]) for n in nodes
                   if n in a.graph and "rule" in a.graph.nodes[n])
    return rules[0] if rules else None


def span_days(a: Assessment) -> int | None:
    """Days between telling the client and the end (``None`` without both dates)."""
    if a.plan is None or a.plan.notify_on is None or a.plan.end_on is None:
        return None
    return (a.plan.end_on - a.plan.notify_on).days


def decision_line(a: Assessment, lang: str) -> str:
    """``Decision: TERMINATE — <title>`` in ``lang`` (the title alone outside English)."""
    kb = a.kb
    return f"{kb.ui_text('exit_decision', lang)}: {decision_text(kb, a.decision, lang)}"


def no_plan_message(a: Assessment, lang: str = "en", key: str = "exit_no_plan") -> str:
    """What to print when the decision carries no plan: the decision and ``key``'s text."""
    client = for_kb(a.kb, lang).isolate(a.client)
    return f"{client} — {decision_line(a, lang)}\n{a.kb.ui_text(key, lang)}\n"


def plan_dict(a: Assessment, lang: str = "en") -> dict[str, Any]:
    """The plan as JSON-ready data (``plan`` is ``None`` for a non-terminating decision)."""
    kb = a.kb
    plan: dict[str, Any] | None = None
    if a.plan is not None:
        items = plan_items(a, lang)
        plan = {
            "notify_on": _iso(a.plan.notify_on),
            "end_on": _iso(a.plan.end_on),
            "days": span_days(a),
            "steps": [
                {"id": i.id, "date": i.date.isoformat(), "guidance": list(i.guidance),
                 "title": i.title, "advice": i.advice, "rule": i.rule,
                 **({"subject": i.subject} if i.subject else {})}
                for i in items if not i.milestone],
            "milestones": [{"id": i.id, "date": i.date.isoformat(), "title": i.title}
                           for i in items if i.milestone],
        }
    return {kb.outputs["subject"]["key"]: a.client, "as_of": a.case.as_of.isoformat(),
            "decision": a.decision, "lang": lang, "plan": plan}


def render_plan(a: Assessment, fmt: str = "text", lang: str = "en") -> str:
    """The exit plan of ``a`` as ``text``, ``json``, ``md`` (Markdown) or ``ics``.

    A non-terminating decision gives the decision and "no exit plan" (text, md), a JSON
    document whose ``plan`` is null, and an empty string for ``ics`` (no calendar).
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown plan format '{fmt}' (one of {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps(plan_dict(a, lang), ensure_ascii=False, sort_keys=True,
                          indent=2) + "\n"
    if a.plan is None:
        return "" if fmt == "ics" else no_plan_message(a, lang)
    if fmt == "ics":
        return render_ics(a, lang)
    return _render_md(a, lang) if fmt == "md" else _render_text(a, lang)


def _header(a: Assessment, lang: str) -> tuple[str, str]:
    """The dates line: when to tell, when it ends, and the days between."""
    ui = a.kb.ui_text
    lx = for_kb(a.kb, lang)
    assert a.plan is not None
    notify = lx.date(a.plan.notify_on)
    end = lx.date(a.plan.end_on)
    days = span_days(a)
    span = lx.format(ui("exit_notice_days", lang), n=days) if days is not None else ""
    if span:  # after a date that already ends in brackets (the Gregorian date beside the
        # Solar Hijri one), a clause of its own rather than a second pair of brackets
        span = f"{lx.semi}{span}" if end.endswith(")") else f" ({span})"
    return (f"{ui('exit_notify_on', lang)}: {notify}",
            f"{ui('exit_end_on', lang)}: {end}{span}")


def _checklist(a: Assessment, lang: str, *, milestone: str, step: str, advice: str,
               escape: Callable[[str], str] = str, align: bool = False) -> list[str]:
    """The checklist lines, each item formatted by the given line patterns; ``align``
    pads the dates to one width, so the titles after them start in one column."""
    lines = []
    lx = for_kb(a.kb, lang)
    items = plan_items(a, lang)
    width = max((display_width(lx.date(i.date)) for i in items), default=0) if align else 0
    for item in items:
        fields = {"date": lx.pad(lx.date(item.date), width), "title": escape(item.title),
                  "subject": f": {lx.isolate(escape(item.subject))}" if item.subject else "",
                  "guidance": lx.join(item.guidance), "advice": escape(item.advice)}
        if item.milestone:
            lines.append(milestone.format(**fields))
            continue
        lines.append(step.format(**fields))
        if item.advice:
            lines.append(advice.format(**fields))
    return lines


def _render_text(a: Assessment, lang: str) -> str:
    ui = a.kb.ui_text
    lx = for_kb(a.kb, lang)
    lines = [f"{ui('exit_plan', lang)} — {lx.isolate(a.client)} — {ui('exit_as_of', lang)} "
             f"{lx.date(a.case.as_of)}", decision_line(a, lang), *_header(a, lang), "",
             f"{ui('exit_checklist', lang)}:"]
    lines += _checklist(a, lang, milestone="  ▶ {date}  {title}",
                        step="  [ ] {date}  {title}{subject} ({guidance})",
                        advice="      {advice}", align=True)
    return "\n".join(lines) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """Escape Markdown syntax in user text (client and deliverable names)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _render_md(a: Assessment, lang: str) -> str:
    ui = a.kb.ui_text
    lx = for_kb(a.kb, lang)
    notify, end = _header(a, lang)
    lines = [f"# {ui('exit_plan', lang)}: {lx.isolate(_md(a.client))}", "",
             f"*{ui('exit_as_of', lang)} {lx.date(a.case.as_of)}* · "
             f"**{_md(decision_line(a, lang))}**", "", f"- {notify}", f"- {end}", "",
             f"## {ui('exit_checklist', lang)}", ""]
    lines += _checklist(a, lang, milestone="- **{date} — {title}**",
                        step="- [ ] **{date}** — {title}{subject} ({guidance})",
                        advice="  {advice}", escape=_md)
    body = "\n".join(lines) + "\n"
    if lang in a.kb.rtl:
        # Markdown has no direction of its own; an HTML block sets it where HTML renders.
        body = f'<div dir="rtl">\n\n{body}\n</div>\n'
    return body


def event_uid(subject: str, step: str, date: dt.date, detail: str | None = None) -> str:
    """A stable UID from what identifies the item, so the same plan gives the same UIDs."""
    key = "\x1f".join([subject, step, detail or "", date.isoformat()])
    return f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@partways"


def render_ics(a: Assessment, lang: str = "en") -> str:
    """The plan as an iCalendar file: one all-day event per plan step and milestone.

    Byte-stable: UIDs come from client, step, subject and date, and DTSTAMP is the
    case's ``as_of`` (midnight UTC), never the wall clock. Lines end in CRLF.
    """
    from icalendar import Calendar, Event  # only this output needs it

    if a.plan is None:
        return ""
    ui = a.kb.ui_text
    lx = for_kb(a.kb, lang)
    stamp = dt.datetime.combine(a.case.as_of, dt.time(0, 0), tzinfo=dt.timezone.utc)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{ui('exit_plan', lang)}: {a.client}")
    for item in plan_items(a, lang):
        event = Event()
        event.add("uid", event_uid(a.client, item.id, item.date, item.subject))
        event.add("dtstamp", stamp)
        event.add("dtstart", item.date)
        event.add("dtend", item.date + dt.timedelta(days=1))  # all-day: DTEND exclusive
        subject = f": {lx.isolate(item.subject)}" if item.subject else ""
        event.add("summary", f"{item.title}{subject} — {lx.isolate(a.client)}")
        notes = [f"{lx.date(item.date)}"]
        if item.advice:
            notes.append(item.advice)
        if item.guidance:
            notes.append(f"{ui('exit_guidance', lang)}: {lx.join(item.guidance)}")
        if notes:
            event.add("description", "\n".join(notes))
        event.add("transp", "TRANSPARENT")  # a reminder, not a busy block
        cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
