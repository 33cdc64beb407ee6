"""Export to Conversations and JSONL, end to end: threads run by a compat client on the
Responses emulator, exported through a plain ``openai.OpenAI`` over loopback HTTP to the
emulator's ``/v1/conversations`` (which validates every body against the official spec), then
continued natively."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

import compat
from compat import export as ex
from compat.cli import main
from compat.testing import ResponsesEmulator
from compat.testing.validate import CREATE_ITEMS, validate_conversation_body, validate_schema

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/export.db"


@pytest.fixture
def local(emulator: ResponsesEmulator, db: str) -> Any:
    """The app's compat client (runs go to the emulator, threads to ``db``)."""
    c = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", max_retries=0, store=db)
    yield c
    c.close()


@pytest.fixture
def native(emulator: ResponsesEmulator) -> Any:
    """A plain SDK client on the same API: the export target and the native caller."""
    c = openai.OpenAI(base_url=emulator.base_url, api_key="sk-test", max_retries=0)
    yield c
    c.close()


def _function_call_thread(local: Any) -> tuple[str, str]:
    """A thread whose run called get_weather and answered with its output: (thread, run)."""
    assistant = local.beta.assistants.create(model="gpt-4.1", tools=[WEATHER_TOOL])
    thread = local.beta.threads.create(
        messages=[{"role": "user", "content": "My name is Ada. What is the weather in Paris?"}],
        metadata={"customer": "c-42"},
    )
    run = local.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = local.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "Sunny, 21 C"}],
    )
    assert run.status == "completed"
    return thread.id, run.id


def _continue(native: Any, conversation_id: str, text: str) -> Any:
    # extra_body: openai 1.66 has no `conversation` argument yet; the wire is the same
    return native.responses.create(
        model="gpt-4.1", input=text, extra_body={"conversation": conversation_id}
    )


def _texts(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for item in items:
        content = item.get("content")
        if isinstance(content, str):
            out.append(content)
        elif content:
            out.append("".join(p.get("text", "") for p in content))
    return out


def test_exported_thread_continues_natively(
    emulator: ResponsesEmulator, local: Any, native: Any, db: str, tmp_path: Path
) -> None:
    thread_id, _ = _function_call_thread(local)
    mapping = tmp_path / "map.json"

    [result] = ex.export_to_conversations(db, [thread_id], native, mapping=mapping)

    assert result.status == "exported" and result.items == 4
    conv_id = result.conversation_id
    assert json.loads(mapping.read_text()) == {
        thread_id: {"conversation_id": conv_id, "items": 4, "complete": True}
    }
    assert emulator.conversations[conv_id]["metadata"] == {"customer": "c-42"}
    held = emulator.conversation_items[conv_id]
    assert [(i["type"], i.get("role")) for i in held] == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
    ]
    assert held[2]["output"] == "Sunny, 21 C"
    # Native continuation: the model sees the exported context (the name, the tool result).
    answer = _continue(native, conv_id, "What is my name?")
    assert answer.output_text == "Your name is Ada."
    assert len(emulator.conversation_items[conv_id]) == 6  # input and output appended


def test_export_sends_what_replay_sends(
    emulator: ResponsesEmulator, local: Any, db: str, tmp_path: Path
) -> None:
    thread_id, _ = _function_call_thread(local)
    out = tmp_path / "threads.jsonl"
    ex.export_to_jsonl(db, [thread_id], out)
    [line] = [json.loads(raw) for raw in out.read_text().splitlines()]
    # The next run replays the thread: its input starts with exactly the exported items.
    local.beta.threads.messages.create(thread_id, role="user", content="Thanks!")
    assistant = local.beta.assistants.create(model="gpt-4.1")
    local.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id)
    replayed = emulator.requests[-1]["input"]
    assert replayed[: len(line["items"])] == line["items"]
    assert _texts(replayed[len(line["items"]) :]) == ["Thanks!"]


