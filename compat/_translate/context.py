"""Context budgeting for replayed runs: truncation_strategy, max_prompt_tokens, token estimates.

Owns `BudgetExhausted`, the token heuristic and `select_history` (responses-mapping §3.4).
Pure: plain dicts in, plain dicts out; imports no I/O (no openai, httpx, store or clock).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "IMAGE_TOKENS",
    "IMAGE_TOKENS_LOW",
    "BudgetExhausted",
    "estimate_tokens",
    "select_history",
]

BudgetReason = Literal["max_prompt_tokens", "max_completion_tokens"]

# Fixed cost of one input image (the text heuristic cannot see pixels): OpenAI's price of a
# 1024x1024 image at detail high/auto, and of any image at detail low.
IMAGE_TOKENS = 765
IMAGE_TOKENS_LOW = 85


class BudgetExhausted(Exception):
    """The run's token budget cannot pay for another turn: end it `incomplete` without calling.

    `reason` is the Assistants `incomplete_details.reason`: "max_prompt_tokens" or
    "max_completion_tokens".
    """

    def __init__(self, reason: BudgetReason) -> None:
        super().__init__(reason)
        self.reason: BudgetReason = reason


def _string_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        # a reasoning item's encrypted content is opaque: its size says nothing of its tokens
        return sum(_string_chars(v) for k, v in value.items() if k != "encrypted_content")
    if isinstance(value, (list, tuple)):
        return sum(_string_chars(v) for v in value)
    return 0


def _image_tokens(value: Any) -> int:
    if isinstance(value, dict):
        if value.get("type") == "input_image":
            return IMAGE_TOKENS_LOW if value.get("detail") == "low" else IMAGE_TOKENS
        return sum(_image_tokens(v) for v in value.values())
    if isinstance(value, list):
        return sum(_image_tokens(v) for v in value)
    return 0


def estimate_tokens(value: Any) -> int:
    """Heuristic token count of a string, an input item or any JSON value.

    ceil(characters of all string leaves / 4), plus a fixed cost per `input_image` part
    (`IMAGE_TOKENS`, or `IMAGE_TOKENS_LOW` for detail "low"); `encrypted_content` (of
    reasoning items) is not counted. Deliberately simple and provider-independent;
    `max_prompt_tokens` is a budget, not an exact count.
    """
    return math.ceil(_string_chars(value) / 4) + _image_tokens(value)


@dataclass
class _Unit:
    """Items that are kept or dropped together: one message, or calls plus their outputs."""

    items: list[dict[str, Any]] = field(default_factory=list)
    is_message: bool = False
    role: str | None = None
    costs: list[int] | None = None  # estimate_tokens of each item, when given

    def tokens(self) -> int:
        if self.costs is not None:
            return sum(self.costs)
        return sum(estimate_tokens(item) for item in self.items)


def _group(items: Sequence[dict[str, Any]], costs: Sequence[int] | None = None) -> list[_Unit]:
    """Split input items into units; a function_call block with its outputs is one unit,
    reasoning items belong to the unit of the item they precede.

    `costs`: the token estimate of each item, when known (parallel to `items`)."""
    units: list[_Unit] = []
    tool: _Unit | None = None  # the open function_call/function_call_output block
    pending: set[Any] = set()
    held: list[int] = []  # reasoning items waiting for the item they precede
    for n, item in enumerate(items):
        kind = item.get("type", "message")
        if kind == "reasoning":
            held.append(n)
            continue
        if kind == "function_call":
            if tool is None or not pending:  # a closed block: the next calls start a new one
                tool = _Unit(costs=None if costs is None else [])
                units.append(tool)
                pending = set()
            unit = tool
            pending.add(item.get("call_id"))
        elif kind == "function_call_output":
            if tool is None:  # orphan output: its own unit, removed by _drop_orphans
                tool = _Unit(costs=None if costs is None else [])
                units.append(tool)
                pending = set()
            unit = tool
            pending.discard(item.get("call_id"))
        else:
            tool = None
            pending = set()
            unit = _Unit(
                is_message=kind == "message",
                role=item.get("role"),
                costs=None if costs is None else [],
            )
            units.append(unit)
        for m in [*held, n]:
            unit.items.append(items[m])
            if unit.costs is not None and costs is not None:
                unit.costs.append(costs[m])
        held = []
    if held:  # reasoning with nothing after it: its own unit, removed by _drop_orphans
        last = _Unit([items[m] for m in held])
        last.costs = None if costs is None else [costs[m] for m in held]
        units.append(last)
    return units


def _drop_orphans(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop function_call items without output and outputs without their call (both 400s),
    then reasoning items no longer followed by the assistant message or function call they
    preceded."""
    calls = {i.get("call_id") for i in items if i.get("type") == "function_call"}
    outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
    kept = [
        item
        for item in items
        if not (item.get("type") == "function_call" and item.get("call_id") not in outputs)
        and not (item.get("type") == "function_call_output" and item.get("call_id") not in calls)
    ]
    out: list[dict[str, Any]] = []
    followed = False  # walking backwards: the item after is the model's output
    for item in reversed(kept):
        kind = item.get("type", "message")
        if kind != "reasoning":
            followed = kind == "function_call" or item.get("role") == "assistant"
        elif not followed:
            continue
        out.append(item)
    out.reverse()
    return out


