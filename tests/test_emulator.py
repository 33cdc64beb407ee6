"""Tests for compat.testing.ResponsesEmulator, driven by the plain installed ``openai`` SDK.

Owns checking that the emulator speaks the Responses/Files/Vector Stores API well enough for
the real SDK (3.x on httpx2 and 2.x on httpx) to parse every object and stream event, and
that its deterministic default behaviour, scripting and faults work as documented.
Imports ``compat.testing`` only (never the ``compat`` client package).
"""

# The SDK types output items as wide unions; the tests know which member they get.
# mypy: disable-error-code="union-attr, index, list-item, arg-type, attr-defined"
# mypy: disable-error-code="call-overload, operator"
from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

try:
    from openai.types.responses import (
        ResponseCompletedEvent,
        ResponseCreatedEvent,
        ResponseErrorEvent,
        ResponseFailedEvent,
        ResponseFunctionCallArgumentsDeltaEvent,
        ResponseIncompleteEvent,
        ResponseOutputItemAddedEvent,
        ResponseOutputTextAnnotationAddedEvent,
        ResponseTextDeltaEvent,
    )
except ImportError:  # openai 1.x before these event types existed
    pytest.skip(
        f"openai {openai.__version__} lacks the Responses event types these tests parse into",
        allow_module_level=True,
    )

from compat.testing import ResponsesEmulator

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path(
    os.environ.get("COMPAT_OPENAPI_SPEC", str(ROOT.parent / "shared" / "spec" / "openapi.yaml"))
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": False,
}
TIME = {
    "type": "function",
    "name": "get_local_time",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "strict": False,
}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}


@pytest.fixture
def emu() -> Iterator[ResponsesEmulator]:
    with ResponsesEmulator() as e:
        yield e


@pytest.fixture
def client(emu: ResponsesEmulator) -> Iterator[OpenAI]:
    c = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
    yield c
    c.close()


def _stream(client: OpenAI, **kwargs: Any) -> list[Any]:
    return list(client.responses.create(stream=True, **kwargs))


def _raw_post(emu: ResponsesEmulator, body: Any, key: str | None = "sk-test") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(emu.base_url + "/responses", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# ------------------------------------------------------------------------------------------
# Text answers


def test_non_stream_text_answer_echoes_request(emu: ResponsesEmulator, client: OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model="gpt-4.1",
        input="Hello there",
        instructions="Be brief.",
        temperature=0.2,
        metadata={"k": "v"},
        max_output_tokens=200,
        truncation="auto",
    )
    assert raw.headers["x-request-id"].startswith("req_")
    r = raw.parse()
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert r.output_text == "You said: Hello there"
    assert r.output[0].id.startswith("msg_") and r.output[0].status == "completed"
    assert (r.model, r.instructions, r.temperature, r.top_p) == ("gpt-4.1", "Be brief.", 0.2, 1.0)
    assert (r.metadata, r.max_output_tokens, r.truncation) == ({"k": "v"}, 200, "auto")
    assert r.store is True and r.parallel_tool_calls is True and r.tool_choice == "auto"
    assert r.incomplete_details is None and r.error is None
    # ceil(chars/4): "Be brief.\nHello there" = 21 chars -> 6; 21 chars out -> 6
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (6, 6, 12)
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0
    assert emu.requests == [
        {
            "model": "gpt-4.1",
            "input": "Hello there",
            "instructions": "Be brief.",
            "temperature": 0.2,
            "metadata": {"k": "v"},
            "max_output_tokens": 200,
            "truncation": "auto",
        }
    ]
    assert emu.request_headers[0]["authorization"] == "Bearer sk-test"


def test_stream_typed_events(client: OpenAI) -> None:
    events = _stream(client, model="gpt-4.1", input="Tell me something nice today")
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert isinstance(events[0], ResponseCreatedEvent)
    assert isinstance(events[-1], ResponseCompletedEvent)
    deltas = [e for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert len(deltas) > 3
    final = events[-1].response
    assert "".join(d.delta for d in deltas) == final.output_text
    assert final.output_text == "You said: Tell me something nice today"
    assert {(d.item_id, d.output_index, d.content_index) for d in deltas} == {
        (final.output[0].id, 0, 0)
    }
    assert all(d.logprobs == [] for d in deltas)
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    assert final.usage is not None and final.usage.total_tokens > 0


def test_stream_helper_final_response(client: OpenAI) -> None:
    with client.responses.stream(model="gpt-4.1", input="Which planets are there?") as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.output_text.startswith("The eight planets")
    assert "".join(texts) == final.output_text


def test_image_input_is_mentioned(client: OpenAI) -> None:
    r = client.responses.create(
        model="gpt-4.1",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {
                        "type": "input_image",
                        "image_url": "https://example.com/cat.png",
                        "detail": "auto",
                    },
                ],
            }
        ],
    )
    assert r.output_text == "You said: What is this? You also sent an image."


