"""Request validation for the Responses emulator: schema check plus the API's semantic 400s.

Owns turning a ``POST /v1/responses`` body into either "accepted" or the exact error the real
API answers (status, message, ``param`` as a JSON path like ``tools[0].name``, ``code``).
Used only by :mod:`compat.testing`. Stdlib only at import time; ``jsonschema`` is imported
lazily the first time a body is validated (it is in the project's ``test`` extra).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._errors import ApiError

SCHEMA_RESOURCE = "create_response.schema.json"

# Fields the spec marks required that the real API accepts without (spec README: "the schema
# is the upper bound of what is accepted"); relaxing them avoids rejecting working user code.
RELAXED_REQUIRED: dict[str, set[str]] = {
    "FunctionTool": {"strict"},
    # Replayed assistant text parts are accepted without annotations/logprobs.
    "OutputTextContent": {"annotations", "logprobs"},
}
# The API accepts assistant messages in the "easy" form with output_text/refusal parts (the
# spec only lists input_* parts there); roles and part types are then matched in
# check_semantics, as the API does.
EXTRA_INPUT_CONTENT = [{"$ref": "#/$defs/OutputTextContent"}, {"$ref": "#/$defs/RefusalContent"}]
_ASSISTANT_PARTS = ("output_text", "refusal")
_USER_PARTS = ("input_text", "input_image", "input_file")

_ID_NOT_PERSISTED = (
    "Item with id '{id}' not found. Items are not persisted when store is set to false. "
    "Try again with store set to true, or remove this item from your input."
)
_JSON_WORD = (
    "Response input messages must contain the word 'json' in some form to use "
    "'text.format' of type 'json_object'."
)
_TYPE_NAMES = {
    "string": "a string",
    "number": "a decimal",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


# The emulator answers errors exactly like the local API does: one error type for both.
RequestError = ApiError


_validator_lock = threading.Lock()
_validator: Any = None
_top_level_keys: frozenset[str] = frozenset()


def load_schema() -> dict[str, Any]:
    """The bundled ``CreateResponse`` schema with :data:`RELAXED_REQUIRED` applied."""
    # Next to this module, so it works from a checkout, a wheel and a namespace package alike.
    text = (Path(__file__).parent / "_data" / SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    for name, fields in RELAXED_REQUIRED.items():
        node = schema["$defs"].get(name, {})
        if "required" in node:
            node["required"] = [f for f in node["required"] if f not in fields]
    schema["$defs"]["InputContent"]["anyOf"].extend(EXTRA_INPUT_CONTENT)
    return schema


def _collect_properties(schema: dict[str, Any], node: Any, out: set[str]) -> None:
    """Property names reachable through ``$ref``/``allOf`` (the top-level parameter list)."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        _collect_properties(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]], out)
    out.update(node.get("properties", {}))
    for sub in node.get("allOf", []):
        _collect_properties(schema, sub, out)


