"""``partways serve``: the HTTP API. FastAPI and uvicorn are imported only when it runs."""

from __future__ import annotations

from pathlib import Path

import click

from .common import kb_option, user_errors


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--max-body", type=click.IntRange(1_000, 100_000_000), default=1_000_000,
              show_default=True, help="Largest request body, in bytes.")
@click.option("--max-batch", type=click.IntRange(1, 100_000), default=1_000,
              show_default=True, help="Most cases in one /v1/batch request.")
@kb_option
def serve(host: str, port: int, max_body: int, max_batch: int,
          overlays: tuple[Path, ...]) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json).

    Overlays are chosen here, at start-up, for every request. Needs the 'serve' extra:
    pip install 'partways[serve]'.
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
