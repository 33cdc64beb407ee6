"""The pytest plugin: fixtures ``responses_emulator``, ``compat_client``, ``async_compat_client``.

Registered under the ``pytest11`` entry point, so every pytest run of a project that installs
assistants-compat loads it: it must stay cheap. Loading it imports nothing of ours but the two
lazy package ``__init__`` modules — never the ``compat`` client, openai, httpx or SQLAlchemy (a
test pins this); the fixtures import the emulator and ``compat`` inside their bodies.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .emulator import ResponsesEmulator


def _has_async_runner() -> bool:
    return any(importlib.util.find_spec(m) for m in ("pytest_asyncio", "anyio"))


@pytest.fixture
def responses_emulator() -> Iterator[ResponsesEmulator]:
    """A started :class:`ResponsesEmulator` for one test (fresh state, stopped after)."""
    from .emulator import ResponsesEmulator

    with ResponsesEmulator() as emu:
        yield emu


@pytest.fixture
def compat_client(responses_emulator: ResponsesEmulator, tmp_path: Path) -> Iterator[Any]:
    """``compat.OpenAI`` on the emulator, a SQLite store in ``tmp_path``, no retries."""
    import compat  # lazily: the client imports openai and the store (SQLAlchemy)

    client = compat.OpenAI(
        base_url=responses_emulator.base_url,
        api_key="sk-test",
        store=f"sqlite:///{tmp_path}/compat.db",
        max_retries=0,
    )
    try:
        yield client
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


if _has_async_runner():

    @pytest.fixture
    def async_compat_client(responses_emulator: ResponsesEmulator, tmp_path: Path) -> Any:
        """``compat.AsyncOpenAI`` on the emulator (closing it is the test's business)."""
        import compat

        return compat.AsyncOpenAI(
            base_url=responses_emulator.base_url,
            api_key="sk-test",
            store=f"sqlite:///{tmp_path}/compat.db",
            max_retries=0,
        )
