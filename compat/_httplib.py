"""Which HTTP library (httpx for openai 1.x/2.x, httpx2 for 3.x) an SDK client uses.

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
