"""Rendering: everything a person reads, fed only by result objects (an assessment, an
explanation record, the KB's texts) and computing nothing.

* :mod:`.lang`: the language module (digits, separators, quotes, plurals, dates);
* :mod:`.text`: an assessment as text; :mod:`.explain`: why, why-not, what-if, flip;
* :mod:`.plan`: the exit plan (text, Markdown, JSON, iCalendar);
* :mod:`.letters`: the exit message from the KB's templates;
* :mod:`.report`: one HTML report; :mod:`.rulegraph` and :mod:`.diagram`: pictures.

The text renderer is re-exported here (``from partways.render import render_text``); the
others load on first use, so assessing a case imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .text import describe_fact, guidance_refs, isolate, render_text

__all__ = ["describe_fact", "guidance_refs", "isolate", "render_text"]


def __getattr__(name: str) -> Any:
    """The text renderer's names, imported on first use (``partways --help`` imports
    :mod:`.lang` through this package and needs no assessment machinery)."""
    if name in __all__:
        from . import text

        return getattr(text, name)
    raise AttributeError(f"module 'partways.render' has no attribute {name!r}")
