"""Fixtures of the import / read-through tests: a realistic export, raw reads through compat."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from compat.testing.legacy import sample_export

BETA = {"OpenAI-Beta": "assistants=v2"}
ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")

_SAMPLE = sample_export(50)


@pytest.fixture
def export_data() -> dict[str, list[dict[str, Any]]]:
    """3 assistants and 50 threads with messages, runs (2 active) and steps, oldest first."""
    return copy.deepcopy(_SAMPLE)


def raw(client: Any, path: str, **params: Any) -> Any:
    """The JSON a (sync) client's request answers, exactly as sent."""
    return client.get(path, cast_to=object, options={"headers": BETA, "params": params})


def raw_list(client: Any, path: str) -> list[dict[str, Any]]:
    """Every object of a list route, oldest first, as raw JSON (pages of 100)."""
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100, "order": "asc"}
    while True:
        page = raw(client, path, **params)
        out += page["data"]
        if not page["has_more"]:
            return out
        params["after"] = page["last_id"]


def as_imported(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """What the store should hold: active runs (and their in-progress steps) ``expired``."""
    out = copy.deepcopy(data)
    expired = set()
    for run in out["runs"]:
        if run["status"] in ACTIVE:
            expired.add(run["id"])
            run["status"] = "expired"
            run["required_action"] = None
    for step in out["steps"]:
        if step["run_id"] in expired and step["status"] == "in_progress":
            step["status"] = "expired"
    return out


def of_thread(items: list[dict[str, Any]], thread_id: str) -> list[dict[str, Any]]:
    return [o for o in items if o["thread_id"] == thread_id]


def check_store_matches(client: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    """Every object reads back through ``client`` exactly as the source had it, in order."""
    want = as_imported(data)
    assert raw_list(client, "/assistants") == want["assistants"]
    for thread in want["threads"]:
        tid = thread["id"]
        assert raw(client, f"/threads/{tid}") == thread
        assert raw_list(client, f"/threads/{tid}/messages") == of_thread(want["messages"], tid)
        runs = of_thread(want["runs"], tid)
        assert raw_list(client, f"/threads/{tid}/runs") == runs
        for run in runs:
            steps = [s for s in want["steps"] if s["run_id"] == run["id"]]
            assert raw_list(client, f"/threads/{tid}/runs/{run['id']}/steps") == steps
