"""One self-contained HTML report of an assessment: decision, signals, repairs tried, next
steps, dated plan, the explanation and the decision graph (inline SVG). No scripts, no
network.

Rendering reads the assessment and the KB's texts; it computes nothing. Every text comes
from the KB (concepts, rules, ``report_*`` UI strings), so the report speaks the chosen
language, right to left for the KB's ``rtl`` languages.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..assessment import Assessment
from ..errors import PartwaysError
from .diagram import GraphTooLarge, GraphvizMissing, case_view, inline_svg
from .explain import why_outline, why_summary
from .lang import for_kb, guidance_refs, ids_shown, param_title, param_value
from .text import describe_fact, finding_evidence, repair_records


@dataclass(frozen=True)
class _Node:
    """One line of the explanation outline, with the lines it rests on."""

    title: str
    children: list[_Node]


def render_html(a: Assessment, lang: str = "en", *, graph: bool = True) -> str:
    """The assessment as one HTML document in ``lang`` (a string, UTF-8 when written).

    ``graph`` embeds the decision graph as inline SVG; without Graphviz ``dot`` the
    report says so instead of failing.

    Examples
    --------
    >>> import partways
    >>> from partways.report import render_html
    >>> a = partways.assess_data({"client": "X", "as_of": "2026-01-01"})  # doctest: +SKIP
    >>> render_html(a).startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    import jinja2  # optional at import time: only the report needs it

    kb = a.kb
    lx = for_kb(kb, lang)
    data = a.to_dict(lang)
    svg, svg_missing, svg_why = "", "", "report_graph_missing"
    if graph:
        try:
            svg = inline_svg(case_view(a, lang))
        except PartwaysError as err:
            svg_missing = str(err)
            # the explanation above says the same in words; say why there is no drawing
            svg_why = "report_graph_too_large" if isinstance(err, GraphTooLarge) else \
                "report_graph_missing" if isinstance(err, GraphvizMissing) else \
                "report_graph_failed"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = env.from_string(_TEMPLATE)
    fconcept = kb.findings_concept()
    signals = []
    for s, c, title, fresh, shared in finding_evidence(a, lang):
        signals.append({
            "id": s.id, "severity": s.severity,
            "severity_text": kb.ui_text(f"severity_{s.severity}", lang),
            "title": title,
            "advice": kb.text(c.advice, lang) if c and c.advice else "",
            "guidance": guidance_refs(kb, s.guidance, lang),
            "evidence": [describe_fact(kb, f, lang) for f in fresh]
            + [lx.format(kb.ui_text("evidence_shared", lang), n=n, flag=flag)
               for flag, n in shared]})
    repairs = [{"record": record, "judged": judged}
               for record, judged in repair_records(a, lang)]
    sconcept = kb.outputs["steps"]["concept"]
    steps = []
    for st in a.next_steps:
        c = kb.concept(sconcept, st.id)
        steps.append({"id": st.id, "title": kb.text(c.title, lang) if c else st.id,
                      "advice": kb.text(c.advice, lang) if c and c.advice else "",
                      "status": kb.ui_text(f"status_{st.status}", lang)
                      if st.status and f"status_{st.status}" in kb.ui else "",
                      "signals": lx.join(kb.text(fc.title, lang) if (fc := kb.concept(
                          fconcept, sig)) else sig for sig in st.signals),
                      "guidance": guidance_refs(kb, st.guidance, lang)})
    plan = None
    if data["plan"] is not None:
        plan = {"notify_on": lx.date(data["plan"]["notify_on"]),
                "end_on": lx.date(data["plan"]["end_on"]),
                "steps": [{**s, "date": lx.date(s["date"]), "guidance": lx.join(s["guidance"])}
                          for s in data["plan"]["steps"]]}
    params = []
    for name, value in sorted(data["parameters"].items()):
        spec = kb.parameters.get(name)
        params.append({"name": name, "title": param_title(kb, name, lang),
                       "value": param_value(kb, name, value, lang),
                       "meaning": kb.text(spec.rationale, lang) if spec is not None else ""})
    dconcept = kb.concept(kb.outputs["decision"]["concept"], a.decision)
    summary, explanation = _explanation(a, lang)
    html = template.render(
        lang=lang, dir="rtl" if lang in kb.rtl else "ltr",
        t=lambda key: kb.ui_text(key, lang),
        kb_title=kb.text(kb.title, lang) if kb.title else kb.name,
        kb_name=kb.name, kb_version=lx.num(int(kb.version)) if str(kb.version).isdigit()
        else kb.version, ids=ids_shown(lang), sep=lx.sep,
        client=a.client, as_of=lx.date(a.case.as_of), decision=a.decision,
        ending=a.decision in kb.outputs["decision"]["plan_for"],
        decision_title=data["decision_title"],
        decision_advice=kb.text(dconcept.advice, lang) if dconcept and dconcept.advice else "",
        reason=data["reason"], signals=signals, repairs=repairs, steps=steps, plan=plan,
        explanation=explanation, summary=summary, svg=svg, svg_missing=svg_missing,
        svg_why=svg_why, params=params, ol_style=lx.list_style)
    return str(html)


