"""Engines from URLs: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writes) and PostgreSQL.

Imports: sqlalchemy, sqlmodel, own modules.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from ._errors import SchemaVersionError, StoreUnavailable
from ._tables import SCHEMA_VERSION, Meta

_write_intent = threading.local()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        else:  # one connection per busy worker thread; SQLite connections are cheap
            kwargs.update(pool_size=20, max_overflow=40)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control from pysqlite so writes can BEGIN IMMEDIATE:
            # a writer then waits for the lock up front instead of failing on upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = getattr(_write_intent, "on", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_memory_locks: dict[int, threading.RLock] = {}


def is_memory(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One short transaction; commits on success, rolls back on any error."""
    try:
        if is_memory(engine):
            # An in-memory database is one connection shared by every thread: take turns.
            lock = _memory_locks.setdefault(id(engine), threading.RLock())
            with lock, engine.begin() as conn:
                yield conn
            return
        _write_intent.on = write
        try:
            with engine.begin() as conn:
                _write_intent.on = False
                yield conn
        finally:
            _write_intent.on = False
    except _unavailable_errors(engine) as exc:
        # Down, locked past the busy timeout, full, or gone: nothing was committed.
        orig = getattr(exc, "orig", None) or exc
        raise StoreUnavailable(str(orig).strip()) from exc


def _unavailable_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """What a store that is down, locked, full or gone raises, through SQLAlchemy or from
    the DB-API connection the repository's hot statements use directly."""
    dbapi = engine.dialect.dbapi
    extra = (dbapi.OperationalError, dbapi.InterfaceError) if dbapi is not None else ()
    return (OperationalError, InterfaceError, *extra)


def create_schema(engine: Engine) -> None:
    """Create the tables if missing and record (or check) the schema version."""
    SQLModel.metadata.create_all(engine, tables=[t.__table__ for t in _all_tables()])  # type: ignore[attr-defined]
    meta: Any = Meta.__table__  # type: ignore[attr-defined]
    with transaction(engine, write=True) as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        if row is None:
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row[0]) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"database schema version {row[0]} is newer than this code ({SCHEMA_VERSION})"
            )
        elif int(row[0]) < SCHEMA_VERSION:
            _upgrade(conn, int(row[0]))
            conn.execute(
                meta.update()
                .where(meta.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )


def _upgrade(conn: Connection, version: int) -> None:
    """Bring a database made by an earlier release up to SCHEMA_VERSION in place."""
    if version < 2:
        # 2: run leases (which client executes a run, and until when).
        have = {c["name"] for c in inspect(conn).get_columns("compat_run")}
        if "owner" not in have:
            conn.execute(text("ALTER TABLE compat_run ADD COLUMN owner VARCHAR(64)"))
        if "lease_until" not in have:
            conn.execute(
                text("ALTER TABLE compat_run ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0")
            )
        from ._tables import RunRow

        for index in RunRow.__table__.indexes:  # type: ignore[attr-defined]
            if index.name == "ix_compat_run_owned_lease":
                index.create(conn, checkfirst=True)


def _all_tables() -> list[type[SQLModel]]:
    from ._tables import TABLES

    return [Meta, *TABLES.values()]
