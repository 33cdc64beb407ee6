"""What endpoints share: loading or 404, path-id checks, list pages, upstream helpers.

Imports: store, compat._params, compat._objects, compat._errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .. import _objects, _params
from .._engine.lifecycle import expire_overdue
from .._errors import ApiError, not_found, server_error
from ..store import OWNED_RUN_STATUSES as OWNED
from ..store import Repo

if TYPE_CHECKING:
    from .._engine.runner import Services
    from .._wire import LocalRequest

Obj = dict[str, Any]
T = TypeVar("T")

_NAMES = {
    "assistant": "assistant",
    "thread": "thread",
    "message": "message",
    "run": "run",
    "step": "run step",
}
_PREFIX = {"assistant": "asst", "thread": "thread", "message": "msg", "run": "run", "step": "step"}


def check_ids(**ids: str) -> None:
    """400 for a path id without its prefix (``thread_id='undefined'``), like the real API."""
    for param, value in ids.items():
        kind = param[: -len("_id")]
        _params.check_id(value, _PREFIX[kind], param)


def get_or_404(
    repo: Repo,
    kind: Literal["assistant", "thread", "message", "run", "step"],
    id_: str,
    *,
    tenant: str,
    **scope: str,
) -> Obj:
    """The stored object, or 404 ``No <kind> found with id '<id>'.`` (also when it belongs
    to another thread or run, or to another tenant: exactly as if it did not exist)."""
    obj = repo.get(kind, id_, tenant=tenant)
    if obj is None or any(obj.get(k) != v for k, v in scope.items()):
        raise not_found(_NAMES[kind], id_)
    return obj


def get_in_thread(
    repo: Repo, kind: Literal["message", "run"], id_: str, thread_id: str, *, tenant: str
) -> Obj:
    """``get_or_404(thread)`` then ``get_or_404(kind, thread_id=…)`` with the same errors, in
    one query when the object is there (it only exists while its thread does)."""
    obj = repo.get(kind, id_, tenant=tenant)
    if obj is None or obj.get("thread_id") != thread_id:
        get_or_404(repo, "thread", thread_id, tenant=tenant)
        raise not_found(_NAMES[kind], id_)
    return obj


def list_page(
    sv: Services,
    req: LocalRequest,
    kind: Literal["assistant", "message", "run", "step"],
    *,
    allow_run_id: bool = False,
    allow_include: bool = False,
    **scope: str,
) -> tuple[Obj, Obj]:
    """``(list envelope, validated query)`` for a cursor-paginated list endpoint."""
    q = _params.list_query(req.query(), allow_run_id=allow_run_id, allow_include=allow_include)
    tenant = req.tenant
    with sv.store.read() as repo:
        if "run_id" in scope and kind == "step":
            get_in_thread(repo, "run", scope["run_id"], scope["thread_id"], tenant=tenant)
        elif "thread_id" in scope:
            # another tenant's thread answers 404 even when it has items
            get_or_404(repo, "thread", scope["thread_id"], tenant=tenant)
        run_filter = q.get("run_id") if kind == "message" else scope.get("run_id")
        page = repo.page(
            kind,
            limit=q["limit"],
            order=q["order"],
            after=q.get("after"),
            before=q.get("before"),
            thread_id=scope.get("thread_id"),
            run_id=run_filter,
            tenant=tenant if kind == "assistant" else None,
        )
    return _objects.page(page.data, page.has_more), q


class Orphaned(Exception):
    """The thread's active run lost its client (lease lapsed): take it over, then retry."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def active_run(sv: Services, repo: Repo, now: int, *, thread_id: str) -> Obj | None:
    """The run holding the thread, if any, in a write transaction. One past ``expires_at``
    is expired first; one whose client went away raises Orphaned (see ``thread_write``),
    so a crashed process never holds a thread longer than a lease."""
    run = repo.active_run(thread_id)
    if run is None:
        return None
    if (run.get("expires_at") or now) < now:
        for run_id in expire_overdue(repo, now, thread_id=thread_id):
            sv.runner.watch.notify(run_id)
        run = repo.active_run(thread_id)
    if run is not None and run["status"] in OWNED and sv.runner.lapsed(repo, run["id"]):
        raise Orphaned(run["id"])
    return run


def thread_write(sv: Services, fn: Callable[[Repo], T]) -> T:
    """``fn`` in a write transaction; when it meets an orphaned active run, that run is
    taken over (in its own transaction) and ``fn`` runs once more."""
    for _ in range(3):
        try:
            with sv.store.write() as repo:
                return fn(repo)
        except Orphaned as exc:
            sv.runner.take_over(exc.run_id)
    raise server_error()  # the store refuses the takeover: it is failing


def upstream(sv: Services, fn: Any) -> Any:
    """Call the user's client for a pass-through resource; its API errors keep their body."""
    import openai

    try:
        return sv.upstream.call(fn)
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        raise ApiError(
            exc.status_code,
            exc.message,
            type=str(body.get("type") or "invalid_request_error"),
            param=body.get("param"),
            code=body.get("code"),
        ) from None
    except openai.APIError as exc:
        raise ApiError(
            500, f"Could not reach the upstream API: {exc.message}", type="server_error"
        ) from None


def resolve_vector_stores(sv: Services, resources: Obj | None) -> Obj | None:
    """Replace the create-only ``file_search.vector_stores`` helper by a real vector store id."""
    if not resources or not (resources.get("file_search") or {}).get("vector_stores"):
        return resources
    out = dict(resources)
    fs = dict(out["file_search"])
    ids = list(fs.get("vector_store_ids") or [])
    for spec in fs.pop("vector_stores"):
        kwargs = {
            k: v
            for k, v in spec.items()
            if k in ("file_ids", "chunking_strategy", "metadata") and v is not None
        }
        vs = upstream(sv, lambda c, kw=kwargs: c.vector_stores.create(**kw))
        ids.append(vs.id)
    fs["vector_store_ids"] = ids
    out["file_search"] = fs
    return out
