"""The drop-in clients: ``openai.OpenAI`` / ``AsyncOpenAI`` whose HTTP client answers the
Assistants routes from the local store; ``wrap`` does the same for an existing client.

Imports: openai, store, compat._app, compat._transports.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import openai

from ._app import App
from ._httplib import sdk_settings
from ._options import Options
from ._transports import install
from .store import Store, open_store

__all__ = ["AsyncOpenAI", "OpenAI", "wrap"]

StoreArg = str | Store | None
#: an Assistants-compatible endpoint to read missing assistants / threads from
LegacyArg = openai.OpenAI | openai.AsyncOpenAI | str | None


def _store_of(store: StoreArg) -> Store:
    return store if isinstance(store, Store) else open_store(store)


@functools.cache
def _quiet_class(cls: type) -> type:
    """A subclass of an SDK resource whose Assistants methods don't warn.

    The SDK marks every Assistants method deprecated; the drop-in serves them, so calls
    through it skip the warning (``__wrapped__`` is the undecorated method). Sub-resources
    reached through cached properties are made quiet the same way.
    """
    ns: dict[str, Any] = {}
    for name in dir(cls):
        attr = inspect.getattr_static(cls, name)
        impl = _undeprecated(attr)
        if impl is not None:
            ns[name] = impl
        elif isinstance(attr, functools.cached_property) and not name.startswith("with_"):
            ns[name] = functools.cached_property(_quiet_getter(attr.func))
    return type(cls.__name__, (cls,), ns) if ns else cls


def _undeprecated(func: Any) -> Any:
    """The implementation under a ``@deprecated`` wrapper anywhere in ``func``'s wrapper chain."""
    if not callable(func) or getattr(func, "__deprecated__", None) is None:
        return None
    # Deprecation layers can sit above and below the SDK's own argument checker; the
    # innermost function takes the same arguments, so unwrap all the way.
    return inspect.unwrap(func) if hasattr(func, "__wrapped__") else None


def _quiet_getter(func: Any) -> Any:
    def get(self: Any) -> Any:
        return _quiet(func(self))

    get.__name__ = func.__name__
    return get


def _quiet(resource: Any) -> Any:
    if hasattr(resource, "_client") and type(resource).__module__.startswith("openai."):
        kind: Any = type(resource)
        resource.__class__ = _quiet_class(kind)
    return resource


def _setup(
    client: Any,
    store: StoreArg,
    options: Options | None,
    *,
    is_async: bool,
    legacy: LegacyArg = None,
) -> None:
    http_client = client._client
    current: Any = getattr(http_client, "_transport", None)
    existing = getattr(current, "app", None)
    if isinstance(existing, App) and store is None:
        app = existing  # a copy (with_options) shares its parent's local API
    else:
        app = App(_store_of(store), client, is_async=is_async, options=options)
        if existing is not None:
            http_client._transport = current.fallback
    base_path = (
        client.base_url.raw_path.decode()
        if hasattr(client.base_url, "raw_path")
        else client.base_url.path
    )
    readthrough = None
    if legacy is not None:
        from .migrate.readthrough import ReadThrough, legacy_client

        readthrough = ReadThrough(app.store, legacy_client(legacy, api_key=client.api_key))
    client._compat_app = install(
        http_client, app, base_path.split("?")[0], is_async=is_async, readthrough=readthrough
    )


class _DropIn:
    """What both drop-in clients add to the SDK's: the local API, quiet Assistants methods,
    and copies (``with_options``) that share their parent's store."""

    _compat_app: App
    _client: Any

    def _compat_init(
        self, store: StoreArg, options: Options | None, *, is_async: bool, legacy: LegacyArg
    ) -> None:
        _setup(self, store, options, is_async=is_async, legacy=legacy)

    @functools.cached_property
    def beta(self) -> Any:
        return _quiet(super().beta)  # type: ignore[misc]

    @property
    def compat_store(self) -> Store:
        """The store holding this client's assistants, threads and runs."""
        return self._compat_app.store

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("http_client", self._client)
        return super().copy(*args, **kwargs)  # type: ignore[misc]

    with_options = copy


class OpenAI(_DropIn, openai.OpenAI):
    """``openai.OpenAI`` with a local Assistants API.

    Takes the SDK's constructor arguments plus ``store``: an SQLAlchemy URL or a ``Store``
    (default ``$COMPAT_DATABASE_URL``, else ``sqlite:///assistants.db``),
    ``compat_options`` (``compat.Options``), and ``legacy``: an Assistants-compatible
    endpoint (an ``openai.OpenAI`` / ``AsyncOpenAI`` client, or a base URL used with this
    client's API key) from which an assistant or thread missing locally is fetched once,
    with its messages, runs and steps, and then served locally (read-through migration).
    """

    def __init__(
        self,
        *args: Any,
        store: StoreArg = None,
        compat_options: Options | None = None,
        legacy: LegacyArg = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._compat_init(store, compat_options, is_async=False, legacy=legacy)


class AsyncOpenAI(_DropIn, openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` with a local Assistants API (same extra arguments as OpenAI)."""

    def __init__(
        self,
        *args: Any,
        store: StoreArg = None,
        compat_options: Options | None = None,
        legacy: LegacyArg = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._compat_init(store, compat_options, is_async=True, legacy=legacy)


def wrap(
    client: openai.OpenAI | openai.AsyncOpenAI, store: StoreArg = None, legacy: LegacyArg = None
) -> Any:
    """A drop-in client with ``client``'s settings (key, base URL, organization, project,
    headers, timeout, retries) sharing its HTTP client, whose transport becomes the
    pass-through for everything that is not an Assistants route (``legacy``: as for
    ``OpenAI``)."""
    cls = AsyncOpenAI if isinstance(client, openai.AsyncOpenAI) else OpenAI
    return cls(
        **sdk_settings(client),
        http_client=client._client,
        store=store,
        legacy=legacy,
    )
