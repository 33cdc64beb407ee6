"""`assistants-compat serve` on a loopback port, backed by the Responses API emulator.

``serve`` starts the ASGI application under uvicorn in a thread of the test process (one
worker; multi-process tests start the CLI in subprocesses) with two tenants' keys made.
tests/node/conftest.py uses the same fixture (``from tests.server.conftest import serve``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from compat.server import Server, ServerConfig, create_key
from compat.store import Store
from compat.testing import ResponsesEmulator


@dataclass
class Running:
    """A server under test: its base URL (``…/v1``), root URL, keys and store."""

    url: str
    root: str
    keys: dict[str, str]
    store: Store
    server: Server
    uvicorn: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Shut down as on SIGTERM (stop accepting, finish or hand over runs); wait for it."""
        self.uvicorn.should_exit = True
        self.thread.join(30)

    def client(self, tenant: str = "acme", **kw: Any) -> Any:
        import openai

        kw.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.url, api_key=self.keys[tenant], **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(db_url: str, emulator: ResponsesEmulator, **config: Any) -> Iterator[Running]:
    """A server on ``db_url`` (upstream: ``emulator``) with keys for acme and globex."""
    store = Store(db_url)
    keys = {t: create_key(store, t)[1] for t in ("acme", "globex")}
    settings: dict[str, Any] = {
        "upstream_base_url": emulator.base_url,
        "max_body_bytes": 1024 * 1024,
        "keepalive": 0.5,
        "shutdown_wait": 2.0,
        "key_cache_seconds": 0.0,
        **config,
    }
    app = Server(ServerConfig(database=db_url, **settings), store=store)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and app.ready):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    root = f"http://127.0.0.1:{port}"
    try:
        yield Running(f"{root}/v1", root, keys, store, app, server, thread)
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


@pytest.fixture
def serve(
    db_url: str, emulator: ResponsesEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Running]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-emulator")
    with running(db_url, emulator) as server:
        yield server
