"""Exact `responses.create` bodies built by compat._translate.request / tools / context.

Every body-building case is listed in `BODIES`; test_request_schema.py validates each one
against the official CreateResponse schema. No I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from compat._translate.context import BudgetExhausted, estimate_tokens, select_history
from compat._translate.request import (
    TurnInput,
    is_reasoning_model,
    to_input_items,
    to_response_request,
    translate_entries,
)
from compat._translate.tools import (
    function_tool_call,
    required_action_from_calls,
    to_response_tool_choice,
    to_response_tools,
    to_text_format,
)

# --- builders of Assistants wire dicts ------------------------------------------------------------

_seq = iter(range(10**6))


def text(value: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def image_file(file_id: str, detail: str | None = None) -> dict[str, Any]:
    return {"type": "image_file", "image_file": {"file_id": file_id, "detail": detail}}


def image_url(url: str, detail: str | None = None) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def message(role: str, *content: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    n = next(_seq)
    return {
        "id": f"msg_{n:024d}",
        "object": "thread.message",
        "created_at": 1_700_000_000 + n,
        "thread_id": "thread_1",
        "role": role,
        "content": list(content),
        "assistant_id": "asst_1" if run_id else None,
        "run_id": run_id,
        "attachments": [],
        "status": "completed" if run_id else None,
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
        "metadata": {},
    }


def user(value: str, *more: dict[str, Any]) -> dict[str, Any]:
    return message("user", text(value), *more)


def assistant(value: str, run_id: str = "run_0") -> dict[str, Any]:
    return message("assistant", text(value), run_id=run_id)


def fn(call_id: str, name: str, arguments: str, output: str | None) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments, "output": output},
    }


def step(*tool_calls: dict[str, Any], run_id: str, status: str = "completed") -> dict[str, Any]:
    n = next(_seq)
    return {
        "id": f"step_{n:024d}",
        "object": "thread.run.step",
        "created_at": 1_700_000_000 + n,
        "run_id": run_id,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "type": "tool_calls",
        "status": status,
        "step_details": {"type": "tool_calls", "tool_calls": list(tool_calls)},
        "usage": None,
    }


def message_step(message_id: str, run_id: str) -> dict[str, Any]:
    return {
        "id": f"step_{next(_seq):024d}",
        "object": "thread.run.step",
        "run_id": run_id,
        "type": "message_creation",
        "status": "completed",
        "step_details": {
            "type": "message_creation",
            "message_creation": {"message_id": message_id},
        },
    }


WEATHER_PARAMS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {
            "type": "string",
            "description": "The city and state, e.g., San Francisco, CA",
        },
        "unit": {"type": "string", "enum": ["Celsius", "Fahrenheit"]},
    },
    "required": ["location", "unit"],
}
GET_TEMPERATURE: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_current_temperature",
        "description": "Get the current temperature for a specific location",
        "parameters": WEATHER_PARAMS,
    },
}
GET_RAIN: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_rain_probability",
        "description": "Get the probability of rain for a specific location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
        "strict": None,
    },
}
GET_WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
        "strict": None,
    },
}
OUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}


def turn(**overrides: Any) -> TurnInput:
    base: TurnInput = {
        "model": "gpt-4.1",
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "response_format": "auto",
        "temperature": None,
        "top_p": None,
        "reasoning_effort": None,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "metadata": {},
        "code_interpreter_file_ids": [],
        "file_search_vector_store_ids": [],
        "history": [],
        "first_turn": True,
        "prompt_tokens_used": 0,
        "completion_tokens_used": 0,
        "store": False,
        "previous_response_id": None,
        "previous_response_ord": None,
    }
    base.update(overrides)  # type: ignore[typeddict-item]
    return base


def user_item(value: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": value}]}


def assistant_item(value: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": value}


def call_item(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def output_item(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


# --- the OpenAI function-calling tutorial (weather) -----------------------------------------------


def case_weather_tutorial() -> dict[str, Any]:
    return to_response_request(
        turn(
            model="gpt-4o",
            instructions="You are a weather bot. Use the provided functions to answer questions.",
            tools=[GET_TEMPERATURE, GET_RAIN],
            history=[
                user("What's the weather in San Francisco today and the likelihood it'll rain?")
            ],
        )
    )


def test_weather_tutorial_exact_body() -> None:
    assert case_weather_tutorial() == {
        "model": "gpt-4o",
        "instructions": "You are a weather bot. Use the provided functions to answer questions.",
        "input": [
            user_item("What's the weather in San Francisco today and the likelihood it'll rain?")
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_current_temperature",
                "description": "Get the current temperature for a specific location",
                "parameters": WEATHER_PARAMS,
                "strict": False,  # absent in Assistants: non-strict (no additionalProperties)
            },
            {
                "type": "function",
                "name": "get_rain_probability",
                "description": "Get the probability of rain for a specific location",
                "parameters": GET_RAIN["function"]["parameters"],
                "strict": False,  # null in Assistants
            },
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "truncation": "auto",
        "store": False,
    }


def weather_history() -> list[dict[str, Any]]:
    """The tutorial's thread once both functions answered."""
    return [
        user("What's the weather in San Francisco today and the likelihood it'll rain?"),
        step(
            fn("call_t", "get_current_temperature", '{"location":"SF","unit":"Fahrenheit"}', "57"),
            fn("call_r", "get_rain_probability", '{"location":"SF"}', "0.06"),
            run_id="run_1",
        ),
    ]


