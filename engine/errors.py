"""One exception root for everything partways refuses, each with a location."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .textsafe import visible


@dataclass(frozen=True)
class Source:
    """Where a problem is: a file (or ``<stdin>``), a line, and a field path."""

    path: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where


class PartwaysError(ValueError):
    """Base of every error partways reports to a user.

    ``str(error)`` is one line: ``file:line: field: message``.
    """

    def __init__(self, message: str, source: Source | None = None) -> None:
        self.message = message
        self.source = source
        # one line, whatever text the message quotes
        super().__init__(visible(f"{source}: {message}" if source else message))


    @property
    def kind(self) -> str:
        """``case``, ``policy``, ``kb``, ``inference``, ``query`` or ``input``."""
        return _KINDS.get(type(self).__name__, "input")

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable form: kind, file, line, field, message, suggestion."""
        message, suggestion = split_suggestion(self.message)
        src = self.source or Source()
        return {"kind": self.kind, "file": src.path, "line": src.line, "field": src.field,
                "message": message, "suggestion": suggestion}


_SUGGESTION = re.compile(r"; did you mean '(?P<s>[^']*)'\?$")


def split_suggestion(message: str) -> tuple[str, str | None]:
    """``"unknown key 'x'; did you mean 'y'?"`` -> ``("unknown key 'x'", "y")``."""
    m = _SUGGESTION.search(message)
    return (message[:m.start()], m.group("s")) if m else (message, None)


class CaseError(PartwaysError):
    """A case file is malformed or breaks the case contract."""


class KBError(PartwaysError):
    """A knowledge base is malformed, inconsistent or fails to compile."""


class PolicyError(CaseError):
    """A policy override names an unknown parameter or gives a bad value."""


class InferenceError(PartwaysError):
    """The inference run failed (an action raised, or the firing cap was hit)."""


class QueryError(PartwaysError):
    """An explanation query names something that does not exist."""


_KINDS = {"CaseError": "case", "PolicyError": "policy", "KBError": "kb",
          "InferenceError": "inference", "QueryError": "query"}


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option, or ``""``: the choice of
    ``difflib.get_close_matches(word, options, n=1, cutoff=0.6)`` (the highest ratio, then
    the greatest option), in constant memory, so ``options`` may stream (the names of
    every client of a book)."""
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(str(word))
    best: tuple[float, str] | None = None
    for x in options:
        matcher.set_seq1(x)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            score = (matcher.ratio(), x)
            if score[0] >= 0.6 and (best is None or score > best):
                best = score
    return f"; did you mean '{best[1]}'?" if best else ""
