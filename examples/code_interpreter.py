"""Code interpreter: the tutorial's "Python Coding Assistant", unchanged except for the import.

An assistant with ``tools=[{"type": "code_interpreter"}]`` is asked for a prime-checking
function; the run is polled with the tutorial's ``while run.status != "completed"`` loop (with
its placeholder ``requires_action`` branch) and the assistant's answer — a fenced python code
block — is printed.

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/code_interpreter.py
    # or: python -m compat.cli offline examples/code_interpreter.py

Against the real API::

    OPENAI_API_KEY=sk-... python examples/code_interpreter.py
"""
# ruff: noqa: E501

import time

from compat import OpenAI

client = OpenAI()

# Create an assistant with code interpreter capability
code_assistant = client.beta.assistants.create(
    name="Python Coding Assistant",
    instructions="You are a helpful assistant that can write and execute Python code to solve problems.",
    model="gpt-4o",
    tools=[{"type": "code_interpreter"}],
)

# Create a thread for this assistant
thread = client.beta.threads.create()

# Ask a coding-related question
message = client.beta.threads.messages.create(
    thread_id=thread.id,
    role="user",
    content="Can you create a simple python function to check if a number is prime?",
)

# Run the assistant
run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=code_assistant.id)

# Wait for completion
while run.status != "completed":
    time.sleep(1)
    run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)

    # If the run requires action (e.g., for function execution), we'd handle that here
    if run.status == "requires_action":
        # Handle tool actions (not shown in this basic example)
        pass

# Get the response
messages = client.beta.threads.messages.list(thread_id=thread.id)
for message in messages.data:
    if message.role == "assistant":
        print(f"Assistant: {message.content[0].text.value}")
