"""The run state machine's one table: every legal ``(status, event) -> status``.

Everything that changes a run's status (the RunMachine, cancel, tool outputs, expiry,
takeover of a run whose client went away) asks ``advance`` for the next status, so an
illegal change raises here instead of being written. Status names come from ``store``.
Imports: store (status names) only.
"""

from __future__ import annotations

from typing import Any, Literal

from ..store import ACTIVE_RUN_STATUSES, OWNED_RUN_STATUSES, TERMINAL_RUN_STATUSES

__all__ = [
    "ACTIVE",
    "OWNED",
    "TERMINAL",
    "TRANSITIONS",
    "IllegalTransition",
    "RunEvent",
    "advance",
    "sources",
]

ACTIVE = ACTIVE_RUN_STATUSES
OWNED = OWNED_RUN_STATUSES
TERMINAL = TERMINAL_RUN_STATUSES

RunEvent = Literal[
    "start",  # a client begins a segment (one Responses call)
    "require_action",  # the model called functions
    "submit_outputs",  # the caller submitted every tool output
    "complete",
    "incomplete",  # a token budget ran out
    "fail",  # the upstream failed, or the executing client went away mid-segment
    "cancel",  # cancellation requested
    "cancelled",  # cancellation carried out
    "expire",  # expires_at passed
]

TRANSITIONS: dict[tuple[str, RunEvent], str] = {
    ("queued", "start"): "in_progress",
    ("in_progress", "require_action"): "requires_action",
    ("requires_action", "submit_outputs"): "queued",
    ("in_progress", "complete"): "completed",
    ("in_progress", "incomplete"): "incomplete",
    ("in_progress", "fail"): "failed",
    ("queued", "cancel"): "cancelling",
    ("in_progress", "cancel"): "cancelling",
    ("requires_action", "cancel"): "cancelling",
    ("cancelling", "cancelled"): "cancelled",
    ("in_progress", "cancelled"): "cancelled",  # the executor saw the cancel first
    ("requires_action", "cancelled"): "cancelled",  # nothing executes it: done at once
    ("queued", "cancelled"): "cancelled",  # not started: done at once
    ("queued", "expire"): "expired",
    ("in_progress", "expire"): "expired",
    ("requires_action", "expire"): "expired",
    ("cancelling", "expire"): "expired",
}


class IllegalTransition(Exception):
    """An event the run's current status does not allow."""

    def __init__(self, status: str, event: str) -> None:
        super().__init__(f"run in status {status!r} cannot take event {event!r}")
        self.status = status
        self.event = event


def advance(status: str, event: RunEvent) -> str:
    """The status after ``event``; IllegalTransition when the table has no such row."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def sources(event: RunEvent, target: str | None = None) -> tuple[str, ...]:
    """Statuses from which ``event`` (leading to ``target``, when given) is legal."""
    return tuple(
        s for (s, e), t in TRANSITIONS.items() if e == event and (target is None or t == target)
    )


def allows(run: dict[str, Any], event: RunEvent) -> bool:
    """True when ``run``'s status takes ``event``."""
    return (run["status"], event) in TRANSITIONS