def _explanation(a: Assessment, lang: str) -> tuple[list[str], list[_Node]]:
    """The summary and the outline of :func:`partways.explain.why` (the same sentences as
    ``partways why``) as template nodes."""
    answer = a.why()
    outline = why_outline(a.kb, answer, lang)
    root: list[_Node] = []
    stack: list[tuple[int, list[_Node]]] = [(-1, root)]
    for depth, text in outline:
        while stack[-1][0] >= depth:
            stack.pop()
        node = _Node(text, [])
        stack[-1][1].append(node)
        stack.append((depth, node.children))
    return why_summary(a.kb, answer, lang), root


_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}" dir="{{ dir }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="partways">
<title>{{ client }} — {{ t('report_title') }}</title>
<style>
:root { --ink: #1d2733; --muted: #5b6b7b; --line: #d5dce3; --accent: #2c5d8f; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Noto Naskh Arabic", "Noto Sans Arabic", "Segoe UI",
       Tahoma, sans-serif; color: var(--ink); line-height: 1.5; margin: 0 auto;
       max-width: 60rem; padding: 1.5rem; }
header { border-block-end: 2px solid var(--accent); margin-block-end: 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; border-block-end: 1px solid var(--line); padding-block-end: .2rem;
     margin-block: 1.5rem .6rem; }
.meta, .note, .ids { color: var(--muted); font-size: .85rem; }
.ids { font-family: ui-monospace, "Noto Sans Mono", monospace; direction: ltr;
       unicode-bidi: isolate; }
/* in Arabic and Persian the citations hold words of the language: they read right to left */
[dir="rtl"] .ids { font-family: inherit; direction: rtl; }
.decision { border: 2px solid var(--accent); border-radius: .4rem; padding: .8rem 1rem; }
.decision .value { font-size: 1.4rem; font-weight: 700; }
.decision.ending { border-color: #b03a2e; }  /* the KB's decisions that carry an exit plan */
.sev { display: inline-block; border-radius: .3rem; padding: 0 .4rem; font-size: .8rem;
       border: 1px solid var(--line); }
.sev.critical { background: #fbe3e0; border-color: #b03a2e; }
.sev.serious { background: #fdf0d8; border-color: #c08a1e; }
ul, ol { padding-inline-start: 1.4rem; }
ol { list-style-type: {{ ol_style }}; }  /* numbered in the language's digits */
li { margin-block: .25rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-block-end: 1px solid var(--line); padding: .3rem .5rem; text-align: start;
         vertical-align: top; }
.tree ul { list-style: none; padding-inline-start: 1.1rem;
           border-inline-start: 1px dotted var(--line); }
.tree > ul { border: 0; padding-inline-start: 0; }
/* the graph at its natural size (text as large as the page's small print), scrolled
   inside its frame. Graphviz drew it in the reading direction (right to left in Arabic
   and Persian, evidence on the right): the frame takes the page's direction, so it opens
   on the evidence; the drawing's own text is placed left to right, as Graphviz measured
   it (Arabic and Persian labels still read right to left inside their boxes) */
.graph .frame { overflow: auto; max-height: 85vh;
                border: 1px solid var(--line); border-radius: .3rem; }
.graph svg { max-width: none; height: auto; display: block; direction: ltr; }
footer { margin-block-start: 2rem; color: var(--muted); font-size: .8rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  section { break-inside: avoid-page; }
  .graph { overflow: visible; break-before: page; }
  .graph .frame { overflow: visible; max-height: none; border: 0; }
  .graph svg { width: 100%; }
  a { color: inherit; text-decoration: none; }
}
@page { margin: 15mm; }
</style>
</head>
<body>
<header>
  <h1 id="client">{{ client }}</h1>
  <p class="meta">{{ kb_title }} · {{ t('report_as_of') }} <bdi>{{ as_of }}</bdi></p>
</header>

<section id="decision" class="decision{{ ' ending' if ending }}">
  <div class="meta">{{ t('report_decision') }}</div>
  <div class="value">{{ decision_title }}
    {% if ids %}<span class="ids">({{ decision }})</span>{% endif %}</div>
  {% if decision_advice %}<p>{{ decision_advice }}</p>{% endif %}
  {% if reason %}
  <p><strong>{{ t('report_reason') }}:</strong> {{ reason.text }}
     <span class="ids">[{% if ids %}{{ reason.rule }}; {% endif %}
       {{- reason.guidance | join(sep) }}]</span></p>
  {% endif %}
</section>

<section id="signals">
  <h2>{{ t('report_signals') }}</h2>
  {% if signals %}
  <ul>
  {% for s in signals %}
    <li><span class="sev {{ s.severity }}">{{ s.severity_text }}</span>
      <strong>{{ s.title }}</strong>
      <span class="ids">{% if ids %}{{ s.id }} · {% endif %}{{ s.guidance }}</span>
      {% if s.advice %}<div class="note">{{ s.advice }}</div>{% endif %}
      {% if s.evidence %}
      <ul>{% for e in s.evidence %}<li>{{ e }}</li>{% endfor %}</ul>
      {% endif %}
    </li>
  {% endfor %}
  </ul>
  {% else %}
  <p>{{ t('report_no_signals') }}</p>
  {% endif %}
</section>

{% if repairs %}
<section id="repairs">
  <h2>{{ t('repairs_tried') }}</h2>
  <ul>
  {% for r in repairs %}
    <li>{{ r.record }}
      {% if r.judged %}
      <ul>{% for j in r.judged %}<li>{{ j }}</li>{% endfor %}</ul>
      {% endif %}
    </li>
  {% endfor %}
  </ul>
</section>

{% endif %}
<section id="steps">
  <h2>{{ t('report_next_steps') }}</h2>
  {% if steps %}
  <ol>
  {% for s in steps %}
    <li><strong>{{ s.title }}</strong>
      {% if s.status %}<span class="sev">{{ s.status }}</span>{% endif %}
      {% if s.signals %}<span class="note">{{ s.signals }}</span>{% endif %}
      <span class="ids">{% if ids %}{{ s.id }} · {% endif %}{{ s.guidance }}</span>
      {% if s.advice %}<div class="note">{{ s.advice }}</div>{% endif %}
    </li>
  {% endfor %}
  </ol>
  {% else %}
  <p>{{ t('report_none') }}</p>
  {% endif %}
</section>

<section id="plan">
  <h2>{{ t('report_plan') }}</h2>
  {% if plan %}
  <p>{{ t('report_notify_on') }} <bdi>{{ plan.notify_on or '—' }}</bdi> ·
     {{ t('report_end_on') }} <bdi>{{ plan.end_on or '—' }}</bdi></p>
  <table>
    <thead><tr><th>{{ t('report_date') }}</th><th>{{ t('report_step') }}</th>
      <th>{{ t('report_guidance') }}</th></tr></thead>
    <tbody>
    {% for s in plan.steps %}
      <tr><td><bdi>{{ s.date }}</bdi></td>
        <td>{{ s.title }}{% if s.get('subject') %}: {{ s.subject }}{% endif %}</td>
        <td class="ids">{{ s.guidance }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p>{{ t('report_no_plan') }}</p>
  {% endif %}
</section>

<section id="explanation" class="tree">
  <h2>{{ t('report_explanation') }}</h2>
  {% macro tree(nodes) %}
  <ul>
  {% for n in nodes %}
    <li>{{ n.title }}
      {% if n.children %}{{ tree(n.children) }}{% endif %}
    </li>
  {% endfor %}
  </ul>
  {% endmacro %}
  {% for line in summary %}<p class="summary">{{ line }}</p>{% endfor %}
  {% if explanation %}
  {{ tree(explanation) }}
  {% else %}
  <p>{{ t('report_default_decision') }}</p>
  {% endif %}
</section>

<section id="graph" class="graph">
  <h2>{{ t('report_graph') }}</h2>
  {% if svg %}
  <div class="frame">{{ svg | safe }}</div>
  {% else %}
  <p class="note">{{ t(svg_why) }}</p>
  {% if svg_missing %}<p class="note ids">{{ svg_missing }}</p>{% endif %}
  {% endif %}
</section>

<section id="parameters">
  <h2>{{ t('report_parameters') }}</h2>
  <table class="params">
    <thead><tr><th>{{ t('report_param_title') }}</th><th>{{ t('report_param_value') }}</th>
      <th>{{ t('report_param_meaning') }}</th></tr></thead>
    <tbody>
    {% for p in params %}
      <tr><td>{{ p.title }}{% if ids %} <span class="ids">{{ p.name }}</span>{% endif %}</td>
        <td>{{ p.value }}</td>
        <td class="note">{{ p.meaning }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
</section>

<footer>{{ kb_title }} · {{ t('report_kb_version') }} {{ kb_version }}</footer>
</body>
</html>
"""
