"""``serve``: the Assistants API over HTTP for apps in any language (compat.server).

Imports: click; compat.server and uvicorn lazily.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import click

from .db import DATABASE_HELP


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--database", default=None, help=DATABASE_HELP)
@click.option(
    "--upstream-base-url",
    default=None,
    help="Where runs and pass-through routes go (default: $OPENAI_BASE_URL, else "
    "https://api.openai.com/v1). The key: $OPENAI_API_KEY.",
)
@click.option(
    "--tenants",
    "tenants_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="TOML or JSON file giving tenants their own upstream: "
    "{tenants: {NAME: {api_key_env: VAR, base_url: URL}}}.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes.")
@click.option(
    "--max-body-bytes",
    default=None,
    type=click.IntRange(1),
    help="Largest request body on the Assistants routes (default 32 MiB).",
)
@click.option(
    "--shutdown-wait",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds running runs get to finish at shutdown before they are handed over.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str,
    port: int,
    database: str | None,
    upstream_base_url: str | None,
    tenants_file: str | None,
    workers: int,
    max_body_bytes: int | None,
    shutdown_wait: float,
    log_level: str,
) -> int:
    """Serve the Assistants API under /v1 (GET /healthz answers 200 once ready).

    Clients use keys made by `assistants-compat keys create`; every other /v1 route
    (/responses, /files, /vector_stores, ...) is passed to the upstream with the tenant's
    upstream key. Several workers or hosts on one PostgreSQL database act as one server.

    \b
    Examples:
      assistants-compat keys create acme --database postgresql://db/app
      OPENAI_API_KEY=sk-... assistants-compat serve --port 8000 \\
          --database postgresql://db/app --workers 4
    Exit codes: 0 stopped; 2 bad options or configuration.
    """
    import uvicorn

    from .. import store
    from ..server import Server, ServerConfig
    from ..server.config import ENV_CONFIG, MAX_BODY_BYTES, ConfigError
    from ..server.logs import configure
    from ..server.metrics import MULTIPROC_ENV

    config = ServerConfig(
        database=store.resolve_url(database),
        upstream_base_url=upstream_base_url or "",
        tenants_file=os.path.abspath(tenants_file) if tenants_file else None,
        max_body_bytes=max_body_bytes or MAX_BODY_BYTES,
        shutdown_wait=shutdown_wait,
        log_level=log_level,
    )
    configure(log_level)
    try:
        app = Server(config)  # checks the tenants file now
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    common: dict[str, object] = {
        "host": host,
        "port": port,
        "access_log": False,  # the server logs each request itself, as JSON, with its id
        "log_config": None,
        "timeout_graceful_shutdown": max(shutdown_wait, 1.0),
        "timeout_keep_alive": 30,
        "lifespan": "on",
    }
    if workers == 1:
        uvicorn.run(app, **common)  # type: ignore[arg-type]
    else:
        os.environ[ENV_CONFIG] = config.to_env()  # names of key variables, never keys
        # the workers' metrics meet in one fresh directory, so /metrics adds them all up
        # (a directory the operator set is theirs to keep empty between starts)
        shared = None
        if not os.environ.get(MULTIPROC_ENV):
            shared = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="compat-metrics-")
        try:
            uvicorn.run(
                "compat.server:app_from_env",
                factory=True,
                workers=workers,
                **common,  # type: ignore[arg-type]
            )
        finally:
            if shared is not None:
                shutil.rmtree(shared, ignore_errors=True)
    return 0
