"""Tools both ways: Assistants tools, tool_choice and response_format -> Responses params,
Responses function_call items -> Assistants required_action and step tool calls.

Owns responses-mapping §1.3, §1.4, §1.5 and the function-call half of §4.1.
Pure: plain dicts in, plain dicts out; imports no I/O (no openai, httpx, store or clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "function_tool_call",
    "required_action_from_calls",
    "to_response_tool",
    "to_response_tool_choice",
    "to_response_tools",
    "to_text_format",
]

# Hosted tool types a forced tool_choice may name (responses-mapping §1.4).
_HOSTED = ("code_interpreter", "file_search")


def _unique(values: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication (ids merged from several levels may repeat)."""
    return list(dict.fromkeys(values))


def to_response_tool(
    tool: dict[str, Any],
    *,
    code_interpreter_file_ids: Sequence[str] = (),
    file_search_vector_store_ids: Sequence[str] = (),
) -> dict[str, Any] | None:
    """One Assistants tool param -> one Responses tool, or None when it cannot be sent.

    - function: flattened; `parameters` defaults to an empty object schema; `strict` is
      `bool(strict)` - False when null/absent, because Responses treats a missing `strict` as
      strict while Assistants functions were non-strict by default.
    - code_interpreter: `container: {"type": "auto", "file_ids": [...]}` (always a list).
    - file_search: `vector_store_ids` plus `max_num_results` / `ranking_options` when set
      (ranker always "auto": the Assistants and Responses ranker enums differ); None when
      there is no vector store (Responses requires one; Assistants simply found nothing).
    - unknown types: None (ignored).
    """
    kind = tool.get("type")
    if kind == "function":
        fn = tool.get("function") or {}
        out: dict[str, Any] = {"type": "function", "name": fn.get("name")}
        if fn.get("description") is not None:
            out["description"] = fn["description"]
        out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
        out["strict"] = bool(fn.get("strict"))
        return out
    if kind == "code_interpreter":
        return {
            "type": "code_interpreter",
            "container": {"type": "auto", "file_ids": _unique(code_interpreter_file_ids)},
        }
    if kind == "file_search":
        vector_store_ids = _unique(file_search_vector_store_ids)
        if not vector_store_ids:
            return None
        out = {"type": "file_search", "vector_store_ids": vector_store_ids}
        options = tool.get("file_search") or {}
        if options.get("max_num_results") is not None:
            out["max_num_results"] = options["max_num_results"]
        ranking = options.get("ranking_options") or {}
        if ranking.get("score_threshold") is not None:
            out["ranking_options"] = {
                "score_threshold": ranking["score_threshold"],
                "ranker": "auto",
            }
        return out
    return None


def to_response_tools(
    tools: Sequence[dict[str, Any]],
    *,
    code_interpreter_file_ids: Sequence[str] = (),
    file_search_vector_store_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Effective Assistants tools -> Responses `tools`, in order (see `to_response_tool`).

    Hosted tools appear at most once (the first occurrence wins); tools that cannot be sent
    (file_search without vector stores, unknown types) are left out.
    """
    out: list[dict[str, Any]] = []
    seen_hosted: set[str] = set()
    for tool in tools:
        kind = tool.get("type")
        if kind in _HOSTED:
            if kind in seen_hosted:
                continue
            seen_hosted.add(kind)
        converted = to_response_tool(
            tool,
            code_interpreter_file_ids=code_interpreter_file_ids,
            file_search_vector_store_ids=file_search_vector_store_ids,
        )
        if converted is not None:
            out.append(converted)
    return out


def to_response_tool_choice(
    tool_choice: str | dict[str, Any] | None,
    *,
    tools: Sequence[dict[str, Any]],
    first_turn: bool,
) -> str | dict[str, Any] | None:
    """Assistants `tool_choice` -> Responses `tool_choice`; None means "do not send".

    `tools` are the Responses tools actually sent this turn.
    - no tools sent, or `tool_choice` null: None.
    - "auto" / "none": unchanged.
    - forced choices ("required", a function, a hosted tool) apply to the first turn of a run
      only; later turns get "auto", otherwise a forced tool would loop forever.
    - `{"type": "function", "function": {"name": f}}` -> `{"type": "function", "name": f}`.
    - `{"type": "code_interpreter" | "file_search"}` -> same, or "auto" when that tool is not
      sent (e.g. file_search dropped for lack of vector stores).
    """
    if not tools or tool_choice is None:
        return None
    if isinstance(tool_choice, str):
        if tool_choice == "required" and not first_turn:
            return "auto"
        return tool_choice
    if not first_turn:
        return "auto"
    kind = tool_choice.get("type")
    if kind == "function":
        name = (tool_choice.get("function") or {}).get("name")
        return {"type": "function", "name": name} if name else "auto"
    if kind in _HOSTED:
        sent = {tool.get("type") for tool in tools}
        return {"type": kind} if kind in sent else "auto"
    return "auto"


def to_text_format(response_format: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """Assistants `response_format` -> Responses `text.format`; None means "omit `text`".

    "auto" / null -> None; `{"type": "text"}` and `{"type": "json_object"}` unchanged;
    `{"type": "json_schema", "json_schema": {name, description?, schema?, strict?}}` ->
    flattened `{"type": "json_schema", "name", "schema", "description"?, "strict"?}`.
    Responses requires `schema`; an Assistants json_schema without one (allowed there) is
    sent as `{"type": "object"}`.
    """
    if response_format is None or isinstance(response_format, str):
        return None
    kind = response_format.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        out: dict[str, Any] = {"type": "json_schema", "name": spec.get("name")}
        if spec.get("description") is not None:
            out["description"] = spec["description"]
        schema = spec.get("schema")
        if schema is None:
            schema = spec.get("schema_")  # an SDK model dumped without by_alias
        out["schema"] = schema if schema is not None else {"type": "object"}
        if spec.get("strict") is not None:
            out["strict"] = spec["strict"]
        return out
    return None


def function_tool_call(item: Mapping[str, Any], *, call_id: str) -> dict[str, Any]:
    """A Responses `function_call` output item as it opens -> Assistants `FunctionToolCall`.

    `call_id` is the item's `call_id` (users echo it back as `tool_call_id`; never the `fc_`
    item id), or a local `call_…` id when upstream sent none. `arguments` start empty: they
    arrive as deltas and with the done item. `output` stays None until submit_tool_outputs.
    """
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": item.get("name", ""), "arguments": "", "output": None},
    }


def required_action_from_calls(tool_calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A step's function `tool_calls` (`function_tool_call` dicts) -> the Run's
    `required_action`, same order (the call's `output` is left out)."""
    return {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {
                        "name": call["function"]["name"],
                        "arguments": call["function"]["arguments"],
                    },
                }
                for call in tool_calls
            ]
        },
    }
