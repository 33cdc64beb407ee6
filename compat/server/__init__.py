"""`assistants-compat serve`: the local Assistants API over HTTP, for apps in any language.

One ASGI application (``asgi.Server``) answers ``/v1/assistants`` and ``/v1/threads`` through
the same ``App.adispatch`` the in-process transport calls (no second implementation of any
route), passes every other ``/v1`` route to the tenant's upstream, and serves ``/healthz``,
``/readyz`` and ``/metrics``. Clients authenticate with keys the server issued (``keys``);
each key belongs to a tenant, each tenant has its own objects and upstream (``config``).
Imports: compat._app, compat.store, openai, uvicorn (to run it).
"""

from __future__ import annotations

from .asgi import Server, app_from_env
from .config import ServerConfig, TenantUpstream
from .keys import create_key, hash_key

__all__ = ["Server", "ServerConfig", "TenantUpstream", "app_from_env", "create_key", "hash_key"]
