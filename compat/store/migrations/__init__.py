"""Schema migrations: the Alembic revisions in versions/, and bringing a database to head.

A database is current when ``alembic_version`` names ``HEAD`` and ``compat_meta`` holds
``schema_version`` = ``SCHEMA_VERSION`` (what releases from before Alembic check: they
refuse a newer one). Every ``Store`` checks that with one read; otherwise ``upgrade`` works
under the schema lock (``store._db.schema_transaction``: one process at a time, one
transaction, idempotent), after reading the state again:

- none of our tables: ``create_all`` of store/_tables.py (the head schema), stamped ``HEAD``;
- our tables but no ``alembic_version`` (a release from before Alembic): the tables that
  release would have created are filled in, the database is stamped with the revision of
  its ``schema_version`` (1 -> 0001, 2 -> 0002), then upgraded;
- a known revision below head: upgraded.

A revision this code does not know, or a ``schema_version`` above its own, was written by a
newer release: refused with SchemaVersionError.

A new revision: versions/rev<NNNN>_<what>.py (``alembic revision`` with a developer's ini
renders script.py.mako), store/_tables.py changed to match (tests/store/test_migrations.py
compares them), ``HEAD`` moved, and ``SCHEMA_VERSION`` bumped (the revision writing it) when
releases that only know the previous revision must refuse the database.
Imports: sqlalchemy, sqlmodel, own modules; alembic only to change a database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, inspect, text
from sqlmodel import SQLModel

from .._db import is_memory, schema_transaction, transaction
from .._errors import SchemaUpgradeRequired, SchemaVersionError
from .._tables import SCHEMA_VERSION, TABLES, ApiKeyRow, DeletedRow, Meta
from ._released import released_schema

#: The newest revision (tests check it is the scripts' head).
HEAD = "0005"
#: ``schema_version`` of a database made before Alembic -> the revision it is stamped with.
LEGACY_REVISIONS = {1: "0001", 2: "0002"}
#: Our tables' rows (a database may hold other tables: they are left alone).
_ROWS = (Meta, ApiKeyRow, DeletedRow, *TABLES.values())
TABLE_NAMES = frozenset(t.__tablename__ for t in _ROWS)  # type: ignore[attr-defined]
_DIR = Path(__file__).parent


def _head_tables() -> list[Any]:
    """Our tables in store/_tables.py: the schema at ``HEAD``."""
    return [t.__table__ for t in _ROWS]  # type: ignore[attr-defined]


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's filter: only our tables (and everything inside them) are compared."""
    return type_ != "table" or name in TABLE_NAMES


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands."""

    database: str  #: the URL, password hidden
    revision: str | None  #: ``alembic_version``; None when not stamped
    schema_version: int | None  #: ``compat_meta.schema_version``
    tables: frozenset[str]  #: which of our tables exist
    head: str = HEAD

    @property
    def at_head(self) -> bool:
        return self.revision == HEAD and self.schema_version == SCHEMA_VERSION

    @property
    def empty(self) -> bool:
        return not self.tables and self.revision is None

    def describe(self) -> str:
        if self.at_head:
            return f"at revision {HEAD} (head)"
        if self.empty:
            return f"empty: the upgrade creates the schema at revision {HEAD} (head)"
        if self.revision is None:
            return (
                f"made by a release from before migrations (schema_version "
                f"{self.schema_version}): the upgrade stamps it "
                f"{LEGACY_REVISIONS.get(self.schema_version or 1, '?')} and brings it to {HEAD}"
            )
        return f"at revision {self.revision}; head is {HEAD}"


def _tables_present(conn: Connection) -> set[str]:
    """Which of our tables and ``alembic_version`` exist (in the default schema). One plain
    catalog query: the inspector's costs ~25 ms on a new PostgreSQL engine, every Store."""
    wanted = sorted(TABLE_NAMES | {"alembic_version"})
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN :names"
    elif conn.dialect.name == "postgresql":
        sql = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND c.relname IN :names"
        )
    else:
        return set(inspect(conn).get_table_names()) & set(wanted)
    stmt = text(sql).bindparams(bindparam("names", expanding=True))
    return {str(r[0]) for r in conn.execute(stmt, {"names": wanted})}


