"""Quickstart: the tutorial's "General Knowledge Assistant", unchanged except for the import.

Creates an assistant, a thread and a message ("What are the major planets in our solar
system?"), starts a run, polls it with ``time.sleep(1)`` until it leaves queued/in_progress,
then prints the assistant's answer from ``messages.list``.

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/quickstart.py
    # or: python -m compat.cli offline examples/quickstart.py

Against the real API (the store defaults to a local SQLite file; set COMPAT_DATABASE_URL to
choose another)::

    OPENAI_API_KEY=sk-... python examples/quickstart.py
"""
# ruff: noqa: E402

from compat import OpenAI

# Environment variables configure the client:
# export OPENAI_API_KEY=your_api_key_here
# export OPENAI_BASE_URL=https://your-custom-endpoint.com/v1
client = OpenAI()

# Step 1: Create an Assistant
# Create a new assistant
assistant = client.beta.assistants.create(
    name="General Knowledge Assistant",
    instructions="You are a helpful assistant that answers general knowledge questions.",
    model="gpt-4o",
)

print(f"Assistant created with ID: {assistant.id}")

# Step 2: Create a Thread
# Create a new thread
thread = client.beta.threads.create()
print(f"Thread created with ID: {thread.id}")

# Step 3: Add a Message to the Thread
# Add a message to the thread
message = client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="What are the major planets in our solar system?"
)

print(f"Message added to thread: {message.id}")

# Step 4: Run the Assistant on the Thread
# Run the assistant on the thread
run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

print(f"Run created with ID: {run.id}")

# Step 5: Check Run Status
import time

# Wait for the run to complete
while run.status == "queued" or run.status == "in_progress":
    time.sleep(1)
    run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    print(f"Run status: {run.status}")

# Step 6: Retrieve Response
# Retrieve the messages from the thread
messages = client.beta.threads.messages.list(thread_id=thread.id)

# Display the assistant's response
for message in messages.data:
    if message.role == "assistant":
        print(f"Assistant: {message.content[0].text.value}")
