"""Assess a whole client book: a folder of case files, a JSONL file (one case a line) or
a CSV export, streamed in input order whatever the number of worker processes, with
book-level signals (``portfolio``) and a summary.

Memory stays flat: items are read lazily and sent to the workers a window at a time;
finished rows are spooled to a temporary file, and each client's portfolio measures to a
temporary database, until the portfolio rules (which rank every client) have run; then
the rows are read back with their portfolio attached. Nothing kept in memory grows with
the book but the summary's list of the clients in the top set.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CaseError, PartwaysError, Source
from .knowledge import KnowledgeBase, load_kb

CASE_SUFFIXES = (".yaml", ".yml", ".json")
WINDOW = 256  # items per worker in flight at once
DECISION_ORDER = ("terminate_now", "terminate", "remediate", "monitor", "keep")
SEVERITY = {"info": 0, "minor": 1, "serious": 2, "critical": 3}


@dataclass(frozen=True)
class Item:
    """One case of the book: where it came from and how to read it."""

    index: int
    source: str
    kind: str  # file | text | data | error
    payload: Any
    line: int | None = None  # the JSONL line a text item came from
    client: str | None = None  # the client's name, when known before reading the case


@dataclass
class Summary:
    """What a batch found: counts, the most frequent red flags, who to act on first."""

    total: int = 0
    failed: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    red_flags: Counter[str] = field(default_factory=Counter)
    act_first: list[dict[str, Any]] = field(default_factory=list)
    portfolio: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.total, "failed": self.failed,
                "decisions": dict(sorted(self.decisions.items())),
                "red_flags": [{"id": k, "clients": v} for k, v in
                              sorted(self.red_flags.items(), key=lambda kv: (-kv[1], kv[0]))
                              [:10]],
                "act_first": self.act_first, "portfolio": self.portfolio}


# --------------------------------------------------------------------------- input


def iter_items(paths: Sequence[str | os.PathLike[str]], kb: KnowledgeBase) -> Iterator[Item]:
    """The items of every path, in order: a folder of case files (sorted), a folder or
    ``clients.csv`` of a CSV export, a ``.jsonl`` file, or a case file."""
    counter = itertools.count()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            yield Item(next(counter), str(p), "error",
                       [CaseError("no such file or folder", Source(str(p))).to_dict()])
        elif p.is_dir() and not (p / "clients.csv").is_file():
            for f in sorted(x for x in p.iterdir() if x.suffix in CASE_SUFFIXES and x.is_file()):
                yield Item(next(counter), str(f), "file", str(f))
        elif p.suffix == ".csv" or p.is_dir():
            yield from _csv_items(p, kb, counter)
        elif p.suffix == ".jsonl":
            yield from _jsonl_items(p, counter)
        else:
            yield Item(next(counter), str(p), "file", str(p))


def count_items(paths: Sequence[str | os.PathLike[str]]) -> int | None:
    """How many items :func:`iter_items` will give for ``paths`` (without the rows of
    events naming no known client), counted by streaming each input once more, in
    constant memory: the total of a progress bar. ``None`` when a path cannot be read."""
    from .csvimport import csv_set

    total = 0
    try:
        for raw in paths:
            p = Path(raw)
            if p.is_dir() and not (p / "clients.csv").is_file():
                total += sum(1 for x in p.iterdir() if x.suffix in CASE_SUFFIXES and x.is_file())
            elif p.suffix == ".csv" or p.is_dir():
                with csv_set(p)["clients"].open("rb") as fh:
                    total += max(0, sum(1 for line in fh if line.strip()) - 1)  # the header
            elif p.suffix == ".jsonl":
                with p.open("rb") as fh:
                    total += sum(1 for line in fh if line.strip())
            else:
                total += 1
    except OSError:
        return None
    return total


def _jsonl_items(p: Path, counter: Iterator[int]) -> Iterator[Item]:
    try:
        fh = p.open(encoding="utf-8-sig")
    except OSError as exc:
        yield Item(next(counter), str(p), "error",
                   [CaseError(f"cannot read file: {exc.strerror}", Source(str(p))).to_dict()])
        return
    with fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield Item(next(counter), f"{p}:{n}", "text", line, n)


def _csv_items(p: Path, kb: KnowledgeBase, counter: Iterator[int]) -> Iterator[Item]:
    from .csvimport import import_csv

    try:
        for case in import_csv(p, kb):
            source = f"{case.path}:{case.row}" if case.path else str(p)
            if case.errors:  # the client's name, unless the row has none
                client = case.client if case.client and case.client != f"<row {case.row}>" \
                    else None
                yield Item(next(counter), source, "error", [e.to_dict() for e in case.errors],
                           client=client)
            else:
                yield Item(next(counter), source, "data", case.data)
    except PartwaysError as err:
        yield Item(next(counter), str(p), "error", [err.to_dict()])


# --------------------------------------------------------------------------- work

_STATE: dict[str, Any] = {}


def _init(overlays: Sequence[str], full: bool, lang: str) -> None:
    """Per worker process: load and compile the KB once."""
    from .api import program_for

    kb = load_kb(overlays=list(overlays))
    program_for(kb)
    _STATE.update(kb=kb, full=full, lang=lang)


def _work(item: Item) -> dict[str, Any]:
    return assess_item(item, _STATE["kb"], full=_STATE["full"], lang=_STATE["lang"])


def assess_item(item: Item, kb: KnowledgeBase, *, full: bool = False,
                lang: str = "en") -> dict[str, Any]:
    """One row of the batch: the decision and its reason, or the errors."""
    from .api import assess_case
    from .case import case_from_data, load_case, parse_case
    from .portfolio import measures_of, portfolio_spec

    row: dict[str, Any] = {"index": item.index, "source": item.source}
    if item.kind == "error":
        return {**row, "client": item.client, "errors": item.payload}
    try:
        if item.kind == "file":
            case = load_case(item.payload, kb)
        elif item.kind == "text":
            case = parse_case(item.payload, kb, name=item.source.rsplit(":", 1)[0])
        else:
            case = case_from_data(item.payload, kb, name=item.source)
        a = assess_case(case, kb)
    except PartwaysError as err:
        body = err.to_dict()
        if item.line is not None:  # a JSONL line: its line in the file
            body["line"] = item.line
        return {**row, "client": _yaml_client(item), "errors": [body]}
    data = a.to_dict(lang) if full else None
    reason_rule = a.reason_rule
    spec = portfolio_spec(kb)
    return {**row, "client": a.client, "decision": a.decision,
            "reason": None if reason_rule is None else {
                "rule": reason_rule, "text": kb.text(kb.rule(reason_rule).title, lang)},
            "red_flags": [s.id for s in a.signals if s.status == "active"],
            "severity": max((SEVERITY.get(s.severity, 0) for s in a.signals
                             if s.status == "active"), default=0),
            "next_step": a.next_steps[0].id if a.next_steps else None,
            "notify_on": a.plan.notify_on.isoformat() if a.plan and a.plan.notify_on else None,
            "end_on": a.plan.end_on.isoformat() if a.plan and a.plan.end_on else None,
            "measures": measures_of(spec, case.data) if spec else {},
            "assessment": data}


def _yaml_client(item: Item) -> str | None:
    if item.kind == "data" and isinstance(item.payload, Mapping):
        name = item.payload.get("client")
        return str(name) if name else None
    return None


def run_items(items: Iterable[Item], kb: KnowledgeBase, overlays: Sequence[str] = (), *,
              workers: int = 1, full: bool = False, lang: str = "en"
              ) -> Iterator[dict[str, Any]]:
    """Assess ``items`` and yield their rows in input order. ``workers`` > 1 uses that
    many processes (spawned; each loads and compiles the KB, with ``overlays``, once)."""
    if workers <= 1:
        for item in items:
            yield assess_item(item, kb, full=full, lang=lang)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(list(overlays), full, lang)) as pool:
        it = iter(items)
        while True:
            window = list(itertools.islice(it, WINDOW * workers))
            if not window:
                break
            yield from pool.imap(_work, window, chunksize=8)


# --------------------------------------------------------------------------- book


def run_batch(paths: Sequence[str | os.PathLike[str]], kb: KnowledgeBase,
              overlays: Sequence[str] = (), *, workers: int = 1, full: bool = False,
              lang: str = "en", progress: Callable[[int], None] | None = None,
              act_first: int = 10) -> tuple[Iterator[dict[str, Any]], Summary]:
    """Run the whole book read from ``paths`` (see :func:`iter_items` and
    :func:`run_book`)."""
    return run_book(iter_items(paths, kb), kb, overlays, workers=workers, full=full,
                    lang=lang, progress=progress, act_first=act_first)


def run_book(items: Iterable[Item], kb: KnowledgeBase, overlays: Sequence[str] = (), *,
             workers: int = 1, full: bool = False, lang: str = "en",
             progress: Callable[[int], None] | None = None,
             act_first: int = 10) -> tuple[Iterator[dict[str, Any]], Summary]:
    """Assess ``items``. Returns the rows (an iterator over the spool, in input order,
    each with its ``portfolio`` figures) and the summary, complete once this returns.
    With ``full`` each row holds its assessment JSON (``assessment``)."""
    from .portfolio import Book, evaluate, portfolio_spec

    summary = Summary()
    spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by rows())
    spec = portfolio_spec(kb)
    figures = Book(spec) if spec else None  # every client's measures, on disk
    heap: list[tuple[tuple[Any, ...], int, dict[str, Any]]] = []
    for row in run_items(items, kb, overlays, workers=workers, full=full, lang=lang):
        summary.total += 1
        if row.get("errors"):
            summary.failed += 1
        else:
            summary.decisions[row["decision"]] += 1
            summary.red_flags.update(row["red_flags"])
            if figures is not None:
                figures.add(row["index"], row["client"], row["measures"])
            rank = (-_urgency(row["decision"]), -row["severity"], -len(row["red_flags"]))
            entry = (tuple(-x for x in rank), -row["index"], {
                "client": row["client"], "source": row["source"], "decision": row["decision"],
                "reason": row["reason"]["text"] if row["reason"] else None,
                "red_flags": row["red_flags"]})
            if row["decision"] in DECISION_ORDER[:3]:
                if len(heap) < act_first:
                    heapq.heappush(heap, entry)
                else:
                    heapq.heappushpop(heap, entry)
        spool.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        if progress:
            progress(1)
    summary.act_first = [e[2] for e in sorted(heap, key=lambda e: (e[0], e[1]),
                                              reverse=True)]
    book = evaluate(kb, spec, figures, lang) if spec and figures is not None else None
    if book:
        summary.portfolio = book.summary
    spool.seek(0)

    def rows() -> Iterator[dict[str, Any]]:
        with spool, contextlib.ExitStack() as stack:
            if book:
                stack.callback(book.close)
            for line in spool:
                row = json.loads(line)
                if book and row["index"] in book.items:
                    row["portfolio"] = book.items[row["index"]]
                    if row.get("assessment") is not None:
                        row["assessment"]["portfolio"] = row["portfolio"]
                yield row

    return rows(), summary


def _urgency(decision: str) -> int:
    return len(DECISION_ORDER) - DECISION_ORDER.index(decision) \
        if decision in DECISION_ORDER else 0


def jsonl_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a line of ``--format jsonl``: the assessment JSON with its ``source`` (and
    ``portfolio``), or ``{"source", "client", "error", "errors"}``."""
    if row.get("errors"):
        return {"source": row["source"], "client": row.get("client"),
                "errors": row["errors"], "error": row["errors"][0]}
    return dict(row["assessment"], source=row["source"])
