"""Runs: create (and create_and_run), list, retrieve (with the poll-helper wait), update,
cancel, submit_tool_outputs. Streaming variants answer server-sent events from a Feed.

Imports: store, compat internals.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from .. import _objects, _params
from .._engine.feed import Feed
from .._engine.lifecycle import accept_tool_outputs, expire_overdue
from .._engine.lifecycle import cancel as cancel_run
from .._engine.runner import lease_lapsed
from .._engine.state import RunState
from .._engine.status import TERMINAL
from .._errors import invalid
from .._ids import new_id, now_ns
from .._wire import LocalResponse, json_response
from ..store import ACTIVE_RUN_STATUSES as ACTIVE
from ..store import OWNED_RUN_STATUSES as OWNED
from ..store import ActiveRunConflict, Repo
from ._common import active_run, check_ids, get_in_thread, get_or_404, list_page, thread_write
from .messages import attach_file_search, build_message
from .threads import create_thread, store_thread

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]

#: what the SDK's poll helper waits for: the run needs the caller, or it ended
POLL_STOP = ("requires_action", *TERMINAL)
POLL_AFTER_MS = "50"
_SSE_HEADERS = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]


def _busy(thread_id: str, run_id: str | None) -> Exception:
    return invalid(f"Thread {thread_id} already has an active run {run_id}.")


def effective_config(assistant: Obj, p: Obj) -> tuple[Obj, RunState]:
    """``(run settings, private state)``: run params over the assistant's, defaults last."""

    def pick(key: str, default: Any) -> Any:
        if p.get(key) is not None:
            return p[key]
        value = assistant.get(key)
        return default if value is None else value

    instructions = (
        p["instructions"]
        if p.get("instructions") is not None
        else assistant.get("instructions") or ""
    )
    if p.get("additional_instructions"):
        instructions = (
            f"{instructions}\n\n{p['additional_instructions']}"
            if instructions
            else p["additional_instructions"]
        )
    tools = (
        _objects.normalize_tools(p["tools"])
        if p.get("tools") is not None
        else assistant.get("tools") or []
    )
    cfg = {
        "model": p.get("model") or assistant["model"],
        "instructions": instructions,
        "tools": tools,
        "metadata": p.get("metadata") or {},
        "temperature": float(pick("temperature", 1.0)),
        "top_p": float(pick("top_p", 1.0)),
        "max_prompt_tokens": p.get("max_prompt_tokens"),
        "max_completion_tokens": p.get("max_completion_tokens"),
        "truncation_strategy": p.get("truncation_strategy")
        or {"type": "auto", "last_messages": None},
        "response_format": pick("response_format", "auto"),
        "tool_choice": p.get("tool_choice") or "auto",
        "parallel_tool_calls": p["parallel_tool_calls"]
        if p.get("parallel_tool_calls") is not None
        else True,
        "reasoning_effort": pick("reasoning_effort", None),
    }
    if "last_messages" not in cfg["truncation_strategy"]:
        cfg["truncation_strategy"] = {**cfg["truncation_strategy"], "last_messages": None}
    state: RunState = {}
    # Sampling params go upstream only when someone set them (reasoning models reject them).
    for key in ("temperature", "top_p"):
        if p.get(key) is not None:
            state[key] = p[key]
        elif assistant.get(key) not in (None, 1.0):
            state[key] = assistant[key]
    return cfg, state


def _start(
    sv: Services, run: Obj, *, stream: bool, prelude: list[tuple[str, Obj]]
) -> Obj | LocalResponse:
    if not stream:
        sv.runner.start(run["id"], None)
        return run
    feed = Feed()
    for event, data in prelude:
        feed.publish(event, data)
    body = sv.runner.start(run["id"], feed)
    return LocalResponse(200, list(_SSE_HEADERS), stream=body)