def test_weather_tutorial_second_turn_replays_calls_and_outputs() -> None:
    history = weather_history()
    body = to_response_request(
        turn(tools=[GET_TEMPERATURE, GET_RAIN], history=history, first_turn=False)
    )
    assert body["input"][1:] == [
        call_item("call_t", "get_current_temperature", '{"location":"SF","unit":"Fahrenheit"}'),
        call_item("call_r", "get_rain_probability", '{"location":"SF"}'),
        output_item("call_t", "57"),
        output_item("call_r", "0.06"),
    ]


# --- responses-mapping §9 worked example ----------------------------------------------------------

SECTION9_TOOLS = [GET_WEATHER, {"type": "code_interpreter"}, {"type": "file_search"}]
SECTION9_RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "out", "schema": OUT_SCHEMA, "strict": True},
}


def section9_history() -> list[dict[str, Any]]:
    answer = assistant("The chart shows sales; Oslo is 4°C and rainy.", run_id="run_1")
    return [
        user("What is in this chart? And the weather in Oslo?", image_file("file-IMG")),
        step(fn("call_abc", "get_weather", '{"location":"Oslo"}', "4°C, rain"), run_id="run_1"),
        message_step(answer["id"], "run_1"),
        answer,
        user("Summarise in JSON."),
    ]


def section9_turn(**overrides: Any) -> TurnInput:
    values: dict[str, Any] = {
        "model": "gpt-4.1",
        "instructions": "You are a data helper.\n\nAnswer briefly.",
        "tools": SECTION9_TOOLS,
        "tool_choice": "auto",
        "response_format": SECTION9_RESPONSE_FORMAT,
        "max_completion_tokens": 1000,
        "code_interpreter_file_ids": ["file-A"],
        "file_search_vector_store_ids": ["vs_1"],
        "history": section9_history(),
    }
    values.update(overrides)
    return turn(**values)


SECTION9_INPUT = [
    {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is in this chart? And the weather in Oslo?"},
            {"type": "input_image", "file_id": "file-IMG", "detail": "auto"},
        ],
    },
    call_item("call_abc", "get_weather", '{"location":"Oslo"}'),
    output_item("call_abc", "4°C, rain"),
    assistant_item("The chart shows sales; Oslo is 4°C and rainy."),
    user_item("Summarise in JSON."),
]
SECTION9_BODY: dict[str, Any] = {
    "model": "gpt-4.1",
    "instructions": "You are a data helper.\n\nAnswer briefly.",
    "input": SECTION9_INPUT,
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": GET_WEATHER["function"]["parameters"],
            "strict": False,
        },
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-A"]}},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "text": {
        "format": {"type": "json_schema", "name": "out", "schema": OUT_SCHEMA, "strict": True}
    },
    "max_output_tokens": 1000,
    "truncation": "auto",
    "include": ["code_interpreter_call.outputs", "file_search_call.results"],
    "store": False,
}


def case_section9_replay() -> dict[str, Any]:
    return to_response_request(section9_turn())


