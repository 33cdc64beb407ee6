"""Schema migrations (store.migrations) on SQLite and PostgreSQL: databases made by the
releases before Alembic upgrade in place, the head revision equals store/_tables.py, newer
databases are refused, concurrent first opens are safe, the ``db`` CLI, cascading deletes.

A "release database" is made in a subprocess by that release's own ``store/_tables.py``
(frozen in tests/store/releases/, from ``git show <commit>:store/_tables.py``) with its
``create_all``, the ``schema_version`` it wrote, and rows shaped as it stored them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import compat.store as store
from compat import cli
from compat.store import migrations
from compat.store._db import make_engine, schema_transaction

ROOT = Path(__file__).resolve().parents[2]
RELEASES = Path(__file__).parent / "releases"
T = "thread_abc"

#: (frozen _tables.py, schema_version, SQL the release ran after create_all)
RELEASE_1 = ("tables_52a38c3.py.txt", 1, [])
RELEASE_2 = ("tables_eebd2fe.py.txt", 2, [])
#: a release-1 database upgraded by release 2 (its hand-written ``_upgrade``)
RELEASE_1_UPGRADED_BY_2 = (
    "tables_52a38c3.py.txt",
    2,
    [
        "ALTER TABLE compat_run ADD COLUMN owner VARCHAR(64)",
        "ALTER TABLE compat_run ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX ix_compat_run_owned_lease ON compat_run (lease_until) "
        "WHERE status IN ('queued', 'in_progress', 'cancelling')",
    ],
)

_MAKE_RELEASE_DB = """
import json, sys
from sqlalchemy import MetaData, create_engine, text
from sqlmodel import SQLModel
source, url = sys.argv[1], sys.argv[2]
spec = json.load(sys.stdin)
exec(compile(open(source).read(), source, "exec"), {"__name__": "released_tables"})
engine = create_engine(url)
with engine.begin() as conn:
    SQLModel.metadata.create_all(conn)
    conn.execute(text("INSERT INTO compat_meta (key, value) VALUES ('schema_version', :v)"),
                 {"v": str(spec["version"])})
    for sql in spec["sql"]:
        conn.execute(text(sql))
    tables = MetaData()
    tables.reflect(conn)  # as they are now (the SQL may have added columns)
    for table, rows in spec["rows"].items():
        if rows:
            conn.execute(tables.tables[table].insert(), rows)
engine.dispose()
"""


def _objects() -> dict[str, Any]:
    """Wire objects as the releases stored them."""
    msgs = [
        {
            "id": f"msg_{i}",
            "object": "thread.message",
            "thread_id": T,
            "run_id": "run_1" if i == 3 else None,
            "role": "assistant" if i == 3 else "user",
            "content": [{"type": "text", "text": {"value": f"m{i} é", "annotations": []}}],
            "created_at": 1700000000 + i,
        }
        for i in range(5)
    ]
    run = {"object": "thread.run", "thread_id": T, "assistant_id": "asst_1"}
    return {
        "assistant": {"id": "asst_1", "object": "assistant", "model": "gpt-4o", "tools": []},
        "thread": {"id": T, "object": "thread", "metadata": {"k": "v"}},
        "messages": msgs,
        "run_1": {**run, "id": "run_1", "status": "completed", "expires_at": None},
        "run_2": {**run, "id": "run_2", "status": "queued", "expires_at": 1700009999},
        "step": {
            "id": "step_1",
            "object": "thread.run.step",
            "thread_id": T,
            "run_id": "run_1",
            "type": "message_creation",
            "status": "completed",
        },
        "state_1": {"usage": [{"total_tokens": 7}], "upstream": ["resp_1"]},
    }


def _rows(version: int, extra: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    o = _objects()
    lease = [{"owner": None, "lease_until": 0}, {"owner": "client_x", "lease_until": 5000}]
    runs = [
        {"id": r["id"], "thread_id": T, "status": r["status"], "expires_at": r["expires_at"]}
        | {"ord": 13 + 7 * i, "body": r, "state": o["state_1"] if i == 0 else {}}
        | (lease[i] if version >= 2 else {})
        for i, r in enumerate([o["run_1"], o["run_2"]])
    ]
    rows = {
        "compat_assistant": [{"id": "asst_1", "ord": 1, "body": o["assistant"]}],
        "compat_thread": [{"id": T, "ord": 2, "body": o["thread"]}],
        "compat_message": [
            {"id": m["id"], "thread_id": T, "run_id": m["run_id"], "ord": 10 + i, "body": m}
            for i, m in enumerate(o["messages"])
        ],
        "compat_run": runs,
        "compat_step": [
            {"id": "step_1", "thread_id": T, "run_id": "run_1", "ord": 15, "body": o["step"]}
        ],
    }
    for table, more in (extra or {}).items():
        rows[table] = rows[table] + more
    return rows


def make_release_db(url: str, release: tuple[str, int, list[str]], rows: Any = None) -> None:
    source, version, sql = release
    spec = {"version": version, "sql": sql, "rows": _rows(version) if rows is None else rows}
    subprocess.run(
        [sys.executable, "-c", _MAKE_RELEASE_DB, str(RELEASES / source), url],
        input=json.dumps(spec),
        text=True,
        check=True,
        cwd=ROOT,
    )


def _sql(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            res = conn.execute(text(sql))
            return list(res) if res.returns_rows else []
    finally:
        engine.dispose()


def _migrate_to(url: str, revision: str, command: str = "upgrade") -> None:
    """Alembic's upgrade/downgrade to ``revision``, the way store.migrations runs it."""
    engine = make_engine(url)
    try:
        with schema_transaction(engine) as conn:
            migrations.alembic_command(conn, command, revision)
    finally:
        engine.dispose()