def read_state(conn: Connection) -> SchemaState:
    names = _tables_present(conn)
    revision = None
    if "alembic_version" in names:
        revs = [str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
        if len(revs) > 1:
            raise SchemaVersionError(f"the database is at several revisions at once: {revs}")
        revision = revs[0] if revs else None
    version = None
    if "compat_meta" in names:
        value = conn.execute(
            text("SELECT value FROM compat_meta WHERE key = 'schema_version'")
        ).scalar()
        version = None if value is None else int(value)
    shown = conn.engine.url.render_as_string(hide_password=True)
    return SchemaState(shown, revision, version, frozenset(names & TABLE_NAMES))


def state(engine: Engine) -> SchemaState:
    """Where ``engine``'s database stands (read only; SchemaVersionError when newer). A
    SQLite file that does not exist is empty (and is not created)."""
    path = engine.url.database
    if engine.dialect.name == "sqlite" and not is_memory(engine) and not os.path.exists(path or ""):
        shown = engine.url.render_as_string(hide_password=True)
        return SchemaState(shown, None, None, frozenset())
    with transaction(engine, write=False) as conn:
        found = read_state(conn)
    _refuse_newer(found)
    return found


def ensure_schema(engine: Engine, *, migrate: bool) -> None:
    """Bring the database to head unless it is there (one read when it is).

    ``migrate=False``: raise SchemaUpgradeRequired instead of changing the database."""
    with transaction(engine, write=False) as conn:
        found = read_state(conn)
    if found.at_head:
        return
    _refuse_newer(found)
    if not migrate:
        raise SchemaUpgradeRequired(
            f"{found.database} is {found.describe()}. Automatic upgrades are off "
            "(migrate=False or COMPAT_AUTO_MIGRATE=0): run `assistants-compat db upgrade "
            "--database URL` first."
        )
    upgrade(engine)


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database to head; ``(before, after)``. Safe to run from several processes
    at once: they take turns, and each one finds what the one before it did."""
    with schema_transaction(engine) as conn:
        before = read_state(conn)
        if before.at_head:
            return before, before
        _refuse_newer(before)
        if before.empty:
            SQLModel.metadata.create_all(conn, tables=_head_tables())
            _set_version(conn, SCHEMA_VERSION)
            alembic_command(conn, "stamp", HEAD)
        else:
            if before.revision is None:
                version = before.schema_version or _released_version(conn, before)
                released_schema(version).create_all(conn)  # what that release would add
                _set_version(conn, version)
                alembic_command(conn, "stamp", LEGACY_REVISIONS[version])
            alembic_command(conn, "upgrade", HEAD)
            _set_version(conn, SCHEMA_VERSION)
        after = read_state(conn)
    return before, after


def _refuse_newer(found: SchemaState) -> None:
    """SchemaVersionError when a newer release (or something unknown) wrote the database."""
    if found.schema_version is not None and found.schema_version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{found.database} has schema_version {found.schema_version}, newer than this "
            f"release's ({SCHEMA_VERSION}, revision {HEAD}): upgrade assistants-compat"
        )
    if found.revision is not None and found.revision not in _revisions():
        raise SchemaVersionError(
            f"{found.database} is at schema revision {found.revision!r}, which this release "
            f"does not know (its newest is {HEAD!r}): a newer assistants-compat upgraded it; "
            "upgrade assistants-compat"
        )
    if found.revision is None and found.schema_version not in (None, *LEGACY_REVISIONS):
        raise SchemaVersionError(
            f"{found.database} has schema_version {found.schema_version} but no "
            "alembic_version table: no release made such a database"
        )


def _released_version(conn: Connection, found: SchemaState) -> int:
    """The release (1 or 2) that created our tables without recording its version (it
    stopped between creating them and writing the version)."""
    if "compat_run" not in found.tables:
        return 1
    columns = {c["name"] for c in inspect(conn).get_columns("compat_run")}
    return 2 if "lease_until" in columns else 1


def _set_version(conn: Connection, version: int) -> None:
    params = {"v": str(version)}
    sql = "UPDATE compat_meta SET value = :v WHERE key = 'schema_version'"
    if not conn.execute(text(sql), params).rowcount:
        sql = "INSERT INTO compat_meta (key, value) VALUES ('schema_version', :v)"
        conn.execute(text(sql), params)


@cache
def _revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(_DIR))
    return frozenset(s.revision for s in script.walk_revisions())


def alembic_command(conn: Connection, command: str, revision: str) -> None:
    """Alembic's ``stamp`` / ``upgrade`` / ``downgrade`` to ``revision`` inside ``conn``'s
    transaction (``store._db.schema_transaction``)."""
    from alembic import command as commands
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_DIR))
    cfg.attributes["connection"] = conn
    getattr(commands, command)(cfg, revision)
