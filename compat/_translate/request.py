"""One run turn -> the keyword arguments of `client.responses.create` (without `stream`).

Owns `TurnInput`, the thread-history -> `input` items mapping (responses-mapping §2) and the
request assembly (§1, §3, §8, §9). Pure: plain dicts in, plain dicts out; imports no I/O
(no openai, httpx, store or clock).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from .context import BudgetExhausted, estimate_tokens, select_history
from .tools import to_response_tool_choice, to_response_tools, to_text_format

__all__ = [
    "ENCRYPTED_REASONING",
    "MIN_OUTPUT_TOKENS",
    "EntryInput",
    "TurnInput",
    "is_reasoning_model",
    "strip_citation_markers",
    "to_input_items",
    "to_response_request",
    "translate_entries",
]

# Responses rejects max_output_tokens below 16.
MIN_OUTPUT_TOKENS = 16

# Citation markers such as 【4:0†source】 or 【13†source】: presentation artefacts of stored
# assistant text, never replayed (responses-mapping §2.1).
_CITATION_MARKER = re.compile(r"【[^【】]*†[^【】]*】")

# Reasoning models: the o-series (o1, o3, o4-mini, …), the gpt-5 family except gpt-5-chat
# (which does not reason) and codex-mini. They reject sampling parameters, and only they
# accept `include: ["reasoning.encrypted_content"]` (others answer 400 "Encrypted content is
# not supported with this model."). A provider prefix ("openai/o4-mini") is ignored.
_REASONING_MODEL = re.compile(r"o\d|gpt-5(?!-chat)|codex-mini", re.IGNORECASE)
ENCRYPTED_REASONING = "reasoning.encrypted_content"


class EntryInput:
    """One history entry translated for replay: its input items (read-only: a cache shares
    them between turns) and, computed on first use, their token estimates."""

    __slots__ = ("_tokens", "items")

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self._tokens: list[int] | None = None

    @property
    def tokens(self) -> list[int]:
        """`estimate_tokens` of each item."""
        if self._tokens is None:
            self._tokens = [estimate_tokens(item) for item in self.items]
        return self._tokens


class _TurnInputOptional(TypedDict, total=False):
    # `history` already translated for replay, one EntryInput per entry (see
    # `translate_entries`): a caller that keeps a thread's history translates only what is
    # new. Translated here when absent; not read in chain mode.
    history_input: Sequence[EntryInput]
    # Replay only: keep the model's reasoning across calls (responses-mapping §2.3). When
    # given, `include` asks for the encrypted content of this call's reasoning items, and
    # these reasoning input items (earlier calls', with their encrypted content) go back in
    # front of the message or function call each preceded, keyed by that message's id
    # (`msg_…`) or that call's id. Absent: no reasoning is asked for or replayed.
    reasoning: Mapping[str, Sequence[dict[str, Any]]]


class TurnInput(_TurnInputOptional):
    """Everything one Responses call of a run needs; computed by the caller."""

    model: str
    instructions: str  # effective: instructions + "\n\n" + additional_instructions
    tools: list[dict[str, Any]]  # effective Assistants tool params
    tool_choice: str | dict[str, Any] | None
    parallel_tool_calls: bool
    response_format: str | dict[str, Any] | None
    temperature: float | None  # None: not set explicitly -> not sent
    top_p: float | None  # None: not set explicitly -> not sent
    reasoning_effort: str | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: dict[str, Any] | None
    metadata: dict[str, str] | None  # the run's metadata
    code_interpreter_file_ids: list[str]  # assistant ∪ thread ∪ attachments
    file_search_vector_store_ids: list[str]  # assistant ∪ thread
    history: list[dict[str, Any]]  # thread.message and thread.run.step wire dicts, in order
    first_turn: bool
    prompt_tokens_used: int  # run totals of earlier turns
    completion_tokens_used: int
    store: bool
    previous_response_id: str | None  # chain mode when set
    previous_response_ord: int | None  # caller's bookkeeping for chain mode; not read here


def is_reasoning_model(model: str | None) -> bool:
    """True for the ids of reasoning models (o-series, gpt-5 except gpt-5-chat, codex-mini)."""
    return bool(model) and _REASONING_MODEL.match(str(model).rsplit("/", 1)[-1]) is not None


def strip_citation_markers(text: str) -> str:
    """Remove `【…†…】` citation markers from stored assistant text."""
    return _CITATION_MARKER.sub("", text)


def _user_message(message: dict[str, Any]) -> dict[str, Any] | None:
    parts: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": (block.get("text") or {}).get("value", "")})
        elif kind == "image_file":
            image = block.get("image_file") or {}
            parts.append(
                {
                    "type": "input_image",
                    "file_id": image.get("file_id"),
                    "detail": image.get("detail") or "auto",
                }
            )
        elif kind == "image_url":
            image = block.get("image_url") or {}
            parts.append(
                {
                    "type": "input_image",
                    "image_url": image.get("url"),
                    "detail": image.get("detail") or "auto",
                }
            )
    if not parts:
        return None
    return {"type": "message", "role": "user", "content": parts}


def _assistant_text(message: dict[str, Any]) -> str:
    pieces: list[str] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            piece = strip_citation_markers((block.get("text") or {}).get("value") or "")
        elif kind == "refusal":
            piece = block.get("refusal") or ""
        elif kind == "image_file":
            piece = f"[image: {(block.get('image_file') or {}).get('file_id')}]"
        elif kind == "image_url":
            piece = f"[image: {(block.get('image_url') or {}).get('url')}]"
        else:
            piece = ""
        if piece.strip():
            pieces.append(piece)
    return "\n\n".join(pieces)


def _assistant_message(message: dict[str, Any]) -> dict[str, Any] | None:
    # string content: a list would need output_text parts (input_text is rejected there)
    text = _assistant_text(message)
    if not text:
        return None
    return {"type": "message", "role": "assistant", "content": text}


def _step_items(step: dict[str, Any], *, chain: bool) -> list[dict[str, Any]]:
    details = step.get("step_details") or {}
    if step.get("type", details.get("type")) != "tool_calls":
        return []  # message_creation: the message itself is in history
    answered = [
        call
        for call in details.get("tool_calls") or []
        if call.get("type") == "function" and (call.get("function") or {}).get("output") is not None
    ]
    calls = [
        {
            "type": "function_call",
            "call_id": call["id"],
            "name": call["function"].get("name"),
            "arguments": call["function"].get("arguments") or "",
        }
        for call in answered
    ]
    outputs = [
        {
            "type": "function_call_output",
            "call_id": call["id"],
            "output": call["function"]["output"],
        }
        for call in answered
    ]
    # chain mode: the calls are part of the previous response already; only outputs are new
    return outputs if chain else calls + outputs


def _entry_items(entry: dict[str, Any], *, chain: bool) -> list[dict[str, Any]]:
    obj = entry.get("object")
    if obj == "thread.message":
        item = _user_message(entry) if entry.get("role") == "user" else _assistant_message(entry)
        return [] if item is None else [item]
    if obj == "thread.run.step":
        return _step_items(entry, chain=chain)
    return []


def translate_entries(history: Iterable[dict[str, Any]]) -> list[EntryInput]:
    """`to_input_items` (replay) entry by entry: entry i becomes EntryInput i.

    Entries translate independently, so the translation of a thread's history is the
    concatenation of the translations of any split of it: a caller can keep one and extend
    it with the entries that are new.
    """
    return [EntryInput(_entry_items(entry, chain=False)) for entry in history]


def _with_reasoning(
    history: Sequence[dict[str, Any]],
    entries: Sequence[EntryInput],
    reasoning: Mapping[str, Sequence[dict[str, Any]]],
) -> list[EntryInput]:
    """`entries` (the translation of `history`) with each reasoning item put back in front
    of the message or function call it preceded; entries without any stay as they are (a
    cache may share them). Reasoning whose message or call is not replayed is left out."""
    out = list(entries)
    for n, entry in enumerate(history):
        items = out[n].items
        if not items:
            continue
        if entry.get("object") == "thread.message":
            before = reasoning.get(entry.get("id", ""))
            if before:
                out[n] = EntryInput([*before, *items])
        elif any(i.get("call_id") in reasoning for i in items if i["type"] == "function_call"):
            merged: list[dict[str, Any]] = []
            for item in items:
                if item["type"] == "function_call":
                    merged += reasoning.get(item["call_id"], ())
                merged.append(item)
            out[n] = EntryInput(merged)
    return out


def to_input_items(
    history: Sequence[dict[str, Any]], *, chain: bool = False
) -> list[dict[str, Any]]:
    """Thread history (Message and RunStep wire dicts) -> Responses `input` items, in order.

    - user message: `input_text` / `input_image` parts (`detail` defaults to "auto").
    - assistant message: one string (text blocks joined with "\\n\\n", citation markers
      stripped, refusals as text, images as "[image: …]"); skipped when it has no text.
    - tool_calls step: a `function_call` per answered function call, then a
      `function_call_output` per call; calls whose `output` is None are dropped (an unmatched
      function_call is a 400); code_interpreter / file_search calls are omitted. With
      `chain=True` only the outputs are emitted (the calls belong to the previous response).
    - message_creation steps and anything else: nothing.
    No upstream ids or statuses are ever put on items.
    """
    return [item for entry in history for item in _entry_items(entry, chain=chain)]


def _current_run_tail(history: Sequence[dict[str, Any]], first_turn: bool) -> int:
    """How many trailing history entries are the current run's own earlier turns."""
    if first_turn or not history:
        return 0
    run_id = history[-1].get("run_id")
    if run_id is None:
        return 0
    count = 0
    for entry in reversed(history):
        if entry.get("run_id") != run_id:
            break
        count += 1
    return count


