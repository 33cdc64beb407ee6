"""/threads/{thread_id}/messages: create, list, retrieve, update, delete.

Imports: store, compat internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _objects, _params
from .._errors import invalid, not_found
from .._ids import new_id, now_ns
from ..store import Repo
from ._common import (
    active_run,
    check_ids,
    get_in_thread,
    get_or_404,
    list_page,
    thread_write,
    upstream,
)

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]


def build_message(thread_id: str, ord_: int, p: Obj) -> Obj:
    """A user/API-created message from validated create params."""
    return _objects.message(new_id("msg"), ord_ // 10**9, thread_id, p)


def attach_file_search(sv: Services, thread: Obj, messages: list[Obj]) -> bool:
    """Put ``file_search`` attachments into the thread's vector store (created on first use,
    as the real API did). Returns True when the thread's tool_resources changed."""
    files = [
        a["file_id"]
        for m in messages
        for a in m["attachments"]
        if any(t["type"] == "file_search" for t in a["tools"])
    ]
    if not files:
        return False
    fs = thread["tool_resources"].setdefault("file_search", {"vector_store_ids": []})
    if fs.get("vector_store_ids"):
        vs_id = fs["vector_store_ids"][0]
        for fid in files:
            upstream(
                sv, lambda c, f=fid: c.vector_stores.files.create(vector_store_id=vs_id, file_id=f)
            )
        return False
    vs = upstream(
        sv,
        lambda c: c.vector_stores.create(
            file_ids=files,
            expires_after={"anchor": "last_active_at", "days": 7},
            metadata={"thread_id": thread["id"]},
        ),
    )
    fs["vector_store_ids"] = [vs.id]
    return True


def _busy(thread_id: str, run_id: str) -> Exception:
    return invalid(f"Can't add messages to {thread_id} while a run {run_id} is active.")


def create(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    p = _params.message_create(req.json())
    now = sv.now()
    msg = build_message(thread_id, now_ns(), p)
    thread = None
    if any(t["type"] == "file_search" for a in msg["attachments"] for t in a["tools"]):
        # The thread's vector store is created upstream, outside any transaction; refuse
        # first if the thread is busy, so nothing is created for a message we won't store.
        def check(repo: Repo) -> tuple[Obj, Obj | None]:
            return get_or_404(repo, "thread", thread_id, tenant=req.tenant), active_run(
                sv, repo, now, thread_id=thread_id
            )

        thread, active = thread_write(sv, check)
        if active is not None:
            raise _busy(thread_id, active["id"])
        if not attach_file_search(sv, thread, [msg]):
            thread = None

    def insert(repo: Repo) -> None:
        if not repo.lock_thread(thread_id, tenant=req.tenant):
            raise not_found("thread", thread_id)
        active = active_run(sv, repo, now, thread_id=thread_id)
        if active is not None:
            raise _busy(thread_id, active["id"])
        # The message's place is fixed here, under the thread's lock and after the check
        # that no run is active: every later run's input includes it, no earlier one did.
        ord_ = repo.next_ord(thread_id, now_ns())
        msg["created_at"] = ord_ // 10**9
        repo.insert("message", msg, ord=ord_)
        if thread is not None:
            repo.save("thread", thread)

    thread_write(sv, insert)
    return msg


def list_(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    return list_page(sv, req, "message", allow_run_id=True, thread_id=thread_id)[0]


def retrieve(sv: Services, req: LocalRequest, thread_id: str, message_id: str) -> Obj:
    check_ids(thread_id=thread_id, message_id=message_id)
    with sv.store.read() as repo:
        return get_in_thread(repo, "message", message_id, thread_id, tenant=req.tenant)


def update(sv: Services, req: LocalRequest, thread_id: str, message_id: str) -> Obj:
    check_ids(thread_id=thread_id, message_id=message_id)
    p = _params.message_update(req.json())
    with sv.store.write() as repo:
        msg = get_in_thread(repo, "message", message_id, thread_id, tenant=req.tenant)
        if "metadata" in p:
            msg["metadata"] = p["metadata"] or {}
        repo.save("message", msg)
    return msg


def delete(sv: Services, req: LocalRequest, thread_id: str, message_id: str) -> Obj:
    check_ids(thread_id=thread_id, message_id=message_id)
    with sv.store.write() as repo:
        get_in_thread(repo, "message", message_id, thread_id, tenant=req.tenant)
        repo.delete("message", message_id)
    return _objects.deleted(message_id, "thread.message.deleted")
