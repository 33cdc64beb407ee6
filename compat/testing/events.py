"""Response objects, conversation items and the SSE event sequence of the Responses emulator.

Owns the wire shapes: the ``Response`` JSON object (echoing request parameters like the real
API), the items a conversation stores (``conversation_item``) and the ordered ``response.*``
stream events derived from a decided :class:`~compat.testing.model.Outcome`. Used only by
:mod:`compat.testing.emulator`. Stdlib only.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterator
from typing import Any

from .model import Outcome, hex_id

_CHUNK = re.compile(r"\S+\s*|\s+")


def chunks(text: str) -> list[str]:
    """Split text into word-ish deltas (concatenation gives back ``text``)."""
    return _CHUNK.findall(text) or [""]


def fixed_chunks(text: str, size: int = 12) -> list[str]:
    """Fixed-size deltas for arguments/code (real deltas are token-sized, not words)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _tool_echo(tool: dict[str, Any]) -> dict[str, Any]:
    """A request tool as the API echoes it back (defaults filled in)."""
    t = dict(tool)
    if t.get("type") == "function":
        t.setdefault("description", None)
        t.setdefault("parameters", None)
        if t.get("strict") is None:
            t["strict"] = True
    elif t.get("type") == "file_search":
        t.setdefault("filters", None)
        t.setdefault("max_num_results", 10)
        t.setdefault("ranking_options", {"ranker": "auto", "score_threshold": 0.0})
    return t


def response_object(
    body: dict[str, Any],
    *,
    resp_id: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    outcome: Outcome | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    """The ``Response`` JSON object, echoing the request's parameters like the real API."""
    text = dict(body.get("text") or {})
    text.setdefault("format", {"type": "text"})
    text.setdefault("verbosity", "medium")
    reasoning = {"effort": None, "summary": None, **(body.get("reasoning") or {})}
    tier = body.get("service_tier")
    final = outcome is not None and status != "in_progress"
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": bool(body.get("background") or False),
        "completed_at": completed_at if status == "completed" else None,
        "error": outcome.error if final and outcome else None,
        "incomplete_details": (
            {"reason": outcome.incomplete_reason}
            if final and outcome and outcome.status == "incomplete"
            else None
        ),
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body.get("model"),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": body.get("prompt_cache_retention"),
        "reasoning": reasoning,
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default" if tier in (None, "auto") else tier,
        "store": body.get("store") is not False,
        "temperature": 1.0 if body.get("temperature") is None else body["temperature"],
        "text": text,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": [_tool_echo(t) for t in body.get("tools") or []],
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": 1.0 if body.get("top_p") is None else body["top_p"],
        "truncation": body.get("truncation") or "disabled",
        "metadata": body.get("metadata") or {},
        # The spec types the deprecated ``user`` as a plain string: absent rather than null.
        **({"user": body["user"]} if body.get("user") is not None else {}),
        # Likewise ``usage`` (not nullable in the spec) appears only once the answer is final.
        **({"usage": outcome.usage} if final and outcome else {}),
    }


# Id prefixes of the items a conversation stores, by item type (messages: msg_).
_ITEM_PREFIX = {
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "file_search_call": "fs",
    "web_search_call": "ws",
    "code_interpreter_call": "ci",
    "computer_call": "cu",
    "computer_call_output": "cuo",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
}
# Item types whose stored form carries a ``status``.
_WITH_STATUS = {"message", "function_call", "function_call_output", "computer_call_output"}


def conversation_item(item: dict[str, Any]) -> dict[str, Any]:
    """An input item as a conversation stores it: an ``id``, ``status`` where the type has
    one, and message content as parts (a string becomes one ``input_text`` part, or
    ``output_text`` for the assistant; output text parts get ``annotations``/``logprobs``)."""
    out = copy.deepcopy(item)
    kind = str(out.get("type") or ("message" if "role" in out else ""))
    out["type"] = kind
    if kind == "message":
        content = out.get("content")
        if isinstance(content, str):
            part = "output_text" if out.get("role") == "assistant" else "input_text"
            content = [{"type": part, "text": content}]
        for part in content or []:
            if part.get("type") == "output_text":
                part.setdefault("annotations", [])
                part.setdefault("logprobs", [])
        out["content"] = content or []
    out = {"id": out.pop("id", None) or hex_id(_ITEM_PREFIX.get(kind, "msg")), **out}
    if kind in _WITH_STATUS:
        out.setdefault("status", "completed")
    return out


class _Seq:
    """Numbers events in order (``sequence_number`` starts at 0, like the real API)."""

    def __init__(self, obfuscate: bool) -> None:
        self.n = 0
        self.obfuscate = obfuscate

    def __call__(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, **fields, "sequence_number": self.n}
        # The API pads delta events with a random field against length side channels.
        if self.obfuscate and type_.endswith(".delta"):
            event["obfuscation"] = secrets.token_urlsafe(6)
        self.n += 1
        return event


