"""Every bound partways puts on what it reads and on what it spends, in one place.

``docs/SECURITY.md`` describes each of them; a test checks the two agree. A case file,
standard input, an overlay's YAML, a ``log`` edit and a mapping given to
:func:`partways.assess_data` all go through the same checks, so none of them can make
partways use unbounded time or memory.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: Largest input, in bytes (a case file, standard input, one KB file).
MAX_BYTES = 2_000_000
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 32
#: YAML aliases (``*name``) in one document; anchors and aliases are otherwise kept as
#: plain references, so a "billion laughs" file is refused at the 101st alias.
MAX_ALIASES = 100
#: Values (mappings, lists, scalars) in one document, aliases counted as often as used.
MAX_NODES = 200_000
#: Longest single text value, in characters (the case schema narrows most fields).
MAX_STRING = 20_000
#: Largest magnitude of any number (money, hours, days, counts, policy values).
MAX_NUMBER = 1e15
#: Dates partways accepts (inclusive): far enough for any business relationship, and
#: far enough from the calendar's ends that every date computed from them exists.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2999, 12, 31)
#: Default wall-clock budget of ``flip`` and ``what-if`` searches, in seconds.
SEARCH_SECONDS = 5.0
#: Nodes above which a graph is not laid out by Graphviz (the report falls back to text).
MAX_LAYOUT_NODES = 400
#: Seconds a Graphviz ``dot`` run may take before it is stopped.
DOT_SECONDS = 20.0
#: Letter templates: largest ``range()`` and longest rendered message, in characters.
MAX_TEMPLATE_RANGE = 1_000
MAX_TEMPLATE_OUTPUT = 100_000
#: Seconds ``log`` waits for another ``log`` writing the same case file.
LOCK_SECONDS = 30.0

#: The limits as a table (name -> value), for the documentation check and ``--help``.
LIMITS: dict[str, Any] = {name: value for name, value in sorted(globals().items())
                          if name.isupper() and not name.startswith("_")}


def number_problem(value: Any) -> str | None:
    """Why ``value`` (a number) is refused, or ``None`` when it is fine."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if abs(value) > MAX_NUMBER:
        return f"number too large (the limit is {MAX_NUMBER:.0e})"
    return None


def date_problem(day: dt.date) -> str | None:
    """Why ``day`` is refused, or ``None`` when it lies in the supported range."""
    if MIN_DATE <= day <= MAX_DATE:
        return None
    return (f"date {day.isoformat()} is outside the supported range "
            f"{MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}")
