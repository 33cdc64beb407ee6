"""Request validation for the Responses emulator: schema check plus the API's semantic 400s.

Owns turning a ``POST /v1/responses`` body into either "accepted" or the exact error the real
API answers (status, message, ``param`` as a JSON path like ``tools[0].name``, ``code``).
The wording of schema errors is the vocabulary of :mod:`compat._errors`, shared with the local
Assistants API. Also owns reading a request's conversation (``input_items``, ``all_text``…)
for :mod:`compat.testing.model`. Stdlib only at import time; ``jsonschema`` is imported lazily
the first time a body is validated (it is in the project's ``test`` extra).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._errors import (
    TYPE_NAMES,
    ApiError,
    above_maximum,
    array_too_long,
    array_too_short,
    below_minimum,
    invalid_type,
    invalid_value,
    json_type,
    missing,
    pattern_mismatch,
    string_too_long,
    string_too_short,
    unknown_parameter,
)
from .._translate.request import ENCRYPTED_REASONING, is_reasoning_model

SCHEMA_RESOURCE = "create_response.schema.json"
# The Conversations request bodies (scripts/extract_conversation_schema.py), by root name.
CONVERSATIONS_RESOURCE = "conversations.schema.json"
CREATE_CONVERSATION = "CreateConversationBody"
UPDATE_CONVERSATION = "UpdateConversationBody"
CREATE_ITEMS = "CreateConversationItemsBody"

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
_NOT_VERIFIED = (
    "The encrypted content for item {id} could not be verified. Reason: Encrypted content "
    "could not be decrypted or parsed."
)
_JSON_WORD = (
    "Response input messages must contain the word 'json' in some form to use "
    "'text.format' of type 'json_object'."
)


# The emulator answers errors exactly like the local API does: one error type for both.
RequestError = ApiError


_validator_lock = threading.Lock()
_validator: Any = None
_top_level_keys: frozenset[str] = frozenset()


def load_schema(resource: str = SCHEMA_RESOURCE) -> dict[str, Any]:
    """A bundled schema file (default: ``CreateResponse``) with :data:`RELAXED_REQUIRED` and
    :data:`EXTRA_INPUT_CONTENT` applied (input items are accepted alike everywhere)."""
    # In compat/_data (package data), so it works from a checkout, a wheel and an editable
    # install alike.
    text = (Path(__file__).parent.parent / "_data" / resource).read_text("utf-8")
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
        return invalid_value(json_path(path + ["type"]), inst["type"], allowed)
    expected = [
        c.validator_value for c in err.context if c.validator == "type" and not list(c.path)
    ]
    names = [t for e in expected for t in ([e] if isinstance(e, str) else e) if t != "null"]
    want = TYPE_NAMES.get(names[0], names[0]) if names else "a different type"
    return invalid_type(json_path(path), want, TYPE_NAMES[json_type(inst) or "object"])


def _to_request_error(err: Any) -> RequestError:
    """Map one jsonschema error to the API's message/param/code."""
    err = _pick(err)
    path = list(err.absolute_path)
    param = json_path(path)
    v, vv, inst = err.validator, err.validator_value, err.instance
    if v == "anyOf":
        return _anyof_error(err)
    if v == "required":
        absent = next((k for k in vv if not (isinstance(inst, dict) and k in inst)), vv[0])
        return missing(str(json_path([*path, absent])))
    if v == "additionalProperties" and isinstance(inst, dict):
        known = set(err.schema.get("properties", {}))
        extra = next((k for k in inst if k not in known), None)
        return unknown_parameter(json_path([*path, extra]) if extra else param)
    if v == "type":
        want = vv if isinstance(vv, str) else vv[0]
        return invalid_type(
            param, TYPE_NAMES.get(want, want), TYPE_NAMES[json_type(inst) or "object"]
        )
    if v in ("enum", "const"):
        return invalid_value(param, inst, vv if v == "enum" else [vv])
    kind = "integer" if isinstance(inst, int) else "decimal"
    if v in ("minimum", "exclusiveMinimum"):
        return below_minimum(param, kind, vv, inst, exclusive=v == "exclusiveMinimum")
    if v in ("maximum", "exclusiveMaximum"):
        return above_maximum(param, kind, vv, inst, exclusive=v == "exclusiveMaximum")
    if v == "maxLength":
        return string_too_long(param, vv, len(inst))
    if v == "minLength":
        return string_too_short(param, vv, len(inst))
    if v == "maxItems":
        return array_too_long(param, vv, len(inst))
    if v == "minItems":
        return array_too_short(param, vv, len(inst))
    if v == "pattern":
        return pattern_mismatch(param, vv)
    return RequestError(
        400, f"Invalid value for '{param}': {err.message}", param=param, code="invalid_value"
    )


