"""The run status table: the one place that says which status changes are legal."""

from __future__ import annotations

import pytest

from compat._engine.status import (
    ACTIVE,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    advance,
    sources,
)


def test_terminal_statuses_never_change() -> None:
    for status in TERMINAL:
        assert not [e for (s, e) in TRANSITIONS if s == status]
        with pytest.raises(IllegalTransition):
            advance(status, "cancel")


def test_every_active_run_can_expire_and_only_active_ones() -> None:
    assert set(sources("expire")) == set(ACTIVE)
    assert all(advance(s, "expire") == "expired" for s in ACTIVE)


def test_a_run_lifecycle_through_the_table() -> None:
    status = "queued"
    for event, expected in [
        ("start", "in_progress"),
        ("require_action", "requires_action"),
        ("submit_outputs", "queued"),
        ("start", "in_progress"),
        ("cancel", "cancelling"),
        ("cancelled", "cancelled"),
    ]:
        status = advance(status, event)  # type: ignore[arg-type]
        assert status == expected


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("queued", "complete"),  # nothing ran yet
        ("requires_action", "start"),  # outputs first
        ("in_progress", "submit_outputs"),  # nothing was asked for
        ("cancelling", "start"),
        ("completed", "expire"),
    ],
)
def test_illegal_events_raise(status: str, event: str) -> None:
    with pytest.raises(IllegalTransition):
        advance(status, event)  # type: ignore[arg-type]


def test_every_status_in_the_table_is_a_status_of_the_store() -> None:
    known = set(ACTIVE) | set(TERMINAL)
    assert {s for s, _ in TRANSITIONS} | set(TRANSITIONS.values()) <= known
