"""The local/fallback transport pair, built for a given httpx-like library module.

Imports: the library module passed in, compat._wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from .._wire import EventSource, LocalRequest, LocalResponse

_LOCAL_ROOTS = ("/assistants", "/threads")


def local_path(url_path: str, base_path: str) -> str | None:
    """The path relative to the base URL when it is an Assistants route, else None."""
    if not url_path.startswith(base_path):
        return None
    rest = url_path[len(base_path) :]
    if not rest.startswith("/"):
        rest = "/" + rest
    for root in _LOCAL_ROOTS:
        if rest == root or rest.startswith(root + "/"):
            return rest
    return None


def _to_local(request: Any, path: str, body: bytes) -> LocalRequest:
    timeout = (request.extensions.get("timeout") or {}).get("read")
    return LocalRequest(
        method=request.method,
        path=path,
        query_string=request.url.query.decode()
        if isinstance(request.url.query, bytes)
        else str(request.url.query),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        timeout=timeout,
    )


def build_transports(lib: ModuleType) -> tuple[type, type]:
    """Create ``(LocalTransport, AsyncLocalTransport)`` subclassing ``lib``'s base classes."""

    class _SyncBody(lib.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, source: EventSource) -> None:
            self._source = source

        def __iter__(self) -> Iterator[bytes]:
            yield from self._source

        def close(self) -> None:
            self._source.close()

    class _AsyncBody(lib.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, source: EventSource) -> None:
            self._source = source

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._source:
                yield chunk

        async def aclose(self) -> None:
            self._source.close()

    def _response(resp: LocalResponse, is_async: bool) -> Any:
        if resp.stream is None:
            return lib.Response(resp.status, headers=resp.headers, content=resp.body)
        body = _AsyncBody(resp.stream) if is_async else _SyncBody(resp.stream)
        return lib.Response(resp.status, headers=resp.headers, stream=body)

    class LocalTransport(lib.BaseTransport):  # type: ignore[name-defined,misc]
        """Answers Assistants routes from ``app``; every other request goes to ``fallback``."""

        def __init__(
            self, app: Any, fallback: Any, base_path: str, readthrough: Any = None
        ) -> None:
            self.app = app
            self.fallback = fallback
            self.base_path = base_path.rstrip("/")
            #: compat.migrate.readthrough.ReadThrough, when a legacy endpoint backs the store
            self.readthrough = readthrough

        def handle_request(self, request: Any) -> Any:
            path = local_path(request.url.path, self.base_path)
            if path is None:
                return self.fallback.handle_request(request)
            local = _to_local(request, path, request.read())
            if self.readthrough is not None and self.readthrough.wanted(local):
                failed = self.readthrough.ensure(local)
                if failed is not None:
                    return _response(failed, is_async=False)
            return _response(self.app.dispatch(local), is_async=False)

        def close(self) -> None:
            # client.close(): the real API's runs went on without their client; ours get
            # Options.exit_wait to finish over the connections about to close (the store,
            # shared by the process's clients, stays open)
            self.app.wind_down()
            self.fallback.close()

    class AsyncLocalTransport(lib.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """The async twin of LocalTransport."""

        def __init__(
            self, app: Any, fallback: Any, base_path: str, readthrough: Any = None
        ) -> None:
            self.app = app
            self.fallback = fallback
            self.base_path = base_path.rstrip("/")
            #: compat.migrate.readthrough.ReadThrough, when a legacy endpoint backs the store
            self.readthrough = readthrough

        async def handle_async_request(self, request: Any) -> Any:
            path = local_path(request.url.path, self.base_path)
            if path is None:
                return await self.fallback.handle_async_request(request)
            local = _to_local(request, path, await request.aread())
            if self.readthrough is not None and self.readthrough.wanted(local):
                # a database read and maybe remote calls: not on the event loop
                failed = await asyncio.to_thread(self.readthrough.ensure, local)
                if failed is not None:
                    return _response(failed, is_async=True)
            return _response(await self.app.adispatch(local), is_async=True)

        async def aclose(self) -> None:
            # the runs are tasks on this loop: wait in a thread, never blocking them
            await asyncio.to_thread(self.app.wind_down)
            await self.fallback.aclose()

    return LocalTransport, AsyncLocalTransport
