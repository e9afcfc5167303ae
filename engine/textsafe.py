"""Free text made harmless before it reaches any output.

A case's free text (a client's name, a note, a deliverable) is shown in terminals,
Markdown, calendars, DOT, SVG, GraphML and HTML. Every format escapes its own syntax;
this module removes what no format should carry at all: control characters (an ESC
that starts a terminal sequence, a newline that fakes a line of the report, a NUL that
breaks XML) and the bidirectional embeddings, overrides and isolates that reorder the
text around them. Each is replaced by one visible character, so lengths do not change:
C0 controls by their Unicode control pictures (``ESC`` -> ``␛``, a newline -> ``␊``),
DEL by ``␡``, C1 controls, line and paragraph separators and bidi controls by ``�``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPLACEMENT = "\ufffd"
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_TABLE[0x7F] = "\u2421"
_TABLE.update({c: REPLACEMENT for c in (*range(0x80, 0xA0), 0x2028, 0x2029,
                                        *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def visible(text: str) -> str:
    """``text`` with every control character replaced by a visible one (same length)."""
    if text.isascii() and text.isprintable():  # most text: nothing to replace
        return text
    return text.translate(_TABLE)


def visible_data(value: Any) -> Any:
    """``value`` (plain data) with :func:`visible` applied to every string in it."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):  # the common case first: one call per container
        # (visible() written out: most text is printable ASCII and stays as it is)
        return {k: (v if v.isascii() and v.isprintable() else v.translate(_TABLE))
                if type(v) is str else
                v if v is None or type(v) in _SCALARS else visible_data(v)
                for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: visible_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [visible_data(v) if type(v) is not str else v
                if v.isascii() and v.isprintable() else v.translate(_TABLE) for v in value]
    return value


_SCALARS = (int, float, bool)


def first_control(value: Any, at: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """The path and character of the first control character in ``value``, if any.

    Knowledge-base texts are refused rather than repaired when they carry one: an
    overlay is data, and a terminal sequence in a rule's title is never intended.
    Newlines and tabs are allowed (texts and letter templates span lines).
    """
    if isinstance(value, str):
        for ch in value:
            if ord(ch) in _TABLE and ch not in "\n\t":
                return at, ch
        return None
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = first_control(item, (*at, key))
        if found:
            return found
    return None