def test_jsonl_lines_are_valid_responses_input(
    emulator: ResponsesEmulator, local: Any, native: Any, db: str, tmp_path: Path
) -> None:
    thread_id, _ = _function_call_thread(local)
    empty = local.beta.threads.create().id
    out = tmp_path / "threads.jsonl"

    assert (
        main(["export", thread_id, empty, "--to", "jsonl", "--out", str(out), "--database", db])
        == 0
    )

    lines = [json.loads(raw) for raw in out.read_text().splitlines()]
    assert [x["thread_id"] for x in lines] == [thread_id, empty]
    assert lines[0]["metadata"] == {"customer": "c-42"} and lines[1]["items"] == []
    items = lines[0]["items"]
    validate_schema({"model": "gpt-4.1", "input": items})  # the spec's CreateResponse
    validate_conversation_body(CREATE_ITEMS, {"items": items})  # and conversations.items
    # Round trip: the items as input carry the context to a plain Responses call.
    answer = native.responses.create(
        model="gpt-4.1", input=[*items, {"role": "user", "content": "What is my name?"}]
    )
    assert answer.output_text == "Your name is Ada."


def _long_thread(local: Any, n: int) -> str:
    thread = local.beta.threads.create(metadata={"k": "v"})
    for i in range(n):
        local.beta.threads.messages.create(thread.id, role="user", content=f"note {i}")
    return str(thread.id)


def test_more_than_20_items_go_in_batches_and_rerun_is_idempotent(
    emulator: ResponsesEmulator, local: Any, native: Any, db: str, tmp_path: Path
) -> None:
    thread_id = _long_thread(local, 45)
    mapping = tmp_path / "map.json"

    [first] = ex.export_to_conversations(db, [thread_id], native, mapping=mapping)

    posts = [p for m, p in emulator.calls if m == "POST" and "conversations" in p]
    assert posts == [
        "/v1/conversations",
        f"/v1/conversations/{first.conversation_id}/items",
        f"/v1/conversations/{first.conversation_id}/items",
    ]
    held = emulator.conversation_items[first.conversation_id]
    assert _texts(held) == [f"note {i}" for i in range(45)]
    # Again: nothing sent, the thread reported as exported before.
    calls = len(emulator.calls)
    [again] = ex.export_to_conversations(db, [thread_id], native, mapping=mapping)
    assert (again.status, again.conversation_id, again.reason) == (
        "skipped",
        first.conversation_id,
        "already exported",
    )
    assert len(emulator.calls) == calls
    assert len(emulator.conversations) == 1


class _Killed(BaseException):
    """Stands for the process dying (kill -9): nothing after it runs."""


