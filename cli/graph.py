"""``partways graph rules|case``: the knowledge base or one case's reasoning as a picture."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from partways.errors import did_you_mean
from partways.render.diagram import FORMATS, case_view, render
from partways.render.rulegraph import rule_graph

from .common import (
    F,
    assess_cli,
    case_argument,
    kb_option,
    lang_option,
    load_kb,
    user_errors,
    write_output,
)

BINARY_FORMATS = ("png",)
_SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid",
             ".json": "json", ".graphml": "graphml", ".svg": "svg", ".png": "png"}


def _format(fmt: str | None, output: Path | None) -> str:
    """The chosen format, else the output's suffix, else DOT."""
    if fmt:
        return fmt
    if output is not None and output.suffix.lower() in _SUFFIXES:
        return _SUFFIXES[output.suffix.lower()]
    return "dot"


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _refuse_binary_to_terminal(fmt: str, output: Path | None) -> None:
    """A PNG is bytes: written to a terminal it is noise (and can upset the terminal)."""
    if output is None and fmt in BINARY_FORMATS and _stdout_is_terminal():
        raise click.UsageError(f"{fmt} is a binary format: write it to a file with -o FILE "
                               "or redirect standard output")


def _write(data: bytes, output: Path | None) -> None:
    """Write ``data`` to ``output``, or to standard output (binary-safe for PNG)."""
    if output is None:
        click.echo(data, nl=False)  # bytes go to the binary stream
        return
    write_output(output, data)


def _options(f: F) -> F:
    f = kb_option(f)
    f = lang_option(f)
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                     help="Output format (default: from the -o suffix, else dot). svg and "
                          "png need Graphviz 'dot'.")(f)
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write to this file instead of standard output.")(f)


@click.group()
def graph() -> None:
    """Draw the knowledge base, or one case's decision, as a graph."""


@graph.command("rules")
@_options
@click.option("--layer", "layers", multiple=True, metavar="LAYER",
              help="Only this layer (repeatable), with its direct neighbours greyed.")
def rules(output: Path | None, fmt: str | None, lang: str, overlays: tuple[Path, ...],
          layers: tuple[str, ...]) -> None:
    """The knowledge base: fact types -> rules -> conclusions, one column per layer."""
    kb = load_kb(overlays)
    with user_errors():
        if layers:
            known = rule_graph(kb, lang).graph["layers"]
            for layer in layers:
                if layer not in known:
                    raise click.BadParameter(
                        f"unknown layer '{layer}' (one of {', '.join(known)})"
                        f"{did_you_mean(layer, known)}", param_hint="--layer")
        _refuse_binary_to_terminal(_format(fmt, output), output)
        g = rule_graph(kb, lang, layers=layers or None)
        data = render(g, _format(fmt, output))
    _write(data, output)


@graph.command("case")
@case_argument
@_options
@click.option("--why-not", "why_not", metavar="TARGET",
              help="Also draw, dashed, the rules that could have concluded TARGET (a "
                   "decision, a signal or step name, or type:label) and where they failed.")
@click.option("--depth", type=click.IntRange(0, 8), default=2, show_default=True,
              help="How many levels of missing premises --why-not follows.")
@click.option("--no-merge", is_flag=True,
              help="One node per fact, even when several facts say the same thing.")
def case(case: Path, output: Path | None, fmt: str | None, lang: str,
         overlays: tuple[Path, ...], why_not: str | None, depth: int, no_merge: bool) -> None:
    """One case's decision graph: evidence -> signals -> remediation -> decision -> plan."""
    _refuse_binary_to_terminal(_format(fmt, output), output)
    a = assess_cli(case, overlays)
    with user_errors():
        g = case_view(a, lang, why_not=why_not, depth=depth, merge=not no_merge)
        data = render(g, _format(fmt, output))
    _write(data, output)
