"""Request validation for the local Assistants API v2: one function per request body or query.

Owns the *shape* checks the real API made before touching any object: unknown keys, JSON types,
required members, enums, string/array/object limits and numeric ranges, each failing with the
real API's 400 wording, ``param`` (a JSON path such as ``tools[0].function.name``) and ``code``.
It knows nothing about stored objects (existence, run state, tool-output matching live elsewhere).

Conventions (every public function):

* input is the decoded JSON body (``dict``; ``None`` counts as ``{}``) or, for list endpoints, the
  query as ``{name: str | list[str]}``;
* output is a validated *copy* holding only the keys the caller sent: an omitted key stays
  omitted, an explicit JSON ``null`` stays ``None`` (callers read omitted = unchanged/default,
  null = reset). Integral floats given for integer fields come back as ``int``;
* the first violation raises :class:`compat._errors.ApiError` (status 400). Within one object the
  order is: missing required members, then unknown members (document order), then each member in
  the spec's declared order.

The message wording itself (shared with the Responses emulator) lives in
:mod:`compat._errors`; this module decides *which* error applies.

Imports: stdlib and ``compat._errors`` only (no I/O, no store, no openai).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compat._errors import (
    TYPE_NAMES,
    ApiError,
    above_maximum,
    array_too_long,
    array_too_short,
    below_minimum,
    empty_string,
    invalid,
    invalid_type,
    invalid_value,
    json_type,
    listing,
    missing,
    pattern_mismatch,
    string_too_long,
    string_too_short,
    unknown_parameter,
)

__all__ = [
    "INCLUDE_FILE_SEARCH_CONTENT",
    "assistant_create",
    "assistant_update",
    "check_id",
    "include_query",
    "list_query",
    "message_create",
    "message_update",
    "run_create",
    "run_update",
    "submit_tool_outputs",
    "thread_create",
    "thread_create_and_run",
    "thread_update",
]

INCLUDE_FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"

Check = Callable[[Any, str], Any]
"""A validator: ``(value, json_path) -> validated copy``; raises ApiError on the first fault."""

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
_NAME_PATTERN_TEXT = "^[a-zA-Z0-9_-]+$"

METADATA_MAX_PROPERTIES = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
MESSAGE_CONTENT_MAX = 256_000
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100


# --------------------------------------------------------------------------------------------
# wording helpers


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# The local API names a float "a decimal number" where the Responses API says "a decimal".
_GOT = {**TYPE_NAMES, "number": "a decimal number"}


def _got(value: Any) -> str:
    """The real API's name for a JSON value's type, as in ``but got <...> instead``."""
    return _GOT.get(json_type(value) or "", "an unsupported value")


def _type_error(path: str, expected: str, value: Any) -> ApiError:
    return invalid_type(path, expected, _got(value))


def _enum_expected(values: Sequence[str]) -> str:
    return f"one of {listing(values, 'or')}"


# --------------------------------------------------------------------------------------------
# primitive validators


def _string(
    *,
    max_len: int | None = None,
    min_len: int | None = None,
    pattern: tuple[re.Pattern[str], str] | None = None,
    nullable: bool = False,
) -> Check:
    def check(value: Any, path: str) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise _type_error(path, "a string", value)
        if min_len is not None and len(value) < min_len:
            if not value:
                raise empty_string(path, min_len)
            raise string_too_short(path, min_len, len(value))
        if max_len is not None and len(value) > max_len:
            raise string_too_long(path, max_len, len(value))
        if pattern is not None and not pattern[0].match(value):
            raise pattern_mismatch(path, pattern[1])
        return value

    return check


def _as_int(value: Any) -> int | None:
    """``value`` as a JSON integer (integral floats accepted), or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _check_int_range(number: int, path: str, minimum: int | None, maximum: int | None) -> int:
    if minimum is not None and number < minimum:
        raise below_minimum(path, "integer", minimum, number)
    if maximum is not None and number > maximum:
        raise above_maximum(path, "integer", maximum, number)
    return number


def _integer(
    *, minimum: int | None = None, maximum: int | None = None, nullable: bool = False
) -> Check:
    def check(value: Any, path: str) -> int | None:
        if value is None and nullable:
            return None
        number = _as_int(value)
        if number is None:
            raise _type_error(path, "an integer", value)
        return _check_int_range(number, path, minimum, maximum)

    return check


