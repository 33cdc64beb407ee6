"""Engines from URLs: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writes) and PostgreSQL;
short transactions, and the one that changes the schema (store.migrations).

Imports: sqlalchemy, own modules.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool

from ._errors import StoreError, StoreUnavailable

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
            cur.execute("PRAGMA busy_timeout=30000")
            if not memory:
                _use_wal(cur)
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = getattr(_write_intent, "on", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    url, pool = _pool_settings(url, PG_POOL)
    return create_engine(url, pool_pre_ping=True, **pool)


def _use_wal(cur: Any) -> None:
    """Put the file in WAL mode (persistent: later connections find it there). Switching
    needs the file to itself, and SQLite answers "database is locked" at once rather than
    waiting when several processes open a new file together: retry for a while."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
        if engine.dialect.name == "sqlite":
            _check_file(engine)
            if write:
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


_files: weakref.WeakKeyDictionary[Engine, tuple[int, int]] = weakref.WeakKeyDictionary()


def _check_file(engine: Engine) -> None:
    """A SQLite file deleted or replaced under a live client: open connections would go on
    reading and writing the unlinked file, and every write would be lost. Refuse instead."""
    path = engine.url.database or ""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if engine in _files:
            raise StoreUnavailable(f"the database file {path} was deleted") from None
        return  # not created yet: the first connection creates it
    known = _files.setdefault(engine, (st.st_dev, st.st_ino))
    if known != (st.st_dev, st.st_ino):
        raise StoreUnavailable(f"the database file {path} was replaced")


def _unavailable_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """What a store that is down, locked, full or gone raises, through SQLAlchemy or from
    the DB-API connection the repository's hot statements use directly."""
    dbapi = engine.dialect.dbapi
    extra = (dbapi.OperationalError, dbapi.InterfaceError) if dbapi is not None else ()
    return (OperationalError, InterfaceError, *extra)


#: First key of the PostgreSQL advisory lock serialising schema changes (the second: a hash
#: of the schema's name, so databases in other schemas of the server do not wait).
_PG_SCHEMA_LOCK = 0x636F6D70


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """The transaction that creates or upgrades the schema, one process at a time:
    PostgreSQL takes a transaction-scoped advisory lock, SQLite the file's write lock
    (BEGIN IMMEDIATE). Everything in it commits together or not at all.

    On SQLite foreign keys are off inside it (rebuilding a table drops the old one, which
    must not cascade to its children) and checked before it commits."""
    if engine.dialect.name != "sqlite":
        with transaction(engine, write=True) as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text(
                        "SELECT pg_advisory_xact_lock(:k, hashtext(coalesce(current_schema(), '')))"
                    ),
                    {"k": _PG_SCHEMA_LOCK},
                )
            yield conn
        return
    if is_memory(engine):
        lock = _memory_locks.setdefault(id(engine), threading.RLock())
    else:
        lock = _writer_lock(engine)
    try:
        with lock, engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
            try:
                _write_intent.on = True
                with conn.begin():
                    _write_intent.on = False
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"the schema change broke foreign keys: {broken[:5]}")
            finally:
                _write_intent.on = False
                try:
                    raw.execute("PRAGMA foreign_keys=ON")
                except Exception:
                    conn.invalidate()  # never back in the pool without foreign keys
                    raise
    except _unavailable_errors(engine) as exc:
        orig = getattr(exc, "orig", None) or exc
        raise StoreUnavailable(str(orig).strip()) from exc
