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


class KeptReasoning(TypedDict):
    """A reasoning item of a reasoning model's response, kept to go back into later calls'
    input (replay mode): never shown in messages or steps (responses-mapping §2.3, §4.1)."""

    id: str  # rs_…
    encrypted_content: str
    summary: list[Any]
    before: str  # the message (msg_…) or function call id it preceded in the response
    model: str  # it verifies only with the model that wrote it


class Container(TypedDict):
    """The thread's code_interpreter container (one per thread, as Assistants kept one
    sandbox per thread): every run with code_interpreter carries it forward."""

    id: str  # cntr_…
    file_ids: list[str]  # files copied into it so far


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
    reasoning: list[KeptReasoning]  # this run's, in the order the model produced them
    reasoning_dropped: list[str]  # ids of the thread's reasoning the upstream no longer verified
    reasoning_off: bool  # the upstream refused encrypted reasoning for this run's model
    container: Container | None  # None: the thread has no live container