def schema_validation_available() -> bool:
    """True when ``jsonschema`` (the ``test`` extra) is installed; without it the emulator
    still answers, but checks only what it can without the official schema."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return False
    return True


def _get_validator() -> Any:
    """Build the Draft 2020-12 validator once (thread-safe, lazy jsonschema import)."""
    global _validator, _top_level_keys
    with _validator_lock:
        if _validator is None:
            from jsonschema import Draft202012Validator

            schema = load_schema()
            keys: set[str] = set()
            _collect_properties(schema, schema, keys)
            _top_level_keys = frozenset(keys)
            _validator = Draft202012Validator(schema)
        return _validator


def json_path(path: Iterable[Any]) -> str | None:
    """``["tools", 0, "name"]`` -> ``"tools[0].name"`` (the API's ``param`` notation)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or None


def _quote_list(values: Sequence[Any]) -> str:
    """``'a', 'b', and 'c'`` like the API's "Supported values are" lists."""
    items = [f"'{v}'" for v in values]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_miss(err: Any) -> bool:
    """True when an anyOf branch failed because the instance is a different *kind* of thing.

    Such branches (wrong ``type`` discriminator, wrong JSON type) say nothing about what the
    caller meant; the remaining branch carries the useful error.
    """
    path = list(err.path)
    if err.validator == "type" and not path:
        return True
    if path == ["type"]:  # wrong discriminator value (enum, const, or a nullable anyOf)
        return True
    if err.validator == "required" and not path and "'type'" in err.message:
        return True
    if err.validator == "anyOf" and not path and err.context:
        return all(any(map(_is_miss, errs)) for errs in _branches(err).values())
    return False


def _branches(err: Any) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for c in err.context:
        groups.setdefault(c.relative_schema_path[0], []).append(c)
    return groups


def _primary(errors: Sequence[Any]) -> Any:
    """The error to report among siblings: the deepest one, first on ties."""
    return max(errors, key=lambda e: len(list(e.absolute_path)))


def _pick(err: Any) -> Any:
    """Descend through anyOf failures into the branch the caller evidently meant."""
    while err.validator == "anyOf" and err.context:
        # A branch with any "miss" is about another kind of object (see _is_miss).
        candidates = [errs for errs in _branches(err).values() if not any(map(_is_miss, errs))]
        if not candidates:
            return err
        best = max(candidates, key=lambda errs: (max(len(list(e.path)) for e in errs), -len(errs)))
        err = _primary(best)
    return err


def _allowed_types(err: Any, out: list[Any]) -> None:
    """Collect the ``type`` values every (nested) anyOf branch would have accepted."""
    for c in err.context:
        path = list(c.path)
        if path == ["type"] and c.validator in ("enum", "const"):
            vals = c.validator_value if c.validator == "enum" else [c.validator_value]
            out.extend(v for v in vals if v is not None and v not in out)
        elif c.validator == "anyOf" and c.context and path in ([], ["type"]):
            _allowed_types(c, out)


def _anyof_error(err: Any) -> RequestError:
    """Describe an anyOf where every branch was a 'miss': bad discriminator or bad JSON type."""
    inst = err.instance
    path = list(err.absolute_path)
    if isinstance(inst, dict) and "type" in inst:
        allowed: list[Any] = []
        _allowed_types(err, allowed)
        msg = f"Invalid value: '{inst['type']}'."
        if allowed:
            msg += f" Supported values are: {_quote_list(allowed)}."
        return RequestError(400, msg, param=json_path(path + ["type"]), code="invalid_value")
    expected = [
        c.validator_value for c in err.context if c.validator == "type" and not list(c.path)
    ]
    names = [t for e in expected for t in ([e] if isinstance(e, str) else e) if t != "null"]
    want = _TYPE_NAMES.get(names[0], names[0]) if names else "a different type"
    got = _TYPE_NAMES[_json_type(inst)]
    param = json_path(path)
    return RequestError(
        400,
        f"Invalid type for '{param}': expected {want}, but got {got} instead.",
        param=param,
        code="invalid_type",
    )


def _to_request_error(err: Any) -> RequestError:
    """Map one jsonschema error to the API's message/param/code."""
    err = _pick(err)
    path = list(err.absolute_path)
    param = json_path(path)
    v, vv, inst = err.validator, err.validator_value, err.instance
    if v == "anyOf":
        return _anyof_error(err)
    if v == "required":
        missing = next((k for k in vv if not (isinstance(inst, dict) and k in inst)), vv[0])
        full = json_path([*path, missing])
        return RequestError(
            400,
            f"Missing required parameter: '{full}'.",
            param=full,
            code="missing_required_parameter",
        )
    if v == "additionalProperties" and isinstance(inst, dict):
        known = set(err.schema.get("properties", {}))
        extra = next((k for k in inst if k not in known), None)
        full = json_path([*path, extra]) if extra else param
        return RequestError(
            400, f"Unknown parameter: '{full}'.", param=full, code="unknown_parameter"
        )
    if v == "type":
        want = vv if isinstance(vv, str) else vv[0]
        return RequestError(
            400,
            f"Invalid type for '{param}': expected {_TYPE_NAMES.get(want, want)}, "
            f"but got {_TYPE_NAMES[_json_type(inst)]} instead.",
            param=param,
            code="invalid_type",
        )
    if v in ("enum", "const"):
        values = vv if v == "enum" else [vv]
        return RequestError(
            400,
            f"Invalid value: '{inst}'. Supported values are: {_quote_list(values)}.",
            param=param,
            code="invalid_value",
        )
    kind = "integer" if isinstance(inst, int) else "decimal"
    if v in ("minimum", "exclusiveMinimum"):
        op = ">=" if v == "minimum" else ">"
        return RequestError(
            400,
            f"Invalid '{param}': {kind} below minimum value. Expected a value {op} {vv}, "
            f"but got {inst} instead.",
            param=param,
            code=f"{kind}_below_min_value",
        )
    if v in ("maximum", "exclusiveMaximum"):
        op = "<=" if v == "maximum" else "<"
        return RequestError(
            400,
            f"Invalid '{param}': {kind} above maximum value. Expected a value {op} {vv}, "
            f"but got {inst} instead.",
            param=param,
            code=f"{kind}_above_max_value",
        )
    if v == "maxLength":
        return RequestError(
            400,
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{vv}, but got a string with length {len(inst)} instead.",
            param=param,
            code="string_above_max_length",
        )
    if v == "minLength":
        return RequestError(
            400,
            f"Invalid '{param}': string too short. Expected a string with minimum length "
            f"{vv}, but got a string with length {len(inst)} instead.",
            param=param,
            code="string_below_min_length",
        )
    if v == "maxItems":
        return RequestError(
            400,
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{vv}, but got an array with length {len(inst)} instead.",
            param=param,
            code="array_above_max_length",
        )
    if v == "minItems":
        return RequestError(
            400,
            f"Invalid '{param}': empty array. Expected an array with minimum length {vv}, "
            f"but got an empty array instead."
            if not inst
            else f"Invalid '{param}': array too short. Expected an array with minimum length {vv}, "
            f"but got an array with length {len(inst)} instead.",
            param=param,
            code="empty_array" if not inst else "array_below_min_length",
        )
    if v == "pattern":
        return RequestError(
            400,
            f"Invalid '{param}': string does not match pattern. Expected a string that "
            f"matches the pattern '{vv}'.",
            param=param,
            code="invalid_value",
        )
    return RequestError(
        400, f"Invalid value for '{param}': {err.message}", param=param, code="invalid_value"
    )


def validate_schema(body: Any) -> None:
    """Raise :class:`RequestError` unless ``body`` fits ``CreateResponse`` (plus ``model``)."""
    if not isinstance(body, dict):
        raise RequestError(400, "Invalid type for body: expected an object.", code="invalid_type")
    if not schema_validation_available():
        if body.get("model") is None:
            raise RequestError(
                400,
                "Missing required parameter: 'model'.",
                param="model",
                code="missing_required_parameter",
            )
        return
    validator = _get_validator()
    for key in body:
        if key not in _top_level_keys:
            raise RequestError(
                400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter"
            )
    errors = list(validator.iter_errors(body))
    if errors:
        raise _to_request_error(_primary(errors))
    # Not required by the schema (a stored prompt could name it) but by the API in practice.
    if body.get("model") is None and body.get("prompt") is None:
        raise RequestError(
            400,
            "Missing required parameter: 'model'.",
            param="model",
            code="missing_required_parameter",
        )


def is_reasoning_model(model: str | None) -> bool:
    """Model ids that reject sampling parameters and emit reasoning items (o-series, gpt-5)."""
    return bool(model) and (str(model).startswith("o") or str(model).startswith("gpt-5"))


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``input`` as a list of items (a string is one user message)."""
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return [dict(i) for i in raw if isinstance(i, dict)]


def _item_type(item: dict[str, Any]) -> str:
    return str(item.get("type") or ("message" if "role" in item else ""))


def all_text(body: dict[str, Any], history: Sequence[dict[str, Any]]) -> str:
    """Every piece of text the model would read: instructions plus all item text."""
    parts: list[str] = []
    if isinstance(body.get("instructions"), str):
        parts.append(body["instructions"])
    for item in history:
        parts.append(item_text(item))
    return "\n".join(p for p in parts if p)


def item_text(item: dict[str, Any]) -> str:
    """The text an input item contributes (message text, tool arguments/outputs)."""
    kind = _item_type(item)
    if kind == "message":
        content = item.get("content")
        if isinstance(content, str):
            return content
        out = []
        for part in content or []:
            if isinstance(part, dict):
                out.append(str(part.get("text") or part.get("refusal") or ""))
        return "".join(out)
    if kind == "function_call":
        return str(item.get("arguments") or "")
    if kind == "function_call_output":
        return output_text(item.get("output"))
    if kind == "code_interpreter_call":
        return str(item.get("code") or "")
    return ""


def output_text(output: Any) -> str:
    """A ``function_call_output.output`` (string or list of content parts) as text."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
    return "" if output is None else str(output)


def check_semantics(
    body: dict[str, Any],
    prior: Sequence[dict[str, Any]],
    known_response: bool,
) -> None:
    """The API's checks beyond the schema that matter for Assistants->Responses code.

    ``prior`` is the stored conversation behind ``previous_response_id`` (empty without one);
    ``known_response`` says whether that id exists.
    """
    items = input_items(body)
    prev = body.get("previous_response_id")
    if prev and not known_response:
        raise RequestError(
            400,
            f"Previous response with id '{prev}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    if body.get("store") is False:
        # With store=false nothing is persisted, so any item id refers to nothing.
        for item in items:
            if item.get("id"):
                raise RequestError(404, _ID_NOT_PERSISTED.format(id=item["id"]), param="input")
    for i, item in enumerate(items):
        if _item_type(item) != "message" or not isinstance(item.get("content"), list):
            continue
        allowed = _ASSISTANT_PARTS if item.get("role") == "assistant" else _USER_PARTS
        for j, part in enumerate(item["content"]):
            if isinstance(part, dict) and part.get("type") not in allowed:
                raise RequestError(
                    400,
                    f"Invalid value: '{part.get('type')}'. Supported values are: "
                    f"{_quote_list(allowed)}.",
                    param=f"input[{i}].content[{j}]",
                    code="invalid_value",
                )
    history = [*prior, *items]
    offset = len(prior)
    seen_calls: set[str] = set()
    for idx, item in enumerate(history):
        kind = _item_type(item)
        if kind == "function_call" and item.get("call_id"):
            seen_calls.add(str(item["call_id"]))
        elif kind == "function_call_output" and idx >= offset:
            call_id = str(item.get("call_id"))
            if call_id not in seen_calls:
                raise RequestError(
                    400,
                    f"No tool call found for function call output with call_id {call_id}.",
                    param="input",
                )
    answered: set[str] = set()
    for item in reversed(history):
        kind = _item_type(item)
        if kind == "function_call_output":
            answered.add(str(item.get("call_id")))
        elif kind == "function_call" and str(item.get("call_id")) not in answered:
            raise RequestError(
                400,
                f"No tool output found for function call {item.get('call_id')}.",
                param="input",
            )
    if is_reasoning_model(body.get("model")):
        for name in ("temperature", "top_p"):
            if body.get(name) is not None:
                raise RequestError(
                    400,
                    f"Unsupported parameter: '{name}' is not supported with this model.",
                    param=name,
                    code="unsupported_parameter",
                )
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_object" and "json" not in all_text(body, history).lower():
        raise RequestError(400, _JSON_WORD, param="input")
