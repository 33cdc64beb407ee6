"""Transports that answer the Assistants routes in process and pass the rest through.

One adapter serves both HTTP libraries: ``httpx`` (openai 1.x / 2.x) and ``httpx2``
(openai 3.x) share the transport API, so the classes are built per library module.
Imports: httpx / httpx2 (whichever the SDK's client uses), compat._wire.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from .._httplib import library_of
from ._adapter import build_transports

__all__ = ["install", "library_of"]


@cache
def _classes(lib_name: str) -> tuple[type, type]:
    return build_transports(importlib.import_module(lib_name))


def install(
    http_client: Any, app: Any, base_path: str, *, is_async: bool, readthrough: Any = None
) -> Any:
    """Wrap ``http_client``'s transports so local paths reach ``app``; returns the app in use.

    Wrapping is idempotent: a client whose transport is already local keeps its app (and
    takes ``readthrough``, the legacy endpoint's read-through, when one is given).
    """
    lib = library_of(http_client)
    sync_cls, async_cls = _classes(lib.__name__)
    cls = async_cls if is_async else sync_cls
    current: Any = http_client._transport
    if isinstance(current, cls):
        if readthrough is not None:
            current.readthrough = readthrough  # type: ignore[attr-defined]
        return current.app  # type: ignore[attr-defined]
    http_client._transport = cls(app, current, base_path, readthrough)
    # Proxy mounts pick a transport by scheme/host only; wrap them too so every path is seen.
    for pattern, transport in list(http_client._mounts.items()):
        if transport is not None and not isinstance(transport, cls):
            http_client._mounts[pattern] = cls(app, transport, base_path, readthrough)
    return app
