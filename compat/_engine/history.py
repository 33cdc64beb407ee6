"""Each thread's history, read and translated for replay incrementally: a per-process cache.

A run turn in replay mode sends the whole thread. Rather than read and translate every
message and step again on each turn, this keeps, per (database, thread), the part of the
history that can no longer change (its wire dicts and their translation) and on each turn
reads only the rows from its last entry on, in one statement that also counts the rows
before that point. Other processes share the database: when they delete (or slip in) a row
the cache already covers, the counts differ and the thread is read again from scratch.
Entries that may still change (status ``in_progress``: a function step waiting for its
outputs, a message being written) end the cached part; they and what follows are read on
every turn. Bounded: ``MAX_THREADS`` threads, ``MAX_ENTRIES`` entries in all, and a thread
longer than ``MAX_THREAD_ENTRIES`` is read whole each time, as without the cache.
Imports: store (Repo), compat._translate.request.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from store import Repo

from .._translate.request import EntryInput, translate_entries

__all__ = ["MAX_ENTRIES", "MAX_THREAD_ENTRIES", "MAX_THREADS", "History", "clear", "read_history"]

Obj = dict[str, Any]
Row = tuple[int, bool, int, Obj]  # (ord, is_step, seq, body), see Repo.history_since

MAX_THREADS = 256
MAX_THREAD_ENTRIES = 20_000
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class History:
    """A thread's messages and steps in creation order, with their replay translation."""

    entries: list[Obj]  # wire dicts; shared with the cache: read-only
    inputs: list[EntryInput]  # translate_entries(entries)
    attached: list[str]  # ids of files attached to messages for code_interpreter, in order


@dataclass(frozen=True)
class _Prefix:
    """The leading part of one thread's history that can no longer change."""

    history: History
    last: tuple[int, bool, int]  # (ord, is_step, seq) of its last entry
    counts: tuple[int, int, int, int]  # messages, sum of their seq, steps, sum of their seq


_lock = threading.Lock()
_cache: OrderedDict[tuple[Hashable, str], _Prefix] = OrderedDict()
_size = 0  # entries held in _cache


def clear() -> None:
    """Forget every cached thread."""
    global _size
    with _lock:
        _cache.clear()
        _size = 0


def _attached(entries: Sequence[Obj]) -> list[str]:
    return [
        a["file_id"]
        for m in entries
        if m.get("object") == "thread.message"
        for a in m.get("attachments") or []
        if any(t.get("type") == "code_interpreter" for t in a.get("tools") or [])
    ]


def _translate(rows: Sequence[Row]) -> History:
    entries = [row[3] for row in rows]
    return History(entries, translate_entries(entries), _attached(entries))


def _join(a: History, b: History) -> History:
    # new lists, also when b is empty: what a caller gets never aliases the cache's lists
    return History(a.entries + b.entries, a.inputs + b.inputs, a.attached + b.attached)


def _tally(rows: Sequence[Row]) -> tuple[int, int, int, int]:
    messages = [row[2] for row in rows if not row[1]]
    steps = [row[2] for row in rows if row[1]]
    return len(messages), sum(messages), len(steps), sum(steps)


def _add(x: tuple[int, int, int, int], y: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3]


def _get(key: tuple[Hashable, str]) -> _Prefix | None:
    with _lock:
        prefix = _cache.get(key)
        if prefix is not None:
            _cache.move_to_end(key)
        return prefix


def _put(key: tuple[Hashable, str], prefix: _Prefix | None) -> None:
    global _size
    with _lock:
        old = _cache.pop(key, None)
        if old is not None:
            _size -= len(old.history.entries)
        if prefix is None or len(prefix.history.entries) > MAX_THREAD_ENTRIES:
            return
        _cache[key] = prefix
        _size += len(prefix.history.entries)
        while _cache and (len(_cache) > MAX_THREADS or _size > MAX_ENTRIES):
            _, evicted = _cache.popitem(last=False)
            _size -= len(evicted.history.entries)


def read_history(repo: Repo, thread_id: str) -> History:
    """The thread's history as ``repo.history(thread_id)`` reads it, translated for replay;
    only the rows the cache does not hold are read and translated."""
    # the engine, weakly: a database that goes away takes no entry of another with it
    key = (weakref.ref(repo.conn.engine), thread_id)
    prefix = _get(key)
    rows, below = repo.history_since(thread_id, None if prefix is None else prefix.last[0])
    if prefix is not None:
        # rows of the boundary's ord are read again: split them at the cached last entry
        old = [row for row in rows if row[:3] <= prefix.last]
        if _add(below, _tally(old)) != prefix.counts:  # deleted or slipped in: start over
            prefix = None
            _put(key, None)
            rows, below = repo.history_since(thread_id)
        else:
            rows = rows[len(old) :]
    # what can still change ends what may be cached
    fixed = next(
        (i for i, row in enumerate(rows) if row[3].get("status") == "in_progress"), len(rows)
    )
    head, tail = _translate(rows[:fixed]), _translate(rows[fixed:])
    if fixed:
        counts = _tally(rows[:fixed])
        if prefix is not None:
            head = _join(prefix.history, head)
            counts = _add(prefix.counts, counts)
        prefix = _Prefix(head, rows[fixed - 1][:3], counts)
        _put(key, prefix)
    elif prefix is not None:
        head = prefix.history
    return _join(head, tail)
