"""``assistants-compat``: the command line (click), one module per command.

Exit codes, for every command: 0 success; 1 the command ran but something was not done
(a pending upgrade, objects not imported, a threshold crossed); 2 bad usage or a source or
database that cannot be read.
Imports: click, and each command's module (which imports what it needs lazily).
"""

from __future__ import annotations

import click

from . import compare as compare_cmd
from . import db, offline
from . import export as export_cmd
from . import keys as keys_cmd
from . import serve as serve_cmd
from .importer import importer

__all__ = ["cli", "main"]

EPILOG = "Exit codes: 0 success; 1 done in part (see the command's help); 2 usage or input error."


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(package_name="assistants-compat", prog_name="assistants-compat")
def cli() -> None:
    """Keep OpenAI Assistants API apps running on the Responses API.

    \b
    Examples:
      assistants-compat offline examples/quickstart.py
      assistants-compat db upgrade --database postgresql://127.0.0.1/app
    """


cli.add_command(offline.offline)
cli.add_command(offline.emulator)
cli.add_command(db.db)
cli.add_command(serve_cmd.serve)
cli.add_command(keys_cmd.keys)
cli.add_command(importer)
cli.add_command(compare_cmd.compare)
cli.add_command(export_cmd.export)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assistants-compat`` command; returns the exit code."""
    try:
        rv = cli.main(args=argv, prog_name="assistants-compat", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2 if exc.exit_code == 1 else int(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    return int(rv or 0)
