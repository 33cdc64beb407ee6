"""Feeds (the SSE events of one run segment, readable while written) and the RunWatch.

A Feed is written by the driver (any thread, or the event loop) and read by one or
more SSE responses, sync or async. The RunWatch wakes long-polling run retrievals when
a run's state changes in this process. Imports: stdlib and compat._wire only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .._wire import SSE_DONE, sse_event


class Feed:
    """Append-only list of encoded events; readers start at the first event."""

    def __init__(self) -> None:
        self._events: list[bytes] = []
        self._closed = False
        self._cond = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def publish(self, event: str, data: Any) -> None:
        self._append(sse_event(event, data))

    def close(self) -> None:
        """End the stream (the ``done`` event); idempotent."""
        if not self._closed:
            self._append(SSE_DONE, close=True)

    def _append(self, chunk: bytes, close: bool = False) -> None:
        with self._cond:
            if self._closed:
                return
            self._events.append(chunk)
            self._closed = close
            self._cond.notify_all()
            waiters, self._async_waiters = self._async_waiters, []
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # loop closed: that reader is gone
                pass

    def reader(self) -> FeedReader:
        return FeedReader(self)


class FeedReader:
    """An SSE body over a Feed: blocking iteration for sync clients, ``async for`` for async."""

    def __init__(self, feed: Feed) -> None:
        self._feed = feed
        self._pos = 0
        self._stopped = False

    def _take(self) -> tuple[list[bytes], bool]:
        f = self._feed
        chunks = f._events[self._pos :]
        self._pos += len(chunks)
        return chunks, f._closed and self._pos >= len(f._events)

    def poll(self) -> tuple[bytes, bool]:
        """What was published since the last read (without waiting), and whether the feed
        is closed and fully read."""
        with self._feed._cond:
            chunks, done = self._take()
        return b"".join(chunks), done

    def wait(self, timeout: float) -> None:
        """Block until something new is published (or ``timeout``)."""
        f = self._feed
        with f._cond:
            if self._pos >= len(f._events) and not f._closed:
                f._cond.wait(timeout)

    def __iter__(self) -> Iterator[bytes]:
        f = self._feed
        while not self._stopped:
            with f._cond:
                chunks, done = self._take()
                if not chunks and not done:
                    f._cond.wait(timeout=1.0)
                    continue
            if chunks:
                yield b"".join(chunks)
            if done:
                return

    async def __aiter__(self) -> AsyncIterator[bytes]:
        f = self._feed
        loop = asyncio.get_running_loop()
        while not self._stopped:
            ev = asyncio.Event()
            with f._cond:
                chunks, done = self._take()
                if not chunks and not done:
                    f._async_waiters.append((loop, ev))
            if chunks:
                yield b"".join(chunks)
            if done:
                return
            if not chunks:
                try:
                    await asyncio.wait_for(ev.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass

    def close(self) -> None:
        # The consumer went away; the run itself goes on (as the real API's did).
        self._stopped = True


class RunWatch:
    """Per-run change counters that long-polling readers can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}

    def version(self, run_id: str) -> int:
        with self._cond:
            return self._versions.get(run_id, 0)

    def notify(self, run_id: str) -> None:
        with self._cond:
            self._versions[run_id] = self._versions.get(run_id, 0) + 1
            self._cond.notify_all()

    def wait(self, run_id: str, seen: int, timeout: float) -> bool:
        """Block until the run changes after version ``seen`` or ``timeout``; True if changed."""
        with self._cond:
            return self._cond.wait_for(lambda: self._versions.get(run_id, 0) != seen, timeout)

    def forget(self, run_id: str) -> None:
        with self._cond:
            self._versions.pop(run_id, None)
