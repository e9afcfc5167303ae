"""The exit toolkit: ``partways plan``, ``partways letter`` and ``partways log``.

Thin commands: parse the options, call the public API, print. The plan, the message
wording and the case checks all live in the engine and the KB.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from partways import (
    PartwaysError,
    Source,
    letter_channels,
    log_entries,
    no_plan_message,
    render_letter,
    render_plan,
)
from partways.render.lang import for_kb, ui
from partways.render.plan import FORMATS

from .common import (
    assess_cli,
    case_argument,
    decision_prefixes,
    emit,
    kb_option,
    lang_option,
    load_kb,
    show,
    user_errors,
    width_option,
    write_output,
)

_output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.")


@click.command()
@case_argument
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="A checklist (text, md), the plan as JSON, or an iCalendar file (ics).")
@lang_option
@_output_option
@kb_option
@width_option
def plan(case: Path, fmt: str, lang: str, output: Path | None,
         overlays: tuple[Path, ...], width: int | None) -> None:
    """The dated exit checklist of CASE, each step with its guidance id.

    For a decision that does not end the relationship, prints the decision and
    "no exit plan" (on standard error for ics, so no calendar is written) and exits 0.
    """
    a = assess_cli(case, overlays)
    if a.plan is None and fmt != "json":
        click.echo(no_plan_message(a, lang), nl=False, err=fmt == "ics")
        return
    with user_errors():
        text = render_plan(a, fmt, lang)
    if fmt == "ics" and output is not None:
        write_output(output, text.encode("utf-8"))  # keep the CRLF line ends iCalendar needs
        return
    if fmt == "text":
        show(text, output, width, decision_prefixes(a.kb, lang))
        return
    emit(text, output)


@click.command()
@case_argument
@lang_option
@click.option("--channel", default="email", show_default=True, metavar="email|meeting",
              help="A message to send (email), or talking points and a rehearsal checklist "
                   "for telling them in person or by phone (meeting).")
@click.option("--sender", metavar="NAME", help="Your name, to sign the message with.")
@_output_option
@kb_option
def letter(case: Path, lang: str, channel: str, sender: str | None, output: Path | None,
           overlays: tuple[Path, ...]) -> None:
    """A draft of the message that ends the relationship described in CASE.

    Brief, one neutral reason, the contract's clause or term, the end date, the paid work
    still to deliver, help with the handover, and a referral when the plan offers one.
    """
    kb = load_kb(overlays)
    with user_errors():
        channels = letter_channels(kb)
    if channel not in channels:
        raise click.BadParameter(f"'{channel}' is not one of {', '.join(channels)}",
                                 param_hint="'--channel'")
    a = assess_cli(case, overlays)
    if a.plan is None:
        click.echo(no_plan_message(a, lang, "exit_no_letter"), nl=False)
        return
    with user_errors():
        emit(render_letter(a, lang, channel, sender), output)


@click.command()
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--event", "events", multiple=True, metavar="type=...,date=...[,field=value]",
              help="An event to append to the case's events (repeatable). Quote a value "
                   "that holds commas: note=\"late, again\".")
@click.option("--remediation", "remediations", multiple=True,
              metavar="step=...,date=...,outcome=...",
              help="A remediation step to append to the case's remediation (repeatable).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Move the case's as_of forward to DATE (YYYY-MM-DD) first, so entries "
                   "up to DATE can be logged.")
@lang_option
@kb_option
def log(case: Path, events: tuple[str, ...], remediations: tuple[str, ...],
        as_of: dt.datetime | None, lang: str, overlays: tuple[Path, ...]) -> None:
    """Append dated entries to the case file CASE, keeping its comments and layout.

    The whole edited case is validated first; an invalid entry is refused and the file
    is left exactly as it was. The file is locked while it is edited (parallel calls
    wait for each other) and replaced atomically; a symbolic link keeps pointing at it.
    """
    entries = [("event", e) for e in events] + [("remediation", r) for r in remediations]
    if not entries:
        raise click.UsageError("nothing to log: give --event and/or --remediation")
    kb = load_kb(overlays)
    with user_errors():
        if not case.is_file():
            raise PartwaysError("case file not found", Source(str(case)))
        log_entries(case, kb, entries, as_of=as_of.date() if as_of else None)
    click.echo(ui(kb, "log_done", lang, n=len(entries),
                  case=for_kb(kb, lang).isolate(str(case))))
