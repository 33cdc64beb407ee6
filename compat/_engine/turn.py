"""Gather what one Responses call needs from the store into a TurnInput.

The thread's history comes from ``history.read_history``: read and translated for replay
incrementally, only what is new since the thread's previous turn in this process; so do
the reasoning items its runs kept (``history.read_reasoning``), replayed for reasoning
models.
Imports: store (Repo), compat._translate types, compat._engine.history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._translate.request import TurnInput, is_reasoning_model
from ..store import Repo
from .history import read_history, read_reasoning

if TYPE_CHECKING:
    from .._options import Options

Obj = dict[str, Any]


def _merge(*lists: list[str]) -> list[str]:
    out: list[str] = []
    for lst in lists:
        for x in lst:
            if x not in out:
                out.append(x)
    return out


def _resource_ids(res: Obj | None, tool: str, key: str) -> list[str]:
    return list(((res or {}).get(tool) or {}).get(key) or [])


def chain_point(repo: Repo, run: Obj, options: Options) -> Obj | None:
    """The thread's last response to chain from, or None when this turn must replay."""
    if options.history != "chain":
        return None
    chain = repo.latest_run_state(run["thread_id"], "chain")
    ts = run.get("truncation_strategy") or {}
    if not chain or ts.get("type", "auto") != "auto" or run.get("max_prompt_tokens") is not None:
        return None
    if chain.get("model") != run["model"]:
        return None
    return dict(chain)


def reasoning_input(repo: Repo, run: Obj, state: Obj) -> dict[str, list[Obj]]:
    """The thread's kept reasoning items this call may send, as input items by the id of
    the message or function call each preceded: those of the run's model (encrypted
    reasoning verifies only with the model that wrote it), less those the upstream no
    longer verified."""
    kept = read_reasoning(repo, run["thread_id"])
    dropped = kept.dropped.union(state.get("reasoning_dropped") or ())
    out: dict[str, list[Obj]] = {}
    for r in kept.items:
        if r["model"] == run["model"] and r["id"] not in dropped:
            out.setdefault(r["before"], []).append(
                {
                    "type": "reasoning",
                    "id": r["id"],
                    "summary": r["summary"],
                    "encrypted_content": r["encrypted_content"],
                }
            )
    return out


def build_turn_input(
    repo: Repo, run: Obj, state: Obj, options: Options, *, replay: bool = False
) -> TurnInput:
    """The effective settings, merged tool resources and thread history of a run's turn."""
    thread = repo.get("thread", run["thread_id"]) or {}
    assistant = repo.get("assistant", run["assistant_id"]) or {}
    chain = None if replay else chain_point(repo, run, options)
    thread_history = read_history(repo, run["thread_id"])
    history = thread_history.entries
    run_res = state.get("tool_resources")
    ci = _merge(
        _resource_ids(assistant.get("tool_resources"), "code_interpreter", "file_ids"),
        _resource_ids(thread.get("tool_resources"), "code_interpreter", "file_ids"),
        _resource_ids(run_res, "code_interpreter", "file_ids"),
        thread_history.attached,
    )
    vs = _merge(
        _resource_ids(assistant.get("tool_resources"), "file_search", "vector_store_ids"),
        _resource_ids(thread.get("tool_resources"), "file_search", "vector_store_ids"),
        _resource_ids(run_res, "file_search", "vector_store_ids"),
    )
    if chain is not None:
        # Only what the previous response has not seen: new messages that no run generated
        # (generated ones are upstream already) and the tool outputs submitted since.
        history = [
            item
            for item in repo.history(run["thread_id"], after_ord=chain["ord"])
            if item.get("object") != "thread.message" or item.get("run_id") is None
        ]
    turn: TurnInput = {
        "model": run["model"],
        "instructions": run.get("instructions") or "",
        "tools": run.get("tools") or [],
        "tool_choice": run.get("tool_choice"),
        "parallel_tool_calls": bool(run.get("parallel_tool_calls", True)),
        "response_format": run.get("response_format"),
        "temperature": state.get("temperature"),
        "top_p": state.get("top_p"),
        "reasoning_effort": run.get("reasoning_effort"),
        "max_prompt_tokens": run.get("max_prompt_tokens"),
        "max_completion_tokens": run.get("max_completion_tokens"),
        "truncation_strategy": run.get("truncation_strategy"),
        "metadata": run.get("metadata") or None,
        "code_interpreter_file_ids": ci,
        "file_search_vector_store_ids": vs,
        "history": history,
        "first_turn": not state.get("response_ids"),
        "prompt_tokens_used": int(state.get("prompt_tokens", 0)),
        "completion_tokens_used": int(state.get("completion_tokens", 0)),
        "store": options.upstream_store or options.history == "chain",
        "previous_response_id": chain["response_id"] if chain else None,
        "previous_response_ord": chain["ord"] if chain else None,
    }
    if chain is None:
        turn["history_input"] = thread_history.inputs
    # Reasoning models keep their reasoning across calls: chained calls upstream, replayed
    # ones with `store: false` here (unless the upstream refused it for this run).
    replayed = chain is None and not turn["store"]
    if replayed and is_reasoning_model(run["model"]) and not state.get("reasoning_off"):
        turn["reasoning"] = reasoning_input(repo, run, state)
    return turn
