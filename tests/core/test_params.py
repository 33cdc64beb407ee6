"""compat._params: the real API's 400 wording, ``param`` and ``code``; omitted vs null."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import compat._params as p
from compat._errors import ApiError

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
FN_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
MSG = {"role": "user", "content": "hi"}


def _raises(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    assert info.value.status == 400
    assert info.value.type == "invalid_request_error"
    return info.value


def _ok_message(**over: Any) -> dict[str, Any]:
    return {**MSG, **over}


# --------------------------------------------------------------------------------------------
# rejection table: (function, body, message, param, code)

REJECTIONS: list[tuple[str, Callable[[Any], Any], Any, str, str, str]] = [
    # unknown / missing
    (
        "unknown top-level key",
        p.assistant_create,
        {"model": "m", "bogus": 1},
        "Unknown parameter: 'bogus'.",
        "bogus",
        "unknown_parameter",
    ),
    (
        "unknown nested key",
        p.assistant_create,
        {"model": "m", "tool_resources": {"file_search": {"file_ids": ["f"]}}},
        "Unknown parameter: 'tool_resources.file_search.file_ids'.",
        "tool_resources.file_search.file_ids",
        "unknown_parameter",
    ),
    (
        "missing model",
        p.assistant_create,
        {"name": "x"},
        "Missing required parameter: 'model'.",
        "model",
        "missing_required_parameter",
    ),
    (
        "missing assistant_id",
        p.run_create,
        {},
        "Missing required parameter: 'assistant_id'.",
        "assistant_id",
        "missing_required_parameter",
    ),
    (
        "missing tool type",
        p.assistant_create,
        {"model": "m", "tools": [{}]},
        "Missing required parameter: 'tools[0].type'.",
        "tools[0].type",
        "missing_required_parameter",
    ),
    (
        "function tool without function",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "function"}]},
        "Missing required parameter: 'tools[0].function'.",
        "tools[0].function",
        "missing_required_parameter",
    ),
    (
        "function without name",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "function", "function": {}}]},
        "Missing required parameter: 'tools[0].function.name'.",
        "tools[0].function.name",
        "missing_required_parameter",
    ),
    (
        "message without content",
        p.message_create,
        {"role": "user"},
        "Missing required parameter: 'content'.",
        "content",
        "missing_required_parameter",
    ),
    (
        "missing tool_outputs",
        p.submit_tool_outputs,
        {"stream": False},
        "Missing required parameter: 'tool_outputs'.",
        "tool_outputs",
        "missing_required_parameter",
    ),
    # types
    (
        "model not a string",
        p.assistant_create,
        {"model": 4},
        "Invalid type for 'model': expected a string, but got an integer instead.",
        "model",
        "invalid_type",
    ),
    (
        "metadata not an object",
        p.thread_update,
        {"metadata": "x"},
        "Invalid type for 'metadata': expected an object, but got a string instead.",
        "metadata",
        "invalid_type",
    ),
    (
        "metadata value not a string",
        p.message_update,
        {"metadata": {"k": 1}},
        "Invalid type for 'metadata.k': expected a string, but got an integer instead.",
        "metadata.k",
        "invalid_type",
    ),
    (
        "metadata value null",
        p.run_update,
        {"metadata": {"k": None}},
        "Invalid type for 'metadata.k': expected a string, but got null instead.",
        "metadata.k",
        "invalid_type",
    ),
    (
        "tools not an array",
        p.assistant_create,
        {"model": "m", "tools": "x"},
        "Invalid type for 'tools': expected an array of objects, but got a string instead.",
        "tools",
        "invalid_type",
    ),
    (
        "tool not an object",
        p.assistant_create,
        {"model": "m", "tools": ["code_interpreter"]},
        "Invalid type for 'tools[0]': expected an object, but got a string instead.",
        "tools[0]",
        "invalid_type",
    ),
    (
        "temperature a string",
        p.assistant_create,
        {"model": "m", "temperature": "hot"},
        "Invalid type for 'temperature': expected a number, but got a string instead.",
        "temperature",
        "invalid_type",
    ),
    (
        "max_prompt_tokens a decimal",
        p.run_create,
        {"assistant_id": "a", "max_prompt_tokens": 300.5},
        "Invalid type for 'max_prompt_tokens': expected an integer, but got a decimal number"
        " instead.",
        "max_prompt_tokens",
        "invalid_type",
    ),
    (
        "stream a string",
        p.run_create,
        {"assistant_id": "a", "stream": "yes"},
        "Invalid type for 'stream': expected a boolean, but got a string instead.",
        "stream",
        "invalid_type",
    ),
    (
        "parallel_tool_calls null",
        p.run_create,
        {"assistant_id": "a", "parallel_tool_calls": None},
        "Invalid type for 'parallel_tool_calls': expected a boolean, but got null instead.",
        "parallel_tool_calls",
        "invalid_type",
    ),
    (
        "content a number",
        p.message_create,
        {"role": "user", "content": 7},
        "Invalid type for 'content': expected one of a string or array of objects, but got an"
        " integer instead.",
        "content",
        "invalid_type",
    ),
    (
        "role a number",
        p.message_create,
        {"role": 1, "content": "x"},
        "Invalid type for 'role': expected one of 'user' or 'assistant', but got an integer"
        " instead.",
        "role",
        "invalid_type",
    ),
    (
        "file_ids item not a string",
        p.thread_update,
        {"tool_resources": {"code_interpreter": {"file_ids": [3]}}},
        "Invalid type for 'tool_resources.code_interpreter.file_ids[0]': expected a string, but"
        " got an integer instead.",
        "tool_resources.code_interpreter.file_ids[0]",
        "invalid_type",
    ),
    (
        "tool_choice a number",
        p.run_create,
        {"assistant_id": "a", "tool_choice": 7},
        "Invalid type for 'tool_choice': expected one of one of 'none', 'auto', or 'required'"
        " or object, but got an integer instead.",
        "tool_choice",
        "invalid_type",
    ),
    (
        "thread messages item not an object",
        p.thread_create,
        {"messages": ["hi"]},
        "Invalid type for 'messages[0]': expected an object, but got a string instead.",
        "messages[0]",
        "invalid_type",
    ),
    # enums
    (
        "unknown tool type",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "retrieval"}]},
        "Invalid value: 'retrieval'. Supported values are: 'code_interpreter', 'file_search',"
        " and 'function'.",
        "tools[0].type",
        "invalid_value",
    ),
    (
        "system role",
        p.message_create,
        {"role": "system", "content": "x"},
        "Invalid value: 'system'. Supported values are: 'user' and 'assistant'.",
        "role",
        "invalid_value",
    ),
    (
        "unknown response_format type",
        p.assistant_update,
        {"response_format": {"type": "object"}},
        "Invalid value: 'object'. Supported values are: 'json_object', 'json_schema', and 'text'.",
        "response_format.type",
        "invalid_value",
    ),
    (
        "response_format string other than auto",
        p.assistant_update,
        {"response_format": "json"},
        "Invalid value: 'json'. Supported values are: 'auto'.",
        "response_format",
        "invalid_value",
    ),
    (
        "unknown reasoning_effort",
        p.assistant_create,
        {"model": "m", "reasoning_effort": "extreme"},
        "Invalid value: 'extreme'. Supported values are: 'none', 'minimal', 'low', 'medium',"
        " 'high', 'xhigh', and 'max'.",
        "reasoning_effort",
        "invalid_value",
    ),
    (
        "unknown tool_choice mode",
        p.run_create,
        {"assistant_id": "a", "tool_choice": "any"},
        "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.",
        "tool_choice",
        "invalid_value",
    ),
    (
        "unknown truncation type",
        p.run_create,
        {"assistant_id": "a", "truncation_strategy": {"type": "first"}},
        "Invalid value: 'first'. Supported values are: 'auto' and 'last_messages'.",
        "truncation_strategy.type",
        "invalid_value",
    ),
    (
        "unknown content part type",
        p.message_create,
        {"role": "user", "content": [{"type": "audio"}]},
        "Invalid value: 'audio'. Supported values are: 'image_file', 'image_url', and 'text'.",
        "content[0].type",
        "invalid_value",
    ),
    (
        "image detail",
        p.message_create,
        {
            "role": "user",
            "content": [{"type": "image_file", "image_file": {"file_id": "f", "detail": "hd"}}],
        },
        "Invalid value: 'hd'. Supported values are: 'auto', 'low', and 'high'.",
        "content[0].image_file.detail",
        "invalid_value",
    ),
    (
        "attachment tool type",
        p.message_create,
        {**MSG, "attachments": [{"file_id": "f", "tools": [{"type": "function"}]}]},
        "Invalid value: 'function'. Supported values are: 'code_interpreter' and 'file_search'.",
        "attachments[0].tools[0].type",
        "invalid_value",
    ),
    (
        "ranker",
        p.assistant_create,
        {
            "model": "m",
            "tools": [
                {
                    "type": "file_search",
                    "file_search": {"ranking_options": {"score_threshold": 0.5, "ranker": "x"}},
                }
            ],
        },
        "Invalid value: 'x'. Supported values are: 'auto' and 'default_2024_08_21'.",
        "tools[0].file_search.ranking_options.ranker",
        "invalid_value",
    ),
    # lengths and counts
    (
        "name too long",
        p.assistant_create,
        {"model": "m", "name": "n" * 257},
        "Invalid 'name': string too long. Expected a string with maximum length 256, but got a"
        " string with length 257 instead.",
        "name",
        "string_above_max_length",
    ),
    (
        "description too long",
        p.assistant_update,
        {"description": "d" * 513},
        "Invalid 'description': string too long. Expected a string with maximum length 512, but"
        " got a string with length 513 instead.",
        "description",
        "string_above_max_length",
    ),
    (
        "instructions too long",
        p.assistant_update,
        {"instructions": "i" * 256_001},
        "Invalid 'instructions': string too long. Expected a string with maximum length 256000,"
        " but got a string with length 256001 instead.",
        "instructions",
        "string_above_max_length",
    ),
    (
        "function name too long",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "function", "function": {"name": "f" * 65}}]},
        "Invalid 'tools[0].function.name': string too long. Expected a string with maximum"
        " length 64, but got a string with length 65 instead.",
        "tools[0].function.name",
        "string_above_max_length",
    ),
    (
        "function name pattern",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "function", "function": {"name": "get weather"}}]},
        "Invalid 'tools[0].function.name': string does not match pattern. Expected a string"
        " that matches the pattern '^[a-zA-Z0-9_-]+$'.",
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        "function name empty",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "function", "function": {"name": ""}}]},
        "Invalid 'tools[0].function.name': empty string. Expected a string with minimum length"
        " 1, but got an empty string instead.",
        "tools[0].function.name",
        "empty_string",
    ),
    (
        "json_schema name pattern",
        p.assistant_create,
        {
            "model": "m",
            "response_format": {"type": "json_schema", "json_schema": {"name": "a.b"}},
        },
        "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a"
        " string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
        "response_format.json_schema.name",
        "invalid_value",
    ),
    (
        "json_schema missing",
        p.assistant_create,
        {"model": "m", "response_format": {"type": "json_schema"}},
        "Missing required parameter: 'response_format.json_schema'.",
        "response_format.json_schema",
        "missing_required_parameter",
    ),
    (
        "too many assistant tools",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "code_interpreter"}] * 129},
        "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an"
        " array with length 129 instead.",
        "tools",
        "array_above_max_length",
    ),
    (
        "too many run tools",
        p.run_create,
        {"assistant_id": "a", "tools": [{"type": "code_interpreter"}] * 21},
        "Invalid 'tools': array too long. Expected an array with maximum length 20, but got an"
        " array with length 21 instead.",
        "tools",
        "array_above_max_length",
    ),
    (
        "too many code_interpreter files",
        p.assistant_create,
        {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["f"] * 21}}},
        "Invalid 'tool_resources.code_interpreter.file_ids': array too long. Expected an array"
        " with maximum length 20, but got an array with length 21 instead.",
        "tool_resources.code_interpreter.file_ids",
        "array_above_max_length",
    ),
    (
        "two vector stores",
        p.thread_create,
        {"tool_resources": {"file_search": {"vector_store_ids": ["vs_1", "vs_2"]}}},
        "Invalid 'tool_resources.file_search.vector_store_ids': array too long. Expected an"
        " array with maximum length 1, but got an array with length 2 instead.",
        "tool_resources.file_search.vector_store_ids",
        "array_above_max_length",
    ),
    (
        "metadata 17 keys",
        p.thread_create,
        {"metadata": {f"k{i}": "v" for i in range(17)}},
        "Invalid 'metadata': too many properties. Expected an object with at most 16"
        " properties, but got an object with 17 properties instead.",
        "metadata",
        "object_above_max_properties",
    ),
    (
        "metadata value too long",
        p.assistant_create,
        {"model": "m", "metadata": {"k": "v" * 513}},
        "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but"
        " got a string with length 513 instead.",
        "metadata.k",
        "string_above_max_length",
    ),
    (
        "metadata key too long",
        p.assistant_create,
        {"model": "m", "metadata": {"K" * 65: "v"}},
        "Invalid property name in 'metadata': '" + "K" * 65 + "' is too long. Expected a"
        " string with maximum length 64, but got a string with length 65 instead.",
        "metadata." + "K" * 65,
        "property_name_above_max_length",
    ),
    (
        "empty string content",
        p.message_create,
        {"role": "user", "content": ""},
        "Invalid 'content': empty string. Expected a string with minimum length 1, but got an"
        " empty string instead.",
        "content",
        "empty_string",
    ),
    (
        "empty array content",
        p.message_create,
        {"role": "user", "content": []},
        "Invalid 'content': empty array. Expected an array with minimum length 1, but got an"
        " empty array instead.",
        "content",
        "empty_array",
    ),
    (
        "content too long",
        p.message_create,
        {"role": "user", "content": "c" * 256_001},
        "Invalid 'content': string too long. Expected a string with maximum length 256000, but"
        " got a string with length 256001 instead.",
        "content",
        "string_above_max_length",
    ),
    # ranges
    (
        "temperature above 2",
        p.assistant_create,
        {"model": "m", "temperature": 2.5},
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5"
        " instead.",
        "temperature",
        "decimal_above_max_value",
    ),
    (
        "temperature below 0",
        p.run_create,
        {"assistant_id": "a", "temperature": -1},
        "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1"
        " instead.",
        "temperature",
        "decimal_below_min_value",
    ),
    (
        "top_p above 1",
        p.thread_create_and_run,
        {"assistant_id": "a", "top_p": 1.5},
        "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead.",
        "top_p",
        "decimal_above_max_value",
    ),
    (
        "score_threshold above 1",
        p.assistant_create,
        {
            "model": "m",
            "tools": [
                {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 2}}}
            ],
        },
        "Invalid 'tools[0].file_search.ranking_options.score_threshold': decimal above maximum"
        " value. Expected a value <= 1, but got 2 instead.",
        "tools[0].file_search.ranking_options.score_threshold",
        "decimal_above_max_value",
    ),
    (
        "score_threshold missing",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "file_search", "file_search": {"ranking_options": {}}}]},
        "Missing required parameter: 'tools[0].file_search.ranking_options.score_threshold'.",
        "tools[0].file_search.ranking_options.score_threshold",
        "missing_required_parameter",
    ),
    (
        "max_num_results above 50",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
        "Invalid 'tools[0].file_search.max_num_results': integer above maximum value. Expected"
        " a value <= 50, but got 51 instead.",
        "tools[0].file_search.max_num_results",
        "integer_above_max_value",
    ),
    (
        "max_prompt_tokens below 256",
        p.run_create,
        {"assistant_id": "a", "max_prompt_tokens": 255},
        "Invalid 'max_prompt_tokens': integer below minimum value. Expected a value >= 256, but"
        " got 255 instead.",
        "max_prompt_tokens",
        "integer_below_min_value",
    ),
    (
        "max_completion_tokens below 256",
        p.thread_create_and_run,
        {"assistant_id": "a", "max_completion_tokens": 10},
        "Invalid 'max_completion_tokens': integer below minimum value. Expected a value >= 256,"
        " but got 10 instead.",
        "max_completion_tokens",
        "integer_below_min_value",
    ),
    (
        "last_messages below 1",
        p.run_create,
        {"assistant_id": "a", "truncation_strategy": {"type": "last_messages", "last_messages": 0}},
        "Invalid 'truncation_strategy.last_messages': integer below minimum value. Expected a"
        " value >= 1, but got 0 instead.",
        "truncation_strategy.last_messages",
        "integer_below_min_value",
    ),
    # tool_choice object
    (
        "tool_choice function without function",
        p.run_create,
        {"assistant_id": "a", "tool_choice": {"type": "function"}},
        "Missing required parameter: 'tool_choice.function'.",
        "tool_choice.function",
        "missing_required_parameter",
    ),
    (
        "tool_choice function without name",
        p.run_create,
        {"assistant_id": "a", "tool_choice": {"type": "function", "function": {}}},
        "Missing required parameter: 'tool_choice.function.name'.",
        "tool_choice.function.name",
        "missing_required_parameter",
    ),
    # nested message paths
    (
        "thread message role",
        p.thread_create,
        {"messages": [MSG, {"role": "system", "content": "x"}]},
        "Invalid value: 'system'. Supported values are: 'user' and 'assistant'.",
        "messages[1].role",
        "invalid_value",
    ),
    (
        "thread message empty content",
        p.thread_create,
        {"messages": [MSG, {"role": "user", "content": ""}]},
        "Invalid 'messages[1].content': empty string. Expected a string with minimum length 1,"
        " but got an empty string instead.",
        "messages[1].content",
        "empty_string",
    ),
    (
        "create_and_run thread message",
        p.thread_create_and_run,
        {"assistant_id": "a", "thread": {"messages": [{"role": "user"}]}},
        "Missing required parameter: 'thread.messages[0].content'.",
        "thread.messages[0].content",
        "missing_required_parameter",
    ),
    (
        "additional message metadata",
        p.run_create,
        {"assistant_id": "a", "additional_messages": [{**MSG, "metadata": {"k": 1}}]},
        "Invalid type for 'additional_messages[0].metadata.k': expected a string, but got an"
        " integer instead.",
        "additional_messages[0].metadata.k",
        "invalid_type",
    ),
    (
        "text part without text",
        p.message_create,
        {"role": "user", "content": [{"type": "text"}]},
        "Missing required parameter: 'content[0].text'.",
        "content[0].text",
        "missing_required_parameter",
    ),
    (
        "image_url without url",
        p.message_create,
        {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
        "Missing required parameter: 'content[0].image_url.url'.",
        "content[0].image_url.url",
        "missing_required_parameter",
    ),
    (
        "attachment without file_id",
        p.message_create,
        {**MSG, "attachments": [{"tools": []}]},
        "Missing required parameter: 'attachments[0].file_id'.",
        "attachments[0].file_id",
        "missing_required_parameter",
    ),
    (
        "attachment file_search with config",
        p.message_create,
        {
            **MSG,
            "attachments": [
                {"file_id": "f", "tools": [{"type": "file_search", "file_search": {}}]}
            ],
        },
        "Unknown parameter: 'attachments[0].tools[0].file_search'.",
        "attachments[0].tools[0].file_search",
        "unknown_parameter",
    ),
    # endpoint-specific members
    (
        "vector_stores on assistant update",
        p.assistant_update,
        {"tool_resources": {"file_search": {"vector_stores": [{}]}}},
        "Unknown parameter: 'tool_resources.file_search.vector_stores'.",
        "tool_resources.file_search.vector_stores",
        "unknown_parameter",
    ),
    (
        "vector_stores on thread update",
        p.thread_update,
        {"tool_resources": {"file_search": {"vector_stores": [{}]}}},
        "Unknown parameter: 'tool_resources.file_search.vector_stores'.",
        "tool_resources.file_search.vector_stores",
        "unknown_parameter",
    ),
    (
        "vector_stores on create_and_run resources",
        p.thread_create_and_run,
        {"assistant_id": "a", "tool_resources": {"file_search": {"vector_stores": [{}]}}},
        "Unknown parameter: 'tool_resources.file_search.vector_stores'.",
        "tool_resources.file_search.vector_stores",
        "unknown_parameter",
    ),
    (
        "additional_instructions on create_and_run",
        p.thread_create_and_run,
        {"assistant_id": "a", "additional_instructions": "x"},
        "Unknown parameter: 'additional_instructions'.",
        "additional_instructions",
        "unknown_parameter",
    ),
    (
        "additional_messages on create_and_run",
        p.thread_create_and_run,
        {"assistant_id": "a", "additional_messages": []},
        "Unknown parameter: 'additional_messages'.",
        "additional_messages",
        "unknown_parameter",
    ),
    (
        "reasoning_effort on create_and_run",
        p.thread_create_and_run,
        {"assistant_id": "a", "reasoning_effort": "low"},
        "Unknown parameter: 'reasoning_effort'.",
        "reasoning_effort",
        "unknown_parameter",
    ),
    (
        "include in a run body",
        p.run_create,
        {"assistant_id": "a", "include": [INCLUDE]},
        "Unknown parameter: 'include'.",
        "include",
        "unknown_parameter",
    ),
    (
        "message update takes metadata only",
        p.message_update,
        {"content": "x"},
        "Unknown parameter: 'content'.",
        "content",
        "unknown_parameter",
    ),
    (
        "run update takes metadata only",
        p.run_update,
        {"metadata": {}, "status": "cancelled"},
        "Unknown parameter: 'status'.",
        "status",
        "unknown_parameter",
    ),
    (
        "tool output unknown member",
        p.submit_tool_outputs,
        {"tool_outputs": [{"tool_call_id": "call_1", "output": "x", "id": "y"}]},
        "Unknown parameter: 'tool_outputs[0].id'.",
        "tool_outputs[0].id",
        "unknown_parameter",
    ),
    (
        "tool output not a string",
        p.submit_tool_outputs,
        {"tool_outputs": [{"tool_call_id": "call_1", "output": {"a": 1}}]},
        "Invalid type for 'tool_outputs[0].output': expected a string, but got an object instead.",
        "tool_outputs[0].output",
        "invalid_type",
    ),
    (
        "code_interpreter tool with extra member",
        p.assistant_create,
        {"model": "m", "tools": [{"type": "code_interpreter", "function": {"name": "f"}}]},
        "Unknown parameter: 'tools[0].function'.",
        "tools[0].function",
        "unknown_parameter",
    ),
    (
        "vector_stores chunking type",
        p.thread_create,
        {
            "tool_resources": {
                "file_search": {"vector_stores": [{"chunking_strategy": {"type": "semantic"}}]}
            }
        },
        "Invalid value: 'semantic'. Supported values are: 'auto' and 'static'.",
        "tool_resources.file_search.vector_stores[0].chunking_strategy.type",
        "invalid_value",
    ),
    (
        "static chunk size above 4096",
        p.assistant_create,
        {
            "model": "m",
            "tool_resources": {
                "file_search": {
                    "vector_stores": [
                        {
                            "chunking_strategy": {
                                "type": "static",
                                "static": {
                                    "max_chunk_size_tokens": 5000,
                                    "chunk_overlap_tokens": 0,
                                },
                            }
                        }
                    ]
                }
            },
        },
        "Invalid 'tool_resources.file_search.vector_stores[0].chunking_strategy.static"
        ".max_chunk_size_tokens': integer above maximum value. Expected a value <= 4096, but got"
        " 5000 instead.",
        "tool_resources.file_search.vector_stores[0].chunking_strategy.static"
        ".max_chunk_size_tokens",
        "integer_above_max_value",
    ),
]


@pytest.mark.parametrize(
    ("fn", "body", "message", "param", "code"),
    [row[1:] for row in REJECTIONS],
    ids=[row[0] for row in REJECTIONS],
)
def test_rejections(
    fn: Callable[[Any], Any], body: Any, message: str, param: str, code: str
) -> None:
    err = _raises(fn, body)
    assert (err.message, err.param, err.code) == (message, param, code)
    assert err.body() == {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


# --------------------------------------------------------------------------------------------
# acceptance, omitted vs null, copies


def test_assistant_create_full_body_round_trips() -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "name": "n" * 256,
        "description": "d",
        "instructions": "i",
        "reasoning_effort": "low",
        "tools": [
            {"type": "code_interpreter"},
            {
                "type": "file_search",
                "file_search": {
                    "max_num_results": 50,
                    "ranking_options": {"score_threshold": 0, "ranker": "auto"},
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "get-weather_2",
                    "description": "d",
                    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
                    "strict": None,
                },
            },
        ],
        "tool_resources": {
            "code_interpreter": {"file_ids": ["file-1"] * 20},
            "file_search": {
                "vector_stores": [
                    {
                        "file_ids": ["file-2"],
                        "chunking_strategy": {
                            "type": "static",
                            "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
                        },
                        "metadata": {"k": "v"},
                    }
                ]
            },
        },
        "metadata": {f"k{i}": "v" * 512 for i in range(16)},
        "temperature": 2,
        "top_p": 0.0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
        },
    }
    original = copy.deepcopy(body)
    out = p.assistant_create(body)
    assert out == original
    assert body == original
    assert out is not body
    assert (
        out["tools"][2]["function"]["parameters"] is not body["tools"][2]["function"]["parameters"]
    )


def test_omitted_stays_omitted_and_null_stays_none() -> None:
    out = p.assistant_update(
        {
            "name": None,
            "description": None,
            "instructions": None,
            "tool_resources": None,
            "metadata": None,
            "temperature": None,
            "top_p": None,
            "response_format": None,
            "reasoning_effort": None,
        }
    )
    assert out == {
        "name": None,
        "description": None,
        "instructions": None,
        "tool_resources": None,
        "metadata": None,
        "temperature": None,
        "top_p": None,
        "response_format": None,
        "reasoning_effort": None,
    }
    assert p.assistant_update({}) == {}
    assert p.assistant_update(None) == {}
    assert p.assistant_update({"name": "x"}) == {"name": "x"}
    assert "model" not in p.assistant_update({"name": "x"})


def test_run_create_nullable_members_keep_none() -> None:
    body = {
        "assistant_id": "asst_1",
        "model": None,
        "instructions": None,
        "additional_instructions": None,
        "additional_messages": None,
        "tools": None,
        "metadata": None,
        "temperature": None,
        "top_p": None,
        "stream": None,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": None,
        "tool_choice": None,
        "response_format": None,
        "reasoning_effort": None,
    }
    assert p.run_create(body) == body
    assert p.run_create({"assistant_id": "asst_1"}) == {"assistant_id": "asst_1"}


def test_run_create_accepts_every_member() -> None:
    body = {
        "assistant_id": "asst_1",
        "model": "gpt-4o",
        "reasoning_effort": "high",
        "instructions": "i",
        "additional_instructions": "more",
        "additional_messages": [
            MSG,
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "t"},
                    {"type": "image_file", "image_file": {"file_id": "file-1", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
                "attachments": [
                    {"file_id": "file-1", "tools": [{"type": "code_interpreter"}]},
                    {"file_id": "file-2", "tools": [{"type": "file_search"}]},
                ],
                "metadata": {"a": "b"},
            },
        ],
        "tools": [FN_TOOL] * 20,
        "metadata": {},
        "temperature": 0,
        "top_p": 1,
        "stream": True,
        "max_prompt_tokens": 256,
        "max_completion_tokens": 1000,
        "truncation_strategy": {"type": "last_messages", "last_messages": 1},
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "response_format": "auto",
    }
    assert p.run_create(copy.deepcopy(body)) == body


@pytest.mark.parametrize(
    "choice",
    [
        "none",
        "auto",
        "required",
        {"type": "code_interpreter"},
        {"type": "file_search"},
        {"type": "function", "function": {"name": "f"}},
    ],
)
def test_tool_choice_forms(choice: Any) -> None:
    assert p.run_create({"assistant_id": "a", "tool_choice": choice})["tool_choice"] == choice


@pytest.mark.parametrize("fmt", ["auto", {"type": "text"}, {"type": "json_object"}, None])
def test_response_format_forms(fmt: Any) -> None:
    assert p.assistant_update({"response_format": fmt}) == {"response_format": fmt}


def test_integral_float_is_accepted_as_integer() -> None:
    out = p.run_create({"assistant_id": "a", "max_prompt_tokens": 512.0})
    assert out["max_prompt_tokens"] == 512
    assert isinstance(out["max_prompt_tokens"], int)


def test_boolean_is_not_a_number() -> None:
    err = _raises(p.run_create, {"assistant_id": "a", "max_prompt_tokens": True})
    assert err.message == (
        "Invalid type for 'max_prompt_tokens': expected an integer, but got a boolean instead."
    )
    err = _raises(p.assistant_create, {"model": "m", "temperature": False})
    assert err.code == "invalid_type" and err.param == "temperature"


def test_thread_create_and_run_accepts_thread_and_resources() -> None:
    body = {
        "assistant_id": "asst_1",
        "thread": {
            "messages": [MSG],
            "metadata": {"k": "v"},
            "tool_resources": {"file_search": {"vector_stores": [{"file_ids": ["file-1"]}]}},
        },
        "tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}},
        "tool_choice": "required",
        "parallel_tool_calls": True,
        "stream": False,
    }
    assert p.thread_create_and_run(copy.deepcopy(body)) == body


def test_thread_create_message_order_and_update() -> None:
    msgs = [_ok_message(content=str(i)) for i in range(3)]
    assert p.thread_create({"messages": msgs})["messages"] == msgs
    assert p.thread_create({}) == {}
    assert p.thread_update({"tool_resources": None, "metadata": None}) == {
        "tool_resources": None,
        "metadata": None,
    }


def test_message_create_null_attachments_and_max_content() -> None:
    out = p.message_create({**MSG, "attachments": None, "metadata": None})
    assert out == {**MSG, "attachments": None, "metadata": None}
    assert p.message_create({"role": "user", "content": "c" * 256_000})["content"] == "c" * 256_000


def test_submit_tool_outputs_accepts_outputs() -> None:
    body = {"tool_outputs": [{"tool_call_id": "call_1", "output": ""}], "stream": None}
    assert p.submit_tool_outputs(body) == body


def test_both_file_search_resources_rejected() -> None:
    err = _raises(
        p.assistant_create,
        {
            "model": "m",
            "tool_resources": {
                "file_search": {"vector_store_ids": ["vs_1"], "vector_stores": [{}]}
            },
        },
    )
    assert err.param == "tool_resources.file_search"
    assert err.code == "invalid_value"


def test_static_chunk_overlap_above_half_rejected() -> None:
    err = _raises(
        p.thread_create,
        {
            "tool_resources": {
                "file_search": {
                    "vector_stores": [
                        {
                            "chunking_strategy": {
                                "type": "static",
                                "static": {
                                    "max_chunk_size_tokens": 800,
                                    "chunk_overlap_tokens": 401,
                                },
                            }
                        }
                    ]
                }
            }
        },
    )
    assert err.param == (
        "tool_resources.file_search.vector_stores[0].chunking_strategy.static.chunk_overlap_tokens"
    )


def test_non_object_body() -> None:
    err = _raises(p.message_create, ["x"])
    assert err.code == "invalid_type" and err.param is None


# --------------------------------------------------------------------------------------------
# order of faults


def test_missing_required_beats_unknown_and_unknown_beats_types() -> None:
    err = _raises(p.run_create, {"zzz": 1})
    assert err.code == "missing_required_parameter"
    err = _raises(p.run_create, {"assistant_id": 5, "zzz": 1})
    assert err.message == "Unknown parameter: 'zzz'."


def test_metadata_value_faults_before_count() -> None:
    metadata: dict[str, Any] = {f"k{i}": "v" for i in range(16)}
    metadata["k16"] = 2
    err = _raises(p.thread_create, {"metadata": metadata})
    assert err.param == "metadata.k16" and err.code == "invalid_type"


# --------------------------------------------------------------------------------------------
# list / include queries


def test_list_query_defaults() -> None:
    assert p.list_query({}) == {"limit": 20, "order": "desc"}
    assert p.list_query(None) == {"limit": 20, "order": "desc"}


def test_list_query_parses_and_keeps_given() -> None:
    out = p.list_query(
        {"limit": "5", "order": "asc", "after": "msg_a", "before": "msg_b", "extra": "ignored"}
    )
    assert out == {"limit": 5, "order": "asc", "after": "msg_a", "before": "msg_b"}
    assert p.list_query({"limit": ["3", "7"]})["limit"] == 7
    assert p.list_query({"limit": 100})["limit"] == 100
    assert p.list_query({"limit": "1"})["limit"] == 1


def test_list_query_run_id_and_include_only_when_allowed() -> None:
    query = {"run_id": "run_1", "include[]": INCLUDE}
    assert p.list_query(query) == {"limit": 20, "order": "desc"}
    assert p.list_query(query, allow_run_id=True) == {
        "limit": 20,
        "order": "desc",
        "run_id": "run_1",
    }
    assert p.list_query({"include[]": [INCLUDE]}, allow_include=True)["include"] == [INCLUDE]
    assert p.list_query({"include": INCLUDE}, allow_include=True)["include"] == [INCLUDE]


QUERY_REJECTIONS: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "limit 101",
        {"limit": "101"},
        "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got 101"
        " instead.",
        "limit",
        "integer_above_max_value",
    ),
    (
        "limit 0",
        {"limit": "0"},
        "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        "limit",
        "integer_below_min_value",
    ),
    (
        "limit -3",
        {"limit": "-3"},
        "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got -3 instead.",
        "limit",
        "integer_below_min_value",
    ),
    (
        "limit word",
        {"limit": "ten"},
        "Invalid type for 'limit': expected an integer, but got a string instead.",
        "limit",
        "invalid_type",
    ),
    (
        "limit decimal",
        {"limit": "2.5"},
        "Invalid type for 'limit': expected an integer, but got a decimal number instead.",
        "limit",
        "invalid_type",
    ),
    (
        "order sideways",
        {"order": "sideways"},
        "Invalid value: 'sideways'. Supported values are: 'asc' and 'desc'.",
        "order",
        "invalid_value",
    ),
    (
        "include other value",
        {"include[]": ["step_details"]},
        "Invalid value: 'step_details'. Supported values are: '" + INCLUDE + "'.",
        "include[0]",
        "invalid_value",
    ),
]


@pytest.mark.parametrize(
    ("query", "message", "param", "code"),
    [row[1:] for row in QUERY_REJECTIONS],
    ids=[row[0] for row in QUERY_REJECTIONS],
)
def test_list_query_rejections(query: dict[str, Any], message: str, param: str, code: str) -> None:
    err = _raises(p.list_query, query, allow_include=True)
    assert (err.message, err.param, err.code) == (message, param, code)


def test_include_query() -> None:
    assert p.include_query({}) == []
    assert p.include_query(None) == []
    assert p.include_query({"include[]": INCLUDE}) == [INCLUDE]
    assert p.include_query({"include[]": [INCLUDE, INCLUDE], "x": "y"}) == [INCLUDE, INCLUDE]
    err = _raises(p.include_query, {"include[]": [INCLUDE, "nope"]})
    assert err.param == "include[1]" and err.code == "invalid_value"


# --------------------------------------------------------------------------------------------
# path ids


@pytest.mark.parametrize(
    ("value", "prefix", "param"),
    [
        ("undefined", "thread", "thread_id"),
        ("run_1", "thread", "thread_id"),
        ("thread", "thread", "thread_id"),
        ("", "asst", "assistant_id"),
        ("msg-1", "msg", "message_id"),
    ],
)
def test_check_id_rejects(value: str, prefix: str, param: str) -> None:
    err = _raises(p.check_id, value, prefix, param)
    assert err.message == (
        f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'."
    )
    assert (err.param, err.code) == (param, "invalid_value")


def test_check_id_accepts() -> None:
    assert p.check_id("thread_abc", "thread", "thread_id") == "thread_abc"
    assert p.check_id("step_abc", "step", "step_id") == "step_abc"