def test_section9_replay_exact_body() -> None:
    assert case_section9_replay() == SECTION9_BODY


def case_section9_chain() -> dict[str, Any]:
    return to_response_request(
        section9_turn(
            history=section9_history()[-1:],
            previous_response_id="resp_prev",
            previous_response_ord=7,
            store=True,
        )
    )


def test_section9_chain_exact_body() -> None:
    expected = copy.deepcopy(SECTION9_BODY)
    expected["input"] = [user_item("Summarise in JSON.")]
    expected["previous_response_id"] = "resp_prev"
    expected["store"] = True
    assert case_section9_chain() == expected


SUBMITTED = step(fn("call_xyz", "get_weather", '{"location":"Bergen"}', "9°C"), run_id="run_2")


def case_section9_turn2_replay() -> dict[str, Any]:
    return to_response_request(
        section9_turn(
            history=[*section9_history(), SUBMITTED],
            first_turn=False,
            prompt_tokens_used=800,
            completion_tokens_used=123,
        )
    )


def test_section9_turn2_replay_appends_call_and_output() -> None:
    expected = copy.deepcopy(SECTION9_BODY)
    expected["input"] = [
        *SECTION9_INPUT,
        call_item("call_xyz", "get_weather", '{"location":"Bergen"}'),
        output_item("call_xyz", "9°C"),
    ]
    expected["max_output_tokens"] = 1000 - 123
    assert case_section9_turn2_replay() == expected


def case_section9_turn2_chain() -> dict[str, Any]:
    return to_response_request(
        section9_turn(
            history=[SUBMITTED],
            first_turn=False,
            completion_tokens_used=123,
            previous_response_id="resp_turn1",
            store=True,
        )
    )


def test_section9_turn2_chain_sends_only_outputs() -> None:
    body = case_section9_turn2_chain()
    assert body["input"] == [output_item("call_xyz", "9°C")]
    assert body["previous_response_id"] == "resp_turn1"
    assert body["instructions"] == SECTION9_BODY["instructions"]  # not inherited: resent
    assert body["tools"] == SECTION9_BODY["tools"]
    assert body["text"] == SECTION9_BODY["text"]


def test_chain_mode_ignores_truncation_settings() -> None:
    history = [user("a" * 4000), user("b")]
    body = to_response_request(
        turn(
            history=history,
            previous_response_id="resp_1",
            store=True,
            truncation_strategy={"type": "last_messages", "last_messages": 1},
            max_prompt_tokens=300,
        )
    )
    assert body["input"] == [user_item("a" * 4000), user_item("b")]


# --- tool_choice ----------------------------------------------------------------------------------


def case_forced_function_first_turn() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[GET_WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            history=[user("Weather in Oslo?")],
        )
    )


def case_forced_function_later_turn() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[GET_WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            history=[
                user("Weather in Oslo?"),
                step(fn("call_1", "get_weather", '{"location":"Oslo"}', "4°C"), run_id="run_1"),
            ],
            first_turn=False,
        )
    )


def test_forced_tool_choice_first_turn_only() -> None:
    assert case_forced_function_first_turn()["tool_choice"] == {
        "type": "function",
        "name": "get_weather",
    }
    assert case_forced_function_later_turn()["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("choice", "first", "later"),
    [
        ("required", "required", "auto"),
        ("none", "none", "none"),
        ("auto", "auto", "auto"),
        ({"type": "code_interpreter"}, {"type": "code_interpreter"}, "auto"),
        ({"type": "file_search"}, {"type": "file_search"}, "auto"),
        (None, None, None),
    ],
)
def test_tool_choice_table(choice: Any, first: Any, later: Any) -> None:
    tools = to_response_tools(
        [GET_WEATHER, {"type": "code_interpreter"}, {"type": "file_search"}],
        file_search_vector_store_ids=["vs_1"],
    )
    assert to_response_tool_choice(choice, tools=tools, first_turn=True) == first
    assert to_response_tool_choice(choice, tools=tools, first_turn=False) == later


def case_forced_file_search_without_vector_stores() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[GET_WEATHER, {"type": "file_search"}],
            tool_choice={"type": "file_search"},
            history=[user("Search my files.")],
        )
    )


