"""Streaming runs: the SDK's own streams, stream managers and event handlers, fed by
Assistants events translated live from the emulator's Responses stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler

from tests.conftest import aiter_or_iter, aw, collect
from tests.sdk.test_runs import WEATHER_TOOL, setup

pytestmark = pytest.mark.anyio


async def _events(stream: Any) -> list[Any]:
    out = []
    if hasattr(stream, "__aenter__"):
        async with stream as s:
            async for ev in s:
                out.append(ev)
    else:
        with stream as s:
            for ev in s:
                out.append(ev)
    return out


async def test_text_answer_event_order(client: Any, emulator: Any) -> None:
    emulator.enqueue(text="Hello there, friend")
    a, t = await setup(client, "hi")
    events = await _events(
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True))
    )
    names = [e.event for e in events]
    deltas = names.count("thread.message.delta")
    assert deltas >= 2
    assert names == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * deltas,
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    text_deltas = [e.data.delta.content[0] for e in events if e.event == "thread.message.delta"]
    assert all(d.index == 0 and d.type == "text" for d in text_deltas)
    assert text_deltas[0].text.annotations == [] and text_deltas[1].text.annotations is None
    assert "".join(d.text.value for d in text_deltas) == "Hello there, friend"
    final = events[-1].data
    assert final.status == "completed" and final.usage is not None
    # what was streamed is what is stored
    stored = await aw(client.beta.threads.runs.retrieve(final.id, thread_id=t.id))
    assert stored.to_dict() == final.to_dict()
    msg = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    assert (
        msg.to_dict()
        == [e for e in events if e.event == "thread.message.completed"][0].data.to_dict()
    )


async def test_handler_streams_tokens_and_submits_inside_the_handler(
    make_client: Any, client_kind: str
) -> None:
    client = make_client()
    a, t = await setup(client, "What's the weather in Paris in celsius?", tools=[WEATHER_TOOL])
    log: list[str] = []
    tokens: list[str] = []

    if client_kind == "sync":

        class Inner(AssistantEventHandler):
            def on_text_delta(self, delta: Any, snapshot: Any) -> None:
                tokens.append(delta.value)

        class Handler(AssistantEventHandler):
            def on_event(self, event: Any) -> None:
                log.append(event.event)
                if event.event == "thread.run.requires_action":
                    calls = event.data.required_action.submit_tool_outputs.tool_calls
                    with client.beta.threads.runs.submit_tool_outputs_stream(
                        thread_id=self.current_run.thread_id,
                        run_id=self.current_run.id,
                        tool_outputs=[
                            {"tool_call_id": c.id, "output": '{"temperature": 21}'} for c in calls
                        ],
                        event_handler=Inner(),
                    ) as stream:
                        stream.until_done()

            def on_tool_call_created(self, tool_call: Any) -> None:
                log.append(f"tool:{tool_call.function.name}")

        with client.beta.threads.runs.stream(
            thread_id=t.id, assistant_id=a.id, event_handler=Handler()
        ) as stream:
            stream.until_done()
    else:

        class AInner(AsyncAssistantEventHandler):
            async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
                tokens.append(delta.value)

        class AHandler(AsyncAssistantEventHandler):
            async def on_event(self, event: Any) -> None:
                log.append(event.event)
                if event.event == "thread.run.requires_action":
                    calls = event.data.required_action.submit_tool_outputs.tool_calls
                    async with client.beta.threads.runs.submit_tool_outputs_stream(
                        thread_id=self.current_run.thread_id,
                        run_id=self.current_run.id,
                        tool_outputs=[
                            {"tool_call_id": c.id, "output": '{"temperature": 21}'} for c in calls
                        ],
                        event_handler=AInner(),
                    ) as stream:
                        await stream.until_done()

            async def on_tool_call_created(self, tool_call: Any) -> None:
                log.append(f"tool:{tool_call.function.name}")

        async with client.beta.threads.runs.stream(
            thread_id=t.id, assistant_id=a.id, event_handler=AHandler()
        ) as stream:
            await stream.until_done()

    assert "tool:get_weather" in log and log[-1] == "thread.run.requires_action"
    assert len(tokens) > 1 and "21" in "".join(tokens)
    runs = await collect(client.beta.threads.runs.list(t.id))
    assert [r.status for r in runs] == ["completed"]


async def test_streamed_run_matches_a_polled_run(client: Any, emulator: Any) -> None:
    async def conversation(stream: bool) -> tuple[list[Any], Any]:
        emulator.enqueue(text="Same answer both ways")
        a, t = await setup(client, "compare me")
        if stream:
            mgr = client.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id)
            if hasattr(mgr, "__aenter__"):
                async with mgr as s:
                    await s.until_done()
                    final_run = await s.get_final_run()
            else:
                with mgr as s:
                    s.until_done()
                    final_run = s.get_final_run()
        else:
            final_run = await aw(
                client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
            )
        msgs = await collect(client.beta.threads.messages.list(t.id, order="asc"))
        steps = await collect(client.beta.threads.runs.steps.list(final_run.id, thread_id=t.id))
        return [m.content[0].text.value for m in msgs] + [s.type for s in steps], final_run

    streamed, srun = await conversation(True)
    polled, prun = await conversation(False)
    assert streamed == polled
    assert srun.status == prun.status == "completed" and srun.usage == prun.usage


async def test_create_and_run_stream_starts_with_the_thread(client: Any, emulator: Any) -> None:
    a = await aw(client.beta.assistants.create(model="gpt-4o"))
    mgr = client.beta.threads.create_and_run_stream(
        assistant_id=a.id, thread={"messages": [{"role": "user", "content": "hey"}]}
    )
    events = await _events(mgr)
    assert events[0].event == "thread.created" and events[1].event == "thread.run.created"
    assert events[-1].event == "thread.run.completed"
    assert events[0].data.id == events[-1].data.thread_id


async def test_code_interpreter_stream_has_step_deltas(client: Any, emulator: Any) -> None:
    a, t = await setup(
        client, "Write python code to check if 7 is prime", tools=[{"type": "code_interpreter"}]
    )
    events = await _events(
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True))
    )
    names = [e.event for e in events]
    assert names[-1] == "thread.run.completed"
    step_deltas = [
        e.data.delta.step_details.tool_calls[0]
        for e in events
        if e.event == "thread.run.step.delta"
    ]
    assert step_deltas[0].id.startswith("call_") and step_deltas[0].type == "code_interpreter"
    code = "".join(d.code_interpreter.input or "" for d in step_deltas if d.code_interpreter)
    assert code.strip()
    done = [e.data for e in events if e.event == "thread.run.step.completed"]
    ci = done[0].step_details.tool_calls[0].code_interpreter
    assert ci.input == code and [o.type for o in ci.outputs] == ["logs"]
    assert names.index("thread.run.step.completed") < names.index("thread.message.created")


async def test_failure_inside_a_stream(client: Any, emulator: Any) -> None:
    emulator.enqueue(stream_error=("server_error", "boom"))
    a, t = await setup(client, "hi")
    events = await _events(
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True))
    )
    assert events[-1].event == "thread.run.failed"
    assert (
        events[-1].data.last_error.code == "server_error"
        and "boom" in events[-1].data.last_error.message
    )


async def test_connection_dropped_mid_stream_fails_the_run(client: Any, emulator: Any) -> None:
    """A connection the network drops mid-answer ends the run as thread.run.failed with
    last_error, whichever HTTP library the SDK uses (httpx raises its own error bare)."""
    emulator.enqueue(text="alpha beta gamma delta epsilon", disconnect_after=6)
    a, t = await setup(client, "hi")
    events = await _events(
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True))
    )
    assert [e.event for e in events if e.event == "error"] == []
    assert events[-1].event == "thread.run.failed"
    assert events[-1].data.last_error.code == "server_error"
    run = await aw(client.beta.threads.runs.retrieve(thread_id=t.id, run_id=events[-1].data.id))
    assert run.status == "failed"
    # polled runs end the same way, and the thread goes on
    emulator.enqueue(text="alpha beta gamma", disconnect_after=6)
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "failed" and run.last_error.code == "server_error"
    run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
    assert run.status == "completed"


async def test_tokens_are_forwarded_as_they_arrive(client: Any, emulator: Any) -> None:
    emulator.delta_delay = 0.2
    emulator.enqueue(text="alpha beta gamma delta epsilon")
    a, t = await setup(client, "slow please")
    stream = await aw(
        client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True)
    )
    seen_first_at_status = None
    async for ev in aiter_or_iter(stream):
        if ev.event == "thread.message.delta":
            seen_first_at_status = (await aw(client.beta.threads.runs.list(t.id))).data[0].status
            break
    # the first token reached us while the upstream was still producing the answer
    assert seen_first_at_status == "in_progress"
    await aw(stream.close())


async def test_consumer_leaving_early_does_not_strand_the_run(client: Any, emulator: Any) -> None:
    emulator.delta_delay = 0.05
    emulator.enqueue(text="one two three four five six")
    a, t = await setup(client, "go")
    stream = await aw(
        client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True)
    )
    run_id = None
    async for ev in aiter_or_iter(stream):
        if ev.event == "thread.run.created":
            run_id = ev.data.id
        if ev.event == "thread.message.delta":
            break
    await aw(stream.close())
    run = await aw(client.beta.threads.runs.poll(run_id, t.id))
    assert run.status == "completed"
    msg = (await aw(client.beta.threads.messages.list(t.id))).data[0]
    assert msg.content[0].text.value == "one two three four five six"


async def test_requires_action_stream_then_raw_submit_stream(client: Any, emulator: Any) -> None:
    a, t = await setup(client, "What's the weather in Paris?", tools=[WEATHER_TOOL])
    first = await _events(
        await aw(client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True))
    )
    names = [e.event for e in first]
    assert names[-1] == "thread.run.requires_action" and "thread.run.step.completed" not in names
    opened = [e for e in first if e.event == "thread.run.step.delta"][
        0
    ].data.delta.step_details.tool_calls[0]
    assert (
        opened.id.startswith("call")
        and opened.function.name == "get_weather"
        and opened.function.arguments == ""
    )
    run = first[-1].data
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert json.loads(call.function.arguments)["location"] == "Paris"
    second = await _events(
        await aw(
            client.beta.threads.runs.submit_tool_outputs(
                run.id,
                thread_id=t.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "cloudy"}],
                stream=True,
            )
        )
    )
    names2 = [e.event for e in second]
    assert names2[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert second[0].data.step_details.tool_calls[0].function.output == "cloudy"
    assert names2[-1] == "thread.run.completed"


async def test_internal_fault_reaches_the_stream_as_api_error(
    client: Any, monkeypatch: Any
) -> None:
    import openai

    from compat._engine.machine import RunMachine

    def broken(self: Any, ev: Any, now: int) -> Any:
        if ev.get("type") == "response.output_text.delta":
            raise KeyError("bug")
        return original(self, ev, now)

    original = RunMachine.feed
    monkeypatch.setattr(RunMachine, "feed", broken)
    a, t = await setup(client, "hi")
    stream = await aw(
        client.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id, stream=True)
    )
    with pytest.raises(openai.APIError) as e:
        async for _ in aiter_or_iter(stream):
            pass
    assert "server had an error" in str(e.value)
    run = (await aw(client.beta.threads.runs.list(t.id))).data[0]
    assert run.status == "failed" and run.last_error.code == "server_error"


async def test_handler_snapshots_accumulate_to_the_stored_step(
    make_client: Any, client_kind: str
) -> None:
    client = make_client()
    a, t = await setup(
        client, "Write python code to check if 7 is prime", tools=[{"type": "code_interpreter"}]
    )
    created: list[Any] = []
    if client_kind == "sync":

        class H(AssistantEventHandler):
            def on_tool_call_created(self, tool_call: Any) -> None:
                created.append(tool_call)

        with client.beta.threads.runs.stream(
            thread_id=t.id, assistant_id=a.id, event_handler=H()
        ) as s:
            s.until_done()
            steps = s.get_final_run_steps()
    else:

        class AH(AsyncAssistantEventHandler):
            async def on_tool_call_created(self, tool_call: Any) -> None:
                created.append(tool_call)

        async with client.beta.threads.runs.stream(
            thread_id=t.id, assistant_id=a.id, event_handler=AH()
        ) as s:
            await s.until_done()
            steps = await s.get_final_run_steps()
    stored = await collect(
        client.beta.threads.runs.steps.list(steps[0].run_id, thread_id=t.id, order="asc")
    )
    call = stored[0].step_details.tool_calls[0]
    assert len(created) == 1 and created[0].id == call.id and created[0].type == "code_interpreter"
    # the SDK accumulates step snapshots from created + deltas (it does not apply .completed):
    # what the deltas built must be exactly what was stored
    built = steps[0].step_details.tool_calls[0]
    assert built.id == call.id and built.code_interpreter.input == call.code_interpreter.input
    assert [o.logs for o in built.code_interpreter.outputs] == [
        o.logs for o in call.code_interpreter.outputs
    ]


async def test_create_and_stream_alias(client: Any, emulator: Any) -> None:
    emulator.enqueue(text="via the older helper")
    a, t = await setup(client, "hello")
    mgr = client.beta.threads.runs.create_and_stream(thread_id=t.id, assistant_id=a.id)
    if hasattr(mgr, "__aenter__"):
        async with mgr as s:
            text = "".join([d async for d in s.text_deltas])
            final = await s.get_final_messages()
    else:
        with mgr as s:
            text = "".join(s.text_deltas)
            final = s.get_final_messages()
    assert text == "via the older helper"
    assert final[0].content[0].text.value == text


@pytest.fixture
def slow_to_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """The segment that asked for tool outputs is slow to wind down after saving that (a
    loaded machine, a busy store thread): 0.3 s before it lets go of the run, and 0.3 s
    after saving its last change. What a reader does the moment it sees requires_action
    must not depend on that."""
    from compat._engine import driver, runner

    release, apply = runner.Runner.release, driver.Segment.apply

    def slow_release(self: Any, run_id: str, token: object) -> None:
        time.sleep(0.3)
        release(self, run_id, token)

    def slow_apply(self: Any, effects: Any) -> None:
        apply(self, effects)
        if self.finished:
            time.sleep(0.3)

    monkeypatch.setattr(runner.Runner, "release", slow_release)
    monkeypatch.setattr(driver.Segment, "apply", slow_apply)


async def test_submitting_the_moment_the_run_asks_never_stalls(
    make_client: Any, client_kind: str, slow_to_let_go: None
) -> None:
    """Tool outputs submitted from inside the stream handler, and by a poller, as soon as
    requires_action shows: the next segment runs at once (once, no segment was left to
    nobody and the stream never hung)."""

    async def both() -> None:
        await test_handler_streams_tokens_and_submits_inside_the_handler(make_client, client_kind)
        client = make_client()
        a, t = await setup(client, "What's the weather in Paris?", tools=[WEATHER_TOOL])
        run = await aw(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id))
        assert run.status == "requires_action"
        calls = run.required_action.submit_tool_outputs.tool_calls
        run = await aw(
            client.beta.threads.runs.submit_tool_outputs_and_poll(
                thread_id=t.id,
                run_id=run.id,
                tool_outputs=[{"tool_call_id": c.id, "output": "21 C"} for c in calls],
                poll_interval_ms=50,
            )
        )
        assert run.status == "completed"

    t0 = time.monotonic()
    await asyncio.wait_for(both(), timeout=30)
    assert time.monotonic() - t0 < 10  # not the 20 s a lapsed lease would take
