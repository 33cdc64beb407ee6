"""RunDriver / AsyncRunDriver: perform a RunMachine's effects and feed it upstream events.

The drivers are the only place that calls the Responses API (``POST /responses`` on the
user's own SDK client, so its key, base URL, headers, retries and timeouts apply). They save every
state change before publishing its event, and never raise to the API caller: every
failure ends as run state. The two twins differ only by ``await``.
Imports: openai (errors only), store, compat modules.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from typing import TYPE_CHECKING, Any

import openai

from store import Repo

from .._ids import new_id, now_ns
from .._translate.context import BudgetExhausted
from .._translate.output import last_error_from_upstream
from .._translate.request import TurnInput, to_response_request
from .._transports import library_of
from .feed import Feed
from .machine import Effect, Emit, Insert, RunMachine, Save, Transition
from .turn import build_turn_input

if TYPE_CHECKING:
    from .._app import App

log = logging.getLogger("compat.engine")

Obj = dict[str, Any]
_CHECK_EVERY = 0.25  # seconds between checks for a cancel made by another process


class _Lost(Exception):
    """A conditional run transition lost: someone else changed the run's status."""


def _now() -> int:
    return int(time.time())


def _event_dict(ev: Any) -> Obj:
    if isinstance(ev, dict):
        return ev
    return ev.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)  # type: ignore[no-any-return]


@functools.cache
def _post_options() -> Any:
    """Request options of ``responses.create`` (3.x names the bearer auth it needs)."""
    from openai._base_client import make_request_options

    try:
        return make_request_options(security={"bearer_auth": True})  # type: ignore[call-arg]
    except TypeError:
        return make_request_options()


def _post_responses(client: Any, kwargs: Obj, stream_cls: Any) -> Any:
    """``POST /responses`` (stream) through the user's client, events as plain dicts.

    Same request as ``client.responses.create(**kwargs, stream=True)`` (key, base URL,
    headers, retries, timeouts are the client's), minus the SDK's per-field transform of the
    body and model parsing of each event: the body is wire JSON already, and the engine wants
    dicts (this was most of the added latency of a turn).
    """
    return client.post(
        "/responses",
        body={**kwargs, "stream": True},
        cast_to=object,
        options=_post_options(),
        stream=True,
        stream_cls=stream_cls,
    )


def _upstream_error(exc: BaseException) -> Obj:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        return last_error_from_upstream(status=exc.status_code, code=code, message=exc.message)
    if isinstance(exc, openai.APIError):
        return last_error_from_upstream(
            status=None, code=getattr(exc, "code", None), message=exc.message
        )
    return last_error_from_upstream(
        status=None, code=None, message="The server had an error while processing your request."
    )


