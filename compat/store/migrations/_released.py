"""The schemas of the releases from before Alembic, frozen (never edit them: a change to the
schema is a new revision). Version 1 (release 52a38c3) is what revision 0001 creates; a
database made by release 1 or 2 is filled in to its version's schema before it is stamped.

Those releases ran ``create_all`` on every start, so their databases may lack a table they
had not needed yet; ``released_schema(v).create_all(conn)`` adds it as that release would.
Imports: sqlalchemy only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.schema import SchemaItem

_ACTIVE_SQL = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"
_OWNED_SQL = "status IN ('queued', 'in_progress', 'cancelling')"


def _partial(name: str, column: str, where: str, *, unique: bool = False) -> Index:
    return Index(
        name,
        column,
        unique=unique,
        sqlite_where=text(where),
        postgresql_where=text(where),
    )


def _object_table(
    md: MetaData,
    name: str,
    *between: SchemaItem,
    after: tuple[SchemaItem, ...] = (),
    indexes: tuple[Index, ...] = (),
    ord_index: bool = False,
) -> Table:
    """An object table in the releases' column order: seq, id, ``between``, ord, body,
    ``after``; then its ``indexes``."""
    return Table(
        name,
        md,
        Column("seq", Integer, primary_key=True),
        Column("id", String(64), unique=True, nullable=False),
        *between,
        Column("ord", BigInteger, nullable=False, index=ord_index),
        Column("body", JSON, nullable=False),
        *after,
        *indexes,
    )


def _key(name: str, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(name, String(64), nullable=nullable)


def released_schema(version: int) -> MetaData:
    """The tables of ``compat_meta.schema_version`` 1 or 2, as those releases created them."""
    if version not in (1, 2):
        raise ValueError(f"no released schema has version {version}")
    md = MetaData()
    Table(
        "compat_meta",
        md,
        Column("key", String(64), primary_key=True),
        Column("value", String, nullable=False),
    )
    _object_table(md, "compat_assistant", ord_index=True)
    _object_table(md, "compat_thread")
    _object_table(
        md,
        "compat_message",
        _key("thread_id"),
        _key("run_id", nullable=True),
        indexes=(Index("ix_compat_message_thread_ord", "thread_id", "ord", "seq"),),
    )
    lease_columns: tuple[SchemaItem, ...] = ()
    lease_index: tuple[Index, ...] = ()
    if version >= 2:
        lease_columns = (
            _key("owner", nullable=True),
            Column("lease_until", BigInteger, nullable=False, server_default=text("0")),
        )
        lease_index = (_partial("ix_compat_run_owned_lease", "lease_until", _OWNED_SQL),)
    _object_table(
        md,
        "compat_run",
        _key("thread_id"),
        Column("status", String(32), nullable=False),
        Column("expires_at", BigInteger, nullable=True),
        after=(*lease_columns, Column("state", JSON, nullable=False)),
        indexes=(
            Index("ix_compat_run_thread_ord", "thread_id", "ord", "seq"),
            _partial("ux_compat_run_active", "thread_id", _ACTIVE_SQL, unique=True),
            _partial("ix_compat_run_active_expiry", "expires_at", _ACTIVE_SQL),
            *lease_index,
        ),
    )
    _object_table(
        md,
        "compat_step",
        _key("thread_id"),
        _key("run_id"),
        indexes=(
            Index("ix_compat_step_run_ord", "run_id", "ord", "seq"),
            Index("ix_compat_step_thread_ord", "thread_id", "ord", "seq"),
        ),
    )
    return md
