"""``partways report``: one self-contained HTML file of an assessment."""

from __future__ import annotations

from pathlib import Path

import click

from partways.render.report import render_html

from .common import assess_cli, case_argument, emit, kb_option, lang_option, user_errors


@click.command()
@case_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML to this file instead of standard output.")
@lang_option
@click.option("--no-graph", is_flag=True,
              help="Leave out the decision graph (it needs Graphviz 'dot').")
@kb_option
def report(case: Path, output: Path | None, lang: str, no_graph: bool,
           overlays: tuple[Path, ...]) -> None:
    """An HTML report of CASE: decision, signals, repairs tried, steps, dated plan,
    explanation and the decision graph, in one file that needs no network and prints well."""
    a = assess_cli(case, overlays)
    with user_errors():
        html = render_html(a, lang, graph=not no_graph)
    emit(html, output)
