"""The ``partways`` command line: thin commands over the public API."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import click

from partways.version import __version__

from .common import (
    LANGS,
    JsonErrorsGroup,
    assess_cli,
    case_argument,
    decision_prefixes,
    emit,
    kb_option,
    show,
    width_option,
)

# Commands imported only when they run (a cold `partways assess` or `--help` imports no
# templates, calendars, Graphviz, explanations or lint): name -> (module under
# partways.cli, attribute, the short help `--help` lists; tests/test_cli_lazy.py keeps it
# equal to the command's own).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "batch": ("batch", "batch",
              "Assess a client book: folders of case files, JSONL files (one case a line) or "
              "a CSV export (a folder holding clients.csv, or clients.csv itself; see "
              "docs/CSV.md)."),
    "check": ("contract", "check",
              "List EVERY problem of each CASE (not only the first); exit 1 if any has one."),
    "flip": ("explain", "flip", "The smallest changes to CASE that would change its decision."),
    "graph": ("graph", "graph", "Draw the knowledge base, or one case's decision, as a graph."),
    "import": ("batch", "import_cmd",
               "Turn a CSV export (a folder with clients.csv, events.csv, remediation.csv, or "
               "clients.csv itself) into one case file per client, ready for `partways "
               "assess`."),
    "kb": ("kb", "kb",
           "Check the knowledge base: lint it, measure which rules a corpus exercises."),
    "letter": ("exit_toolkit", "letter",
               "A draft of the message that ends the relationship described in CASE."),
    "log": ("exit_toolkit", "log",
            "Append dated entries to the case file CASE, keeping its comments and layout."),
    "plan": ("exit_toolkit", "plan",
             "The dated exit checklist of CASE, each step with its guidance id."),
    "report": ("report", "report",
               "An HTML report of CASE: decision, signals, repairs tried, steps, dated plan, "
               "explanation and the decision graph, in one file that needs no network and "
               "prints well."),
    "schema": ("contract", "schema",
               "Print a JSON Schema (2020-12) of the contract: the case format, the "
               "assessment JSON, or the JSON answer of why, why-not, what-if, flip or plan."),
    "serve": ("serve", "serve",
              "Serve the HTTP API (OpenAPI at /docs and /openapi.json)."),
    "what-if": ("explain", "what_if", "Re-assess CASE with some changes and show what differs."),
    "why": ("explain", "why",
            "Why CASE got its decision (or why NODE was concluded), down to the evidence."),
    "why-not": ("explain", "why_not", "Why CASE did not lead to TARGET, and what it would take."),
}


class LazyGroup(JsonErrorsGroup):
    """The ``partways`` group, importing each command of :data:`LAZY_COMMANDS` on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name in LAZY_COMMANDS:
            module, attr, _ = LAZY_COMMANDS[cmd_name]
            cmd = getattr(import_module(f"partways.cli.{module}"), attr)
            self.add_command(cmd, cmd_name)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from the table (loading no command)."""
        names = [n for n in self.list_commands(ctx)
                 if n in self.commands or n in LAZY_COMMANDS]
        rows: list[tuple[str, Any]] = []
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            cmd = self.commands.get(name)
            if cmd is not None:
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(limit)))
            else:
                stand_in = click.Command(name, help=LAZY_COMMANDS[name][2])
                rows.append((name, stand_in.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="partways")
@click.option("--engine", type=click.Choice(["durable", "python"]), default=None,
              help="Inference backend: durable_rules, or the compiled pure-Python one (same "
                   "results). Default: $PARTWAYS_ENGINE, else durable where it imports.")
@click.pass_context
def main(ctx: click.Context, engine: str | None) -> None:
    """Decide whether, when and how to end a relationship with a bad client,
    with every step of the reasoning explained."""
    if engine is not None:
        from partways.inference import set_engine

        previous = set_engine(engine)
        ctx.call_on_close(lambda: set_engine(previous))


@main.command()
@case_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Readable text or the assessment JSON.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True,
              help="Language of the texts.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@kb_option
@width_option
def assess(case: Path, fmt: str, lang: str, output: Path | None,
           overlays: tuple[Path, ...], width: int | None) -> None:
    """Assess CASE (a YAML or JSON case file, or - for standard input)."""
    from partways.render import render_text

    a = assess_cli(case, overlays)
    if fmt == "json":
        emit(a.to_json(lang), output)
    else:
        show(render_text(a, lang), output, width, decision_prefixes(a.kb, lang))


if __name__ == "__main__":
    main()