def to_response_request(turn: TurnInput) -> dict[str, Any]:
    """Build the `client.responses.create` kwargs for one turn of a run (no `stream`).

    Replay mode (`previous_response_id` None): `history` is the whole thread in order,
    including this run's earlier turns; it is converted with `to_input_items` (or taken from
    `history_input`, the same translation done ahead) and trimmed by `select_history`
    (truncation_strategy, max_prompt_tokens; this run's own items are never cut). Chain mode
    (`previous_response_id` set): the caller passes in `history` ONLY the entries that are
    new since that response (new messages; for later turns the tool_calls step whose outputs
    were just submitted); they are converted as usual, except that tool steps contribute only
    their `function_call_output` items, and no trimming is applied (the server holds the
    context: with last_messages / max_prompt_tokens the caller must use replay). `store` is
    sent exactly as given. `reasoning` (replay only, see `TurnInput`) puts earlier calls'
    reasoning items back in place and asks for this call's (`include`).

    Always sent: model, input, truncation "auto", store. Sent when they apply: instructions
    (non-empty), tools, tool_choice and parallel_tool_calls (only with tools), text.format,
    reasoning, temperature / top_p (explicit values only), max_output_tokens (remaining
    run budget), include, metadata (non-empty), previous_response_id. No None values.

    Raises `BudgetExhausted("max_completion_tokens")` when fewer than 16 completion tokens
    remain, `BudgetExhausted("max_prompt_tokens")` per `select_history` (checked after).
    """
    chain = turn["previous_response_id"] is not None

    max_output_tokens: int | None = None
    if turn["max_completion_tokens"] is not None:
        max_output_tokens = turn["max_completion_tokens"] - turn["completion_tokens_used"]
        if max_output_tokens < MIN_OUTPUT_TOKENS:
            raise BudgetExhausted("max_completion_tokens")

    tools = to_response_tools(
        turn["tools"],
        code_interpreter_file_ids=turn["code_interpreter_file_ids"],
        file_search_vector_store_ids=turn["file_search_vector_store_ids"],
    )
    tool_choice = to_response_tool_choice(
        turn["tool_choice"], tools=tools, first_turn=turn["first_turn"]
    )
    text_format = to_text_format(turn["response_format"])
    instructions = turn["instructions"] or ""

    history = turn["history"]
    if chain:
        input_items = to_input_items(history, chain=True)
    else:
        entries = turn.get("history_input")
        if entries is None:
            entries = translate_entries(history)
        if turn.get("reasoning"):
            entries = _with_reasoning(history, entries, turn["reasoning"])
        split = len(history) - _current_run_tail(history, turn["first_turn"])
        items = [item for entry in entries for item in entry.items]
        tail = sum(len(entry.items) for entry in entries[split:])
        tokens = None
        if turn["max_prompt_tokens"] is not None:
            tokens = [n for entry in entries for n in entry.tokens]
        fixed = estimate_tokens(instructions) + estimate_tokens(tools)
        if text_format is not None:
            fixed += estimate_tokens(text_format)
        input_items = select_history(
            items,
            turn["truncation_strategy"],
            turn["max_prompt_tokens"],
            turn["prompt_tokens_used"],
            fixed,
            tail=tail,
            tokens=tokens,
        )

    body: dict[str, Any] = {"model": turn["model"]}
    if instructions:
        body["instructions"] = instructions
    body["input"] = input_items
    if tools:
        # without tools, tool_choice/parallel_tool_calls mean nothing (and a forced choice
        # without tools is rejected upstream): leave both out
        body["tools"] = tools
        if tool_choice is not None:
            body["tool_choice"] = tool_choice
        body["parallel_tool_calls"] = bool(turn["parallel_tool_calls"])
    if text_format is not None:
        body["text"] = {"format": text_format}
    if turn["reasoning_effort"] is not None:
        body["reasoning"] = {"effort": turn["reasoning_effort"]}
    if turn["temperature"] is not None:
        body["temperature"] = turn["temperature"]
    if turn["top_p"] is not None:
        body["top_p"] = turn["top_p"]
    if max_output_tokens is not None:
        body["max_output_tokens"] = max_output_tokens
    body["truncation"] = "auto"  # safety net: Responses' default "disabled" 400s on overflow
    include = []
    if any(tool["type"] == "code_interpreter" for tool in tools):
        include.append("code_interpreter_call.outputs")
    if any(tool["type"] == "file_search" for tool in tools):
        include.append("file_search_call.results")
    if not chain and turn.get("reasoning") is not None:
        include.append(ENCRYPTED_REASONING)
    if include:
        body["include"] = include
    if turn["metadata"]:
        body["metadata"] = dict(turn["metadata"])
    if chain:
        body["previous_response_id"] = turn["previous_response_id"]
    body["store"] = bool(turn["store"])
    return body