def test_forced_file_search_degrades_to_auto_when_tool_dropped() -> None:
    body = case_forced_file_search_without_vector_stores()
    assert [t["type"] for t in body["tools"]] == ["function"]
    assert body["tool_choice"] == "auto"
    assert "include" not in body


def case_no_tools_forced_choice() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[{"type": "file_search"}],
            tool_choice="required",
            parallel_tool_calls=False,
            history=[user("hi")],
        )
    )


def test_no_tools_means_no_tool_choice_and_no_parallel_tool_calls() -> None:
    assert case_no_tools_forced_choice() == {
        "model": "gpt-4.1",
        "input": [user_item("hi")],
        "truncation": "auto",
        "store": False,
    }


def case_parallel_false() -> dict[str, Any]:
    return to_response_request(
        turn(tools=[GET_WEATHER], parallel_tool_calls=False, history=[user("hi")])
    )


def test_parallel_tool_calls_false_is_sent() -> None:
    assert case_parallel_false()["parallel_tool_calls"] is False


# --- tools ----------------------------------------------------------------------------------------


def case_hosted_tools_options() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[
                {
                    "type": "file_search",
                    "file_search": {
                        "max_num_results": 7,
                        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.4},
                    },
                },
                {"type": "code_interpreter"},
                {"type": "code_interpreter"},
                {
                    "type": "function",
                    "function": {"name": "noop", "parameters": None, "strict": True},
                },
            ],
            code_interpreter_file_ids=["file-A", "file-B", "file-A"],
            file_search_vector_store_ids=["vs_1", "vs_2"],
            history=[user("go")],
        )
    )


def test_hosted_tool_options_and_function_defaults() -> None:
    body = case_hosted_tools_options()
    assert body["tools"] == [
        {
            "type": "file_search",
            "vector_store_ids": ["vs_1", "vs_2"],
            "max_num_results": 7,
            "ranking_options": {"score_threshold": 0.4, "ranker": "auto"},
        },
        {
            "type": "code_interpreter",
            "container": {"type": "auto", "file_ids": ["file-A", "file-B"]},
        },
        {
            "type": "function",
            "name": "noop",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        },
    ]
    assert body["include"] == ["code_interpreter_call.outputs", "file_search_call.results"]


def test_code_interpreter_without_files_still_sends_container() -> None:
    assert to_response_tools([{"type": "code_interpreter"}]) == [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": []}}
    ]


def test_unknown_tool_types_are_ignored() -> None:
    assert to_response_tools([{"type": "retrieval"}]) == []


def test_required_action_and_step_tool_call_from_function_calls() -> None:
    items = [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_a",
            "name": "get_weather",
            "arguments": "",
            "status": "in_progress",
        },
        {"type": "function_call", "id": "fc_2", "arguments": ""},
    ]
    calls = [
        function_tool_call(items[0], call_id="call_a"),
        function_tool_call(items[1], call_id="call_local"),
    ]
    assert calls == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "", "output": None},
        },
        {
            "id": "call_local",
            "type": "function",
            "function": {"name": "", "arguments": "", "output": None},
        },
    ]
    calls[0]["function"]["arguments"] = '{"location":"Oslo"}'  # streamed in
    assert required_action_from_calls(calls) == {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Oslo"}'},
                },
                {"id": "call_local", "type": "function", "function": {"name": "", "arguments": ""}},
            ]
        },
    }


# --- response_format, reasoning, sampling ---------------------------------------------------------


def case_json_schema_full() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=[user("Give me JSON.")],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "summary",
                    "description": "A short summary.",
                    "schema": OUT_SCHEMA,
                    "strict": True,
                },
            },
        )
    )


def test_json_schema_response_format_is_flattened() -> None:
    assert case_json_schema_full()["text"] == {
        "format": {
            "type": "json_schema",
            "name": "summary",
            "description": "A short summary.",
            "schema": OUT_SCHEMA,
            "strict": True,
        }
    }


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ("auto", None),
        (None, None),
        ({"type": "text"}, {"type": "text"}),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "strict": None}},
            {"type": "json_schema", "name": "x", "schema": {"type": "object"}},
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema_": {"type": "array"}}},
            {"type": "json_schema", "name": "x", "schema": {"type": "array"}},
        ),
    ],
)
def test_text_format_table(response_format: Any, expected: Any) -> None:
    assert to_text_format(response_format) == expected