def test_async_client_stream(emu: ResponsesEmulator) -> None:
    async def run() -> list[str]:
        c = openai.AsyncOpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        stream = await c.responses.create(model="gpt-4.1", input="async hi", stream=True)
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        await c.close()
        return deltas

    assert "".join(asyncio.run(run())) == "You said: async hi"


def test_reasoning_model_emits_reasoning_item(client: OpenAI) -> None:
    events = _stream(
        client,
        model="o3",
        input="hi",
        reasoning={"effort": "low"},
        include=["reasoning.encrypted_content"],
    )
    final = events[-1].response
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].id.startswith("rs_") and final.output[0].encrypted_content
    assert final.usage.output_tokens_details.reasoning_tokens == 8
    assert final.reasoning.effort == "low"


def test_reasoning_comes_back_only_as_issued(emu: ResponsesEmulator, client: OpenAI) -> None:
    include: Any = ["reasoning.encrypted_content"]
    r = client.responses.create(model="o4-mini", input="hi", include=include, store=False)
    rs = r.output[0]
    assert rs.type == "reasoning" and rs.encrypted_content
    plain = client.responses.create(model="o4-mini", input="hi", store=False)
    assert plain.output[0].encrypted_content is None  # only when included

    def again(reasoning: dict[str, Any], model: str = "o4-mini") -> Any:
        history = [
            {"role": "user", "content": "hi"},
            reasoning,
            {"role": "assistant", "content": r.output_text},
            {"role": "user", "content": "again"},
        ]
        return client.responses.create(model=model, input=history, store=False)

    back = {
        "type": "reasoning",
        "id": rs.id,
        "summary": [],
        "encrypted_content": rs.encrypted_content,
    }
    assert again(back).status == "completed"
    # forged, or written by another model: 400 invalid_encrypted_content, as the API answers
    for reasoning, model in (
        ({**back, "encrypted_content": "gAAAAforged"}, "o4-mini"),
        (back, "o3"),
    ):
        with pytest.raises(openai.BadRequestError) as exc:
            again(reasoning, model)
        assert exc.value.code == "invalid_encrypted_content"
        assert exc.value.body["message"] == (
            f"The encrypted content for item {rs.id} could not be verified. Reason: "
            "Encrypted content could not be decrypted or parsed."
        )
    with pytest.raises(openai.NotFoundError):  # an id alone refers to nothing stored
        again({"type": "reasoning", "id": rs.id, "summary": []})
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hi", include=include)
    assert exc.value.param == "include"
    assert exc.value.body["message"] == "Encrypted content is not supported with this model."
    emu.reset()  # another upstream: nothing it did not issue verifies
    with pytest.raises(openai.BadRequestError):
        again(back)


# ------------------------------------------------------------------------------------------
# Function calling


def test_function_call_then_output_continuation(emu: ResponsesEmulator, client: OpenAI) -> None:
    question = "What's the weather in Paris in celsius?"
    r1 = client.responses.create(model="gpt-4.1", input=question, tools=[WEATHER])
    (call,) = r1.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "celsius"}
    # Replay (no ids, as the compat layer does) with the tool's output.
    r2 = client.responses.create(
        model="gpt-4.1",
        tools=[WEATHER],
        input=[
            {"role": "user", "content": question},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"},
        ],
    )
    assert r2.output_text == "Here is what I found: 18C and sunny"
    # Chained with previous_response_id: only the output is sent.
    r3 = client.responses.create(
        model="gpt-4.1",
        tools=[WEATHER],
        previous_response_id=r1.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}],
    )
    assert r3.output_text == "Here is what I found: rainy"
    assert r3.previous_response_id == r1.id
    assert emu.requests[2]["previous_response_id"] == r1.id
    assert client.responses.retrieve(r1.id).output[0].call_id == call.call_id
    r4 = client.responses.create(model="gpt-4.1", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r4.id)


