"""Facts about SDK clients: which HTTP library (httpx for openai 1.x/2.x, httpx2 for 3.x)
one uses, and the settings another client needs to call the same endpoint the same way.

Imports: stdlib only (the library module is found from the client's own classes).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def library_of(http_client: Any) -> ModuleType:
    """The HTTP library module (httpx or httpx2) an SDK http client belongs to."""
    for cls in type(http_client).__mro__:
        root = cls.__module__.split(".")[0]
        if root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    raise TypeError(f"not an httpx or httpx2 client: {http_client!r}")


def sdk_settings(client: Any) -> dict[str, Any]:
    """The constructor arguments that make another SDK client (sync or async) call what
    ``client`` calls, the same way: key, organization, project, base URL, timeout, retries,
    default headers and query."""
    return {
        "api_key": client.api_key,
        "organization": client.organization,
        "project": client.project,
        "base_url": client.base_url,
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "default_headers": client._custom_headers,
        "default_query": client._custom_query,
    }
