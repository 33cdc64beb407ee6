"""Engines from URLs: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writes) and PostgreSQL.

Imports: sqlalchemy, sqlmodel, own modules.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from ._errors import SchemaVersionError, StoreUnavailable
from ._tables import SCHEMA_VERSION, Meta

_write_intent = threading.local()


#: Pool settings a URL may carry in its query (``?pool_size=4&max_overflow=4``); they are
#: taken out before the rest of the URL reaches the database driver.
POOL_PARAMS = {"pool_size": int, "max_overflow": int, "pool_timeout": float, "pool_recycle": int}
#: PostgreSQL defaults: at most 8 connections per process (4 + 4 overflow), so 8 processes
#: stay well under the server's default max_connections of 100.
PG_POOL = {"pool_size": 4, "max_overflow": 4, "pool_timeout": 30.0, "pool_recycle": 1800}
#: SQLite: connections are cheap; writers take turns through a lock of the process anyway.
SQLITE_POOL = {"pool_size": 8, "max_overflow": 24, "pool_timeout": 30.0}


def _pool_settings(url: str, defaults: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``url`` without its pool parameters, and the pool settings (defaults overridden)."""
    parsed = make_url(url)
    found = {k: POOL_PARAMS[k](parsed.query[k]) for k in POOL_PARAMS if k in parsed.query}
    if found:
        parsed = parsed.difference_update_query(list(found))
    return parsed.render_as_string(hide_password=False), {**defaults, **found}


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            url, pool = _pool_settings(url, SQLITE_POOL)
            kwargs.update(pool)
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
    url, pool = _pool_settings(url, PG_POOL)
    return create_engine(url, pool_pre_ping=True, **pool)


_memory_locks: dict[int, threading.RLock] = {}
_writer_locks: dict[int, threading.RLock] = {}


def _writer_lock(engine: Engine) -> threading.RLock:
    return _writer_locks.setdefault(id(engine), threading.RLock())


def is_memory(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One short transaction; commits on success, rolls back on any error."""
    try:
        if is_memory(engine):
            # An in-memory database is one connection shared by every thread: take turns.
            shared = _memory_locks.setdefault(id(engine), threading.RLock())
            with shared, engine.begin() as conn:
                yield conn
            return
        # SQLite has one writer at a time: this process's writers queue on a lock first,
        # so at most one of them waits on the database's busy timeout (many threads
        # polling the file lock is what surfaced as "database is locked" under load).
        lock: threading.RLock | None = None
        if write and engine.dialect.name == "sqlite":
            lock = _writer_lock(engine)
            lock.acquire()
        _write_intent.on = write
        try:
            with engine.begin() as conn:
                _write_intent.on = False
                yield conn
        finally:
            _write_intent.on = False
            if lock is not None:
                lock.release()
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
