"""Read Assistants API objects out of JSON / JSONL files or folders, in any arrangement.

Every object is recognised by its ``object`` field wherever it sits: bare objects, the
API's list envelopes, arrays, or per-thread documents nesting them
(``{"thread": {...}, "messages": {"object": "list", ...}, "runs": [...]}``).
Imports: stdlib only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "Export", "Problem", "ThreadRecord", "read_export", "read_thread_ids"]

#: The ``object`` values this reads, and the kind each one is.
KINDS = {
    "assistant": "assistant",
    "thread": "thread",
    "thread.message": "message",
    "thread.run": "run",
    "thread.run.step": "step",
}
_FILE_SUFFIXES = (".json", ".jsonl", ".ndjson")
_LINE_SUFFIXES = (".jsonl", ".ndjson")


@dataclass
class Problem:
    """Something that could not be read or imported: where (file, line or id) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ThreadRecord:
    """One thread's objects as the source held them."""

    thread: dict[str, Any] | None = None  # the thread object if the source had it
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    runs: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    steps: list[dict[str, Any]] = field(default_factory=list)  # oldest first


@dataclass
class Export:
    """Everything read from the sources."""

    assistants: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: dict[str, ThreadRecord] = field(default_factory=dict)  # first-seen order
    problems: list[Problem] = field(default_factory=list)

    def count(self) -> dict[str, int]:
        """How many objects of each kind were read."""
        recs = self.threads.values()
        return {
            "assistant": len(self.assistants),
            "thread": len(self.threads),
            "message": sum(len(r.messages) for r in recs),
            "run": sum(len(r.runs) for r in recs),
            "step": sum(len(r.steps) for r in recs),
        }


def read_export(sources: Sequence[str | os.PathLike[str]]) -> Export:
    """Read every JSON / JSONL file of ``sources`` (files or folders, recursively).

    Duplicates of one id collapse (the more complete copy wins, the later on a tie);
    unreadable files and objects without an id become ``problems``.
    """
    collector = _Collector()
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _FILE_SUFFIXES
            )
            for file in files:
                collector.read_file(file)
        elif path.is_file():
            collector.read_file(path)
        else:
            collector.problem(str(path), "no such file or folder")
    return collector.finish()


class _Collector:
    def __init__(self) -> None:
        self.export = Export()
        # per kind: id -> (first-seen position, object); positions keep the source's order
        self._seen: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
            k: {} for k in KINDS.values()
        }
        self._pos = 0

    def problem(self, where: str, reason: str) -> None:
        self.export.problems.append(Problem(where, reason))

    # -- files ---------------------------------------------------------------------------
    def read_file(self, path: Path) -> None:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            self.problem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
            return
        except OSError as exc:
            self.problem(name, f"cannot read: {exc.strerror or exc}")
            return
        if not text.strip():
            self.problem(name, "empty file")
            return
        if path.suffix.lower() not in _LINE_SUFFIXES:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                first = text.lstrip().split("\n", 1)[0]
                if not _parses(first):  # not JSON Lines either: say where the JSON broke
                    self.problem(name, f"line {exc.lineno}: invalid JSON ({exc.msg})")
                    return
            else:
                self.walk(value, name)
                return
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem(f"{name}: line {lineno}", f"invalid JSON ({exc.msg})")
                continue
            self.walk(value, f"{name}: line {lineno}")

    # -- values --------------------------------------------------------------------------
    def walk(self, value: Any, where: str) -> None:
        if isinstance(value, list):
            for item in _oldest_first(value):
                self.walk(item, where)
        elif isinstance(value, dict):
            kind = value.get("object")
            if kind == "list" and isinstance(value.get("data"), list):
                self.walk(value["data"], where)
            elif isinstance(kind, str) and kind in KINDS:
                self.add(KINDS[kind], value, where)
            elif kind is None:  # a document nesting objects: look inside
                for item in value.values():
                    if isinstance(item, (list, dict)):
                        self.walk(item, where)

    def add(self, kind: str, obj: dict[str, Any], where: str) -> None:
        id_ = obj.get("id")
        if not isinstance(id_, str) or not id_:
            self.problem(where, f"{obj.get('object')} object without an id")
            return
        if kind in ("message", "run", "step") and not isinstance(obj.get("thread_id"), str):
            self.problem(where, f"{id_}: no thread_id")
            return
        if kind == "step" and not isinstance(obj.get("run_id"), str):
            self.problem(where, f"{id_}: no run_id")
            return
        seen = self._seen[kind]
        old = seen.get(id_)
        if old is None:
            self._pos += 1
            seen[id_] = (self._pos, obj)
        elif _completeness(obj) >= _completeness(old[1]):
            seen[id_] = (old[0], obj)

    def finish(self) -> Export:
        ex = self.export
        ex.assistants = {i: o for i, (_, o) in _ordered(self._seen["assistant"])}
        threads: dict[str, tuple[int, ThreadRecord]] = {}

        def record(thread_id: str, pos: int) -> ThreadRecord:
            if thread_id not in threads:
                threads[thread_id] = (pos, ThreadRecord())
            return threads[thread_id][1]

        for id_, (pos, obj) in _ordered(self._seen["thread"]):
            record(id_, pos).thread = obj
        for kind in ("message", "run", "step"):
            for _, (pos, obj) in _ordered(self._seen[kind]):
                getattr(record(obj["thread_id"], pos), kind + "s").append(obj)
        for _, rec in threads.values():
            for items in (rec.messages, rec.runs, rec.steps):
                items.sort(key=_created)  # stable: ties keep the source's order
        ex.threads = {t: rec for t, (_, rec) in sorted(threads.items(), key=lambda kv: kv[1][0])}
        return ex


def _ordered(seen: dict[str, tuple[int, dict[str, Any]]]) -> list[tuple[str, tuple[int, Any]]]:
    return sorted(seen.items(), key=lambda kv: kv[1][0])


def _created(obj: dict[str, Any]) -> int:
    value = obj.get("created_at")
    return value if isinstance(value, int) else 0


def _completeness(obj: dict[str, Any]) -> int:
    return sum(1 for v in obj.values() if v is not None)


def _oldest_first(items: list[Any]) -> Iterator[Any]:
    """``items`` oldest first: the API lists newest first by default (``order=desc``), so
    a list whose ``created_at`` never rises and falls at least once is reversed, which puts
    objects created in the same second back in creation order."""
    stamps: list[int] = [
        i["created_at"]
        for i in items
        if isinstance(i, dict) and isinstance(i.get("created_at"), int)
    ]
    descending = len(stamps) > 1 and all(a >= b for a, b in zip(stamps, stamps[1:], strict=False))
    if descending and stamps[0] > stamps[-1]:
        return reversed(items)
    return iter(items)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def read_thread_ids(path: str | os.PathLike[str]) -> list[str]:
    """The thread ids a ``--threads`` file lists (``-``: stdin): one per line (``#`` starts a
    comment), or a JSON list; duplicates dropped, order kept. ValueError when unreadable."""
    try:
        if str(path) == "-":
            import sys

            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--threads {path}: cannot read ({exc})") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--threads {path}: not a JSON list of thread ids ({exc})") from None
        ids = [str(x).strip() for x in data] if isinstance(data, list) else []
    else:
        ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return list(dict.fromkeys(i for i in ids if i))
