"""Fast JSON for the hot path: orjson where it gives the same bytes as the json module.

``dumps_sorted`` is ``json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)``
byte for byte: orjson writes the same text for strings, booleans, None, integers within
64 bits and floats, except floats below 1e-4 (``1e-05`` against ``0.00001``, ``2.5e-07``
against ``2.5e-7``), and NaN or infinity (``NaN`` against ``null``), which never reach an
assessment (facts normalise them away, a policy refuses them). Output showing such a
small float, and values orjson refuses (a huge integer, a lone surrogate, a non-string
key), go to the json module. A test compares both on every example.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json keeps working
    orjson = None  # type: ignore[assignment]

# Python writes a float below 1e-4 as 1e-05 or 2.5e-07 where orjson writes 0.00001 or
# 2.5e-7: such a number in orjson's output (or the same characters inside a string) sends
# the value to the json module. Each form searched on its own (a regex alternation over the
# whole output cost more than the encoding): a regular expression's literal prefix search
# finds ``0.0000`` in about 2/3 of the time ``b"0.0000" in out`` takes, and ``e-``
# followed by a digit in about half the time ``b"e-" in out`` takes (``e`` is the
# commonest letter of the output's text).
_PLAIN = re.compile(rb"0\.0000")
_EXPONENT = re.compile(rb"e-[0-9]")


def _small_float(out: bytes) -> bool:
    if _PLAIN.search(out) is not None:
        return True
    found = _EXPONENT.search(out)
    while found is not None:  # one pass: each ``e-<digit>`` once, until one follows a digit
        at = found.start()
        if out[at - 1:at].isdigit():
            return True
        found = _EXPONENT.search(out, at + 2)
    return False


_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 if orjson is not None else 0


def dumps_sorted(value: Any) -> str:
    """Sorted keys, two-space indent, UTF-8 text kept, no trailing newline."""
    if orjson is not None:
        try:
            out = orjson.dumps(value, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):  # a huge integer, a lone surrogate...
            pass
        else:
            if not _small_float(out):
                return out.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


_CANONICAL = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
              | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson is not None else 0


def dumps_canonical(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    default=str)`` byte for byte (what a decision id hashes). As :func:`dumps_sorted`, with
    one more way to the json module: output showing ``null``, which orjson also writes for
    a NaN or an infinity (json writes ``NaN``, ``Infinity``); dates and dataclasses go to
    ``default=str`` as in json."""
    if orjson is not None:
        try:
            out = orjson.dumps(value, default=str, option=_CANONICAL)
        except (orjson.JSONEncodeError, TypeError):
            pass
        else:
            if b"null" not in out and not _small_float(out):
                return out.decode("utf-8")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def dumps_compact(value: Any) -> str:
    """Compact JSON for the rule engine's C API (which parses any valid JSON)."""
    if orjson is not None:
        try:
            return orjson.dumps(value).decode("utf-8")
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return orjson.loads(text) if orjson is not None else json.loads(text)
