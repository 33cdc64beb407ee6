"""Assistants, threads and messages through the real SDK on compat clients (sync and async,
SQLite and PostgreSQL): the types, pages and errors the real API gave."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message

from tests.conftest import aw, collect

pytestmark = pytest.mark.anyio


async def test_assistant_lifecycle(client: Any) -> None:
    tools = [
        {"type": "code_interpreter"},
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather now",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            },
        },
    ]
    a = await aw(
        client.beta.assistants.create(
            model="gpt-4o",
            name="Helper",
            instructions="Be brief.",
            tools=tools,
            metadata={"team": "x"},
            temperature=0.3,
            response_format={"type": "json_object"},
            tool_resources={"code_interpreter": {"file_ids": ["file-1"]}},
        )
    )
    assert isinstance(a, Assistant)
    assert a.id.startswith("asst_") and len(a.id) == len("asst_") + 24
    assert a.object == "assistant" and a.model == "gpt-4o" and a.name == "Helper"
    assert a.tools[1].type == "function" and a.tools[1].function.strict is False
    assert a.tool_resources.code_interpreter.file_ids == ["file-1"]
    assert a.temperature == 0.3 and a.top_p == 1.0
    assert a.response_format.type == "json_object"

    got = await aw(client.beta.assistants.retrieve(a.id))
    assert got.to_dict() == a.to_dict()

    up = await aw(client.beta.assistants.update(a.id, name="Renamed", tools=[], metadata={}))
    assert up.name == "Renamed" and up.tools == [] and up.metadata == {}
    assert up.instructions == "Be brief."  # omitted fields stay as they were

    d = await aw(client.beta.assistants.delete(a.id))
    assert isinstance(d, AssistantDeleted) and d.deleted and d.id == a.id
    with pytest.raises(openai.NotFoundError) as e:
        await aw(client.beta.assistants.retrieve(a.id))
    assert e.value.status_code == 404
    assert f"No assistant found with id '{a.id}'." in e.value.message


async def test_bare_assistant_has_the_real_defaults(client: Any) -> None:
    a = await aw(client.beta.assistants.create(model="gpt-4o"))
    raw = a.to_dict()
    assert raw["tools"] == [] and raw["tool_resources"] == {} and raw["metadata"] == {}
    assert raw["temperature"] == 1.0 and raw["top_p"] == 1.0 and raw["response_format"] == "auto"
    assert raw["name"] is None and raw["description"] is None and raw["instructions"] is None


async def test_assistants_pagination_walks_every_page(client: Any) -> None:
    ids = [(await aw(client.beta.assistants.create(model="m", name=f"a{i}"))).id for i in range(7)]
    first = await aw(client.beta.assistants.list(limit=3, order="asc"))
    assert [x.id for x in first.data] == ids[:3] and first.has_more
    assert first.first_id == ids[0] and first.last_id == ids[2]
    assert [x.id for x in await collect(client.beta.assistants.list(limit=3, order="asc"))] == ids
    assert [x.id for x in await collect(client.beta.assistants.list(limit=2))] == ids[::-1]
    after = await aw(client.beta.assistants.list(limit=10, order="asc", after=ids[4]))
    assert [x.id for x in after.data] == ids[5:] and not after.has_more
    before = await aw(client.beta.assistants.list(limit=2, order="asc", before=ids[4]))
    assert [x.id for x in before.data] == ids[2:4] and before.has_more
    past_end = await aw(client.beta.assistants.list(order="asc", after=ids[-1]))
    assert past_end.data == [] and not past_end.has_more and past_end.first_id is None


async def test_thread_with_initial_messages_keeps_their_order(client: Any) -> None:
    t = await aw(
        client.beta.threads.create(
            messages=[
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "second"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "third"}],
                    "metadata": {"k": "v"},
                },
            ],
            metadata={"user": "alex"},
        )
    )
    assert isinstance(t, Thread) and t.id.startswith("thread_") and t.metadata == {"user": "alex"}
    msgs = await collect(client.beta.threads.messages.list(t.id, order="asc"))
    assert [m.content[0].text.value for m in msgs] == ["first", "second", "third"]
    assert [m.role for m in msgs] == ["user", "assistant", "user"]
    assert msgs[2].metadata == {"k": "v"}
    assert all(isinstance(m, Message) and m.thread_id == t.id and m.run_id is None for m in msgs)

    up = await aw(client.beta.threads.update(t.id, metadata={"user": "sam"}))
    assert up.metadata == {"user": "sam"}
    assert (await aw(client.beta.threads.retrieve(t.id))).metadata == {"user": "sam"}

    d = await aw(client.beta.threads.delete(t.id))
    assert isinstance(d, ThreadDeleted) and d.deleted
    with pytest.raises(openai.NotFoundError):
        await aw(client.beta.threads.messages.list(t.id))


async def test_messages_crud_and_content_parts(client: Any) -> None:
    t = await aw(client.beta.threads.create())
    m = await aw(
        client.beta.threads.messages.create(
            t.id,
            role="user",
            content=[
                {"type": "text", "text": "look"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                },
                {"type": "image_file", "image_file": {"file_id": "file-img"}},
            ],
            attachments=[{"file_id": "file-data", "tools": [{"type": "code_interpreter"}]}],
        )
    )
    assert m.id.startswith("msg_") and m.object == "thread.message"
    assert [c.type for c in m.content] == ["text", "image_url", "image_file"]
    assert m.content[1].image_url.detail == "low"
    assert m.attachments[0].file_id == "file-data"
    assert m.assistant_id is None and m.run_id is None

    got = await aw(client.beta.threads.messages.retrieve(m.id, thread_id=t.id))
    assert got.to_dict() == m.to_dict()
    up = await aw(client.beta.threads.messages.update(m.id, thread_id=t.id, metadata={"seen": "1"}))
    assert up.metadata == {"seen": "1"}
    d = await aw(client.beta.threads.messages.delete(m.id, thread_id=t.id))
    assert d.deleted and d.object == "thread.message.deleted"
    with pytest.raises(openai.NotFoundError) as e:
        await aw(client.beta.threads.messages.retrieve(m.id, thread_id=t.id))
    assert f"No message found with id '{m.id}'." in str(e.value)


async def test_message_pages_with_before_and_after(client: Any) -> None:
    t = await aw(client.beta.threads.create())
    ids = [
        (await aw(client.beta.threads.messages.create(t.id, role="user", content=f"m{i}"))).id
        for i in range(25)
    ]
    page = await aw(client.beta.threads.messages.list(t.id))
    assert len(page.data) == 20 and page.has_more and page.data[0].id == ids[-1]
    assert [
        m.id for m in await collect(client.beta.threads.messages.list(t.id, order="asc", limit=4))
    ] == ids
    before = await aw(client.beta.threads.messages.list(t.id, before=ids[10], limit=3))  # desc
    assert [m.id for m in before.data] == [ids[13], ids[12], ids[11]]


@pytest.mark.parametrize(
    ("call", "status", "param", "code"),
    [
        (
            lambda c, t: c.beta.threads.messages.list(t, limit=0),
            400,
            "limit",
            "integer_below_min_value",
        ),
        (
            lambda c, t: c.beta.threads.messages.list(t, order="sideways"),
            400,
            "order",
            "invalid_value",
        ),
        (
            lambda c, t: c.beta.threads.messages.create(t, role="system", content="x"),
            400,
            "role",
            "invalid_value",
        ),
        (
            lambda c, t: c.beta.threads.messages.create(t, role="user", content=""),
            400,
            "content",
            None,
        ),
        (
            lambda c, t: c.beta.threads.messages.create(t, role="user", content=[]),
            400,
            "content",
            "empty_array",
        ),
        (
            lambda c, t: c.beta.threads.messages.create(t, role="user", content="x" * 256_001),
            400,
            "content",
            "string_above_max_length",
        ),
        (
            lambda c, t: c.beta.threads.update(t, metadata={f"k{i}": "v" for i in range(17)}),
            400,
            "metadata",
            "object_above_max_properties",
        ),
        (
            lambda c, t: c.beta.threads.update(t, metadata={"k": "v" * 513}),
            400,
            "metadata.k",
            "string_above_max_length",
        ),
        (
            lambda c, t: c.beta.assistants.create(model="m", tools=[{"type": "browser"}]),
            400,
            "tools[0].type",
            "invalid_value",
        ),
        (
            lambda c, t: c.beta.assistants.create(model="m", extra_body={"colour": "red"}),
            400,
            "colour",
            "unknown_parameter",
        ),
        (lambda c, t: c.beta.threads.retrieve("undefined"), 400, "thread_id", "invalid_value"),
        (lambda c, t: c.beta.threads.messages.retrieve("msg_nope", thread_id=t), 404, None, None),
    ],
)
async def test_bad_input_gets_the_real_error(
    client: Any, call: Any, status: int, param: str | None, code: str | None
) -> None:
    t = await aw(client.beta.threads.create(metadata={"keep": "me"}))
    with pytest.raises(openai.APIStatusError) as e:
        await aw(call(client, t.id))
    assert e.value.status_code == status
    assert e.value.param == param
    if code is not None:
        assert e.value.code == code
    assert isinstance(e.value.body, dict) and e.value.body.get("type") == "invalid_request_error"
    # nothing stored was changed by the failed call
    assert (await aw(client.beta.threads.retrieve(t.id))).metadata == {"keep": "me"}


async def test_errors_are_not_retried(make_client: Any, emulator: Any) -> None:
    c = make_client(max_retries=3)
    with pytest.raises(openai.NotFoundError):
        await aw(c.beta.threads.retrieve("thread_missing"))


async def test_raw_response_and_headers(client: Any) -> None:
    raw = await aw(client.beta.assistants.with_raw_response.create(model="gpt-4o"))
    assert raw.http_request.url.path.endswith("/assistants")
    assert raw.headers["x-request-id"].startswith("req_")
    a = raw.parse()
    assert isinstance(a, Assistant)


async def test_other_resources_pass_through(client: Any, emulator: Any) -> None:
    # Files are not an Assistants route: the request reaches the upstream (the emulator).
    f = await aw(client.files.create(file=("notes.txt", b"hello"), purpose="assistants"))
    assert f.id.startswith("file-")
    got = await aw(client.files.retrieve(f.id))
    assert got.filename == "notes.txt"
