"""SQLModel rows for assistants, threads, messages, runs and run steps.

Each row keeps the object's wire JSON in ``body`` and copies out the columns the
store queries and constrains (ids, thread/run keys, status, order).
Imports: sqlmodel / sqlalchemy only.
"""

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, String, text
from sqlmodel import Field, SQLModel

#: What ``compat_meta.schema_version`` holds at the head revision: releases from before the
#: Alembic migrations (store/migrations/) refuse a database whose version is newer than theirs.
SCHEMA_VERSION = 4

#: Statuses of a run that still holds its thread (the real API's "active run").
ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
#: Active statuses in which some process must move the run on (it holds the run's lease).
OWNED_RUN_STATUSES = ("queued", "in_progress", "cancelling")
#: Statuses a run ends in.
TERMINAL_RUN_STATUSES = ("completed", "failed", "cancelled", "expired", "incomplete")
_ACTIVE_SQL = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"
_OWNED_SQL = "status IN ('queued', 'in_progress', 'cancelling')"


def _owned_by(parent: str, fk_name: str) -> Column[Any]:
    """A ``VARCHAR(64) NOT NULL`` key of ``parent.id``: the row goes when its parent does.

    ``compat_message.run_id`` has no foreign key: a run is deleted only with its thread,
    which takes the thread's messages with it (and the column needs no index for it)."""
    fk = ForeignKey(f"{parent}.id", name=fk_name, ondelete="CASCADE")
    return Column(String(64), fk, nullable=False)


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (``schema_version``)."""

    __tablename__ = "compat_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


def _tenant() -> Column[Any]:
    """Whose object it is: ``''`` is the in-process client's one default tenant (the server
    default, so rows inserted without it, by older code or imports, stay theirs)."""
    return Column(String(64), nullable=False, server_default=text("''"))


class AssistantRow(SQLModel, table=True):
    __tablename__ = "compat_assistant"
    __table_args__ = (Index("ix_compat_assistant_tenant_ord", "tenant", "ord", "seq"),)
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    ord: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    tenant: str = Field(default="", sa_column=_tenant())


class ThreadRow(SQLModel, table=True):
    """Messages, runs and steps belong to their thread's tenant (reached only through it)."""

    __tablename__ = "compat_thread"
    __table_args__ = (Index("ix_compat_thread_tenant", "tenant"),)
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    ord: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    tenant: str = Field(default="", sa_column=_tenant())


class MessageRow(SQLModel, table=True):
    __tablename__ = "compat_message"
    __table_args__ = (Index("ix_compat_message_thread_ord", "thread_id", "ord", "seq"),)
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    thread_id: str = Field(sa_column=_owned_by("compat_thread", "fk_compat_message_thread_id"))
    run_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    ord: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class RunRow(SQLModel, table=True):
    __tablename__ = "compat_run"
    __table_args__ = (
        Index("ix_compat_run_thread_ord", "thread_id", "ord", "seq"),
        # One active run per thread, enforced by the database for every process sharing it.
        Index(
            "ux_compat_run_active",
            "thread_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index(
            "ix_compat_run_active_expiry",
            "expires_at",
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        # What live clients scan for runs whose executing process went away.
        Index(
            "ix_compat_run_owned_lease",
            "lease_until",
            sqlite_where=text(_OWNED_SQL),
            postgresql_where=text(_OWNED_SQL),
        ),
    )
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    thread_id: str = Field(sa_column=_owned_by("compat_thread", "fk_compat_run_thread_id"))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    expires_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ord: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: the client (process) executing the run, and until when (epoch ms) its lease holds
    owner: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    lease_until: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    #: private engine bookkeeping (effective config, usage per turn, upstream ids)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class StepRow(SQLModel, table=True):
    __tablename__ = "compat_step"
    __table_args__ = (
        Index("ix_compat_step_run_ord", "run_id", "ord", "seq"),
        Index("ix_compat_step_thread_ord", "thread_id", "ord", "seq"),
    )
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    thread_id: str = Field(sa_column=_owned_by("compat_thread", "fk_compat_step_thread_id"))
    run_id: str = Field(sa_column=_owned_by("compat_run", "fk_compat_step_run_id"))
    ord: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ApiKeyRow(SQLModel, table=True):
    """A key `assistants-compat serve` accepts: only its sha256 is stored (the key itself is
    shown once, by ``keys create``); ``revoked_at`` set = refused from then on."""

    __tablename__ = "compat_api_key"
    id: str = Field(primary_key=True, max_length=64)
    key_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    #: what ``keys list`` shows of the key (its first characters)
    hint: str = Field(sa_column=Column(String(32), nullable=False))
    tenant: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    label: str | None = Field(default=None, sa_column=Column(String(256), nullable=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    revoked_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class DeletedRow(SQLModel, table=True):
    """An assistant or thread deleted here (kept in the delete's transaction): read-through
    never brings it back from a legacy endpoint, whichever process asks later."""

    __tablename__ = "compat_deleted"
    kind: str = Field(sa_column=Column(String(16), primary_key=True))
    id: str = Field(sa_column=Column(String(64), primary_key=True))
    deleted_at: int = Field(sa_column=Column(BigInteger, nullable=False))


TABLES: dict[str, type[SQLModel]] = {
    "assistant": AssistantRow,
    "thread": ThreadRow,
    "message": MessageRow,
    "run": RunRow,
    "step": StepRow,
}
