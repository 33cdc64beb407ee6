"""``keys create|list|revoke``: the API keys `assistants-compat serve` accepts.

Imports: click; compat.store and compat.server lazily.
"""

from __future__ import annotations

import time

import click

from .db import DATABASE_HELP


@click.group()
def keys() -> None:
    """API keys of the server: each belongs to a tenant, whose objects it sees.

    \b
    Examples:
      assistants-compat keys create acme --label "billing service"
      assistants-compat keys list --database postgresql://db/app
      assistants-compat keys revoke key_0123456789abcdef01234567
    """


def _open(database: str | None) -> object:
    from .. import store

    return store.open_store(store.resolve_url(database))


@keys.command()
@click.argument("tenant")
@click.option("--database", default=None, help=DATABASE_HELP)
@click.option("--label", default=None, help="What the key is for (shown by `keys list`).")
def create(tenant: str, database: str | None, label: str | None) -> int:
    """Make a key for TENANT; the key is the last line printed (it is shown only once)."""
    from ..server.keys import create_key
    from ..store import Store

    tenant = tenant.strip()
    if not tenant or len(tenant) > 64:
        raise click.UsageError("TENANT must be 1 to 64 characters")
    s = _open(database)
    assert isinstance(s, Store)
    row, key = create_key(s, tenant, label)
    click.echo(f"created {row['id']} for tenant {tenant!r} (store it now: it is not shown again)")
    click.echo(key)
    return 0


@keys.command(name="list")
@click.option("--database", default=None, help=DATABASE_HELP)
@click.option("--tenant", default=None, help="Only this tenant's keys.")
def list_(database: str | None, tenant: str | None) -> int:
    """Keys with their tenant, label, and when they were made or revoked."""
    from ..store import Store

    s = _open(database)
    assert isinstance(s, Store)
    with s.read() as repo:
        rows = repo.api_keys(tenant)
    for r in rows:
        made = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["created_at"]))
        state = (
            "revoked " + time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["revoked_at"]))
            if r["revoked_at"]
            else "active"
        )
        click.echo(f"{r['id']}  {r['tenant']}  {r['hint']}  {made}  {state}  {r['label'] or ''}")
    if not rows:
        click.echo("no keys", err=True)
    return 0


@keys.command()
@click.argument("key_id")
@click.option("--database", default=None, help=DATABASE_HELP)
def revoke(key_id: str, database: str | None) -> int:
    """Revoke a key by its id (``key_…``, from `keys list`): refused within seconds."""
    from ..store import Store

    s = _open(database)
    assert isinstance(s, Store)
    with s.write() as repo:
        done = repo.revoke_api_key(key_id, int(time.time()))
    if not done:
        click.echo(f"error: no active key {key_id!r}", err=True)
        return 2
    click.echo(f"revoked {key_id}")
    return 0
