"""Typed repository functions on one transaction: the only code that runs SQL.

Imports: sqlalchemy, own modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from ._errors import ActiveRunConflict
from ._paging import Page, keyset_page
from ._tables import ACTIVE_RUN_STATUSES, TABLES

Kind = Literal["assistant", "thread", "message", "run", "step"]


def _t(kind: Kind) -> Any:
    return TABLES[kind].__table__  # type: ignore[attr-defined]


class Repo:
    """Repository bound to one open transaction (see ``Store.read`` / ``Store.write``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._pg = conn.dialect.name == "postgresql"

    # -- generic -------------------------------------------------------------------------
    def get(self, kind: Kind, id_: str) -> dict[str, Any] | None:
        """The stored wire object, or None."""
        t = _t(kind)
        row = self.conn.execute(select(t.c.body).where(t.c.id == id_)).first()
        return None if row is None else dict(row[0])

    def get_with_state(
        self, kind: Literal["run"], id_: str
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(body, private state)`` of a run, or None."""
        t = _t(kind)
        row = self.conn.execute(select(t.c.body, t.c.state).where(t.c.id == id_)).first()
        return None if row is None else (dict(row[0]), dict(row[1] or {}))

    def insert(
        self,
        kind: Kind,
        body: dict[str, Any],
        *,
        ord: int,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Insert a new object; run inserts raise ActiveRunConflict when the thread is busy."""
        values: dict[str, Any] = {"id": body["id"], "ord": ord, "body": body}
        if kind in ("message", "run", "step"):
            values["thread_id"] = body["thread_id"]
        if kind in ("message", "step"):
            values["run_id"] = body.get("run_id")
        if kind == "run":
            values["status"] = body["status"]
            values["expires_at"] = body.get("expires_at")
        if kind == "run":
            values["state"] = state or {}
        if kind == "run":
            try:
                with self.conn.begin_nested():
                    self.conn.execute(_t(kind).insert().values(**values))
            except IntegrityError as exc:
                active = self.active_run(body["thread_id"])
                if active is None:
                    raise
                raise ActiveRunConflict(body["thread_id"], active["id"]) from exc
            return
        self.conn.execute(_t(kind).insert().values(**values))

    def insert_many(self, kind: Kind, items: Iterable[tuple[dict[str, Any], int]]) -> None:
        """Insert several messages or steps (``(body, ord)`` pairs) in one statement."""
        rows = [
            {
                "id": b["id"],
                "ord": o,
                "body": b,
                "thread_id": b["thread_id"],
                "run_id": b.get("run_id"),
            }
            for b, o in items
        ]
        if rows:
            self.conn.execute(_t(kind).insert(), rows)

    def save(
        self, kind: Kind, body: dict[str, Any], *, state: dict[str, Any] | None = None
    ) -> None:
        """Overwrite a stored object (and its queryable columns) with ``body``."""
        t = _t(kind)
        values: dict[str, Any] = {"body": body}
        if kind == "run":
            values["status"] = body["status"]
            values["expires_at"] = body.get("expires_at")
        if state is not None:
            values["state"] = state
        self.conn.execute(update(t).where(t.c.id == body["id"]).values(**values))

    def delete(self, kind: Kind, id_: str) -> bool:
        """Delete one object; False when it did not exist."""
        t = _t(kind)
        return bool(self.conn.execute(delete(t).where(t.c.id == id_)).rowcount)

    def page(
        self,
        kind: Kind,
        *,
        limit: int,
        order: Literal["asc", "desc"],
        after: str | None = None,
        before: str | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> Page:
        """A keyset page of ``kind`` within a thread / run (all assistants when unscoped)."""
        t = _t(kind)
        scope = []
        if thread_id is not None:
            scope.append(t.c.thread_id == thread_id)
        if run_id is not None:
            scope.append(t.c.run_id == run_id)
        return keyset_page(
            self.conn, t, scope, limit=limit, order=order, after=after, before=before
        )

    # -- threads -------------------------------------------------------------------------
    def lock_thread(self, thread_id: str) -> dict[str, Any] | None:
        """Read a thread and hold its row lock until commit (PostgreSQL; SQLite writes are
        already serialised by BEGIN IMMEDIATE), so run/message creation cannot interleave."""
        t = _t("thread")
        stmt = select(t.c.body).where(t.c.id == thread_id)
        if self._pg:
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        return None if row is None else dict(row[0])

    def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread with its messages, runs and steps."""
        for kind in ("step", "run", "message"):
            t = _t(kind)  # type: ignore[arg-type]
            self.conn.execute(delete(t).where(t.c.thread_id == thread_id))
        return self.delete("thread", thread_id)

    def history(self, thread_id: str, *, after_ord: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages and tool-call steps, merged in creation order (only those
        created after ``after_ord`` when given)."""
        m, s = _t("message"), _t("step")
        qm = select(m.c.ord, m.c.seq, m.c.body).where(m.c.thread_id == thread_id)
        qs = select(s.c.ord, s.c.seq, s.c.body).where(s.c.thread_id == thread_id)
        if after_ord is not None:
            qm, qs = qm.where(m.c.ord > after_ord), qs.where(s.c.ord > after_ord)
        rows: list[tuple[Any, Any, Any]] = [(o, q, b) for o, q, b in self.conn.execute(qm)]
        # steps sort after messages of the same ord (a step never shares one in practice)
        rows += [(o, q + (1 << 62), b) for o, q, b in self.conn.execute(qs)]
        rows.sort(key=lambda r: (r[0], r[1]))
        return [dict(r[2]) for r in rows]

    # -- runs ----------------------------------------------------------------------------
    def active_run(self, thread_id: str) -> dict[str, Any] | None:
        t = _t("run")
        row = self.conn.execute(
            select(t.c.body).where(t.c.thread_id == thread_id, t.c.status.in_(ACTIVE_RUN_STATUSES))
        ).first()
        return None if row is None else dict(row[0])

    def transition_run(
        self,
        body: dict[str, Any],
        *,
        from_statuses: Iterable[str],
        state: dict[str, Any] | None = None,
    ) -> bool:
        """Save ``body`` only if the stored status is still one of ``from_statuses``.

        The conditional update is how state changes stay correct when several processes
        act on the same run: exactly one of two racing transitions wins.
        """
        t = _t("run")
        values: dict[str, Any] = {
            "body": body,
            "status": body["status"],
            "expires_at": body.get("expires_at"),
        }
        if state is not None:
            values["state"] = state
        res = self.conn.execute(
            update(t)
            .where(t.c.id == body["id"], t.c.status.in_(list(from_statuses)))
            .values(**values)
        )
        return bool(res.rowcount)

    def latest_run_state(self, thread_id: str, key: str, *, scan: int = 20) -> Any:
        """``state[key]`` of the thread's most recent run that has it (None if none does)."""
        t = _t("run")
        stmt = (
            select(t.c.state)
            .where(t.c.thread_id == thread_id)
            .order_by(t.c.ord.desc(), t.c.seq.desc())
            .limit(scan)
        )
        for (state,) in self.conn.execute(stmt):
            if state and key in state:
                return state[key]
        return None

    def overdue_runs(self, now: int, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Active runs whose ``expires_at`` has passed."""
        t = _t("run")
        stmt = select(t.c.body).where(t.c.status.in_(ACTIVE_RUN_STATUSES), t.c.expires_at < now)
        if thread_id is not None:
            stmt = stmt.where(t.c.thread_id == thread_id)
        return [dict(r[0]) for r in self.conn.execute(stmt)]

    def steps_of_run(self, run_id: str) -> list[dict[str, Any]]:
        t = _t("step")
        stmt = select(t.c.body).where(t.c.run_id == run_id).order_by(t.c.ord, t.c.seq)
        return [dict(r[0]) for r in self.conn.execute(stmt)]

    def messages_of_run(self, run_id: str) -> list[dict[str, Any]]:
        t = _t("message")
        stmt = select(t.c.body).where(t.c.run_id == run_id).order_by(t.c.ord, t.c.seq)
        return [dict(r[0]) for r in self.conn.execute(stmt)]