def case_json_object() -> dict[str, Any]:
    return to_response_request(
        turn(history=[user("Answer in json.")], response_format={"type": "json_object"})
    )


def case_json_schema_without_schema() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=[user("json please")],
            response_format={"type": "json_schema", "json_schema": {"name": "x"}},
        )
    )


def case_reasoning_and_sampling() -> dict[str, Any]:
    return to_response_request(
        turn(
            model="o4-mini",
            history=[user("Think.")],
            reasoning_effort="high",
            temperature=0.0,
            top_p=0.5,
        )
    )


def test_reasoning_effort_and_explicit_sampling() -> None:
    body = case_reasoning_and_sampling()
    assert body["reasoning"] == {"effort": "high"}
    assert body["temperature"] == 0.0  # falsy but explicit: sent
    assert body["top_p"] == 0.5


def test_temperature_only_when_explicit() -> None:
    body = to_response_request(turn(history=[user("hi")]))
    assert "temperature" not in body
    assert "top_p" not in body
    assert "reasoning" not in body
    assert "text" not in body
    assert "instructions" not in body
    assert "metadata" not in body
    assert "max_output_tokens" not in body


def case_metadata() -> dict[str, Any]:
    return to_response_request(turn(history=[user("hi")], metadata={"customer": "42"}, store=True))


def test_metadata_passed_through_when_non_empty() -> None:
    body = case_metadata()
    assert body["metadata"] == {"customer": "42"}
    assert body["store"] is True


# --- max_completion_tokens ------------------------------------------------------------------------


def case_completion_budget_turn2() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=[user("hi")],
            max_completion_tokens=300,
            completion_tokens_used=284,
            first_turn=False,
        )
    )


def test_max_completion_tokens_budget_across_turns() -> None:
    first = to_response_request(turn(history=[user("hi")], max_completion_tokens=300))
    assert first["max_output_tokens"] == 300
    assert case_completion_budget_turn2()["max_output_tokens"] == 16  # the Responses minimum
    with pytest.raises(BudgetExhausted) as caught:
        to_response_request(
            turn(history=[user("hi")], max_completion_tokens=300, completion_tokens_used=285)
        )
    assert caught.value.reason == "max_completion_tokens"


# --- history: images, citations, unanswered calls -------------------------------------------------


def case_images() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=[
                message(
                    "user",
                    text("Compare these."),
                    image_file("file-1", "high"),
                    image_url("https://example.com/a.png", "low"),
                    image_url("https://example.com/b.png"),
                ),
                message("assistant", image_file("file-GEN"), text("Here you go."), run_id="r"),
                message("assistant", image_url("https://example.com/c.png"), run_id=None),
            ]
        )
    )


def test_images() -> None:
    assert case_images()["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Compare these."},
                {"type": "input_image", "file_id": "file-1", "detail": "high"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
                {"type": "input_image", "image_url": "https://example.com/b.png", "detail": "auto"},
            ],
        },
        assistant_item("[image: file-GEN]\n\nHere you go."),
        assistant_item("[image: https://example.com/c.png]"),
    ]


def case_citations_and_refusal() -> dict[str, Any]:
    cited = "Oslo is rainy【4:0†weather.txt】 and cold【4:1†source】."
    annotations = [
        {
            "type": "file_citation",
            "text": "【4:0†weather.txt】",
            "start_index": 13,
            "end_index": 30,
            "file_citation": {"file_id": "file-W"},
        }
    ]
    return to_response_request(
        turn(
            history=[
                user("Weather? 【keep these brackets】 【1†in user text】"),
                message(
                    "assistant",
                    text(cited, annotations),
                    text("Old style【13†source】 marker."),
                    run_id="run_1",
                ),
                message("assistant", {"type": "refusal", "refusal": "I can't help."}, run_id="r2"),
                message("assistant", text("【0:0†only-a-marker】"), run_id="run_3"),
                message("assistant", run_id="run_4"),  # no content at all (cancelled early)
                user("Thanks"),
            ]
        )
    )


def test_citation_markers_stripped_on_replay() -> None:
    assert case_citations_and_refusal()["input"] == [
        user_item("Weather? 【keep these brackets】 【1†in user text】"),
        assistant_item("Oslo is rainy and cold.\n\nOld style marker."),
        assistant_item("I can't help."),
        user_item("Thanks"),
    ]