def test_interrupted_export_resumes_without_duplicates(
    emulator: ResponsesEmulator,
    local: Any,
    native: Any,
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    thread_id = _long_thread(local, 125)
    mapping = tmp_path / "map.json"
    real_post = ex._post
    sent: list[str] = []

    def dies_after_sixth_batch(client: Any, path: str, body: dict[str, Any]) -> Any:
        result = real_post(client, path, body)  # the batch reaches the API ...
        sent.append(path)
        if len(sent) == 6:
            raise _Killed  # ... and the process dies before noting anything
        return result

    monkeypatch.setattr(ex, "_post", dies_after_sixth_batch)
    with pytest.raises(_Killed):
        ex.export_to_conversations(db, [thread_id], native, mapping=mapping)
    monkeypatch.setattr(ex, "_post", real_post)
    [entry] = json.loads(mapping.read_text()).values()
    assert entry["complete"] is False
    conv_id = entry["conversation_id"]
    assert len(emulator.conversation_items[conv_id]) == 120  # more than one page to list

    [result] = ex.export_to_conversations(db, [thread_id], native, mapping=mapping)

    assert (result.status, result.conversation_id) == ("resumed", conv_id)
    assert _texts(emulator.conversation_items[conv_id]) == [f"note {i}" for i in range(125)]
    assert json.loads(mapping.read_text())[thread_id]["complete"] is True
    assert len(emulator.conversations) == 1


def test_a_half_sent_conversation_that_is_gone_is_sent_anew(
    emulator: ResponsesEmulator, local: Any, native: Any, db: str, tmp_path: Path
) -> None:
    thread_id = _long_thread(local, 3)
    mapping = tmp_path / "map.json"
    mapping.write_text(
        json.dumps({thread_id: {"conversation_id": "conv_gone", "items": 3, "complete": False}})
    )
    [result] = ex.export_to_conversations(db, [thread_id], native, mapping=mapping)
    assert result.status == "exported" and result.conversation_id != "conv_gone"
    assert "conv_gone" in result.reason
    assert _texts(emulator.conversation_items[result.conversation_id]) == [
        "note 0",
        "note 1",
        "note 2",
    ]


def test_cli_exports_to_conversations_and_reports(
    emulator: ResponsesEmulator,
    local: Any,
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.chdir(tmp_path)
    thread_id, _ = _function_call_thread(local)
    args = ["export", "--all", "--to", "conversations", "--database", db]

    assert main(args) == 0
    mapping = json.loads((tmp_path / "conversations-mapping.json").read_text())
    assert list(mapping) == [thread_id]
    assert "1 exported" in capsys.readouterr().err
    assert main(args) == 0  # all exported before
    assert "1 already exported" in capsys.readouterr().err
    # An unknown id fails (exit 1) without stopping the others.
    assert (
        main(["export", "thread_nope", thread_id, "--to", "conversations", "--database", db]) == 1
    )
    err = capsys.readouterr().err
    assert "thread_nope: failed: No thread found with id 'thread_nope'." in err


def test_cli_usage_and_input_errors(
    emulator: ResponsesEmulator,
    db: str,
    local: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    thread_id = _long_thread(local, 1)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["export", "--to", "jsonl", "--database", db]) == 2  # no threads named
    assert main(["export", thread_id, "--all", "--to", "jsonl", "--database", db]) == 2
    assert main(["export", thread_id, "--to", "conversations", "--database", db]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    args = ["export", thread_id, "--to", "conversations", "--database", db, "--mapping", str(bad)]
    assert main(args) == 2
    assert "not a mapping file" in capsys.readouterr().err
    assert emulator.conversations == {}


def test_a_thread_with_an_active_run_is_skipped(
    emulator: ResponsesEmulator, local: Any, native: Any, db: str, tmp_path: Path
) -> None:
    assistant = local.beta.assistants.create(model="gpt-4.1", tools=[WEATHER_TOOL])
    thread = local.beta.threads.create(
        messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )
    run = local.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    [result] = ex.export_to_conversations(db, [thread.id], native, mapping=tmp_path / "m.json")
    assert result.status == "skipped" and run.id in result.reason
    assert emulator.conversations == {}


def test_what_cannot_be_carried_is_reported(
    emulator: ResponsesEmulator,
    local: Any,
    db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assistant = local.beta.assistants.create(model="gpt-4.1", tools=[{"type": "code_interpreter"}])
    thread = local.beta.threads.create(
        messages=[{"role": "user", "content": "Compute the first primes in python."}]
    )
    run = local.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{thread.id}\n\n")
    out = tmp_path / "t.jsonl"

    args = ["export", "--threads", str(ids), "--to", "jsonl", "--out", str(out), "--database", db]
    assert main(args) == 0

    # The code_interpreter call is not an input item: only the messages go, and it is said.
    [line] = [json.loads(raw) for raw in out.read_text().splitlines()]
    assert [(i["type"], i["role"]) for i in line["items"]] == [
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert "1 thread(s) held content the items cannot carry" in capsys.readouterr().err
    [result] = ex.export_to_jsonl(db, [thread.id], tmp_path / "again.jsonl")
    assert result.omitted == ["1 code_interpreter call"]
