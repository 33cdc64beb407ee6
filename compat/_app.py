"""The local API application: route a LocalRequest, call its endpoint, render errors.

``App`` also owns what endpoints share: the store, the SDK client runs call upstream
with, the worker pool, the feeds of streaming runs and the run watch.
Imports: compat._routes, compat._engine, compat._wire, compat._errors, store.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from store import Store

from ._engine.driver import AsyncRunDriver, RunDriver
from ._engine.feed import Feed, RunWatch
from ._errors import ApiError, server_error
from ._routes import match
from ._wire import LocalRequest, LocalResponse, error_response, json_response

log = logging.getLogger("compat")

_loop_var: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "compat_loop", default=None
)


@dataclass(frozen=True)
class Options:
    """How runs use the Responses API.

    history: ``"replay"`` (default) sends the thread as input on every call, with
      ``store: false``; it works with any Responses-compatible server. ``"chain"`` sends only
      what is new since the thread's last response with ``previous_response_id`` (and
      ``store: true``), for long threads; it falls back to replay when the chain cannot serve
      (truncation or prompt budgets set, model changed, upstream lost the response).
    upstream_store: the ``store`` flag sent in replay mode.
    materialize_files: copy files code_interpreter writes into the Files API (``file-…`` ids).
    poll_wait: longest time (s) a poll-helper retrieve waits for the run to need the caller.
    """

    history: str = "replay"
    upstream_store: bool = False
    materialize_files: bool = True
    poll_wait: float = 5.0


class App:
    """One local Assistants API over one store, serving one SDK client (sync or async)."""

    def __init__(
        self, store: Store, client: Any, *, is_async: bool, options: Options | None = None
    ) -> None:
        self.store = store
        self.client = client
        self.is_async = is_async
        self.options = options or Options()
        self.watch = RunWatch()
        self.cancel_requests: set[str] = set()
        # Requests (which may long-poll) and runs get separate pools, so waiting pollers can
        # never starve the runs they wait for.
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="compat-api")
        self.workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="compat-run")
        self._tasks: set[asyncio.Task[None]] = set()

    # -- requests ------------------------------------------------------------------------
    def dispatch(self, req: LocalRequest) -> LocalResponse:
        """Answer one request; errors become the real API's error bodies, never tracebacks."""
        request_id = "req_" + secrets.token_hex(16)
        try:
            endpoint, params = match(req.method, req.path)
            result = endpoint(self, req, **params)
        except ApiError as err:
            return error_response(err, request_id)
        except Exception:
            log.exception("internal error answering %s %s", req.method, req.path)
            return error_response(server_error(), request_id)
        if isinstance(result, LocalResponse):
            result.headers.append(("x-request-id", request_id))
            return result
        return json_response(result, headers=[("x-request-id", request_id)])

    async def adispatch(self, req: LocalRequest) -> LocalResponse:
        """``dispatch`` in a worker thread, so the database never blocks the event loop."""
        loop = asyncio.get_running_loop()
        _loop_var.set(loop)
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self.executor, ctx.run, self.dispatch, req)

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, run_id: str, feed: Feed | None) -> None:
        """Execute the run's next segment in the background (thread, or the client's loop)."""
        if not self.is_async:
            self.workers.submit(RunDriver(self, run_id, feed).run)
            return
        loop = _loop_var.get()
        if loop is None:
            raise RuntimeError("async run started outside the client's event loop")
        driver = AsyncRunDriver(self, run_id, feed)

        def _spawn() -> None:
            task = loop.create_task(driver.run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(_spawn)

    def call_upstream(self, fn: Callable[[Any], Any]) -> Any:
        """Call ``fn(client)`` on the user's client from an endpoint (awaiting it if async)."""
        result = fn(self.client)
        if not self.is_async:
            return result
        loop = _loop_var.get()
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(result, loop).result()

    def now(self) -> int:
        return int(time.time())

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=False)
        self.workers.shutdown(wait=False, cancel_futures=False)
