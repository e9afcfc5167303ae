"""Shared options and helpers of the partways commands (thin: parse, call, print)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import partways
from partways import PartwaysError
from partways.render.lang import fit_width

if TYPE_CHECKING:  # imported on use by partways itself (cold start)
    from partways import Assessment, KnowledgeBase

F = TypeVar("F", bound=Callable[..., Any])

LANGS = ("en", "ar", "fa")


class UserError(click.ClickException):
    """A :class:`PartwaysError` on its way out: one line of text, or under
    ``--format json`` the located error object (see :func:`error_json`)."""

    def __init__(self, error: PartwaysError) -> None:
        super().__init__(str(error))
        self.error = error


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`PartwaysError` into a one-line click error (exit 1)."""
    try:
        yield
    except PartwaysError as exc:
        raise UserError(exc) from None


JSON_FORMATS = ("json", "jsonl")


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for JSON (``--format json`` / ``--format=jsonl``)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--format" and i + 1 < len(argv) and argv[i + 1] in JSON_FORMATS:
            return True
        if arg.startswith("--format=") and arg.split("=", 1)[1] in JSON_FORMATS:
            return True
    return False


def error_json(exc: click.ClickException) -> str:
    """``{"error": {"kind", "file", "line", "field", "message", "suggestion"}}``."""
    if isinstance(exc, UserError):
        body = exc.error.to_dict()
    else:
        kind = "usage" if isinstance(exc, click.UsageError) else "input"
        message, suggestion = partways.errors.split_suggestion(exc.format_message())
        opt = getattr(exc, "param", None)
        param = getattr(exc, "param_hint", None) or (
            opt.opts[0] if opt is not None and opt.opts else None)
        body = {"kind": kind, "file": None, "line": None,
                "field": param.strip("'\"") if isinstance(param, str) else None,
                "message": message, "suggestion": suggestion}
    return json.dumps({"error": body}, ensure_ascii=False, sort_keys=True)


class JsonErrorsGroup(click.Group):
    """The ``partways`` group: under ``--format json`` (or ``jsonl``) any error is
    printed as one JSON object on standard output, with the same exit status."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or not wants_json(argv):
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            click.echo(error_json(exc))
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


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
        write_output(output, text.encode("utf-8"))


def width_option(f: F) -> F:
    return click.option(
        "--width", type=click.IntRange(0, 1000), default=None, metavar="COLUMNS",
        help="Wrap the text to this many columns (0: do not wrap). Default: the terminal's "
             "width ($COLUMNS), no wrapping when the output is a file or a pipe.")(f)


def terminal_width(width: int | None, output: Path | None) -> int | None:
    """The width to wrap text output to: ``--width``, else $COLUMNS, else the terminal's
    width when standard output is a terminal; ``None`` (no wrapping) for a file or pipe."""
    if width is not None:
        return width or None
    if output is not None:
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    if _stdout_is_terminal():
        import shutil  # only for a terminal (shutil imports zlib, bz2, lzma)

        return shutil.get_terminal_size().columns
    return None


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def decision_prefixes(kb: KnowledgeBase, lang: str) -> tuple[str, ...]:
    """The starts of the lines that state a decision (emphasised on a terminal)."""
    return tuple(f"{kb.ui_text(key, lang)}:" for key in ("decision", "exit_decision")
                 if key in kb.ui)


def show(text: str, output: Path | None, width: int | None,
         emphasis: tuple[str, ...] = ()) -> None:
    """Print readable text: wrapped to the terminal (or ``--width``), the lines starting
    with an ``emphasis`` prefix (the decision) in bold, colour only on a terminal and never
    under $NO_COLOR. A file gets the plain text."""
    text = fit_width(text, terminal_width(width, output))
    if output is not None:
        write_output(output, text.encode("utf-8"))
        return
    colour = _stdout_is_terminal() and not os.environ.get("NO_COLOR")
    if colour and emphasis:
        text = "\n".join(click.style(line, bold=True) if line.lstrip().startswith(emphasis)
                         else line for line in text.split("\n"))
    click.echo(text, nl=False, color=colour)


def write_output(output: Path, data: bytes) -> None:
    """Write ``data`` to the file ``output``; a missing or read-only folder or file is a
    one-line error (exit 1), never a traceback. Write permissions are honoured even
    for root: a file or folder without any write bit is not written."""
    def fail(reason: str) -> UserError:
        return UserError(PartwaysError(f"cannot write the output file: {reason}",
                                       partways.Source(str(output))))

    folder = output.parent
    if output.exists() and not output.stat().st_mode & 0o222:
        raise fail("the file is read-only")
    if folder.is_dir() and not output.exists() and not folder.stat().st_mode & 0o222:
        raise fail("the folder is read-only")
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise fail(str(exc.strerror)) from None
    click.echo(f"wrote {output}", err=True)