def _message_events(
    ev: _Seq, item: dict[str, Any], index: int, partial: bool
) -> Iterator[tuple[dict[str, Any], bool]]:
    item_id = item["id"]
    yield (
        ev(
            "response.output_item.added",
            output_index=index,
            item={
                **{k: v for k, v in item.items() if k != "content"},
                "status": "in_progress",
                "content": [],
            },
        ),
        False,
    )
    for c, part in enumerate(item["content"]):
        base = {"item_id": item_id, "output_index": index, "content_index": c}
        if part["type"] == "refusal":
            yield (
                ev("response.content_part.added", **base, part={"type": "refusal", "refusal": ""}),
                False,
            )
            for d in chunks(part["refusal"]):
                yield ev("response.refusal.delta", **base, delta=d), True
            if partial:
                return
            yield ev("response.refusal.done", **base, refusal=part["refusal"]), False
        else:
            yield (
                ev(
                    "response.content_part.added",
                    **base,
                    part={
                        "type": "output_text",
                        "annotations": [],
                        "logprobs": [],
                        "text": "",
                    },
                ),
                False,
            )
            # Annotations are announced once the streamed text reaches their position.
            pending = sorted(
                enumerate(part.get("annotations") or []),
                key=lambda a: a[1].get("end_index", a[1].get("index", 0)),
            )
            sent = 0
            for d in chunks(part["text"]):
                yield ev("response.output_text.delta", **base, delta=d, logprobs=[]), True
                sent += len(d)
                while (
                    pending
                    and pending[0][1].get("end_index", pending[0][1].get("index", 0)) <= sent
                ):
                    a_idx, ann = pending.pop(0)
                    yield (
                        ev(
                            "response.output_text.annotation.added",
                            **base,
                            annotation_index=a_idx,
                            annotation=ann,
                        ),
                        False,
                    )
            if partial:
                return
            for a_idx, ann in pending:
                yield (
                    ev(
                        "response.output_text.annotation.added",
                        **base,
                        annotation_index=a_idx,
                        annotation=ann,
                    ),
                    False,
                )
            yield ev("response.output_text.done", **base, text=part["text"], logprobs=[]), False
        yield ev("response.content_part.done", **base, part=part), False
    yield ev("response.output_item.done", output_index=index, item=item), False


def _function_events(
    ev: _Seq, item: dict[str, Any], index: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    base = {"item_id": item["id"], "output_index": index}
    yield (
        ev(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "arguments": ""},
        ),
        False,
    )
    for d in fixed_chunks(item["arguments"]):
        yield ev("response.function_call_arguments.delta", **base, delta=d), True
    yield (
        ev(
            "response.function_call_arguments.done",
            **base,
            name=item["name"],
            arguments=item["arguments"],
        ),
        False,
    )
    yield ev("response.output_item.done", output_index=index, item=item), False


def _code_events(
    ev: _Seq, item: dict[str, Any], index: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    base = {"item_id": item["id"], "output_index": index}
    yield (
        ev(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "code": "", "outputs": None},
        ),
        False,
    )
    yield ev("response.code_interpreter_call.in_progress", **base), False
    for d in fixed_chunks(item["code"] or ""):
        yield ev("response.code_interpreter_call_code.delta", **base, delta=d), True
    yield ev("response.code_interpreter_call_code.done", **base, code=item["code"]), False
    yield ev("response.code_interpreter_call.interpreting", **base), False
    yield ev("response.code_interpreter_call.completed", **base), False
    yield ev("response.output_item.done", output_index=index, item=item), False


def _file_search_events(
    ev: _Seq, item: dict[str, Any], index: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    base = {"item_id": item["id"], "output_index": index}
    yield (
        ev(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "queries": [], "results": None},
        ),
        False,
    )
    yield ev("response.file_search_call.in_progress", **base), False
    yield ev("response.file_search_call.searching", **base), False
    yield ev("response.file_search_call.completed", **base), False
    yield ev("response.output_item.done", output_index=index, item=item), False


def stream_events(
    body: dict[str, Any],
    final: dict[str, Any],
    outcome: Outcome,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every SSE event for one streamed response, as ``(event, is_delta)`` pairs.

    ``final`` is the finished Response object; ``is_delta`` marks events after which the
    emulator may sleep ``delta_delay``.
    """
    obfuscate = (body.get("stream_options") or {}).get("include_obfuscation") is not False
    ev = _Seq(obfuscate)
    start = {
        **copy.deepcopy(final),
        "status": "in_progress",
        "output": [],
        "error": None,
        "incomplete_details": None,
        "completed_at": None,
    }
    start.pop("usage", None)
    yield ev("response.created", response=start), False
    yield ev("response.in_progress", response=start), False
    items = final["output"]
    for index, item in enumerate(items):
        kind = item["type"]
        partial = outcome.failed_partial and index == len(items) - 1
        if kind == "message":
            yield from _message_events(ev, item, index, partial)
        elif kind == "function_call":
            yield from _function_events(ev, item, index)
        elif kind == "code_interpreter_call":
            yield from _code_events(ev, item, index)
        elif kind == "file_search_call":
            yield from _file_search_events(ev, item, index)
        else:  # reasoning and anything else: added + done
            yield ev("response.output_item.added", output_index=index, item=item), False
            yield ev("response.output_item.done", output_index=index, item=item), False
    if outcome.status == "failed":
        error = outcome.error or {"code": "server_error", "message": "An error occurred."}
        yield ev("error", code=error["code"], message=error["message"], param=None), False
        yield ev("response.failed", response=final), False
    elif outcome.status == "incomplete":
        yield ev("response.incomplete", response=final), False
    else:
        yield ev("response.completed", response=final), False
