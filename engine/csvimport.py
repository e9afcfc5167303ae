"""Read a CSV export of a client book (clients, events, remediation) into case data.

The mapping of columns to case fields, and their aliases, is KB data (``csv.yaml``);
values are typed by the KB's case schema. Every problem is reported as
``file:row: column: message`` (row 1 is the header) and nothing is dropped silently:
unknown columns, unknown clients, bad dates or numbers, and the case-level problems
of each client, mapped back to the row and column they came from.
"""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import _yaml
from ._tempdb import temp_db
from .case import check_doc
from .errors import CaseError, KBError, Source, did_you_mean
from .journal import _coerce, _declared, _types_of
from .knowledge import KnowledgeBase

FILES = ("clients", "events", "remediation")
DISCRIMINATORS = ("type", "step")  # the fields the case schema's if/then branches test
Origin = dict[tuple[Any, ...], tuple[str, int, str]]  # case path -> (file, row, column)
MAX_FIELD = 100_000


@dataclass(frozen=True)
class Column:
    name: str
    path: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class CsvMapping:
    key: str
    files: Mapping[str, tuple[str | None, tuple[Column, ...]]]  # name -> (list section, columns)


@dataclass
class ImportedCase:
    """One client of the export: its case data, where each value came from, and the
    problems found (an empty list: the case is valid)."""

    client: str
    row: int
    data: dict[str, Any]
    origin: dict[tuple[Any, ...], tuple[str, int, str]] = field(default_factory=dict)
    errors: list[CaseError] = field(default_factory=list)
    path: str = ""  # the file of ``row``: clients.csv, or where an unknown client was named


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()./]+", "", name.strip().lower())


@cache
def _mapping_at(path: str) -> CsvMapping:
    doc = _yaml.load_file(path, KBError)
    data = doc.data
    files: dict[str, tuple[str | None, tuple[Column, ...]]] = {}
    for fname, spec in data["files"].items():
        cols = tuple(Column(name, tuple(str(c.get("path") or "").split(".")) if c.get("path")
                            else (), tuple(c.get("aliases") or ()))
                     for name, c in spec["columns"].items())
        files[fname] = (spec.get("list"), cols)
    return CsvMapping(data["key"], files)


def csv_mapping(kb: KnowledgeBase) -> CsvMapping:
    """The CSV mapping of the KB (the last root that has a ``csv.yaml``)."""
    for root in reversed(kb.roots):
        if (Path(root) / "csv.yaml").is_file():
            return _mapping_at(str(Path(root) / "csv.yaml"))
    raise KBError("the knowledge base has no csv.yaml (the CSV column mapping)",
                  Source(kb.roots[0] if kb.roots else None))


def csv_set(path: str | Path) -> dict[str, Path]:
    """The files of an export: ``path`` is a directory holding ``clients.csv`` (and
    optionally ``events.csv``, ``remediation.csv``) or the clients file itself, with
    the other two beside it."""
    p = Path(path)
    folder, clients = (p, p / "clients.csv") if p.is_dir() else (p.parent, p)
    out = {"clients": clients}
    for name in FILES[1:]:
        if (folder / f"{name}.csv").is_file():
            out[name] = folder / f"{name}.csv"
    return out


