"""Append dated entries (events, remediation steps, ...) to a case file, safely.

An entry arrives as ``key=value,key=value``; values are typed by the KB's case schema
(an integer field gets an integer, a date field a date). The whole edited case is
validated before anything is written; the file keeps its comments, order and
formatting (ruamel.yaml round trip) and is replaced atomically (a temporary file in the
same directory, then ``os.replace``). A refused entry leaves the file byte-for-byte as
it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import fcntl
import glob
import io
import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import yaml as pyyaml

from . import _yaml, limits
from ._validate import validator_for
from .case import Case, parse_case
from .errors import CaseError, Source, did_you_mean
from .knowledge import KnowledgeBase

_PAIR = re.compile(r"""\s*([^=,\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^,]*)\s*(?:,|$)""")
_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLS = {"true": True, "yes": True, "false": False, "no": False}


def parse_pairs(text: str, source: Source | None = None) -> dict[str, str]:
    """``type=late_payment,date=2026-11-01`` -> ``{"type": "late_payment", ...}``.

    A value may be quoted (``note="late, again"``) to hold commas; keys must not repeat.
    """
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].split(",", 1)[0].strip()
            raise CaseError(f"expected key=value pairs separated by commas, got '{rest}'",
                            source)
        key, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if m.group(2).strip()[0] == '"':
                value = re.sub(r"\\(.)", r"\1", value)
        if key in out:
            raise CaseError(f"key '{key}' is given twice", source)
        out[key] = value
        pos = m.end()
    if not out:
        raise CaseError("an entry needs at least one key=value pair", source)
    return out


def section_of(kb: KnowledgeBase, kind: str) -> str:
    """The case list that holds entries of fact type ``kind`` (``event`` -> ``events``)."""
    lists = {name: ft.source for name, ft in kb.fact_types.items()
             if ft.source and ft.source != "." and not ft.derived and not ft.table
             and _is_list(kb.case_schema, ft.source)}
    if kind not in lists:
        raise CaseError(f"cannot log a '{kind}'{did_you_mean(kind, lists)} "
                        f"(one of {', '.join(sorted(lists))})")
    return str(lists[kind])


def _is_list(schema: Mapping[str, Any], key: str) -> bool:
    return (schema.get("properties", {}).get(key) or {}).get("type") == "array"


def coerce_entry(kb: KnowledgeBase, section: str, raw: Mapping[str, str],
                 source: Source | None = None) -> dict[str, Any]:
    """Type each value by the case schema's declaration of that field in ``section``.

    ``date`` comes first, then the other keys in the order given. An unknown key is an
    error (with a suggestion); a value that fits no declared type stays text, for
    validation to name the problem.
    """
    item_schema = kb.case_schema["properties"][section].get("items", {})
    known = _declared(item_schema, raw, None)
    for key in raw:
        if known and key not in known:
            raise CaseError(f"unknown key '{key}'{did_you_mean(key, known)}", source)
    entry: dict[str, Any] = {}
    for key in sorted(raw, key=lambda k: k != "date"):  # stable: date first
        entry[key] = _coerce(raw[key], _declared(item_schema, raw, key))
    return entry


def _declared(schema: Any, raw: Mapping[str, str], key: str | None) -> set[str]:
    """Types (and ``date`` for date formats) the schema allows for ``key`` of ``raw``;
    with ``key`` None, the keys it declares at all."""
    found: set[str] = set()

    def visit(s: Any) -> None:
        if not isinstance(s, dict):
            return
        if key is None:
            found.update(s.get("properties") or {})
        prop = (s.get("properties") or {}).get(key) if key is not None else None
        if isinstance(prop, dict):
            found.update(_types_of(prop))
        for branch in s.get("allOf", ()):
            cond = branch.get("if") if isinstance(branch, dict) else None
            if cond is None:
                visit(branch)
            elif _condition(json.dumps(cond, sort_keys=True)).is_valid(dict(raw)):
                visit(branch.get("then"))
            else:
                visit(branch.get("else"))

    visit(schema)
    return found


@cache
def _condition(schema_json: str) -> Any:
    """A validator for one ``if`` of the case schema (checked and built once)."""
    return validator_for(json.loads(schema_json))


def _types_of(prop: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    declared = prop.get("type")
    out.update([declared] if isinstance(declared, str) else declared or [])
    if prop.get("format") == "date":
        out.add("date")
    for value in [*prop.get("enum", ()), *(["const"] if "const" in prop else ())]:
        out.add(_json_type(prop["const"] if value == "const" else value))
    for alt in [*prop.get("oneOf", ()), *prop.get("anyOf", ())]:
        if isinstance(alt, dict):
            out.update(_types_of(alt))
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null" if value is None else "string"


def _coerce(value: str, types: set[str]) -> Any:
    text = value.strip()
    if "date" in types:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return value
    if types & {"integer", "number"} and _INT.match(text):
        return int(text)
    if "number" in types and _NUMBER.match(text):
        return float(text)
    if "boolean" in types and text.lower() in _BOOLS:
        return _BOOLS[text.lower()]
    if "null" in types and text in ("", "null", "~"):
        return None
    return value


def log_entries(path: str | os.PathLike[str], kb: KnowledgeBase,
                entries: Sequence[tuple[str, str]], *,
                today: dt.date | None = None, as_of: dt.date | None = None) -> Case:
    """Append ``entries`` (``(kind, "key=value,...")``, e.g. ``("event", ...)``) to the case
    file at ``path`` and return the validated case as written.

    Nothing is written unless every entry parses and the whole edited case is valid.
    With ``as_of``, the case's ``as_of`` moves forward to that date first (an entry may
    then be dated up to it); a date before the case's own ``as_of`` is refused.

    Concurrent calls on the same file never lose an entry: each takes an exclusive lock
    on the file (waiting up to :data:`partways.limits.LOCK_SECONDS`), reads it under the
    lock and replaces it atomically. A symbolic link is followed and its target
    replaced; a read-only file or folder is refused.
    """
    link = Path(path)
    target = Path(os.path.realpath(link))
    with _locked(target, str(link)):
        _clean_stale_temps(target)
        raw_bytes = _read(target, str(link))
        case, data = _edit(raw_bytes, kb, entries, str(link), today, as_of)
        _write_atomic(target, data, str(link))
    return case


def _edit(raw_bytes: bytes, kb: KnowledgeBase, entries: Sequence[tuple[str, str]],
          name: str, today: dt.date | None, as_of: dt.date | None) -> tuple[Case, bytes]:
    """The validated edited case and the bytes to write."""
    bom = raw_bytes.startswith(b"\xef\xbb\xbf")
    text = raw_bytes.decode("utf-8-sig")
    crlf = "\r\n" in text
    text = text.replace("\r\n", "\n")
    # a file that is already invalid is reported as it is, with its own line numbers
    before = parse_case(text, kb, name=name, today=today)
    if as_of is not None and as_of < before.as_of and "as_of" in before.data:
        raise CaseError(f"--as-of {as_of.isoformat()} is before the case's as_of "
                        f"{before.as_of.isoformat()}; it only moves forward",
                        Source(name, before.doc.line(("as_of",)) if before.doc else None))
    new_as_of = None
    if as_of is not None and (as_of > before.as_of or "as_of" not in before.data):
        new_as_of = as_of.isoformat()
    additions: list[tuple[str, dict[str, Any]]] = []
    origin: dict[str, str] = {}  # "events[3]" -> "--event": where an added entry came from
    for kind, spec in entries:
        src = Source(name, field=f"--{kind}")
        section = section_of(kb, kind)
        entry = coerce_entry(kb, section, parse_pairs(spec, src), src)
        index = len(before.data.get(section) or []) + sum(s == section for s, _ in additions)
        origin[f"{section}[{index}]"] = f"--{kind}"
        additions.append((section, entry))
    is_json = text.lstrip().startswith("{")
    new_text = _append_json(text, additions, new_as_of) if is_json else _append_yaml(
        text, additions, name, new_as_of)
    try:
        case = parse_case(new_text, kb, name=name, today=today)  # the WHOLE case
    except CaseError as err:
        raise _relocate(err, origin, name) from None
    if crlf:
        new_text = new_text.replace("\n", "\r\n")
    return case, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8")


@contextmanager
def _locked(target: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``target`` (the file itself, so no lock file is left
    behind). A writer replaces the file, so after the lock is granted the path must
    still name the locked file; otherwise the lock is taken again on the new one."""
    deadline = time.monotonic() + limits.LOCK_SECONDS
    while True:
        try:
            fd = os.open(target, os.O_RDONLY)
        except OSError as exc:
            raise CaseError(f"cannot read file: {exc.strerror}", Source(name)) from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CaseError(f"the file is locked by another 'log' for more than "
                                        f"{limits.LOCK_SECONDS:g} s", Source(name)) from None
                    time.sleep(0.02)
            try:
                same = os.stat(target).st_ino == os.fstat(fd).st_ino
            except OSError:
                same = False
            if same:
                yield
                return
        finally:
            os.close(fd)  # closing releases the lock


