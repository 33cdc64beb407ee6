"""Move local threads to the native API: export to Conversations or to JSONL, and the
Responses response ids of a run.

Owns turning a stored thread into Responses input items (the translation a replayed run
sends, :func:`compat._translate.request.to_input_items`, never a second one), writing them to
an OpenAI Conversation (``POST /conversations`` with the first 20 items and the thread's
metadata, then ``POST /conversations/{id}/items`` 20 at a time) or to a JSONL file, the
mapping file (thread id -> conversation id) that makes a re-run skip what is done and resume
what was cut, and :func:`response_ids`.

Conversation calls go through the given client's own request machinery
(``client.post("/conversations", ...)``): the same key, base URL, organization, project,
headers and retries as its typed methods, and it works with every supported SDK (openai 1.66
predates ``client.conversations``).
Imports: openai (lazily, for its errors), compat.store, compat._translate.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from ._translate.request import to_input_items
from .store import Repo, Store, open_store

__all__ = [
    "BATCH",
    "ExportError",
    "ThreadExport",
    "ThreadResult",
    "all_thread_ids",
    "export_to_conversations",
    "export_to_jsonl",
    "read_mapping",
    "read_thread",
    "response_ids",
]

BATCH = 20  # items per conversations.create / items.create call (the API's limit)

Obj = dict[str, Any]
Progress = Callable[[str, int, int], None]  # (thread_id, items sent, items in all)


class ExportError(Exception):
    """Nothing can be exported: the store cannot be read, the mapping file is not one, or the
    upstream refused the key."""


@dataclass
class ThreadExport:
    """One thread as Responses input items, with what the items cannot carry."""

    thread_id: str
    created_at: int
    metadata: dict[str, str]
    items: list[Obj]
    omitted: list[str] = field(default_factory=list)  # e.g. "2 file_search calls"

    def line(self) -> Obj:
        """The thread's JSONL line (see :func:`export_to_jsonl`)."""
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "metadata": self.metadata,
            "items": self.items,
        }


@dataclass
class ThreadResult:
    """What happened to one thread."""

    thread_id: str
    status: Literal["exported", "resumed", "skipped", "failed"]
    items: int = 0  # items the thread exports to
    conversation_id: str | None = None
    reason: str = ""  # why skipped or failed; or what was not carried
    omitted: list[str] = field(default_factory=list)


