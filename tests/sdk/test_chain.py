"""Chain mode (Options(history="chain")): previous_response_id instead of replaying the thread."""

from __future__ import annotations

from typing import Any

import pytest

from compat import Options
from tests.conftest import aw
from tests.sdk.test_runs import WEATHER_TOOL

pytestmark = pytest.mark.anyio


async def test_chained_turns_send_only_what_is_new(make_client: Any, emulator: Any) -> None:
    client = make_client(compat_options=Options(history="chain"))
    a = await aw(
        client.beta.assistants.create(model="gpt-4o", instructions="Be kind.", tools=[WEATHER_TOOL])
    )
    t = await aw(client.beta.threads.create())
    await aw(
        client.beta.threads.messages.create(
            t.id, role="user", content="My name is Alex and I'm learning about AI."
        )
    )
    r1 = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert r1.status == "completed"
    first = emulator.requests[-1]
    assert first["store"] is True and "previous_response_id" not in first

    await aw(
        client.beta.threads.messages.create(t.id, role="user", content="What was my name again?")
    )
    r2 = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    second = emulator.requests[-1]
    assert second["previous_response_id"].startswith("resp_")
    assert second["instructions"] == "Be kind."  # not inherited upstream: resent every call
    assert second["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What was my name again?"}],
        }
    ]
    answer = (await aw(client.beta.threads.messages.list(t.id, run_id=r2.id))).data[0]
    assert "Alex" in answer.content[0].text.value

    await aw(
        client.beta.threads.messages.create(t.id, role="user", content="And the weather in Paris?")
    )
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = await aw(
        client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=t.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        )
    )
    assert run.status == "completed"
    last = emulator.requests[-1]
    assert last["input"] == [
        {"type": "function_call_output", "call_id": call.id, "output": "sunny"}
    ]


async def test_lost_chain_falls_back_to_replay(make_client: Any, emulator: Any) -> None:
    client = make_client(compat_options=Options(history="chain"))
    a = await aw(client.beta.assistants.create(model="gpt-4o"))
    t = await aw(
        client.beta.threads.create(messages=[{"role": "user", "content": "My name is Sam."}])
    )
    assert (
        await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    ).status == "completed"
    emulator.reset()  # the upstream forgot every stored response
    await aw(client.beta.threads.messages.create(t.id, role="user", content="What is my name?"))
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "completed", run.last_error
    chained, replayed = emulator.requests
    assert chained["previous_response_id"] and "previous_response_id" not in replayed
    assert len(replayed["input"]) == 3
    answer = (await aw(client.beta.threads.messages.list(t.id, limit=1))).data[0]
    assert "Sam" in answer.content[0].text.value
