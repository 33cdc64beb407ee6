"""Runs end to end: the SDK on compat clients, every turn executed by the Responses API
emulator over loopback HTTP (which rejects any request the official schema rejects)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from tests.conftest import aw, collect

pytestmark = pytest.mark.anyio

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


async def _sleep(client: Any, seconds: float) -> None:
    await asyncio.sleep(seconds)


async def wait_done(client: Any, thread_id: str, run_id: str) -> Any:
    """The tutorial's manual loop: retrieve while queued / in_progress."""
    run = await aw(client.beta.threads.runs.retrieve(run_id, thread_id=thread_id))
    for _ in range(400):
        if run.status not in ("queued", "in_progress", "cancelling"):
            return run
        await asyncio.sleep(0.025)
        run = await aw(client.beta.threads.runs.retrieve(run_id, thread_id=thread_id))
    raise AssertionError(f"run stuck in {run.status}")


async def setup(client: Any, content: str, **assistant: Any) -> tuple[Any, Any]:
    a = await aw(client.beta.assistants.create(model=assistant.pop("model", "gpt-4o"), **assistant))
    t = await aw(client.beta.threads.create())
    await aw(client.beta.threads.messages.create(t.id, role="user", content=content))
    return a, t


async def test_quickstart_manual_polling(client: Any, emulator: Any) -> None:
    a, t = await setup(
        client,
        "What are the major planets in our solar system?",
        instructions="Answer general questions.",
    )
    run = await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    assert run.status == "queued" and run.id.startswith("run_")
    assert run.expires_at == run.created_at + 600 and run.usage is None
    run = await wait_done(client, t.id, run.id)
    assert run.status == "completed"
    assert run.completed_at is not None and run.started_at is not None and run.expires_at is None
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens > 0
    msgs = (await aw(client.beta.threads.messages.list(thread_id=t.id))).data
    assert [m.role for m in msgs] == ["assistant", "user"]
    answer = msgs[0]
    assert answer.run_id == run.id and answer.assistant_id == a.id and answer.status == "completed"
    assert answer.content[0].text.value.strip()
    steps = (await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id))).data
    assert [(s.type, s.status) for s in steps] == [("message_creation", "completed")]
    assert steps[0].step_details.message_creation.message_id == answer.id
    assert steps[0].usage.total_tokens == run.usage.total_tokens
    body = emulator.requests[-1]
    assert body["instructions"] == "Answer general questions."
    assert body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What are the major planets in our solar system?"}
            ],
        }
    ]
    assert body["stream"] is True and body["store"] is False and "temperature" not in body


async def test_two_turn_conversation_remembers_the_name(client: Any) -> None:
    a = await aw(
        client.beta.assistants.create(model="gpt-4o", instructions="Remember the conversation.")
    )
    t = await aw(client.beta.threads.create())
    answers = []
    for text in [
        "My name is Alex and I'm learning about AI.",
        "What was my name again? And what am I learning about?",
    ]:
        await aw(client.beta.threads.messages.create(t.id, role="user", content=text))
        run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
        assert run.status == "completed"
        answers.append(
            (await aw(client.beta.threads.messages.list(t.id, limit=1)))
            .data[0]
            .content[0]
            .text.value
        )
    assert "Alex" in answers[1] and "AI" in answers[1]


