"""Reasoning models keep their reasoning across calls in replay mode: each response's
reasoning items (with their encrypted content) go back into later calls' input where the
model produced them, across runs and requires_action rounds; nothing of them shows in
messages, steps or stream events (responses-mapping §2.3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compat import Options
from tests.conftest import aw, collect
from tests.sdk.test_runs import WEATHER_TOOL
from tests.sdk.test_streaming import _events

pytestmark = pytest.mark.anyio


def reasoning_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body["input"] if item["type"] == "reasoning"]


def after(body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """The input item that follows ``item``."""
    items: list[dict[str, Any]] = body["input"]
    return items[items.index(item) + 1]


async def run(client: Any, thread_id: str, assistant_id: str, **kw: Any) -> Any:
    return await aw(
        client.beta.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant_id, **kw
        )
    )


async def say(client: Any, thread_id: str, text: str) -> None:
    await aw(client.beta.threads.messages.create(thread_id, role="user", content=text))


async def test_two_turn_conversation_replays_turn_one_reasoning(client: Any, emulator: Any) -> None:
    a = await aw(client.beta.assistants.create(model="o4-mini", instructions="Be brief."))
    t = await aw(
        client.beta.threads.create(messages=[{"role": "user", "content": "My name is Alex."}])
    )
    r1 = await run(client, t.id, a.id)
    assert r1.status == "completed", r1.last_error
    first = emulator.requests[-1]
    assert first["include"] == ["reasoning.encrypted_content"] and first["store"] is False
    assert reasoning_of(first) == []

    await say(client, t.id, "What is my name?")
    # streamed: the stream shows nothing of the reasoning either
    stream = await aw(
        client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True)
    )
    events = await _events(stream)
    assert events[-1].event == "thread.run.completed"
    assert len(emulator.requests) == 2  # verified upstream: no retry
    second = emulator.requests[-1]
    (rs,) = reasoning_of(second)
    assert rs["id"].startswith("rs_") and rs["encrypted_content"].startswith("gAAAA")
    assert set(rs) == {"type", "id", "summary", "encrypted_content"}
    answer1 = (await aw(client.beta.threads.messages.list(t.id, run_id=r1.id))).data[0]
    # where the model produced it: before turn one's answer
    assert after(second, rs) == {
        "type": "message",
        "role": "assistant",
        "content": answer1.content[0].text.value,
    }
    messages = await collect(client.beta.threads.messages.list(t.id, order="asc"))
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[-1].content[0].text.value == "Your name is Alex."
    steps = await collect(client.beta.threads.runs.steps.list(r1.id, thread_id=t.id))
    assert [s.type for s in steps] == ["message_creation"]
    shown = json.dumps(
        [m.model_dump() for m in messages]
        + [s.model_dump() for s in steps]
        + [e.data.model_dump() for e in events]
    )
    assert "rs_" not in shown and rs["encrypted_content"] not in shown


async def test_function_calling_keeps_reasoning_across_requires_action(
    client: Any, emulator: Any
) -> None:
    a = await aw(client.beta.assistants.create(model="o4-mini", tools=[WEATHER_TOOL]))
    t = await aw(client.beta.threads.create())
    await say(client, t.id, "What is the weather in Paris?")
    r = await run(client, t.id, a.id)
    assert r.status == "requires_action"
    call = r.required_action.submit_tool_outputs.tool_calls[0]
    r = await aw(
        client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=r.id, thread_id=t.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}]
        )
    )
    assert r.status == "completed", r.last_error
    assert len(emulator.requests) == 2
    resumed = emulator.requests[-1]
    (rs,) = reasoning_of(resumed)
    # between the function call and its output, the model's reasoning before the call
    assert (
        after(resumed, rs)["type"] == "function_call" and after(resumed, rs)["call_id"] == call.id
    )
    assert resumed["input"][-1] == {
        "type": "function_call_output",
        "call_id": call.id,
        "output": "sunny",
    }
    steps = await collect(client.beta.threads.runs.steps.list(r.id, thread_id=t.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]

    # the next run: both of the earlier run's reasoning items, each where it was produced
    await say(client, t.id, "Thanks!")
    assert (await run(client, t.id, a.id)).status == "completed"
    later = emulator.requests[-1]
    before_call, before_answer = reasoning_of(later)
    assert before_call == rs
    assert after(later, before_call)["call_id"] == call.id
    assert after(later, before_answer)["role"] == "assistant"


async def test_reasoning_the_upstream_no_longer_verifies_is_dropped(
    client: Any, emulator: Any
) -> None:
    a = await aw(client.beta.assistants.create(model="o4-mini"))
    t = await aw(client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]))
    assert (await run(client, t.id, a.id)).status == "completed"
    emulator.reset()  # another project or key: what it issued no longer verifies

    await say(client, t.id, "And now?")
    r = await run(client, t.id, a.id)
    assert r.status == "completed", r.last_error
    refused, retried = emulator.requests
    (stale,) = reasoning_of(refused)
    assert reasoning_of(retried) == [] and retried["input"] == [
        i for i in refused["input"] if i != stale
    ]
    assert retried["include"] == ["reasoning.encrypted_content"]  # this call's is kept

    await say(client, t.id, "Once more")
    assert (await run(client, t.id, a.id)).status == "completed"
    latest = emulator.requests[-1]
    assert len(emulator.requests) == 3  # not sent again: no second refusal
    (kept,) = reasoning_of(latest)
    assert kept["id"] != stale["id"]


async def test_reasoning_verifies_only_with_its_model(client: Any, emulator: Any) -> None:
    a = await aw(client.beta.assistants.create(model="o4-mini"))
    t = await aw(client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]))
    assert (await run(client, t.id, a.id)).status == "completed"
    await say(client, t.id, "Think harder")
    assert (await run(client, t.id, a.id, model="o3")).status == "completed"
    assert reasoning_of(emulator.requests[-1]) == []  # o4-mini's is not sent to o3
    await say(client, t.id, "Back to you")
    assert (await run(client, t.id, a.id)).status == "completed"
    assert len(reasoning_of(emulator.requests[-1])) == 1  # o4-mini's own again
    assert len(emulator.requests) == 3


async def test_chain_mode_and_other_models_send_none(make_client: Any, emulator: Any) -> None:
    chained = make_client(compat_options=Options(history="chain"))
    for client, model in ((chained, "o4-mini"), (make_client(), "gpt-4o")):
        a = await aw(client.beta.assistants.create(model=model))
        t = await aw(client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}]))
        assert (await run(client, t.id, a.id)).status == "completed"
        await say(client, t.id, "Again")
        assert (await run(client, t.id, a.id)).status == "completed"
        for body in emulator.requests[-2:]:
            assert "include" not in body and reasoning_of(body) == []


async def test_encrypted_reasoning_refused_for_the_model_is_not_asked_again(
    client: Any, emulator: Any
) -> None:
    # an upstream whose model takes no encrypted reasoning (the id looked like a reasoning
    # model's): the run goes on without, instead of failing
    refusal = "Encrypted content is not supported with this model."
    emulator.enqueue(status_error=(400, refusal, None))
    a = await aw(client.beta.assistants.create(model="o4-mini"))
    t = await aw(client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}]))
    r = await run(client, t.id, a.id)
    assert r.status == "completed", r.last_error
    refused, retried = emulator.requests
    assert refused["include"] == ["reasoning.encrypted_content"] and "include" not in retried
