"""The store on SQLite and PostgreSQL: keyset pages, the one-active-run rule, atomicity."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import compat.store as store
from compat.store import ActiveRunConflict, open_store


@pytest.fixture
def s(db_url: str) -> Any:
    return open_store(db_url)


def _msg(i: int, thread: str = "thread_a") -> dict[str, Any]:
    return {
        "id": f"msg_{i:03d}",
        "object": "thread.message",
        "thread_id": thread,
        "run_id": None,
        "n": i,
    }


def test_keyset_pages_in_both_directions(s: Any) -> None:
    with s.write() as repo:
        repo.insert("thread", {"id": "thread_a"}, ord=1)
        repo.insert("thread", {"id": "thread_b"}, ord=2)
        # same ord for a batch (created in one call): insertion order breaks the tie
        repo.insert_many("message", [(_msg(i), 100 + i // 3) for i in range(10)])
        repo.insert_many("message", [(_msg(50, "thread_b"), 5)])
    ids = [f"msg_{i:03d}" for i in range(10)]
    with s.read() as repo:

        def page(**kw: Any) -> tuple[list[str], bool]:
            p = repo.page("message", thread_id="thread_a", **kw)
            return [m["id"] for m in p.data], p.has_more

        assert page(limit=4, order="asc") == (ids[:4], True)
        assert page(limit=4, order="asc", after=ids[3]) == (ids[4:8], True)
        assert page(limit=4, order="asc", after=ids[7]) == (ids[8:], False)
        assert page(limit=3, order="desc") == (ids[::-1][:3], True)
        assert page(limit=3, order="desc", after=ids[7]) == ([ids[6], ids[5], ids[4]], True)
        assert page(limit=3, order="asc", before=ids[5]) == (ids[2:5], True)
        assert page(limit=3, order="desc", before=ids[5]) == ([ids[8], ids[7], ids[6]], True)
        assert page(limit=3, order="asc", before=ids[1]) == (ids[:1], False)
        assert page(limit=100, order="asc", after=ids[2], before=ids[6]) == (ids[3:6], False)
        assert page(limit=5, order="asc", after="msg_unknown") == ([], False)
        assert page(limit=5, order="asc", after="msg_050") == ([], False)  # another thread's id


def test_one_active_run_per_thread_under_concurrency(s: Any) -> None:
    with s.write() as repo:
        repo.insert("thread", {"id": "thread_r"}, ord=1)
    barrier = threading.Barrier(8)
    won: list[str] = []
    lost: list[str] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            with s.write() as repo:
                repo.insert(
                    "run",
                    {"id": f"run_{i}", "thread_id": "thread_r", "status": "queued"},
                    ord=10 + i,
                )
            won.append(f"run_{i}")
        except ActiveRunConflict as exc:
            lost.append(str(exc.run_id))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7 and set(lost) == set(won)
    with s.write() as repo:
        run = repo.get("run", won[0])
        run["status"] = "completed"
        assert repo.transition_run(run, from_statuses=("queued",))
        assert not repo.transition_run(run, from_statuses=("queued",))  # already moved on
        repo.insert("run", {"id": "run_next", "thread_id": "thread_r", "status": "queued"}, ord=99)


def test_a_failed_transaction_leaves_nothing_behind(s: Any) -> None:
    with pytest.raises(RuntimeError):
        with s.write() as repo:
            repo.insert("thread", {"id": "thread_x"}, ord=1)
            repo.insert_many("message", [(_msg(1, "thread_x"), 2)])
            raise RuntimeError("boom")
    with s.read() as repo:
        assert repo.get("thread", "thread_x") is None
        assert repo.page("message", limit=10, order="asc", thread_id="thread_x").data == []


def test_thread_delete_cascades(s: Any) -> None:
    with s.write() as repo:
        repo.insert("thread", {"id": "thread_d"}, ord=1)
        repo.insert_many("message", [(_msg(1, "thread_d"), 2)])
        repo.insert("run", {"id": "run_d", "thread_id": "thread_d", "status": "completed"}, ord=3)
        repo.insert("step", {"id": "step_d", "thread_id": "thread_d", "run_id": "run_d"}, ord=4)
    with s.write() as repo:
        assert repo.delete_thread("thread_d")
    with s.read() as repo:
        assert all(
            repo.get(k, i) is None
            for k, i in [("message", "msg_001"), ("run", "run_d"), ("step", "step_d")]
        )


def test_schema_version_is_recorded_and_checked(db_url: str) -> None:
    s = open_store(db_url)
    from sqlalchemy import text

    with s.engine.connect() as conn:
        v = conn.execute(
            text("SELECT value FROM compat_meta WHERE key = 'schema_version'")
        ).scalar()
    assert int(v) == store.SCHEMA_VERSION
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE compat_meta SET value = '999' WHERE key = 'schema_version'"))
    with pytest.raises(store.SchemaVersionError):
        store.Store(db_url)


def test_resolve_url(monkeypatch: Any) -> None:
    monkeypatch.delenv("COMPAT_DATABASE_URL", raising=False)
    assert store.resolve_url() == "sqlite:///assistants.db"
    monkeypatch.setenv("COMPAT_DATABASE_URL", "sqlite:////tmp/x.db")
    assert store.resolve_url() == "sqlite:////tmp/x.db"
    assert store.resolve_url("postgresql://h/db") == "postgresql://h/db"
