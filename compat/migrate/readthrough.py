"""Read-through migration: an assistant or thread id the store does not have is fetched once
from a legacy Assistants-compatible endpoint, imported whole, then served locally.

The transports (compat._transports) ask ``ReadThrough.ensure`` before a local request runs.
Ids are taken from the path (``/assistants/{id}``, ``/threads/{id}/...``) and from the
``assistant_id`` of run-create bodies. A thread comes with its messages, runs and steps in
one transaction (compat.migrate.importer), so a failing endpoint leaves nothing half-written.
Imports: openai, store, compat._errors, compat._wire, compat.migrate.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import OrderedDict
from typing import Any

import openai

from .._errors import ApiError, server_error
from .._httplib import sdk_settings
from .._wire import LocalRequest, LocalResponse, error_response
from ..store import Store, StoreError
from . import remote
from .importer import Summary, import_assistants, import_thread

__all__ = ["ReadThrough", "legacy_client"]

log = logging.getLogger("compat.migrate")

Key = tuple[str, str]  # ("assistant" | "thread", id)


def legacy_client(legacy: Any, *, api_key: str | None = None) -> openai.OpenAI:
    """A synchronous SDK client for ``legacy``: an ``openai.OpenAI`` (used as is), an
    ``openai.AsyncOpenAI`` (its settings), or a base URL (with ``api_key``)."""
    if isinstance(legacy, openai.OpenAI):
        return legacy
    if isinstance(legacy, openai.AsyncOpenAI):
        return openai.OpenAI(**sdk_settings(legacy))
    if isinstance(legacy, str):
        return remote.make_client(legacy, api_key=api_key, max_retries=2)
    raise TypeError(f"legacy must be an openai client or a base URL, not {type(legacy).__name__}")


class _Lru:
    """A bounded set of keys (oldest dropped first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[Key, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Key) -> bool:
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return True
            return False

    def add(self, key: Key) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)


class ReadThrough:
    """Fetches what the store lacks from ``legacy`` (a synchronous openai client)."""

    def __init__(self, store: Store, legacy: openai.OpenAI, *, cache_size: int = 10_000) -> None:
        self.store = store
        self.legacy = legacy
        self._local = _Lru(cache_size)  # known to be in the store (or deleted locally)
        self._unknown = _Lru(cache_size)  # the legacy endpoint answered 404
        self._locks = [threading.Lock() for _ in range(64)]
        #: how many objects were fetched from the legacy endpoint (threads and assistants)
        self.fetched = 0

    def wanted(self, req: LocalRequest) -> list[Key]:
        """The ids ``req`` names that may need fetching (none when all are known)."""
        keys = _keys_of(req)
        return [k for k in keys if k not in self._local and k not in self._unknown]

    def ensure(self, req: LocalRequest) -> LocalResponse | None:
        """Import what ``req`` names and the store lacks; an error response when the legacy
        endpoint failed (nothing of that object was stored), else None."""
        for key in self.wanted(req):
            try:
                self._ensure(key)
            except ApiError as err:
                return error_response(err, "req_" + secrets.token_hex(16))
            except StoreError as exc:  # nothing stored: the SDK may retry, as for the API's 5xx
                log.error("read-through of %s %s: the store failed: %s", *key, exc)
                return error_response(server_error(), "req_" + secrets.token_hex(16), retry=True)
        if req.method == "DELETE":
            # deleted here: not fetched again (the store remembers it for other processes)
            for key in _keys_of(req):
                self._local.add(key)
        return None

    def _ensure(self, key: Key) -> None:
        kind, id_ = key
        with self._locks[hash(key) % len(self._locks)]:
            if key in self._local or key in self._unknown:
                return
            with self.store.read() as repo:
                present = repo.get(kind, id_) is not None  # type: ignore[arg-type]
                # deleted here (by any process, before any restart): 404 like the real API
                present = present or repo.was_deleted(kind, id_)  # type: ignore[arg-type]
            if present:
                self._local.add(key)
                return
            summary = Summary()
            try:
                if kind == "thread":
                    record = remote.fetch_thread(self.legacy, id_)
                    import_thread(self.store, id_, record, summary)
                else:
                    assistant = remote.fetch_assistant(self.legacy, id_)
                    import_assistants(self.store, [assistant], summary)
            except remote.RemoteError as exc:
                if exc.not_found:
                    self._unknown.add(key)
                    return
                log.warning("read-through of %s %s failed: %s", kind, id_, exc)
                raise ApiError(
                    502,
                    f"The {kind} '{id_}' is not in the local store and the legacy Assistants "
                    f"endpoint failed: {exc}",
                    type="server_error",
                    code="legacy_unavailable",
                ) from exc
            if summary.total("failed"):
                why = "; ".join(str(p) for p in summary.problems)[:300]
                raise ApiError(
                    500,
                    f"The {kind} '{id_}' from the legacy endpoint could not be stored: {why}",
                    type="server_error",
                    code="legacy_import_failed",
                )
            self.fetched += 1
            self._local.add(key)


def _keys_of(req: LocalRequest) -> list[Key]:
    parts = req.path.strip("/").split("/")
    keys: list[Key] = []
    if len(parts) >= 2 and parts[0] == "assistants" and parts[1]:
        keys.append(("assistant", parts[1]))
    if len(parts) >= 2 and parts[0] == "threads" and parts[1] and parts[1] != "runs":
        keys.append(("thread", parts[1]))
    creates_run = req.method == "POST" and (
        parts == ["threads", "runs"]
        or (len(parts) == 3 and parts[0] == "threads" and parts[2] == "runs")
    )
    if creates_run:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            body = None  # the endpoint answers the malformed body itself
        assistant_id = body.get("assistant_id") if isinstance(body, dict) else None
        if isinstance(assistant_id, str) and assistant_id:
            keys.append(("assistant", assistant_id))
    return keys