def _number(
    *, minimum: float | None = None, maximum: float | None = None, nullable: bool = False
) -> Check:
    def check(value: Any, path: str) -> float | int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(path, "a number", value)
        if minimum is not None and value < minimum:
            raise below_minimum(path, "decimal", minimum, value)
        if maximum is not None and value > maximum:
            raise above_maximum(path, "decimal", maximum, value)
        return value

    return check


def _boolean(*, nullable: bool = False) -> Check:
    def check(value: Any, path: str) -> bool | None:
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            raise _type_error(path, "a boolean", value)
        return value

    return check


def _enum(values: Sequence[str], *, nullable: bool = False) -> Check:
    def check(value: Any, path: str) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise _type_error(path, _enum_expected(values), value)
        if value not in values:
            raise invalid_value(path, value, values)
        return value

    return check


def _any_object(*, nullable: bool = False) -> Check:
    """A free-form JSON object (function ``parameters``, json ``schema``): deep-copied as is."""

    def check(value: Any, path: str) -> dict[str, Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, Mapping):
            raise _type_error(path, "an object", value)
        return copy.deepcopy(dict(value))

    return check


def _array(
    item: Check,
    *,
    max_items: int | None = None,
    min_items: int | None = None,
    nullable: bool = False,
    expected: str = "an array",
) -> Check:
    def check(value: Any, path: str) -> list[Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, (list, tuple)):
            raise _type_error(path, expected, value)
        if min_items is not None and len(value) < min_items:
            raise array_too_short(path, min_items, len(value))
        if max_items is not None and len(value) > max_items:
            raise array_too_long(path, max_items, len(value))
        return [item(element, f"{path}[{i}]") for i, element in enumerate(value)]

    return check


def _string_array(*, max_items: int | None = None, nullable: bool = False) -> Check:
    return _array(_string(), max_items=max_items, nullable=nullable, expected="an array of strings")


def _object(
    fields: Mapping[str, Check],
    *,
    required: Sequence[str] = (),
    nullable: bool = False,
    expected: str = "an object",
    after: Callable[[dict[str, Any], str], None] | None = None,
) -> Check:
    """A closed object: required members first, then unknown members, then each member."""

    def check(value: Any, path: str) -> dict[str, Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, Mapping):
            raise _type_error(path, expected, value)
        return _members(value, path, fields, required, after)

    return check


def _members(
    value: Mapping[str, Any],
    path: str,
    fields: Mapping[str, Check],
    required: Sequence[str],
    after: Callable[[dict[str, Any], str], None] | None = None,
) -> dict[str, Any]:
    for name in required:
        if name not in value:
            raise missing(_join(path, name))
    for name in value:
        if name not in fields:
            raise unknown_parameter(_join(path, str(name)))
    out: dict[str, Any] = {}
    for name, check in fields.items():
        if name in value:
            out[name] = check(value[name], _join(path, name))
    if after is not None:
        after(out, path)
    return out


def _tagged(
    variants: Mapping[str, Check], *, nullable: bool = False, expected: str = "an object"
) -> Check:
    """An object discriminated by ``type``; unsupported tags are listed alphabetically."""
    tags = sorted(variants)

    def check(value: Any, path: str) -> dict[str, Any] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, Mapping):
            raise _type_error(path, expected, value)
        if "type" not in value:
            raise missing(_join(path, "type"))
        tag = value["type"]
        if not isinstance(tag, str):
            raise _type_error(_join(path, "type"), _enum_expected(tags), tag)
        if tag not in variants:
            raise invalid_value(_join(path, "type"), tag, tags)
        result: dict[str, Any] = variants[tag](value, path)
        return result

    return check


def _type_const(tag: str) -> Check:
    return _enum([tag])


# --------------------------------------------------------------------------------------------
# shared shapes


