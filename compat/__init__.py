"""assistants-compat: the OpenAI Assistants API, kept alive over the Responses API.

Change one import (``from compat import OpenAI``) and ``client.beta.assistants / threads /
messages / runs / steps`` are served from a local store, with every run executed through
``client.responses.create``.

The names below load on first use (PEP 562): importing a submodule that needs neither openai
nor the store — ``compat.testing`` and its pytest plugin, ``compat.cli`` — stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import AsyncOpenAI, OpenAI, wrap
    from ._options import Options
    from .export import response_ids
    from .store import Store

__all__ = ["AsyncOpenAI", "OpenAI", "Options", "Store", "response_ids", "wrap"]

_HOMES = {
    "AsyncOpenAI": "._client",
    "OpenAI": "._client",
    "wrap": "._client",
    "Options": "._options",
    "Store": ".store",
    "response_ids": ".export",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
