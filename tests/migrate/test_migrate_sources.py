"""Reading exports: every arrangement teams saved, duplicates, newest-first envelopes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compat.migrate import read_export
from compat.testing.legacy import write_export


def test_mixed_shapes_read_back_every_object_in_order(
    tmp_path: Path, export_data: dict[str, list[dict[str, Any]]]
) -> None:
    write_export(tmp_path, export_data)
    ex = read_export([tmp_path])
    assert ex.problems == []
    assert list(ex.assistants.values()) == export_data["assistants"]
    assert set(ex.threads) == {t["id"] for t in export_data["threads"]}
    for thread in export_data["threads"]:
        rec = ex.threads[thread["id"]]
        assert rec.thread == thread
        # newest-first envelopes come back oldest first, same-second ties included
        assert rec.messages == [
            m for m in export_data["messages"] if m["thread_id"] == thread["id"]
        ]
        assert rec.runs == [r for r in export_data["runs"] if r["thread_id"] == thread["id"]]
        assert rec.steps == [s for s in export_data["steps"] if s["thread_id"] == thread["id"]]


def test_bad_input_gets_one_line_reasons(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"object": "thread", "id": ')
    (tmp_path / "lines.jsonl").write_text(
        '{"object": "assistant", "id": "asst_1", "created_at": 1}\nnot json\n'
        '{"object": "thread.message", "created_at": 2}\n'
    )
    (tmp_path / "notes.txt").write_text("ignored: not JSON by name")
    ex = read_export([tmp_path, tmp_path / "missing.json"])
    assert list(ex.assistants) == ["asst_1"]
    reasons = [str(p) for p in ex.problems]
    assert len(reasons) == 4
    assert all("\n" not in r for r in reasons)
    assert reasons[0].startswith(f"{tmp_path / 'broken.json'}: line 1: invalid JSON")
    assert reasons[1] == f"{tmp_path / 'lines.jsonl'}: line 2: invalid JSON (Expecting value)"
    assert reasons[2].endswith("lines.jsonl: line 3: thread.message object without an id")
    assert reasons[3].endswith("missing.json: no such file or folder")


def test_duplicates_collapse_to_the_most_complete_copy(tmp_path: Path) -> None:
    short = {"id": "msg_1", "object": "thread.message", "thread_id": "thread_1", "created_at": 5}
    full = {**short, "role": "user", "content": [], "metadata": {"k": "v"}}
    (tmp_path / "a.json").write_text(json.dumps({"data": [full], "object": "list"}))
    (tmp_path / "b.json").write_text(json.dumps(short))
    ex = read_export([tmp_path])
    assert ex.threads["thread_1"].thread is None  # messages only: the thread is not in it
    assert ex.threads["thread_1"].messages == [full]


def test_messages_without_their_thread_join_the_stored_thread(
    tmp_path: Path, export_data: dict[str, list[dict[str, Any]]]
) -> None:
    from compat.migrate import Summary, import_export
    from compat.store import Store

    thread = export_data["threads"][0]
    msgs = [m for m in export_data["messages"] if m["thread_id"] == thread["id"]]
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        (tmp_path / "only.json").write_text(json.dumps(msgs[:1]))
        first = import_export(store, read_export([tmp_path / "only.json"]), overwrite=True)
        assert first.counts["thread"]["imported"] == 1  # a stand-in thread with that id
        (tmp_path / "full.json").write_text(json.dumps([thread, *msgs]))
        full = import_export(store, read_export([tmp_path / "full.json"]), overwrite=True)
        assert full.counts["thread"]["overwritten"] == 1  # the real thread replaces it
        again: Summary = import_export(store, read_export([tmp_path / "only.json"]), overwrite=True)
        assert again.counts["thread"]["unchanged"] == 1  # a stand-in never overwrites
        with store.read() as repo:
            assert repo.get("thread", thread["id"]) == thread
    finally:
        store.close()
