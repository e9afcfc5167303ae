"""The public entry points: load a KB and a case, assess it, check it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import _yaml
from .assessment import Assessment, build
from .case import Case, _Plain, case_from_data, check_doc, load_case, parse_case
from .errors import CaseError
from .facts import build_facts
from .inference import Program, compile_kb, run
from .knowledge import KnowledgeBase, load_kb, per_kb

_PROGRAMS: dict[int, tuple[KnowledgeBase, Program]] = {}

PathLike = str | os.PathLike[str]
#: What every entry point takes as ``kb``: a loaded KB, or overlay directories to put on
#: top of the shipped one (one path or several).
KBLike = KnowledgeBase | PathLike | Sequence[PathLike] | None


def program_for(kb: KnowledgeBase) -> Program:
    """The compiled program of ``kb`` (compiled once per KB object)."""
    return per_kb(_PROGRAMS, kb, compile_kb)


def resolve_kb(kb: KBLike = None, overlays: Sequence[PathLike] = ()) -> KnowledgeBase:
    """``kb`` as a :class:`KnowledgeBase`: given, or the shipped KB with the overlays of
    ``kb`` (a directory or a list of them) and ``overlays`` on top."""
    if isinstance(kb, KnowledgeBase):
        if overlays:
            raise TypeError("give overlays either in kb= or in overlays=, not both with "
                            "a loaded KnowledgeBase")
        return kb
    if kb is None:
        extra: list[PathLike] = []
    elif isinstance(kb, (str, os.PathLike)):
        extra = [kb]
    else:
        extra = list(kb)
    return load_kb(overlays=[*extra, *overlays])


def assess_case(case: Case, kb: KBLike = None, *,
                overlays: Sequence[PathLike] = (), engine: str | None = None) -> Assessment:
    """Assess an already-loaded :class:`Case`.

    ``engine`` picks the inference backend: ``"durable"`` (durable_rules) or ``"python"``
    (the compiled pure-Python backend); by default ``PARTWAYS_ENGINE``, else durable_rules
    where it imports, else the Python backend. Both give the same result.
    """
    kbase = resolve_kb(kb, overlays)
    program = program_for(kbase)
    facts = build_facts(kbase, case)
    trace = run(program, facts, engine)
    return build(program, case, trace)


def assess(source: PathLike | Case, kb: KBLike = None, *,
           overlays: Sequence[PathLike] = (),
           today: dt.date | None = None, engine: str | None = None) -> Assessment:
    """Assess a case file (YAML or JSON path) or a :class:`Case`.

    >>> from partways import assess
    >>> assess("examples/acme-late-payer.yaml").decision  # doctest: +SKIP
    'terminate'
    """
    kbase = resolve_kb(kb, overlays)
    case = source if isinstance(source, Case) else load_case(source, kbase, today=today)
    return assess_case(case, kbase, engine=engine)


def assess_text(text: str, kb: KBLike = None, *, overlays: Sequence[PathLike] = (),
                name: str = "<stdin>", today: dt.date | None = None,
                engine: str | None = None) -> Assessment:
    """Assess case text (YAML or JSON)."""
    kbase = resolve_kb(kb, overlays)
    return assess_case(parse_case(text, kbase, name=name, today=today), kbase, engine=engine)


def assess_data(data: Mapping[str, Any], kb: KBLike = None, *,
                overlays: Sequence[PathLike] = (), name: str = "<data>",
                today: dt.date | None = None, engine: str | None = None) -> Assessment:
    """Assess a case given as a mapping (as a CRM would build it)."""
    kbase = resolve_kb(kb, overlays)
    return assess_case(case_from_data(data, kbase, name=name, today=today), kbase,
                       engine=engine)


def validate_case(source: PathLike | Mapping[str, Any], kb: KBLike = None, *,
                  overlays: Sequence[PathLike] = (), text: str | None = None,
                  name: str = "<data>", today: dt.date | None = None) -> list[CaseError]:
    """Every problem of a case, not only the first: a path, a mapping, or ``text`` (YAML
    or JSON, with ``source`` as its name). Each error's ``source`` holds file, line and
    field; ``str(error)`` is ``file:line: field: message``. An empty list: the case is valid.
    """
    kbase = resolve_kb(kb, overlays)
    try:
        if text is not None:
            doc = _yaml.load_text(text, str(source), CaseError)
        elif isinstance(source, Mapping):
            doc = _yaml.Document(_Plain(name).plain(source, (), 0), name, {})
        else:
            doc = _yaml.load_file(os.fspath(source), CaseError)
    except CaseError as err:
        return [err]
    return check_doc(doc, kbase, today)
