"""``partways check`` (every problem of a case) and ``partways schema`` (the contract)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import partways
from partways.contract import SCHEMA_NAMES
from partways.render.lang import ui

from .common import emit, kb_option, lang_option, load_kb, user_errors

_SCHEMAS = SCHEMA_NAMES


@click.command()
@click.argument("cases", nargs=-1, required=True,
                type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="One problem a line (file:line: field: message), "
                                      "or JSON.")
@lang_option
@kb_option
def check(cases: tuple[Path, ...], fmt: str, lang: str, overlays: tuple[Path, ...]) -> None:
    """List EVERY problem of each CASE (not only the first); exit 1 if any has one.

    '-' reads one case from standard input.
    """
    kb = load_kb(overlays)
    report = []
    for case in cases:
        with user_errors():
            if str(case) == "-":
                stdin = sys.stdin.read()
                problems = partways.validate_case("<stdin>", kb, text=stdin)
            elif not case.is_file():
                problems = [partways.CaseError("case file not found",
                                               partways.Source(str(case)))]
            else:
                problems = partways.validate_case(case, kb)
        report.append((str(case), problems))
    if fmt == "json":
        emit(json.dumps({"cases": [{"file": name, "valid": not problems,
                                    "errors": [p.to_dict() for p in problems]}
                                   for name, problems in report]},
                        ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    else:
        lines = [str(p) for _name, problems in report for p in problems]
        bad = sum(1 for _n, problems in report if problems)
        lines.append(ui(kb, "check_summary", lang, valid=len(report) - bad, total=len(report),
                        problems=sum(len(p) for _n, p in report)))
        emit("\n".join(lines) + "\n")
    if any(problems for _n, problems in report):
        raise SystemExit(1)


@click.command()
@click.argument("name", type=click.Choice(_SCHEMAS))
@kb_option
def schema(name: str, overlays: tuple[Path, ...]) -> None:
    """Print a JSON Schema (2020-12) of the contract: the case format, the assessment
    JSON, or the JSON answer of why, why-not, what-if, flip or plan.

    With --kb, the case schema is the one the overlays put in force.
    """
    with user_errors():
        if overlays and name == "case":
            emit(json.dumps(load_kb(overlays).case_schema, ensure_ascii=False, indent=1)
                 + "\n")
        else:
            emit(partways.schema_text(name))
