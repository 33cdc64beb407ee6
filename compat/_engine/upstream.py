"""The Responses API as the engine calls it: through the user's own SDK client.

``Upstream`` (sync client) and ``AsyncUpstream`` (async client) differ only in I/O: open a
``POST /responses`` event stream, copy a container file into the Files API, and call the
client for endpoints that pass a resource through (vector stores) or keep a thread's
code_interpreter container. The client's key, base URL, organization, project, headers,
retries and timeouts apply to every call.
Imports: openai, compat._httplib (which HTTP library the client uses).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import logging
from collections.abc import Callable
from typing import Any

import openai

from .._httplib import library_of

log = logging.getLogger("compat.engine")

Obj = dict[str, Any]

#: The event loop of the async request being answered (set by the async dispatcher).
current_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "compat_loop", default=None
)


@functools.cache
def _post_options() -> Any:
    """Request options of ``responses.create`` (3.x names the bearer auth it needs)."""
    from openai._base_client import make_request_options

    try:
        return make_request_options(security={"bearer_auth": True})  # type: ignore[call-arg]
    except TypeError:
        return make_request_options()


def _post_kwargs(kwargs: Obj, stream_cls: Any) -> Obj:
    # Same request as ``client.responses.create(**kwargs, stream=True)`` minus the SDK's
    # per-field transform of the body and model parsing of each event: the body is wire
    # JSON already and the engine reads events as dicts (most of a turn's added latency).
    return {
        "body": {**kwargs, "stream": True},
        "cast_to": object,
        "options": _post_options(),
        "stream": True,
        "stream_cls": stream_cls,
    }


def _image_name(url: str) -> str:
    if url.startswith("data:"):
        return "image.png"
    return url.rstrip("/").split("/")[-1].split("?")[0] or "image.png"


class _Base:
    def __init__(self, client: Any) -> None:
        self.client = client
        lib = library_of(client._client)
        self.lib = lib
        #: what a dropped or refused connection raises while a stream is read: the SDK's
        #: errors, and the HTTP library's own (httpx raises them bare mid-stream)
        self.errors: tuple[type[BaseException], ...] = (openai.APIError, lib.HTTPError)

    def _content_path(self, container_id: str, cfile_id: str) -> str:
        return f"/containers/{container_id}/files/{cfile_id}/content"

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(client)``, waited for (from a thread that is not the async client's loop)."""
        raise NotImplementedError

    # Containers by plain POSTs: the SDK's containers resource only exists in newer versions.
    def create_container(self, name: str, file_ids: list[str]) -> str:
        """``POST /containers`` with the files copied in; the new ``cntr_…`` id."""
        body = {"name": name, "file_ids": file_ids}
        created = self.call(
            lambda c: c.post("/containers", body=body, cast_to=object, options=_post_options())
        )
        return str(created["id"])

    def add_container_file(self, container_id: str, file_id: str) -> None:
        """``POST /containers/{id}/files``: copy a Files API file into the container."""
        path = f"/containers/{container_id}/files"
        self.call(
            lambda c: c.post(
                path, body={"file_id": file_id}, cast_to=object, options=_post_options()
            )
        )


class Upstream(_Base):
    """The sync client's Responses calls."""

    def open(self, kwargs: Obj) -> Any:
        """The event stream (an iterator of dicts) of ``POST /responses``."""
        return self.client.post("/responses", **_post_kwargs(kwargs, openai.Stream[object]))

    def materialize(self, container_id: str, cfile_id: str | None, name: str) -> str | None:
        """Copy a container file (or image URL) into the Files API; its ``file-…`` id."""
        try:
            if cfile_id is not None:
                # a plain GET: the SDK's containers resource only exists in newer versions
                data = self.client.get(
                    self._content_path(container_id, cfile_id), cast_to=self.lib.Response
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

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(client)``: a pass-through call made by an endpoint."""
        return fn(self.client)


class AsyncUpstream(_Base):
    """The async client's Responses calls (made on the client's event loop)."""

    async def open(self, kwargs: Obj) -> Any:
        return await self.client.post(
            "/responses", **_post_kwargs(kwargs, openai.AsyncStream[object])
        )

    async def materialize(self, container_id: str, cfile_id: str | None, name: str) -> str | None:
        try:
            if cfile_id is not None:
                resp = await self.client.get(
                    self._content_path(container_id, cfile_id), cast_to=self.lib.Response
                )
                data, filename = resp.content, name
            elif name.startswith("data:"):
                data, filename = base64.b64decode(name.split(",", 1)[1]), "image.png"
            else:
                data, filename = (await self.client._client.get(name)).content, _image_name(name)
            created = await self.client.files.create(file=(filename, data), purpose="assistants")
            return str(created.id)
        except Exception as exc:
            log.warning("could not copy %s into the Files API: %s", cfile_id or name[:60], exc)
            return None

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(client)`` awaited on the request's loop, from the endpoint's worker thread."""
        loop = current_loop.get()
        if loop is None:
            raise RuntimeError("async upstream call outside the client's event loop")
        return asyncio.run_coroutine_threadsafe(fn(self.client), loop).result()
