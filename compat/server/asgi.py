"""The ASGI application of `assistants-compat serve`.

``/v1/assistants…`` and ``/v1/threads…`` become the ``LocalRequest`` the in-process
transport builds and go through the same ``App.adispatch`` (one ``App`` per tenant, with
that tenant's upstream); the ``LocalResponse`` is written back as it is (status, headers
such as ``openai-poll-after-ms``, body), or as server-sent events with keep-alive comments.
Every other ``/v1`` route is passed to the tenant's upstream (``passthrough``).
``/healthz`` (200 once started), ``/readyz`` (the database answers) and ``/metrics``
(Prometheus text) need no key.

Shutdown (SIGTERM, Ctrl-C): uvicorn stops accepting and lets open requests finish; then runs
still executing here get ``shutdown_wait`` seconds and the rest are handed over through
their leases, so another worker or host takes them over at once.
Imports: compat._app, compat._routes, compat._wire, compat.store, openai.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai

from .._app import App
from .._errors import ApiError
from .._routes import route_of
from .._wire import LocalRequest, LocalResponse, error_response, json_response
from ..store import Store, StoreUnavailable
from . import logs, passthrough
from .config import ServerConfig, TenantUpstream
from .keys import KeyCache, mask
from .metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("compat.server")

Scope = dict[str, Any]
_LOCAL_ROOTS = ("/assistants", "/threads")

NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    "a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
)


def _wrong_key(key: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


class _TooLarge(Exception):
    pass


@dataclass
class _Tenant:
    """A tenant's local API and upstream client."""

    app: App
    client: openai.AsyncOpenAI
    upstream: TenantUpstream


