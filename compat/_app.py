"""The local API application: route a LocalRequest, call its endpoint, render errors.

``App`` builds the services endpoints use (store, options, upstream, runner) for one SDK
client and answers requests with them.
Imports: compat._routes, compat._engine (runner, upstream), compat._wire, compat._errors,
compat._options, store.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._engine.runner import Runner, Services
from ._engine.upstream import AsyncUpstream, Upstream, current_loop
from ._errors import ApiError, server_error
from ._options import Options
from ._routes import match
from ._wire import LocalRequest, LocalResponse, error_response, json_response
from .store import Store, StoreUnavailable

__all__ = ["App", "Options"]

log = logging.getLogger("compat")


class App:
    """One local Assistants API over one store, serving one SDK client (sync or async), or
    one tenant of the server (``tenant``; ``client`` is then that tenant's upstream)."""

    def __init__(
        self,
        store: Store,
        client: Any,
        *,
        is_async: bool,
        options: Options | None = None,
        tenant: str = "",
    ) -> None:
        options = options or Options()
        upstream = AsyncUpstream(client) if is_async else Upstream(client)
        self.tenant = tenant
        self.runner = Runner(store, options, upstream, tenant=tenant)
        self.services: Services = self.runner.services
        self.store = store
        self.options = options
        self.is_async = is_async
        # async requests answer in these threads (the store is synchronous); long polls
        # wait here too, never in the threads that execute runs
        self._executor: ThreadPoolExecutor | None = None

    def dispatch(self, req: LocalRequest) -> LocalResponse:
        """Answer one request; errors become the real API's error bodies, never tracebacks."""
        request_id = req.request_id or "req_" + secrets.token_hex(16)
        if req.tenant != self.tenant:  # an App answers for its one tenant only
            req = dataclasses.replace(req, tenant=self.tenant)
        try:
            endpoint, params = match(req.method, req.path)
            result = endpoint(self.services, req, **params)
        except ApiError as err:
            return error_response(err, request_id)
        except StoreUnavailable as exc:
            log.error("store unavailable answering %s %s: %s", req.method, req.path, exc)
            # nothing was stored: the SDK may retry, as it does the API's own 5xx
            return error_response(server_error(), request_id, retry=True)
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
        current_loop.set(loop)
        self.runner.remember_loop(loop)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="compat-api")
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, ctx.run, self.dispatch, req)

    def wind_down(self) -> None:
        """The SDK client is closing: let this client's runs end (``Runner.wind_down``),
        then ``close``. Blocking: an async client calls it in a worker thread."""
        self.runner.wind_down()
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=False)
        self.runner.close()
