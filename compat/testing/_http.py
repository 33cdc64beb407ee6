"""The emulator's HTTP plumbing over :mod:`http.server`: what is wire, not API.

Owns the threaded loopback server, the per-connection handler that hands every request to
:meth:`ResponsesEmulator._dispatch <compat.testing.emulator.ResponsesEmulator>`, and the byte
level: reading (chunked) bodies and multipart forms, writing the API's headers, JSON and byte
answers and chunked frames. Stdlib only.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from .._errors import invalid


class Application(Protocol):
    """What the server calls on the emulator it serves."""

    def _track(self, conn: socket.socket, *, add: bool) -> None: ...

    def _dispatch(self, h: Handler, method: str) -> None: ...


class Abort(Exception):
    """The emulator is stopping or the client went away: drop the connection."""


class Server(ThreadingHTTPServer):
    """Threaded server whose handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False  # stop() must not wait for keep-alive or streaming connections
    emulator: Application

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (a consumer closing a stream early) is normal here.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the emulator (one instance per connection)."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the SDK's connection pool expects
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (tests would drown in it)."""

    def setup(self) -> None:
        """Register the connection so stop() can cut it."""
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self.server.emulator._dispatch(self, "GET")

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self.server.emulator._dispatch(self, "POST")

    def do_DELETE(self) -> None:
        """Dispatch a DELETE."""
        self.server.emulator._dispatch(self, "DELETE")

    def do_PUT(self) -> None:
        """Dispatch a PUT (no route takes it: 404)."""
        self.server.emulator._dispatch(self, "PUT")

    def do_PATCH(self) -> None:
        """Dispatch a PATCH (no route takes it: 404)."""
        self.server.emulator._dispatch(self, "PATCH")


# --------------------------------------------------------------------------------------------
# reading


def read_body(h: Handler) -> bytes:
    """The request body, de-chunked when sent with ``Transfer-Encoding: chunked``."""
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                h.rfile.readline()
                return out
            out += h.rfile.read(size)
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, bytes)`` of a multipart/form-data body (byte-exact)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise invalid("Invalid multipart body: no boundary.")
    delimiter = b"--" + m.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disposition = next(
            (
                ln
                for ln in head.decode("utf-8", "replace").split("\r\n")
                if ln.lower().startswith("content-disposition")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, data)
    return fields


# --------------------------------------------------------------------------------------------
# writing


def _headers(h: Handler, content_type: str, length: int | None) -> None:
    h.send_header("Content-Type", content_type)
    if length is not None:
        h.send_header("Content-Length", str(length))
    h.send_header("x-request-id", f"req_{secrets.token_hex(16)}")
    h.send_header("openai-processing-ms", "1")
    h.send_header("openai-version", "2020-10-01")


def send_json(h: Handler, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
    """Answer ``obj`` as JSON with the API's headers (plus ``extra``)."""
    data = json.dumps(obj).encode()
    h.send_response(status)
    _headers(h, "application/json", len(data))
    for k, v in (extra or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(data)
    h.wfile.flush()


def send_bytes(h: Handler, data: bytes, content_type: str) -> None:
    """Answer 200 with raw bytes (file contents)."""
    h.send_response(200)
    _headers(h, content_type, len(data))
    h.end_headers()
    h.wfile.write(data)
    h.wfile.flush()


def start_event_stream(h: Handler) -> None:
    """Answer 200 ``text/event-stream`` with chunked transfer encoding (frames follow)."""
    h.send_response(200)
    _headers(h, "text/event-stream; charset=utf-8", None)
    h.send_header("Transfer-Encoding", "chunked")
    h.send_header("Cache-Control", "no-cache")
    h.end_headers()


def send_event(h: Handler, event: dict[str, Any]) -> None:
    """Write one SSE frame (``event: <type>`` + compact JSON ``data``) as one chunk."""
    payload = json.dumps(event, separators=(",", ":"))
    frame = f"event: {event['type']}\ndata: {payload}\n\n".encode()
    h.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
    h.wfile.flush()


def end_event_stream(h: Handler) -> None:
    """Write the last (empty) chunk."""
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()
