"""Thread history translated incrementally: compat._translate.request.translate_entries and the
per-process cache of compat._engine.history (on SQLite and PostgreSQL).

Every cached result is compared with a from-scratch read (`repo.history` + `to_input_items`),
the way turns were built before the cache.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from test_translate_request import turn as turn_input  # tests/core is on sys.path

from compat._engine import history as history_cache
from compat._engine.turn import build_turn_input
from compat._translate.context import BudgetExhausted
from compat._translate.request import (
    TurnInput,
    to_input_items,
    to_response_request,
    translate_entries,
)
from compat.store import Repo, Store, open_store

THREAD = "thread_hist"
REPLAY = SimpleNamespace(history="replay", upstream_store=False)
_ord = itertools.count(1_000)


# --- pure: translate_entries ----------------------------------------------------------------------


def message(i: int, role: str = "user", **kw: Any) -> dict[str, Any]:
    text = f"message {i} " + "lorem ipsum " * (i % 7) + ("【1:0†a.txt】" if role != "user" else "")
    return {
        "id": f"msg_{i:05d}",
        "object": "thread.message",
        "thread_id": THREAD,
        "role": role,
        "run_id": kw.pop("run_id", None if role == "user" else f"run_{i}"),
        "status": None if role == "user" else "completed",
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "attachments": [],
        **kw,
    }


def tool_step(i: int, *, answered: bool = True, run_id: str | None = None) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{i}_{j}",
            "type": "function",
            "function": {
                "name": "lookup",
                "arguments": '{"q": 1}',
                "output": f"out {i} {j}" if answered else None,
            },
        }
        for j in range(2)
    ]
    return {
        "id": f"step_{i:05d}",
        "object": "thread.run.step",
        "thread_id": THREAD,
        "run_id": run_id or f"run_{i}",
        "type": "tool_calls",
        "status": "completed" if answered else "in_progress",
        "step_details": {"type": "tool_calls", "tool_calls": calls},
    }


def thread_entries(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        if i % 2:
            if i % 6 == 1:
                out.append(tool_step(i))
            out.append(message(i, "assistant"))
        else:
            out.append(message(i))
    return out


def body(turn: TurnInput) -> str:
    try:
        return json.dumps(to_response_request(turn))
    except BudgetExhausted as exc:
        return f"BudgetExhausted({exc.reason})"


SETTINGS: list[dict[str, Any]] = [
    {},
    {"truncation_strategy": {"type": "last_messages", "last_messages": 5}},
    {"truncation_strategy": {"type": "last_messages", "last_messages": 0}},
    {"max_prompt_tokens": 400},
    {"max_prompt_tokens": 400, "prompt_tokens_used": 150},
    {"max_prompt_tokens": 20},  # too small for the newest user message
    {
        "max_prompt_tokens": 900,
        "truncation_strategy": {"type": "last_messages", "last_messages": 12},
    },
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("first_turn", [True, False])
def test_translated_entries_give_the_same_request(
    settings: dict[str, Any], first_turn: bool
) -> None:
    history = thread_entries(60)
    # the current run's earlier turn: its answered calls and message are never cut
    history += [message(60), tool_step(61, run_id="run_now"), message(62, "assistant")]
    history[-1]["run_id"] = "run_now"
    entries = translate_entries(history)
    assert len(entries) == len(history)
    assert [item for entry in entries for item in entry.items] == to_input_items(history)

    plain = turn_input(history=history, first_turn=first_turn, **settings)
    ahead = turn_input(history=history, first_turn=first_turn, history_input=entries, **settings)
    assert body(ahead) == body(plain)
    # split anywhere, translated separately: the same
    split = translate_entries(history[:17]) + translate_entries(history[17:])
    again = turn_input(history=history, first_turn=first_turn, history_input=split, **settings)
    assert body(again) == body(plain)


# --- the cache: store-backed ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    history_cache.clear()
    yield
    history_cache.clear()


@pytest.fixture
def db(db_url: str) -> Store:
    return open_store(db_url)


@pytest.fixture
def other(db_url: str) -> Iterator[Store]:
    """A second engine on the same database: what another process would do."""
    s = Store(db_url)
    yield s
    s.close()


RUN = {
    "id": "run_now",
    "thread_id": THREAD,
    "assistant_id": "asst_h",
    "model": "gpt-4o",
    "instructions": "Be brief.",
    "tools": [],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": "auto",
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "metadata": {},
}


def put(repo: Repo, entry: dict[str, Any], ord: int) -> None:
    """Store a message or step (a step's run first: the database wants it to exist)."""
    if entry["object"] != "thread.run.step":
        repo.insert("message", entry, ord=ord)
        return
    if repo.get("run", entry["run_id"]) is None:
        run = {"id": entry["run_id"], "thread_id": entry["thread_id"], "status": "completed"}
        repo.insert("run", run, ord=ord)
    repo.insert("step", entry, ord=ord)


def add(s: Store, *entries: dict[str, Any], ord: int | None = None) -> None:
    with s.write() as repo:
        for entry in entries:
            put(repo, entry, next(_ord) if ord is None else ord)


def seed(s: Store, n: int) -> None:
    with s.write() as repo:
        repo.insert("assistant", {"id": "asst_h", "tool_resources": {}}, ord=1)
        repo.insert("thread", {"id": THREAD, "tool_resources": {}}, ord=1)
        for entry in thread_entries(n):
            put(repo, entry, next(_ord))


def runs_stored(s: Store) -> int:
    """How many runs the thread has (the seed stores the runs its tool steps belong to)."""
    with s.read() as repo:
        return len(repo.run_states_since(THREAD)[0])


class Spy:
    """Counts the rows `Repo.history_since` (or `method`) hands back: what the cache read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, method: str = "history_since") -> None:
        self.rows: list[int] = []
        real = getattr(Repo, method)

        def since(repo: Repo, thread_id: str, from_ord: int | None = None) -> Any:
            found = real(repo, thread_id, from_ord)
            self.rows.append(len(found[0]))
            return found

        monkeypatch.setattr(Repo, method, since)


def turn_body(s: Store, **run: Any) -> tuple[str, TurnInput]:
    with s.read() as repo:
        built = build_turn_input(repo, {**RUN, **run}, {}, REPLAY)  # type: ignore[arg-type]
    return body(built), built


def scratch_body(s: Store, turn: TurnInput) -> str:
    """The request as built before the cache: the whole thread read and translated."""
    with s.read() as repo:
        full = repo.history(THREAD)
    attached = [
        a["file_id"]
        for m in full
        if m.get("object") == "thread.message"
        for a in m.get("attachments") or []
        if any(t.get("type") == "code_interpreter" for t in a.get("tools") or [])
    ]
    assert turn["code_interpreter_file_ids"] == list(dict.fromkeys(attached))
    legacy = {k: v for k, v in turn.items() if k != "history_input"}
    legacy["history"] = full
    return body(legacy)  # type: ignore[arg-type]


def check(s: Store, **run: Any) -> TurnInput:
    got, turn = turn_body(s, **run)
    assert got == scratch_body(s, turn)
    return turn


def test_second_turn_reads_only_new_rows(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db, 1_000)
    spy = Spy(monkeypatch)
    first = check(db)
    assert spy.rows[0] == len(first["history"]) > 1_000
    spy.rows.clear()
    add(db, message(1_000), message(1_001, "assistant"))
    second = check(db)
    # the cached part's last row, read again to find the boundary, and the two new ones
    assert spy.rows[0] == 3
    assert len(second["history"]) == len(first["history"]) + 2
    for settings in SETTINGS[1:]:
        check(db, **settings)
    # nothing new: one row read
    spy.rows.clear()
    check(db)
    assert spy.rows[-1] == 1


def test_message_deleted_by_another_process_is_not_replayed(db: Store, other: Store) -> None:
    seed(db, 200)
    victim = message(40)
    before = check(db)
    assert victim["id"] in {e["id"] for e in before["history"]}
    with other.write() as repo:  # another engine (process) on the same database
        assert repo.delete("message", victim["id"])
    after = check(db)
    assert victim["id"] not in {e["id"] for e in after["history"]}
    assert len(after["history"]) == len(before["history"]) - 1
    text = victim["content"][0]["text"]["value"]
    assert text not in json.dumps(to_response_request(after))


def test_thread_recreated_elsewhere_is_read_again(db: Store, other: Store) -> None:
    seed(db, 50)
    check(db)
    with other.write() as repo:
        repo.delete_thread(THREAD)
        repo.insert("thread", {"id": THREAD, "tool_resources": {}}, ord=1)
        for entry in thread_entries(7):
            put(repo, entry, next(_ord))
    assert len(check(db)["history"]) == len(thread_entries(7))


def test_row_slipped_in_before_the_cached_part_is_read(db: Store, other: Store) -> None:
    seed(db, 30)
    check(db)
    # a process whose clock lags inserts a message that sorts inside the cached part
    add(other, message(5_000), ord=1_010)
    turn = check(db)
    assert "msg_05000" in [e["id"] for e in turn["history"]]


def test_entries_that_can_change_are_read_again(db: Store, other: Store) -> None:
    seed(db, 20)
    pending = tool_step(100, answered=False, run_id="run_now")
    writing = message(101, "assistant", run_id="run_now", status="in_progress", content=[])
    add(db, message(99), pending, writing)
    turn = check(db)
    items = to_response_request(turn)["input"]
    assert not [i for i in items if i.get("call_id", "").startswith("call_100")]
    # another process submits the outputs and finishes the message
    answered = tool_step(100, run_id="run_now")
    with other.write() as repo:
        repo.save("step", answered)
        repo.save("message", message(101, "assistant", run_id="run_now"))
    turn = check(db, first_turn=False)
    items = to_response_request(turn)["input"]
    assert [i["call_id"] for i in items if i["type"] == "function_call_output"][-2:] == [
        "call_100_0",
        "call_100_1",
    ]
    assert items[-1]["content"].startswith("message 101")


def test_code_interpreter_attachments_are_merged(db: Store) -> None:
    seed(db, 10)
    attach = [{"file_id": "file-A", "tools": [{"type": "code_interpreter"}]}]
    add(db, message(10, attachments=attach))
    add(db, message(11, attachments=[{"file_id": "file-B", "tools": [{"type": "file_search"}]}]))
    check(db)
    add(
        db,
        message(12, attachments=[{"file_id": "file-C", "tools": [{"type": "code_interpreter"}]}]),
    )
    turn = check(db)
    assert turn["code_interpreter_file_ids"] == ["file-A", "file-C"]


def test_memory_is_bounded(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_cache, "MAX_THREADS", 2)
    monkeypatch.setattr(history_cache, "MAX_THREAD_ENTRIES", 40)
    seed(db, 30)
    spy = Spy(monkeypatch)
    check(db)
    check(db)
    assert spy.rows[-1] == 1  # cached
    others = [f"thread_other_{i}" for i in range(2)]
    for tid in others:  # two more threads push the first one out
        with db.write() as repo:
            repo.insert("thread", {"id": tid, "tool_resources": {}}, ord=1)
            repo.insert("message", {**message(0), "id": f"msg_{tid}", "thread_id": tid}, ord=5)
        with db.read() as repo:
            history_cache.read_history(repo, tid)
    check(db)
    assert spy.rows[-1] > 30  # evicted: read whole again
    add(db, *[message(i) for i in range(100, 120)])  # now longer than a thread may cache
    check(db)
    check(db)
    assert spy.rows[-1] > 40  # not cached: read whole each time


# --- the reasoning items runs kept (reasoning models, replay) -------------------------------------


def kept(n: int, before: str, model: str = "o4-mini") -> dict[str, Any]:
    return {
        "id": f"rs_{n}",
        "encrypted_content": f"gAAAA{n}",
        "summary": [],
        "before": before,
        "model": model,
    }


def save_run(s: Store, run_id: str, status: str, state: dict[str, Any]) -> None:
    """Insert the run, or move it to ``status`` with ``state`` (as its executor would)."""
    body = {"id": run_id, "thread_id": THREAD, "status": status, "expires_at": None}
    with s.write() as repo:
        found = repo.get("run", run_id)
        if found is None:
            repo.insert("run", body, ord=next(_ord), state=state)
        else:
            stored = found["status"]
            assert repo.transition_run({**found, **body}, from_statuses=(stored,), state=state)


_run_states = Repo.run_states_since  # not spied on


def scratch_reasoning(s: Store, model: str) -> dict[str, list[dict[str, Any]]]:
    """What a turn may replay, from every run's state read whole (no cache)."""
    with s.read() as repo:
        states = [row[3] for row in _run_states(repo, THREAD)[0]]
    dropped = {rid for st in states for rid in st.get("reasoning_dropped", [])}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in [r for st in states for r in st.get("reasoning", [])]:
        if r["model"] == model and r["id"] not in dropped:
            item = {k: r[k] for k in ("id", "summary", "encrypted_content")}
            out.setdefault(r["before"], []).append({"type": "reasoning", **item})
    return out


def check_reasoning(s: Store) -> dict[str, Any]:
    turn = check(s, model="o4-mini")
    assert turn["reasoning"] == scratch_reasoning(s, "o4-mini")
    return dict(turn["reasoning"])


def test_reasoning_is_read_incrementally_and_settles_when_its_run_ends(
    db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, 12)
    save_run(db, "run_1", "completed", {"reasoning": [kept(1, "msg_00001")]})
    save_run(db, "run_3", "completed", {"reasoning": [kept(3, "call_1_0"), kept(4, "msg_00003")]})
    save_run(db, "run_5", "failed", {"reasoning": [kept(5, "msg_00005", model="o3")]})
    n_runs = runs_stored(db)
    spy = Spy(monkeypatch, "run_states_since")
    first = check_reasoning(db)
    assert spy.rows == [n_runs] and sorted(first) == ["call_1_0", "msg_00001", "msg_00003"]
    body = to_response_request(build(db, model="o4-mini"))
    at = [i for i, item in enumerate(body["input"]) if item["type"] == "reasoning"]
    assert [body["input"][i + 1]["type"] for i in at] == ["function_call", "message", "message"]
    check_reasoning(db)
    assert spy.rows[-1] == 1  # only the boundary row again

    # the active run: read on every turn, whatever it keeps meanwhile
    add(db, message(50), tool_step(51, run_id="run_now"))
    save_run(db, "run_now", "in_progress", {"reasoning": [kept(6, "call_51_0")]})
    assert check_reasoning(db)["call_51_0"][0]["id"] == "rs_6"
    assert spy.rows[-1] == 2
    dropped = {"reasoning": [kept(6, "call_51_0")], "reasoning_dropped": ["rs_1", "rs_3"]}
    save_run(db, "run_now", "completed", dropped)
    now = check_reasoning(db)
    assert sorted(now) == ["call_51_0", "msg_00003"]  # what no longer verified is left out
    assert spy.rows[-1] == 2
    assert check_reasoning(db) == now and spy.rows[-1] == 1  # ended: settled, cached


def test_reasoning_only_for_reasoning_models_replayed_without_store(db: Store) -> None:
    seed(db, 4)
    save_run(db, "run_1", "completed", {"reasoning": [kept(1, "msg_00001")]})
    assert "reasoning" not in check(db)  # gpt-4o
    assert "reasoning" in check(db, model="o4-mini")
    with db.read() as repo:
        run = {**RUN, "model": "o4-mini"}
        stored = SimpleNamespace(history="replay", upstream_store=True)
        assert "reasoning" not in build_turn_input(repo, run, {}, stored)  # type: ignore[arg-type]
        off = {"reasoning_off": True}
        assert "reasoning" not in build_turn_input(repo, run, off, REPLAY)  # type: ignore[arg-type]


def build(s: Store, **run: Any) -> TurnInput:
    with s.read() as repo:
        return build_turn_input(repo, {**RUN, **run}, {}, REPLAY)  # type: ignore[arg-type]
