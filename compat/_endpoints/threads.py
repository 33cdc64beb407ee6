"""/threads: create (with initial messages), retrieve, update, delete (cascading).

Imports: store, compat internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _objects, _params
from .._errors import not_found
from .._ids import new_id, now_ns
from ..store import Repo
from ._common import check_ids, get_or_404, resolve_vector_stores
from .messages import attach_file_search, build_message

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]


def create_thread(sv: Services, p: Obj) -> tuple[Obj, int, list[tuple[Obj, int]]]:
    """A new thread and its initial messages (not yet stored), with vector stores resolved."""
    if "tool_resources" in p:
        p["tool_resources"] = resolve_vector_stores(sv, p["tool_resources"])
    ord_ = now_ns()
    thread = _objects.thread(new_id("thread"), ord_ // 10**9, p)
    msgs = []
    for m in p.get("messages") or []:
        o = now_ns()
        msgs.append((build_message(thread["id"], o, m), o))
    attach_file_search(sv, thread, [m for m, _ in msgs])
    return thread, ord_, msgs


def store_thread(
    repo: Repo, thread: Obj, ord_: int, msgs: list[tuple[Obj, int]], *, tenant: str
) -> None:
    repo.insert("thread", thread, ord=ord_, tenant=tenant)
    repo.insert_many("message", msgs)


def create(sv: Services, req: LocalRequest) -> Obj:
    p = _params.thread_create(req.json())
    thread, ord_, msgs = create_thread(sv, p)
    with sv.store.write() as repo:
        store_thread(repo, thread, ord_, msgs, tenant=req.tenant)
    return thread


def retrieve(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    with sv.store.read() as repo:
        return get_or_404(repo, "thread", thread_id, tenant=req.tenant)


def update(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    p = _params.thread_update(req.json())
    with sv.store.write() as repo:
        thread = get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        if "metadata" in p:
            thread["metadata"] = p["metadata"] or {}
        if "tool_resources" in p:
            thread["tool_resources"] = _objects.normalize_resources(p["tool_resources"])
        repo.save("thread", thread)
    return thread


def delete(sv: Services, req: LocalRequest, thread_id: str) -> Obj:
    check_ids(thread_id=thread_id)
    with sv.store.write() as repo:
        if not repo.delete_thread(thread_id, tenant=req.tenant):
            raise not_found("thread", thread_id)
    return _objects.deleted(thread_id, "thread.deleted")
