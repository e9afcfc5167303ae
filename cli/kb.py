"""``partways kb``: knowledge-base quality commands (lint, rule coverage)."""

from __future__ import annotations

import json
from pathlib import Path

import click

import partways
from partways.coverage import Coverage, rule_coverage
from partways.lint import LintReport, lint_kb

from .common import emit, kb_option, load_case, user_errors

CASE_SUFFIXES = (".yaml", ".yml", ".json")

base_option = click.option(
    "--base", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Use this KB directory instead of the shipped one (--kb overlays go on top).")


@click.group()
def kb() -> None:
    """Check the knowledge base: lint it, measure which rules a corpus exercises."""


@kb.command()
@kb_option
@base_option
@click.option("--examples", "examples", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A rule examples directory (repeatable). Default: rule_examples/ in each "
                   "KB directory and tests/rule_examples beside the base KB.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="One problem a line, or JSON.")
def lint(overlays: tuple[Path, ...], base: Path | None, examples: tuple[Path, ...],
         fmt: str) -> None:
    """Lint the knowledge base (with any --kb overlays); exit 1 on errors."""
    with user_errors():
        report = lint_kb(base, overlays=list(overlays), examples=list(examples) or None)
    emit(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
         if fmt == "json" else render_lint(report))
    if not report.ok:
        raise SystemExit(1)


def render_lint(report: LintReport) -> str:
    """``path:line: severity [check] message`` lines and a summary."""
    lines = [str(p) for p in report.problems]
    lines.append(("lint failed: " if report.errors else "lint passed: ") + report.summary())
    return "\n".join(lines) + "\n"


@kb.command("coverage")
@click.argument("cases", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@kb_option
@base_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Readable report or JSON.")
def coverage_cmd(cases: tuple[Path, ...], overlays: tuple[Path, ...], base: Path | None,
                 fmt: str) -> None:
    """Which rules fired across CASES (files or directories) and why the others did not."""
    kbase = _load(base, overlays)
    files = expand_cases(cases)
    if not files:
        raise click.UsageError("no case files (*.yaml, *.yml, *.json) found")
    assessments = []
    for path in files:
        case = load_case(path, kbase)
        with user_errors():
            assessments.append(partways.assess_case(case, kbase))
    report = rule_coverage(assessments, kbase)
    emit(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
         if fmt == "json" else render_coverage(report))


def _load(base: Path | None, overlays: tuple[Path, ...]) -> partways.KnowledgeBase:
    with user_errors():
        return partways.load_kb(base, overlays=list(overlays))


def expand_cases(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for the case files directly in it, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix in CASE_SUFFIXES
                              and f.is_file()))
        else:
            out.append(p)
    return out


def render_coverage(report: Coverage) -> str:
    """The coverage report as text: a summary, the rules that fired, why the others did not."""
    n = len(report.cases)
    lines = [f"Rule coverage over {n} case(s): {len(report.fired)} of {len(report.rules)} "
             f"rules fired ({report.ratio:.0%}).",
             "Decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.decisions.items())),
             ""]
    if report.fired:
        lines.append("Fired:")
        width = max(len(r.rule) for r in report.fired)
        lines += [f"  {r.rule:<{width}}  {r.cases} case(s), {r.firings} firing(s)"
                  for r in report.fired]
        lines.append("")
    if report.never:
        lines.append("Never fired:")
        for r in report.never:
            lines.append(f"  {r.rule}")
            if r.impossible:
                lines.append(f"    can never fire: {r.impossible}")
            for reason in r.reasons[:3]:
                lines.append(f"    in {reason.cases} of {n} case(s): {reason.text} "
                             f"(e.g. {reason.example})")
            if len(r.reasons) > 3:
                lines.append(f"    ... and {len(r.reasons) - 3} other reason(s)")
    return "\n".join(lines).rstrip("\n") + "\n"
