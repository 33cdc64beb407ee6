"""The one function that applies a run's effects to the store.

Imports: store, compat._ids, compat._engine.machine (effect types).
"""

from __future__ import annotations

from collections.abc import Iterable

from .._ids import now_ns
from ..store import Repo
from .machine import Effect, Emit, Insert, Save, Transition

__all__ = ["Lost", "apply_effects", "has_writes"]


class Lost(Exception):
    """A conditional run transition lost: another actor changed the run's status first."""


def has_writes(effects: Iterable[Effect]) -> bool:
    """True when some effect touches the store (not only events to publish)."""
    return any(not isinstance(e, Emit) for e in effects)


def apply_effects(
    repo: Repo, effects: Iterable[Effect], *, lease: tuple[str, int] | None = None
) -> None:
    """Write ``effects`` in order within ``repo``'s transaction; ``Emit`` is skipped (the
    caller publishes after commit). Raises Lost when a Transition's run status changed
    elsewhere: the caller's transaction then rolls back as a whole."""
    for e in effects:
        if isinstance(e, Insert):
            repo.insert(e.kind, e.body, ord=now_ns())
        elif isinstance(e, Save):
            repo.save(e.kind, e.body)
        elif isinstance(e, Transition):
            if not repo.transition_run(
                e.run, from_statuses=e.from_statuses, state=e.state, lease=lease
            ):
                raise Lost(e.run["id"])