def test_function_call_stream_events(client: OpenAI) -> None:
    events = _stream(client, model="gpt-4.1", input="Weather in Oslo?", tools=[WEATHER])
    added = [e for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert added[0].item.type == "function_call" and added[0].item.arguments == ""
    deltas = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert "".join(d.delta for d in deltas) == done.arguments == '{"location":"Oslo"}'
    with client.responses.stream(model="gpt-4.1", input="Weather in Oslo?", tools=[WEATHER]) as s:
        final = s.get_final_response()
    assert json.loads(final.output[0].arguments) == {"location": "Oslo"}


def test_parallel_calls(client: OpenAI) -> None:
    r = client.responses.create(
        model="gpt-4.1",
        tools=[WEATHER, TIME],
        input="What's the weather in Paris and the local time in Tokyo?",
    )
    calls = [(o.name, json.loads(o.arguments)) for o in r.output]
    assert calls == [("get_weather", {"location": "Paris"}), ("get_local_time", {"city": "Tokyo"})]
    assert len({o.call_id for o in r.output}) == 2
    r = client.responses.create(
        model="gpt-4.1", tools=[WEATHER], input="Weather in Paris and Tokyo please"
    )
    assert [json.loads(o.arguments)["location"] for o in r.output] == ["Paris", "Tokyo"]
    r = client.responses.create(
        model="gpt-4.1",
        tools=[WEATHER],
        parallel_tool_calls=False,
        input="Weather in Paris and Tokyo please",
    )
    assert len(r.output) == 1 and r.parallel_tool_calls is False


def test_tool_choice(client: OpenAI) -> None:
    r = client.responses.create(
        model="gpt-4.1", tools=[WEATHER], tool_choice="none", input="Weather in Rome?"
    )
    assert r.output[0].type == "message"
    r = client.responses.create(
        model="gpt-4.1", tools=[WEATHER, TIME], tool_choice="required", input="Hi!"
    )
    assert [o.name for o in r.output] == ["get_weather"]
    r = client.responses.create(
        model="gpt-4.1",
        tools=[WEATHER, TIME],
        input="Hi from Rome",
        tool_choice={"type": "function", "name": "get_local_time"},
    )
    assert [o.name for o in r.output] == ["get_local_time"]


def test_unanswered_function_call_and_orphan_output(client: OpenAI) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model="gpt-4.1", tools=[WEATHER], input=[call, {"role": "user", "content": "and?"}]
        )
    assert exc.value.body["message"] == "No tool output found for function call call_1."
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model="gpt-4.1",
            input=[{"type": "function_call_output", "call_id": "call_9", "output": "x"}],
        )
    assert "call_9" in exc.value.body["message"]
    # A chained request that ignores the previous response's pending call.
    r1 = client.responses.create(model="gpt-4.1", input="Weather in Oslo?", tools=[WEATHER])
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hello", previous_response_id=r1.id)
    assert exc.value.body["message"] == (
        f"No tool output found for function call {r1.output[0].call_id}."
    )


# ------------------------------------------------------------------------------------------
# Rejections


def test_schema_violation_reports_param(emu: ResponsesEmulator, client: OpenAI) -> None:
    bad_tool = {
        "type": "function",
        "parameters": {"type": "object", "properties": {}},
        "strict": True,
    }
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hi", tools=[bad_tool])  # type: ignore[list-item]
    err = exc.value
    assert err.status_code == 400 and err.param == "tools[0].name"
    assert err.code == "missing_required_parameter" and err.type == "invalid_request_error"
    assert err.body == {
        "message": "Missing required parameter: 'tools[0].name'.",
        "type": "invalid_request_error",
        "param": "tools[0].name",
        "code": "missing_required_parameter",
    }
    assert emu.requests[-1]["tools"] == [bad_tool]  # rejected bodies are recorded too
    typo: list[Any] = [{"role": "user", "content": [{"type": "input_txt", "text": "x"}]}]
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input=typo)
    assert exc.value.param == "input[0].content[0].type" and exc.value.code == "invalid_value"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hi", extra_body={"bogus": 1})
    assert exc.value.param == "bogus" and exc.value.code == "unknown_parameter"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hi", max_output_tokens=3)
    assert exc.value.param == "max_output_tokens"


def test_api_specific_rejections(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.responses.create(
            model="gpt-4.1",
            store=False,
            input=[
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_abc",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "hi", "annotations": []}],
                },
                {"role": "user", "content": "again"},
            ],
        )
    assert not_found.value.body["message"].startswith(
        "Item with id 'msg_abc' not found. Items are not"
    )
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="o4-mini", input="hi", temperature=0.5)
    assert exc.value.param == "temperature"
    assert exc.value.body["message"] == (
        "Unsupported parameter: 'temperature' is not supported with this model."
    )
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-5", input="hi", top_p=0.5)
    assert exc.value.param == "top_p"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model="gpt-4.1", input="hi", text={"format": {"type": "json_object"}}
        )
    assert "must contain the word 'json'" in exc.value.body["message"]
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", input="hi", previous_response_id="resp_nope")
    assert exc.value.code == "previous_response_not_found"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(
            model="gpt-4.1",
            input=[{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}],
        )
    assert exc.value.param == "input[0].content[0]"


