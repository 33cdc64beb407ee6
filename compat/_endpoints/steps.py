"""Run steps: list and retrieve, with ``include`` of file_search result content.

Imports: store, compat internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _params
from .._objects import public_step
from ._common import check_ids, get_or_404, list_page

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]


def list_(sv: Services, req: LocalRequest, thread_id: str, run_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id)
    page, q = list_page(sv, req, "step", allow_include=True, thread_id=thread_id, run_id=run_id)
    include = bool(q.get("include"))
    page["data"] = [public_step(s, include) for s in page["data"]]
    return page


def retrieve(sv: Services, req: LocalRequest, thread_id: str, run_id: str, step_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id, step_id=step_id)
    include = bool(_params.include_query(req.query()))
    with sv.store.read() as repo:
        get_or_404(repo, "thread", thread_id, tenant=req.tenant)
        get_or_404(repo, "run", run_id, tenant=req.tenant, thread_id=thread_id)
        step = get_or_404(repo, "step", step_id, tenant=req.tenant, run_id=run_id)
    return public_step(step, include)
