"""code_interpreter keeps one container per thread, as Assistants kept one sandbox per thread:
created on first use with the assistant's, thread's and attachments' files, reused by later
runs (files written by one run are there for the next), files attached later added to it,
replaced transparently when it expired or was deleted upstream (responses-mapping §5.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import aw, collect

pytestmark = pytest.mark.anyio

CODE = [{"type": "code_interpreter"}]


def container_of(body: dict[str, Any]) -> Any:
    return next(t["container"] for t in body["tools"] if t["type"] == "code_interpreter")


async def ask(client: Any, thread_id: str, assistant_id: str, text: str, **message: Any) -> Any:
    await aw(client.beta.threads.messages.create(thread_id, role="user", content=text, **message))
    run = await aw(
        client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    )
    assert run.status == "completed", run.last_error
    return run


async def logs(client: Any, thread_id: str, run: Any) -> str:
    steps = await collect(client.beta.threads.runs.steps.list(run.id, thread_id=thread_id))
    (step,) = [s for s in steps if s.type == "tool_calls"]
    return str(step.step_details.tool_calls[0].code_interpreter.outputs[0].logs)


async def assistant_with_file(client: Any) -> tuple[Any, Any]:
    data = await aw(client.files.create(file=("data.csv", b"x,y\n1,2\n"), purpose="assistants"))
    a = await aw(
        client.beta.assistants.create(
            model="gpt-4o",
            tools=CODE,
            tool_resources={"code_interpreter": {"file_ids": [data.id]}},
        )
    )
    return a, data


async def test_runs_of_a_thread_share_its_container(client: Any, emulator: Any) -> None:
    a, data = await assistant_with_file(client)
    t = await aw(client.beta.threads.create())
    await ask(client, t.id, a.id, "Save 'remember me' to notes.txt")
    cid = container_of(emulator.requests[-1])
    assert cid.startswith("cntr_") and emulator.containers[cid]["name"] == t.id

    second = await ask(client, t.id, a.id, "Read the files you saved")
    assert container_of(emulator.requests[-1]) == cid
    assert await logs(client, t.id, second) == "data.csv: x,y\n1,2\n\nnotes.txt: remember me\n"
    answer = (await aw(client.beta.threads.messages.list(t.id, limit=1))).data[0]
    assert "notes.txt: remember me" in answer.content[0].text.value
    assert [c for c in emulator.calls if c[1] == "/v1/containers"] == [("POST", "/v1/containers")]

    # another thread: a container of its own, which the first thread's files are not in
    other = await aw(client.beta.threads.create())
    listed = await ask(client, other.id, a.id, "List the files")
    assert container_of(emulator.requests[-1]) not in (cid, None)
    assert await logs(client, other.id, listed) == "data.csv: x,y\n1,2\n\n"


async def test_files_attached_later_go_into_the_container(client: Any, emulator: Any) -> None:
    a = await aw(client.beta.assistants.create(model="gpt-4o", tools=CODE))
    t = await aw(client.beta.threads.create())
    await ask(client, t.id, a.id, "Save 'first' to a.txt")
    cid = container_of(emulator.requests[-1])
    late = await aw(client.files.create(file=("late.txt", b"arrived later"), purpose="assistants"))
    attach = [{"file_id": late.id, "tools": [{"type": "code_interpreter"}]}]
    run = await ask(client, t.id, a.id, "List the files", attachments=attach)
    assert container_of(emulator.requests[-1]) == cid
    assert ("POST", f"/v1/containers/{cid}/files") in emulator.calls
    assert await logs(client, t.id, run) == "a.txt: first\nlate.txt: arrived later\n"
    # copied once: a later run adds nothing
    await ask(client, t.id, a.id, "List the files again")
    assert emulator.calls.count(("POST", f"/v1/containers/{cid}/files")) == 1


async def test_expired_container_is_replaced_with_the_files_copied_in(
    client: Any, emulator: Any
) -> None:
    a, data = await assistant_with_file(client)
    t = await aw(client.beta.threads.create())
    await ask(client, t.id, a.id, "Save 'gone soon' to notes.txt")
    old = container_of(emulator.requests[-1])
    emulator.expire_container(old)  # 20 idle minutes later
    run = await ask(client, t.id, a.id, "List the files")
    refused, retried = emulator.requests[-2:]
    assert container_of(refused) == old
    new = container_of(retried)
    assert new != old and emulator.containers[new]["name"] == t.id
    assert await logs(client, t.id, run) == "data.csv: x,y\n1,2\n\n"  # written files are lost
    # the replacement is the thread's container from now on
    await ask(client, t.id, a.id, "List the files")
    assert container_of(emulator.requests[-1]) == new and len(emulator.requests) == 4


async def test_deleted_container_is_replaced(client: Any, emulator: Any) -> None:
    a, data = await assistant_with_file(client)
    t = await aw(client.beta.threads.create())
    await ask(client, t.id, a.id, "Save 'x' to notes.txt")
    old = container_of(emulator.requests[-1])
    await aw(client.delete(f"/containers/{old}", cast_to=object))
    late = await aw(client.files.create(file=("late.txt", b"late"), purpose="assistants"))
    attach = [{"file_id": late.id, "tools": [{"type": "code_interpreter"}]}]
    run = await ask(client, t.id, a.id, "List the files", attachments=attach)
    # adding the new file found it gone: a new one, with every file
    new = container_of(emulator.requests[-1])
    assert new != old and len(emulator.requests) == 2
    assert await logs(client, t.id, run) == "data.csv: x,y\n1,2\n\nlate.txt: late\n"


async def test_no_container_to_be_had_falls_back_to_auto(client: Any, emulator: Any) -> None:
    a = await aw(
        client.beta.assistants.create(
            model="gpt-4o",
            tools=CODE,
            tool_resources={"code_interpreter": {"file_ids": ["file-unknown"]}},
        )
    )
    t = await aw(client.beta.threads.create())
    await ask(client, t.id, a.id, "Save 'y' to notes.txt")  # POST /containers: 404 (the file)
    assert container_of(emulator.requests[-1]) == {"type": "auto", "file_ids": ["file-unknown"]}
