"""Fetch Assistants objects from an Assistants-compatible endpoint (Azure AI Foundry's
classic Agents API, astra-assistants, another compat server) through the openai SDK.

The SDK sends the requests, so retries on 429 / 5xx / dropped connections behave exactly
as the SDK's; every object is kept as the raw JSON the endpoint sent (``cast_to=object``),
never round-tripped through the SDK's models, which could drop or add fields.
Imports: openai, compat.migrate.sources.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import openai

from .sources import ThreadRecord

__all__ = ["RemoteError", "fetch_assistant", "fetch_thread", "list_assistants", "make_client"]

_BETA = {"OpenAI-Beta": "assistants=v2"}
_PAGE = 100  # the API's largest page


class RemoteError(Exception):
    """The endpoint refused or failed a request: ``str()`` is a one-line reason."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404


def make_client(
    base_url: str | None = None,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 4,
    timeout: float = 60.0,
) -> openai.OpenAI:
    """An SDK client for the endpoint (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` and the
    other ``OPENAI_*`` variables apply as in the SDK; a keyless endpoint needs no key)."""
    key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
    return openai.OpenAI(
        base_url=base_url,
        api_key=key,
        default_headers=dict(headers or {}),
        max_retries=max_retries,
        timeout=timeout,
    )


def _reason(exc: Exception) -> RemoteError:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        message = ""
        if isinstance(body, dict):
            err = body.get("error", body)
            message = str(err.get("message") or "") if isinstance(err, dict) else str(err)
        message = " ".join((message or exc.message or "").split())[:300]
        return RemoteError(
            f"HTTP {exc.status_code}: {message}".rstrip(": "), status=exc.status_code
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        detail = " ".join(str(cause).split())[:200] or type(cause).__name__
        return RemoteError(f"cannot reach the endpoint ({detail})")
    return RemoteError(" ".join(str(exc).split())[:300] or type(exc).__name__)


def _get(client: openai.OpenAI, path: str, params: dict[str, Any] | None = None) -> Any:
    options: Any = {"headers": _BETA}
    if params:
        options["params"] = params
    try:
        data = client.get(path, cast_to=object, options=options)
    except openai.OpenAIError as exc:
        raise _reason(exc) from exc
    if not isinstance(data, dict):
        raise RemoteError(f"GET {path}: the endpoint did not answer with a JSON object")
    return data


def _pages(client: openai.OpenAI, path: str) -> Iterator[dict[str, Any]]:
    """Every object of a list route, oldest first, following ``after`` cursors."""
    params: dict[str, Any] = {"limit": _PAGE, "order": "asc"}
    while True:
        page = _get(client, path, params)
        data = page.get("data")
        if not isinstance(data, list):
            raise RemoteError(f"GET {path}: not a list envelope")
        items = [o for o in data if isinstance(o, dict)]
        yield from items
        last = page.get("last_id") or (items[-1].get("id") if items else None)
        if not page.get("has_more") or not items or not last or last == params.get("after"):
            return
        params = {**params, "after": last}


def fetch_assistant(client: openai.OpenAI, assistant_id: str) -> dict[str, Any]:
    """One assistant as the endpoint returns it (RemoteError, ``not_found`` on 404)."""
    return dict(_get(client, f"/assistants/{assistant_id}"))


def list_assistants(client: openai.OpenAI) -> Iterator[dict[str, Any]]:
    """Every assistant the endpoint lists, oldest first."""
    yield from _pages(client, "/assistants")


def fetch_thread(client: openai.OpenAI, thread_id: str) -> ThreadRecord:
    """A thread with all its messages, runs and each run's steps, oldest first."""
    thread = dict(_get(client, f"/threads/{thread_id}"))
    messages = list(_pages(client, f"/threads/{thread_id}/messages"))
    runs = list(_pages(client, f"/threads/{thread_id}/runs"))
    steps: list[dict[str, Any]] = []
    for run in runs:
        steps += _pages(client, f"/threads/{thread_id}/runs/{run['id']}/steps")
    return ThreadRecord(thread=thread, messages=messages, runs=runs, steps=steps)
