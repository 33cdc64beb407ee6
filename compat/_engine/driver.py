"""Drivers: execute one run segment (one Responses call) by feeding its events to a
RunMachine and applying the machine's effects.

``Segment`` holds all per-event work both drivers share: the store transactions (retried
while the store is briefly unavailable), the thread's code_interpreter container, what to
send instead of a refused call, publishing, cancel checks, endings. ``RunDriver`` (sync
client) and ``AsyncRunDriver`` (async client) differ only in I/O. Every failure ends as run
state, never as an exception to the API caller.
Imports: store, compat._translate, compat._engine (machine, effects, status, upstream, turn).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import openai

from .._ids import new_id, now_ns
from .._options import Options
from .._translate.context import BudgetExhausted
from .._translate.output import last_error_from_upstream
from .._translate.request import ENCRYPTED_REASONING, TurnInput, to_response_request
from ..store import Repo, Store, StoreUnavailable
from .effects import Lost, apply_effects, has_writes
from .feed import Feed, RunWatch
from .lifecycle import finish
from .machine import Effect, Emit, RunMachine, Transition
from .status import TERMINAL
from .turn import build_turn_input
from .upstream import AsyncUpstream, Upstream, current_loop

log = logging.getLogger("compat.engine")

Obj = dict[str, Any]
T = TypeVar("T")

_CHECK_EVERY = 0.25  # seconds between checks for a cancel made by another process
_FLUSH_EVERY = 0.25  # longest a run nobody streams keeps its progress unsaved
_SERVER_ERROR = "The server had an error while processing your request."


class RunControl(Protocol):
    """What a driver needs of the runner that started it."""

    watch: RunWatch

    def release(self, run_id: str, token: object) -> None: ...

    def cancel_requested(self, run_id: str) -> bool: ...

    def handed_over(self, run_id: str) -> bool: ...

    def io(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]: ...


class Services(Protocol):
    """What a driver is given: store, options, upstream and its runner."""

    @property
    def store(self) -> Store: ...

    @property
    def options(self) -> Options: ...

    @property
    def upstream(self) -> Upstream | AsyncUpstream: ...

    @property
    def runner(self) -> RunControl: ...


class GiveUp(Exception):
    """This client stops executing the run and writes nothing more: the store stayed
    unavailable for a whole lease (the lease lapses and a live client ends the run once the
    store is back), or the run was handed over at exit (the next client takes it)."""


def _now() -> int:
    return int(time.time())


def _refusal(exc: BaseException) -> tuple[str, str] | None:
    """``(code, message)`` of a 400 or 404 answer (code "" when none), else None."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 404):
        return None
    body = exc.body if isinstance(exc.body, dict) else {}
    code = body.get("code") if isinstance(body.get("code"), str) else ""
    return code or "", str(exc.message)


def container_gone(exc: BaseException) -> bool:
    """True when the upstream refused a container: expired (400 ``Container is expired.``)
    or deleted (404 ``Container with id '…' not found.``)."""
    refused = _refusal(exc)
    return refused is not None and "container" in refused[1].lower()


def code_interpreter_tool(kwargs: Obj) -> Obj | None:
    """The request's code_interpreter tool, if it has one."""
    return next((t for t in kwargs.get("tools") or () if t["type"] == "code_interpreter"), None)