def _header(mapping: CsvMapping, fname: str, header: list[str], path: str
            ) -> tuple[dict[int, Column], list[CaseError]]:
    _section, cols = mapping.files[fname]
    lookup: dict[str, Column] = {}
    for c in cols:
        for n in (c.name, *c.aliases):
            lookup.setdefault(_norm(n), c)
    found: dict[int, Column] = {}
    errors: list[CaseError] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(header):
        if not raw.strip():
            continue
        col = lookup.get(_norm(raw))
        if col is None:
            names = [c.name for c in cols]
            errors.append(CaseError(f"unknown column '{raw.strip()}'"
                                    f"{did_you_mean(_norm(raw), names)} (known: "
                                    f"{', '.join(names)}; see docs/CSV.md)",
                                    Source(path, 1, raw.strip())))
        elif col.name in seen:
            errors.append(CaseError(f"column '{raw.strip()}' means '{col.name}', like "
                                    f"'{seen[col.name]}'", Source(path, 1, raw.strip())))
        else:
            seen[col.name] = raw.strip()
            found[i] = col
    if mapping.key not in seen:
        errors.append(CaseError(f"no '{mapping.key}' column (or one of its aliases)",
                                Source(path, 1, None)))
    return found, errors


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of a CSV file (UTF-8, BOM tolerated; ``,`` or ``;`` sniffed), each with the
    line it starts on (a quoted value may run over several lines), counted from 1."""
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CaseError(f"cannot read file: {exc.strerror}", Source(str(path))) from None
    with fh:
        sample = fh.read(4096)
        fh.seek(0)
        delim = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.reader(fh, delimiter=delim)
        try:
            start = 1
            for row in reader:
                yield start, row
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CaseError(f"malformed CSV: {exc}", Source(str(path), reader.line_num)) \
                from None


def _schema_at(schema: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    node: Any = schema
    for part in path:
        node = (node.get("properties") or {}).get(part) if isinstance(node, Mapping) else None
        if node is None:
            return {}
    return node if isinstance(node, Mapping) else {}


def _typed(text: str, types: set[str], where: Source) -> tuple[Any, CaseError | None]:
    value = _coerce(text, types)
    if isinstance(value, dt.date):
        return value.isoformat(), None
    if isinstance(value, str) and types and "string" not in types:
        want = ("a date (YYYY-MM-DD)" if "date" in types else
                "a whole number" if types & {"integer"} and "number" not in types else
                "a number" if types & {"integer", "number"} else
                "true or false" if "boolean" in types else "/".join(sorted(types)))
        hint = ""
        if types & {"integer", "number"} and re.fullmatch(r"\D{0,3}[\d.,' ]+\D{0,3}", text):
            hint = (" (write it without currency signs or thousands separators: "
                    f"{'1200.50' if 'number' in types else '1200'})")
        return None, CaseError(f"'{text}' is not {want}{hint}", where)
    return value, None


def import_csv(path: str | Path, kb: KnowledgeBase) -> Iterator[ImportedCase]:
    """The clients of a CSV export, in the order of the clients file, each with every
    problem found. Rows of events/remediation naming no known client come last, as
    cases with only errors (``client`` is the unknown name)."""
    mapping = csv_mapping(kb)
    files = csv_set(path)
    if not files["clients"].is_file():
        raise CaseError("no clients.csv here (give the clients file or its folder)",
                        Source(str(files["clients"])))
    with _Rows() as extra:
        yield from _import(mapping, kb, files, extra)


def _import(mapping: CsvMapping, kb: KnowledgeBase, files: Mapping[str, Path],
            extra: _Rows) -> Iterator[ImportedCase]:
    header_errors: list[CaseError] = []
    for fname in FILES[1:]:
        if fname in files:
            for client, row, item, origin, errs in _list_rows(mapping, kb, fname, files[fname],
                                                              header_errors):
                extra.add(client, (fname, row, item, origin, errs))
    cpath = str(files["clients"])
    cols: dict[int, Column] = {}
    first = True
    for row, values in _rows(files["clients"]):
        if first:
            cols, errs = _header(mapping, "clients", values, cpath)
            header_errors += errs
            first, width = False, len(values)
            continue
        if not any(v.strip() for v in values):
            continue
        if header_errors:  # reported once, before the first client
            yield ImportedCase("", 1, {}, errors=header_errors, path=_path(header_errors))
            header_errors = []
        case = _client(mapping, kb, cols, cpath, row, values)
        case.errors += _width(values, width, cpath, row)
        if not extra.see(case.client):
            case.errors.append(CaseError(f"client '{case.client}' is listed twice",
                                         Source(cpath, row, mapping.key)))
        for fname, erow, item, origin, errs in extra.pop(case.client):
            section = str(mapping.files[fname][0])
            items = case.data.setdefault(section, [])
            for sub, where in origin.items():
                key: tuple[Any, ...] = (section, len(items), *sub)
                case.origin[key] = where
            case.origin[(section, len(items))] = (str(files[fname]), erow, "")
            items.append(item)
            case.errors += errs
        case.errors += _check(case, kb)
        yield case
    for client in extra.left():
        errs = []
        for fname, erow, _item, _origin, row_errs in extra.pop(client):
            errs.append(CaseError(f"unknown client '{client}' (not in clients.csv)"
                                  f"{did_you_mean(client, extra.seen())}",
                                  Source(str(files[fname]), erow, mapping.key)))
            errs += row_errs
        yield ImportedCase(client, errs[0].source.line or 0 if errs[0].source else 0, {},
                           errors=errs, path=_path(errs))
    if first or header_errors:
        errs = header_errors or [CaseError("the clients file is empty", Source(cpath, 1))]
        yield ImportedCase("", 1, {}, errors=errs, path=_path(errs))


def _path(errors: list[CaseError]) -> str:
    return str(errors[0].source.path or "") if errors and errors[0].source else ""


class _Rows:
    """The rows of events.csv and remediation.csv by client, and the clients seen, in a
    temporary SQLite database on disk: an export of any size is read in bounded memory
    (those rows come before the clients they belong to, in any order)."""

    def __init__(self) -> None:
        self._db = temp_db()
        self._db.execute("CREATE TABLE rows (seq INTEGER PRIMARY KEY, client TEXT, data BLOB)")
        self._db.execute("CREATE INDEX rows_client ON rows (client, seq)")
        self._db.execute("CREATE TABLE seen (client TEXT PRIMARY KEY) WITHOUT ROWID")

    def __enter__(self) -> _Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def add(self, client: str, row: tuple[Any, ...]) -> None:
        self._db.execute("INSERT INTO rows (client, data) VALUES (?, ?)",
                         (client, pickle.dumps(row)))

    def pop(self, client: str) -> list[tuple[Any, ...]]:
        """The rows of ``client``, in file order, taken out of the store."""
        found = self._db.execute("SELECT data FROM rows WHERE client = ? ORDER BY seq",
                                 (client,)).fetchall()
        if found:
            self._db.execute("DELETE FROM rows WHERE client = ?", (client,))
        return [pickle.loads(data) for (data,) in found]

    def see(self, client: str) -> bool:
        """Note ``client`` as listed; False when it already was."""
        return self._db.execute("INSERT OR IGNORE INTO seen VALUES (?)",
                                (client,)).rowcount == 1

    def seen(self) -> Iterator[str]:
        return (c for (c,) in self._db.execute("SELECT client FROM seen"))

    def left(self) -> list[str]:
        """The clients of rows no client took, in order of their first row."""
        return [c for (c,) in self._db.execute(
            "SELECT client FROM rows GROUP BY client ORDER BY min(seq)")]


def _width(values: list[str], width: int, path: str, row: int) -> list[CaseError]:
    """A row whose cells do not match the header's columns, refused rather than read with
    its values in the wrong columns: values beyond the header (often a comma inside an
    unquoted value) or too few cells (a missing comma shifts every value after it)."""
    extra = [v.strip() for v in values[width:] if v.strip()]
    if extra:
        shown = ", ".join(f"'{v}'" for v in extra[:3]) + (", ..." if len(extra) > 3 else "")
        return [CaseError(f"{len(extra)} value{'s' if len(extra) > 1 else ''} beyond the "
                          f"{width} columns of the header ({shown}): a comma inside a value "
                          "that is not in quotes?", Source(path, row, f"column {width + 1}"))]
    if len(values) < width:
        return [CaseError(f"{len(values)} value{'s' if len(values) > 1 else ''} for the "
                          f"{width} columns of the header: a missing comma shifts every value "
                          "after it (write an empty value as an empty cell: a,,b)",
                          Source(path, row, f"column {len(values) + 1}"))]
    return []


def _client(mapping: CsvMapping, kb: KnowledgeBase, cols: Mapping[int, Column], path: str,
            row: int, values: list[str]) -> ImportedCase:
    data: dict[str, Any] = {}
    origin: dict[tuple[Any, ...], tuple[str, int, str]] = {}
    errors: list[CaseError] = []
    for i, col in cols.items():
        text = values[i].strip() if i < len(values) else ""
        if not text or not col.path:
            continue
        where = Source(path, row, col.name)
        types = _types_of(_schema_at(kb.case_schema, col.path))
        value, err = _typed(text, types, where)
        if err:
            errors.append(err)
            continue
        node = data
        for part in col.path[:-1]:
            node = node.setdefault(part, {})
        node[col.path[-1]] = value
        origin[col.path] = (path, row, col.name)
    client = str(data.get(mapping.key, ""))
    if not client:
        errors.append(CaseError(f"no {mapping.key} name in this row", Source(path, row,
                                                                             mapping.key)))
    return ImportedCase(client or f"<row {row}>", row, data, origin, errors, path)


def _list_rows(mapping: CsvMapping, kb: KnowledgeBase, fname: str, path: Path,
               header_errors: list[CaseError]
               ) -> Iterator[tuple[str, int, dict[str, Any], dict[tuple[Any, ...],
                                                                tuple[str, int, str]],
                                   list[CaseError]]]:
    section = str(mapping.files[fname][0])
    item_schema = kb.case_schema["properties"][section].get("items", {})
    types_cache: dict[tuple[Any, ...], set[str]] = {}
    cols: dict[int, Column] = {}
    by_name: dict[str, Column] = {}
    first = True
    for row, values in _rows(path):
        if first:
            cols, errs = _header(mapping, fname, values, str(path))
            header_errors += errs
            by_name = {c.name: c for c in cols.values()}
            first, width = False, len(values)
            continue
        if not any(v.strip() for v in values):
            continue
        raw = {col.name: values[i].strip() for i, col in cols.items()
               if i < len(values) and values[i].strip()}
        client = raw.pop(mapping.key, "")
        item: dict[str, Any] = {}
        origin: dict[tuple[Any, ...], tuple[str, int, str]] = {}
        errors = _width(values, width, str(path), row)
        for name, text in raw.items():
            col = by_name[name]
            key = col.path[-1]
            where = Source(str(path), row, name)
            # the schema's conditional branches test the discriminating fields only
            ckey = (tuple(raw.get(k) for k in DISCRIMINATORS), key)
            if ckey not in types_cache:
                types_cache[ckey] = _declared(item_schema, raw, key)
            value, err = _typed(text, types_cache[ckey], where)
            if err:
                errors.append(err)
                continue
            item[key] = value
            origin[(key,)] = (str(path), row, name)
        if not client:
            errors.append(CaseError(f"no {mapping.key} name in this row",
                                    Source(str(path), row, mapping.key)))
        yield client, row, item, origin, errors


def _check(case: ImportedCase, kb: KnowledgeBase) -> list[CaseError]:
    """The case-level problems (schema, dates, policy), located at their row and column."""
    if not case.data.get("client"):
        return []
    doc = _yaml.Document(case.data, None, {})
    out = []
    reported = {(e.source.path, e.source.line) for e in case.errors if e.source}
    for err in check_doc(doc, kb):
        path = _path_of(err)
        where = None
        while path and where is None:
            where = case.origin.get(path)
            path = path[:-1]
        src = Source(*where) if where else Source(None, case.row, err.source.field
                                                   if err.source else None)
        if where and where[2] == "":
            need = re.match(r"needs a '([^']+)'", err.message)
            src = Source(where[0], where[1], need.group(1) if need else None)
        if (src.path, src.line) in reported:
            continue  # a consequence of a value already reported on this row
        out.append(CaseError(err.message, src))
    return out


def _path_of(err: CaseError) -> tuple[Any, ...]:
    text = err.source.field if err.source and err.source.field else ""
    out: list[Any] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)