async def test_weather_function_loop(client: Any, emulator: Any) -> None:
    a, t = await setup(
        client,
        "What's the weather in Paris in celsius?",
        tools=[{"type": "code_interpreter"}, WEATHER_TOOL],
    )
    run = await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    seen = []
    for _ in range(400):
        run = await aw(client.beta.threads.runs.retrieve(thread_id=t.id, run_id=run.id))
        seen.append(run.status)
        if run.status == "completed":
            break
        if run.status == "requires_action":
            calls = run.required_action.submit_tool_outputs.tool_calls
            assert [c.function.name for c in calls] == ["get_weather"]
            args = json.loads(calls[0].function.arguments)
            assert args["location"] == "Paris"
            outputs = [
                {
                    "tool_call_id": c.id,
                    "output": json.dumps({"temperature": 22.8, "unit": "celsius"}),
                }
                for c in calls
            ]
            back = await aw(
                client.beta.threads.runs.submit_tool_outputs(
                    thread_id=t.id, run_id=run.id, tool_outputs=outputs
                )
            )
            assert back.status == "queued" and back.required_action is None
        else:
            await asyncio.sleep(0.02)
    assert run.status == "completed" and "requires_action" in seen
    answer = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    assert "22.8" in answer.content[0].text.value
    # the function was sent flattened and non-strict (the tutorial's schema is not strict-valid)
    first, second = emulator.requests[-2], emulator.requests[-1]
    fn = [x for x in first["tools"] if x["type"] == "function"][0]
    assert fn == {
        "type": "function",
        "name": "get_weather",
        "description": "Get the current weather in a given location.",
        "parameters": WEATHER_TOOL["function"]["parameters"],
        "strict": False,
    }
    assert second["tools"] == first["tools"]  # the continuation keeps its tools (pitfalls 1)
    kinds = [i["type"] for i in second["input"]]
    assert kinds[-2:] == ["function_call", "function_call_output"]
    call_id = second["input"][-2]["call_id"]
    steps = (
        await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc"))
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    tc = steps[0].step_details.tool_calls[0]
    assert tc.id == call_id and tc.function.output is not None and "22.8" in tc.function.output
    assert run.usage.total_tokens == sum(s.usage.total_tokens for s in steps)


async def test_parallel_calls_must_all_be_answered(client: Any, emulator: Any) -> None:
    emulator.enqueue(
        function_calls=[
            ("get_weather", {"location": "Paris"}),
            ("get_weather", {"location": "Oslo"}),
        ]
    )
    a, t = await setup(client, "Weather in Paris and Oslo?", tools=[WEATHER_TOOL])
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert len(calls) == 2 and len({c.id for c in calls}) == 2
    with pytest.raises(openai.BadRequestError) as e:
        await aw(
            client.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
            )
        )
    assert (
        f"Expected tool outputs for call_ids ['{calls[0].id}', '{calls[1].id}'], "
        f"got ['{calls[0].id}']" in e.value.message
    )
    with pytest.raises(openai.BadRequestError):
        await aw(
            client.beta.threads.runs.submit_tool_outputs(
                run.id,
                thread_id=t.id,
                tool_outputs=[
                    {"tool_call_id": "call_unknown", "output": "x"},
                    {"tool_call_id": calls[1].id, "output": "y"},
                ],
            )
        )
    still = await aw(client.beta.threads.runs.retrieve(run.id, thread_id=t.id))
    assert still.status == "requires_action"  # failed submissions changed nothing
    run = await aw(
        client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=t.id,
            tool_outputs=[
                {"tool_call_id": c.id, "output": f"sunny-{i}"} for i, c in enumerate(calls)
            ],
        )
    )
    assert run.status == "completed"
    outputs = [i for i in emulator.requests[-1]["input"] if i["type"] == "function_call_output"]
    assert [o["output"] for o in outputs] == ["sunny-0", "sunny-1"]


async def test_requires_action_any_number_of_times(client: Any, emulator: Any) -> None:
    emulator.enqueue(function_calls=[("get_weather", {"location": "Paris"})])
    emulator.enqueue(function_calls=[("get_weather", {"location": "Rome"})])
    a, t = await setup(client, "Compare Paris and Rome", tools=[WEATHER_TOOL])
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    for expected in ("requires_action", "requires_action"):
        assert run.status == expected
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        run = await aw(
            client.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id,
                thread_id=t.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
            )
        )
    assert run.status == "completed"
    assert all(any(x["type"] == "function" for x in r["tools"]) for r in emulator.requests)
    steps = (
        await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id, order="asc"))
    ).data
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]