def _upstream_error(exc: BaseException) -> Obj:
    """``last_error`` for a failed upstream call or stream, whatever raised it."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = exc.message
        if exc.status_code in (401, 403):
            # Not a model failure: say so, or the run looks like an outage of the model.
            said = body.get("message") if isinstance(body.get("message"), str) else exc.message
            message = (
                f"The Responses API refused this client's credentials ({exc.status_code}): "
                f"{said} Check the API key, organization and project the client was "
                "created with."
            )
        return last_error_from_upstream(status=exc.status_code, code=code, message=message)
    if isinstance(exc, openai.APIError):
        return last_error_from_upstream(
            status=None, code=getattr(exc, "code", None), message=exc.message
        )
    # the HTTP library's transport errors (a connection dropped mid-stream): as the SDK
    # reports a connection it could not make
    return last_error_from_upstream(status=None, code=None, message="Connection error.")


class Segment:
    """What both drivers share for one segment of one run: store, machine, publishing."""

    def __init__(self, services: Services, run_id: str, feed: Feed | None, claim: object) -> None:
        self.sv = services
        self.run_id = run_id
        self.feed = feed
        self.claim = claim  # this process's claim on the run (see Runner.claim)
        self.machine: RunMachine | None = None
        self._last_check = time.monotonic()
        self._pending: list[Effect] = []
        self._pending_since = 0.0
        self.lost = False  # another actor changed the run (its stored state is authoritative)
        self._replay = False  # the chain broke: this segment's calls replay the thread
        self._retried: set[str] = set()  # what a refused call was already retried for

    @property
    def finished(self) -> bool:
        return self.machine is None or self.machine.finished

    # -- the store, retried ------------------------------------------------------------
    def write(self, fn: Callable[[Repo], T]) -> T:
        """``fn`` in one write transaction, retried while the store is unavailable for up
        to one lease; GiveUp after that."""
        deadline = time.monotonic() + self.sv.options.lease_seconds
        delay = 0.05
        while True:
            if self.sv.runner.handed_over(self.run_id):
                raise GiveUp("its lease was handed over at exit")
            try:
                with self.sv.store.write() as repo:
                    return fn(repo)
            except StoreUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    raise GiveUp(f"store unavailable: {exc}") from exc
                log.warning("run %s: store unavailable, retrying: %s", self.run_id, exc)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    # -- setup -------------------------------------------------------------------------
    def begin(self) -> Obj | None:
        """Move the queued run to in_progress and build its ``/responses`` request, in one
        transaction. None when there is nothing to call (no longer queued, budget spent)."""

        def start(repo: Repo) -> tuple[list[Effect], TurnInput | None, Obj | None]:
            found = repo.get_with_state("run", self.run_id)
            if found is None:
                return [], None, None
            run, state = found
            if run["status"] == "cancelling":  # cancelled before it started
                return [], None, finish(repo, run, "cancelled", _now())
            if run["status"] != "queued":
                return [], None, run
            self.machine = RunMachine(
                run,
                state,
                new_id=new_id,
                include_file_search_content=bool(state.get("include_content")),
            )
            started = self.machine.start(_now())
            apply_effects(repo, started)
            if "container" not in state and any(
                t.get("type") == "code_interpreter" for t in run.get("tools") or ()
            ):
                # the thread's container: every run with code_interpreter carries it forward
                state["container"] = repo.latest_run_state(run["thread_id"], "container")
            return started, self._turn_input(repo, replay=False), None

        try:
            started, turn, current = self.write(start)
        except Lost:
            self.settle_lost()
            return None
        if turn is None:
            if current is not None:
                self.publish_current(current)
            return None
        self.publish(started)
        return self._translate(turn)

    def request(self) -> Obj | None:
        """The ``responses.create`` kwargs for this segment, or None if a budget ran out."""
        with self.sv.store.read() as repo:
            turn = self._turn_input(repo, replay=self._replay)
        return self._translate(turn)

    def _turn_input(self, repo: Repo, *, replay: bool) -> TurnInput:
        assert self.machine is not None
        # Everything in this request's input was created before this point (a thread takes
        # no messages while its run is active): the next call may chain from here.
        self.machine.state["turn_ord"] = now_ns()
        return build_turn_input(
            repo, self.machine.run, self.machine.state, self.sv.options, replay=replay
        )

    def _translate(self, turn: TurnInput) -> Obj | None:
        assert self.machine is not None
        try:
            return to_response_request(turn)
        except BudgetExhausted as exc:
            self.apply(self.machine.exhausted(exc.reason, _now()))
            return None

    # -- the upstream call ------------------------------------------------------------
    def containerize(self, kwargs: Obj) -> None:
        """Let the call's code_interpreter run in the thread's container, as Assistants
        kept one sandbox per thread (responses-mapping §5.3): created on first use with the
        files the request names (assistant's, thread's, attachments'), which later calls
        add as they appear; the tool then names it. Upstream calls, outside any store
        transaction. When no container can be had the request keeps its ``auto`` one."""
        tool = code_interpreter_tool(kwargs)
        if tool is None or isinstance(tool["container"], str) or self.machine is None:
            return
        state = self.machine.state
        wanted: list[str] = list(tool["container"].get("file_ids") or ())
        known = state.get("container")
        kept = self._add_files(known["id"], list(known["file_ids"]), wanted) if known else None
        if kept is None:
            try:
                cid = self.sv.upstream.create_container(self.machine.run["thread_id"], wanted)
            except Exception as exc:
                log.warning("run %s: no thread container, using an auto one: %s", self.run_id, exc)
                state["container"] = None
                return
            kept = {"id": cid, "file_ids": wanted}
        state["container"] = kept
        tool["container"] = kept["id"]

    def _add_files(self, cid: str, have: list[str], wanted: list[str]) -> Obj | None:
        """The container with the files it lacks copied in; None when it is gone."""
        for fid in [f for f in wanted if f not in have]:
            try:
                self.sv.upstream.add_container_file(cid, fid)
            except Exception as exc:
                if container_gone(exc):  # expired or deleted: a new one gets every file
                    return None
                log.warning("run %s: could not copy %s into %s: %s", self.run_id, fid, cid, exc)
            have.append(fid)  # tried: not again with every call
        return {"id": cid, "file_ids": have}

    def retry(self, kwargs: Obj, exc: BaseException) -> Obj | None:
        """After the upstream refused ``kwargs``: the request to send instead (each cause is
        retried once per segment), or None, the run then failed (or its budget ran out).

        - chained, and the upstream cannot continue the chain (response gone, or it
          disagrees about pending calls): replay the thread instead;
        - replayed reasoning it no longer verifies (``invalid_encrypted_content``: another
          model, project or key): without those items, marked dropped for later calls too;
          encrypted reasoning refused for the model: none for the rest of the run;
        - the thread's container expired or was deleted: a new one, the files copied in.
        """
        cause = self._cause(kwargs, exc)
        if cause is None or cause in self._retried or self.machine is None:
            self.fail(exc)
            return None
        self._retried.add(cause)
        state = self.machine.state
        log.warning("run %s: upstream refused the call (%s), retrying: %s", self.run_id, cause, exc)
        if cause == "chain":
            self._replay = True
        elif cause == "container":
            state["container"] = None
        elif cause == "reasoning":
            dropped = state.setdefault("reasoning_dropped", [])
            dropped += [i["id"] for i in kwargs["input"] if i.get("type") == "reasoning"]
        else:
            state["reasoning_off"] = True
        return self.request()

    @staticmethod
    def _cause(kwargs: Obj, exc: BaseException) -> str | None:
        refused = _refusal(exc)
        if refused is None:
            return None
        code, message = refused
        tool = code_interpreter_tool(kwargs)
        if tool is not None and isinstance(tool["container"], str) and container_gone(exc):
            return "container"
        if "previous_response_id" in kwargs:
            return "chain"
        if ENCRYPTED_REASONING not in (kwargs.get("include") or ()):
            return None
        if code == "invalid_encrypted_content" or "could not be verified" in message:
            return "reasoning"
        if "Encrypted content is not supported" in message:
            return "reasoning_off"
        return None

    # -- effects -----------------------------------------------------------------------
    def apply(self, effects: list[Effect]) -> None:
        """Save the effects, then publish their events in order.

        A run nobody streams saves its progress in batches (at most ``_FLUSH_EVERY`` old, and
        always with a status change); a streamed run saves each batch before its events go
        out, so a reader never sees an id the store does not have."""
        if self.feed is None and not any(isinstance(e, Transition) for e in effects):
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending += effects
            if time.monotonic() - self._pending_since < _FLUSH_EVERY:
                return
            effects, self._pending = self._pending, []
        elif self._pending:
            effects, self._pending = [*self._pending, *effects], []
        if has_writes(effects):
            self.write(lambda repo: apply_effects(repo, effects))
        if self.finished:
            # before the end goes out: a reader acting on it at once (tool outputs submitted
            # from a stream handler) queues the next segment, which must find no claim here;
            # the release also wakes this run's pollers
            self.release()
            self.publish(effects, wake_pollers=False)
        else:
            self.publish(effects)

    def publish(self, effects: list[Effect], *, wake_pollers: bool = True) -> None:
        run_changed = False
        for e in effects:
            if isinstance(e, Emit):
                if self.feed is not None:
                    self.feed.publish(e.event, e.data)
                run_changed = run_changed or (
                    e.event.startswith("thread.run.") and ".step." not in e.event
                )
        if run_changed and wake_pollers:
            self.sv.runner.watch.notify(self.run_id)

    def on_event(self, ev: Obj) -> None:
        """Translate one upstream event and apply what it changes."""
        assert self.machine is not None
        self.apply(self.machine.feed(ev, _now()))

    def check_due(self) -> bool:
        """True every ``_CHECK_EVERY`` seconds: time to look for changes made elsewhere."""
        t = time.monotonic()
        if t - self._last_check < _CHECK_EVERY:
            return False
        self._last_check = t
        return True

    def cancel_requested_here(self) -> bool:
        return self.sv.runner.cancel_requested(self.run_id)

    def changed_elsewhere(self) -> bool:
        """True when the stored run left in_progress (a cancel, expiry or takeover)."""
        try:
            with self.sv.store.read() as repo:
                run = repo.get("run", self.run_id)
        except StoreUnavailable:
            return False  # the next write finds out whether the store is back
        return run is None or run["status"] != "in_progress"

    def wants_cancel(self) -> bool:
        return self.cancel_requested_here() or (self.check_due() and self.changed_elsewhere())

    def files_to_materialize(self, ev: Obj) -> list[tuple[str, str, str | None, str]]:
        """``(key, container_id, container_file_id | None, filename_or_url)`` still unmapped."""
        assert self.machine is not None
        if not self.sv.options.materialize_files:
            return []
        known = self.machine.file_ids
        out = []
        if ev.get("type") == "response.output_text.annotation.added":
            ann = ev.get("annotation") or {}
            if ann.get("type") == "container_file_citation" and ann.get("file_id") not in known:
                fid = ann["file_id"]
                out.append((fid, ann.get("container_id", ""), fid, ann.get("filename") or "file"))
        elif ev.get("type") == "response.output_item.done":
            item = ev.get("item") or {}
            if item.get("type") == "code_interpreter_call":
                for o in item.get("outputs") or []:
                    url = o.get("url")
                    if o.get("type") == "image" and url and url not in known:
                        out.append((url, item.get("container_id") or "", None, url))
        return out

    # -- endings -----------------------------------------------------------------------
    def _end(self, make: Callable[[RunMachine], list[Effect]]) -> None:
        if self.machine is None or self.machine.finished:
            return
        try:
            self.apply(make(self.machine))
        except Lost:
            self.settle_lost()

    def fail(self, exc: BaseException) -> None:
        self._end(lambda m: m.fail(_upstream_error(exc), _now()))

    def cancel(self) -> None:
        self._end(lambda m: m.cancel(_now()))

    def ended(self) -> None:
        self._end(lambda m: m.stream_ended(_now()))

    def internal_error(self, exc: BaseException) -> None:
        """A fault of ours, not of the upstream: fail the run (unless the store is what
        failed: then its lease lapses and another client ends it), then tell a streaming
        caller (every SDK version raises ``APIError`` on an event carrying ``error``)."""
        if isinstance(exc, GiveUp):
            log.warning("run %s: stopped here, handing the run over: %s", self.run_id, exc)
        else:
            log.error("run %s: internal error", self.run_id, exc_info=exc)
            try:
                self.fail(exc)
            except Exception:
                log.exception("run %s: could not record the failure", self.run_id)
        if self.feed is not None:
            error = {
                "message": _SERVER_ERROR,
                "type": "server_error",
                "param": None,
                "code": "server_error",
            }
            self.feed.publish("error", {"error": error})

    def settle_lost(self) -> None:
        """Another actor changed the run: finish a pending cancel, or report what it is now."""
        self._pending = []
        self.lost = True

        def settle(repo: Repo) -> Obj | None:
            run = repo.get("run", self.run_id)
            if run is not None and run["status"] == "cancelling" and self.machine is not None:
                self.machine.run = run
                self.machine.finished = False
                effects = self.machine.cancel(_now())
                try:
                    with repo.savepoint():
                        apply_effects(repo, effects)
                except Lost:
                    return repo.get("run", self.run_id)
                self.publish(effects)
                return None
            return run

        run = self.write(settle)
        if run is not None:
            self.publish_current(run)

    def publish_current(self, run: Obj) -> None:
        if self.feed is not None and run["status"] in TERMINAL:
            self.feed.publish(f"thread.run.{run['status']}", run)

    def close(self) -> None:
        """End of the segment: flush, end the stream, release the run here, wake pollers."""
        if self._pending:
            try:
                self.apply([])  # unreachable in practice: a segment ends with a transition
            except Exception:
                log.exception("run %s: could not save its last progress", self.run_id)
        if self.feed is not None:
            self.feed.close()
        self.release()

    def release(self) -> None:
        """Let another segment of this run start here (idempotent)."""
        self.sv.runner.release(self.run_id, self.claim)


class RunDriver:
    """Executes one segment with the sync client, in whichever thread iterates ``steps``."""

    def __init__(self, services: Services, run_id: str, feed: Feed | None, claim: object) -> None:
        self.seg = Segment(services, run_id, feed, claim)
        self.up: Upstream = services.upstream  # type: ignore[assignment]

    def run(self) -> Obj | None:
        """The whole segment; the run as saved at its end (None if it did not start here
        or was changed elsewhere)."""
        for _ in self.steps():
            pass
        m = self.seg.machine
        return dict(m.run) if m is not None and m.finished and not self.seg.lost else None

    def steps(self) -> Iterator[None]:
        """The segment, yielding after each upstream event is saved and published."""
        seg = self.seg
        try:
            kwargs = seg.begin()
            if kwargs is None:
                return
            stream = self._open(kwargs)
            if stream is None:
                return
            try:
                for ev in stream:
                    if seg.finished:
                        continue  # read to the end: the connection goes back to the pool
                    for key, container, cfile, name in seg.files_to_materialize(ev):
                        fid = self.up.materialize(container, cfile, name)
                        if fid:
                            seg.machine.file_ids[key] = fid  # type: ignore[union-attr]
                    seg.on_event(ev)
                    if not seg.finished and seg.wants_cancel():
                        seg.cancel()
                        break
                    if seg.finished:
                        seg.release()  # a follow-up segment may start now
                    yield
                else:
                    seg.ended()
            except Lost:
                seg.settle_lost()
            except self.up.errors as exc:  # the upstream stream broke off
                log.warning("run %s failed: %s", seg.run_id, exc)
                seg.fail(exc)
            finally:
                stream.close()
        except Exception as exc:
            seg.internal_error(exc)
        finally:
            seg.close()

    def _open(self, kwargs: Obj | None) -> Any:
        """The upstream event stream; None when the call failed (the run is then failed).
        A refused call is sent again as ``Segment.retry`` says."""
        seg = self.seg
        while kwargs is not None:
            if code_interpreter_tool(kwargs) is not None:
                seg.containerize(kwargs)
            try:
                return self.up.open(kwargs)
            except Exception as exc:  # refused: the run fails, the caller never sees it
                kwargs = seg.retry(kwargs, exc)
        return None


class AsyncRunDriver:
    """The async twin: executes one segment as a task on the async client's event loop;
    store work runs in the runner's threads (SQLAlchemy is synchronous)."""

    def __init__(self, services: Services, run_id: str, feed: Feed | None, claim: object) -> None:
        self.seg = Segment(services, run_id, feed, claim)
        self.up: AsyncUpstream = services.upstream  # type: ignore[assignment]
        self.io = services.runner.io

    async def run(self) -> None:
        seg, io = self.seg, self.io
        # upstream calls made from store threads (containers) come back to this loop
        current_loop.set(asyncio.get_running_loop())
        try:
            kwargs = await io(seg.begin)
            if kwargs is None:
                return
            stream = await self._open(kwargs)
            if stream is None:
                return
            try:
                async for ev in stream:
                    if seg.finished:
                        continue  # read to the end: the connection goes back to the pool
                    for key, container, cfile, name in seg.files_to_materialize(ev):
                        fid = await self.up.materialize(container, cfile, name)
                        if fid:
                            seg.machine.file_ids[key] = fid  # type: ignore[union-attr]
                    assert seg.machine is not None
                    effects = seg.machine.feed(ev, _now())
                    if has_writes(effects) or seg._pending:
                        await io(seg.apply, effects)
                    else:
                        seg.publish(effects)  # publishing only: no store, no thread hop
                    if seg.finished:
                        seg.release()
                        continue
                    if seg.cancel_requested_here() or (
                        seg.check_due() and await io(seg.changed_elsewhere)
                    ):
                        await io(seg.cancel)
                        break
                else:
                    await io(seg.ended)
            except Lost:
                await io(seg.settle_lost)
            except self.up.errors as exc:
                log.warning("run %s failed: %s", seg.run_id, exc)
                await io(seg.fail, exc)
            finally:
                await stream.close()
        except Exception as exc:
            await io(seg.internal_error, exc)
        except asyncio.CancelledError:
            # The event loop is going away (e.g. asyncio.run returned) with the run mid-way:
            # end it as failed now, synchronously, rather than leave it in_progress.
            if not seg.finished:
                seg.fail(RuntimeError("the event loop running this run was shut down"))
            raise
        finally:
            seg.close()

    async def _open(self, kwargs: Obj | None) -> Any:
        seg, io = self.seg, self.io
        while kwargs is not None:
            if code_interpreter_tool(kwargs) is not None:
                await io(seg.containerize, kwargs)
            try:
                return await self.up.open(kwargs)
            except Exception as exc:
                kwargs = await io(seg.retry, kwargs, exc)
        return None
