"""``offline`` (run a script against the bundled emulator) and ``emulator`` (serve it).

Imports: compat.testing (the emulator), click, stdlib.
"""

from __future__ import annotations

import os
import runpy
import sys
import time

import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("script", type=click.Path(exists=True, dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--database", help="Store URL (default: sqlite:///assistants-offline.db).")
@click.option(
    "--delta-delay",
    type=float,
    default=0.02,
    show_default=True,
    help="Seconds between streamed deltas.",
)
def offline(script: str, args: tuple[str, ...], database: str | None, delta_delay: float) -> int:
    """Run a Python SCRIPT against the bundled Responses API emulator (no API key).

    The script sees OPENAI_BASE_URL pointing at a fresh local emulator and a placeholder
    OPENAI_API_KEY; its threads go to --database.

    \b
    Example:
      assistants-compat offline examples/quickstart.py
    """
    from ..testing import ResponsesEmulator

    with ResponsesEmulator(delta_delay=delta_delay) as emu:
        os.environ["OPENAI_BASE_URL"] = emu.base_url
        os.environ["OPENAI_API_KEY"] = "sk-offline"
        os.environ.setdefault("COMPAT_DATABASE_URL", database or "sqlite:///assistants-offline.db")
        if database:
            os.environ["COMPAT_DATABASE_URL"] = database
        sys.argv = [script, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        click.echo(
            f"[assistants-compat] offline: Responses API emulator at {emu.base_url}", err=True
        )
        runpy.run_path(script, run_name="__main__")
    return 0


@click.command()
@click.option("--port", type=int, default=8765, show_default=True)
@click.option(
    "--delta-delay",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds between streamed deltas.",
)
def emulator(port: int, delta_delay: float) -> int:
    """Serve the Responses API emulator on 127.0.0.1 until interrupted.

    \b
    Example:
      assistants-compat emulator --port 8765
      OPENAI_BASE_URL=http://127.0.0.1:8765/v1 python app.py
    """
    from ..testing import ResponsesEmulator

    with ResponsesEmulator(port=port, delta_delay=delta_delay) as emu:
        click.echo(f"Responses API emulator listening at {emu.base_url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0