class Segment:
    """The I/O-free-of-upstream half both drivers share: store access and publishing."""

    def __init__(self, app: App, run_id: str, feed: Feed | None) -> None:
        self.app = app
        self.run_id = run_id
        self.feed = feed
        self.machine: RunMachine | None = None
        self._last_check = time.monotonic()

    # -- setup -------------------------------------------------------------------------
    def begin(self) -> Obj | None:
        """Move the queued run to in_progress and build its ``/responses`` request, in one
        transaction. None when there is nothing to call (no longer queued, budget spent)."""
        try:
            with self.app.store.write() as repo:
                found = repo.get_with_state("run", self.run_id)
                if found is None:
                    return None
                run, state = found
                self.machine = RunMachine(
                    run,
                    state,
                    new_id=new_id,
                    include_file_search_content=bool(state.get("include_content")),
                )
                if run["status"] != "queued":
                    started: list[Effect] = []
                else:
                    started = self.machine.start(_now())
                    for e in started:
                        self._save(repo, e)
                    turn = self._turn_input(repo, replay=False)
        except _Lost:
            self.settle_lost()
            return None
        if not started:
            self._publish_current(run)
            return None
        self._publish(started)
        return self._translate(turn)

    def request(self, *, replay: bool = False) -> Obj | None:
        """The ``responses.create`` kwargs for this segment, or None if a budget ran out."""
        with self.app.store.read() as repo:
            turn = self._turn_input(repo, replay=replay)
        return self._translate(turn)

    def _turn_input(self, repo: Repo, *, replay: bool) -> TurnInput:
        assert self.machine is not None
        # Everything in this request's input was created before this point (a thread takes
        # no messages while its run is active): the next call may chain from here.
        self.machine.state["turn_ord"] = now_ns()
        return build_turn_input(
            repo, self.machine.run, self.machine.state, self.app.options, replay=replay
        )

    def _translate(self, turn: TurnInput) -> Obj | None:
        assert self.machine is not None
        try:
            return to_response_request(turn)
        except BudgetExhausted as exc:
            self.apply(self.machine.exhausted(exc.reason, _now()))
            return None

    @staticmethod
    def chain_broken(kwargs: Obj, exc: BaseException) -> bool:
        """True when a chained call failed because the upstream cannot continue the chain
        (response gone, or it disagrees about pending calls): the caller replays instead."""
        return (
            "previous_response_id" in kwargs
            and isinstance(exc, openai.APIStatusError)
            and exc.status_code in (400, 404)
        )

    # -- effects -----------------------------------------------------------------------
    def apply(self, effects: list[Effect]) -> None:
        """Save the batch in one transaction, then publish its events in order."""
        if any(not isinstance(e, Emit) for e in effects):
            with self.app.store.write() as repo:
                for e in effects:
                    self._save(repo, e)
        self._publish(effects)

    def _publish(self, effects: list[Effect]) -> None:
        run_changed = False
        for e in effects:
            if isinstance(e, Emit):
                if self.feed is not None:
                    self.feed.publish(e.event, e.data)
                run_changed = (
                    run_changed or e.event.startswith("thread.run.") and ".step." not in e.event
                )
        if run_changed:
            self.app.watch.notify(self.run_id)

    def _save(self, repo: Repo, e: Effect) -> None:
        if isinstance(e, Insert):
            repo.insert(e.kind, e.body, ord=now_ns())
        elif isinstance(e, Save):
            repo.save(e.kind, e.body)
        elif isinstance(e, Transition):
            if not repo.transition_run(e.run, from_statuses=e.from_statuses, state=e.state):
                raise _Lost()

    def feed_event(self, ev: Any) -> None:
        assert self.machine is not None
        self.apply(self.machine.feed(_event_dict(ev), _now()))

    def cancel_requested_here(self) -> bool:
        return self.run_id in self.app.cancel_requests

    def check_due(self) -> bool:
        """True every ``_CHECK_EVERY`` seconds: time to look for changes made elsewhere."""
        t = time.monotonic()
        if t - self._last_check < _CHECK_EVERY:
            return False
        self._last_check = t
        return True

    def changed_elsewhere(self) -> bool:
        """True when the stored run left in_progress (a cancel or expiry by another process)."""
        with self.app.store.read() as repo:
            run = repo.get("run", self.run_id)
        return run is None or run["status"] != "in_progress"

    def wants_cancel(self) -> bool:
        return self.cancel_requested_here() or (self.check_due() and self.changed_elsewhere())

    # -- endings -----------------------------------------------------------------------
    def fail(self, exc: BaseException) -> None:
        assert self.machine is not None
        if self.machine.finished:
            return
        try:
            self.apply(self.machine.fail(_upstream_error(exc), _now()))
        except _Lost:
            self.settle_lost()

    def internal_error(self, exc: BaseException) -> None:
        """A fault of ours, not of the upstream: fail the run, then tell a streaming caller
        (every SDK version raises ``APIError`` on an event that carries ``error``)."""
        log.error("run %s: internal error", self.run_id, exc_info=exc)
        if self.machine is not None:
            self.fail(exc)
        if self.feed is not None:
            error = {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": "server_error",
            }
            self.feed.publish("error", {"error": error})

    def cancel(self) -> None:
        assert self.machine is not None
        try:
            self.apply(self.machine.cancel(_now()))
        except _Lost:
            self.settle_lost()

    def ended(self) -> None:
        assert self.machine is not None
        try:
            self.apply(self.machine.stream_ended(_now()))
        except _Lost:
            self.settle_lost()

    def settle_lost(self) -> None:
        """Another actor changed the run: finish a pending cancel, or report what it is now."""
        with self.app.store.read() as repo:
            run = repo.get("run", self.run_id)
        if run is None or self.machine is None:
            return
        if run["status"] == "cancelling":
            self.machine.run = run
            self.machine.finished = False
            try:
                self.apply(self.machine.cancel(_now()))
                return
            except _Lost:
                with self.app.store.read() as repo:
                    run = repo.get("run", self.run_id) or run
        self._publish_current(run)

    def _publish_current(self, run: Obj) -> None:
        if self.feed is not None and run["status"] in (
            "cancelled",
            "expired",
            "failed",
            "completed",
            "incomplete",
        ):
            self.feed.publish(f"thread.run.{run['status']}", run)

    def close(self) -> None:
        """End of the segment: end the stream, wake pollers, drop per-run bookkeeping (a
        poller that misses the wake-up re-reads the store within its 0.1 s tick)."""
        self.app.cancel_requests.discard(self.run_id)
        if self.feed is not None:
            self.feed.close()
        self.app.watch.notify(self.run_id)
        self.app.watch.forget(self.run_id)

    # -- files written by code_interpreter ---------------------------------------------
    def files_to_materialize(self, ev: Obj) -> list[tuple[str, str, str | None, str]]:
        """``(key, container_id, container_file_id | None, filename_or_url)`` still unmapped."""
        assert self.machine is not None
        if not self.app.options.materialize_files:
            return []
        out = []
        if ev.get("type") == "response.output_text.annotation.added":
            ann = ev.get("annotation") or {}
            if (
                ann.get("type") == "container_file_citation"
                and ann.get("file_id") not in self.machine.file_ids
            ):
                out.append(
                    (
                        ann["file_id"],
                        ann.get("container_id", ""),
                        ann["file_id"],
                        ann.get("filename") or "file",
                    )
                )
        elif ev.get("type") == "response.output_item.done":
            item = ev.get("item") or {}
            if item.get("type") == "code_interpreter_call":
                for o in item.get("outputs") or []:
                    if (
                        o.get("type") == "image"
                        and o.get("url")
                        and o["url"] not in self.machine.file_ids
                    ):
                        out.append((o["url"], item.get("container_id") or "", None, o["url"]))
        return out