# -- reading threads ----------------------------------------------------------------------------
def _store(source: Any) -> Store:
    """A ``Store``, a database URL (None: the default resolution), or a compat client."""
    if isinstance(source, Store):
        return source
    if source is None or isinstance(source, str):
        return open_store(source)
    store = getattr(source, "compat_store", None)
    if isinstance(store, Store):
        return store
    raise TypeError(
        f"expected a compat client, a Store or a database URL, not {type(source).__name__}"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _omitted(history: list[Obj]) -> list[str]:
    """What replay items do not carry, counted (MIGRATION.md "Move to Conversations")."""
    counts: dict[str, int] = {}

    def add(what: str) -> None:
        counts[what] = counts.get(what, 0) + 1

    for entry in history:
        if entry.get("object") == "thread.message":
            if entry.get("attachments"):
                add("message attachment")
            for block in entry.get("content") or []:
                if entry.get("role") == "assistant" and block.get("type") != "text":
                    add("assistant image or refusal (as text)")
                for ann in (block.get("text") or {}).get("annotations") or []:
                    add(f"{ann.get('type', 'annotation')} annotation")
        else:
            for call in (entry.get("step_details") or {}).get("tool_calls") or []:
                kind = call.get("type")
                if kind != "function":
                    add(f"{kind} call")
                elif (call.get("function") or {}).get("output") is None:
                    add("unanswered function call")
    return [_plural(n, what) for what, n in counts.items()]


def read_thread(repo: Repo, thread_id: str) -> ThreadExport:
    """The thread's history as the Responses input items a replayed run sends (all of it:
    no truncation). Raises ``LookupError`` when there is no such thread and ``ValueError``
    while a run of it is active (its history is still changing)."""
    thread = repo.get("thread", thread_id)
    if thread is None:
        raise LookupError(f"No thread found with id '{thread_id}'.")
    active = repo.active_run(thread_id)
    if active is not None:
        raise ValueError(f"a run ({active['id']}) is active; export the thread when it ends")
    history = repo.history(thread_id)
    return ThreadExport(
        thread_id,
        int(thread.get("created_at") or 0),
        dict(thread.get("metadata") or {}),
        to_input_items(history),
        _omitted(history),
    )


def all_thread_ids(source: Any = None) -> list[str]:
    """Every thread id in the store, oldest first."""
    ids: list[str] = []
    after: str | None = None
    store = _store(source)
    while True:
        with store.read() as repo:
            page = repo.page("thread", limit=100, order="asc", after=after)
        ids += [t["id"] for t in page.data]
        if not page.has_more or not page.data:
            return ids
        after = page.data[-1]["id"]


def _exports(store: Store, thread_ids: Iterable[str]) -> Iterator[ThreadExport | ThreadResult]:
    """Each thread read for export, or the reason it cannot be."""
    for thread_id in thread_ids:
        try:
            with store.read() as repo:
                yield read_thread(repo, thread_id)
        except (LookupError, ValueError) as exc:
            yield ThreadResult(
                thread_id, "failed" if isinstance(exc, LookupError) else "skipped", reason=str(exc)
            )


# -- JSONL --------------------------------------------------------------------------------------
def export_to_jsonl(
    source: Any,
    thread_ids: Iterable[str],
    out: str | Path | IO[str],
    *,
    progress: Progress | None = None,
) -> list[ThreadResult]:
    """Write one JSON line per thread: ``{"thread_id", "created_at", "metadata", "items"}``,
    where ``items`` are Responses input items (``responses.create(input=line["items"])`` or
    ``conversations.create(items=...)`` in batches of 20 take them as they are).

    ``out``: a path (written whole or not at all: a temporary file renamed at the end) or an
    open text stream. ``source``: a ``Store``, a database URL or a compat client.
    """
    store = _store(source)
    results: list[ThreadResult] = []
    lines: list[str] = []
    for got in _exports(store, thread_ids):
        if isinstance(got, ThreadResult):
            results.append(got)
            continue
        lines.append(json.dumps(got.line(), ensure_ascii=False) + "\n")
        results.append(ThreadResult(got.thread_id, "exported", len(got.items), omitted=got.omitted))
        if progress is not None:
            progress(got.thread_id, len(got.items), len(got.items))
    if isinstance(out, (str, Path)):
        _write_atomic(Path(out), "".join(lines))
    else:
        out.writelines(lines)
        out.flush()
    return results


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the mapping file ---------------------------------------------------------------------------
def read_mapping(path: str | Path) -> dict[str, Obj]:
    """The mapping file: ``{thread_id: {"conversation_id", "items", "complete"}}`` (empty when
    the file does not exist yet). ``ExportError`` when it is not such a file."""
    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text("utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise ExportError(f"{p}: not a mapping file ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("conversation_id"), str) for v in data.values()
    ):
        raise ExportError(f"{p}: not a mapping file (expected {{thread_id: {{conversation_id}}}})")
    return data


def _save_mapping(path: Path, mapping: dict[str, Obj]) -> None:
    _write_atomic(path, json.dumps(mapping, indent=2, sort_keys=True) + "\n")


# -- Conversations ------------------------------------------------------------------------------
def _post(client: Any, path: str, body: Obj) -> Obj:
    result: Obj = client.post(path, body=body, cast_to=object)
    return result


def _held_items(client: Any, conversation_id: str) -> list[Obj]:
    """Every item the conversation holds, oldest first."""
    items: list[Obj] = []
    params: Obj = {"order": "asc", "limit": 100}
    while True:
        page: Obj = client.get(
            f"/conversations/{conversation_id}/items", options={"params": params}, cast_to=object
        )
        items += page.get("data") or []
        if not page.get("has_more") or not page.get("data"):
            return items
        params = {**params, "after": page["data"][-1]["id"]}


def _signature(item: Obj) -> tuple[Any, ...]:
    """What an item is, as the conversation stores it back (ids and text forms differ)."""
    kind = item.get("type") or ("message" if "role" in item else "")
    return (kind, item.get("role"), item.get("call_id"), item.get("name"))


def _resume_point(client: Any, conversation_id: str, items: list[Obj]) -> int | None:
    """How many of ``items`` the conversation already holds, in order; None when it holds
    something else (or is gone), so the thread must be sent again to a new one."""
    import openai

    try:
        held = _held_items(client, conversation_id)
    except openai.NotFoundError:
        return None
    if len(held) > len(items):
        return None
    if any(_signature(h) != _signature(i) for h, i in zip(held, items, strict=False)):
        return None
    return len(held)


