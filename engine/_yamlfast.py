"""The common shape of a hand-written or generated case file, parsed without libyaml.

libyaml builds a node object per scalar and calls back into Python for every tag: on a
case file of thirty lines that is ~90 µs, most of a case's parsing time. Most files use a
small part of YAML: block mappings and lists, plain or quoted one-line scalars, one-line
flow mappings and lists (``- {date: 2026-07-14, type: late_payment}``), comments.
:func:`parse` reads exactly that part, line by line, and gives what
:func:`partways._yaml.load_text` would give (the same data, the same line of every path);
on anything else (a multi-line or escaped scalar, an anchor, a tag, a tab, a duplicate
key, an unusual key, a value near a limit, anything malformed) it returns ``None`` and the
caller parses the text with libyaml, which also words every error. A differential test
(tests/test_fast_yaml.py) checks the two agree on generated and mutated documents.

Plain scalars are resolved by the same resolver and constructors as the libyaml path
(``yes`` is true, ``2026-11-01`` stays text, ``0x1F`` is 31).
"""

from __future__ import annotations

import re
from typing import Any

from . import _yaml, limits

_STR = "tag:yaml.org,2002:str"

#: Characters the fast path leaves to libyaml wherever they appear: tabs, carriage
#: returns, YAML's other line breaks (NEL, LS, PS), a byte-order mark, and every
#: character YAML does not allow in a stream.
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                      "\U00010000-\U0010ffff]")
#: ``key:`` then a space or the line's end (a key of letters, digits and ``_``/``-``).
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)")
#: A one-line quoted scalar, then optional spaces and comment.
_SINGLE = re.compile(r"'((?:[^']|'')*)'(?: *| +#.*)$")
_DOUBLE = re.compile(r'"([^"\\]*)"(?: *| +#.*)$')
#: One entry of a one-line flow collection: a plain key (mappings), then a value that is
#: quoted, or plain without any character with a meaning in flow context.
_FLOW_PLAIN = r"[^\s,\[\]{}#:'\"&*!|>%@`?-](?:[^,\[\]{}#:]*[^\s,\[\]{}#:])?"
_FLOW_VALUE = rf"""(?:"([^"\\]*)"|'((?:[^']|'')*)'|({_FLOW_PLAIN}))"""
_FLOW_MAP_ITEM = re.compile(rf" *([A-Za-z_][A-Za-z0-9_-]*): +{_FLOW_VALUE} *(,|}})")
_FLOW_SEQ_ITEM = re.compile(rf" *{_FLOW_VALUE} *(,|\])")
_FLOW_END = re.compile(r" *(?:#.*)?$")
#: First characters a one-line plain block scalar may not start with (indicators).
_INDICATORS = frozenset("[]{},#&*!|>'\"%@`?:")
#: First characters the inline plain-text test leaves to :meth:`_Parser.scalar`.
_NOT_PLAIN = _INDICATORS | {"-"}
_LONGEST = limits.MAX_STRING
_EMPTY_LIST, _EMPTY_MAP = re.compile(r"\[\](?: *| +#.*)$"), re.compile(r"\{\}(?: *| +#.*)$")


class _Decline(Exception):
    """The text is outside the fast path's part of YAML: parse it with libyaml."""


def parse(text: str) -> tuple[Any, dict[tuple[Any, ...], int]] | None:
    """``(data, lines)`` as the libyaml path builds them, or ``None`` to use libyaml."""
    if _UNUSUAL.search(text) is not None:
        return None
    rows: list[tuple[int, int, str]] = []  # (line number, indent, content) of content lines
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if content and content[0] != "#":
            rows.append((number, len(line) - len(content), content.rstrip(" ")))
    if not rows or rows[0][2].startswith(("---", "...", "%")):
        return None
    parser = _Parser(rows)
    try:
        data = parser.block(0, rows[0][1], (), 0)
    except _Decline:
        return None
    # every value but the document has a path of its own: len(lines) counts the values
    if parser.i != len(rows) or len(parser.lines) >= limits.MAX_NODES:
        return None
    return data, parser.lines


