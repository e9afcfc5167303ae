"""The versioned output contract: the shipped JSON Schemas, the KB digest and the
decision id that tie a stored assessment to the rules and the case that produced it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._json import dumps_canonical
from .errors import QueryError, did_you_mean
from .version import SCHEMA_VERSION, __version__

if TYPE_CHECKING:
    from .case import Case
    from .knowledge import KnowledgeBase

SCHEMAS = {"case": "case.schema.json", "assessment": "assessment.schema.json"}
#: The answers of the explanation queries: definitions of one file, explain.schema.json.
ANSWERS = {"why": "Why", "why-not": "WhyNot", "what-if": "WhatIf", "flip": "Flip",
           "plan": "Plan"}
EXPLAIN_SCHEMA = "explain.schema.json"
#: Every name ``schema_text`` and ``partways schema`` take.
SCHEMA_NAMES = (*SCHEMAS, *ANSWERS)
_DIGEST_SUFFIXES = (".yaml", ".yml", ".json")
_DIGESTS: dict[tuple[str, ...], str] = {}


def schema_text(name: str) -> str:
    """The text of a shipped JSON Schema: ``case``, ``assessment``, or the answer of an
    explanation query (``why``, ``why-not``, ``what-if``, ``flip``, ``plan``)."""
    from .knowledge import default_kb_dir

    if name in ANSWERS:
        return _answer_text(name)
    if name not in SCHEMAS:
        raise QueryError(f"no schema '{name}' (one of {', '.join(SCHEMA_NAMES)})"
                         f"{did_you_mean(name, SCHEMA_NAMES)}")
    return (default_kb_dir() / SCHEMAS[name]).read_text("utf-8")


@cache
def answer_schemas() -> Mapping[str, Any]:
    """``explain.schema.json``: every explanation answer and the parts they share, as
    ``$defs`` (the HTTP API's OpenAPI document embeds them)."""
    from .knowledge import default_kb_dir

    data: dict[str, Any] = json.loads((default_kb_dir() / EXPLAIN_SCHEMA).read_text("utf-8"))
    return data


def _answer_text(name: str) -> str:
    """One answer's schema on its own: its definition as the root, every part beside it."""
    doc = answer_schemas()
    definition = ANSWERS[name]
    return json.dumps({"$schema": doc["$schema"], "$id": f"partways:{name}",
                       "title": f"partways {name}",
                       "description": doc["$defs"][definition]["description"],
                       "$ref": f"#/$defs/{definition}", "$defs": doc["$defs"]},
                      ensure_ascii=False, indent=2) + "\n"


@cache
def schema(name: str) -> Mapping[str, Any]:
    """A shipped JSON Schema as data (any name of :data:`SCHEMA_NAMES`)."""
    data: dict[str, Any] = json.loads(schema_text(name))
    return data


def _files(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
        out.extend(Path(dirpath) / f for f in sorted(filenames)
                   if f.endswith(_DIGEST_SUFFIXES))
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def kb_digest(kb: KnowledgeBase) -> str:
    """``sha256:...`` over every YAML/JSON file of the KB and its overlays, in order
    (relative path and bytes): any edit to a rule, parameter, text or overlay changes it."""
    hit = _DIGESTS.get(kb.roots)
    if hit is None:
        h = hashlib.sha256()
        for i, root in enumerate(kb.roots):
            base = Path(root)
            h.update(f"root {i}\n".encode())
            for f in _files(base):
                data = f.read_bytes()
                h.update(f"{f.relative_to(base).as_posix()} {len(data)}\n".encode())
                h.update(data)
        hit = _DIGESTS[kb.roots] = "sha256:" + h.hexdigest()
    return hit


def normalised_case(case: Case) -> str:
    """The case data as canonical JSON (sorted keys, ``as_of`` filled in): the same
    relationship written as YAML, JSON, a dict or imported from CSV gives the same text."""
    data = dict(case.data)
    data["as_of"] = case.as_of.isoformat()
    return dumps_canonical(data)


def decision_id(case: Case, kb: KnowledgeBase) -> str:
    """A deterministic id of one decision: the normalised case, the KB digest and the
    partways version, hashed."""
    h = hashlib.sha256()
    for part in (normalised_case(case), kb_digest(kb), __version__):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def stamp(kb: KnowledgeBase, case: Case) -> dict[str, Any]:
    """The contract fields every assessment JSON carries."""
    return {"schema_version": SCHEMA_VERSION, "partways_version": __version__,
            "decision_id": decision_id(case, kb),
            "kb": {"name": kb.name, "version": kb.version, "digest": kb_digest(kb),
                   "overlays": len(kb.roots) - 1 if kb.roots else 0}}
