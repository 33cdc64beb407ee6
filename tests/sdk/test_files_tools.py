"""code_interpreter and file_search runs: containers, vector stores, annotations, file ids."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import aw, collect

pytestmark = pytest.mark.anyio


async def test_code_interpreter_files_are_copied_into_the_files_api(
    client: Any, emulator: Any
) -> None:
    data = await aw(client.files.create(file=("data.csv", b"x,y\n1,2\n"), purpose="assistants"))
    a = await aw(
        client.beta.assistants.create(
            model="gpt-4o",
            tools=[{"type": "code_interpreter"}],
            tool_resources={"code_interpreter": {"file_ids": [data.id]}},
        )
    )
    t = await aw(client.beta.threads.create())
    extra = await aw(client.files.create(file=("more.csv", b"a\n"), purpose="assistants"))
    await aw(
        client.beta.threads.messages.create(
            t.id,
            role="user",
            content="Plot a chart of the data with python",
            attachments=[{"file_id": extra.id, "tools": [{"type": "code_interpreter"}]}],
        )
    )
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "completed", run.last_error
    body = emulator.requests[-1]
    ci = [x for x in body["tools"] if x["type"] == "code_interpreter"][0]
    # the thread's container, created with the assistant's file and the attachment
    assert emulator.containers[ci["container"]]["name"] == t.id
    files = emulator.container_files(ci["container"])
    assert files["/mnt/data/data.csv"] == b"x,y\n1,2\n" and files["/mnt/data/more.csv"] == b"a\n"
    assert "code_interpreter_call.outputs" in body["include"]

    steps = (
        await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc"))
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]
    assert (
        call.type == "code_interpreter"
        and call.id.startswith("call_")
        and call.code_interpreter.input
    )
    images = [o for o in call.code_interpreter.outputs if o.type == "image"]
    msg = await aw(
        client.beta.threads.messages.retrieve(
            steps[1].step_details.message_creation.message_id, thread_id=t.id
        )
    )
    file_paths = [
        a
        for c in msg.content
        if c.type == "text"
        for a in c.text.annotations
        if a.type == "file_path"
    ]
    image_blocks = [c for c in msg.content if c.type == "image_file"]
    assert images and file_paths and image_blocks
    for fid in {
        images[0].image.file_id,
        file_paths[0].file_path.file_id,
        image_blocks[0].image_file.file_id,
    }:
        assert fid.startswith("file-")
        content = await aw(client.files.content(fid))
        assert content.read()[:4] == b"\x89PNG"
    text = [c for c in msg.content if c.type == "text"][0].text
    ann = file_paths[0]
    assert text.value[ann.start_index : ann.end_index] == ann.text and ann.text


async def test_file_search_with_attachments_citations_and_include(
    client: Any, emulator: Any
) -> None:
    f = await aw(
        client.files.create(
            file=("handbook.txt", b"Holidays: employees get 30 days of leave."),
            purpose="assistants",
        )
    )
    a = await aw(client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}]))
    t = await aw(client.beta.threads.create())
    await aw(
        client.beta.threads.messages.create(
            t.id,
            role="user",
            content="How many days of leave do employees get?",
            attachments=[{"file_id": f.id, "tools": [{"type": "file_search"}]}],
        )
    )
    thread = await aw(client.beta.threads.retrieve(t.id))
    vs_ids = thread.tool_resources.file_search.vector_store_ids
    assert len(vs_ids) == 1  # a thread vector store, created as the real API did
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "completed", run.last_error
    fs_tool = [x for x in emulator.requests[-1]["tools"] if x["type"] == "file_search"][0]
    assert fs_tool["vector_store_ids"] == vs_ids

    msg = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    text = msg.content[0].text
    cites = [x for x in text.annotations if x.type == "file_citation"]
    assert cites and cites[0].file_citation.file_id == f.id
    for c in cites:
        assert text.value[c.start_index : c.end_index] == c.text and c.text.startswith("【")

    step = (
        await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc"))
    ).data[0]
    results = step.step_details.tool_calls[0].file_search.results
    assert results and results[0].file_id == f.id and results[0].content is None
    inc = "step_details.tool_calls[*].file_search.results[*].content"
    with_content = await aw(
        client.beta.threads.runs.steps.retrieve(
            step.id, thread_id=t.id, run_id=run.id, include=[inc]
        )
    )
    assert (
        "30 days" in with_content.step_details.tool_calls[0].file_search.results[0].content[0].text
    )
    listed = await collect(
        client.beta.threads.runs.steps.list(run.id, thread_id=t.id, include=[inc])
    )
    assert listed[-1].step_details.tool_calls[0].file_search.results[0].content
