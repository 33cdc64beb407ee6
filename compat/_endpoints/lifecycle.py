"""Run state changes made by endpoints (not by a driver): expiry, cancel, tool outputs.

Each is a conditional update in the store, so it holds across processes sharing it.
Imports: store, compat._engine.machine (status rules), compat internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from store import Repo

from .._engine.machine import Emit, Insert, Save, Transition, close_open, end_run
from .._errors import invalid

if TYPE_CHECKING:
    from .._app import App

Obj = dict[str, Any]


def _apply(repo: Repo, effects: list[Any]) -> bool:
    for e in effects:
        if isinstance(e, Save):
            repo.save(e.kind, e.body)
        elif isinstance(e, Insert):
            raise AssertionError("endpoints never insert through effects")
        elif isinstance(e, Transition):
            if not repo.transition_run(e.run, from_statuses=e.from_statuses, state=e.state):
                return False
    return True


def _open_work(repo: Repo, run_id: str) -> tuple[list[Obj], list[Obj]]:
    steps = [s for s in repo.steps_of_run(run_id) if s["status"] == "in_progress"]
    msgs = [m for m in repo.messages_of_run(run_id) if m.get("status") == "in_progress"]
    return steps, msgs


def finish(repo: Repo, run: Obj, status: str, now: int, **fields: Any) -> Obj | None:
    """End ``run`` as ``status`` closing its open steps and messages; None if it lost a race."""
    steps, msgs = _open_work(repo, run["id"])
    effects = close_open(steps, msgs, status, now)
    prev = run["status"]
    end_run(run, status, now, **fields)
    effects.append(Transition(run, (prev,)))
    return run if _apply(repo, effects) else None


def expire_overdue(app: App, repo: Repo, now: int, *, thread_id: str) -> None:
    """Move the thread's active runs that are past ``expires_at`` to ``expired`` (lazily,
    on the next request that touches the thread, as nothing else may be alive to do it)."""
    for run in repo.overdue_runs(now, thread_id=thread_id):
        if finish(repo, run, "expired", now) is not None:
            app.watch.notify(run["id"])


def active_run(app: App, repo: Repo, now: int, *, thread_id: str) -> Obj | None:
    """The run holding the thread, if any; one found past ``expires_at`` is expired first
    (so a crashed process cannot lock a thread for longer than a run's lifetime)."""
    run = repo.active_run(thread_id)
    if run is None or (run.get("expires_at") or now) >= now:
        return run
    if finish(repo, run, "expired", now) is not None:
        app.watch.notify(run["id"])
    return repo.active_run(thread_id)


def cancel(app: App, repo: Repo, run: Obj, now: int) -> Obj:
    """Request cancellation; returns the run as the API answered (status ``cancelling``)."""
    status = run["status"]
    if status in ("queued", "in_progress"):
        run["status"] = "cancelling"
        if not repo.transition_run(run, from_statuses=(status,)):
            raise invalid(f"Cannot cancel run with status '{status}'.")
        app.cancel_requests.add(run["id"])
        return run
    if status == "requires_action":
        # Nothing executes a run waiting for outputs: finish the cancel here.
        shown = dict(run, status="cancelling")
        if finish(repo, dict(run), "cancelled", now) is None:
            raise invalid(f"Cannot cancel run with status '{status}'.")
        return shown
    raise invalid(f"Cannot cancel run with status '{status}'.")


def accept_tool_outputs(
    repo: Repo, run: Obj, state: Obj, outputs: list[Obj], now: int
) -> tuple[Obj, list[Emit]]:
    """Store submitted outputs on the pending tool_calls step and requeue the run.

    Returns the queued run and the events a stream of the continuation starts with.
    """
    if run["status"] != "requires_action":
        raise invalid(f'Runs in status "{run["status"]}" do not accept tool outputs.')
    expected = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
    got = [o.get("tool_call_id") for o in outputs]
    if sorted(expected) != sorted(str(g) for g in got) or len(set(got)) != len(got):
        raise invalid(f"Expected tool outputs for call_ids {expected!r}, got {got!r}")
    by_id = {o["tool_call_id"]: o.get("output", "") for o in outputs}
    events: list[Emit] = []
    step = (
        repo.get("step", state.get("pending_step_id", "")) if state.get("pending_step_id") else None
    )
    if step is not None:
        for call in step["step_details"]["tool_calls"]:
            if call["type"] == "function" and call["id"] in by_id:
                call["function"]["output"] = by_id[call["id"]]
        step.update(status="completed", completed_at=now, usage=state.get("pending_step_usage"))
        repo.save("step", step)
        events.append(Emit("thread.run.step.completed", step))
    state = dict(state)
    state.pop("pending_step_id", None)
    state.pop("pending_step_usage", None)
    run.update(status="queued", required_action=None)
    if not repo.transition_run(run, from_statuses=("requires_action",), state=state):
        current = repo.get("run", run["id"]) or run
        raise invalid(f'Runs in status "{current["status"]}" do not accept tool outputs.')
    events.append(Emit("thread.run.queued", run))
    return run, events
