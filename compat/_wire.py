"""LocalRequest / LocalResponse and the JSON and server-sent-event encodings.

The transports turn httpx / httpx2 requests into ``LocalRequest`` and ``LocalResponse``
back into library responses. Imports: stdlib and compat._errors only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ._errors import ApiError


class EventSource(Protocol):
    """A body produced while it is read: blocking ``__iter__`` or ``__aiter__``, and ``close``."""

    def __iter__(self) -> Iterator[bytes]: ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def close(self) -> None: ...


@dataclass
class LocalRequest:
    """One request to the local API, path relative to the client's base URL."""

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    #: read timeout the SDK set on this request, in seconds (None = no timeout)
    timeout: float | None = None
    #: whose objects the request may see: ``''`` is the in-process client's one default
    #: tenant; `assistants-compat serve` sets the tenant of the request's API key
    tenant: str = ""
    #: the id answered in ``x-request-id`` (the server's, so its logs name it); new if empty
    request_id: str = ""

    def json(self) -> dict[str, Any]:
        """The JSON object body (``{}`` when empty); 400 when it is not a JSON object.

        Only what JSON and both databases can hold gets through: ``NaN``/``Infinity`` (not
        JSON), strings with lone surrogates (not encodable as UTF-8: stored, they would make
        every later read of the thread fail) and nesting deeper than ``MAX_DEPTH`` get the
        real API's parse error."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body, parse_constant=_reject_constant)
            _check_encodable(data)
        except (ValueError, RecursionError):
            raise ApiError(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON. If you have trouble figuring "
                "out how to fix this, please contact us through our help center at "
                "help.openai.com.)",
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "Invalid body: expected a JSON object.", code="invalid_type")
        return data

    def query(self) -> dict[str, Any]:
        """Query parameters; repeated keys and ``key[]`` array syntax become lists."""
        out: dict[str, Any] = {}
        for k, v in parse_qsl(self.query_string, keep_blank_values=True):
            if k.endswith("[]"):
                out.setdefault(k[:-2], []).append(v)
            elif k in out:
                prev = out[k]
                out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
            else:
                out[k] = v
        return out


#: deepest JSON nesting a request may have (function parameter schemas are the deepest
#: legitimate bodies, a few dozen levels at most)
MAX_DEPTH = 128


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_encodable(data: Any) -> None:
    """ValueError for a lone surrogate in any string (key or value) or nesting deeper than
    MAX_DEPTH; iterative, so no depth can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ValueError("JSON nested too deeply")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in items:
                if isinstance(k, str):
                    _check_text(k)
                stack.append((v, depth + 1))


def _check_text(text: str) -> None:
    if not text.isascii():
        text.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate


@dataclass
class LocalResponse:
    """Status, headers and either a complete body or an event source (SSE)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: EventSource | None = None


def json_response(
    obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> LocalResponse:
    """A JSON response as the real API sent it."""
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return LocalResponse(
        status,
        [("content-type", "application/json"), *(headers or [])],
        body,
    )


def error_response(err: ApiError, request_id: str, *, retry: bool = False) -> LocalResponse:
    """The real error body. ``x-should-retry: false`` makes the SDK raise at once; with
    ``retry`` (a transient fault, nothing was stored) it retries as it would the API's 5xx,
    after ``retry-after-ms``."""
    headers = [("x-should-retry", "true" if retry else "false"), ("x-request-id", request_id)]
    if retry:
        headers.append(("retry-after-ms", "500"))
    return json_response(err.body(), err.status, headers)


def sse_event(event: str, data: Any) -> bytes:
    """One server-sent event: ``event: <name>\\ndata: <json>\\n\\n``."""
    payload = (
        data
        if isinstance(data, str)
        else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    )
    return f"event: {event}\ndata: {payload}\n\n".encode()


SSE_DONE = b"event: done\ndata: [DONE]\n\n"
