"""Signals over a set of cases (a client book): generic measures over per-case numbers,
with their meaning, parameters and texts in the KB (``portfolio.yaml``).

Two kinds of rule: ``top_share`` (the smallest set of items whose measure reaches a
share of the total, and whether that set is small enough to stand out) and
``ratio_rank`` (a ratio per item against its own target, ranked lowest first).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import _yaml
from ._tempdb import temp_db
from .errors import KBError, Source
from .knowledge import KnowledgeBase


@dataclass(frozen=True)
class PortfolioSpec:
    measures: Mapping[str, tuple[str, ...]]
    parameters: Mapping[str, float]
    rules: tuple[Mapping[str, Any], ...]

    @property
    def guidance(self) -> set[str]:
        return {g for r in self.rules for g in r.get("guidance", ())}


class Figures(Mapping[int, dict[str, Any]]):
    """Each item's own figures by input index, read from the book's temporary database
    when looked up (so memory does not grow with the book)."""

    def __init__(self, book: Book) -> None:
        self._book = book

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._book.figures_of(index)

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self._book.has(index)

    def __iter__(self) -> Iterator[int]:
        return self._book.indexes()

    def __len__(self) -> int:
        return self._book.count


@dataclass
class Portfolio:
    """The book-level result and each item's own figures (by input index)."""

    summary: dict[str, Any]
    items: Figures

    def close(self) -> None:
        """Drop the book's temporary database."""
        self.items._book.close()


class Book:
    """Every item's measures (and, once evaluated, its figures) in a temporary SQLite
    database on disk: sorting and ranking a book of any size in bounded memory.

    Items are added in input order with :meth:`add`; :func:`evaluate` ranks them."""

    _CHUNK = 1000  # rows written per statement

    def __init__(self, spec: PortfolioSpec) -> None:
        self.spec = spec
        self.count = 0
        self._columns = {name: f"m{k}" for k, name in enumerate(spec.measures)}
        self._db = temp_db()
        cols = "".join(f", {c} REAL" for c in self._columns.values())
        self._db.execute(f"CREATE TABLE items (idx INTEGER PRIMARY KEY, client TEXT{cols})")
        # one row per (item, rule) the rule placed: rank, then up to three figures
        self._db.execute("CREATE TABLE figures (idx INTEGER, rule INTEGER, rank INTEGER, "
                         "a, b, c, PRIMARY KEY (idx, rule)) WITHOUT ROWID")
        self._pending: list[tuple[Any, ...]] = []
        self._insert = (f"INSERT INTO items VALUES (?, ?{', ?' * len(self._columns)})")
        self._rules: tuple[Mapping[str, Any], ...] = ()
        self._signals: dict[int, dict[str, Any]] = {}

    def add(self, index: int, client: str, measures: Mapping[str, float]) -> None:
        self._pending.append((index, client, *(measures.get(m) for m in self._columns)))
        self.count += 1
        if len(self._pending) >= self._CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany(self._insert, self._pending)
            self._pending.clear()

    def column(self, measure: str) -> str:
        return self._columns[measure]

    def query(self, sql: str, *args: Any) -> Iterator[tuple[Any, ...]]:
        self._flush()
        return iter(self._db.execute(sql, args))

    def place(self, rows: Iterable[tuple[int, int, int, Any, Any, Any]]) -> None:
        """Store figures: (index, rule number, rank, a, b, c)."""
        it = iter(rows)
        while chunk := list(itertools.islice(it, self._CHUNK)):
            self._db.executemany("INSERT INTO figures VALUES (?, ?, ?, ?, ?, ?)", chunk)

    def has(self, index: int) -> bool:
        return next(self.query("SELECT 1 FROM items WHERE idx = ?", index), None) is not None

    def indexes(self) -> Iterator[int]:
        return (i for (i,) in self.query("SELECT idx FROM items ORDER BY idx"))

    def figures_of(self, index: int) -> dict[str, Any]:
        if not self.has(index):
            raise KeyError(index)
        item: dict[str, Any] = {"clients": self.count, "signals": []}
        for n, rank, a, b, c in self.query(
                "SELECT rule, rank, a, b, c FROM figures WHERE idx = ? ORDER BY rule", index):
            rule = self._rules[n]
            out = rule["output"]
            if rule["kind"] == "top_share":
                item[out["share"]], item[out["rank"]], item[out["member"]] = a, rank, bool(b)
                if c and n in self._signals:
                    item["signals"].append(dict(self._signals[n],
                                                guidance=list(self._signals[n]["guidance"])))
            else:
                item[out["value"]], item[out["ratio"]], item[out["rank"]] = a, b, rank
        return item

    def close(self) -> None:
        self._db.close()


@cache
def _spec_at(path: str) -> PortfolioSpec:
    doc = _yaml.load_file(path, KBError)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise KBError("portfolio.yaml needs 'measures', 'parameters' and 'rules'",
                      Source(path))
    params = {k: float(v["default"]) for k, v in (data.get("parameters") or {}).items()}
    for r in data["rules"]:
        for key in ("share", "at_most", "min_items"):
            if key in r and r[key] not in params:
                raise KBError(f"rule '{r.get('id')}': unknown parameter '{r[key]}'",
                              doc.source(("rules",)))
    measures = {k: tuple(str(v).split(".")) for k, v in (data.get("measures") or {}).items()}
    return PortfolioSpec(measures, params, tuple(data["rules"]))