def _schema(url: str, *, ordered: bool = True) -> dict[str, Any]:
    """Tables, columns, keys, indexes (with their WHERE) and foreign keys, for comparing."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            out: dict[str, Any] = {}
            for t in sorted(set(insp.get_table_names()) & migrations.TABLE_NAMES):
                cols = [
                    (c["name"], str(c["type"]), c["nullable"], str(c["default"]))
                    for c in insp.get_columns(t)
                ]
                indexes = sorted(
                    (
                        i["name"],
                        tuple(i["column_names"]),
                        bool(i["unique"]),
                        sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()),
                    )
                    for i in insp.get_indexes(t)
                )
                fks = sorted(
                    (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                    + (tuple(f["referred_columns"]), sorted(f["options"].items()))
                    for f in insp.get_foreign_keys(t)
                )
                out[t] = {
                    "columns": cols if ordered else sorted(cols),
                    "pk": insp.get_pk_constraint(t)["constrained_columns"],
                    "unique": sorted(
                        tuple(u["column_names"]) for u in insp.get_unique_constraints(t)
                    ),
                    "indexes": indexes,
                    "fks": fks,
                }
            return out
    finally:
        engine.dispose()


def _metadata_diffs(url: str) -> list[Any]:
    """alembic's compare_metadata of the database against store/_tables.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"include_name": migrations.include_name, "compare_type": True}
            return list(
                compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
            )
    finally:
        engine.dispose()


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other.db"
        return
    import psycopg

    schema = db_url.rsplit("%3D", 1)[1] + "_b"
    dsn = db_url.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield db_url.rsplit("%3D", 1)[0] + "%3D" + schema
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _opened(url: str, **kw: Any) -> store.Store:
    s = store.Store(url, **kw)
    store._open[url] = s  # closed by the db_url fixture
    return s


# -- the revisions ----------------------------------------------------------------------
def test_head_is_the_scripts_head_and_the_chain_is_linear() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    assert script.get_heads() == [migrations.HEAD]
    chain = [s.revision for s in script.walk_revisions("base", "heads")]
    assert chain == ["0005", "0004", "0003", "0002", "0001"]
    assert store.SCHEMA_VERSION == 4


def test_revision_0001_is_the_schema_of_release_52a38c3(db_url: str, other_url: str) -> None:
    make_release_db(db_url, RELEASE_1, rows={})
    _migrate_to(other_url, "0001")
    assert _schema(other_url) == _schema(db_url)
    assert _sql(other_url, "SELECT key, value FROM compat_meta") == [("schema_version", "1")]
    if db_url.startswith("sqlite"):
        ddl = "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'compat%' ORDER BY name"
        assert _sql(other_url, ddl) == _sql(db_url, ddl)


def test_head_schema_equals_the_tables_by_both_paths(db_url: str, other_url: str) -> None:
    """create_all + stamp (what an empty database gets) and every revision from empty give
    the schema of store/_tables.py (the upgrade of a release database: below)."""
    _opened(db_url)
    assert _metadata_diffs(db_url) == []
    _migrate_to(other_url, "head")
    assert _metadata_diffs(other_url) == []
    assert _schema(other_url, ordered=False) == _schema(db_url, ordered=False)