def _image_name(url: str) -> str:
    return (
        "image.png"
        if url.startswith("data:")
        else url.rstrip("/").split("/")[-1].split("?")[0] or "image.png"
    )


class RunDriver:
    """Runs one segment in a worker thread with the sync SDK client."""

    def __init__(self, app: App, run_id: str, feed: Feed | None) -> None:
        self.seg = Segment(app, run_id, feed)
        self.client: Any = app.client

    def run(self) -> None:
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
                    if seg.machine.finished:  # type: ignore[union-attr]
                        continue  # read to the end: the connection goes back to the pool
                    d = _event_dict(ev)
                    for key, container, cfile, name in seg.files_to_materialize(d):
                        fid = self._materialize(container, cfile, name)
                        if fid:
                            seg.machine.file_ids[key] = fid  # type: ignore[union-attr]
                    seg.feed_event(d)
                    if not seg.machine.finished and seg.wants_cancel():  # type: ignore[union-attr]
                        seg.cancel()
                        break
                else:
                    seg.ended()
            except _Lost:
                seg.settle_lost()
            except openai.APIError as exc:  # the upstream stream broke off
                log.warning("run %s failed: %s", seg.run_id, exc)
                seg.fail(exc)
            finally:
                stream.close()
        except Exception as exc:
            seg.internal_error(exc)
        finally:
            seg.close()

    def _open(self, kwargs: Obj) -> Any:
        """The upstream event stream; None when the call failed (the run is then failed).
        A chained call the upstream cannot continue is retried once as a replay."""
        seg = self.seg
        try:
            return _post_responses(self.client, kwargs, openai.Stream[object])
        except Exception as exc:  # upstream refused: the run fails, the caller never sees it
            if not seg.chain_broken(kwargs, exc):
                seg.fail(exc)
                return None
        replay = seg.request(replay=True)
        if replay is None:
            return None
        try:
            return _post_responses(self.client, replay, openai.Stream[object])
        except Exception as exc:
            seg.fail(exc)
            return None

    def _materialize(self, container_id: str, cfile_id: str | None, name: str) -> str | None:
        """Copy a container file (or image URL) into the Files API; its ``file-…`` id."""
        try:
            if cfile_id is not None:
                # a plain GET: the SDK's containers resource only exists in newer versions
                data = self.client.get(
                    f"/containers/{container_id}/files/{cfile_id}/content",
                    cast_to=library_of(self.client._client).Response,
                ).content
                filename = name
            elif name.startswith("data:"):
                data, filename = base64.b64decode(name.split(",", 1)[1]), "image.png"
            else:
                data, filename = self.client._client.get(name).content, _image_name(name)
            return str(self.client.files.create(file=(filename, data), purpose="assistants").id)
        except Exception as exc:
            log.warning("could not copy %s into the Files API: %s", cfile_id or name[:60], exc)
            return None