def case_unanswered_calls() -> dict[str, Any]:
    return to_response_request(
        turn(
            tools=[GET_WEATHER],
            history=[
                user("Weather in Oslo and Bergen?"),
                step(
                    fn("call_1", "get_weather", '{"location":"Oslo"}', None),
                    fn("call_2", "get_weather", '{"location":"Bergen"}', None),
                    run_id="run_failed",
                    status="failed",
                ),
                step(
                    {"id": "call_ci", "type": "code_interpreter", "code_interpreter": {}},
                    {"id": "call_fs", "type": "file_search", "file_search": {}},
                    fn("call_3", "get_weather", '{"location":"Rome"}', ""),
                    run_id="run_ok",
                ),
                user("Try again."),
            ],
        )
    )


def test_function_calls_without_output_dropped_hosted_calls_omitted() -> None:
    assert case_unanswered_calls()["input"] == [
        user_item("Weather in Oslo and Bergen?"),
        call_item("call_3", "get_weather", '{"location":"Rome"}'),
        output_item("call_3", ""),  # an empty output is an answer
        user_item("Try again."),
    ]


def test_no_upstream_ids_or_statuses_on_items() -> None:
    items = to_input_items(section9_history())
    assert all("id" not in item and "status" not in item for item in items)


# --- truncation_strategy.last_messages ------------------------------------------------------------


def last_messages_history() -> list[dict[str, Any]]:
    return [
        user("u1"),
        step(fn("call_1", "f", "{}", "o1"), run_id="run_1"),
        assistant("a1", run_id="run_1"),
        user("u2"),
        step(fn("call_2", "f", "{}", "o2"), run_id="run_2"),
        assistant("a2", run_id="run_2"),
        user("u3"),
    ]


def case_last_messages() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=last_messages_history(),
            truncation_strategy={"type": "last_messages", "last_messages": 3},
        )
    )


def test_last_messages_keeps_tool_steps_after_first_kept_message() -> None:
    assert case_last_messages()["input"] == [
        user_item("u2"),
        call_item("call_2", "f", "{}"),
        output_item("call_2", "o2"),
        assistant_item("a2"),
        user_item("u3"),
    ]


def test_last_messages_never_starts_with_an_orphan_tool_step() -> None:
    body = to_response_request(
        turn(
            history=last_messages_history(),
            truncation_strategy={"type": "last_messages", "last_messages": 2},
        )
    )
    # the call_2 step precedes a2 (first kept message): cut with u2
    assert body["input"] == [assistant_item("a2"), user_item("u3")]


def test_select_history_drops_orphan_outputs_and_unanswered_calls() -> None:
    items = [
        output_item("call_gone", "orphan"),
        user_item("q"),
        call_item("call_x", "f", "{}"),
        call_item("call_y", "f", "{}"),
        output_item("call_x", "x"),
    ]
    assert select_history(items, None, None, 0, 0) == [
        user_item("q"),
        call_item("call_x", "f", "{}"),
        output_item("call_x", "x"),
    ]


def case_last_messages_later_turn() -> dict[str, Any]:
    return to_response_request(
        turn(
            history=[
                *last_messages_history(),
                assistant("Let me check.", run_id="run_3"),
                step(fn("call_3", "f", "{}", "o3"), run_id="run_3"),
            ],
            truncation_strategy={"type": "last_messages", "last_messages": 1},
            first_turn=False,
        )
    )


def test_last_messages_never_cuts_the_current_runs_own_items() -> None:
    assert case_last_messages_later_turn()["input"] == [
        user_item("u3"),
        assistant_item("Let me check."),
        call_item("call_3", "f", "{}"),
        output_item("call_3", "o3"),
    ]


# --- max_prompt_tokens ----------------------------------------------------------------------------


def middle_history() -> list[dict[str, Any]]:
    return [
        user("first " + "x" * 400),
        assistant("a1 " + "y" * 400, run_id="run_1"),
        user("u2 " + "z" * 400),
        step(fn("call_2", "lookup", '{"q":"' + "w" * 400 + '"}', "r" * 400), run_id="run_2"),
        assistant("a2 " + "v" * 400, run_id="run_2"),
        user("newest question"),
    ]


