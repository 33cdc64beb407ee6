"""Function calling: the tutorial's weather assistant, unchanged except for the import.

An assistant with ``code_interpreter`` and a ``get_weather`` function tool is asked "What's
the weather in Paris in celsius?"; the tutorial's ``while True`` loop answers the run's
``requires_action`` with ``submit_tool_outputs`` and the final messages are printed.

``get_weather`` calls OpenWeather (with ``requests``) only when ``WEATHER_API_KEY`` is set;
otherwise it returns a fixed sample reading, so the example needs no weather account.

Offline (bundled Responses API emulator, local SQLite store)::

    assistants-compat offline examples/weather.py
    # or: python -m compat.cli offline examples/weather.py

Against the real API (add ``WEATHER_API_KEY=...`` for live weather; needs ``pip install
requests``)::

    OPENAI_API_KEY=sk-... python examples/weather.py
"""
# ruff: noqa: E501

import json
import os
import time

from compat import OpenAI

client = OpenAI()


# --- Weather Tool Implementation ---
def get_weather(location: str, unit: str = "fahrenheit"):
    api_key = os.environ.get("WEATHER_API_KEY")
    if not api_key:
        # No OpenWeather key: a fixed sample reading.
        return {
            "temperature": 22.79,
            "unit": unit,
            "description": "broken clouds",
            "humidity": 34,
            "location": location,
        }
    import requests

    # It's the API Endpoint from the provider
    url = "https://api.openweathermap.org/data/2.5/weather"
    params = {
        "q": location,
        "appid": api_key,
        "units": "imperial" if unit == "fahrenheit" else "metric",
    }

    try:
        response = requests.get(url, params=params, timeout=30)
        response.raise_for_status()
        data = response.json()
        return {
            "temperature": data["main"]["temp"],
            "unit": unit,
            "description": data["weather"][0]["description"],
            "humidity": data["main"]["humidity"],
            "location": location,
        }
    except Exception as e:
        return {"error": str(e)}


tools = [
    {"type": "code_interpreter"},
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
    },
]

assistant = client.beta.assistants.create(
    name="Python Coding & Weather Assistant",
    instructions="You are a helpful assistant that can write and execute Python code and fetch weather.",
    model="gpt-4o-mini",
    tools=tools,
)

thread = client.beta.threads.create()
client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="What's the weather in Paris in celsius?"
)

run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

while True:
    run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    if run.status == "completed":
        break
    elif run.status == "requires_action":
        tool_calls = run.required_action.submit_tool_outputs.tool_calls
        tool_outputs = []
        for tool_call in tool_calls:
            if tool_call.function.name == "get_weather":
                args = json.loads(tool_call.function.arguments)
                weather_data = get_weather(
                    location=args.get("location"), unit=args.get("unit", "fahrenheit")
                )
                tool_outputs.append(
                    {"tool_call_id": tool_call.id, "output": json.dumps(weather_data)}
                )
        client.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id, run_id=run.id, tool_outputs=tool_outputs
        )
    else:
        time.sleep(1)

messages = client.beta.threads.messages.list(thread_id=thread.id)
for message in messages.data:
    if message.role == "assistant":
        print(f"Assistant: {message.content[0].text.value}")