def validate_schema(body: Any) -> None:
    """Raise :class:`RequestError` unless ``body`` fits ``CreateResponse`` (plus ``model``)."""
    if not isinstance(body, dict):
        raise RequestError(400, "Invalid type for body: expected an object.", code="invalid_type")
    if not schema_validation_available():
        if body.get("model") is None:
            raise missing("model")
        return
    validator = _get_validator()
    for key in body:
        if key not in _top_level_keys:
            raise unknown_parameter(key)
    errors = list(validator.iter_errors(body))
    if errors:
        raise _to_request_error(_primary(errors))
    # Not required by the schema (a stored prompt could name it) but by the API in practice.
    if body.get("model") is None and body.get("prompt") is None:
        raise missing("model")


_conv_validators: dict[str, tuple[Any, frozenset[str]]] = {}


def _conversation_validator(root: str) -> tuple[Any, frozenset[str]]:
    """The validator of one Conversations request body and its top-level keys (lazy)."""
    with _validator_lock:
        if not _conv_validators:
            from jsonschema import Draft202012Validator

            schema = load_schema(CONVERSATIONS_RESOURCE)
            for name in (CREATE_CONVERSATION, UPDATE_CONVERSATION, CREATE_ITEMS):
                keys: set[str] = set()
                _collect_properties(schema, schema["$defs"][name], keys)
                validator = Draft202012Validator({**schema, "$ref": f"#/$defs/{name}"})
                _conv_validators[name] = (validator, frozenset(keys))
        return _conv_validators[root]


def validate_conversation_body(root: str, body: Any) -> None:
    """Raise :class:`RequestError` unless ``body`` fits the spec's ``root`` request body
    (``CREATE_CONVERSATION``, ``UPDATE_CONVERSATION`` or ``CREATE_ITEMS``)."""
    if not isinstance(body, dict):
        raise RequestError(400, "Invalid type for body: expected an object.", code="invalid_type")
    if not schema_validation_available():
        if root == CREATE_ITEMS and not isinstance(body.get("items"), list):
            raise missing("items")
        return
    validator, keys = _conversation_validator(root)
    for key in body:
        if key not in keys:
            raise unknown_parameter(key)
    errors = list(validator.iter_errors(body))
    if errors:
        raise _to_request_error(_primary(errors))


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
    issued: Mapping[str, str] | None = None,
) -> None:
    """The API's checks beyond the schema that matter for Assistants->Responses code.

    ``prior`` is the stored conversation behind ``previous_response_id`` (empty without one);
    ``known_response`` says whether that id exists. ``issued`` maps the encrypted content of
    every reasoning item answered so far to the model that wrote it: an input reasoning item
    whose encrypted content is not there for the request's model does not verify.
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
    if ENCRYPTED_REASONING in (body.get("include") or ()) and not is_reasoning_model(
        body.get("model")
    ):
        raise RequestError(
            400, "Encrypted content is not supported with this model.", param="include"
        )
    for item in items:
        content = item.get("encrypted_content") if _item_type(item) == "reasoning" else None
        if content is not None and (issued or {}).get(content) != body.get("model"):
            raise RequestError(
                400, _NOT_VERIFIED.format(id=item.get("id")), code="invalid_encrypted_content"
            )
    if body.get("store") is False:
        # With store=false nothing is persisted, so any item id refers to nothing (reasoning
        # items bring their content along encrypted).
        for item in items:
            if item.get("id") and not item.get("encrypted_content"):
                raise RequestError(404, _ID_NOT_PERSISTED.format(id=item["id"]), param="input")
    for i, item in enumerate(items):
        if _item_type(item) != "message" or not isinstance(item.get("content"), list):
            continue
        allowed = _ASSISTANT_PARTS if item.get("role") == "assistant" else _USER_PARTS
        for j, part in enumerate(item["content"]):
            if isinstance(part, dict) and part.get("type") not in allowed:
                raise invalid_value(f"input[{i}].content[{j}]", part.get("type"), allowed)
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
