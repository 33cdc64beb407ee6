"""Shared fixtures: databases (SQLite file, PostgreSQL schema), the emulator, clients.

PostgreSQL tests use ``$COMPAT_TEST_POSTGRES_URL`` (default: the local server, database
``test``). Without a reachable server they are skipped with the reason, unless
``COMPAT_REQUIRE_POSTGRES=1`` (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import inspect
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from compat.testing import ResponsesEmulator

PG_URL = os.environ.get(
    "COMPAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("COMPAT_REQUIRE_POSTGRES") == "1"

_pg_error: str | None = None
_pg_checked = False


def _postgres_reason() -> str | None:
    """None when PostgreSQL is usable, else why not (checked once)."""
    global _pg_checked, _pg_error
    if not _pg_checked:
        _pg_checked = True
        try:
            import psycopg

            dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, connect_timeout=3):
                pass
        except Exception as exc:  # any failure means: no PostgreSQL here
            _pg_error = (
                f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}: {exc}".strip()
            )
    return _pg_error


def _pg_schema_url() -> tuple[str, str]:
    schema = "compat_test_" + secrets.token_hex(6)
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


def _drop_pg_schema(schema: str) -> None:
    import psycopg

    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database URL: a temporary SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/compat.db"
        _dispose(f"sqlite:///{tmp_path}/compat.db")
        return
    reason = _postgres_reason()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"COMPAT_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    url, schema = _pg_schema_url()
    try:
        yield url
    finally:
        _dispose(url)
        _drop_pg_schema(schema)


def _dispose(url: str) -> None:
    import compat.store as store

    s = store._open.pop(url, None)
    if s is not None:
        s.close()


@pytest.fixture
def emulator() -> Iterator[ResponsesEmulator]:
    with ResponsesEmulator() as emu:
        yield emu


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_client(
    emulator: ResponsesEmulator, db_url: str, client_kind: str
) -> AsyncIterator[Any]:
    """Factory of drop-in clients (sync or async, per ``client_kind``) on the test database."""
    import compat

    made: list[Any] = []

    def make(**kw: Any) -> Any:
        cls = compat.AsyncOpenAI if client_kind == "async" else compat.OpenAI
        kw.setdefault("base_url", emulator.base_url)
        kw.setdefault("api_key", "sk-test")
        kw.setdefault("max_retries", 0)
        kw.setdefault("store", db_url)
        c = cls(**kw)
        made.append(c)
        return c

    yield make
    # Close inside the test's event loop: an async client collected later would try to
    # close its connections on whatever loop runs then.
    for c in made:
        await aw(c.close())


@pytest.fixture
def client(make_client: Any) -> Any:
    return make_client()


async def aw(value: Any) -> Any:
    """Await ``value`` if the async client returned an awaitable; sync results pass through."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(page_or_paginator: Any) -> list[Any]:
    """Every item of a (sync or async) auto-paginating list."""
    if hasattr(page_or_paginator, "__aiter__"):
        return [x async for x in page_or_paginator]
    return list(page_or_paginator)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def aiter_or_iter(stream: Any) -> AsyncIterator[Any]:
    if hasattr(stream, "__aiter__"):
        async for x in stream:
            yield x
    else:
        for x in stream:
            yield x
