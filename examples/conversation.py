"""Persistent conversation: the tutorial's two-turn thread, unchanged except for the import.

``send_message_and_get_response`` adds a user message, runs the assistant, polls until the run
finishes and returns the newest assistant message. The second turn ("What was my name
again? ...") is answered from the thread's history of the first ("My name is Alex ...").

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/conversation.py
    # or: python -m compat.cli offline examples/conversation.py

Against the real API::

    OPENAI_API_KEY=sk-... python examples/conversation.py
"""

import time

from compat import OpenAI

client = OpenAI()

# Create an assistant for our persistent conversation
conversation_assistant = client.beta.assistants.create(
    name="Conversation Assistant",
    instructions="You are a helpful assistant that remembers previous parts of the conversation.",
    model="gpt-4o",
)

# Create a thread that will persist throughout the conversation
persistent_thread = client.beta.threads.create()


# Function to send a message and get the response
def send_message_and_get_response(thread_id, assistant_id, message_content):
    # Add the user's message to the thread
    client.beta.threads.messages.create(thread_id=thread_id, role="user", content=message_content)

    # Run the assistant on the thread
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)

    # Wait for the run to complete
    while run.status == "queued" or run.status == "in_progress":
        time.sleep(1)
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run.id)

    # Get the latest message from the assistant
    messages = client.beta.threads.messages.list(thread_id=thread_id)

    # Return the assistant's response
    for message in messages.data:
        if message.role == "assistant":
            return message.content[0].text.value

    return "No response received."


# First message in the conversation
response1 = send_message_and_get_response(
    persistent_thread.id, conversation_assistant.id, "My name is Alex and I'm learning about AI."
)
print(f"Response 1: {response1}")

# Second message, building on the context of the first
response2 = send_message_and_get_response(
    persistent_thread.id,
    conversation_assistant.id,
    "What was my name again? And what am I learning about?",
)
print(f"Response 2: {response2}")
