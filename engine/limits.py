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
#: Default wall-clock budget of a ``flip`` search, in seconds (a safety net: the work
#: budget below normally ends a search on a large case first, deterministically).
SEARCH_SECONDS = 10.0
#: Work budget of a ``flip`` search: variants evaluated times items in the case (events,
#: remediation steps, deliverables); a case of 1,500 events gets 40 variants, not 800.
SEARCH_WORK = 60_000
#: Nodes above which a graph is not laid out by Graphviz (the report falls back to text).
MAX_LAYOUT_NODES = 1_000
#: Seconds a Graphviz ``dot`` run may take before it is stopped.
DOT_SECONDS = 60.0
#: Letter templates: largest ``range()`` and longest rendered message, in characters.
MAX_TEMPLATE_RANGE = 1_000
MAX_TEMPLATE_OUTPUT = 100_000
#: Seconds ``log`` waits for another ``log`` writing the same case file.
LOCK_SECONDS = 30.0



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


#: Unbounded repeats (``*``, ``+``, ``{n,}``) one regular expression of an overlay's case
#: schema may hold; nested repeats, backreferences and lookarounds are refused outright.
MAX_PATTERN_REPEATS = 2


def pattern_problem(pattern: str) -> str | None:
    """Why a regular expression from an overlay is refused, or ``None``.

    Python's ``re`` backtracks: ``(a+)+$`` takes exponential time on a 41-character
    name. A pattern is accepted when no repeat contains another repeat or an
    alternation, it has no backreference or lookaround, and it holds at most
    :data:`MAX_PATTERN_REPEATS` unbounded repeats: then matching is at worst
    polynomial of that small degree in the (schema-bounded) text length.
    """
    try:
        from re import _parser as sre  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as sre
    try:
        tree = sre.parse(pattern)
    except Exception as exc:  # re.error and friends
        return f"not a valid regular expression: {exc}"
    consts = sre._constants if hasattr(sre, "_constants") else sre
    repeats = {consts.MAX_REPEAT, consts.MIN_REPEAT, getattr(consts, "POSSESSIVE_REPEAT", None)}
    unbounded = 0

    def walk(items: Any, inside_repeat: bool) -> str | None:
        nonlocal unbounded
        for op, av in items:
            if op in (consts.GROUPREF, consts.GROUPREF_EXISTS):
                return "backreferences are not allowed"
            if op in (consts.ASSERT, consts.ASSERT_NOT):
                return "lookarounds are not allowed"
            if op in repeats:
                _low, high, sub = av
                if inside_repeat:
                    return "a repeat inside a repeat can take exponential time"
                if high == consts.MAXREPEAT:
                    unbounded += 1
                problem = walk(sub, high > 1)
            elif op == consts.SUBPATTERN:
                problem = walk(av[-1], inside_repeat)
            elif op == consts.BRANCH:
                if inside_repeat:
                    return "an alternation inside a repeat can take exponential time"
                problem = next((p for b in av[1] if (p := walk(b, inside_repeat))), None)
            else:
                problem = None
            if problem:
                return problem
        return None

    problem = walk(tree, False)
    if problem is None and unbounded > MAX_PATTERN_REPEATS:
        problem = f"more than {MAX_PATTERN_REPEATS} unbounded repeats"
    return problem


#: The limits as a table (name -> value), for the documentation check and ``--help``.
LIMITS: dict[str, Any] = {name: value for name, value in sorted(globals().items())
                          if name.isupper() and not name.startswith("_")}