def portfolio_spec(kb: KnowledgeBase) -> PortfolioSpec | None:
    """The KB's portfolio rules (the last root with a ``portfolio.yaml``), if any."""
    for root in reversed(kb.roots):
        path = Path(root) / "portfolio.yaml"
        if path.is_file():
            return _spec_at(str(path))
    return None


def measures_of(spec: PortfolioSpec, data: Mapping[str, Any]) -> dict[str, float]:
    """The numbers the portfolio rules need, read from one case's data."""
    out: dict[str, float] = {}
    for name, path in spec.measures.items():
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            out[name] = float(node)
    return out


def evaluate(kb: KnowledgeBase, spec: PortfolioSpec,
             items: Book | Iterable[tuple[int, str, Mapping[str, float]]],
             lang: str = "en") -> Portfolio:
    """Run every portfolio rule over ``items``: a :class:`Book`, or (index, client,
    measures) triples."""
    if isinstance(items, Book):
        book = items
    else:
        book = Book(spec)
        for i, c, m in items:
            book.add(i, c, m)
    result = Portfolio({"clients": book.count, "rules": {}}, Figures(book))
    book._rules = spec.rules
    for n, rule in enumerate(spec.rules):
        kind = rule.get("kind")
        if kind == "top_share":
            result.summary["rules"][rule["id"]] = _top_share(kb, spec, n, rule, book, lang)
        elif kind == "ratio_rank":
            result.summary["rules"][rule["id"]] = _ratio_rank(kb, n, rule, book, lang)
        else:
            raise KBError(f"portfolio rule '{rule.get('id')}': unknown kind '{kind}'")
    return result


def _title(kb: KnowledgeBase, rule: Mapping[str, Any], lang: str) -> str:
    return kb.text(rule.get("title"), lang)


def _top_share(kb: KnowledgeBase, spec: PortfolioSpec, n: int, rule: Mapping[str, Any],
               book: Book, lang: str) -> dict[str, Any]:
    measure = rule["measure"]
    share = spec.parameters[rule["share"]]
    at_most = spec.parameters[rule["at_most"]]
    min_items = spec.parameters.get(rule.get("min_items", ""), 0)
    m = book.column(measure)
    sql = f"SELECT {m}, client, idx FROM items WHERE {m} > 0 ORDER BY {m} DESC, client, idx"
    total, count = 0.0, 0
    for v, _c, _i in book.query(sql):  # first pass: the total, summed in rank order
        total += v
        count += 1
    members: list[str] = []
    acc = 0.0
    for v, c, _i in book.query(sql):  # second pass: the smallest set reaching the share
        if total <= 0 or acc >= share * total:
            break
        members.append(c)
        acc += v
    holds = count > 0 and count >= min_items and len(members) <= at_most * count
    if holds and rule.get("signal"):
        book._signals[n] = {"id": rule["signal"], "rule": rule["id"],
                            "guidance": list(rule.get("guidance", ())),
                            "severity": rule.get("severity", "minor"),
                            "title": _title(kb, rule, lang)}
    book.place((i, n, rank, round(v / total, 4) if total else 0.0, rank <= len(members),
                rank <= len(members))
               for rank, (v, _c, i) in enumerate(book.query(sql), 1))
    return {"title": _title(kb, rule, lang), "guidance": list(rule.get("guidance", ())),
            "measure": measure, "total": round(total, 2), "with_measure": count,
            "set_size": len(members),
            "set_share_of_items": round(len(members) / count, 4) if count else 0.0,
            "set_share_of_total": round(acc / total, 4) if total else 0.0,
            "holds": holds, "members": members,
            "parameters": {rule["share"]: share, rule["at_most"]: at_most,
                           **({rule["min_items"]: min_items} if "min_items" in rule else {})}}


def _ratio_rank(kb: KnowledgeBase, n: int, rule: Mapping[str, Any], book: Book,
                lang: str) -> dict[str, Any]:
    num, den = book.column(rule["numerator"]), book.column(rule["denominator"])
    tgt = book.column(rule["against"])
    ratio = f"CASE WHEN {tgt} > 0 THEN ({num} / {den}) / {tgt} END"
    sql = (f"SELECT {num}, {den}, {tgt}, client, idx FROM items "
           f"WHERE {den} > 0 AND {num} IS NOT NULL "
           f"ORDER BY {ratio} IS NULL, {ratio}, {num} / {den}, client, idx")
    listing: list[dict[str, Any]] = []
    out = rule["output"]

    def placed() -> Iterator[tuple[int, int, int, Any, Any, Any]]:
        for rank, (a, b, t, c, i) in enumerate(book.query(sql), 1):
            value = a / b
            r = value / t if t is not None and t > 0 else None
            figures = (round(value, 2), None if r is None else round(r, 4))
            if len(listing) < 10:
                listing.append({"client": c, out["value"]: figures[0], out["ratio"]: figures[1]})
            yield i, n, rank, *figures, None

    book.place(placed())
    ranked = book.query("SELECT count(*) FROM figures WHERE rule = ?", n)
    return {"title": _title(kb, rule, lang), "guidance": list(rule.get("guidance", ())),
            "ranked": next(ranked)[0], "lowest": listing}
