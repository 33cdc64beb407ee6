"""Run state changes made outside a segment: expiry, cancel, tool outputs, and settling a
run whose executing client went away. All go through the status table and one effects
function, as conditional updates, so they hold across processes sharing the store.

Imports: store, compat._errors, compat._engine (status, machine, effects).
"""

from __future__ import annotations

from typing import Any

from .._errors import invalid
from ..store import Repo
from .effects import Lost, apply_effects
from .machine import Effect, Emit, Transition, close_open, end_run
from .state import RunState
from .status import RunEvent, advance, allows

Obj = dict[str, Any]

#: last_error of a run whose client stopped mid-segment (process killed, host lost, store
#: unreachable for longer than the lease): the upstream call is not repeated.
INTERRUPTED = {
    "code": "server_error",
    "message": "The run was interrupted: the process executing it stopped before it finished. "
    "Create a new run to continue the thread.",
}


def finish(repo: Repo, run: Obj, event: RunEvent, now: int, **fields: Any) -> Obj:
    """End ``run`` by ``event`` (expire, fail, cancelled), closing its open steps and
    messages. Raises Lost when the run changed elsewhere (inside a savepoint: nothing of it
    is written then)."""
    status = advance(run["status"], event)
    steps = [s for s in repo.steps_of_run(run["id"]) if s["status"] == "in_progress"]
    msgs = [m for m in repo.messages_of_run(run["id"]) if m.get("status") == "in_progress"]
    effects: list[Effect] = close_open(
        steps, msgs, status, now, last_error=fields.get("last_error")
    )
    prev = run["status"]
    end_run(run, status, now, **fields)
    effects.append(Transition(run, (prev,)))
    with repo.savepoint():
        apply_effects(repo, effects)
    return run


def expire_overdue(repo: Repo, now: int, *, thread_id: str) -> list[str]:
    """Expire the thread's active runs past ``expires_at`` (lazily, on the next request that
    touches the thread); the ids of those expired."""
    done = []
    for run in repo.overdue_runs(now, thread_id=thread_id):
        try:
            finish(repo, run, "expire", now)
            done.append(run["id"])
        except Lost:
            pass
    return done


def settle_orphan(repo: Repo, run: Obj, now: int) -> Obj | None:
    """End a run whose lease this client just took over and that it will not execute: an
    interrupted segment fails, a pending cancel completes, an overdue run expires.
    Returns the run ended, or None for a queued run (the caller executes it)."""
    try:
        if run.get("expires_at") and run["expires_at"] < now and allows(run, "expire"):
            return finish(repo, run, "expire", now)
        if run["status"] == "in_progress":
            return finish(repo, run, "fail", now, last_error=dict(INTERRUPTED))
        if run["status"] == "cancelling":
            return finish(repo, run, "cancelled", now)
    except Lost:
        return repo.get("run", run["id"])
    return None


def cancel(repo: Repo, run: Obj, now: int, *, executor_alive: bool) -> Obj:
    """Request cancellation; returns the run as the API answered it (``cancelling``).

    A run waiting for tool outputs, or one nobody is executing any more, is cancelled at
    once; otherwise its executor sees the change and closes what it had open."""
    for _ in range(3):  # a racing start or end changes the status: decide again
        status = run["status"]
        if not allows(run, "cancel"):
            raise invalid(f"Cannot cancel run with status '{status}'.")
        shown = dict(run, status=advance(status, "cancel"))
        try:
            if status != "in_progress" or not executor_alive:
                # Nothing is running upstream (queued, waiting for outputs, or its client is
                # gone): cancelled at once; the API still answers ``cancelling``.
                finish(repo, dict(run), "cancelled", now)
            elif not repo.transition_run(shown, from_statuses=(status,)):
                raise Lost(run["id"])
            return shown
        except Lost:
            run = repo.get("run", run["id"]) or run
    raise invalid(f"Cannot cancel run with status '{run['status']}'.")


def accept_tool_outputs(
    repo: Repo,
    run: Obj,
    state: RunState,
    outputs: list[Obj],
    now: int,
    *,
    lease: tuple[str, int],
) -> tuple[Obj, list[Emit]]:
    """Store submitted outputs on the pending tool_calls step and requeue the run, leased
    to the submitting client. Returns the queued run and the events a stream of the
    continuation starts with."""
    if not allows(run, "submit_outputs"):
        raise invalid(f'Runs in status "{run["status"]}" do not accept tool outputs.')
    expected = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
    got = [o.get("tool_call_id") for o in outputs]
    if sorted(expected) != sorted(str(g) for g in got) or len(set(got)) != len(got):
        raise invalid(f"Expected tool outputs for call_ids {expected!r}, got {got!r}")
    by_id = {o["tool_call_id"]: o.get("output", "") for o in outputs}
    events: list[Emit] = []
    pending = state.get("pending_step_id")
    step = repo.get("step", pending) if pending else None
    if step is not None:
        for call in step["step_details"]["tool_calls"]:
            if call["type"] == "function" and call["id"] in by_id:
                call["function"]["output"] = by_id[call["id"]]
        step.update(status="completed", completed_at=now, usage=state.get("pending_step_usage"))
        repo.save("step", step)
        events.append(Emit("thread.run.step.completed", step))
    state = RunState(**state)
    state.pop("pending_step_id", None)
    state.pop("pending_step_usage", None)
    prev = run["status"]
    run.update(status=advance(prev, "submit_outputs"), required_action=None)
    if not repo.transition_run(run, from_statuses=(prev,), state=state, lease=lease):
        current = repo.get("run", run["id"]) or run
        raise invalid(f'Runs in status "{current["status"]}" do not accept tool outputs.')
    events.append(Emit("thread.run.queued", run))
    return run, events


__all__ = [
    "INTERRUPTED",
    "accept_tool_outputs",
    "cancel",
    "expire_overdue",
    "finish",
    "settle_orphan",
]