class Server:
    """The ASGI callable (``uvicorn.run(Server(config))``)."""

    def __init__(self, config: ServerConfig, *, store: Store | None = None) -> None:
        self.config = config
        self.options = config.compat_options()
        self.upstreams = config.tenant_upstreams()  # ConfigError now, not at first request
        self.metrics = Metrics()
        self.store = store
        self.keys: KeyCache | None = None
        self.tenants: dict[str, _Tenant] = {}
        self.ready = False
        self.closing = False
        # key checks and health checks touch the database: never on the event loop
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="compat-serve")

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("could not start: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open the store (bringing its schema to head) and the apps of known tenants, whose
        runners take over their runs another process left behind."""
        loop = asyncio.get_running_loop()
        if self.store is None:
            self.store = await loop.run_in_executor(self._pool, Store, self.config.database)
        self.keys = KeyCache(self.store, self.config.key_cache_seconds)
        store = self.store

        def known() -> list[str]:
            with store.read() as repo:
                return repo.tenants()

        for name in await loop.run_in_executor(self._pool, known):
            self._tenant(name)
        for name, up in [("", self.config.default_upstream()), *self.upstreams.items()]:
            if not up.api_key():  # the variable's name only: never a key
                log.warning(
                    "$%s is not set: upstream calls will be refused",
                    up.api_key_env,
                    extra={"tenant": name or None},
                )
        self.ready = True
        log.info("ready", extra={"tenant": None})

    async def shutdown(self) -> None:
        """Runs still executing here get ``shutdown_wait`` s, then are handed over."""
        self.closing = True
        runners = [t.app.runner for t in self.tenants.values()]
        deadline = time.monotonic() + self.config.shutdown_wait
        if any(r.busy() for r in runners):
            log.warning("shutting down: waiting for runs still executing")
        while any(r.busy() for r in runners) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        for r in runners:
            await loop.run_in_executor(self._pool, r.release_all)
        for t in self.tenants.values():
            t.app.close()
            await t.client.close()
        self._pool.shutdown(wait=False)

    # -- tenants ---------------------------------------------------------------------------
    def _tenant(self, name: str) -> _Tenant:
        found = self.tenants.get(name)
        if found is not None:
            return found
        assert self.store is not None
        upstream = self.upstreams.get(name) or self.config.default_upstream()
        metrics = self.metrics

        async def started(request: Any) -> None:
            request.extensions["compat_t0"] = time.monotonic()

        async def answered(response: Any) -> None:
            t0 = response.request.extensions.get("compat_t0")
            if t0 is not None:
                path = response.request.url.path.split("/v1/", 1)[-1].split("/", 1)[0]
                metrics.upstream("/" + path, time.monotonic() - t0)

        client = openai.AsyncOpenAI(
            # an unset key still builds the client: the upstream answers its own 401
            api_key=upstream.api_key() or "unset",
            base_url=upstream.base_url,
            http_client=openai.DefaultAsyncHttpxClient(
                event_hooks={"request": [started], "response": [answered]}
            ),
        )
        app = App(self.store, client, is_async=True, options=self.options, tenant=name)
        app.runner.remember_loop(asyncio.get_running_loop())
        self.tenants[name] = t = _Tenant(app, client, upstream)
        return t

    # -- HTTP ------------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Any, send: Any) -> None:
        request_id = "req_" + secrets.token_hex(16)
        t0 = time.monotonic()
        sent = {"status": 0}

        async def send_(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                sent["status"] = msg["status"]
            await send(msg)

        info: dict[str, Any] = {"route": "unmatched", "tenant": None}
        try:
            await self._route(scope, receive, send_, request_id, info)
        except Exception:
            log.exception("internal error", extra={"request_id": request_id})
            if not sent["status"]:
                err = ApiError(
                    500,
                    "The server had an error while processing your request.",
                    type="server_error",
                )
                await self._write(send_, error_response(err, request_id))
        status = sent["status"] or 500
        self.metrics.request(scope["method"], info["route"], status)
        if info["route"] not in ("/healthz", "/readyz", "/metrics"):
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": info["route"],
                    "status": status,
                    "duration_ms": round((time.monotonic() - t0) * 1000, 1),
                    "tenant": info["tenant"],
                },
            )

    async def _route(
        self, scope: Scope, receive: Any, send: Any, request_id: str, info: dict[str, Any]
    ) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path in ("/healthz", "/readyz", "/metrics") and method in ("GET", "HEAD"):
            info["route"] = path
            await self._probe(path, send)
            return
        if not (path == "/v1" or path.startswith("/v1/")):
            await self._write(
                send, error_response(ApiError(404, f"Invalid URL ({method} {path})"), request_id)
            )
            return
        rest = path[3:] or "/"
        tenant = await self._authenticate(scope, send, request_id)
        if tenant is None:
            info["route"] = "unauthenticated"
            return
        info["tenant"] = tenant
        t = self._tenant(tenant)
        if any(rest == r or rest.startswith(r + "/") for r in _LOCAL_ROOTS):
            info["route"] = "/v1" + (route_of(method, rest) or rest.split("/", 2)[1])
            await self._local(t, scope, receive, send, rest, request_id)
            return
        info["route"] = "/v1/" + rest.split("/", 2)[1] + " (upstream)"
        query = scope.get("query_string", b"").decode("latin-1")
        url = t.upstream.base_url + rest + (f"?{query}" if query else "")
        await passthrough.forward(
            t.client._client, url, t.upstream.api_key(), scope, receive, send, request_id
        )

    async def _authenticate(self, scope: Scope, send: Any, request_id: str) -> str | None:
        """The tenant of the request's key; None after answering the real API's 401."""
        header = ""
        for k, v in scope["headers"]:
            if k.lower() == b"authorization":
                header = v.decode("latin-1").strip()
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            await self._write(send, error_response(ApiError(401, NO_KEY), request_id))
            return None
        assert self.keys is not None
        loop = asyncio.get_running_loop()
        try:
            tenant = await loop.run_in_executor(self._pool, self.keys.tenant_of, key)
        except StoreUnavailable:
            err = ApiError(
                500, "The server had an error while processing your request.", type="server_error"
            )
            await self._write(send, error_response(err, request_id, retry=True))
            return None
        if tenant is None:
            await self._write(send, error_response(_wrong_key(key), request_id))
        return tenant

    async def _local(
        self, t: _Tenant, scope: Scope, receive: Any, send: Any, rest: str, request_id: str
    ) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await asyncio.wait_for(
                self._read_body(receive, headers), self.config.body_timeout
            )
        except _TooLarge:
            err = ApiError(
                413,
                f"Request body too large: the limit is {self.config.max_body_bytes} bytes.",
                code="request_too_large",
            )
            await self._write(send, error_response(err, request_id))
            return
        except (TimeoutError, asyncio.TimeoutError):
            err = ApiError(408, "The request body was not received in time.")
            await self._write(send, error_response(err, request_id))
            return
        except ConnectionError:
            return  # the client went away
        req = LocalRequest(
            method=scope["method"],
            path=rest,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            timeout=_timeout_of(headers),
            tenant=t.app.tenant,
            request_id=request_id,
        )
        resp = await t.app.adispatch(req)
        if resp.stream is None:
            await self._write(send, resp)
        else:
            await self._stream(resp, receive, send)

    async def _read_body(self, receive: Any, headers: dict[str, str]) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise ConnectionError
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks)

    async def _stream(self, resp: LocalResponse, receive: Any, send: Any) -> None:
        """Server-sent events as the run publishes them, a keep-alive comment when idle;
        a client that goes away stops the stream, not the run (as with the real API)."""
        assert resp.stream is not None
        source = resp.stream
        await send(
            {
                "type": "http.response.start",
                "status": resp.status,
                "headers": [(k.encode(), v.encode()) for k, v in resp.headers],
            }
        )
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        events = source.__aiter__()
        pending: asyncio.Future[Any] | None = None
        try:
            while not gone.is_set():
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                waiter: asyncio.Future[Any] = asyncio.ensure_future(gone.wait())
                done, _ = await asyncio.wait(
                    {pending, waiter},
                    timeout=self.config.keepalive,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                if pending in done:
                    try:
                        chunk = pending.result()
                    except StopAsyncIteration:
                        pending = None
                        await send({"type": "http.response.body", "body": b""})
                        return
                    pending = None
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                elif not gone.is_set():
                    await send(
                        {
                            "type": "http.response.body",
                            "body": b": keep-alive\n\n",
                            "more_body": True,
                        }
                    )
        finally:
            watcher.cancel()
            if pending is not None:
                pending.cancel()
            source.close()

    async def _write(self, send: Any, resp: LocalResponse) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": resp.status,
                "headers": [(k.encode(), v.encode()) for k, v in resp.headers],
            }
        )
        await send({"type": "http.response.body", "body": resp.body})

    async def _probe(self, path: str, send: Any) -> None:
        loop = asyncio.get_running_loop()
        if path == "/healthz":
            ok = self.ready and not self.closing
            body = {"status": "ok" if ok else ("stopping" if self.closing else "starting")}
            await self._write(send, json_response(body, 200 if ok else 503))
            return
        if self.store is None:
            await self._write(send, json_response({"status": "starting"}, 503))
            return
        store = self.store
        if path == "/readyz":
            try:
                await loop.run_in_executor(self._pool, store.ping)
            except StoreUnavailable as exc:
                body = {"status": "unavailable", "database": str(exc)[:200]}
                await self._write(send, json_response(body, 503))
                return
            await self._write(send, json_response({"status": "ready"}))
            return

        def counts() -> dict[str, int]:
            with store.read() as repo:
                return repo.run_counts()

        try:
            runs = await loop.run_in_executor(self._pool, counts)
        except StoreUnavailable:
            runs = {}
        text = self.metrics.render(runs)
        await self._write(send, LocalResponse(200, [("content-type", CONTENT_TYPE)], text))


def _timeout_of(headers: dict[str, str]) -> float | None:
    """The read timeout the SDK announces (``x-stainless-read-timeout`` / ``-timeout``)."""
    for name in ("x-stainless-read-timeout", "x-stainless-timeout"):
        try:
            return float(headers[name])
        except (KeyError, ValueError):
            continue
    return None


def app_from_env() -> Server:
    """The application of one ``--workers`` process (uvicorn's app factory): the config
    comes from ``$COMPAT_SERVE_CONFIG``, set by ``assistants-compat serve``."""
    config = ServerConfig.from_env()
    logs.configure(config.log_level)
    return Server(config)


__all__ = ["Server", "app_from_env"]