def test_http_level_errors(emu: ResponsesEmulator) -> None:
    assert _raw_post(emu, b"{not json")[0] == 400
    status, body = _raw_post(emu, {"model": "gpt-4.1", "input": "x"}, key=None)
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    c = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError) as exc:
        c.get("/nowhere", cast_to=object)
    assert exc.value.body == {
        "message": "Invalid URL (GET /v1/nowhere)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    c.close()


# ------------------------------------------------------------------------------------------
# Hosted tools


def test_code_interpreter_with_outputs_and_chart(emu: ResponsesEmulator, client: OpenAI) -> None:
    r = client.responses.create(model="gpt-4.1", tools=[CODE], input="Compute the first primes")
    ci, msg = r.output
    assert ci.type == "code_interpreter_call" and ci.id.startswith("ci_")
    assert ci.container_id.startswith("cntr_") and ci.outputs is None
    assert f"```python\n{ci.code}\n```" in msg.content[0].text
    events = _stream(
        client,
        model="gpt-4.1",
        tools=[CODE],
        input="Plot a chart of x squared",
        include=["code_interpreter_call.outputs"],
    )
    types = [e.type for e in events]
    for t in (
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_text.annotation.added",
    ):
        assert t in types
    final = events[-1].response
    ci, msg = final.output
    logs, image = ci.outputs
    assert logs.type == "logs" and image.type == "image"
    (ann,) = msg.content[0].annotations
    assert ann.type == "container_file_citation" and ann.container_id == ci.container_id
    assert msg.content[0].text[ann.start_index : ann.end_index].startswith("[chart.png]")
    png = client.containers.files.content.retrieve(ann.file_id, container_id=ci.container_id)
    assert png.content.startswith(b"\x89PNG")
    meta = client.containers.files.retrieve(ann.file_id, container_id=ci.container_id)
    assert meta.path == "/mnt/data/chart.png" and meta.bytes == len(png.content)
    with urllib.request.urlopen(image.url) as fetched:  # the output URL serves the same bytes
        assert fetched.read() == png.content


def test_containers_keep_files_between_requests(emu: ResponsesEmulator, client: OpenAI) -> None:
    data = client.files.create(file=("data.csv", b"a,b\n"), purpose="assistants")
    made = client.post("/containers", body={"name": "t1", "file_ids": [data.id]}, cast_to=object)
    cid = made["id"]
    assert cid.startswith("cntr_") and made["object"] == "container"
    assert made["status"] == "running" and made["name"] == "t1"
    tool: Any = {"type": "code_interpreter", "container": cid}
    outputs: Any = ["code_interpreter_call.outputs"]
    r = client.responses.create(model="gpt-4.1", tools=[tool], input="Save 'hi there' to notes.txt")
    assert r.output[0].container_id == cid
    late = client.files.create(file=("late.txt", b"late"), purpose="assistants")
    added = client.post(f"/containers/{cid}/files", body={"file_id": late.id}, cast_to=object)
    assert added["path"] == "/mnt/data/late.txt" and added["source"] == "user"
    r = client.responses.create(
        model="gpt-4.1", tools=[tool], input="List the files", include=outputs
    )
    logs = r.output[0].outputs[0].logs
    assert logs == "data.csv: a,b\n\nlate.txt: late\nnotes.txt: hi there\n"
    assert "notes.txt: hi there" in r.output_text
    listed = client.get(f"/containers/{cid}/files", cast_to=object)
    assert sorted(f["path"] for f in listed["data"]) == [
        "/mnt/data/data.csv",
        "/mnt/data/late.txt",
        "/mnt/data/notes.txt",
    ]
    # an auto container is new with every request
    r = client.responses.create(
        model="gpt-4.1", tools=[CODE], input="List the files", include=outputs
    )
    assert r.output[0].container_id != cid and r.output[0].outputs[0].logs == "(no files)\n"

    emu.expire_container(cid)
    assert client.get(f"/containers/{cid}", cast_to=object)["status"] == "expired"
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4.1", tools=[tool], input="List the files")
    assert exc.value.body["message"] == "Container is expired."
    other = client.post("/containers", body={"name": "t2"}, cast_to=object)["id"]
    gone = client.delete(f"/containers/{other}", cast_to=object)
    assert gone == {"id": other, "object": "container.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(
            model="gpt-4.1", tools=[{"type": "code_interpreter", "container": other}], input="hi"
        )
    assert missing.value.body["message"] == f"Container with id '{other}' not found."
    with pytest.raises(openai.NotFoundError):
        client.post("/containers", body={"name": "t3", "file_ids": ["file-nope"]}, cast_to=object)


def test_file_search_with_uploaded_file(emu: ResponsesEmulator, client: OpenAI) -> None:
    doc = b"Our refund policy: refunds are accepted within 30 days.\n\nShipping takes 5 days."
    f = client.files.create(file=("policy.txt", doc), purpose="assistants")
    assert f.id.startswith("file-") and f.status == "processed" and f.bytes == len(doc)
    other = client.files.create(file=("menu.txt", b"Pizza and pasta."), purpose="assistants")
    vs = client.vector_stores.create(
        name="kb", file_ids=[f.id, other.id], expires_after={"anchor": "last_active_at", "days": 7}
    )
    assert vs.id.startswith("vs_") and vs.file_counts.completed == 2 and vs.status == "completed"
    tool = {"type": "file_search", "vector_store_ids": [vs.id]}
    r = client.responses.create(
        model="gpt-4.1",
        tools=[tool],
        input="What is the refund policy?",
        include=["file_search_call.results"],
    )
    fs, msg = r.output
    assert fs.type == "file_search_call" and fs.id.startswith("fs_")
    assert fs.queries == ["What is the refund policy?"]
    assert fs.results[0].file_id == f.id and fs.results[0].filename == "policy.txt"
    assert fs.results[0].score > fs.results[1].score
    assert "refunds are accepted within 30 days" in fs.results[0].text
    (ann,) = msg.content[0].annotations
    assert (ann.type, ann.file_id, ann.filename) == ("file_citation", f.id, "policy.txt")
    assert ann.index == len(msg.content[0].text)
    r = client.responses.create(model="gpt-4.1", tools=[tool], input="refund policy?")
    assert r.output[0].results is None
    events = _stream(client, model="gpt-4.1", tools=[tool], input="refund policy?")
    assert [e.type for e in events][2:7] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    anns = [e for e in events if isinstance(e, ResponseOutputTextAnnotationAddedEvent)]
    assert len(anns) == 1 and anns[0].annotation_index == 0


def test_files_and_vector_store_endpoints(emu: ResponsesEmulator, client: OpenAI) -> None:
    f = client.files.create(file=("a.bin", bytes(range(256)) * 3), purpose="assistants")
    assert client.files.retrieve(f.id).filename == "a.bin"
    assert client.files.content(f.id).content == bytes(range(256)) * 3
    assert [x.id for x in client.files.list()] == [f.id]
    vs = client.vector_stores.create(name="empty")
    vf = client.vector_stores.files.create(vector_store_id=vs.id, file_id=f.id)
    assert (vf.id, vf.vector_store_id, vf.status) == (f.id, vs.id, "completed")
    assert [x.id for x in client.vector_stores.files.list(vector_store_id=vs.id)] == [f.id]
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 1
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=vs.id, file_ids=[emu.add_file("b.txt", "bee")]
    )
    assert batch.status == "completed" and batch.file_counts.completed == 1
    assert client.vector_stores.delete(vs.id).deleted is True
    assert client.files.delete(f.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(f.id)


# ------------------------------------------------------------------------------------------
# Memory, formats, limits


def test_name_memory_reads_replayed_history(client: OpenAI) -> None:
    history: list[Any] = [
        {"role": "user", "content": "Hi! My name is Ada and I'm learning about compilers."},
        {"role": "assistant", "content": "Nice to meet you, Ada!"},
        {"role": "user", "content": "What was my name again? And what am I learning about?"},
    ]
    r = client.responses.create(model="gpt-4.1", input=history)
    assert r.output_text == "Your name is Ada. You are learning about compilers."
    # Without the history the model cannot know.
    r = client.responses.create(model="gpt-4.1", input="What's my name?")
    assert r.output_text == "You said: What's my name?"
    # The chain behind previous_response_id is history too.
    r1 = client.responses.create(model="gpt-4.1", input="My name is Bob.")
    r2 = client.responses.create(
        model="gpt-4.1", input="Do you remember my name?", previous_response_id=r1.id
    )
    assert r2.output_text == "Your name is Bob."


def test_max_output_tokens_incomplete(client: OpenAI) -> None:
    long = "word " * 40
    r = client.responses.create(model="gpt-4.1", input=long, max_output_tokens=16)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert len(r.output_text) == 64 and r.output[0].status == "incomplete"
    events = _stream(client, model="gpt-4.1", input=long, max_output_tokens=16)
    assert isinstance(events[-1], ResponseIncompleteEvent)
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_json_formats(client: OpenAI) -> None:
    class Weather(BaseModel):
        city: str
        degrees: int

    parsed = client.responses.parse(model="gpt-4.1", input="Weather please", text_format=Weather)
    assert parsed.output_parsed == Weather(city="You said: Weather please", degrees=1)
    r = client.responses.create(
        model="gpt-4.1", input="Answer in JSON: hi", text={"format": {"type": "json_object"}}
    )
    assert json.loads(r.output_text) == {"answer": "You said: Answer in JSON: hi"}


# ------------------------------------------------------------------------------------------
# Scripting and faults


def test_scripted_answers(emu: ResponsesEmulator, client: OpenAI) -> None:
    emu.enqueue("Scripted!", usage=(100, 7))
    emu.enqueue(function_calls=[("lookup", {"q": 1}), ("lookup", {"q": 2})])
    emu.enqueue(code=("print(1)", "1\n"))
    emu.enqueue(refusal="I can't help with that.")
    emu.enqueue("Half of this text is lost", incomplete="content_filter")
    r = client.responses.create(model="gpt-4.1", input="anything")
    assert r.output_text == "Scripted!"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (100, 7, 107)
    r = client.responses.create(model="gpt-4.1", input="anything")
    assert [(o.name, o.arguments) for o in r.output] == [
        ("lookup", '{"q":1}'),
        ("lookup", '{"q":2}'),
    ]
    assert r.output[0].call_id != r.output[1].call_id
    r = client.responses.create(
        model="gpt-4.1", input="anything", tools=[CODE], include=["code_interpreter_call.outputs"]
    )
    assert r.output[0].code == "print(1)" and r.output[0].outputs[0].logs == "1\n"
    events = _stream(client, model="gpt-4.1", input="anything")
    assert "response.refusal.delta" in [e.type for e in events]
    assert events[-1].response.output[0].content[0].refusal == "I can't help with that."
    r = client.responses.create(model="gpt-4.1", input="anything")
    assert r.status == "incomplete" and r.incomplete_details.reason == "content_filter"
    assert r.output_text == "Half of this"
    r = client.responses.create(model="gpt-4.1", input="back to default")
    assert r.output_text == "You said: back to default"


def test_status_errors_and_retries(emu: ResponsesEmulator, client: OpenAI) -> None:
    emu.enqueue(status_error=(429, "Rate limit reached.", "rate_limit_exceeded"))
    with pytest.raises(openai.RateLimitError) as exc:
        client.responses.create(model="gpt-4.1", input="hi")
    assert exc.value.code == "rate_limit_exceeded"
    assert exc.value.body["message"] == "Rate limit reached."
    emu.enqueue(status_error=(500, "Boom.", "server_error"), times=2)
    retrying = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=2)
    r = retrying.responses.create(model="gpt-4.1", input="hi")  # 2 failures, then success
    assert r.output_text == "You said: hi"
    assert len(emu.requests) == 4
    assert emu.request_headers[-1]["x-stainless-retry-count"] == "2"
    retrying.close()
    # An invalid body does not consume a queued (non-error) script.
    emu.enqueue("kept")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4.1", input="hi", max_output_tokens=1)
    assert client.responses.create(model="gpt-4.1", input="hi").output_text == "kept"