def test_max_prompt_tokens_drops_whole_messages_from_the_middle() -> None:
    items = to_input_items(middle_history())
    cost = [estimate_tokens(item) for item in items]
    # items: u1, a1, u2, call, output, a2, u3 -> keep u1, a2, u3 (drop a1, u2 and the pair)
    budget = cost[0] + cost[5] + cost[6] + 10
    body = to_response_request(
        turn(history=middle_history(), instructions="Be brief.", max_prompt_tokens=budget + 50)
    )
    # fixed cost: instructions (3 tokens); the call/output pair went out together
    assert body["input"] == [items[0], items[5], items[6]]


def case_max_prompt_tokens_middle_drop() -> dict[str, Any]:
    items = to_input_items(middle_history())
    budget = sum(estimate_tokens(item) for item in [items[0], items[3], items[4], *items[5:]])
    return to_response_request(
        turn(history=middle_history(), max_prompt_tokens=budget + 100, prompt_tokens_used=100)
    )


def test_max_prompt_tokens_counts_earlier_turns_and_keeps_call_pairs() -> None:
    items = to_input_items(middle_history())
    assert case_max_prompt_tokens_middle_drop()["input"] == [items[0], *items[3:]]


def test_max_prompt_tokens_drops_first_user_message_last() -> None:
    items = to_input_items(middle_history())
    only_tail = estimate_tokens(items[-1])
    assert select_history(items, None, only_tail + 5, 0, 5) == [items[-1]]
    keep_first = only_tail + estimate_tokens(items[0])
    assert select_history(items, None, keep_first, 0, 0) == [items[0], items[-1]]


def test_max_prompt_tokens_exhausted() -> None:
    with pytest.raises(BudgetExhausted) as caught:
        to_response_request(turn(history=[user("q" * 4000)], max_prompt_tokens=500))
    assert caught.value.reason == "max_prompt_tokens"
    with pytest.raises(BudgetExhausted) as caught:
        to_response_request(
            turn(history=[user("hi")], max_prompt_tokens=1000, prompt_tokens_used=1000)
        )
    assert caught.value.reason == "max_prompt_tokens"


def test_max_prompt_tokens_includes_fixed_cost_and_trailing_outputs() -> None:
    history = [
        user("hi"),
        step(fn("call_1", "f", "{}", "o" * 2000), run_id="run_1"),
    ]
    # the current run's tool output (500 tokens) must fit with the newest user message
    with pytest.raises(BudgetExhausted):
        to_response_request(turn(history=history, first_turn=False, max_prompt_tokens=400))
    with pytest.raises(BudgetExhausted):  # instructions count as fixed cost
        to_response_request(
            turn(history=[user("hi")], instructions="i" * 4000, max_prompt_tokens=900)
        )


def test_truncation_auto_sends_everything() -> None:
    body = to_response_request(turn(history=middle_history()))
    assert body["input"] == to_input_items(middle_history())
    assert body["truncation"] == "auto"


def test_estimate_tokens_heuristic() -> None:
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens({"type": "input_image", "file_id": "f", "detail": "low"}) == 4 + 85
    assert estimate_tokens({"type": "input_image", "file_id": "f", "detail": "auto"}) == 4 + 765


# --- reasoning items kept across calls (responses-mapping §2.3) -----------------------------------


def reasoning_item(n: int) -> dict[str, Any]:
    return {"type": "reasoning", "id": f"rs_{n}", "summary": [], "encrypted_content": "gAAA" * 50}


def reasoning_history() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """A run that called two functions, then answered; its reasoning by what it preceded."""
    answer = assistant("It is 57F with a 6% chance of rain.", run_id="run_1")
    history = [*weather_history(), message_step(answer["id"], "run_1"), answer, user("Thanks!")]
    kept = {
        "call_t": [reasoning_item(1)],
        "call_r": [reasoning_item(2)],
        answer["id"]: [reasoning_item(3), reasoning_item(4)],
        "msg_deleted": [reasoning_item(5)],  # its message is gone: not replayed
    }
    return history, kept