def _metadata(value: Any, path: str) -> dict[str, str] | None:
    """``Metadata``: null, or ≤16 string values under keys of ≤64 chars, values ≤512 chars."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _type_error(path, "an object", value)
    out: dict[str, str] = {}
    for key, item in value.items():
        key_path = _join(path, str(key))
        if len(str(key)) > METADATA_KEY_MAX:
            raise invalid(
                f"Invalid property name in '{path}': '{key}' is too long. Expected a string "
                f"with maximum length {METADATA_KEY_MAX}, but got a string with length "
                f"{len(str(key))} instead.",
                param=key_path,
                code="property_name_above_max_length",
            )
        if not isinstance(item, str):
            raise _type_error(key_path, "a string", item)
        if len(item) > METADATA_VALUE_MAX:
            raise string_too_long(key_path, METADATA_VALUE_MAX, len(item))
        out[str(key)] = item
    if len(out) > METADATA_MAX_PROPERTIES:
        raise invalid(
            f"Invalid '{path}': too many properties. Expected an object with at most "
            f"{METADATA_MAX_PROPERTIES} properties, but got an object with {len(out)} "
            "properties instead.",
            param=path,
            code="object_above_max_properties",
        )
    return out


_function_name = _string(min_len=1, max_len=64, pattern=(_NAME_PATTERN, _NAME_PATTERN_TEXT))

_FUNCTION_OBJECT = _object(
    {
        "description": _string(),
        "name": _function_name,
        "parameters": _any_object(),
        "strict": _boolean(nullable=True),
    },
    required=("name",),
)

_RANKING_OPTIONS = _object(
    {
        "ranker": _enum(["auto", "default_2024_08_21"]),
        "score_threshold": _number(minimum=0, maximum=1),
    },
    required=("score_threshold",),
)

_TOOL = _tagged(
    {
        "code_interpreter": _object({"type": _type_const("code_interpreter")}),
        "file_search": _object(
            {
                "type": _type_const("file_search"),
                "file_search": _object(
                    {
                        "max_num_results": _integer(minimum=1, maximum=50),
                        "ranking_options": _RANKING_OPTIONS,
                    }
                ),
            }
        ),
        "function": _object(
            {"type": _type_const("function"), "function": _FUNCTION_OBJECT},
            required=("function",),
        ),
    }
)

_ASSISTANT_TOOLS = _array(_TOOL, max_items=128, expected="an array of objects")
_RUN_TOOLS = _array(_TOOL, max_items=20, nullable=True, expected="an array of objects")

_JSON_SCHEMA = _object(
    {
        "description": _string(),
        "name": _function_name,
        "schema": _any_object(),
        "strict": _boolean(nullable=True),
    },
    required=("name",),
)

_RESPONSE_FORMAT_OBJECT = _tagged(
    {
        "text": _object({"type": _type_const("text")}),
        "json_object": _object({"type": _type_const("json_object")}),
        "json_schema": _object(
            {"type": _type_const("json_schema"), "json_schema": _JSON_SCHEMA},
            required=("json_schema",),
        ),
    }
)


def _response_format(value: Any, path: str) -> str | dict[str, Any] | None:
    """``"auto"`` | ``{type: text|json_object|json_schema, ...}`` | null."""
    if value is None:
        return None
    if isinstance(value, str):
        if value != "auto":
            raise invalid_value(path, value, ["auto"])
        return value
    if not isinstance(value, Mapping):
        raise _type_error(path, "one of 'auto' or object", value)
    result: dict[str, Any] = _RESPONSE_FORMAT_OBJECT(value, path)
    return result


_REASONING_EFFORT = _enum(
    ["none", "minimal", "low", "medium", "high", "xhigh", "max"], nullable=True
)

_TOOL_CHOICE_MODES = ["none", "auto", "required"]


def _tool_choice_object_after(out: dict[str, Any], path: str) -> None:
    if out.get("type") == "function" and "function" not in out:
        raise missing(_join(path, "function"))


_TOOL_CHOICE_OBJECT = _object(
    {
        "type": _enum(["function", "code_interpreter", "file_search"]),
        "function": _object({"name": _string()}, required=("name",)),
    },
    required=("type",),
    after=_tool_choice_object_after,
)


def _tool_choice(value: Any, path: str) -> str | dict[str, Any] | None:
    """``"none"|"auto"|"required"`` | ``{type, function?: {name}}`` | null."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in _TOOL_CHOICE_MODES:
            raise invalid_value(path, value, _TOOL_CHOICE_MODES)
        return value
    if not isinstance(value, Mapping):
        raise _type_error(path, f"one of {_enum_expected(_TOOL_CHOICE_MODES)} or object", value)
    result: dict[str, Any] = _TOOL_CHOICE_OBJECT(value, path)
    return result


_TRUNCATION_STRATEGY = _object(
    {
        "type": _enum(["auto", "last_messages"]),
        "last_messages": _integer(minimum=1, nullable=True),
    },
    required=("type",),
    nullable=True,
)


