"""Streaming chat with an ``AssistantEventHandler``: tokens as they arrive, tools mid-stream.

A weather assistant (one ``get_weather`` function tool) is asked "What's the weather in Tokyo
in celsius?" with ``client.beta.threads.runs.stream(...)``. The handler prints text tokens as
they arrive (``on_text_created`` / ``on_text_delta``), announces tool calls
(``on_tool_call_created``) and, on ``thread.run.requires_action``, submits the tool outputs
from inside the handler with ``submit_tool_outputs_stream(..., event_handler=EventHandler())``
so the answer keeps streaming. A plain follow-up question is streamed on the same thread.
After each turn the final run's status is printed.

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/streaming_chat.py
    # or: python -m compat.cli offline examples/streaming_chat.py

Against the real API::

    OPENAI_API_KEY=sk-... python examples/streaming_chat.py
"""

from __future__ import annotations

import json

from openai import AssistantEventHandler

from compat import OpenAI

client = OpenAI()


def get_weather(location: str, unit: str = "fahrenheit") -> dict:
    """A fixed sample reading (see examples/weather.py for a live OpenWeather version)."""
    return {
        "temperature": 22.79,
        "unit": unit,
        "description": "broken clouds",
        "humidity": 34,
        "location": location,
    }


class EventHandler(AssistantEventHandler):
    """Prints the assistant's tokens; answers function calls while the run streams."""

    def __init__(self) -> None:
        super().__init__()
        # After a tool-output round trip: the run as the nested stream left it.
        self.run_after_tools = None

    def on_text_created(self, text) -> None:
        print("\nassistant > ", end="", flush=True)

    def on_text_delta(self, delta, snapshot) -> None:
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call) -> None:
        name = tool_call.function.name if tool_call.type == "function" else tool_call.type
        print(f"\nassistant > tool call: {name}", end="", flush=True)

    def on_event(self, event) -> None:
        if event.event != "thread.run.requires_action":
            return
        run = event.data
        tool_outputs = []
        for tool_call in run.required_action.submit_tool_outputs.tool_calls:
            if tool_call.function.name == "get_weather":
                args = json.loads(tool_call.function.arguments)
                print(f"({args})", end="", flush=True)
                weather = get_weather(args["location"], args.get("unit", "fahrenheit"))
                tool_outputs.append({"tool_call_id": tool_call.id, "output": json.dumps(weather)})
        # Submit from inside the handler; a new handler streams the rest of the run.
        handler = EventHandler()
        with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=run.thread_id,
            run_id=run.id,
            tool_outputs=tool_outputs,
            event_handler=handler,
        ) as stream:
            stream.until_done()
        self.run_after_tools = handler.run_after_tools or stream.get_final_run()


def ask(thread_id: str, assistant_id: str, question: str) -> None:
    """Add ``question`` to the thread and stream the assistant's answer."""
    print(f"\nuser > {question}", end="", flush=True)
    client.beta.threads.messages.create(thread_id=thread_id, role="user", content=question)
    handler = EventHandler()
    with client.beta.threads.runs.stream(
        thread_id=thread_id,
        assistant_id=assistant_id,
        event_handler=handler,
    ) as stream:
        stream.until_done()
    # This stream ends at requires_action when the run called a tool; the nested one finished it.
    run = handler.run_after_tools or stream.get_final_run()
    print(f"\n[run {run.id}: {run.status}]")


assistant = client.beta.assistants.create(
    name="Streaming Weather Assistant",
    instructions="You are a helpful assistant. Use get_weather for weather questions.",
    model="gpt-4o-mini",
    tools=[
        {
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
    ],
)
thread = client.beta.threads.create()

ask(thread.id, assistant.id, "What's the weather in Tokyo in celsius?")
ask(thread.id, assistant.id, "Thanks! Should I take an umbrella?")
