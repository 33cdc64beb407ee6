"""The engine's private bookkeeping of a run (the ``state`` column), typed.

Imports: stdlib only.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChainPoint(TypedDict):
    """Where the thread's next call may continue from (``history="chain"``)."""

    response_id: str
    ord: int  # everything at or before this place in the thread is upstream already
    model: str


class RunState(TypedDict, total=False):
    """What the engine keeps with a run besides its wire object."""

    temperature: float  # set explicitly (sent upstream); absent: not sent
    top_p: float
    tool_resources: dict[str, Any]  # create_and_run's run-level resources
    include_content: bool  # file_search result content requested with `include`
    response_ids: list[str]  # upstream responses of this run, in order
    prompt_tokens: int  # totals over the run's turns (token budgets)
    completion_tokens: int
    turn_ord: int  # place in the thread when the current call's input was read
    chain: ChainPoint
    pending_step_id: str  # the tool_calls step waiting for outputs
    pending_step_usage: Usage