def _clean_stale_temps(target: Path) -> None:
    """Remove temporary files an earlier ``log`` left when it was killed mid-write
    (safe: the lock is held, so no other ``log`` is writing one now)."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _relocate(err: CaseError, origin: Mapping[str, str], name: str) -> CaseError:
    """Point an error in an added entry at the option that gave it, not at a line of a
    file that was never written."""
    fld = err.source.field if err.source else None
    for prefix, option in origin.items():
        if fld and (fld == prefix or fld.startswith((f"{prefix}.", f"{prefix}["))):
            rest = fld[len(prefix):].lstrip(".")
            message = err.message.replace(f"'{prefix}'", "the entry")
            return type(err)(message, Source(name, None, f"{option}: {rest}" if rest
                                             else option))
    return err


def _read(path: Path, name: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"cannot read file: {exc.strerror}", Source(name)) from None
    if len(data) > limits.MAX_BYTES:
        raise CaseError(f"file is larger than the {limits.MAX_BYTES // 1_000_000} MB limit",
                        Source(name))
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError(f"file is not UTF-8 text (byte {exc.start})", Source(name)) \
            from None
    return data


def _append_json(text: str, additions: Iterable[tuple[str, dict[str, Any]]],
                 as_of: str | None = None) -> str:
    """JSON has no comments: keep key order and indentation, add the entries."""
    data = json.loads(text)
    if as_of is not None:
        data["as_of"] = as_of
    for section, entry in additions:
        items = data.get(section)
        data[section] = [*(items or []), {k: v.isoformat() if isinstance(v, dt.date) else v
                                          for k, v in entry.items()}]
    indent = _json_indent(text)
    return json.dumps(data, ensure_ascii=False, indent=indent) + "\n"


def _json_indent(text: str) -> int | None:
    m = re.search(r"\n( +)\"", text)
    return len(m.group(1)) if m else None


def _append_yaml(text: str, additions: Iterable[tuple[str, dict[str, Any]]],
                 name: str, as_of: str | None = None) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 100_000  # never re-wrap the user's long lines
    mapping, sequence, offset = _indentation(text)
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    try:
        data = rt.load(text)
    except YAMLError as exc:
        raise CaseError(f"malformed YAML: {exc}", Source(name)) from None
    reopened: set[int] = set()  # lines of empty lists (``events: []``) that become blocks
    if as_of is not None:
        if "as_of" in data:
            reopened.add(data.lc.key("as_of")[0])
            data["as_of"] = dt.date.fromisoformat(as_of)  # a date: written unquoted
        else:
            data.insert(min(1, len(data)), "as_of", dt.date.fromisoformat(as_of))
    for section, entry in additions:
        items = data.get(section)
        if not isinstance(items, list) or not items:
            if isinstance(items, list):
                reopened.add(data.lc.key(section)[0])
            items = CommentedSeq()
            data[section] = items
        item = CommentedMap((k, _scalar(v)) for k, v in entry.items())
        last = items[-1] if len(items) else None
        flow = last is None or (isinstance(last, CommentedMap) and last.fa.flow_style())
        if flow:  # the case format writes one entry per line: {date: ..., type: ...}
            item.fa.set_flow_style()
        items.append(item)
    out = io.StringIO()
    rt.dump(data, out)
    return _only_added(text, out.getvalue(), name, reopened)


def _scalar(value: Any) -> Any:
    """Quote text that the case loader would read as something else (``yes``, ``12``)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str):
        tag = _resolver().resolve(pyyaml.ScalarNode, value, (True, False))
        if tag != "tag:yaml.org,2002:str" or value != value.strip() or not value:
            return DoubleQuotedScalarString(value)
    return value


