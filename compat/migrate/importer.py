"""Import what sources.py / remote.py read into a store: ids kept, one thread per transaction.

A run the source shows active (queued, in_progress, requires_action, cancelling) is stored
``expired`` (its in-progress steps too): nothing local ever executes or resumes it. The
status the source showed is kept in the run's private state (``imported_status``).
Imports: store, compat.migrate.sources.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..store import ACTIVE_RUN_STATUSES, IngestFailed, IngestRow, Kind, Store, ingest_all, ord_of
from .sources import Export, Problem, ThreadRecord

__all__ = [
    "KIND_ORDER",
    "OUTCOMES",
    "Summary",
    "import_assistants",
    "import_export",
    "import_thread",
]

KIND_ORDER: tuple[Kind, ...] = ("assistant", "thread", "message", "run", "step")
OUTCOMES = ("imported", "unchanged", "conflicting", "overwritten", "failed")
#: what an active run becomes locally
IMPORTED_ACTIVE_STATUS = "expired"


@dataclass
class Summary:
    """Counts per kind and outcome, and a one-line reason for everything not imported."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: dict.fromkeys(OUTCOMES, 0) for k in KIND_ORDER}
    )
    problems: list[Problem] = field(default_factory=list)
    #: objects that differ from the stored copy (kept, or overwritten): not failures
    conflicts: list[Problem] = field(default_factory=list)

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    @property
    def complete(self) -> bool:
        """Nothing failed and no problem was found (conflicts kept are not failures)."""
        return self.total("failed") == 0 and not self.problems


def _terminal_run(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if run.get("status") not in ACTIVE_RUN_STATUSES:
        return run, {}
    body = copy.deepcopy(run)
    body["status"] = IMPORTED_ACTIVE_STATUS
    if "required_action" in body:
        body["required_action"] = None
    return body, {"imported_status": run.get("status")}


def _ranked(items: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """``(object, ord)`` with ``ord`` from ``created_at``, ties in the given order."""
    out: list[tuple[dict[str, Any], int]] = []
    last, tie = None, 0
    for obj in items:
        at = obj.get("created_at")
        tie = tie + 1 if at == last else 0
        last = at
        out.append((obj, ord_of(at, tie)))
    return out


def _sorted(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        items, key=lambda o: o["created_at"] if isinstance(o.get("created_at"), int) else 0
    )


def thread_rows(
    thread_id: str, rec: ThreadRecord
) -> tuple[dict[Kind, list[IngestRow]], list[Problem]]:
    """The rows of one thread, in a form ingest writes, and what cannot be imported."""
    problems: list[Problem] = []
    thread = rec.thread
    if thread is None:  # an export of messages only: the thread they belong to
        first = min((m.get("created_at") or 0 for m in rec.messages + rec.runs), default=0)
        thread = {
            "id": thread_id,
            "object": "thread",
            "created_at": first,
            "metadata": {},
            "tool_resources": {},
        }
    stand_in = rec.thread is None
    rows: dict[Kind, list[IngestRow]] = {
        "thread": [IngestRow(thread, ord_of(thread.get("created_at"), 0), stand_in=stand_in)]
    }
    rows["message"] = [IngestRow(m, o) for m, o in _ranked(_sorted(rec.messages))]
    expired: set[str] = set()
    runs: list[IngestRow] = []
    for run, o in _ranked(_sorted(rec.runs)):
        body, state = _terminal_run(run)
        if body is not run:
            expired.add(run["id"])
        runs.append(IngestRow(body, o, state))
    rows["run"] = runs
    run_ids = {r.body["id"] for r in runs}
    steps: list[IngestRow] = []
    for step, o in _ranked(_sorted(rec.steps)):
        if step["run_id"] not in run_ids:
            problems.append(Problem(step["id"], f"its run {step['run_id']} is not in the source"))
            continue
        if step["run_id"] in expired and step.get("status") == "in_progress":
            step = {**step, "status": IMPORTED_ACTIVE_STATUS}
        steps.append(IngestRow(step, o))
    rows["step"] = steps
    return rows, problems


def import_thread(
    store: Store,
    thread_id: str,
    rec: ThreadRecord,
    summary: Summary,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    tenant: str | None = None,
) -> None:
    """Import one thread with its messages, runs and steps in one transaction."""
    rows, problems = thread_rows(thread_id, rec)
    for p in problems:
        summary.problems.append(p)
        summary.add("step", "failed")
    try:
        outcomes = ingest_all(store, rows, overwrite=overwrite, write=not dry_run, tenant=tenant)
    except IngestFailed as exc:
        _fail(summary, thread_id, rows, f"cannot be written: {exc}")
        return
    differ, total = [], 0
    for kind, kind_outcomes in outcomes.items():
        for o in kind_outcomes:
            summary.add(kind, o)
        n = sum(1 for o in kind_outcomes if o in ("conflicting", "overwritten"))
        total += n
        if n:
            differ.append(f"{n} {kind}" + ("s" if n > 1 else ""))
    if differ:
        verb = "differs" if total == 1 else "differ"
        summary.conflicts.append(
            Problem(
                thread_id, f"{', '.join(differ)} {verb} from the stored copy ({_fate(overwrite)})"
            )
        )


def import_assistants(
    store: Store,
    assistants: Iterable[dict[str, Any]],
    summary: Summary,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    tenant: str | None = None,
) -> None:
    """Import assistants (one transaction), placed in ``created_at`` order."""
    rows = [IngestRow(a, o) for a, o in _ranked(_sorted(assistants))]
    if not rows:
        return
    try:
        done = ingest_all(
            store, {"assistant": rows}, overwrite=overwrite, write=not dry_run, tenant=tenant
        )
    except IngestFailed as exc:
        summary.add("assistant", "failed", len(rows))
        summary.problems.append(Problem("assistants", f"cannot be written: {exc}"))
        return
    for row, outcome in zip(rows, done["assistant"], strict=True):
        summary.add("assistant", outcome)
        if outcome in ("conflicting", "overwritten"):
            summary.conflicts.append(
                Problem(row.body["id"], f"differs from the stored copy ({_fate(overwrite)})")
            )


def import_export(
    store: Store,
    export: Export,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    tenant: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Import everything ``export`` holds; ``progress(thread_id)`` after each thread."""
    summary = Summary(problems=list(export.problems))
    import_assistants(
        store,
        export.assistants.values(),
        summary,
        overwrite=overwrite,
        dry_run=dry_run,
        tenant=tenant,
    )
    for thread_id, rec in export.threads.items():
        import_thread(
            store, thread_id, rec, summary, overwrite=overwrite, dry_run=dry_run, tenant=tenant
        )
        if progress is not None:
            progress(thread_id)
    return summary


def _fail(summary: Summary, thread_id: str, rows: dict[Kind, list[IngestRow]], why: str) -> None:
    for kind, items in rows.items():
        summary.add(kind, "failed", len(items))
    summary.problems.append(Problem(thread_id, why))


def _fate(overwrite: bool) -> str:
    return "overwritten" if overwrite else "kept the stored copy; --overwrite replaces it"