def reasoning_turn(**overrides: Any) -> TurnInput:
    history, kept = reasoning_history()
    values: dict[str, Any] = {
        "model": "o4-mini",
        "tools": [GET_TEMPERATURE, GET_RAIN],
        "history": history,
        "reasoning": kept,
    }
    return turn(**{**values, **overrides})


def case_reasoning_replayed() -> dict[str, Any]:
    return to_response_request(reasoning_turn())


def test_reasoning_goes_back_before_what_it_preceded() -> None:
    replayed = reasoning_turn()
    body = to_response_request(replayed)
    assert body["input"] == [
        user_item("What's the weather in San Francisco today and the likelihood it'll rain?"),
        reasoning_item(1),
        call_item("call_t", "get_current_temperature", '{"location":"SF","unit":"Fahrenheit"}'),
        reasoning_item(2),
        call_item("call_r", "get_rain_probability", '{"location":"SF"}'),
        output_item("call_t", "57"),
        output_item("call_r", "0.06"),
        reasoning_item(3),
        reasoning_item(4),
        assistant_item("It is 57F with a 6% chance of rain."),
        user_item("Thanks!"),
    ]
    assert body["include"] == ["reasoning.encrypted_content"]
    history = replayed["history"]
    # nothing kept yet (a new thread): still asked for; not a reasoning turn: neither
    assert to_response_request(turn(history=history, reasoning={}))["include"] == [
        "reasoning.encrypted_content"
    ]
    assert "include" not in to_response_request(turn(history=history))
    # translated ahead (the history cache): the same body, the shared entries untouched
    entries = translate_entries(history)
    assert to_response_request({**replayed, "history_input": entries}) == body
    assert [i for e in entries for i in e.items] == to_input_items(history)


def test_chained_calls_send_no_reasoning() -> None:
    history, kept = reasoning_history()
    body = to_response_request(
        turn(history=history[-1:], reasoning=kept, previous_response_id="resp_1", store=True)
    )
    assert body["input"] == [user_item("Thanks!")] and "include" not in body


def test_reasoning_is_trimmed_with_what_it_preceded() -> None:
    history, kept = reasoning_history()
    last_two = {"type": "last_messages", "last_messages": 2}
    body = to_response_request(turn(history=history, reasoning=kept, truncation_strategy=last_two))
    assert body["input"] == [
        reasoning_item(3),
        reasoning_item(4),
        assistant_item("It is 57F with a 6% chance of rain."),
        user_item("Thanks!"),
    ]
    # a budget that only fits the newest message: the answer goes with its reasoning
    newest = estimate_tokens(user_item("Thanks!"))
    body = to_response_request(turn(history=history, reasoning=kept, max_prompt_tokens=newest))
    assert body["input"] == [user_item("Thanks!")]


def test_reasoning_without_what_it_preceded_is_left_out() -> None:
    rs = reasoning_item(1)
    items = [user_item("a"), rs, assistant_item("b"), rs, user_item("c"), rs]
    assert select_history(items, None, None, 0, 0) == [
        user_item("a"),
        rs,
        assistant_item("b"),
        user_item("c"),
    ]
    # its function call unanswered (dropped): the reasoning goes too
    items = [user_item("a"), rs, call_item("call_x", "f", "{}")]
    assert select_history(items, None, None, 0, 0) == [user_item("a")]


def test_encrypted_reasoning_costs_no_prompt_tokens() -> None:
    assert estimate_tokens(reasoning_item(1)) == estimate_tokens(
        {**reasoning_item(1), "encrypted_content": ""}
    )


def test_reasoning_models() -> None:
    for model in (
        "o1",
        "o3-mini",
        "o4-mini",
        "o3-pro",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5.2",
        "openai/o4-mini",
        "codex-mini-latest",
    ):
        assert is_reasoning_model(model), model
    for other in ("gpt-4o", "gpt-4.1", "gpt-5-chat-latest", "omni-moderation-latest", "", None):
        assert not is_reasoning_model(other), other


# --- every body built above: validated by test_request_schema.py ----------------------------------

BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    name.removeprefix("case_"): func
    for name, func in list(globals().items())
    if name.startswith("case_") and callable(func)
}


def _nones(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nones(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nones(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("name", sorted(BODIES))
def test_no_none_values_in_requests(name: str) -> None:
    body = BODIES[name]()
    assert _nones(body) == []
    assert "stream" not in body