@cache
def _resolver() -> Any:
    """The case loader's own resolver: what a plain scalar would be read as."""
    return _yaml._Loader("")


def _indentation(text: str) -> tuple[int, int, int]:
    """The file's (mapping indent, sequence indent, dash offset), for ruamel's dumper."""
    found: dict[str, int] = {}
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for prev, line in itertools.pairwise(lines):
        if not re.match(r"^[^\s-][^:]*:\s*(#.*)?$", prev):  # a top-level key opening a block
            continue
        lead = len(line) - len(line.lstrip(" "))
        found.setdefault("offset" if line.lstrip().startswith("- ") else "mapping", lead)
    mapping = found.get("mapping") or 2  # default: the case format's own style
    offset = found.get("offset", 2)
    return mapping, offset + 2, offset


_NULL = re.compile(r"(:|-)[ \t]*(null|Null|NULL|~)?[ \t]*(#.*)?$")


def _only_added(old: str, new: str, name: str, reopened: set[int]) -> str:
    """The new text, with every line the round trip rewrote without meaning to (a null
    written ``null`` or ``~`` comes back empty) kept as the file had it. Refuses to
    write when anything else but the added lines would change (the ``key: []`` lines of
    lists that were empty and the ``as_of`` line being moved excepted)."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    ops = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag in ("equal", "insert") or set(range(i1, i2)) <= reopened:
            out += new_lines[j1:j2]
        elif tag == "replace" and i2 - i1 == j2 - j1 and all(
                _NULL.sub(r"\1", a) == _NULL.sub(r"\1", b)
                for a, b in zip(old_lines[i1:i2], new_lines[j1:j2], strict=True)):
            out += old_lines[i1:i2]  # the same nulls, spelt as the file spelt them
        else:
            raise CaseError(f"cannot add the entry without reformatting line {i1 + 1} of "
                            f"the file; add it by hand", Source(name, i1 + 1))
    return "\n".join(out) + ("\n" if new.endswith("\n") else "")


def _write_atomic(path: Path, data: bytes, name: str) -> None:
    """Write a temporary file next to ``path`` and rename it over ``path``; on any
    failure the temporary file is removed and ``path`` is left as it was."""
    mode = path.stat().st_mode & 0o7777
    if not mode & 0o222 or not os.access(path, os.W_OK):  # honoured even for root
        raise CaseError("the file is read-only; nothing was written", Source(name))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CaseError(f"cannot write next to the file ({exc.strerror}); nothing was written",
                        Source(name)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise CaseError(f"cannot write the file ({exc.strerror}); nothing was written",
                        Source(name)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