async def test_conflicts_follow_the_real_api(client: Any, emulator: Any) -> None:
    emulator.latency = 0.6
    a, t = await setup(client, "hello")
    run = await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    with pytest.raises(openai.BadRequestError) as e:
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    assert f"Thread {t.id} already has an active run {run.id}." in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        await aw(client.beta.threads.messages.create(t.id, role="user", content="more"))
    assert f"Can't add messages to {t.id} while a run {run.id} is active." in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        await aw(
            client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=t.id, tool_outputs=[])
        )
    assert "do not accept tool outputs" in e.value.message
    run = await aw(client.beta.threads.runs.poll(run.id, t.id))
    assert run.status == "completed"
    with pytest.raises(openai.BadRequestError) as e:
        await aw(client.beta.threads.runs.cancel(run.id, thread_id=t.id))
    assert "Cannot cancel run with status 'completed'." in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        await aw(
            client.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
            )
        )
    assert 'Runs in status "completed" do not accept tool outputs.' in e.value.message
    msgs = await collect(client.beta.threads.messages.list(t.id))
    assert len(msgs) == 2  # the rejected message was not stored


async def test_cancel_in_progress_run(client: Any, emulator: Any) -> None:
    emulator.delta_delay = 0.15
    emulator.enqueue(text="one two three four five six seven eight nine ten eleven twelve")
    a, t = await setup(client, "count slowly")
    run = await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    for _ in range(200):
        run = await aw(client.beta.threads.runs.retrieve(run.id, thread_id=t.id))
        if (
            run.status == "in_progress"
            and (await aw(client.beta.threads.messages.list(t.id))).data[0].role == "assistant"
        ):
            break
        await asyncio.sleep(0.02)
    cancelled = await aw(client.beta.threads.runs.cancel(run.id, thread_id=t.id))
    assert cancelled.status == "cancelling"
    run = await aw(client.beta.threads.runs.poll(run.id, t.id))
    assert run.status == "cancelled" and run.cancelled_at is not None
    msg = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    assert msg.role == "assistant" and msg.status == "incomplete"
    assert msg.incomplete_details.reason == "run_cancelled"
    steps = (await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id))).data
    assert steps[0].status == "cancelled"
    # the thread is free again
    await aw(client.beta.threads.messages.create(t.id, role="user", content="next"))


async def test_cancel_while_waiting_for_tool_outputs(client: Any) -> None:
    a, t = await setup(client, "What's the weather in Paris?", tools=[WEATHER_TOOL])
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "requires_action"
    assert (
        await aw(client.beta.threads.runs.cancel(run.id, thread_id=t.id))
    ).status == "cancelling"
    run = await aw(client.beta.threads.runs.poll(run.id, t.id))
    assert run.status == "cancelled" and run.required_action is None
    step = (await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id))).data[0]
    assert step.status == "cancelled"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (500, "server_error", "server_error"),
        (429, "rate_limit_exceeded", "rate_limit_exceeded"),
        (400, "invalid_prompt", "invalid_prompt"),
    ],
)
async def test_upstream_errors_fail_the_run(
    client: Any, emulator: Any, status: int, code: str, expected: str
) -> None:
    emulator.enqueue(status_error=(status, "upstream says no", code))
    a, t = await setup(client, "hello")
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "failed" and run.failed_at is not None
    assert run.last_error.code == expected and "upstream says no" in run.last_error.message
    # the thread is usable again
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "completed"


async def test_error_inside_the_stream_fails_the_run(client: Any, emulator: Any) -> None:
    emulator.enqueue(stream_error=("server_error", "model crashed"))
    a, t = await setup(client, "hello")
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "failed" and run.last_error.code == "server_error"
    assert "model crashed" in run.last_error.message


async def test_incomplete_upstream_makes_an_incomplete_run(client: Any, emulator: Any) -> None:
    emulator.enqueue(incomplete="max_output_tokens")
    a, t = await setup(client, "write a long story")
    run = await aw(
        client.beta.threads.runs.create_and_poll(
            thread_id=t.id, assistant_id=a.id, max_completion_tokens=300
        )
    )
    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert emulator.requests[-1]["max_output_tokens"] == 300
    msg = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    assert msg.status == "incomplete" and msg.incomplete_details.reason == "max_tokens"