def export_to_conversations(
    source: Any,
    thread_ids: Iterable[str],
    client: Any,
    *,
    mapping: str | Path,
    progress: Progress | None = None,
) -> list[ThreadResult]:
    """Export each thread to a new Conversation through ``client`` (a plain ``openai.OpenAI``
    configured for the target project); returns what happened to each thread.

    The conversation is created with the thread's metadata and first 20 items, then the
    rest are added 20 at a time. ``mapping`` (a JSON file) gets the thread's entry as soon as
    its conversation exists (``"complete": false``) and again when the last batch is in
    (``"complete": true``). Re-running skips complete threads; an incomplete one is resumed:
    the conversation's items are listed and only those it lacks are sent (if it holds
    something else, or was deleted, the thread goes to a new conversation). Threads with an
    active run are skipped, unknown ids fail; an upstream error fails that thread only, but
    a rejected key (401/403) raises ``ExportError`` at once.
    """
    import openai

    store = _store(source)
    path = Path(mapping)
    mapped = read_mapping(path)
    results: list[ThreadResult] = []
    for got in _exports(store, thread_ids):
        if isinstance(got, ThreadResult):
            results.append(got)
            continue
        entry = mapped.get(got.thread_id)
        if entry is not None and entry.get("complete"):
            results.append(
                ThreadResult(
                    got.thread_id,
                    "skipped",
                    int(entry.get("items") or 0),
                    entry["conversation_id"],
                    "already exported",
                )
            )
            continue
        try:
            results.append(_export_one(client, got, entry, mapped, path, progress))
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ExportError(f"the upstream refused the key: {_describe(exc)}") from None
        except openai.APIError as exc:
            results.append(
                ThreadResult(got.thread_id, "failed", len(got.items), reason=_describe(exc))
            )
    return results


def _describe(exc: Exception) -> str:
    """``openai`` errors as one line (status and the API's message)."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    text = message or str(exc) or type(exc).__name__
    return f"{status} {text}" if status else text


def _export_one(
    client: Any,
    thread: ThreadExport,
    entry: Obj | None,
    mapped: dict[str, Obj],
    path: Path,
    progress: Progress | None,
) -> ThreadResult:
    items, total = thread.items, len(thread.items)
    sent: int | None = None
    status: Literal["exported", "resumed"] = "exported"
    reason = ""
    if entry is not None:
        sent = _resume_point(client, entry["conversation_id"], items)
        if sent is None:
            reason = f"{entry['conversation_id']} did not hold this thread's items; sent anew"
        else:
            conversation_id, status = entry["conversation_id"], "resumed"
    if sent is None:
        body: Obj = {"items": items[:BATCH]}
        if thread.metadata:
            body["metadata"] = thread.metadata
        conversation_id = _post(client, "/conversations", body)["id"]
        sent = min(BATCH, total)
        mapped[thread.thread_id] = {
            "conversation_id": conversation_id,
            "items": total,
            "complete": sent == total,
        }
        _save_mapping(path, mapped)
    if progress is not None:
        progress(thread.thread_id, sent, total)
    while sent < total:
        batch = items[sent : sent + BATCH]
        _post(client, f"/conversations/{conversation_id}/items", {"items": batch})
        sent += len(batch)
        if progress is not None:
            progress(thread.thread_id, sent, total)
    if not mapped[thread.thread_id].get("complete"):
        mapped[thread.thread_id] = {
            "conversation_id": conversation_id,
            "items": total,
            "complete": True,
        }
        _save_mapping(path, mapped)
    return ThreadResult(thread.thread_id, status, total, conversation_id, reason, thread.omitted)


# -- the accessor -------------------------------------------------------------------------------
def response_ids(source: Any, thread_id: str, run_id: str) -> list[str]:
    """The ids of the Responses API responses a run used (``resp_…``), in order: one per
    model call of the run (several when it called tools).

    ``source``: a compat ``OpenAI`` / ``AsyncOpenAI`` client (or one ``compat.wrap`` made),
    a ``compat.Store`` or a database URL. A plain, synchronous read of the local store (one
    indexed row), so async code may call it directly. With ``Options(upstream_store=True)``
    or ``history="chain"`` the responses are stored upstream: ``client.responses.retrieve``
    reads them and ``previous_response_id=`` continues from the last one. Raises
    ``LookupError`` when the thread has no such run.
    """
    with _store(source).read() as repo:
        found = repo.get_with_state("run", run_id)
    if found is None or found[0].get("thread_id") != thread_id:
        raise LookupError(f"No run found with id '{run_id}'.")
    return [str(r) for r in found[1].get("response_ids") or []]
