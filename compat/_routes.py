"""ROUTES: the local Assistants API, one row per method and path, compiled once.

Imports: compat._endpoints, compat._errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._endpoints import assistants, messages, runs, steps, threads
from ._errors import ApiError

Endpoint = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    """``METHOD /path/{param}`` -> endpoint(ctx, request, **params)."""

    method: str
    path: str
    endpoint: Endpoint = field(compare=False)

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.path)


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return re.compile(f"^{pattern}$")


ROUTES: list[Route] = [
    Route("POST", "/assistants", assistants.create),
    Route("GET", "/assistants", assistants.list_),
    Route("GET", "/assistants/{assistant_id}", assistants.retrieve),
    Route("POST", "/assistants/{assistant_id}", assistants.update),
    Route("DELETE", "/assistants/{assistant_id}", assistants.delete),
    Route("POST", "/threads", threads.create),
    # before /threads/{thread_id}: "runs" is not a thread id
    Route("POST", "/threads/runs", runs.create_thread_and_run),
    Route("GET", "/threads/{thread_id}", threads.retrieve),
    Route("POST", "/threads/{thread_id}", threads.update),
    Route("DELETE", "/threads/{thread_id}", threads.delete),
    Route("POST", "/threads/{thread_id}/messages", messages.create),
    Route("GET", "/threads/{thread_id}/messages", messages.list_),
    Route("GET", "/threads/{thread_id}/messages/{message_id}", messages.retrieve),
    Route("POST", "/threads/{thread_id}/messages/{message_id}", messages.update),
    Route("DELETE", "/threads/{thread_id}/messages/{message_id}", messages.delete),
    Route("POST", "/threads/{thread_id}/runs", runs.create),
    Route("GET", "/threads/{thread_id}/runs", runs.list_),
    Route("GET", "/threads/{thread_id}/runs/{run_id}", runs.retrieve),
    Route("POST", "/threads/{thread_id}/runs/{run_id}", runs.update),
    Route("POST", "/threads/{thread_id}/runs/{run_id}/cancel", runs.cancel),
    Route(
        "POST", "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", runs.submit_tool_outputs
    ),
    Route("GET", "/threads/{thread_id}/runs/{run_id}/steps", steps.list_),
    Route("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}", steps.retrieve),
]

_COMPILED = [(r.method, _compile(r.path), r.endpoint) for r in ROUTES]


def route_of(method: str, path: str) -> str | None:
    """The route's path template (``/threads/{thread_id}``) for metrics, or None."""
    for r in ROUTES:
        if r.method == method and r.regex.match(path):
            return r.path
    return None


def match(method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
    """The endpoint and path params for a request; ApiError 404 like the real API otherwise."""
    for m, regex, endpoint in _COMPILED:
        found = regex.match(path)
        if found and m == method:
            return endpoint, found.groupdict()
    # The real API answered unknown paths and wrong methods alike with 404 "Invalid URL".
    raise ApiError(404, f"Invalid URL ({method} /v1{path})")