def test_stream_error_event_and_failed(emu: ResponsesEmulator, client: OpenAI) -> None:
    emu.enqueue("This answer will break halfway through", stream_error=("server_error", "Oops"))
    events = _stream(client, model="gpt-4.1", input="hi")
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    err, failed = events[-2:]
    assert isinstance(err, ResponseErrorEvent) and (err.code, err.message) == (
        "server_error",
        "Oops",
    )
    assert isinstance(failed, ResponseFailedEvent) and failed.response.status == "failed"
    assert failed.response.error.code == "server_error"
    assert "response.output_text.done" not in [e.type for e in events]
    emu.enqueue(stream_error=("server_error", "Oops"))
    r = client.responses.create(model="gpt-4.1", input="hi")
    assert r.status == "failed" and r.error.message == "Oops"


def test_delta_delay_and_latency(emu: ResponsesEmulator, client: OpenAI) -> None:
    emu.delta_delay = 0.05
    emu.latency = 0.1
    start = time.monotonic()
    stamps = []
    for e in client.responses.create(model="gpt-4.1", input="one two three", stream=True):
        if e.type == "response.created":
            first = time.monotonic() - start
        if e.type == "response.output_text.delta":
            stamps.append(time.monotonic())
    assert first >= 0.1
    assert len(stamps) == 5 and stamps[-1] - stamps[0] >= 0.15
    emu.reset()
    assert emu.delta_delay == 0 and emu.requests == []


