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

The reasoning items a thread's runs kept (reasoning models, replay mode: ``read_reasoning``)
are read the same way from the runs' private state, in a second cache with the same bounds
(counted in items): a run's reasoning is settled when the run has ended.
Imports: store (Repo), compat._translate.request, compat._engine.status.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .._translate.request import EntryInput, translate_entries
from ..store import Repo
from .status import TERMINAL

__all__ = [
    "MAX_ENTRIES",
    "MAX_THREAD_ENTRIES",
    "MAX_THREADS",
    "History",
    "Reasoning",
    "clear",
    "read_history",
    "read_reasoning",
]

Obj = dict[str, Any]
Row = tuple[int, bool, int, Obj]  # (ord, is_step, seq, body), see Repo.history_since
RunRow = tuple[int, int, str, Obj]  # (ord, seq, status, state), see Repo.run_states_since
R = TypeVar("R", Row, RunRow)
V = TypeVar("V")
Counts = tuple[int, ...]

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
class Reasoning:
    """The reasoning items a thread's runs kept (``RunState.reasoning``), in run order, and
    the ids of those the upstream no longer verified (``RunState.reasoning_dropped``)."""

    items: list[Obj]  # KeptReasoning dicts; shared with the cache: read-only
    dropped: frozenset[str]


@dataclass(frozen=True)
class _Prefix(Generic[V]):
    """The leading part of one thread's rows that can no longer change, as read."""

    value: V
    last: tuple[Any, ...]  # the place of its last row (see _Kind.place)
    counts: Counts  # the rows' signature (see _Kind.tally)


@dataclass(frozen=True)
class _Kind(Generic[R, V]):
    """What one cache reads: rows from an ``ord`` on, their place, signature, settledness and
    value; values of consecutive rows join."""

    fetch: Callable[[Repo, str, int | None], tuple[list[R], Counts]]
    place: Callable[[R], tuple[Any, ...]]  # the sort key of a row, ord first
    tally: Callable[[Sequence[R]], Counts]
    settled: Callable[[R], bool]  # can no longer change
    value: Callable[[Sequence[R]], V]
    join: Callable[[V, V], V]  # new containers, also for an empty side: never alias the cache
    size: Callable[[V], int]


class _Cache(Generic[V]):
    """Per (database, thread) prefixes, least recently used first, bounded."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: OrderedDict[tuple[Hashable, str], tuple[_Prefix[V], int]] = OrderedDict()
        self.total = 0  # entries held

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.total = 0

    def get(self, key: tuple[Hashable, str]) -> _Prefix[V] | None:
        with self.lock:
            found = self.data.get(key)
            if found is None:
                return None
            self.data.move_to_end(key)
            return found[0]

    def put(self, key: tuple[Hashable, str], prefix: _Prefix[V] | None, size: int = 0) -> None:
        with self.lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.total -= old[1]
            if prefix is None or size > MAX_THREAD_ENTRIES:
                return
            self.data[key] = (prefix, size)
            self.total += size
            while self.data and (len(self.data) > MAX_THREADS or self.total > MAX_ENTRIES):
                _, (_, evicted) = self.data.popitem(last=False)
                self.total -= evicted


_histories: _Cache[History] = _Cache()
_reasonings: _Cache[Reasoning] = _Cache()


def clear() -> None:
    """Forget every cached thread."""
    _histories.clear()
    _reasonings.clear()


def _add(x: Counts, y: Counts) -> Counts:
    return tuple(a + b for a, b in zip(x, y, strict=True))


def _read(cache: _Cache[V], kind: _Kind[R, V], repo: Repo, thread_id: str) -> V:
    """The value of all the thread's rows; only the rows the cache does not hold are read."""
    # the engine, weakly: a database that goes away takes no entry of another with it
    key = (weakref.ref(repo.conn.engine), thread_id)
    prefix = cache.get(key)
    rows, below = kind.fetch(repo, thread_id, None if prefix is None else prefix.last[0])
    if prefix is not None:
        # rows of the boundary's ord are read again: split them at the cached last row
        old = [row for row in rows if kind.place(row) <= prefix.last]
        if _add(below, kind.tally(old)) != prefix.counts:  # deleted or slipped in: start over
            prefix = None
            cache.put(key, None)
            rows, below = kind.fetch(repo, thread_id, None)
        else:
            rows = rows[len(old) :]
    # what can still change ends what may be cached
    fixed = next((i for i, row in enumerate(rows) if not kind.settled(row)), len(rows))
    head, tail = kind.value(rows[:fixed]), kind.value(rows[fixed:])
    if fixed:
        counts = kind.tally(rows[:fixed])
        if prefix is not None:
            head = kind.join(prefix.value, head)
            counts = _add(prefix.counts, counts)
        prefix = _Prefix(head, kind.place(rows[fixed - 1]), counts)
        cache.put(key, prefix, kind.size(head))
    elif prefix is not None:
        head = prefix.value
    return kind.join(head, tail)


# -- messages and steps ------------------------------------------------------------------------
def _attached(entries: Sequence[Obj]) -> list[str]:
    return [
        a["file_id"]
        for m in entries
        if m.get("object") == "thread.message"
        for a in m.get("attachments") or []
        if any(t.get("type") == "code_interpreter" for t in a.get("tools") or [])
    ]


def _history(rows: Sequence[Row]) -> History:
    entries = [row[3] for row in rows]
    return History(entries, translate_entries(entries), _attached(entries))


def _tally_history(rows: Sequence[Row]) -> Counts:
    messages = [row[2] for row in rows if not row[1]]
    steps = [row[2] for row in rows if row[1]]
    return len(messages), sum(messages), len(steps), sum(steps)


_HISTORY: _Kind[Row, History] = _Kind(
    fetch=lambda repo, thread_id, from_ord: repo.history_since(thread_id, from_ord),
    place=lambda row: row[:3],
    tally=_tally_history,
    settled=lambda row: row[3].get("status") != "in_progress",
    value=_history,
    join=lambda a, b: History(a.entries + b.entries, a.inputs + b.inputs, a.attached + b.attached),
    size=lambda h: len(h.entries),
)


def read_history(repo: Repo, thread_id: str) -> History:
    """The thread's history as ``repo.history(thread_id)`` reads it, translated for replay;
    only the rows the cache does not hold are read and translated."""
    return _read(_histories, _HISTORY, repo, thread_id)


# -- the reasoning items runs kept -------------------------------------------------------------
def _reasoning(rows: Sequence[RunRow]) -> Reasoning:
    return Reasoning(
        [item for row in rows for item in row[3].get("reasoning") or ()],
        frozenset(rid for row in rows for rid in row[3].get("reasoning_dropped") or ()),
    )


_REASONING: _Kind[RunRow, Reasoning] = _Kind(
    fetch=lambda repo, thread_id, from_ord: repo.run_states_since(thread_id, from_ord),
    place=lambda row: row[:2],
    tally=lambda rows: (len(rows), sum(row[1] for row in rows)),
    settled=lambda row: row[2] in TERMINAL,  # an ended run's state no longer changes
    value=_reasoning,
    join=lambda a, b: Reasoning(a.items + b.items, a.dropped | b.dropped),
    size=lambda r: len(r.items),
)


def read_reasoning(repo: Repo, thread_id: str) -> Reasoning:
    """The reasoning items every run of the thread kept (the active run's as stored), as a
    from-scratch read of all its runs' state gives them; only runs the cache does not hold
    (the active one, and any ended since) are read."""
    return _read(_reasonings, _REASONING, repo, thread_id)
