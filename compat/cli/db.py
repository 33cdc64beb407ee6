"""``db upgrade`` / ``db current`` / ``db check``: the store's schema revision.

Imports: compat.store, click.
"""

from __future__ import annotations

import click

DATABASE_HELP = "Store URL (default: $COMPAT_DATABASE_URL, else sqlite:///assistants.db)."


@click.group()
def db() -> None:
    """The store's schema: upgrade it, show or check its revision.

    \b
    Examples:
      assistants-compat db upgrade --database postgresql://127.0.0.1/app
      assistants-compat db check || assistants-compat db upgrade
    """


def _run(action: str, database: str | None) -> int:
    from .. import store

    url = store.resolve_url(database)
    try:
        if action == "upgrade":
            before, after = store.upgrade_schema(url)
            if before.at_head:
                done = f"already {after.describe()}"
            elif before.empty:
                done = f"created the schema, {after.describe()}"
            else:
                was = before.revision or f"schema_version {before.schema_version}"
                done = f"upgraded from {was} to {after.revision} (head)"
            click.echo(f"{after.database}: {done}")
            return 0
        state = store.schema_state(url)
    except Exception as exc:  # unreachable, locked, newer, not a database: say so
        click.echo(f"assistants-compat db {action}: {exc}", err=True)
        return 2
    if action == "current" or state.at_head:
        click.echo(f"{state.database}: {state.describe()}")
        return 0
    click.echo(f"{state.database}: {state.describe()}; run `assistants-compat db upgrade`")
    return 1


@db.command()
@click.option("--database", help=DATABASE_HELP)
def upgrade(database: str | None) -> int:
    """Bring the database to the newest schema revision (creates it if empty). Exit 2 when it
    cannot be read or is newer than this release."""
    return _run("upgrade", database)


@db.command()
@click.option("--database", help=DATABASE_HELP)
def current(database: str | None) -> int:
    """Show the database's schema revision."""
    return _run("current", database)


@db.command()
@click.option("--database", help=DATABASE_HELP)
def check(database: str | None) -> int:
    """Exit 0 when the schema is at the newest revision, 1 when an upgrade is pending."""
    return _run("check", database)