class AsyncRunDriver:
    """The async twin: runs one segment as a task on the async client's event loop."""

    def __init__(self, app: App, run_id: str, feed: Feed | None) -> None:
        self.seg = Segment(app, run_id, feed)
        self.client: Any = app.client
        self.app = app

    async def _io(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.app.workers, fn, *args)

    async def run(self) -> None:
        seg, io = self.seg, self._io
        try:
            kwargs = await io(seg.begin)
            if kwargs is None:
                return
            stream = await self._open(kwargs)
            if stream is None:
                return
            try:
                async for ev in stream:
                    assert seg.machine is not None
                    if seg.machine.finished:
                        continue  # read to the end: the connection goes back to the pool
                    d = _event_dict(ev)
                    for key, container, cfile, name in seg.files_to_materialize(d):
                        fid = await self._materialize(container, cfile, name)
                        if fid:
                            seg.machine.file_ids[key] = fid  # type: ignore[union-attr]
                    effects = seg.machine.feed(d, _now())
                    if any(not isinstance(e, Emit) for e in effects):
                        await io(seg.apply, effects)
                    else:
                        seg.apply(effects)  # publishing only: no database, no thread hop
                    if seg.machine.finished:
                        continue
                    if seg.cancel_requested_here() or (
                        seg.check_due() and await io(seg.changed_elsewhere)
                    ):
                        await io(seg.cancel)
                        break
                else:
                    await io(seg.ended)
            except _Lost:
                await io(seg.settle_lost)
            except openai.APIError as exc:
                log.warning("run %s failed: %s", seg.run_id, exc)
                await io(seg.fail, exc)
            finally:
                await stream.close()
        except Exception as exc:
            await io(seg.internal_error, exc)
        except asyncio.CancelledError:
            # The event loop is going away (e.g. asyncio.run returned) with the run mid-way:
            # end it as failed now, synchronously, rather than leave it in_progress.
            if seg.machine is not None and not seg.machine.finished:
                seg.fail(RuntimeError("the event loop running this run was shut down"))
            raise
        finally:
            seg.close()

    async def _open(self, kwargs: Obj) -> Any:
        seg, io = self.seg, self._io
        try:
            return await _post_responses(self.client, kwargs, openai.AsyncStream[object])
        except Exception as exc:
            if not seg.chain_broken(kwargs, exc):
                await io(seg.fail, exc)
                return None
        replay = await io(lambda: seg.request(replay=True))
        if replay is None:
            return None
        try:
            return await _post_responses(self.client, replay, openai.AsyncStream[object])
        except Exception as exc:
            await io(seg.fail, exc)
            return None

    async def _materialize(self, container_id: str, cfile_id: str | None, name: str) -> str | None:
        try:
            if cfile_id is not None:
                resp = await self.client.get(
                    f"/containers/{container_id}/files/{cfile_id}/content",
                    cast_to=library_of(self.client._client).Response,
                )
                data, filename = resp.content, name
            elif name.startswith("data:"):
                data, filename = base64.b64decode(name.split(",", 1)[1]), "image.png"
            else:
                data, filename = (await self.client._client.get(name)).content, _image_name(name)
            return str(
                (await self.client.files.create(file=(filename, data), purpose="assistants")).id
            )
        except Exception as exc:
            log.warning("could not copy %s into the Files API: %s", cfile_id or name[:60], exc)
            return None