def _new_run(
    sv: Services,
    repo: Repo,
    thread_id: str,
    assistant: Obj,
    p: Obj,
    include: list[str],
    extra_state: RunState,
) -> Obj:
    cfg, state = effective_config(assistant, p)
    cfg["tool_resources"] = extra_state.get("tool_resources") or {}  # create_and_run's own
    state.update(extra_state)
    state["include_content"] = bool(include)
    ord_ = repo.next_ord(thread_id, now_ns())
    run = _objects.run(new_id("run"), ord_ // 10**9, thread_id, assistant["id"], cfg)
    try:
        repo.insert("run", run, ord=ord_, state=state, lease=sv.runner.lease())
    except ActiveRunConflict as exc:
        raise _busy(thread_id, exc.run_id) from None
    return run


def create(sv: Services, req: LocalRequest, thread_id: str) -> Obj | LocalResponse:
    check_ids(thread_id=thread_id)
    p = _params.run_create(req.json())
    include = _params.include_query(req.query())
    now = sv.now()
    extra = [build_message(thread_id, now_ns(), m) for m in p.get("additional_messages") or []]
    thread = None
    if any(a["tools"] for m in extra for a in m["attachments"]):
        # file_search attachments go into the thread's vector store: upstream, before the
        # transaction (nothing is stored if the run is then refused)
        with sv.store.read() as repo:
            thread = get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        if not attach_file_search(sv, thread, extra):
            thread = None

    def insert(repo: Repo) -> Obj:
        if not repo.lock_thread(thread_id, tenant=req.tenant):
            get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        assistant = get_or_404(repo, "assistant", p["assistant_id"], tenant=req.tenant)
        active = active_run(sv, repo, now, thread_id=thread_id)
        if active is not None:
            raise _busy(thread_id, active["id"])
        # places fixed under the thread's lock: the run's input is exactly what precedes it
        rows: list[tuple[Obj, int]] = []
        for m in extra:
            o = repo.next_ord(thread_id, now_ns()) if not rows else rows[-1][1] + 1
            m["created_at"] = o // 10**9
            rows.append((m, o))
        repo.insert_many("message", rows)
        if thread is not None:
            repo.save("thread", thread)
        return _new_run(sv, repo, thread_id, assistant, p, include, {})

    run = thread_write(sv, insert)
    return _start(
        sv,
        run,
        stream=bool(p.get("stream")),
        prelude=[("thread.run.created", run), ("thread.run.queued", run)],
    )


def create_thread_and_run(sv: Services, req: LocalRequest) -> Obj | LocalResponse:
    p = _params.thread_create_and_run(req.json())
    with sv.store.read() as repo:
        assistant = get_or_404(repo, "assistant", p["assistant_id"], tenant=req.tenant)
    thread, thread_ord, msgs = create_thread(sv, dict(p.get("thread") or {}))
    extra_state: RunState = {
        "tool_resources": _objects.normalize_resources(p.get("tool_resources")) or {}
    }
    with sv.store.write() as repo:
        store_thread(repo, thread, thread_ord, msgs, tenant=req.tenant)
        run = _new_run(sv, repo, thread["id"], assistant, p, [], extra_state)
    prelude = [("thread.created", thread), ("thread.run.created", run), ("thread.run.queued", run)]
    return _start(sv, run, stream=bool(p.get("stream")), prelude=prelude)


def list_(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    now = sv.now()
    with sv.store.read() as repo:
        overdue = bool(repo.overdue_runs(now, thread_id=thread_id))
    if overdue:  # take the write lock only when there is something to expire
        with sv.store.write() as repo:
            expired = expire_overdue(repo, now, thread_id=thread_id)
        for run_id in expired:
            sv.runner.watch.notify(run_id)
    return list_page(sv, req, "run", thread_id=thread_id)[0]


def _read_run(sv: Services, thread_id: str, run_id: str, tenant: str) -> Obj:
    """The run; one past ``expires_at`` is expired and one whose client went away is taken
    over first (so a reader never waits on a run nobody executes)."""
    with sv.store.read() as repo:
        # the run and its lease in one query
        found = repo.run_with_lease(run_id, tenant=tenant)
        if found is None or found[0]["thread_id"] != thread_id:
            get_in_thread(repo, "run", run_id, thread_id, tenant=tenant)  # the API's 404
            raise AssertionError  # unreachable: get_in_thread raised
        run, lease_until = found
    orphan = run["status"] in OWNED and lease_lapsed(lease_until)
    overdue = run["status"] in ACTIVE and (run.get("expires_at") or 0) < sv.now()
    if not (orphan or overdue):
        return run
    if overdue:
        with sv.store.write() as repo:
            expired = expire_overdue(repo, sv.now(), thread_id=thread_id)
        for rid in expired:
            sv.runner.watch.notify(rid)
    else:
        sv.runner.take_over(run_id)
    with sv.store.read() as repo:
        return get_in_thread(repo, "run", run_id, thread_id, tenant=tenant)


def retrieve(sv: Services, req: LocalRequest, thread_id: str, run_id: str) -> LocalResponse:
    check_ids(thread_id=thread_id, run_id=run_id)
    runner = sv.runner
    version = runner.watch.version(run_id)
    run = _read_run(sv, thread_id, run_id, req.tenant)
    if req.headers.get("x-stainless-poll-helper") == "true" and run["status"] not in POLL_STOP:
        # The SDK's poll helper: answer when the run needs the caller, not on a fixed tick.
        # A sync client executes a run it queued right here, in the polling thread.
        if run["status"] == "queued" and runner.owns(run_id):
            ended = runner.execute_here(run_id)
            if ended is not None:
                run = ended
        limit = sv.options.poll_wait
        if req.timeout:
            limit = min(limit, req.timeout / 2)
        deadline = time.monotonic() + limit
        while run["status"] not in POLL_STOP and time.monotonic() < deadline:
            # Woken at once by this process's drivers; re-read the database now and then
            # for runs that another process is executing.
            runner.watch.wait(run_id, version, min(0.1, max(0.0, deadline - time.monotonic())))
            version = runner.watch.version(run_id)
            run = _read_run(sv, thread_id, run_id, req.tenant)
    return json_response(run, headers=[("openai-poll-after-ms", POLL_AFTER_MS)])


def update(sv: Services, req: LocalRequest, thread_id: str, run_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id)
    p = _params.run_update(req.json())
    with sv.store.write() as repo:
        run = get_in_thread(repo, "run", run_id, thread_id, tenant=req.tenant)
        if "metadata" in p:
            run["metadata"] = p["metadata"] or {}
        # Only metadata changes: a conditional update keeps a concurrent transition intact.
        if not repo.transition_run(run, from_statuses=(run["status"],)):
            raise invalid("The run changed while it was being updated; try again.")
    return run


def cancel(sv: Services, req: LocalRequest, thread_id: str, run_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id)
    now = sv.now()
    with sv.store.write() as repo:
        get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        expired = expire_overdue(repo, now, thread_id=thread_id)
        run = get_or_404(repo, "run", run_id, tenant=req.tenant, thread_id=thread_id)
        alive = sv.runner.executing(run_id) or not sv.runner.lapsed(repo, run_id)
        out = cancel_run(repo, run, now, executor_alive=alive)
    sv.runner.request_cancel(run_id)
    for rid in [*expired, run_id]:
        sv.runner.watch.notify(rid)
    return out


def submit_tool_outputs(
    sv: Services, req: LocalRequest, thread_id: str, run_id: str
) -> Obj | LocalResponse:
    check_ids(thread_id=thread_id, run_id=run_id)
    p = _params.submit_tool_outputs(req.json())
    now = sv.now()
    with sv.store.write() as repo:
        get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        expired = expire_overdue(repo, now, thread_id=thread_id)
        get_or_404(repo, "run", run_id, tenant=req.tenant, thread_id=thread_id)
        found = repo.get_with_state("run", run_id)
        assert found is not None
        run, events = accept_tool_outputs(
            repo,
            found[0],
            cast(RunState, found[1]),
            p["tool_outputs"],
            now,
            lease=sv.runner.lease(),
        )
    for rid in [*expired, run_id]:
        sv.runner.watch.notify(rid)
    return _start(
        sv, run, stream=bool(p.get("stream")), prelude=[(e.event, e.data) for e in events]
    )
