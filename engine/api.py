"""The public entry points: load a KB and a case, assess it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .assessment import Assessment, build
from .case import Case, case_from_data, load_case, parse_case
from .facts import build_facts
from .inference import Program, compile_kb, run
from .knowledge import KnowledgeBase, load_kb

_PROGRAMS: dict[int, tuple[KnowledgeBase, Program]] = {}


def program_for(kb: KnowledgeBase) -> Program:
    """The compiled program of ``kb`` (compiled once per KB object)."""
    hit = _PROGRAMS.get(id(kb))
    if hit is None or hit[0] is not kb:
        hit = (kb, compile_kb(kb))
        _PROGRAMS[id(kb)] = hit
    return hit[1]


def assess_case(case: Case, kb: KnowledgeBase | None = None, *,
                engine: str | None = None) -> Assessment:
    """Assess an already-loaded :class:`Case`.

    ``engine`` picks the inference backend: ``"durable"`` (durable_rules) or ``"python"``
    (the compiled pure-Python backend); by default ``PARTWAYS_ENGINE``, else durable_rules
    where it imports, else the Python backend. Both give the same result.
    """
    kb = kb or load_kb()
    program = program_for(kb)
    facts = build_facts(kb, case)
    trace = run(program, facts, engine)
    return build(program, case, trace)


def assess(source: str | os.PathLike[str] | Case, kb: KnowledgeBase | None = None, *,
           overlays: Sequence[str | os.PathLike[str]] = (),
           today: dt.date | None = None, engine: str | None = None) -> Assessment:
    """Assess a case file (YAML or JSON path) or a :class:`Case`.

    >>> from partways import assess
    >>> assess("examples/acme-late-payer.yaml").decision  # doctest: +SKIP
    'terminate'
    """
    kb = kb or load_kb(overlays=overlays)
    case = source if isinstance(source, Case) else load_case(source, kb, today=today)
    return assess_case(case, kb, engine=engine)


def assess_text(text: str, kb: KnowledgeBase | None = None, *, name: str = "<stdin>",
                today: dt.date | None = None, engine: str | None = None) -> Assessment:
    """Assess case text (YAML or JSON)."""
    kb = kb or load_kb()
    return assess_case(parse_case(text, kb, name=name, today=today), kb, engine=engine)


def assess_data(data: Mapping[str, Any], kb: KnowledgeBase | None = None, *,
                today: dt.date | None = None, engine: str | None = None) -> Assessment:
    """Assess a case given as a mapping (as a CRM would build it)."""
    kb = kb or load_kb()
    return assess_case(case_from_data(data, kb, today=today), kb, engine=engine)