def _static_chunking_after(out: dict[str, Any], path: str) -> None:
    size, overlap = out.get("max_chunk_size_tokens"), out.get("chunk_overlap_tokens")
    if isinstance(size, int) and isinstance(overlap, int) and overlap > size // 2:
        param = _join(path, "chunk_overlap_tokens")
        raise invalid(
            f"Invalid '{param}': the overlap must not exceed half of 'max_chunk_size_tokens' "
            f"({size}), but got {overlap} instead.",
            param=param,
            code="invalid_value",
        )


_CHUNKING_STRATEGY = _tagged(
    {
        "auto": _object({"type": _type_const("auto")}),
        "static": _object(
            {
                "type": _type_const("static"),
                "static": _object(
                    {
                        "max_chunk_size_tokens": _integer(minimum=100, maximum=4096),
                        "chunk_overlap_tokens": _integer(minimum=0),
                    },
                    required=("max_chunk_size_tokens", "chunk_overlap_tokens"),
                    after=_static_chunking_after,
                ),
            },
            required=("static",),
        ),
    }
)

_VECTOR_STORE_HELPER = _object(
    {
        "file_ids": _string_array(max_items=100_000_000),
        "chunking_strategy": _CHUNKING_STRATEGY,
        "metadata": _metadata,
    }
)


def _file_search_after(out: dict[str, Any], path: str) -> None:
    if "vector_store_ids" in out and "vector_stores" in out:
        raise invalid(
            f"Invalid '{path}': only one of 'vector_store_ids' or 'vector_stores' may be provided.",
            param=path,
            code="invalid_value",
        )


def _tool_resources(*, vector_stores: bool) -> Check:
    file_search: dict[str, Check] = {"vector_store_ids": _string_array(max_items=1)}
    if vector_stores:
        file_search["vector_stores"] = _array(
            _VECTOR_STORE_HELPER, max_items=1, expected="an array of objects"
        )
    return _object(
        {
            "code_interpreter": _object({"file_ids": _string_array(max_items=20)}),
            "file_search": _object(file_search, after=_file_search_after),
        },
        nullable=True,
    )


_TOOL_RESOURCES_CREATE = _tool_resources(vector_stores=True)
_TOOL_RESOURCES_PLAIN = _tool_resources(vector_stores=False)

# ---- messages

_IMAGE_DETAIL = _enum(["auto", "low", "high"])

_CONTENT_PART = _tagged(
    {
        "image_file": _object(
            {
                "type": _type_const("image_file"),
                "image_file": _object(
                    {"file_id": _string(), "detail": _IMAGE_DETAIL}, required=("file_id",)
                ),
            },
            required=("image_file",),
        ),
        "image_url": _object(
            {
                "type": _type_const("image_url"),
                "image_url": _object(
                    {"url": _string(), "detail": _IMAGE_DETAIL}, required=("url",)
                ),
            },
            required=("image_url",),
        ),
        "text": _object({"type": _type_const("text"), "text": _string()}, required=("text",)),
    }
)

_CONTENT_PARTS = _array(_CONTENT_PART, min_items=1)
_CONTENT_STRING = _string(min_len=1, max_len=MESSAGE_CONTENT_MAX)


def _content(value: Any, path: str) -> str | list[dict[str, Any]]:
    """A non-empty string (≤256,000 chars) or a non-empty array of content parts."""
    if isinstance(value, str):
        text: str = _CONTENT_STRING(value, path)
        return text
    if isinstance(value, (list, tuple)):
        parts: list[dict[str, Any]] = _CONTENT_PARTS(value, path)
        return parts
    raise _type_error(path, "one of a string or array of objects", value)


_ATTACHMENT = _object(
    {
        "file_id": _string(),
        "tools": _array(
            _tagged(
                {
                    "code_interpreter": _object({"type": _type_const("code_interpreter")}),
                    "file_search": _object({"type": _type_const("file_search")}),
                }
            ),
            expected="an array of objects",
        ),
    },
    required=("file_id", "tools"),
)

_MESSAGE_FIELDS: dict[str, Check] = {
    "role": _enum(["user", "assistant"]),
    "content": _content,
    "attachments": _array(_ATTACHMENT, nullable=True, expected="an array of objects"),
    "metadata": _metadata,
}
_MESSAGE_REQUIRED = ("role", "content")
_MESSAGE = _object(_MESSAGE_FIELDS, required=_MESSAGE_REQUIRED)
_MESSAGES = _array(_MESSAGE, expected="an array of objects")

