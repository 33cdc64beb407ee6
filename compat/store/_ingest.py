"""Write objects that come from elsewhere (an export, a legacy endpoint) with their own ids.

Each object is compared with what the store holds under its id: absent -> inserted,
equal -> unchanged, different -> a conflict, replaced only when asked. The caller's
transaction makes a whole thread land at once. SQLAlchemy Core on the tables of _tables.
Imports: sqlalchemy, own modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ._errors import StoreError
from ._repo import Kind, Repo
from ._tables import TABLES

if TYPE_CHECKING:
    from . import Store

__all__ = ["IngestFailed", "IngestRow", "Outcome", "ingest", "ingest_all", "ord_of", "stored_ids"]

Outcome = Literal["imported", "unchanged", "conflicting", "overwritten"]
_CHUNK = 500  # ids per IN (...) query


@dataclass
class IngestRow:
    """One object to write: its wire body, its place (``ord``) and, for runs, private state."""

    body: dict[str, Any]
    ord: int
    state: dict[str, Any] | None = None
    #: a stand-in (e.g. a thread the source did not have): written only when absent, and
    #: any stored copy counts as unchanged, never as a conflict to overwrite
    stand_in: bool = False


def ord_of(created_at: Any, tie: int) -> int:
    """The ``ord`` of an object created at ``created_at`` (seconds), ``tie``-th among those
    created in the same second: local objects use nanoseconds (compat._ids.now_ns), so
    imported ones sort among them by creation time and keep the source's order in a tie."""
    seconds = created_at if isinstance(created_at, int) and created_at >= 0 else 0
    return seconds * 10**9 + tie


def _table(kind: Kind) -> Any:
    return TABLES[kind].__table__  # type: ignore[attr-defined]


def stored_ids(repo: Repo, kind: Kind, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored bodies of those of ``ids`` that exist."""
    t = _table(kind)
    found: dict[str, dict[str, Any]] = {}
    for at in range(0, len(ids), _CHUNK):
        chunk = list(ids[at : at + _CHUNK])
        for id_, body in repo.conn.execute(select(t.c.id, t.c.body).where(t.c.id.in_(chunk))):
            found[str(id_)] = dict(Repo._json(body))
    return found


def _values(kind: Kind, row: IngestRow, t: Any, tenant: str | None) -> dict[str, Any]:
    body = row.body
    values: dict[str, Any] = {"id": body["id"], "ord": row.ord, "body": body}
    if kind in ("message", "run", "step"):
        values["thread_id"] = body["thread_id"]
    if kind in ("message", "step"):
        values["run_id"] = body.get("run_id")
    if kind == "run":
        # never an executing run: no owner, no lease (the caller gives a terminal status)
        values.update(
            status=body["status"],
            expires_at=body.get("expires_at"),
            state=row.state or {},
            owner=None,
            lease_until=0,
        )
    # Hook for stores that keep a tenant per assistant / thread (the column's server
    # default applies when no tenant is given, or when the table has no such column).
    if tenant is not None and "tenant" in t.c:
        values["tenant"] = tenant
    return values


def ingest(
    repo: Repo,
    kind: Kind,
    rows: Sequence[IngestRow],
    *,
    overwrite: bool = False,
    write: bool = True,
    tenant: str | None = None,
) -> list[Outcome]:
    """Write ``rows`` of one kind in the caller's transaction; the outcome of each, in order.

    ``write=False`` (a dry run) decides the outcomes without writing anything.
    """
    t = _table(kind)
    stored = stored_ids(repo, kind, [r.body["id"] for r in rows])
    outcomes: list[Outcome] = []
    inserts: list[dict[str, Any]] = []
    for row in rows:
        old = stored.get(row.body["id"])
        if old is None:
            outcomes.append("imported")
            inserts.append(_values(kind, row, t, tenant))
            stored[row.body["id"]] = row.body  # a duplicate later in rows is unchanged
        elif old == row.body or row.stand_in:
            outcomes.append("unchanged")
        elif not overwrite:
            outcomes.append("conflicting")
        else:
            outcomes.append("overwritten")
            if write:
                values = _values(kind, row, t, None)
                del values["id"]
                repo.conn.execute(update(t).where(t.c.id == row.body["id"]).values(**values))
    if write and inserts:
        repo.conn.execute(t.insert(), inserts)
    return outcomes


class IngestFailed(StoreError):
    """Objects could not be written (nothing of them was): ``str()`` says why in one line."""


_ORDER: tuple[Kind, ...] = ("assistant", "thread", "message", "run", "step")


def ingest_all(
    store: Store,
    rows: Mapping[Kind, Sequence[IngestRow]],
    *,
    overwrite: bool = False,
    write: bool = True,
    tenant: str | None = None,
) -> dict[Kind, list[Outcome]]:
    """``ingest`` every kind of ``rows`` (parents first) in ONE transaction: all of it is
    written or none. Another process writing the same ids meanwhile makes it compare again
    once; other database errors raise IngestFailed (StoreUnavailable when the store is down)."""
    for attempt in (1, 2):
        try:
            with store.write() if write else store.read() as repo:
                return {
                    kind: ingest(
                        repo, kind, rows[kind], overwrite=overwrite, write=write, tenant=tenant
                    )
                    for kind in _ORDER
                    if kind in rows
                }
        except IntegrityError as exc:
            if attempt == 2:
                raise IngestFailed(_short(exc)) from exc
        except SQLAlchemyError as exc:
            raise IngestFailed(_short(exc)) from exc
    raise AssertionError("unreachable")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split())[:200]