def test_downgrade_to_0001_gives_release_1_its_schema_back(db_url: str, other_url: str) -> None:
    make_release_db(db_url, RELEASE_1)
    v1 = _schema(db_url, ordered=False)
    store.upgrade_schema(db_url)
    _migrate_to(db_url, "0001", "downgrade")
    assert _schema(db_url, ordered=False) == v1
    assert _sql(db_url, "SELECT value FROM compat_meta") == [("1",)]
    assert len(_sql(db_url, "SELECT id FROM compat_message")) == 5


# -- upgrading in place -------------------------------------------------------------------
@pytest.mark.parametrize(
    "release",
    [RELEASE_1, RELEASE_2, RELEASE_1_UPGRADED_BY_2],
    ids=["release1", "release2", "release1-upgraded-by-2"],
)
def test_release_database_upgrades_in_place(db_url: str, other_url: str, release: Any) -> None:
    make_release_db(db_url, release)
    before = store.schema_state(db_url)
    assert (before.revision, before.schema_version, before.at_head) == (None, release[1], False)
    s = _opened(db_url)
    after = store.schema_state(db_url)
    assert (after.revision, after.schema_version, after.at_head) == ("0005", 4, True)
    assert _metadata_diffs(db_url) == []
    store.upgrade_schema(other_url)  # a fresh database at head
    assert _schema(db_url, ordered=False) == _schema(other_url, ordered=False)
    o = _objects()
    ids = [m["id"] for m in o["messages"]]
    with s.read() as repo:
        assert repo.get("assistant", "asst_1") == o["assistant"]
        assert repo.page("assistant", limit=5, order="desc").data == [o["assistant"]]
        assert repo.get("thread", T) == o["thread"]
        assert repo.get("message", "msg_3") == o["messages"][3]
        assert [
            m["id"] for m in repo.page("message", limit=9, order="asc", thread_id=T).data
        ] == ids
        page = repo.page("message", limit=2, order="desc", thread_id=T, after="msg_3")
        assert ([m["id"] for m in page.data], page.has_more) == (["msg_2", "msg_1"], True)
        assert repo.get_with_state("run", "run_1") == (o["run_1"], o["state_1"])
        assert [r["id"] for r in repo.page("run", limit=5, order="asc", thread_id=T).data] == [
            "run_1",
            "run_2",
        ]
        assert repo.active_run(T) == o["run_2"]
        assert repo.lease_of("run_2") == (("client_x", 5000) if release[1] == 2 else (None, 0))
        assert repo.lapsed_runs(10**13) == ["run_2"]
        assert repo.get("step", "step_1") == o["step"]
        assert repo.steps_of_run("run_1") == [o["step"]]
        assert repo.messages_of_run("run_1") == [o["messages"][3]]
        found, below = repo.history_since(T)
        assert [r[3]["id"] for r in found] == [*ids, "step_1"] and below == (0, 0, 0, 0)
        found, below = repo.history_since(T, 13)
        assert [r[3]["id"] for r in found] == ["msg_3", "msg_4", "step_1"]
        assert below[0] == 3 and below[2] == 0
        assert repo.history(T) == [*o["messages"], o["step"]]
    with s.write() as repo:  # and it takes writes as a head database does
        assert repo.claim_run("run_2", "client_y", 9000, 10**13) == "queued"
        repo.insert("message", {**o["messages"][0], "id": "msg_new"}, ord=40)
        done = {**o["run_2"], "status": "completed"}
        assert repo.transition_run(done, from_statuses=("queued",))
        repo.insert("run", {**o["run_1"], "id": "run_3", "status": "queued"}, ord=41)
    with s.write() as repo:
        assert repo.delete_thread(T)
    for t in ("compat_message", "compat_run", "compat_step"):
        assert _sql(db_url, f"SELECT count(*) FROM {t}") == [(0,)]


def test_a_fresh_store_is_created_at_head(db_url: str) -> None:
    assert store.schema_state(db_url).empty
    _opened(db_url)
    state = store.schema_state(db_url)
    assert state.at_head and state.tables == migrations.TABLE_NAMES
    assert _sql(db_url, "SELECT version_num FROM alembic_version") == [("0005",)]


