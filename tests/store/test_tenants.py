"""Revision 0004 (tenants and API keys): rows stored before it become the default tenant's
(``''``, the in-process client's), rows inserted without a tenant (by code that does not
know it) too; tenant-scoped reads see only their tenant's objects, and those of the
threads they own; a downgrade to 0003 drops it all again."""

from __future__ import annotations

from typing import Any

import compat.store as store
from compat.store import migrations
from tests.store.test_migrations import (
    RELEASE_2,
    T,
    _migrate_to,
    _opened,
    _sql,
    make_release_db,
)


def test_release_rows_become_the_default_tenants_and_scoped_reads_hide_others(
    db_url: str,
) -> None:
    make_release_db(db_url, RELEASE_2)
    s = _opened(db_url)
    assert store.schema_state(db_url).revision == migrations.HEAD
    with s.read() as repo:
        assert repo.get("thread", T, tenant="") is not None
        assert repo.get("thread", T, tenant="acme") is None
        assert repo.get("message", "msg_1", tenant="") is not None
        assert repo.get("message", "msg_1", tenant="acme") is None
        assert repo.run_with_lease("run_1", tenant="acme") is None
        assert repo.run_with_lease("run_1", tenant="") is not None
    # a row inserted without the column (an importer's Core insert) is the default tenant's
    _sql(
        db_url,
        "INSERT INTO compat_assistant (id, ord, body) VALUES ('asst_x', 1, '{\"id\": \"asst_x\"}')",
    )
    with s.write() as repo:
        repo.insert("assistant", {"id": "asst_acme"}, ord=2, tenant="acme")
        repo.insert("thread", {"id": "thread_acme"}, ord=3, tenant="acme")
    with s.read() as repo:
        ids = [a["id"] for a in repo.page("assistant", limit=9, order="asc", tenant="").data]
        assert "asst_x" in ids and "asst_acme" not in ids
        acme = repo.page("assistant", limit=9, order="asc", tenant="acme").data
        assert [a["id"] for a in acme] == ["asst_acme"]
        assert repo.lock_thread("thread_acme", tenant="") is False
        assert repo.lock_thread("thread_acme", tenant="acme") is True
    with s.write() as repo:  # a lapsed run is swept only by its own tenant's runner
        run = {"id": "run_acme", "thread_id": "thread_acme", "status": "queued"}
        repo.insert("run", run, ord=4, lease=("gone", 1))
    with s.read() as repo:
        assert "run_acme" in repo.lapsed_runs(10**13, tenant="acme")
        assert "run_acme" not in repo.lapsed_runs(10**13, tenant="")
        assert "run_acme" in repo.lapsed_runs(10**13)
    with s.write() as repo:  # more orphans of a tenant nobody serves than one sweep reads
        for n in range(25):
            repo.insert("thread", {"id": f"thread_ghost{n}"}, ord=10 + n, tenant="ghost")
            run = {"id": f"run_ghost{n}", "thread_id": f"thread_ghost{n}", "status": "queued"}
            repo.insert("run", run, ord=10 + n, lease=("gone", 0))
    with s.read() as repo:  # never crowd acme's own orphan out of acme's sweep
        assert repo.lapsed_runs(10**13, tenant="acme") == ["run_acme"]
    with s.write() as repo:
        assert not repo.delete_thread("thread_acme", tenant="")
        assert not repo.delete("assistant", "asst_acme", tenant="")
        assert repo.delete_thread("thread_acme", tenant="acme")


def test_downgrade_to_0003_drops_tenants_and_keys(db_url: str) -> None:
    s = _opened(db_url)
    with s.write() as repo:
        repo.insert_api_key(
            {
                "id": "key_1",
                "key_hash": "0" * 64,
                "hint": "sk-compat-abcd…",
                "tenant": "acme",
                "label": None,
                "created_at": 1,
                "revoked_at": None,
            }
        )
        assert repo.tenants() == ["acme"]
        assert repo.revoke_api_key("key_1", 2) and not repo.revoke_api_key("key_1", 3)
        assert repo.tenants() == []
    s.close()
    store._open.pop(db_url, None)
    _migrate_to(db_url, "0003", "downgrade")
    tables: Any = {r[0] for r in _sql(db_url, _TABLES[db_url.split(":")[0].split("+")[0]])}
    assert "compat_api_key" not in tables
    assert _sql(db_url, "SELECT value FROM compat_meta") == [("3",)]
    store.upgrade_schema(db_url)
    assert store.schema_state(db_url).at_head


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}
