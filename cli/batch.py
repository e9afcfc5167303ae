"""``partways batch`` (a whole client book) and ``partways import`` (CSV -> case files)."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from partways.batch import count_items, jsonl_row, run_batch
from partways.render.batch import render_summary, render_table
from partways.render.lang import fit_width, for_kb, ui

from .common import kb_option, lang_option, load_kb, terminal_width, user_errors, width_option

FORMATS = ("table", "csv", "jsonl")
CSV_COLUMNS = ("n", "source", "client", "decision", "reason", "red_flags", "next_step",
               "notify_on", "end_on", "hours_share", "top_hours_set", "effective_rate",
               "rate_ratio", "rate_rank", "portfolio_signals", "error")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each compiles the KB once). Output order is the "
                   "input order whatever the number.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="A table with a summary, CSV rows, or one assessment "
                                      "JSON a line (jsonl).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rows to this file instead of standard output.")
@click.option("--summary", "summary_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary as JSON to this file.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on standard error (default: only on a terminal).")
@lang_option
@kb_option
@width_option
def batch(paths: tuple[Path, ...], workers: int, fmt: str, output: Path | None,
          summary_file: Path | None, progress: bool | None, lang: str,
          overlays: tuple[Path, ...], width: int | None) -> None:
    """Assess a client book: folders of case files, JSONL files (one case a line) or a
    CSV export (a folder holding clients.csv, or clients.csv itself; see docs/CSV.md).

    A case that cannot be read is reported in its row and the batch goes on; the exit
    status is 1 when any failed. Ends with a summary: decisions, the most frequent red
    flags, the clients to act on first, and the portfolio signals (SIG-25, the effective
    hourly rate ranking).
    """
    kb = load_kb(overlays)
    show = sys.stderr.isatty() if progress is None else progress
    with user_errors(), _progress(count_items(paths) if show else None, show) as tick:
        rows, summary = run_batch(paths, kb, [str(o) for o in overlays], workers=workers,
                                  full=fmt == "jsonl", lang=lang, progress=tick)
    out: IO[str]
    with _open(output) as out:
        if fmt == "jsonl":
            for row in rows:
                out.write(json.dumps(jsonl_row(row), ensure_ascii=False, sort_keys=True) + "\n")
        elif fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for row in rows:
                writer.writerow(_csv_row(row))
        else:
            columns = terminal_width(width, output)
            for line in render_table(rows, kb, lang, _error_text, columns):
                out.write(line + "\n")
            out.write("\n" + fit_width(render_summary(summary, kb, lang), columns))
    if fmt != "table" or output is not None:
        click.echo(fit_width(render_summary(summary, kb, lang), terminal_width(width, None)),
                   err=True, nl=False)
    if summary_file is not None:
        summary_file.write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2,
                                           sort_keys=True) + "\n", encoding="utf-8")
    if summary.failed:
        raise SystemExit(1)


@contextmanager
def _open(output: Path | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", encoding="utf-8", newline="") as fh:
        yield fh
    click.echo(f"wrote {output}", err=True)


@contextmanager
def _progress(total: int | None, show: bool) -> Iterator[Callable[[int], None] | None]:
    """A bar on standard error: cases done of ``total`` (when known), the rate, the time
    spent and, with a total, the time left."""
    if not show:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("assessing", total=total)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if total is not None and done > total:  # rows the count could not foresee
                bar.update(task, total=done)  # (events of unknown clients, a bad header)
            bar.advance(task, n)

        yield tick


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _error_text(row: dict[str, Any]) -> str:
    return " | ".join(_located(e) for e in row["errors"])


def _located(e: dict[str, Any]) -> str:
    where = e.get("file") or ""
    if e.get("line") is not None:
        where += f":{e['line']}"
    if e.get("field"):
        where += f": {e['field']}"
    msg = e["message"] + (f"; did you mean '{e['suggestion']}'?" if e.get("suggestion")
                          else "")
    return f"{where}: {msg}" if where else msg


def _csv_row(row: dict[str, Any]) -> list[Any]:
    p = row.get("portfolio") or {}
    if row.get("errors"):
        return [row["index"] + 1, row["source"], row.get("client") or "", "", "", "", "", "",
                "", "", "", "", "", "", "", _error_text(row)]
    return [row["index"] + 1, row["source"], row["client"], row["decision"],
            row["reason"]["text"] if row["reason"] else "", ";".join(row["red_flags"]),
            row["next_step"] or "", row["notify_on"] or "", row["end_on"] or "",
            p.get("hours_share", ""), p.get("top_hours_set", ""), p.get("effective_rate", ""),
            p.get("rate_ratio", "") if p.get("rate_ratio") is not None else "",
            p.get("rate_rank", ""), ";".join(s["id"] for s in p.get("signals", ())), ""]


@click.command("import")
@click.argument("export", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="The folder to write one case YAML per client into.")
@lang_option
@kb_option
def import_cmd(export: Path, out_dir: Path, lang: str, overlays: tuple[Path, ...]) -> None:
    """Turn a CSV export (a folder with clients.csv, events.csv, remediation.csv, or
    clients.csv itself) into one case file per client, ready for `partways assess`.

    Every problem is reported as file:row: column: message; a client with problems
    gets no file, and the exit status is 1.
    """
    import yaml

    from partways.csvimport import import_csv

    kb = load_kb(overlays)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, failed = 0, 0
    names: set[str] = set()
    with user_errors():
        for case in import_csv(export, kb):
            if case.errors:
                failed += 1
                for e in case.errors:
                    click.echo(str(e), err=True)
                continue
            name = _slug(case.client, names)
            text = yaml.safe_dump(case.data, allow_unicode=True, sort_keys=False, width=100)
            (out_dir / f"{name}.yaml").write_text(
                f"# imported from {export.name} (partways import)\n{text}", encoding="utf-8")
            written += 1
    lx = for_kb(kb, lang)
    click.echo(ui(kb, "import_written", lang, n=written, folder=lx.isolate(str(out_dir)))
               + (lx.semi + ui(kb, "import_problems", lang, n=failed) if failed else ""),
               err=True)
    if failed:
        raise SystemExit(1)


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^\w]+", "-", name.strip().lower()).strip("-") or "client"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug

