"""Run steps: list and retrieve, with ``include`` of file_search result content.

Imports: store, compat internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _params
from ._common import check_ids, get_or_404, list_page

if TYPE_CHECKING:
    from .._app import App
    from .._wire import LocalRequest

Obj = dict[str, Any]


def public_step(step: Obj, include_content: bool) -> Obj:
    """File-search result ``content`` only when the caller asked for it with ``include``."""
    if include_content or step["step_details"]["type"] != "tool_calls":
        return step
    for call in step["step_details"]["tool_calls"]:
        if call["type"] == "file_search":
            for r in call["file_search"].get("results") or []:
                r.pop("content", None)
    return step


def list_(app: App, req: LocalRequest, thread_id: str, run_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id)
    page, q = list_page(app, req, "step", allow_include=True, thread_id=thread_id, run_id=run_id)
    include = bool(q.get("include"))
    page["data"] = [public_step(s, include) for s in page["data"]]
    return page


def retrieve(app: App, req: LocalRequest, thread_id: str, run_id: str, step_id: str) -> Obj:
    check_ids(thread_id=thread_id, run_id=run_id, step_id=step_id)
    include = bool(_params.include_query(req.query()))
    with app.store.read() as repo:
        get_or_404(repo, "thread", thread_id)
        get_or_404(repo, "run", run_id, thread_id=thread_id)
        step = get_or_404(repo, "step", step_id, run_id=run_id)
    return public_step(step, include)