async def test_run_parameters_reach_the_request(client: Any, emulator: Any) -> None:
    a = await aw(
        client.beta.assistants.create(model="gpt-4o", instructions="Base.", tools=[WEATHER_TOOL])
    )
    t = await aw(
        client.beta.threads.create(
            messages=[
                {"role": "user", "content": "old one"},
                {"role": "user", "content": "old two"},
            ]
        )
    )
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    run = await aw(
        client.beta.threads.runs.create_and_poll(
            thread_id=t.id,
            assistant_id=a.id,
            model="gpt-4.1",
            additional_instructions="Answer briefly.",
            additional_messages=[{"role": "user", "content": "Summarise in JSON."}],
            temperature=0.2,
            top_p=0.9,
            tool_choice="none",
            parallel_tool_calls=False,
            truncation_strategy={"type": "last_messages", "last_messages": 1},
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "out", "schema": schema, "strict": True},
            },
            metadata={"ticket": "42"},
        )
    )
    assert run.status == "completed", run.last_error
    assert run.model == "gpt-4.1" and run.instructions == "Base.\n\nAnswer briefly."
    assert run.temperature == 0.2 and run.top_p == 0.9 and run.metadata == {"ticket": "42"}
    assert (
        run.truncation_strategy.type == "last_messages"
        and run.truncation_strategy.last_messages == 1
    )
    body = emulator.requests[-1]
    assert body["model"] == "gpt-4.1" and body["instructions"] == "Base.\n\nAnswer briefly."
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["tool_choice"] == "none" and body["parallel_tool_calls"] is False
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}
    }
    assert body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Summarise in JSON."}],
        }
    ]
    msgs = (await aw(client.beta.threads.messages.list(t.id, order="asc"))).data
    assert [m.content[0].text.value for m in msgs[:3]] == [
        "old one",
        "old two",
        "Summarise in JSON.",
    ]
    assert msgs[2].run_id is None
    json.loads(msgs[3].content[0].text.value)  # the answer honours the JSON format


async def test_create_and_run_poll(client: Any, emulator: Any) -> None:
    a = await aw(client.beta.assistants.create(model="gpt-4o"))
    run = await aw(
        client.beta.threads.create_and_run_poll(
            assistant_id=a.id,
            thread={
                "messages": [{"role": "user", "content": "hi from a new thread"}],
                "metadata": {"a": "b"},
            },
        )
    )
    assert run.status == "completed"
    t = await aw(client.beta.threads.retrieve(run.thread_id))
    assert t.metadata == {"a": "b"}
    msgs = await collect(client.beta.threads.messages.list(t.id, run_id=run.id))
    assert len(msgs) == 1 and msgs[0].role == "assistant"


async def test_poll_helper_answers_when_the_run_finishes(client: Any, emulator: Any) -> None:
    emulator.latency = 0.3
    a, t = await setup(client, "hello")
    run = await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    raw = await aw(
        client.beta.threads.runs.with_raw_response.retrieve(
            run.id, thread_id=t.id, extra_headers={"X-Stainless-Poll-Helper": "true"}
        )
    )
    assert raw.headers["openai-poll-after-ms"].isdigit()
    assert raw.parse().status == "completed"  # one request waited for the run


async def test_runs_list_update_and_steps_retrieve(client: Any) -> None:
    a, t = await setup(client, "hello")
    r1 = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    await aw(client.beta.threads.messages.create(t.id, role="user", content="again"))
    r2 = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert [r.id for r in await collect(client.beta.threads.runs.list(t.id))] == [r2.id, r1.id]
    up = await aw(client.beta.threads.runs.update(r1.id, thread_id=t.id, metadata={"rated": "5"}))
    assert up.metadata == {"rated": "5"} and up.status == "completed"
    step = (await aw(client.beta.threads.runs.steps.list(r2.id, thread_id=t.id))).data[0]
    got = await aw(client.beta.threads.runs.steps.retrieve(step.id, thread_id=t.id, run_id=r2.id))
    assert got.to_dict() == step.to_dict()
    with pytest.raises(openai.NotFoundError):
        await aw(client.beta.threads.runs.steps.retrieve(step.id, thread_id=t.id, run_id=r1.id))
    with pytest.raises(openai.NotFoundError) as e:
        await aw(client.beta.threads.runs.retrieve("run_missing", thread_id=t.id))
    assert "No run found with id 'run_missing'." in e.value.message


