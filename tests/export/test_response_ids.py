"""``compat.response_ids``: the Responses response ids a run used, so an app can mix native
calls (``responses.retrieve``, ``previous_response_id``) with compat threads."""

from __future__ import annotations

from typing import Any

import openai
import pytest

import compat
from compat.testing import ResponsesEmulator
from tests.conftest import aw

pytestmark = pytest.mark.anyio

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


async def test_response_ids_name_the_runs_upstream_responses(
    make_client: Any, emulator: ResponsesEmulator, db_url: str
) -> None:
    # upstream_store: the responses are kept upstream, so native calls can read them
    client = make_client(compat_options=compat.Options(upstream_store=True))
    assistant = await aw(client.beta.assistants.create(model="gpt-4.1", tools=[WEATHER_TOOL]))
    thread = await aw(
        client.beta.threads.create(
            messages=[{"role": "user", "content": "My name is Ada. Weather in Paris?"}]
        )
    )
    run = await aw(
        client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    )
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = await aw(
        client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "Sunny"}],
        )
    )

    ids = compat.response_ids(client, thread.id, run.id)

    assert len(ids) == 2 and all(i.startswith("resp_") for i in ids)  # one per model call
    assert compat.response_ids(db_url, thread.id, run.id) == ids  # a database URL works too
    assert compat.response_ids(client.compat_store, thread.id, run.id) == ids
    native = openai.OpenAI(base_url=emulator.base_url, api_key="sk-test", max_retries=0)
    first, last = (native.responses.retrieve(i) for i in ids)
    assert first.output[0].type == "function_call"
    messages = await aw(client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id))
    assert last.output_text == messages.data[0].content[0].text.value
    # A native call continues from the run's last response.
    answer = native.responses.create(
        model="gpt-4.1", previous_response_id=ids[-1], input="What is my name?"
    )
    assert answer.output_text == "Your name is Ada."
    native.close()

    with pytest.raises(LookupError, match="No run found with id 'run_nope'"):
        compat.response_ids(client, thread.id, "run_nope")
    other = await aw(client.beta.threads.create())
    with pytest.raises(LookupError):  # the run belongs to another thread
        compat.response_ids(client, other.id, run.id)