class _Parser:
    def __init__(self, rows: list[tuple[int, int, str]]) -> None:
        self.rows = rows
        self.i = 0
        self.lines: dict[tuple[Any, ...], int] = {}

    def block(self, i: int, indent: int, path: tuple[Any, ...], depth: int) -> Any:
        """The block collection whose first line is row ``i`` at ``indent``."""
        if depth >= limits.MAX_DEPTH - 1:
            raise _Decline
        number, _, content = self.rows[i]
        self.lines.setdefault(path, number)
        if content == "-" or content.startswith("- "):
            return self.sequence(i, indent, path, depth)
        return self.mapping(i, indent, path, depth)

    def mapping(self, i: int, indent: int, path: tuple[Any, ...], depth: int) -> dict[str, Any]:
        rows, lines = self.rows, self.lines
        out: dict[str, Any] = {}
        n = len(rows)
        key_match, text_keys = _KEY.match, _TEXT_KEYS
        plain_tags, values = _yaml._PLAIN_TAGS, _yaml._VALUES
        while i < n:
            number, at, content = rows[i]
            if at != indent:
                if at > indent:
                    raise _Decline  # a continuation line, or malformed
                break
            m = key_match(content)
            if m is None:
                raise _Decline
            key = m.group(1)
            if key in out or (key not in text_keys and not _text_key(key)):
                raise _Decline
            child = (*path, key)
            lines[child] = number
            rest = content[m.end():]
            i += 1
            if rest and rest[0] != "#":
                # the commonest values inline (what scalar() gives them), the rest there
                first = rest[0]
                if first not in _NOT_PLAIN and " #" not in rest and ": " not in rest \
                        and rest[-1] != ":" and len(rest) <= _LONGEST:
                    tag = plain_tags.get(rest)
                    if tag == _STR:
                        out[key] = rest
                        continue
                    value = values.get((tag, rest), _UNKNOWN)  # type: ignore[arg-type]
                    if value is not _UNKNOWN:
                        out[key] = value
                        continue
                elif first == "'" and rest[-1] == "'" and len(rest) > 1 \
                        and "'" not in rest[1:-1] and len(rest) <= _LONGEST:
                    out[key] = rest[1:-1]
                    continue
                out[key] = self.scalar(rest, number, child)
                continue
            # nothing after the colon: a nested block, a list at the same indent, or null
            if i < n and (rows[i][1] > indent or (
                    rows[i][1] == indent and (rows[i][2] == "-" or rows[i][2][:2] == "- "))):
                self.i = i
                out[key] = self.block(i, rows[i][1], child, depth + 1)
                i = self.i
            else:
                out[key] = None
        self.i = i
        return out

    def sequence(self, i: int, indent: int, path: tuple[Any, ...], depth: int) -> list[Any]:
        rows, lines = self.rows, self.lines
        out: list[Any] = []
        n = len(rows)
        while i < n:
            number, at, content = rows[i]
            if at != indent:
                if at > indent:
                    raise _Decline
                break
            if content[:2] != "- ":
                break  # the list ends; the mapping that holds it (at this indent) goes on
            item = content[2:].lstrip(" ")
            if not item or item[0] == "#" or item[:2] == "- " or item == "-":
                raise _Decline  # an item on the next lines, or a list in a list
            child = (*path, len(out))
            lines[child] = number
            if _KEY.match(item) is not None:
                # ``- key: value``: a mapping whose keys stand at the item's column
                column = at + len(content) - len(item)
                rows[i] = (number, column, item)
                out.append(self.block(i, column, child, depth + 1))
                i = self.i
            else:
                out.append(self.scalar(item, number, child))
                i += 1
        self.i = i
        return out

    def scalar(self, text: str, number: int, path: tuple[Any, ...]) -> Any:
        """A value on one line (a scalar or a one-line flow collection)."""
        first = text[0]
        if first == "'":
            m = _SINGLE.match(text)
            if m is None:
                raise _Decline
            return _text(m.group(1).replace("''", "'"))
        if first == '"':
            m = _DOUBLE.match(text)
            if m is None:
                raise _Decline
            return _text(m.group(1))
        if first == "{":
            return self.flow(text, _FLOW_MAP_ITEM, "}", number, path)
        if first == "[":
            return self.flow(text, _FLOW_SEQ_ITEM, "]", number, path)
        if first in _INDICATORS or (first == "-" and (len(text) == 1 or text[1] == " ")):
            raise _Decline
        cut = text.find(" #")
        if cut >= 0:
            text = text[:cut].rstrip(" ")
        if ": " in text or text.endswith(":"):
            raise _Decline
        return _plain(text)

    def flow(self, text: str, item: re.Pattern[str], close: str, number: int,
             path: tuple[Any, ...]) -> Any:
        """A one-line flow mapping or list of scalars: ``{a: 1, b: "x"}``, ``[a, b]``."""
        if (_EMPTY_MAP if close == "}" else _EMPTY_LIST).match(text):
            return {} if close == "}" else []
        mapping = close == "}"
        out: Any = {} if mapping else []
        pos, end = 1, ","
        while end == ",":
            m = item.match(text, pos)
            if m is None:
                raise _Decline
            groups = m.groups()
            if mapping:
                key, double, single, plain, end = groups
                if key in out or (key not in _TEXT_KEYS and not _text_key(key)):
                    raise _Decline
                child = (*path, key)
            else:
                double, single, plain, end = groups
                child = (*path, len(out))
            if double is not None:
                value = _text(double)
            elif single is not None:
                value = _text(single.replace("''", "'"))
            else:
                value = _plain(plain)
            self.lines[child] = number
            if mapping:
                out[key] = value
            else:
                out.append(value)
            pos = m.end()
        if _FLOW_END.match(text, pos) is None:
            raise _Decline
        return out


def _text(value: str) -> str:
    if len(value) > limits.MAX_STRING:
        raise _Decline
    return value


def _plain(text: str) -> Any:
    """A plain scalar's value, as the libyaml path resolves and constructs it."""
    tag = _yaml.plain_tag(text)
    if tag == _STR:
        return _text(text)
    try:
        return _yaml.scalar_value(tag, text)
    except ValueError:
        raise _Decline from None  # refused: libyaml's path words the error


def _text_key(key: str) -> bool:
    """Whether ``key`` (a plain key) is text, as libyaml's path would resolve it: ``yes``
    or ``null`` are not, and are left to that path."""
    if _yaml.plain_tag(key) != _STR:
        return False
    if len(_TEXT_KEYS) < 10_000:
        _TEXT_KEYS.add(key)
    return True


_TEXT_KEYS: set[str] = set()
_UNKNOWN: object = _yaml._UNKNOWN
