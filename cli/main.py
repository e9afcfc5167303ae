"""The ``partways`` command line: thin commands over the public API."""

from __future__ import annotations

from pathlib import Path

import click

from partways import __version__
from partways.render import render_text

from .common import (
    LANGS,
    JsonErrorsGroup,
    assess_cli,
    case_argument,
    emit,
    kb_option,
    user_errors,
)


@click.group(cls=JsonErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
def assess(case: Path, fmt: str, lang: str, output: Path | None,
           overlays: tuple[Path, ...]) -> None:
    """Assess CASE (a YAML or JSON case file, or - for standard input)."""
    a = assess_cli(case, overlays)
    emit(a.to_json(lang) if fmt == "json" else render_text(a, lang), output)


from .graph import graph  # noqa: E402  (registered after main is defined)
from .report import report  # noqa: E402

main.add_command(graph)
main.add_command(report)

from .kb import kb as kb_group  # noqa: E402  (registered after main is defined)

main.add_command(kb_group)

from .explain import flip, what_if, why, why_not  # noqa: E402  (registered after main)

main.add_command(why)
main.add_command(why_not)
main.add_command(what_if)
main.add_command(flip)

from .exit_toolkit import letter, log, plan  # noqa: E402  (registered after main)

main.add_command(plan)
main.add_command(letter)
main.add_command(log)

from .contract import check, schema  # noqa: E402  (registered after main)

main.add_command(check)
main.add_command(schema)

from .batch import batch, import_cmd  # noqa: E402  (registered after main)

main.add_command(batch)
main.add_command(import_cmd)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--max-body", type=click.IntRange(1_000, 100_000_000), default=1_000_000,
              show_default=True, help="Largest request body, in bytes.")
@click.option("--max-batch", type=click.IntRange(1, 100_000), default=1_000,
              show_default=True, help="Most cases in one /v1/batch request.")
@kb_option
def serve(host: str, port: int, max_body: int, max_batch: int,
          overlays: tuple[Path, ...]) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json). Overlays are chosen here,
    at start-up, for every request. Needs the 'serve' extra: pip install 'partways[serve]'.
    """
    try:
        import uvicorn

        from .server import create_app
    except ImportError as exc:
        raise click.ClickException(f"partways serve needs FastAPI and uvicorn "
                                   f"(pip install 'partways[serve]'): {exc}") from None
    with user_errors():
        app = create_app([str(o) for o in overlays], max_body=max_body, max_batch=max_batch)
    uvicorn.run(app, host=host, port=port, log_level="warning")

if __name__ == "__main__":
    main()
