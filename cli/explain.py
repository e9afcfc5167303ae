"""``partways why / why-not / what-if / flip``: the explanation queries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import partways
from partways.limits import SEARCH_SECONDS
from partways.render.explain import (
    flip_dict,
    render_flip,
    render_what_if,
    render_why,
    render_why_not,
    to_json,
    what_if_dict,
    why_dict,
    why_not_dict,
)

from .common import (
    assess_cli,
    case_argument,
    decision_prefixes,
    emit,
    kb_option,
    lang_option,
    show,
    user_errors,
    width_option,
)

F = TypeVar("F", bound=Callable[..., Any])


def _format_option(f: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                        default="text", show_default=True,
                        help="Readable text or JSON (shape: docs/EXPLAIN.md).")(f)


def _output_option(f: F) -> F:
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write to this file instead of standard output.")(f)


@click.command()
@case_argument
@click.argument("node", required=False)
@_format_option
@lang_option
@_output_option
@kb_option
@width_option
def why(case: Path, node: str | None, fmt: str, lang: str, output: Path | None,
        overlays: tuple[Path, ...], width: int | None) -> None:
    """Why CASE got its decision (or why NODE was concluded), down to the evidence.

    NODE is a signal, step or plan step name (late_payment), type:name
    (open_repair:frank_conversation) or a node id of the decision graph.
    """
    a = assess_cli(case, overlays)
    with user_errors():
        tree = a.why(node)
        _out(a, fmt, lang, output, width, lambda: to_json(why_dict(a.kb, tree, lang)),
             lambda: render_why(a.kb, tree, lang))


@click.command("why-not")
@case_argument
@click.argument("target")
@click.option("--depth", type=click.IntRange(0, 12), default=partways.explain.DEFAULT_DEPTH,
              show_default=True, help="How many missing conclusions deep to follow.")
@click.option("--full", is_flag=True,
              help="The whole tree: every rule that could conclude TARGET, what held and "
                   "what failed (default: the nearest way and what it lacks).")
@_format_option
@lang_option
@_output_option
@kb_option
@width_option
def why_not(case: Path, target: str, depth: int, full: bool, fmt: str, lang: str,
            output: Path | None, overlays: tuple[Path, ...], width: int | None) -> None:
    """Why CASE did not lead to TARGET, and what it would take.

    TARGET is a decision (terminate), a signal or step name, or type:name. The text
    answer names the nearest way to TARGET and what it lacks; --full prints the whole
    tree; the JSON always holds both.
    """
    a = assess_cli(case, overlays)
    with user_errors():
        tree = a.why_not(target, depth=depth)
        _out(a, fmt, lang, output, width, lambda: to_json(why_not_dict(a.kb, tree, lang)),
             lambda: render_why_not(a.kb, tree, lang, full=full))


@click.command("what-if")
@case_argument
@click.option("--add-event", "add_events", multiple=True, metavar="FIELDS",
              help="Add an event: type=late_payment,days_late=20[,date=2026-10-01] "
                   "(date defaults to as_of). Repeatable.")
@click.option("--remove-event", "remove_events", multiple=True, metavar="REF",
              help="Remove an event by its number (1 = first) or its id. Repeatable.")
@click.option("--remediation", "remediations", multiple=True, metavar="FIELDS",
              help="Record a repair step: step=frank_conversation,outcome=improved. "
                   "Repeatable.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Set a field: wellbeing=low, contract.notice_days=60, "
                   "remediation.1.outcome=improved. Repeatable.")
@click.option("--policy", "policies", multiple=True, metavar="NAME=VALUE",
              help="Override a policy parameter. Repeatable.")
@_format_option
@lang_option
@_output_option
@kb_option
@width_option
def what_if(case: Path, add_events: tuple[str, ...], remove_events: tuple[str, ...],
            remediations: tuple[str, ...], sets: tuple[str, ...], policies: tuple[str, ...],
            fmt: str, lang: str, output: Path | None, overlays: tuple[Path, ...],
            width: int | None) -> None:
    """Re-assess CASE with some changes and show what differs."""
    if not (add_events or remove_events or remediations or sets or policies):
        raise click.UsageError("give at least one change (--add-event, --remove-event, "
                               "--remediation, --set, --policy)")
    a = assess_cli(case, overlays)
    with user_errors():
        edits = partways.whatif.edits_from_options(
            a, add=[*(("event", t) for t in add_events),
                    *(("remediation", t) for t in remediations)],
            remove=[("event", r) for r in remove_events], sets=sets, policy=policies)
        result = partways.what_if(a, edits)
        _out(a, fmt, lang, output, width, lambda: to_json(what_if_dict(a.kb, result, lang)),
             lambda: render_what_if(a.kb, result, lang))


@click.command()
@case_argument
@click.option("--to", "target", metavar="DECISION",
              help="Only changes that lead to this decision (default: any other).")
@click.option("--max-size", type=click.IntRange(1, 4), default=partways.whatif.DEFAULT_MAX_SIZE,
              show_default=True, help="Most changes combined in one alternative.")
@click.option("-k", "k", type=click.IntRange(1, 20), default=partways.whatif.DEFAULT_K,
              show_default=True, help="How many alternatives to show.")
@click.option("--budget", "seconds", type=click.FloatRange(0.01, 3600),
              default=SEARCH_SECONDS, show_default=True, metavar="SECONDS",
              help="Stop searching after this many seconds (the answer says so).")
@_format_option
@lang_option
@_output_option
@kb_option
@width_option
def flip(case: Path, target: str | None, max_size: int, k: int, seconds: float, fmt: str,
         lang: str, output: Path | None, overlays: tuple[Path, ...], width: int | None) -> None:
    """The smallest changes to CASE that would change its decision."""
    a = assess_cli(case, overlays)
    with user_errors():
        result = partways.flip(a, to=target, max_size=max_size, k=k, seconds=seconds)
        _out(a, fmt, lang, output, width, lambda: to_json(flip_dict(a.kb, result, lang)),
             lambda: render_flip(a.kb, result, lang))


def _out(a: partways.Assessment, fmt: str, lang: str, output: Path | None,
         width: int | None, as_json: Callable[[], str], as_text: Callable[[], str]) -> None:
    """JSON as it is; text wrapped to the terminal with the decision emphasised."""
    if fmt == "json":
        emit(as_json(), output)
    else:
        show(as_text(), output, width, decision_prefixes(a.kb, lang))