def test_stop_cuts_a_stream_promptly(emu: ResponsesEmulator) -> None:
    c = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
    emu.delta_delay = 5.0
    stream = c.responses.create(model="gpt-4.1", input="a b c d", stream=True)
    seen = []
    with pytest.raises(Exception):  # noqa: B017 - httpx vs httpx2 raise different classes
        for e in stream:
            seen.append(e.type)
            if e.type == "response.output_text.delta":
                t0 = time.monotonic()
                threading.Thread(target=emu.stop).start()
    assert time.monotonic() - t0 < 2
    assert seen[-1] == "response.output_text.delta"
    c.close()


# ------------------------------------------------------------------------------------------
# Conversations


def _conversations(client: OpenAI) -> Any:
    if not hasattr(client, "conversations"):
        pytest.skip(f"openai {openai.__version__} has no client.conversations")
    return client.conversations


def _error(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(openai.APIStatusError) as info:
        call()
    return info.value.status_code, info.value.body  # type: ignore[return-value]


def test_conversation_crud_and_items(emu: ResponsesEmulator, client: OpenAI) -> None:
    convs = _conversations(client)
    conv = convs.create(
        items=[
            {"role": "user", "content": "My name is Ada."},
            {"type": "message", "role": "assistant", "content": "Hello Ada."},
        ],
        metadata={"topic": "intro"},
    )
    assert conv.id.startswith("conv_") and conv.object == "conversation"
    assert conv.metadata == {"topic": "intro"}
    assert convs.retrieve(conv.id).created_at == conv.created_at
    added = convs.items.create(
        conv.id,
        items=[
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        ],
    )
    assert [i.type for i in added.data] == ["function_call", "function_call_output"]
    assert added.first_id == added.data[0].id and added.has_more is False
    listed = convs.items.list(conv.id, order="asc")
    assert [i.type for i in listed.data] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]
    user, assistant = listed.data[0], listed.data[1]
    assert user.content[0].type == "input_text" and user.content[0].text == "My name is Ada."
    assert assistant.content[0].type == "output_text" and assistant.status == "completed"
    # Newest first by default; cursor pages with has_more / first_id / last_id.
    page = convs.items.list(conv.id, limit=3)
    assert [i.id for i in page.data] == [i.id for i in listed.data[::-1][:3]]
    assert page.has_more and page.last_id == page.data[-1].id
    rest = convs.items.list(conv.id, limit=3, after=page.last_id)
    assert [i.id for i in rest.data] == [listed.data[0].id] and not rest.has_more
    assert [i.id for i in convs.items.list(conv.id, order="asc")] == [i.id for i in listed.data]
    assert convs.items.retrieve(user.id, conversation_id=conv.id).id == user.id
    assert convs.items.delete(user.id, conversation_id=conv.id).id == conv.id
    assert len(emu.conversation_items[conv.id]) == 3
    assert convs.update(conv.id, metadata={"topic": "later"}).metadata == {"topic": "later"}
    deleted = convs.delete(conv.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (
        conv.id,
        True,
        "conversation.deleted",
    )
    assert _error(lambda: convs.retrieve(conv.id)) == (
        404,
        {
            "message": f"Conversation with id '{conv.id}' not found.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        },
    )


def test_conversation_limits_and_spec_errors(emu: ResponsesEmulator, client: OpenAI) -> None:
    convs = _conversations(client)
    user = {"role": "user", "content": "hi"}
    status, body = _error(lambda: convs.create(items=[user] * 21))
    assert (status, body["param"], body["code"]) == (400, "items", "array_above_max_length")
    assert body["message"] == (
        "Invalid 'items': array too long. Expected an array with maximum length 20, but got an "
        "array with length 21 instead."
    )
    conv = convs.create(items=[user] * 20)
    status, body = _error(lambda: convs.items.create(conv.id, items=[user] * 21))
    assert (status, body["code"]) == (400, "array_above_max_length")
    status, body = _error(lambda: convs.create(metadata={f"k{i}": "v" for i in range(17)}))
    assert (status, body["param"], body["code"]) == (400, "metadata", "object_above_max_properties")
    status, body = _error(lambda: convs.create(metadata={"k" * 65: "v"}))
    assert body["code"] == "property_name_above_max_length"
    status, body = _error(lambda: convs.update(conv.id, metadata={"k": "v" * 513}))
    assert (body["param"], body["code"]) == ("metadata.k", "string_above_max_length")
    status, body = _error(lambda: convs.create(items=[{"type": "message", "role": "robot"}]))
    assert (status, body["code"]) == (400, "invalid_value")
    assert body["param"].startswith("items[0]")
    status, body = _error(lambda: convs.create(extra_body={"title": "x"}))
    assert (status, body["param"], body["code"]) == (400, "title", "unknown_parameter")
    status, body = _error(lambda: convs.items.create(conv.id, items=[], extra_body={"x": 1}))
    assert body["code"] == "unknown_parameter"
    status, body = _error(lambda: convs.items.list(conv.id, limit=101))
    assert (status, body["param"]) == (400, "limit")
    status, body = _error(lambda: convs.items.retrieve("msg_nope", conversation_id=conv.id))
    assert (status, body["message"]) == (404, "Item with id 'msg_nope' not found.")
    assert len(emu.conversation_items[conv.id]) == 20  # nothing half-written


def test_response_in_a_conversation_sees_and_extends_it(
    emu: ResponsesEmulator, client: OpenAI
) -> None:
    convs = _conversations(client)
    conv = convs.create(items=[{"role": "user", "content": "My name is Ada."}])
    r = client.responses.create(model="gpt-4.1", conversation=conv.id, input="What is my name?")
    assert r.output_text == "Your name is Ada."  # the conversation's items came first
    assert r.conversation is not None and r.conversation.id == conv.id
    items = convs.items.list(conv.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [
        ("message", "user"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[-1].id == r.output[0].id
    # {"id": …} form, and a function call answered later in the same conversation.
    r = client.responses.create(
        model="gpt-4.1",
        conversation={"id": conv.id},
        input="Weather in Paris?",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    call = r.output[0]
    assert call.type == "function_call"
    r = client.responses.create(
        model="gpt-4.1",
        conversation=conv.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert r.output_text == "Here is what I found: Sunny"
    status, body = _error(
        lambda: client.responses.create(
            model="gpt-4.1", conversation=conv.id, previous_response_id=r.id, input="x"
        )
    )
    assert (status, body["code"]) == (400, "mutually_exclusive_parameters")
    status, body = _error(
        lambda: client.responses.create(model="gpt-4.1", conversation="conv_nope", input="x")
    )
    assert (status, body["message"]) == (404, "Conversation with id 'conv_nope' not found.")


# ------------------------------------------------------------------------------------------
# Conformance with the official spec and the shipped pytest plugin


def _extract_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "extract_schema", ROOT / "scripts" / "extract_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=1)
def _spec() -> Any:
    """The official OpenAPI spec, parsed once (a few seconds) for the tests below."""
    import yaml

    return yaml.load(SPEC.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def test_bundled_schema_matches_extraction() -> None:
    if not SPEC.exists():
        pytest.skip("OpenAPI spec not available")
    spec = _spec()
    extract = _extract_module().extract
    bundled = json.loads((ROOT / "compat" / "_data" / "create_response.schema.json").read_text())
    bundled.pop("$comment", None)
    assert bundled == extract(spec)
    # Everything the emulator emits fits the spec's Response and ResponseStreamEvent schemas.
    from jsonschema import Draft202012Validator

    response_v = Draft202012Validator(extract(spec, "Response"))
    event_v = Draft202012Validator(extract(spec, "ResponseStreamEvent"))
    with ResponsesEmulator() as emu:
        vs_file = emu.add_file("kb.txt", "Refunds within 30 days.")
        c = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        vs = c.vector_stores.create(file_ids=[vs_file])
        bodies: list[dict[str, Any]] = [
            {"input": "hi", "metadata": {"a": "b"}},
            {"input": "weather in Paris?", "tools": [WEATHER]},
            {
                "input": "plot a chart",
                "tools": [CODE],
                "include": ["code_interpreter_call.outputs"],
            },
            {
                "input": "refunds?",
                "tools": [{"type": "file_search", "vector_store_ids": [vs.id]}],
                "include": ["file_search_call.results"],
            },
            {"input": "hi there, how are you today?", "max_output_tokens": 16},
        ]
        emu.enqueue(stream_error=("server_error", "x"), times=2)
        emu.enqueue(refusal="no", times=2)
        for body in [*bodies, bodies[0], bodies[0]]:
            body = {"model": "gpt-4.1", **body}
            for stream in (False, True):
                raw = c.responses.with_raw_response.create(**body, stream=stream)
                if not stream:
                    assert not list(response_v.iter_errors(raw.http_response.json()))
                    continue
                raw.http_response.read()
                for block in raw.http_response.text.split("\n\n"):
                    if block.strip():
                        event = json.loads(block.split("data: ", 1)[1])
                        assert not list(event_v.iter_errors(event)), event["type"]
        c.close()


def test_bundled_conversation_schema_matches_extraction(client: OpenAI) -> None:
    if not SPEC.exists():
        pytest.skip("OpenAPI spec not available")
    spec = _spec()
    loader = importlib.util.spec_from_file_location(
        "extract_conversation_schema", ROOT / "scripts" / "extract_conversation_schema.py"
    )
    assert loader and loader.loader
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    bundled = json.loads((ROOT / "compat" / "_data" / "conversations.schema.json").read_text())
    bundled.pop("$comment", None)
    assert bundled == module.extract(spec)
    # What the emulator answers fits the spec's ConversationResource / ConversationItemList.
    from jsonschema import Draft202012Validator

    extract = _extract_module().extract
    conv_v = Draft202012Validator(extract(spec, "ConversationResource"))
    list_v = Draft202012Validator(extract(spec, "ConversationItemList"))
    conv = client.post(
        "/conversations",
        body={"items": [{"role": "user", "content": "My name is Ada."}], "metadata": {"a": "b"}},
        cast_to=object,
    )
    assert not list(conv_v.iter_errors(conv))
    client.responses.create(
        model="gpt-4.1",
        input="Weather in Paris?",
        tools=[WEATHER],
        extra_body={"conversation": conv["id"]},
    )
    items = client.get(f"/conversations/{conv['id']}/items", cast_to=object)
    assert len(items["data"]) == 3
    assert not list(list_v.iter_errors(items))


def test_pytest_plugin_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "test_uses_fixture.py").write_text(
        textwrap.dedent("""
        from openai import OpenAI

        def test_it(responses_emulator):
            c = OpenAI(base_url=responses_emulator.base_url, api_key="k", max_retries=0)
            assert c.responses.create(model="m", input="x").output_text == "You said: x"
            assert len(responses_emulator.requests) == 1
            c.close()
    """)
    )
    # A nested in-process run that loads only this module as a plugin (entry points off, so an
    # installed pytest11 registration of the same module cannot clash).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    code = pytest.main(
        [
            "-q",
            "-p",
            "compat.testing.plugin",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            str(tmp_path),
        ]
    )
    assert code == 0
    import compat.testing.plugin as plugin

    assert callable(plugin.compat_client) and callable(plugin.async_compat_client)
