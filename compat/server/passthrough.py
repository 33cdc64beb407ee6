"""Every ``/v1`` route that is not an Assistants route goes to the tenant's upstream
(``/responses``, ``/files``, ``/vector_stores``, ``/containers``, ``/conversations``, …),
with the tenant's upstream key in place of the client's, bodies streamed both ways.

It sends through the HTTP client of the tenant's ``openai.AsyncOpenAI`` (httpx or httpx2,
whichever the SDK uses), so this module needs no HTTP library of its own.
Imports: compat._wire, compat._errors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from .._errors import ApiError
from .._wire import error_response

log = logging.getLogger("compat.server")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: headers that describe one connection, not the message (RFC 9110 7.6.1), plus the
#: client's own key and host, which the upstream must not see
_DROP_IN = {
    "host",
    "authorization",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "trailer",
}
_DROP_OUT = {"connection", "keep-alive", "transfer-encoding", "trailer", "upgrade"}


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ConnectionError("the client went away while sending its body")
        chunk = msg.get("body", b"")
        if chunk:
            yield chunk
        if not msg.get("more_body", False):
            return


async def forward(
    http: Any,
    url: str,
    api_key: str,
    scope: dict[str, Any],
    receive: Receive,
    send: Send,
    request_id: str,
) -> int:
    """Send the request to ``url`` and its response back; the status sent."""
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in scope["headers"]
        if k.decode("latin-1").lower() not in _DROP_IN
    ]
    headers.append(("authorization", f"Bearer {api_key}"))
    has_body = scope["method"] not in ("GET", "HEAD", "DELETE") or any(
        k.lower() in ("content-length", "content-type") for k, _ in headers
    )
    request = http.build_request(
        scope["method"], url, headers=headers, content=_body(receive) if has_body else None
    )
    try:
        resp = await http.send(request, stream=True)
    except Exception as exc:  # unreachable, refused, timed out: the SDK may retry a 502
        log.warning(
            "upstream request failed: %s", exc.__class__.__name__, extra={"request_id": request_id}
        )
        err = ApiError(
            502,
            f"Could not reach the upstream API ({exc.__class__.__name__}).",
            type="server_error",
        )
        out = error_response(err, request_id, retry=True)
        await send(
            {
                "type": "http.response.start",
                "status": out.status,
                "headers": [(k.encode(), v.encode()) for k, v in out.headers],
            }
        )
        await send({"type": "http.response.body", "body": out.body})
        return out.status
    try:
        await send(
            {
                "type": "http.response.start",
                "status": resp.status_code,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1"))
                    for k, v in resp.headers.multi_items()
                    if k.lower() not in _DROP_OUT
                ],
            }
        )
        async for chunk in resp.aiter_raw():  # as sent: content-encoding stays valid
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await resp.aclose()
    return int(resp.status_code)
