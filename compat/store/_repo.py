"""Typed repository functions on one transaction: the only code that runs SQL.

Imports: sqlalchemy, own modules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, or_, select, update

from ._errors import ActiveRunConflict
from ._paging import Page, keyset_page
from ._tables import _ACTIVE_SQL, ACTIVE_RUN_STATUSES, OWNED_RUN_STATUSES, TABLES, ApiKeyRow

Kind = Literal["assistant", "thread", "message", "run", "step"]


def _t(kind: Kind) -> Any:
    return TABLES[kind].__table__  # type: ignore[attr-defined]


class Repo:
    """Repository bound to one open transaction (see ``Store.read`` / ``Store.write``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._pg = conn.dialect.name == "postgresql"
        self._raw: Any = None

    # The statements every turn runs go to the DB-API connection of this transaction as
    # fixed SQL strings: building, compiling and caching a Core statement cost ~60 us each,
    # the raw call ~3 us (a turn runs ~30 of them). Everything else uses SQLAlchemy Core.
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._exec_sql(_PG_SQL[sql] if self._pg else sql, params)

    def _exec_sql(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """``sql`` as written (SQLite placeholders; converted for PostgreSQL when not in
        ``_PG_SQL``) on this transaction's DB-API connection."""
        if self._raw is None:
            self._raw = self.conn.connection.dbapi_connection
        if self._pg and "?" in sql:
            sql = _pg(sql)
        return self._raw.execute(sql, params)

    def _json_param(self, value: Any) -> str:
        return json.dumps(value)

    @staticmethod
    def _json(value: Any) -> Any:
        # SQLite hands JSON columns back as text, psycopg already decoded
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error inside rolls back only what it wrote."""
        with self.conn.begin_nested():
            yield

    # -- generic -------------------------------------------------------------------------
    def get(self, kind: Kind, id_: str, *, tenant: str | None = None) -> dict[str, Any] | None:
        """The stored wire object, or None (also when ``tenant`` is given and the object,
        or the thread a message/run/step is in, belongs to another tenant)."""
        if tenant is None:
            row = self._exec(_SELECT_BODY[kind], (id_,)).fetchone()
        else:
            row = self._exec(_SCOPED_BODY[kind], (id_, tenant)).fetchone()
        return None if row is None else dict(self._json(row[0]))

    def get_with_state(
        self, kind: Literal["run"], id_: str
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(body, private state)`` of a run, or None."""
        row = self._exec(_RUN_WITH_STATE, (id_,)).fetchone()
        return None if row is None else (dict(self._json(row[0])), dict(self._json(row[1]) or {}))

    def insert(
        self,
        kind: Kind,
        body: dict[str, Any],
        *,
        ord: int,
        state: Mapping[str, Any] | None = None,
        lease: tuple[str, int] | None = None,
        tenant: str = "",
    ) -> None:
        """Insert a new object; run inserts raise ActiveRunConflict when the thread is busy.

        ``lease``: ``(owner, until_ms)`` of a new run the inserting client will execute.
        ``tenant``: whose assistant or thread it is (messages, runs and steps are their
        thread's).
        """
        if kind != "run":
            self._exec(
                _INSERT[kind],
                (body["id"], ord, self._json_param(body), body.get("thread_id"), body.get("run_id"))
                if kind in ("message", "step")
                else (body["id"], ord, self._json_param(body), tenant),
            )
            return
        owner, until = lease if lease is not None else (None, 0)
        params = (
            body["id"],
            ord,
            self._json_param(body),
            body["thread_id"],
            body["status"],
            body.get("expires_at"),
            self._json_param(state or {}),
            owner,
            until,
        )
        # A second active run of the thread is skipped (the partial unique index is the
        # conflict target) instead of raising, so the transaction stays usable to say
        # which run holds the thread.
        if not self._exec(_INSERT["run"], params).rowcount:
            active = self.active_run(body["thread_id"])
            raise ActiveRunConflict(body["thread_id"], active["id"] if active else None)

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
        if kind != "run":
            self._exec(_SAVE_BODY[kind], (self._json_param(body), body["id"]))
            return
        t = _t(kind)
        values: dict[str, Any] = {
            "body": body,
            "status": body["status"],
            "expires_at": body.get("expires_at"),
        }
        if state is not None:
            values["state"] = state
        self.conn.execute(update(t).where(t.c.id == body["id"]).values(**values))

    def delete(self, kind: Kind, id_: str, *, tenant: str | None = None) -> bool:
        """Delete one object; False when it did not exist (or, for an assistant or thread,
        belongs to another tenant than ``tenant``). A deleted assistant or thread is
        remembered (``was_deleted``)."""
        t = _t(kind)
        stmt = delete(t).where(t.c.id == id_)
        if tenant is not None and kind in ("assistant", "thread"):
            stmt = stmt.where(t.c.tenant == tenant)
        gone = bool(self.conn.execute(stmt).rowcount)
        if gone and kind in ("assistant", "thread"):
            self._exec_sql(_REMEMBER_DELETED, (kind, id_, int(time.time())))
        return gone

    def was_deleted(self, kind: Kind, id_: str) -> bool:
        """True when the assistant or thread ``id_`` was deleted from this store."""
        return self._exec_sql(_WAS_DELETED, (kind, id_)).fetchone() is not None

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
        tenant: str | None = None,
    ) -> Page:
        """A keyset page of ``kind`` within a thread / run (all assistants when unscoped;
        ``tenant``: only that tenant's assistants)."""
        if after is None and before is None:  # the first page (most lists): fixed SQL
            where, params = [], []
            for col, value in (("thread_id", thread_id), ("run_id", run_id), ("tenant", tenant)):
                if value is not None:
                    where.append(f"{col} = ?")
                    params.append(value)
            sql = (
                f"SELECT body FROM {_TABLE_OF[kind]}"
                + (f" WHERE {' AND '.join(where)}" if where else "")
                + f" ORDER BY ord {order}, seq {order} LIMIT ?"
            )
            rows = self._exec_sql(sql, (*params, limit + 1)).fetchall()
            data = [dict(self._json(r[0])) for r in rows[:limit]]
            return Page(data, len(rows) > limit)
        t = _t(kind)
        scope = []
        if thread_id is not None:
            scope.append(t.c.thread_id == thread_id)
        if run_id is not None:
            scope.append(t.c.run_id == run_id)
        if tenant is not None:
            scope.append(t.c.tenant == tenant)
        return keyset_page(
            self.conn, t, scope, limit=limit, order=order, after=after, before=before
        )

    # -- threads -------------------------------------------------------------------------
    def lock_thread(self, thread_id: str, *, tenant: str | None = None) -> bool:
        """True if the thread exists (and is ``tenant``'s when given), holding its row lock
        until commit (PostgreSQL; SQLite writes are already serialised by BEGIN IMMEDIATE),
        so run/message creation cannot interleave."""
        row = self._exec(_LOCK_THREAD, (thread_id,)).fetchone()
        return row is not None and (tenant is None or row[1] == tenant)

    def next_ord(self, thread_id: str, now: int) -> int:
        """An ``ord`` after everything already in the thread (``now`` unless a clock
        elsewhere ran ahead): called under the thread's lock, it fixes a new item's place."""
        latest = self._exec(_LATEST_ORD, (thread_id, thread_id, thread_id)).fetchone()
        top = max((int(v) for v in latest if v is not None), default=0)
        return max(now, top + 1)

    def delete_thread(self, thread_id: str, *, tenant: str | None = None) -> bool:
        """Delete a thread with its messages, runs and steps (False when it does not exist,
        or is another tenant's than ``tenant``)."""
        if tenant is not None and self.get("thread", thread_id, tenant=tenant) is None:
            return False
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
        row = self._exec(_ACTIVE_RUN, (thread_id,)).fetchone()
        return None if row is None else dict(self._json(row[0]))

    def transition_run(
        self,
        body: dict[str, Any],
        *,
        from_statuses: Iterable[str],
        state: Mapping[str, Any] | None = None,
        lease: tuple[str, int] | None = None,
    ) -> bool:
        """Save ``body`` only if the stored status is still one of ``from_statuses``.

        The conditional update is how state changes stay correct when several processes
        act on the same run: exactly one of two racing transitions wins. A run entering a
        status nobody executes (requires_action, terminal) drops its lease; ``lease``
        (``(owner, until_ms)``) hands it to a client.
        """
        sets = ["body = ?", "status = ?", "expires_at = ?"]
        params: list[Any] = [self._json_param(body), body["status"], body.get("expires_at")]
        if state is not None:
            sets.append("state = ?")
            params.append(self._json_param(state))
        if lease is not None:
            sets += ["owner = ?", "lease_until = ?"]
            params += list(lease)
        elif body["status"] not in OWNED_RUN_STATUSES:
            sets += ["owner = NULL", "lease_until = 0"]
        froms = list(from_statuses)
        sql = (
            f"UPDATE compat_run SET {', '.join(sets)} WHERE id = ? AND status IN "
            f"({', '.join('?' * len(froms))})"
        )
        if self._pg:  # psycopg sends text: the JSON columns take a cast
            sql = _pg(sql).replace("body = %s", "body = %s::json")
            sql = sql.replace("state = %s", "state = %s::json")
        return bool(self._exec_sql(sql, (*params, body["id"], *froms)).rowcount)

    # -- run leases ----------------------------------------------------------------------
    def claim_run(self, run_id: str, owner: str, until_ms: int, now_ms: int) -> str | None:
        """Take the lease of an owned-status run that is free: unowned, lapsed, or already
        ``owner``'s. Returns the run's status when claimed, None when someone else holds it."""
        t = _t("run")
        res = self.conn.execute(
            update(t)
            .where(
                t.c.id == run_id,
                t.c.status.in_(OWNED_RUN_STATUSES),
                or_(t.c.owner.is_(None), t.c.owner == owner, t.c.lease_until < now_ms),
            )
            .values(owner=owner, lease_until=until_ms)
        )
        if not res.rowcount:
            return None
        row = self.conn.execute(select(t.c.status).where(t.c.id == run_id)).first()
        return None if row is None else str(row[0])

    def renew_leases(self, owner: str, run_ids: Iterable[str], until_ms: int) -> int:
        """Extend ``owner``'s leases on ``run_ids``; how many it still held."""
        ids = list(run_ids)
        if not ids:
            return 0
        t = _t("run")
        res = self.conn.execute(
            update(t)
            .where(t.c.id.in_(ids), t.c.owner == owner, t.c.status.in_(OWNED_RUN_STATUSES))
            .values(lease_until=until_ms)
        )
        return int(res.rowcount or 0)

    def release_run(self, run_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on a run at once (another client may take it now)."""
        t = _t("run")
        self.conn.execute(
            update(t).where(t.c.id == run_id, t.c.owner == owner).values(owner=None, lease_until=0)
        )

    def lapsed_runs(self, now_ms: int, *, limit: int = 20, tenant: str | None = None) -> list[str]:
        """Ids of runs some process must move on whose lease has lapsed (oldest first;
        only ``tenant``'s when given)."""
        t = _t("run")
        stmt = (
            select(t.c.id)
            .where(t.c.status.in_(OWNED_RUN_STATUSES), t.c.lease_until < now_ms)
            .order_by(t.c.lease_until)
            .limit(limit if tenant is None else 1)
        )
        found = [str(r[0]) for r in self.conn.execute(stmt)]
        if tenant is None or not found:
            return found
        # Only when some lease lapsed (the sweep every client makes every few seconds reads
        # compat_run alone): that tenant's, joined in SQL, so other tenants' orphans (whose
        # runners may live nowhere) never crowd this tenant's out of the page.
        th = _t("thread")
        scoped = (
            select(t.c.id)
            .join(th, th.c.id == t.c.thread_id)
            .where(
                t.c.status.in_(OWNED_RUN_STATUSES),
                t.c.lease_until < now_ms,
                th.c.tenant == tenant,
            )
            .order_by(t.c.lease_until)
            .limit(limit)
        )
        return [str(r[0]) for r in self.conn.execute(scoped)]

    def run_counts(self) -> dict[str, int]:
        """How many runs are in each status."""
        t = _t("run")
        stmt = select(t.c.status, func.count()).group_by(t.c.status)
        return {str(s): int(n) for s, n in self.conn.execute(stmt)}

    def run_with_lease(
        self, run_id: str, *, tenant: str | None = None
    ) -> tuple[dict[str, Any], int] | None:
        """``(body, lease_until_ms)`` of a run in one query, or None (also when its thread
        is another tenant's than ``tenant``)."""
        if tenant is None:
            row = self._exec(_RUN_WITH_LEASE, (run_id,)).fetchone()
        else:
            row = self._exec(_RUN_WITH_LEASE_SCOPED, (run_id, tenant)).fetchone()
        return None if row is None else (dict(self._json(row[0])), int(row[1] or 0))

    # -- API keys of the server (compat.server) -----------------------------------------------
    def insert_api_key(self, row: Mapping[str, Any]) -> None:
        """Store a new key's row (its hash, never the key)."""
        self.conn.execute(ApiKeyRow.__table__.insert(), [dict(row)])  # type: ignore[attr-defined]

    def api_key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        """The key's row (revoked or not), or None."""
        t = ApiKeyRow.__table__  # type: ignore[attr-defined]
        row = self.conn.execute(select(t).where(t.c.key_hash == key_hash)).mappings().first()
        return None if row is None else dict(row)

    def api_keys(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every key's row (only ``tenant``'s when given), oldest first."""
        t = ApiKeyRow.__table__  # type: ignore[attr-defined]
        stmt = select(t).order_by(t.c.created_at, t.c.id)
        if tenant is not None:
            stmt = stmt.where(t.c.tenant == tenant)
        return [dict(r) for r in self.conn.execute(stmt).mappings()]

    def revoke_api_key(self, key_id: str, now: int) -> bool:
        """Mark a key revoked; False when there is no such key not yet revoked."""
        t = ApiKeyRow.__table__  # type: ignore[attr-defined]
        res = self.conn.execute(
            update(t).where(t.c.id == key_id, t.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        return bool(res.rowcount)

    def tenants(self) -> list[str]:
        """Tenants that hold a key not revoked."""
        t = ApiKeyRow.__table__  # type: ignore[attr-defined]
        stmt = select(t.c.tenant).where(t.c.revoked_at.is_(None)).distinct()
        return sorted(str(r[0]) for r in self.conn.execute(stmt))

    def lease_of(self, run_id: str) -> tuple[str | None, int] | None:
        """``(owner, lease_until_ms)`` of a run, or None."""
        row = self._exec(_LEASE_OF, (run_id,)).fetchone()
        return None if row is None else (row[0], int(row[1] or 0))

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

    # == history reads for compat._engine.history (its cache of each thread's history) ====
    def history_since(
        self, thread_id: str, from_ord: int | None = None
    ) -> tuple[list[tuple[int, bool, int, dict[str, Any]]], tuple[int, int, int, int]]:
        """The thread's messages and steps with ``ord >= from_ord`` (all when None) as
        ``(ord, is_step, seq, body)``, sorted in creation order (the order of ``history``),
        and, for those with ``ord < from_ord``: ``(message count, sum of their seq, step
        count, sum of their seq)``.

        One statement, so one snapshot even under READ COMMITTED: a cache of the rows before
        ``from_ord`` checks with the counts that none was deleted or added since it read them.
        """
        if from_ord is None:
            rows = self._exec(_HISTORY_ALL, (thread_id, thread_id))
        else:
            rows = self._exec(_HISTORY_SINCE, (thread_id, from_ord) * 4)
        found: list[tuple[int, bool, int, dict[str, Any]]] = []
        below = [0, 0, 0, 0]
        for flag, ord_, seq, body in rows.fetchall():
            if int(flag) < 2:
                found.append((int(ord_), int(flag) == 1, int(seq), self._json(body)))
            else:  # (count, seq sum) of messages at [0:2], of steps at [2:4]
                at = 2 * (int(flag) - 2)
                below[at : at + 2] = [int(ord_), int(seq)]
        found.sort(key=lambda r: r[:3])
        return found, (below[0], below[1], below[2], below[3])

    def run_states_since(
        self, thread_id: str, from_ord: int | None = None
    ) -> tuple[list[tuple[int, int, str, dict[str, Any]]], tuple[int, int]]:
        """The thread's runs with ``ord >= from_ord`` (all when None) as ``(ord, seq, status,
        state)`` in creation order, and ``(count, sum of seq)`` of those with ``ord <
        from_ord``: what ``history_since`` is to messages and steps, for the runs' private
        state (compat._engine.history keeps the reasoning items runs kept). One statement,
        one snapshot."""
        if from_ord is None:
            sql = "SELECT 0, ord, seq, status, state FROM compat_run WHERE thread_id = ?"
            rows = self._exec_sql(sql, (thread_id,))
        else:
            sql = (
                "SELECT 0, ord, seq, status, state FROM compat_run WHERE thread_id = ? "
                "AND ord >= ? UNION ALL SELECT 1, count(*), "
                "CAST(coalesce(sum(seq), 0) AS BIGINT), NULL, NULL FROM compat_run "
                "WHERE thread_id = ? AND ord < ?"
            )
            rows = self._exec_sql(sql, (thread_id, from_ord) * 2)
        found: list[tuple[int, int, str, dict[str, Any]]] = []
        below = (0, 0)
        for flag, ord_, seq, status, state in rows.fetchall():
            if int(flag) == 0:
                found.append((int(ord_), int(seq), str(status), dict(self._json(state) or {})))
            else:
                below = (int(ord_), int(seq))
        found.sort(key=lambda r: r[:2])
        return found, below


# -- the fixed SQL of the hot statements (SQLite placeholders; _PG_SQL has PostgreSQL's) --
def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


_TABLE_OF = {k: TABLES[k].__tablename__ for k in TABLES}  # type: ignore[attr-defined]
_SELECT_BODY = {k: f"SELECT body FROM {t} WHERE id = ?" for k, t in _TABLE_OF.items()}
_RUN_WITH_STATE = "SELECT body, state FROM compat_run WHERE id = ?"
_LEASE_OF = "SELECT owner, lease_until FROM compat_run WHERE id = ?"
# ON CONFLICT: an imported object deleted again (SQLite 3.24+ and PostgreSQL both take it)
_REMEMBER_DELETED = (
    "INSERT INTO compat_deleted (kind, id, deleted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_WAS_DELETED = "SELECT 1 FROM compat_deleted WHERE kind = ? AND id = ?"
_RUN_WITH_LEASE = "SELECT body, lease_until FROM compat_run WHERE id = ?"
#: the same reads, only when the object (or the thread it is in) is the tenant's
_SCOPED_BODY = {
    k: f"SELECT body FROM {t} WHERE id = ? AND tenant = ?"
    if k in ("assistant", "thread")
    else f"SELECT x.body FROM {t} x JOIN compat_thread t ON t.id = x.thread_id "
    "WHERE x.id = ? AND t.tenant = ?"
    for k, t in _TABLE_OF.items()
}
_RUN_WITH_LEASE_SCOPED = (
    "SELECT x.body, x.lease_until FROM compat_run x JOIN compat_thread t ON t.id = x.thread_id "
    "WHERE x.id = ? AND t.tenant = ?"
)
_ACTIVE_RUN = (
    "SELECT body FROM compat_run WHERE thread_id = ? AND status IN "
    "('queued', 'in_progress', 'requires_action', 'cancelling')"
)
_LOCK_THREAD = "SELECT seq, tenant FROM compat_thread WHERE id = ?"
_LATEST_ORD = (
    "SELECT (SELECT max(ord) FROM compat_message WHERE thread_id = ?), "
    "(SELECT max(ord) FROM compat_step WHERE thread_id = ?), "
    "(SELECT max(ord) FROM compat_run WHERE thread_id = ?)"
)
_INSERT = {
    "assistant": "INSERT INTO compat_assistant (id, ord, body, tenant) VALUES (?, ?, ?, ?)",
    "thread": "INSERT INTO compat_thread (id, ord, body, tenant) VALUES (?, ?, ?, ?)",
    "message": "INSERT INTO compat_message (id, ord, body, thread_id, run_id) "
    "VALUES (?, ?, ?, ?, ?)",
    "step": "INSERT INTO compat_step (id, ord, body, thread_id, run_id) VALUES (?, ?, ?, ?, ?)",
    "run": "INSERT INTO compat_run (id, ord, body, thread_id, status, expires_at, state, "
    "owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT (thread_id) WHERE {_ACTIVE_SQL} DO NOTHING",
}
_SAVE_BODY = {k: f"UPDATE {t} SET body = ? WHERE id = ?" for k, t in _TABLE_OF.items()}
_HISTORY_ALL = (
    "SELECT 0, ord, seq, body FROM compat_message WHERE thread_id = ? "
    "UNION ALL SELECT 1, ord, seq, body FROM compat_step WHERE thread_id = ?"
)
_HISTORY_SINCE = (
    "SELECT 0, ord, seq, body FROM compat_message WHERE thread_id = ? AND ord >= ? "
    "UNION ALL SELECT 1, ord, seq, body FROM compat_step WHERE thread_id = ? AND ord >= ? "
    "UNION ALL SELECT 2, count(*), CAST(coalesce(sum(seq), 0) AS BIGINT), NULL "
    "FROM compat_message WHERE thread_id = ? AND ord < ? "
    "UNION ALL SELECT 3, count(*), CAST(coalesce(sum(seq), 0) AS BIGINT), NULL "
    "FROM compat_step WHERE thread_id = ? AND ord < ?"
)


def _pg_json(sql: str) -> str:
    """PostgreSQL's form: ``%s`` placeholders, JSON parameters cast (psycopg sends text)."""
    out = _pg(sql)
    if sql.startswith("INSERT"):
        cols = sql[sql.index("(") + 1 : sql.index(")")].split(", ")
        parts = out.split("VALUES (", 1)
        values = ["%s::json" if c in ("body", "state") else "%s" for c in cols]
        out = parts[0] + "VALUES (" + ", ".join(values) + ")" + out.split(")", 2)[2]
    elif sql.startswith("UPDATE") and "SET body = ?" in sql:
        out = out.replace("SET body = %s", "SET body = %s::json")
    elif sql == _LOCK_THREAD:
        out += " FOR UPDATE"
    return out


_PG_SQL: dict[str, str] = {
    sql: _pg_json(sql)
    for sql in [
        *_SELECT_BODY.values(),
        *_SCOPED_BODY.values(),
        _RUN_WITH_LEASE_SCOPED,
        _RUN_WITH_STATE,
        _LEASE_OF,
        _RUN_WITH_LEASE,
        _ACTIVE_RUN,
        _LOCK_THREAD,
        _LATEST_ORD,
        *_INSERT.values(),
        *_SAVE_BODY.values(),
        _HISTORY_ALL,
        _HISTORY_SINCE,
    ]
}