def _last_messages(units: list[_Unit], n: int) -> list[_Unit]:
    """Keep the last `n` message units and everything after the first kept one."""
    message_positions = [i for i, unit in enumerate(units) if unit.is_message]
    if n <= 0:
        return []
    if len(message_positions) <= n:
        return units  # nothing cut: tool items before the first message keep their partner
    return units[message_positions[-n] :]


def select_history(
    items: Sequence[dict[str, Any]],
    truncation_strategy: dict[str, Any] | None,
    max_prompt_tokens: int | None,
    prompt_tokens_used: int,
    fixed_tokens: int,
    *,
    tail: int = 0,
    tokens: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Choose the replayed input items of one turn (responses-mapping §3.4).

    `items` are Responses input items in thread order; the last `tail` of them belong to the
    current run's earlier turns (its assistant messages, function calls and outputs) and are
    never cut. A function_call and its function_call_output are kept or dropped together.

    1. `truncation_strategy` `{"type": "last_messages", "last_messages": N}`: keep the last N
       message items before the tail, plus the tool items after the first kept message (tool
       items before it are dropped, so the window never starts with an orphan output).
       `{"type": "auto"}` / None: keep everything.
    2. `max_prompt_tokens` set: budget = max_prompt_tokens - prompt_tokens_used; the items
       (estimated with `estimate_tokens`) plus `fixed_tokens` (instructions, tool schemas,
       text format) must fit. Whole units are dropped from the middle, oldest first, keeping
       the first user message as long as possible and always keeping the newest user
       message with everything after it.

    `tokens`, when given, is `estimate_tokens` of each item (parallel to `items`), e.g. kept
    from an earlier turn. Returns the kept items, in order, without unmatched function calls
    or outputs.
    Raises `BudgetExhausted("max_prompt_tokens")` when prompt_tokens_used >= max_prompt_tokens
    or when the newest user message and what follows it alone exceed the budget.
    """
    split = len(items) - max(0, min(tail, len(items)))
    history = _group(items[:split], None if tokens is None else tokens[:split])
    current = _group(items[split:], None if tokens is None else tokens[split:])

    strategy = truncation_strategy or {}
    if strategy.get("type") == "last_messages" and strategy.get("last_messages") is not None:
        history = _last_messages(history, int(strategy["last_messages"]))

    if max_prompt_tokens is not None:
        budget = max_prompt_tokens - prompt_tokens_used
        if budget <= 0:
            raise BudgetExhausted("max_prompt_tokens")
        history = _fit(history, current, budget - fixed_tokens)

    kept = [item for unit in [*history, *current] for item in unit.items]
    return _drop_orphans(kept)


def _fit(history: list[_Unit], current: list[_Unit], available: int) -> list[_Unit]:
    """Drop middle units of `history` until history + current cost at most `available`."""
    user_positions = [i for i, u in enumerate(history) if u.is_message and u.role == "user"]
    # must keep: the newest user message and everything after it (plus the current run)
    boundary = user_positions[-1] if user_positions else len(history)
    must_keep = history[boundary:]
    must_cost = sum(u.tokens() for u in [*must_keep, *current])
    if must_cost > available:
        raise BudgetExhausted("max_prompt_tokens")

    droppable = history[:boundary]
    first_user = next((i for i in user_positions if i < boundary), None)
    # drop order: oldest first, skipping the first user message, which goes last
    order = [i for i in range(len(droppable)) if i != first_user]
    if first_user is not None:
        order.append(first_user)
    dropped: set[int] = set()
    total = must_cost + sum(u.tokens() for u in droppable)
    for i in order:
        if total <= available:
            break
        dropped.add(i)
        total -= droppable[i].tokens()
    return [u for i, u in enumerate(droppable) if i not in dropped] + must_keep