# ---- threads

_THREAD_CREATE_FIELDS: dict[str, Check] = {
    "messages": _MESSAGES,
    "tool_resources": _TOOL_RESOURCES_CREATE,
    "metadata": _metadata,
}

# ---- runs

_RUN_COMMON_FIELDS: dict[str, Check] = {
    "temperature": _number(minimum=0, maximum=2, nullable=True),
    "top_p": _number(minimum=0, maximum=1, nullable=True),
    "stream": _boolean(nullable=True),
    "max_prompt_tokens": _integer(minimum=256, nullable=True),
    "max_completion_tokens": _integer(minimum=256, nullable=True),
    "truncation_strategy": _TRUNCATION_STRATEGY,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _boolean(),
    "response_format": _response_format,
}

_RUN_CREATE_FIELDS: dict[str, Check] = {
    "assistant_id": _string(),
    "model": _string(nullable=True),
    "reasoning_effort": _REASONING_EFFORT,
    "instructions": _string(nullable=True),
    "additional_instructions": _string(nullable=True),
    "additional_messages": _array(_MESSAGE, nullable=True, expected="an array of objects"),
    "tools": _RUN_TOOLS,
    "metadata": _metadata,
    **_RUN_COMMON_FIELDS,
}

_THREAD_CREATE_AND_RUN_FIELDS: dict[str, Check] = {
    "assistant_id": _string(),
    "thread": _object(_THREAD_CREATE_FIELDS),
    "model": _string(nullable=True),
    "instructions": _string(nullable=True),
    "tools": _RUN_TOOLS,
    "tool_resources": _TOOL_RESOURCES_PLAIN,
    "metadata": _metadata,
    **_RUN_COMMON_FIELDS,
}

# ---- assistants


def _assistant_fields(*, create: bool) -> dict[str, Check]:
    return {
        "model": _string(),
        "name": _string(max_len=256, nullable=True),
        "description": _string(max_len=512, nullable=True),
        "instructions": _string(max_len=256_000, nullable=True),
        "reasoning_effort": _REASONING_EFFORT,
        "tools": _ASSISTANT_TOOLS,
        "tool_resources": _TOOL_RESOURCES_CREATE if create else _TOOL_RESOURCES_PLAIN,
        "metadata": _metadata,
        "temperature": _number(minimum=0, maximum=2, nullable=True),
        "top_p": _number(minimum=0, maximum=1, nullable=True),
        "response_format": _response_format,
    }


_ASSISTANT_CREATE_FIELDS = _assistant_fields(create=True)
_ASSISTANT_UPDATE_FIELDS = _assistant_fields(create=False)

_TOOL_OUTPUT = _object({"tool_call_id": _string(), "output": _string()})
_SUBMIT_TOOL_OUTPUTS_FIELDS: dict[str, Check] = {
    "tool_outputs": _array(_TOOL_OUTPUT, expected="an array of objects"),
    "stream": _boolean(nullable=True),
}

_METADATA_ONLY_FIELDS: dict[str, Check] = {"metadata": _metadata}


# --------------------------------------------------------------------------------------------
# public: bodies


def _body(body: Any, fields: Mapping[str, Check], required: Sequence[str] = ()) -> dict[str, Any]:
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise invalid(
            f"Invalid body: expected a JSON object, but got {_got(body)} instead.",
            code="invalid_type",
        )
    return _members(body, "", fields, required)


def assistant_create(body: Any) -> dict[str, Any]:
    """``POST /assistants``: ``model`` required; ``tool_resources`` may use ``vector_stores``."""
    return _body(body, _ASSISTANT_CREATE_FIELDS, ("model",))


def assistant_update(body: Any) -> dict[str, Any]:
    """``POST /assistants/{id}``: every member optional; no ``vector_stores`` helper."""
    return _body(body, _ASSISTANT_UPDATE_FIELDS)


def thread_create(body: Any) -> dict[str, Any]:
    """``POST /threads``: ``messages`` (message-create shape), ``tool_resources``, ``metadata``."""
    return _body(body, _THREAD_CREATE_FIELDS)


def thread_update(body: Any) -> dict[str, Any]:
    """``POST /threads/{id}``: ``tool_resources`` (no ``vector_stores``), ``metadata``."""
    return _body(body, {"tool_resources": _TOOL_RESOURCES_PLAIN, "metadata": _metadata})


