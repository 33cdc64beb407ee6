"""`assistants-compat import` of export files: ids, order and pagination kept, idempotent,
conflicts, dry runs, bad input; the unchanged app then continues the threads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

import compat
from compat.cli import main
from compat.store import Store
from compat.testing import ResponsesEmulator
from compat.testing.legacy import write_export
from tests.migrate.conftest import check_store_matches, raw

Data = dict[str, list[dict[str, Any]]]


def _counts(out: str) -> dict[str, list[int]]:
    """The summary table's rows: kind -> [imported, unchanged, conflicting, overwritten, failed]."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 6 and cells[1].isdigit():
            rows[cells[0]] = [int(c) for c in cells[1:]]
    return rows


def _import(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, list[int]], str]:
    rc = main(["import", *args])
    out, err = capsys.readouterr()
    return rc, _counts(out), err


def test_export_imports_with_ids_order_and_pagination_kept(
    tmp_path: Path, db_url: str, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    write_export(tmp_path / "export", export_data)
    rc, counts, err = _import(capsys, str(tmp_path / "export"), "--database", db_url)
    assert (rc, err) == (0, "")
    assert counts == {
        "assistant": [3, 0, 0, 0, 0],
        "thread": [50, 0, 0, 0, 0],
        "message": [len(export_data["messages"]), 0, 0, 0, 0],
        "run": [len(export_data["runs"]), 0, 0, 0, 0],
        "step": [len(export_data["steps"]), 0, 0, 0, 0],
    }
    with compat.OpenAI(api_key="sk-test", store=db_url, max_retries=0) as client:
        check_store_matches(client, export_data)
        # the SDK's own pagination (after / before cursors, both orders) sees the same order
        tid = max(
            export_data["threads"],
            key=lambda t: sum(m["thread_id"] == t["id"] for m in export_data["messages"]),
        )["id"]
        ids = [m["id"] for m in export_data["messages"] if m["thread_id"] == tid]
        assert len(ids) >= 4
        msgs = client.beta.threads.messages
        assert [m.id for m in msgs.list(tid, limit=2, order="asc")] == ids
        assert [m.id for m in msgs.list(tid, limit=3)] == ids[::-1]
        page = msgs.list(tid, limit=2, order="asc", before=ids[-1])
        assert [m.id for m in page.data] == ids[-3:-1]

    # the same import again: everything unchanged, nothing written twice
    rc, counts, err = _import(capsys, str(tmp_path / "export"), "--database", db_url)
    assert (rc, err) == (0, "")
    assert {k: v[1] for k, v in counts.items()} == {
        "assistant": 3,
        "thread": 50,
        "message": len(export_data["messages"]),
        "run": len(export_data["runs"]),
        "step": len(export_data["steps"]),
    }
    assert all(v[0] == v[2] == v[4] == 0 for v in counts.values())


def test_conflicts_are_reported_kept_or_overwritten_and_dry_run_writes_nothing(
    tmp_path: Path, db_url: str, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {k: v[:1] if k in ("assistants", "threads") else [] for k, v in export_data.items()}
    tid = data["threads"][0]["id"]
    data["messages"] = [m for m in export_data["messages"] if m["thread_id"] == tid]
    src = tmp_path / "thread.json"
    src.write_text(json.dumps({"thread": data["threads"][0], "messages": data["messages"]}))

    rc, counts, _ = _import(capsys, str(src), "--database", db_url, "--dry-run")
    assert (rc, counts["thread"], counts["message"][0]) == (
        0,
        [1, 0, 0, 0, 0],
        len(data["messages"]),
    )
    with compat.OpenAI(api_key="sk-test", store=db_url, max_retries=0) as client:
        with pytest.raises(openai.NotFoundError):
            client.beta.threads.retrieve(tid)

        assert _import(capsys, str(src), "--database", db_url)[0] == 0
        edited = data["messages"][0]
        edited["metadata"] = {"edited": "yes"}
        src.write_text(json.dumps({"thread": data["threads"][0], "messages": data["messages"]}))

        rc, counts, err = _import(capsys, str(src), "--database", db_url)
        assert rc == 0  # a conflict kept is reported, not a failure
        assert counts["message"][:3] == [0, len(data["messages"]) - 1, 1]
        assert f"conflict: {tid}: 1 message differs from the stored copy (kept" in err
        assert raw(client, f"/threads/{tid}/messages/{edited['id']}")["metadata"] == {}

        rc, counts, err = _import(capsys, str(src), "--database", db_url, "--overwrite")
        assert (rc, counts["message"][3]) == (0, 1)
        assert raw(client, f"/threads/{tid}/messages/{edited['id']}") == edited


def test_bad_files_get_one_line_reasons_and_exit_codes(
    tmp_path: Path, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/db.sqlite"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.json").write_text(json.dumps(export_data["assistants"][0]))
    (tmp_path / "in" / "broken.json").write_text("[{")
    (tmp_path / "in" / "noid.jsonl").write_text('{"object": "thread", "created_at": 1}\n')
    rc, counts, err = _import(capsys, str(tmp_path / "in"), "--database", db)
    assert rc == 1 and counts["assistant"][0] == 1
    lines = err.strip().splitlines()
    assert lines == [
        f"not imported: {tmp_path / 'in' / 'broken.json'}: line 1: invalid JSON "
        "(Expecting property name enclosed in double quotes)",
        f"not imported: {tmp_path / 'in' / 'noid.jsonl'}: line 1: thread object without an id",
    ]
    assert _import(capsys, str(tmp_path / "nope"), "--database", db)[0] == 2
    assert _import(capsys, str(tmp_path / "in"), "--threads", "x.txt", "--database", db)[0] == 2
    rc, _, err = _import(capsys, "http://127.0.0.1:9/v1", "--database", db)
    assert rc == 2 and "needs --threads FILE and/or --assistants" in err


def test_app_code_continues_imported_threads(
    tmp_path: Path,
    db_url: str,
    export_data: Data,
    emulator: ResponsesEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_export(tmp_path / "export", export_data)
    assert _import(capsys, str(tmp_path / "export"), "--database", db_url)[0] == 0
    # the app's code, unchanged but for the import line; its stored ids keep working
    client = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url)
    for thread in (
        export_data["threads"][0],
        export_data["threads"][-1],
    ):  # last: had an active run
        tid = thread["id"]
        run = next(r for r in reversed(export_data["runs"]) if r["thread_id"] == tid)
        before = [m.id for m in client.beta.threads.messages.list(tid, order="asc")]
        msg = client.beta.threads.messages.create(tid, role="user", content="Say hello")
        new = client.beta.threads.runs.create_and_poll(
            thread_id=tid, assistant_id=run["assistant_id"]
        )
        assert new.status in ("completed", "requires_action")
        after = [m.id for m in client.beta.threads.messages.list(tid, order="asc")]
        assert after[: len(before) + 1] == [*before, msg.id]
        if new.status == "completed":
            assert len(after) == len(before) + 2
    # the model saw the imported history before the new message
    sent = json.dumps(emulator.requests[-1]["input"])
    first = next(
        m for m in export_data["messages"] if m["thread_id"] == export_data["threads"][-1]["id"]
    )
    assert first["content"][0]["text"]["value"] in sent
    client.close()


def test_tenant_owns_what_it_imports(
    tmp_path: Path, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/db.sqlite"
    write_export(tmp_path / "export", {**export_data, "threads": export_data["threads"][:2]})
    assert _import(capsys, str(tmp_path / "export"), "--database", db, "--tenant", "acme")[0] == 0
    store = Store(db)
    try:
        with store.read() as repo:
            for table in ("compat_assistant", "compat_thread"):
                rows = repo.conn.exec_driver_sql(f"SELECT DISTINCT tenant FROM {table}").all()
                assert rows == [("acme",)]
    finally:
        store.close()
    # the in-process client's own tenant does not see them
    with compat.OpenAI(api_key="sk-test", store=db, max_retries=0) as client:
        with pytest.raises(openai.NotFoundError):
            client.beta.threads.retrieve(export_data["threads"][0]["id"])
