"""Async two-turn chat with ``compat.AsyncOpenAI``: one polled turn, one streamed turn.

Turn 1 ("My name is Alex and I'm learning about AI.") uses ``runs.create_and_poll`` and reads
the answer from ``messages.list``; turn 2 ("What was my name again? ...") streams the answer
with ``async with client.beta.threads.runs.stream(...)`` and ``stream.text_deltas``.

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/async_chat.py
    # or: python -m compat.cli offline examples/async_chat.py

Against the real API::

    OPENAI_API_KEY=sk-... python examples/async_chat.py
"""

from __future__ import annotations

import asyncio

from compat import AsyncOpenAI


async def main() -> None:
    client = AsyncOpenAI()
    assistant = await client.beta.assistants.create(
        name="Conversation Assistant",
        instructions=(
            "You are a helpful assistant that remembers previous parts of the conversation."
        ),
        model="gpt-4o",
    )
    thread = await client.beta.threads.create()

    # Turn 1: create the run and poll it until it finishes.
    await client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="My name is Alex and I'm learning about AI."
    )
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    print(f"Run 1 status: {run.status}")
    messages = await client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
    for message in messages.data:
        if message.role == "assistant":
            print(f"Response 1: {message.content[0].text.value}")

    # Turn 2: stream the answer token by token.
    await client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="What was my name again? And what am I learning about?",
    )
    print("Response 2: ", end="", flush=True)
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        async for text in stream.text_deltas:
            print(text, end="", flush=True)
        run = await stream.get_final_run()
    print()
    print(f"Run 2 status: {run.status}")


asyncio.run(main())
