"""Persistence for assistants-compat: typed tables, a repository, short transactions.

Only this package talks to the database. ``open_store(url)`` returns a ``Store``;
``with store.write() as repo:`` is one transaction (``read()`` for read-only work).
A ``Store`` brings its database's schema to the newest revision first (store.migrations).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from . import migrations
from ._db import make_engine, transaction
from ._errors import (
    ActiveRunConflict,
    SchemaUpgradeRequired,
    SchemaVersionError,
    StoreError,
    StoreUnavailable,
)
from ._ingest import IngestFailed, IngestRow, ingest_all, ord_of  # noqa: F401 (compat.migrate)
from ._paging import Page
from ._repo import Kind, Repo
from ._tables import (
    ACTIVE_RUN_STATUSES,
    OWNED_RUN_STATUSES,
    SCHEMA_VERSION,
    TERMINAL_RUN_STATUSES,
)

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "OWNED_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "ActiveRunConflict",
    "Kind",
    "Page",
    "Repo",
    "SchemaState",
    "SchemaUpgradeRequired",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
    "resolve_url",
    "schema_state",
    "upgrade_schema",
]

SchemaState = migrations.SchemaState

DEFAULT_URL = "sqlite:///assistants.db"


class Store:
    """A database holding the local Assistants objects; safe to share between threads."""

    def __init__(self, url: str, *, migrate: bool | None = None) -> None:
        """``migrate``: bring an older schema to head (default: yes, unless the environment
        has ``COMPAT_AUTO_MIGRATE=0``); when off, an older schema raises
        SchemaUpgradeRequired. A newer one always raises SchemaVersionError."""
        self.url = url
        #: set by close(); background work (lease renewals, sweeps) leaves a closed store alone
        self.closed = False
        self.engine: Engine = make_engine(url)
        if migrate is None:
            migrate = os.environ.get("COMPAT_AUTO_MIGRATE", "1").strip().lower() not in _OFF
        try:
            migrations.ensure_schema(self.engine, migrate=migrate)
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Repo]:
        """A read-only transaction."""
        with transaction(self.engine, write=False) as conn:
            yield Repo(conn)

    @contextmanager
    def write(self) -> Iterator[Repo]:
        """A write transaction: commits on success, rolls everything back on error."""
        with transaction(self.engine, write=True) as conn:
            yield Repo(conn)

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a query now."""
        with self.read() as repo:
            repo.conn.exec_driver_sql("SELECT 1").fetchone()

    def close(self) -> None:
        """Close the pool's connections; background lease work stops using this store."""
        self.closed = True
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"


_OFF = ("0", "false", "no", "off")


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$COMPAT_DATABASE_URL``, else ``sqlite:///assistants.db`` (cwd)."""
    return url or os.environ.get("COMPAT_DATABASE_URL") or DEFAULT_URL


_open: dict[str, Store] = {}


def open_store(url: str | None = None) -> Store:
    """The process-wide ``Store`` for a URL (one engine and pool per database)."""
    url = resolve_url(url)
    store = _open.get(url)
    if store is None:
        store = _open[url] = Store(url)
    return store


def schema_state(url: str | None = None) -> SchemaState:
    """Where the database's schema stands, without changing it (SchemaVersionError when a
    newer release wrote it)."""
    engine = make_engine(resolve_url(url))
    try:
        return migrations.state(engine)
    finally:
        engine.dispose()


def upgrade_schema(url: str | None = None) -> tuple[SchemaState, SchemaState]:
    """Bring the database's schema to head: ``(before, after)``."""
    engine = make_engine(resolve_url(url))
    try:
        return migrations.upgrade(engine)
    finally:
        engine.dispose()
