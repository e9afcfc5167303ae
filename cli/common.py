"""Shared options and helpers of the partways commands (thin: parse, call, print)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

import partways
from partways import Assessment, KnowledgeBase, PartwaysError

F = TypeVar("F", bound=Callable[..., Any])

LANGS = ("en", "ar", "fa")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`PartwaysError` into a one-line click error (exit 1)."""
    try:
        yield
    except PartwaysError as exc:
        raise click.ClickException(str(exc)) from None


def kb_option(f: F) -> F:
    """``--kb DIR`` (repeatable): overlays on top of the shipped knowledge base."""
    return click.option(
        "--kb", "overlays", multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="An overlay KB directory (your firm's rules, parameters, texts) on top of the "
             "shipped one. Repeatable; later ones win.")(f)


def lang_option(f: F) -> F:
    return click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True,
                        help="Language of the texts.")(f)


def case_argument(f: F) -> F:
    return click.argument("case", type=click.Path(allow_dash=True, dir_okay=False,
                                                  path_type=Path))(f)


def load_kb(overlays: tuple[Path, ...] = ()) -> KnowledgeBase:
    with user_errors():
        return partways.load_kb(overlays=list(overlays))


def load_case(case: Path, kb: KnowledgeBase) -> partways.Case:
    """Read CASE (a path, or ``-`` for YAML/JSON on standard input)."""
    with user_errors():
        if str(case) == "-":
            return partways.parse_case(sys.stdin.read(), kb, name="<stdin>")
        if not case.exists():
            raise PartwaysError("case file not found", partways.Source(str(case)))
        return partways.load_case(case, kb)


def assess_cli(case: Path, overlays: tuple[Path, ...] = ()) -> Assessment:
    kb = load_kb(overlays)
    c = load_case(case, kb)
    with user_errors():
        return partways.assess_case(c, kb)


def emit(text: str, output: Path | None = None) -> None:
    """Print ``text`` or write it to ``output`` (UTF-8)."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