async def test_expired_run(client: Any) -> None:
    a, t = await setup(client, "What's the weather in Paris?", tools=[WEATHER_TOOL])
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "requires_action"
    store = client.compat_store
    with store.write() as repo:  # ten minutes pass
        body = repo.get("run", run.id)
        body["expires_at"] = body["created_at"] - 1
        repo.save("run", body)
    run = await aw(client.beta.threads.runs.retrieve(run.id, thread_id=t.id))
    assert run.status == "expired"
    with pytest.raises(openai.BadRequestError) as e:
        await aw(
            client.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=t.id, tool_outputs=[{"tool_call_id": "x", "output": "y"}]
            )
        )
    assert 'Runs in status "expired" do not accept tool outputs.' in e.value.message
    step = (await aw(client.beta.threads.runs.steps.list(run.id, thread_id=t.id))).data[0]
    assert step.status == "expired" and step.expired_at is not None


async def test_run_of_a_dead_process_expires_instead_of_locking_the_thread(client: Any) -> None:
    a, t = await setup(client, "hello")
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    with client.compat_store.write() as repo:  # a process died mid-run ten minutes ago
        body = repo.get("run", run.id)
        body.update(status="in_progress", completed_at=None, expires_at=body["created_at"] - 1)
        repo.save("run", body)
    msg = await aw(client.beta.threads.messages.create(t.id, role="user", content="still there?"))
    assert msg.role == "user"
    assert (await aw(client.beta.threads.runs.retrieve(run.id, thread_id=t.id))).status == "expired"
    again = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert again.status == "completed"


async def test_create_and_run_tool_resources_join_the_assistants(
    client: Any, emulator: Any
) -> None:
    a = await aw(
        client.beta.assistants.create(
            model="gpt-4o",
            tools=[{"type": "code_interpreter"}],
            tool_resources={"code_interpreter": {"file_ids": ["file-a"]}},
        )
    )
    run = await aw(
        client.beta.threads.create_and_run_poll(
            assistant_id=a.id,
            thread={"messages": [{"role": "user", "content": "hello"}]},
            tool_resources={"code_interpreter": {"file_ids": ["file-run"]}},
        )
    )
    assert run.status == "completed", run.last_error
    assert run.to_dict()["tool_resources"] == {"code_interpreter": {"file_ids": ["file-run"]}}
    ci = [x for x in emulator.requests[-1]["tools"] if x["type"] == "code_interpreter"][0]
    assert ci["container"]["file_ids"] == ["file-a", "file-run"]


async def test_closing_the_client_does_not_cut_its_runs_short(
    make_client: Any, emulator: Any
) -> None:
    """A script that creates a run and leaves ``with OpenAI() as client:`` (or a request
    handler that closes its client) before the run ends: the real API's run went on and
    completed; here it finishes before close returns (within ``Options.exit_wait``)."""
    first = make_client()
    a = await aw(first.beta.assistants.create(model="gpt-4o"))
    t = await aw(
        first.beta.threads.create(messages=[{"role": "user", "content": "Tell me a story " * 8}])
    )
    emulator.delta_delay = 0.03  # still streaming when the client closes
    run = await aw(first.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    await asyncio.sleep(0.2)
    await aw(first.close())
    emulator.delta_delay = 0.0
    later = make_client()
    run = await aw(later.beta.threads.runs.retrieve(run.id, thread_id=t.id))
    assert run.status == "completed", run.last_error
    reply = (await aw(later.beta.threads.messages.list(t.id, run_id=run.id))).data
    assert reply and reply[0].content[0].text.value.startswith("You said: Tell me a story")