def test_rows_whose_thread_or_run_is_gone_are_deleted_by_revision_0003(db_url: str) -> None:
    gone = {"ord": 50, "body": {}}
    extra = {
        "compat_message": [{"id": "msg_orphan", "thread_id": "thread_gone", "run_id": None} | gone],
        "compat_run": [
            {"id": "run_orphan", "thread_id": "thread_gone", "status": "completed"}
            | {"expires_at": None, "state": {}}
            | gone
        ],
        "compat_step": [
            {"id": "step_of_orphan_run", "thread_id": T, "run_id": "run_orphan"} | gone,
            {"id": "step_of_gone_run", "thread_id": T, "run_id": "run_gone"} | gone,
        ],
    }
    make_release_db(db_url, RELEASE_1, rows=_rows(1, extra))
    s = _opened(db_url)
    with s.read() as repo:
        for kind, id_ in [
            ("message", "msg_orphan"),
            ("run", "run_orphan"),
            ("step", "step_of_orphan_run"),
            ("step", "step_of_gone_run"),
        ]:
            assert repo.get(kind, id_) is None  # type: ignore[arg-type]
        assert repo.get("step", "step_1") is not None
        assert len(repo.page("message", limit=9, order="asc", thread_id=T).data) == 5


# -- refusing -----------------------------------------------------------------------------
def test_a_newer_revision_is_refused(db_url: str, capsys: Any) -> None:
    _opened(db_url).close()
    store._open.pop(db_url)
    _sql(db_url, "UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(store.SchemaVersionError) as err:
        store.Store(db_url)
    assert "'0099'" in str(err.value) and "'0005'" in str(err.value)
    with pytest.raises(store.SchemaVersionError):
        store.upgrade_schema(db_url)
    assert cli.main(["db", "check", "--database", db_url]) == 2
    assert "'0099'" in capsys.readouterr().err
    assert _sql(db_url, "SELECT version_num FROM alembic_version") == [("0099",)]


def test_a_newer_schema_version_is_refused_and_older_releases_refuse_head(db_url: str) -> None:
    _opened(db_url)
    _sql(db_url, "UPDATE compat_meta SET value = '5' WHERE key = 'schema_version'")
    with pytest.raises(store.SchemaVersionError, match="schema_version 5"):
        store.Store(db_url)
    # what releases 1 and 2 compare with their own version (1, 2) to refuse the database
    _sql(db_url, "UPDATE compat_meta SET value = '3' WHERE key = 'schema_version'")
    assert _sql(db_url, "SELECT value FROM compat_meta WHERE key = 'schema_version'") == [("3",)]


def test_migrate_false_refuses_a_stale_database(db_url: str, monkeypatch: Any) -> None:
    make_release_db(db_url, RELEASE_2)
    with pytest.raises(store.SchemaUpgradeRequired, match="assistants-compat db upgrade"):
        store.Store(db_url, migrate=False)
    monkeypatch.setenv("COMPAT_AUTO_MIGRATE", "0")
    with pytest.raises(store.SchemaUpgradeRequired, match="schema_version 2"):
        store.Store(db_url)
    state = store.schema_state(db_url)  # untouched
    assert (state.revision, state.schema_version) == (None, 2)
    assert "alembic_version" not in _schema(db_url)
    _opened(db_url, migrate=True).close()  # the argument wins over the environment
    store._open.pop(db_url)
    s = _opened(db_url)  # at head: nothing to do, so nothing refused
    with s.read() as repo:
        assert repo.get("thread", T) is not None


# -- concurrency --------------------------------------------------------------------------
_OPEN_AT = """
import sys, time
import compat.store as store
url, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
s = store.Store(url)
with s.read() as repo:
    print(len(repo.page("message", limit=50, order="asc", thread_id="thread_abc").data))
s.close()
"""


@pytest.mark.parametrize("made_by", ["release1", "nothing"])
def test_processes_opening_a_database_at_once_all_succeed(db_url: str, made_by: str) -> None:
    if made_by == "release1":
        make_release_db(db_url, RELEASE_1)
    start = time.time() + 2.0  # past every child's imports
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, db_url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [(rc, out.strip()) for rc, out, _ in results] == [
        (0, "5" if made_by == "release1" else "0")
    ] * 4, [err for _, _, err in results]
    assert store.schema_state(db_url).at_head
    assert _sql(db_url, "SELECT count(*) FROM alembic_version") == [(1,)]


# -- the CLI ------------------------------------------------------------------------------
def test_db_commands(db_url: str, capsys: Any, monkeypatch: Any) -> None:
    make_release_db(db_url, RELEASE_1)

    def run(*args: str) -> tuple[int, str]:
        rc = cli.main(["db", *args])
        captured = capsys.readouterr()
        return rc, captured.out + captured.err

    rc, out = run("current", "--database", db_url)
    assert rc == 0 and "schema_version 1" in out and "0005" in out
    rc, out = run("check", "--database", db_url)
    assert rc == 1 and "assistants-compat db upgrade" in out
    monkeypatch.setenv("COMPAT_DATABASE_URL", db_url)  # the default: the client's resolution
    rc, out = run("upgrade")
    assert rc == 0 and "upgraded from schema_version 1 to 0005 (head)" in out
    assert run("check") == (0, f"{store.schema_state().database}: at revision 0005 (head)\n")
    rc, out = run("current")
    assert rc == 0 and "0005 (head)" in out
    rc, out = run("upgrade")
    assert rc == 0 and "already at revision 0005" in out
    proc = subprocess.run(  # the installed entry point
        [
            sys.executable,
            "-c",
            "from compat.cli import main; raise SystemExit(main())",
            "db",
            "check",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COMPAT_DATABASE_URL": db_url},
    )
    assert proc.returncode == 0 and "(head)" in proc.stdout


def test_db_check_on_a_missing_sqlite_file_does_not_create_it(tmp_path: Path, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path}/none.db"
    assert cli.main(["db", "check", "--database", url]) == 1
    assert "empty" in capsys.readouterr().out and not (tmp_path / "none.db").exists()
    assert cli.main(["db", "upgrade", "--database", url]) == 0
    assert "created the schema" in capsys.readouterr().out
    assert cli.main(["db", "check", "--database", url]) == 0
    assert cli.main(["db", "check", "--database", f"sqlite:///{tmp_path}/no/dir/x.db"]) == 1
    assert cli.main(["db", "upgrade", "--database", f"sqlite:///{tmp_path}/no/dir/x.db"]) == 2
    assert "unable to open" in capsys.readouterr().err


# -- foreign keys -------------------------------------------------------------------------
def test_deleting_a_thread_deletes_its_messages_runs_and_steps(db_url: str) -> None:
    s = _opened(db_url)
    o = _objects()
    with s.write() as repo:
        for tid in (T, "thread_other"):
            repo.insert("thread", {**o["thread"], "id": tid}, ord=1)
        repo.insert_many("message", [(m, 10 + i) for i, m in enumerate(o["messages"])])
        repo.insert(
            "message", {**o["messages"][0], "id": "msg_x", "thread_id": "thread_other"}, ord=9
        )
        repo.insert("run", o["run_1"], ord=11)
        repo.insert("step", o["step"], ord=12)
    with s.write() as repo:  # not repo.delete_thread: the database alone
        repo.conn.execute(text("DELETE FROM compat_thread WHERE id = :t"), {"t": T})
    with s.read() as repo:
        assert [
            repo.get(k, i) for k, i in [("message", "msg_0"), ("run", "run_1"), ("step", "step_1")]
        ] == [None] * 3
        assert repo.get("message", "msg_x") is not None


def test_deleting_a_run_deletes_its_steps_and_keeps_its_messages(db_url: str) -> None:
    s = _opened(db_url)
    o = _objects()
    with s.write() as repo:
        repo.insert("thread", o["thread"], ord=1)
        repo.insert_many("message", [(m, 10 + i) for i, m in enumerate(o["messages"])])
        repo.insert("run", o["run_1"], ord=11)
        repo.insert("step", o["step"], ord=12)
    with s.write() as repo:
        assert repo.delete("run", "run_1")
    with s.read() as repo:
        assert repo.get("step", "step_1") is None
        assert repo.messages_of_run("run_1") == [o["messages"][3]]  # no foreign key: kept


@pytest.mark.parametrize("kind", ["message", "run", "step"])
def test_a_row_of_a_missing_thread_or_run_is_refused(db_url: str, kind: str) -> None:
    s = _opened(db_url)
    o = _objects()
    with s.write() as repo:
        repo.insert("thread", o["thread"], ord=1)
    body = {"message": o["messages"][0], "run": o["run_1"], "step": o["step"]}[kind]
    # (the driver's IntegrityError: the repository inserts through the DB-API connection)
    with pytest.raises(Exception, match="(?i)foreign key"):  # a step's run, others' thread
        with s.write() as repo:
            repo.insert(kind, {**body, "thread_id": T if kind == "step" else "thread_gone"}, ord=2)  # type: ignore[arg-type]