def message_create(body: Any) -> dict[str, Any]:
    """``POST /threads/{t}/messages``: ``role`` and ``content`` required."""
    return _body(body, _MESSAGE_FIELDS, _MESSAGE_REQUIRED)


def message_update(body: Any) -> dict[str, Any]:
    """``POST /threads/{t}/messages/{m}``: ``metadata`` only."""
    return _body(body, _METADATA_ONLY_FIELDS)


def run_create(body: Any) -> dict[str, Any]:
    """``POST /threads/{t}/runs`` body (``include`` travels in the query: see include_query)."""
    return _body(body, _RUN_CREATE_FIELDS, ("assistant_id",))


def thread_create_and_run(body: Any) -> dict[str, Any]:
    """``POST /threads/runs``: ``assistant_id`` required, ``thread`` in thread_create shape."""
    return _body(body, _THREAD_CREATE_AND_RUN_FIELDS, ("assistant_id",))


def submit_tool_outputs(body: Any) -> dict[str, Any]:
    """``POST .../submit_tool_outputs``: ``tool_outputs`` required, ``stream``."""
    return _body(body, _SUBMIT_TOOL_OUTPUTS_FIELDS, ("tool_outputs",))


def run_update(body: Any) -> dict[str, Any]:
    """``POST /threads/{t}/runs/{r}``: ``metadata`` only."""
    return _body(body, _METADATA_ONLY_FIELDS)


# --------------------------------------------------------------------------------------------
# public: queries and path ids


def _scalar(query: Mapping[str, Any], name: str) -> Any:
    """A single-valued query parameter: the last one when it was repeated."""
    value = query[name]
    if isinstance(value, (list, tuple)):
        return value[-1] if value else ""
    return value


def _query_int(value: Any, path: str) -> int:
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            float(text)
        except ValueError:
            raise _type_error(path, "an integer", value) from None
        raise invalid_type(path, "an integer", "a decimal number")
    number = _as_int(value)
    if number is None:
        raise _type_error(path, "an integer", value)
    return number


def _query_include(query: Mapping[str, Any]) -> list[str] | None:
    key = "include[]" if "include[]" in query else "include" if "include" in query else None
    if key is None:
        return None
    raw = query[key]
    values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    out: list[str] = []
    for i, value in enumerate(values):
        path = f"include[{i}]"
        if not isinstance(value, str):
            raise _type_error(path, _enum_expected([INCLUDE_FILE_SEARCH_CONTENT]), value)
        if value != INCLUDE_FILE_SEARCH_CONTENT:
            raise invalid_value(path, value, [INCLUDE_FILE_SEARCH_CONTENT])
        out.append(value)
    return out


def list_query(
    query: Mapping[str, Any] | None, *, allow_run_id: bool = False, allow_include: bool = False
) -> dict[str, Any]:
    """Query of a list endpoint -> ``{limit, order, after?, before?, run_id?, include?}``.

    ``limit`` (default 20, 1..100, digits parsed) and ``order`` (default ``desc``) are always
    present in the result; the others only when given (``run_id`` with ``allow_run_id``,
    ``include`` / ``include[]`` with ``allow_include``). Unknown keys are ignored.
    """
    query = query or {}
    out: dict[str, Any] = {"limit": LIST_LIMIT_DEFAULT, "order": "desc"}
    if "limit" in query:
        limit = _query_int(_scalar(query, "limit"), "limit")
        out["limit"] = _check_int_range(limit, "limit", 1, LIST_LIMIT_MAX)
    if "order" in query:
        order = _scalar(query, "order")
        out["order"] = _enum(["asc", "desc"])(order, "order")
    for name in ("after", "before") + (("run_id",) if allow_run_id else ()):
        if name in query:
            out[name] = _string()(_scalar(query, name), name)
    if allow_include:
        include = _query_include(query)
        if include is not None:
            out["include"] = include
    return out


def include_query(query: Mapping[str, Any] | None) -> list[str]:
    """``include[]`` of ``runs.create`` / ``steps.retrieve`` (``[]`` when absent)."""
    return _query_include(query or {}) or []


def check_id(value: Any, prefix: str, param: str) -> str:
    """A path id must begin with ``<prefix>_`` (``prefix`` given without the underscore)."""
    if not isinstance(value, str) or not value.startswith(f"{prefix}_"):
        raise invalid(
            f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'.",
            param=param,
            code="invalid_value",
        )
    return value
