"""/assistants: create, list, retrieve, update, delete. Imports: store, compat internals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _objects, _params
from .._errors import not_found
from .._ids import new_id, now_ns
from ._common import check_ids, get_or_404, list_page, resolve_vector_stores

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]


def create(sv: Services, req: LocalRequest) -> Obj:
    p = _params.assistant_create(req.json())
    if "tool_resources" in p:
        p["tool_resources"] = resolve_vector_stores(sv, p["tool_resources"])
    ord_ = now_ns()
    obj = _objects.assistant(new_id("asst"), ord_ // 10**9, p)
    with sv.store.write() as repo:
        repo.insert("assistant", obj, ord=ord_, tenant=req.tenant)
    return obj


def list_(sv: Services, req: LocalRequest) -> Obj:
    return list_page(sv, req, "assistant")[0]


def retrieve(sv: Services, req: LocalRequest, assistant_id: str) -> Obj:
    check_ids(assistant_id=assistant_id)
    with sv.store.read() as repo:
        return get_or_404(repo, "assistant", assistant_id, tenant=req.tenant)


def update(sv: Services, req: LocalRequest, assistant_id: str) -> Obj:
    check_ids(assistant_id=assistant_id)
    p = _params.assistant_update(req.json())
    with sv.store.write() as repo:
        obj = _objects.update_assistant(
            get_or_404(repo, "assistant", assistant_id, tenant=req.tenant), p
        )
        repo.save("assistant", obj)
    return obj


def delete(sv: Services, req: LocalRequest, assistant_id: str) -> Obj:
    check_ids(assistant_id=assistant_id)
    with sv.store.write() as repo:
        if not repo.delete("assistant", assistant_id, tenant=req.tenant):
            raise not_found("assistant", assistant_id)
    return _objects.deleted(assistant_id, "assistant.deleted")
