"""A client book as a person reads it: the table of ``partways batch`` (one row a case)
and its summary, in the chosen language, through the one language module (digits, plural
forms, percent sign, separators, isolates). English output keeps the engine ids (decision
values, red-flag names) in its columns; Arabic and Persian show their titles."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..portfolio import portfolio_spec
from .lang import Lang, display_width, fit_width, for_kb, ids_shown, ui

if TYPE_CHECKING:
    from ..batch import Summary
    from ..knowledge import KnowledgeBase

CLIENT_WIDTH = 28
CLIENT_MIN = 16  # the client column's narrowest, on a narrow terminal
SIGNS_MIN = 24  # the warning signs' column the client column narrows for


def _title(kb: KnowledgeBase, kind: str, key: str, lang: str) -> str:
    c = kb.concept(kind, key)
    return kb.text(c.title, lang) if c else key


def _decision(kb: KnowledgeBase, value: str, lang: str) -> str:
    """A decision in a table cell: its value in English, its title otherwise."""
    return value if ids_shown(lang) else _title(kb, kb.outputs["decision"]["concept"],
                                                 value, lang)


def _flag(kb: KnowledgeBase, name: str, lang: str) -> str:
    return name if ids_shown(lang) else _title(kb, kb.findings_concept(), name, lang)


def _cell(lx: Lang, text: str, width: int) -> str:
    """``text`` cut to ``width`` columns and padded to them; in a right-to-left language
    isolated, so a name in another script never moves the columns around it."""
    if display_width(text) > width:
        while text and display_width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return lx.isolate(text) + " " * (width - display_width(text))


def _wrapped(lx: Lang, text: str, width: int) -> list[str]:
    """``text`` over as many lines of ``width`` columns as it needs (broken between words,
    a word longer than a line cut into pieces), each line a padded cell."""
    return [_cell(lx, ln, width) for ln in textwrap.wrap(text, width) or [""]]


def _packed(lx: Lang, items: list[str], room: int) -> list[str]:
    """``items`` as a list over lines of ``room`` columns, whole items to a line where
    they fit (an item wider than a line wrapped between its words)."""
    lines: list[str] = []
    cur = ""
    for k, x in enumerate(items):
        piece = lx.isolate(x) + (lx.sep.rstrip() if k < len(items) - 1 else "")
        if cur and display_width(cur) + 1 + display_width(piece) <= room:
            cur = f"{cur} {piece}"
            continue
        if cur:
            lines.append(cur)
        parts = fit_width(piece, room).split("\n")
        lines += parts[:-1]
        cur = parts[-1]
    return [*lines, cur]


def render_table(rows: Iterable[Mapping[str, Any]], kb: KnowledgeBase, lang: str = "en",
                 error_text: Any = None, width: int | None = None) -> Iterator[str]:
    """The lines of the batch table (a header, then one line a row, streamed).
    ``error_text(row)`` gives a failed row's problems. With ``width`` (a terminal's
    columns) the table fits it: a row whose warning signs do not fit beside it has them
    wrapped in their own column, the client's name wrapped in its own (the client column
    narrows first, down to CLIENT_MIN, where the decision titles are long); a failed row,
    or a terminal too narrow for a column of signs, has them on the lines below, indented
    and wrapped, instead of letting the terminal break the row anywhere."""
    lx = for_kb(kb, lang)
    dkind = kb.outputs["decision"]["concept"]
    failed = ui(kb, "batch_failed", lang)
    dwidth = max([display_width(_decision(kb, k, lang)) for k in kb.concepts.get(dkind, {})]
                 + [display_width(failed), display_width(ui(kb, "batch_col_decision", lang))])
    nwidth = 5
    cwidth = CLIENT_WIDTH if not width else \
        max(CLIENT_MIN, min(CLIENT_WIDTH, width - nwidth - dwidth - 4 - SIGNS_MIN))
    room = (width or 0) - (nwidth + 2 + cwidth + 1 + dwidth + 1)  # the signs' column

    def line(lead: str, client: str, decision: str, items: list[str],
             in_column: bool = True) -> Iterator[str]:
        joined = lx.join(lx.isolate(x) for x in items) if items else "-"
        head = f"{lead}  {_cell(lx, client, cwidth)} {_cell(lx, decision, dwidth)}"
        if not width or (display_width(client) <= cwidth
                         and display_width(head) + 1 + display_width(joined) <= width):
            yield f"{head} {joined}"
            return
        signs = [] if not in_column or room < 20 else \
            _packed(lx, items, room) if items else ["-"]
        if any(display_width(s) > room for s in signs):
            signs = []  # a word wider than the column: below the row instead
        names = _wrapped(lx, client, cwidth)
        for i in range(max(len(names), len(signs))):
            yield (f"{lead if i == 0 else ' ' * display_width(lead)}  "
                   f"{names[i] if i < len(names) else ' ' * cwidth} "
                   f"{_cell(lx, decision if i == 0 else '', dwidth)} "
                   f"{signs[i] if i < len(signs) else ''}").rstrip()
        if not signs:
            yield from fit_width(" " * (nwidth + 4) + joined, width).split("\n")

    yield from line(f"{'#':>{nwidth}}", ui(kb, "batch_col_client", lang),
                    ui(kb, "batch_col_decision", lang), [ui(kb, "batch_col_flags", lang)])
    for row in rows:
        n = lx.num(row["index"] + 1)
        lead = " " * (nwidth - display_width(n)) + n
        if row.get("errors"):
            problems = error_text(row) if error_text else ""
            yield from line(lead, row.get("client") or row["source"], failed, [problems],
                            in_column=False)
            continue
        flags = [_flag(kb, f, lang) for f in row["red_flags"]]
        flags += [s["id"] if ids_shown(lang) else s.get("title") or s["id"]
                  for s in (row.get("portfolio") or {}).get("signals", ())]
        yield from line(lead, row["client"], _decision(kb, row["decision"], lang), flags)


def render_summary(s: Summary, kb: KnowledgeBase, lang: str = "en") -> str:
    """The summary of a batch in plain text, in ``lang``: counts in the language's plural
    forms and digits, shares with its percent sign, lists with its separators."""
    lx = for_kb(kb, lang)
    dkind = kb.outputs["decision"]["concept"]

    def decision(d: str) -> str:
        return _title(kb, dkind, d, lang)

    lines = [ui(kb, "batch_counts", lang, total=s.total, assessed=s.total - s.failed,
                failed=s.failed)]
    decisions = [ui(kb, "batch_decision_count", lang, title=decision(k), id=k, n=v)
                 for k, v in sorted(s.decisions.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"{ui(kb, 'batch_decisions', lang)}: "
                 + (lx.join(decisions) or ui(kb, "batch_none", lang)))
    flags = s.to_dict()["red_flags"]
    if flags:
        lines.append(f"{ui(kb, 'batch_red_flags', lang)}: " + lx.join(
            ui(kb, "batch_flag_count", lang, title=_flag(kb, f["id"], lang), n=f["clients"])
            for f in flags[:5]))
    if s.act_first:
        lines.append(ui(kb, "batch_act_first", lang))
        for e in s.act_first:
            lines.append(f"  {lx.isolate(e['client'])}: {decision(e['decision'])} — "
                         f"{e['reason'] or '-'}")
    spec = portfolio_spec(kb)
    outputs = {rule["id"]: rule.get("output", {}) for rule in spec.rules} if spec else {}
    for rule_id, r in sorted(s.portfolio.get("rules", {}).items()):
        if "set_size" in r:
            if not r["with_measure"]:
                continue  # no client with the measure: nothing to say
            key = "batch_pareto_holds" if r["holds"] else "batch_pareto_not"
            lines.append(ui(kb, key, lang, title=r["title"], guidance=lx.join(r["guidance"]),
                            size=r["set_size"], clients=r["with_measure"],
                            share=lx.percent(r["set_share_of_total"]),
                            members=lx.join(lx.isolate(m) for m in r["members"][:10])))
        elif r.get("lowest"):
            out = outputs.get(rule_id, {})  # the names the KB gives the figures
            value, ratio = out.get("value"), out.get("ratio")
            low = lx.join(
                f"{lx.isolate(x['client'])} {lx.num(x.get(value))}"
                + (f" ({lx.percent(x[ratio])})" if x.get(ratio) is not None else "")
                for x in r["lowest"][:5])
            lines.append(ui(kb, "batch_rate", lang, title=r["title"], list=low))
    return "\n".join(lines) + "\n"
