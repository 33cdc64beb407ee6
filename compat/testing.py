"""Offline OpenAI Responses API emulator over real loopback HTTP, plus pytest fixtures.

Owns :class:`ResponsesEmulator` — a threaded HTTP server on ``127.0.0.1`` that speaks enough
of the OpenAI API for an OpenAI client (``base_url=emu.base_url``) to run Assistants-style
flows with no network — and the pytest fixtures ``responses_emulator``, ``compat_client`` and
``async_compat_client`` (enable with ``pytest_plugins = ["compat.testing"]``).

Stdlib only at runtime; ``jsonschema`` (the ``test`` extra) is imported lazily to validate
request bodies against the official schema (without it, only the checks below the schema run).
Nothing here imports the ``compat`` client; the fixtures import it lazily.

Usage::

    from openai import OpenAI
    from compat.testing import ResponsesEmulator

    with ResponsesEmulator() as emu:
        client = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        r = client.responses.create(model="gpt-4.1", input="Hello")
        assert r.output_text == "You said: Hello"
        assert emu.requests[-1]["input"] == "Hello"

Endpoints
    ``POST /v1/responses`` (JSON or ``stream: true`` SSE), ``GET|DELETE /v1/responses/{id}``;
    Files: ``POST /v1/files`` (multipart), ``GET /v1/files``, ``GET|DELETE /v1/files/{id}``,
    ``GET /v1/files/{id}/content``; Vector stores: ``POST|GET /v1/vector_stores``,
    ``GET|POST|DELETE /v1/vector_stores/{id}``, ``POST|GET /v1/vector_stores/{id}/files``,
    ``GET|DELETE /v1/vector_stores/{id}/files/{file_id}``, ``POST
    /v1/vector_stores/{id}/file_batches`` (+ ``GET …/{batch_id}`` and ``…/{batch_id}/files``);
    Containers: ``GET /v1/containers/{id}/files``, ``GET /v1/containers/{id}/files/{file_id}``
    and ``…/content``. Anything else: 404 ``Invalid URL (METHOD /path)``. Every answer has an
    ``x-request-id`` header; every request needs ``Authorization: Bearer <any key>`` (except
    container file contents, which code-interpreter image URLs point at). ``background`` and
    ``conversation`` are accepted but not emulated (answers complete synchronously).

Request checks (``POST /v1/responses``), answered with the real error body
``{"error": {"message", "type": "invalid_request_error", "param", "code"}}``
    * the official ``CreateResponse`` schema (``compat/_data/create_response.schema.json``,
      made by ``scripts/extract_schema.py``; ``oneOf`` read as ``anyOf``; ``strict`` on
      function tools optional; assistant messages may use ``output_text`` parts) and unknown
      top-level parameters -> 400 with ``param`` as a JSON path (``tools[0].name``);
    * a ``function_call`` in the conversation without a later ``function_call_output`` -> 400
      ``No tool output found for function call <call_id>.``; an output without its call ->
      400 ``No tool call found for function call output with call_id <call_id>.``;
    * an item carrying an ``id`` with ``store: false`` -> 404 ``Item with id '…' not found.
      Items are not persisted when store is set to false. …``;
    * ``temperature``/``top_p`` with a model id starting ``o`` or ``gpt-5`` -> 400
      ``Unsupported parameter: 'temperature' is not supported with this model.``;
    * ``text.format`` ``json_object`` without the word "json" in input/instructions -> 400;
    * unknown ``previous_response_id`` -> 400 ``previous_response_not_found``; user/assistant
      messages with the other role's content part types -> 400.

Default behaviour (the deterministic "model"; first matching rule wins)
    The conversation is the stored chain behind ``previous_response_id`` (when ``store`` was
    not false) followed by ``input``; "the user text" is the last user message.

    1. ``tool_choice`` forcing a function (or ``"required"``) -> that function is called, even
       right after tool outputs (as the real API does: forced choices loop).
    2. ``input`` ends with ``function_call_output`` items -> text
       ``"Here is what I found: <output1>; <output2>"``.
    3. Function tools whose name has a topic word (name parts minus get/set/fetch/list/…) in the
       user text -> ``function_call`` items (``call_…`` ids). Arguments from the parameters
       schema: string enums -> the value named in the text (else omitted, or the first value if
       required); location/city/place strings -> capitalised names after "in"/"for"/"at";
       other required strings -> the user text; required numbers -> 1. Several matching tools,
       or several places ("in Paris and Tokyo"), give parallel calls unless
       ``parallel_tool_calls`` is false. ``tool_choice: "none"`` disables all tools.
    4. A ``code_interpreter`` tool and the text mentions code/python/compute/calculate/prime/
       plot/chart/function -> ``code_interpreter_call`` (``ci_…``, ``container_id``, ``outputs``
       only with ``include=["code_interpreter_call.outputs"]``) then a message with a fenced
       python block; plot/chart/image adds an image output and a ``container_file_citation``
       to a ``cfile_…`` PNG served under ``/v1/containers/{id}/files/{file_id}[/content]``.
    5. A ``file_search`` tool with ``vector_store_ids`` -> ``file_search_call`` (``fs_…``;
       ``results`` only with ``include=["file_search_call.results"]``, ranked by word overlap
       over the emulator's vector store files) then a message with ``file_citation``
       annotations.
    6. An earlier user message "my name is X" (and "learning about Y") and the user text asks
       for the name -> ``"Your name is X."`` (+ ``" You are learning about Y."``).
    7. Otherwise an echo: ``"You said: <user text>"`` (+ ``" You also sent an image."``);
       questions about planets get a fixed list.

    ``text.format`` json_schema/json_object turns text answers into JSON (schema's required keys
    with simple values; strings hold the plain answer). ``max_output_tokens`` cuts the text and
    ends ``incomplete`` (``max_output_tokens``). Model ids starting ``o``/``gpt-5`` add a leading
    ``reasoning`` item (``rs_…``, 8 reasoning tokens). Usage counts ceil(chars / 4) of all input
    text and of the output text. Text is streamed as word-ish deltas.

Scripting (tests): ``emu.enqueue(...)`` queues answers consumed in FIFO order by the next
``POST /v1/responses`` — see :meth:`ResponsesEmulator.enqueue`; ``emu.reset()`` forgets
everything. Timing: ``emu.latency`` (seconds before the first byte of an accepted request's
answer) and ``emu.delta_delay`` (seconds after each stream delta). Note the SDK retries
408/409/429/5xx answers unless the client has ``max_retries=0``.

Fixtures: ``responses_emulator`` (a started emulator per test), ``compat_client``
(``compat.OpenAI`` pointed at it with a SQLite store in ``tmp_path`` and ``max_retries=0``),
``async_compat_client`` (the same with ``compat.AsyncOpenAI``).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._emulator_events import response_object, stream_events
from ._emulator_model import Context, Outcome, Script, b62_id, decide, hex_id, input_items
from ._emulator_validate import RequestError, check_semantics, validate_schema
from ._objects import page

__all__ = ["ResponsesEmulator"]

_FILE_PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    "a username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please contact "
    "us through our help center at help.openai.com.)"
)
_STATIC_CHUNKING = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}


def _now() -> int:
    return int(time.time())


def _page(data: list[dict[str, Any]]) -> dict[str, Any]:
    """A cursor page as the list endpoints answer it (everything in one page)."""
    return page(data, has_more=False)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, bytes)`` of a multipart/form-data body (byte-exact)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise RequestError(400, "Invalid multipart body: no boundary.")
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


class _Server(ThreadingHTTPServer):
    """Threaded server whose handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False  # stop() must not wait for keep-alive or streaming connections
    emulator: ResponsesEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (a consumer closing a stream early) is normal here.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the emulator (one instance per connection)."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the SDK's connection pool expects
    server: _Server

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


class _Abort(Exception):
    """The emulator is stopping or the client went away: drop the connection."""


class ResponsesEmulator:
    """An offline Responses/Files/Vector Stores API on a loopback port (see module docstring).

    Attributes tests read or set:
        ``base_url``: ``http://127.0.0.1:<port>/v1`` (after :meth:`start`).
        ``requests`` / ``request_headers``: every ``POST /v1/responses`` JSON body and its
        headers (lower-cased names), in arrival order — including rejected ones.
        ``calls``: ``(method, path)`` of every HTTP request.
        ``responses``: stored Response objects by id (``store`` not false).
        ``files`` / ``vector_stores``: the in-memory Files / Vector Stores objects by id.
        ``errors``: tracebacks of unexpected emulator failures (answered as 500).
        ``latency``: seconds to wait before the first byte of a responses answer.
        ``delta_delay``: seconds to wait after each stream delta event.
    """

    def __init__(self, *, port: int = 0, latency: float = 0.0, delta_delay: float = 0.0) -> None:
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._default_latency = latency
        self._default_delta_delay = delta_delay
        self.latency = latency
        self.delta_delay = delta_delay
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.calls: list[tuple[str, str]] = []
        self.responses: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.vector_stores: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self._queue: list[Script] = []
        self._conversations: dict[str, list[dict[str, Any]]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._vs_files: dict[str, dict[str, dict[str, Any]]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._container_files: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = {}

    # ----------------------------------------------------------------------------------------
    # Lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the ``base_url`` for an OpenAI client."""
        if self._server is None:
            raise RuntimeError("ResponsesEmulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        return int(self.base_url.rsplit(":", 1)[1].split("/", 1)[0])

    def start(self) -> ResponsesEmulator:
        """Bind 127.0.0.1 (a free port unless given) and serve on a daemon thread."""
        with self._lock:
            if self._server is not None:
                return self
            self._stopping.clear()
            server = _Server(("127.0.0.1", self._port), _Handler)
            server.emulator = self
            self._server = server
            # A short poll interval keeps stop() (server.shutdown waits one poll) instant.
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"ResponsesEmulator:{server.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving promptly; in-flight streams are cut, open connections closed."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._stopping.set()
            connections = list(self._connections)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> ResponsesEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ----------------------------------------------------------------------------------------
    # Scripting

    def enqueue(
        self,
        text: str | None = None,
        *,
        function_calls: list[tuple[str, dict[str, Any]]] | None = None,
        code: tuple[str, str] | None = None,
        status_error: tuple[int, str, str | None] | None = None,
        stream_error: tuple[str, str] | None = None,
        incomplete: str | None = None,
        refusal: str | None = None,
        usage: tuple[int, int] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Queue the next answer(s) of ``POST /v1/responses``, overriding the default model.

        ``text``: the message text. ``function_calls``: ``[(name, arguments_dict), …]`` as
        function_call items (after the text, if any). ``code``: ``(code, logs)`` as a
        code_interpreter_call followed by a message. ``refusal``: a refusal message.
        ``status_error``: ``(http_status, message, code)`` answered as an HTTP error with the
        real error body (type ``invalid_request_error`` below 500, else ``server_error``; 429
        and 5xx carry ``retry-after-ms: 10``). The SDK *retries* 408/409/429/5xx unless the
        client has ``max_retries=0`` — each retry consumes one queued answer, so use
        ``times=N`` to fail N consecutive requests. ``stream_error``: ``(code, message)``: the
        answer starts, then fails — streams send part of the text, an ``error`` event and
        ``response.failed`` (``response.error`` set); non-stream answers are a ``failed``
        Response. ``incomplete``: ``"max_output_tokens"`` or ``"content_filter"``: half the
        text, status ``incomplete``. ``usage``: ``(input_tokens, output_tokens)``. ``delay``:
        extra seconds before the first byte. With only modifiers (``incomplete``, ``usage``,
        ``stream_error``, ``delay``) the default model still picks the output. ``times``: queue
        the same answer N times.

        A ``status_error`` answer is taken before the request is validated (like a gateway
        fault); any other scripted answer is taken only by a request that passes validation.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        script = Script(
            text=text,
            function_calls=function_calls,
            code=code,
            status_error=status_error,
            stream_error=stream_error,
            incomplete=incomplete,
            refusal=refusal,
            usage=usage,
            delay=delay,
        )
        with self._lock:
            self._queue.extend(Script(**vars(script)) for _ in range(times))

    def reset(self) -> None:
        """Forget recorded requests, scripts, stored responses, files, vector stores, timing."""
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.calls.clear()
            self.responses.clear()
            self.files.clear()
            self.vector_stores.clear()
            self.errors.clear()
            self._queue.clear()
            self._conversations.clear()
            self._file_bytes.clear()
            self._vs_files.clear()
            self._batches.clear()
            self._container_files.clear()
            self.latency = self._default_latency
            self.delta_delay = self._default_delta_delay

    def add_file(self, filename: str, content: bytes | str, *, purpose: str = "assistants") -> str:
        """Create a file directly (no HTTP) and return its ``file-…`` id."""
        data = content.encode() if isinstance(content, str) else content
        return self._new_file(filename, data, purpose)["id"]

    def _take_script(self, *, errors: bool) -> Script | None:
        """Pop the queue head if it is (``errors``) / is not a status_error script."""
        with self._lock:
            if self._queue and (self._queue[0].status_error is not None) == errors:
                return self._queue.pop(0)
        return None

    # ----------------------------------------------------------------------------------------
    # HTTP plumbing

    _ROUTES: list[tuple[str, re.Pattern[str], str]] = [
        (m, re.compile(p), h)
        for m, p, h in [
            ("POST", r"/v1/responses", "_create_response"),
            ("GET", r"/v1/responses/(?P<rid>[^/]+)", "_get_response"),
            ("DELETE", r"/v1/responses/(?P<rid>[^/]+)", "_delete_response"),
            ("POST", r"/v1/files", "_create_file"),
            ("GET", r"/v1/files", "_list_files"),
            ("GET", r"/v1/files/(?P<fid>[^/]+)", "_get_file"),
            ("GET", r"/v1/files/(?P<fid>[^/]+)/content", "_get_file_content"),
            ("DELETE", r"/v1/files/(?P<fid>[^/]+)", "_delete_file"),
            ("POST", r"/v1/vector_stores", "_create_vector_store"),
            ("GET", r"/v1/vector_stores", "_list_vector_stores"),
            ("GET", r"/v1/vector_stores/(?P<vs>[^/]+)", "_get_vector_store"),
            ("POST", r"/v1/vector_stores/(?P<vs>[^/]+)", "_update_vector_store"),
            ("DELETE", r"/v1/vector_stores/(?P<vs>[^/]+)", "_delete_vector_store"),
            ("POST", r"/v1/vector_stores/(?P<vs>[^/]+)/files", "_create_vs_file"),
            ("GET", r"/v1/vector_stores/(?P<vs>[^/]+)/files", "_list_vs_files"),
            ("GET", r"/v1/vector_stores/(?P<vs>[^/]+)/files/(?P<fid>[^/]+)", "_get_vs_file"),
            ("DELETE", r"/v1/vector_stores/(?P<vs>[^/]+)/files/(?P<fid>[^/]+)", "_delete_vs_file"),
            ("POST", r"/v1/vector_stores/(?P<vs>[^/]+)/file_batches", "_create_batch"),
            ("GET", r"/v1/vector_stores/(?P<vs>[^/]+)/file_batches/(?P<bid>[^/]+)", "_get_batch"),
            (
                "GET",
                r"/v1/vector_stores/(?P<vs>[^/]+)/file_batches/(?P<bid>[^/]+)/files",
                "_list_batch_files",
            ),
            ("GET", r"/v1/containers/(?P<cid>[^/]+)/files", "_list_container_files"),
            ("GET", r"/v1/containers/(?P<cid>[^/]+)/files/(?P<fid>[^/]+)", "_get_container_file"),
            (
                "GET",
                r"/v1/containers/(?P<cid>[^/]+)/files/(?P<fid>[^/]+)/content",
                "_get_container_file_content",
            ),
        ]
    ]

    def _route(self, method: str, path: str, raw_path: str) -> tuple[str, dict[str, str]]:
        """Handler method name and path parameters, or the API's 404 for unknown URLs."""
        for m, pattern, name in self._ROUTES:
            match = pattern.fullmatch(path)
            if m == method and match:
                return name, match.groupdict()
        raise RequestError(404, f"Invalid URL ({method} {raw_path})")

    def _dispatch(self, h: _Handler, method: str) -> None:
        """Read the request, route it, answer errors with the real error body."""
        url = urlsplit(h.path)
        path = url.path.rstrip("/") or "/"
        with self._lock:
            self.calls.append((method, path))
        try:
            raw = self._read_body(h)
            name, params = self._route(method, path, url.path)
            # Generated images are linked by URL; let plain fetches of them through.
            if not name.endswith("_content") or "containers" not in path:
                auth = h.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or not auth[7:].strip():
                    raise RequestError(401, _NO_KEY)
            handler: Callable[..., None] = getattr(self, name)
            handler(h, raw, parse_qs(url.query), **params)
        except RequestError as err:
            self._send_json(h, err.status, err.body())
        except _Abort:
            h.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        except Exception:
            # Never a traceback on the wire: record it for the test and answer 500.
            with self._lock:
                self.errors.append(traceback.format_exc())
            body = RequestError(
                500,
                "The server had an error while processing your request.",
                code="server_error",
                type="server_error",
            ).body()
            try:
                self._send_json(h, 500, body)
            except OSError:
                h.close_connection = True

    @staticmethod
    def _read_body(h: _Handler) -> bytes:
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

    @staticmethod
    def _headers(h: _Handler, content_type: str, length: int | None) -> None:
        h.send_header("Content-Type", content_type)
        if length is not None:
            h.send_header("Content-Length", str(length))
        h.send_header("x-request-id", f"req_{secrets.token_hex(16)}")
        h.send_header("openai-processing-ms", "1")
        h.send_header("openai-version", "2020-10-01")

    def _send_json(
        self, h: _Handler, status: int, obj: Any, extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(obj).encode()
        h.send_response(status)
        self._headers(h, "application/json", len(data))
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def _send_bytes(self, h: _Handler, data: bytes, content_type: str) -> None:
        h.send_response(200)
        self._headers(h, content_type, len(data))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def _wait(self, seconds: float) -> None:
        """Sleep, but wake (and abort) at once when the emulator stops."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Abort
        if self._stopping.is_set():
            raise _Abort

    def _send_stream(self, h: _Handler, events: Iterator[tuple[dict[str, Any], bool]]) -> None:
        """Write SSE events with chunked transfer encoding, pausing after deltas."""
        h.send_response(200)
        self._headers(h, "text/event-stream; charset=utf-8", None)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "no-cache")
        h.end_headers()
        for event, is_delta in events:
            self._wait(0)
            payload = json.dumps(event, separators=(",", ":"))
            frame = f"event: {event['type']}\ndata: {payload}\n\n".encode()
            h.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            h.wfile.flush()
            if is_delta and self.delta_delay > 0:
                self._wait(self.delta_delay)
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    @staticmethod
    def _json_body(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise RequestError(400, _BAD_JSON) from None

    # ----------------------------------------------------------------------------------------
    # Responses

    def _create_response(self, h: _Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        with self._lock:
            self.requests.append(body)
            self.request_headers.append({k.lower(): v for k, v in h.headers.items()})
        fault = self._take_script(errors=True)
        if fault is not None and fault.status_error is not None:
            self._wait(self.latency + fault.delay)
            status, message, code = fault.status_error
            err = RequestError(
                status,
                message,
                code=code,
                type="invalid_request_error" if status < 500 else "server_error",
            )
            retry = {"retry-after-ms": "10"} if status == 429 or status >= 500 else None
            self._send_json(h, status, err.body(), retry)
            return
        validate_schema(body)
        prev = body.get("previous_response_id")
        with self._lock:
            prior = list(self._conversations.get(prev, [])) if prev else []
            known = bool(prev) and prev in self._conversations
        check_semantics(body, prior, known)
        script = self._take_script(errors=False)
        self._wait(self.latency + (script.delay if script else 0.0))

        items = input_items(body)
        history = [*prior, *items]
        ctx = Context(
            base_url=self.base_url,
            vector_store_files=self._vector_store_texts,
            add_container_file=self._add_container_file,
        )
        outcome: Outcome = decide(body, history, script, ctx)
        created = _now()
        resp_id = hex_id("resp")
        final = response_object(
            body,
            resp_id=resp_id,
            created_at=created,
            status=outcome.status,
            output=outcome.output,
            outcome=outcome,
            completed_at=_now(),
        )
        if body.get("store") is not False:
            with self._lock:
                self.responses[resp_id] = final
                self._conversations[resp_id] = [*history, *outcome.output]
        if body.get("stream"):
            self._send_stream(h, stream_events(body, final, outcome))
        else:
            self._send_json(h, 200, final)

    def _get_response(self, h: _Handler, raw: bytes, query: dict[str, Any], rid: str) -> None:
        with self._lock:
            resp = self.responses.get(rid)
        if resp is None:
            raise RequestError(404, f"Response with id '{rid}' not found.", param="response_id")
        self._send_json(h, 200, resp)

    def _delete_response(self, h: _Handler, raw: bytes, query: dict[str, Any], rid: str) -> None:
        with self._lock:
            found = self.responses.pop(rid, None)
            self._conversations.pop(rid, None)
        if found is None:
            raise RequestError(404, f"Response with id '{rid}' not found.", param="response_id")
        self._send_json(h, 200, {"id": rid, "object": "response", "deleted": True})

    # ----------------------------------------------------------------------------------------
    # Files

    def _new_file(self, filename: str, data: bytes, purpose: str) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": b62_id("file", 22, sep="-"),
            "object": "file",
            "bytes": len(data),
            "created_at": _now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        with self._lock:
            self.files[obj["id"]] = obj
            self._file_bytes[obj["id"]] = data
        return obj

    def _file(self, fid: str) -> dict[str, Any]:
        with self._lock:
            obj = self.files.get(fid)
        if obj is None:
            raise RequestError(404, f"No such File object: {fid}", param="id")
        return obj

    def _create_file(self, h: _Handler, raw: bytes, query: dict[str, Any]) -> None:
        fields = _parse_multipart(h.headers.get("Content-Type", ""), raw)
        if "file" not in fields:
            raise RequestError(
                400,
                "Missing required parameter: 'file'.",
                param="file",
                code="missing_required_parameter",
            )
        if "purpose" not in fields:
            raise RequestError(
                400,
                "Missing required parameter: 'purpose'.",
                param="purpose",
                code="missing_required_parameter",
            )
        purpose = fields["purpose"][1].decode()
        if purpose not in _FILE_PURPOSES:
            raise RequestError(
                400,
                f"'{purpose}' is not one of {sorted(_FILE_PURPOSES)} - 'purpose'",
                param="purpose",
                code="invalid_value",
            )
        filename, data = fields["file"]
        self._send_json(h, 200, self._new_file(filename or "upload", data, purpose))

    def _list_files(self, h: _Handler, raw: bytes, query: dict[str, Any]) -> None:
        purpose = (query.get("purpose") or [None])[0]
        with self._lock:
            data = [f for f in self.files.values() if purpose in (None, f["purpose"])]
        self._send_json(h, 200, _page(data[::-1]))  # newest first, as the API lists

    def _get_file(self, h: _Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        self._send_json(h, 200, self._file(fid))

    def _get_file_content(self, h: _Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        self._file(fid)
        with self._lock:
            data = self._file_bytes[fid]
        self._send_bytes(h, data, "application/octet-stream")

    def _delete_file(self, h: _Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        self._file(fid)
        with self._lock:
            self.files.pop(fid, None)
            self._file_bytes.pop(fid, None)
        self._send_json(h, 200, {"id": fid, "object": "file", "deleted": True})

    # ----------------------------------------------------------------------------------------
    # Vector stores

    def _vector_store(self, vs: str) -> dict[str, Any]:
        with self._lock:
            obj = self.vector_stores.get(vs)
            if obj is None:
                raise RequestError(
                    404, f"No vector store found with id '{vs}'.", param="vector_store_id"
                )
            files = self._vs_files.get(vs, {})
            n = len(files)
            obj["file_counts"] = {
                "in_progress": 0,
                "completed": n,
                "failed": 0,
                "cancelled": 0,
                "total": n,
            }
            obj["usage_bytes"] = sum(f["usage_bytes"] for f in files.values())
            return dict(obj)

    def _attach(self, vs: str, fid: str, attributes: dict[str, Any] | None) -> dict[str, Any]:
        file = self._file(fid)
        obj = {
            "id": fid,
            "object": "vector_store.file",
            "created_at": _now(),
            "usage_bytes": file["bytes"],
            "vector_store_id": vs,
            "status": "completed",
            "last_error": None,
            "attributes": attributes or {},
            "chunking_strategy": _STATIC_CHUNKING,
        }
        with self._lock:
            self._vs_files.setdefault(vs, {})[fid] = obj
        return obj

    def _create_vector_store(self, h: _Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        created = _now()
        expires = body.get("expires_after")
        obj: dict[str, Any] = {
            "id": hex_id("vs", 16),
            "object": "vector_store",
            "created_at": created,
            "name": body.get("name") or "",
            "description": body.get("description"),
            "usage_bytes": 0,
            "file_counts": {},
            "status": "completed",
            "expires_after": expires,
            "expires_at": created + 86400 * int(expires["days"]) if expires else None,
            "last_active_at": created,
            "metadata": body.get("metadata") or {},
        }
        for fid in body.get("file_ids") or []:
            self._file(fid)  # 404 before anything is created
        with self._lock:
            self.vector_stores[obj["id"]] = obj
            self._vs_files[obj["id"]] = {}
        for fid in body.get("file_ids") or []:
            self._attach(obj["id"], fid, None)
        self._send_json(h, 200, self._vector_store(obj["id"]))

    def _list_vector_stores(self, h: _Handler, raw: bytes, query: dict[str, Any]) -> None:
        with self._lock:
            ids = list(self.vector_stores)[::-1]
        self._send_json(h, 200, _page([self._vector_store(i) for i in ids]))

    def _get_vector_store(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        self._send_json(h, 200, self._vector_store(vs))

    def _update_vector_store(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        body = self._json_body(raw)
        self._vector_store(vs)
        with self._lock:
            obj = self.vector_stores[vs]
            for key in ("name", "metadata", "expires_after"):
                if key in body:
                    obj[key] = body[key]
        self._send_json(h, 200, self._vector_store(vs))

    def _delete_vector_store(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        self._vector_store(vs)
        with self._lock:
            self.vector_stores.pop(vs, None)
            self._vs_files.pop(vs, None)
        self._send_json(h, 200, {"id": vs, "object": "vector_store.deleted", "deleted": True})

    def _create_vs_file(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        body = self._json_body(raw)
        self._vector_store(vs)
        if not body.get("file_id"):
            raise RequestError(
                400,
                "Missing required parameter: 'file_id'.",
                param="file_id",
                code="missing_required_parameter",
            )
        self._send_json(h, 200, self._attach(vs, body["file_id"], body.get("attributes")))

    def _list_vs_files(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        self._vector_store(vs)
        with self._lock:
            data = list(self._vs_files.get(vs, {}).values())[::-1]
        self._send_json(h, 200, _page(data))

    def _vs_file(self, vs: str, fid: str) -> dict[str, Any]:
        self._vector_store(vs)
        with self._lock:
            obj = self._vs_files.get(vs, {}).get(fid)
        if obj is None:
            raise RequestError(
                404, f"No file found with id '{fid}' in vector store '{vs}'.", param="file_id"
            )
        return obj

    def _get_vs_file(
        self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str, fid: str
    ) -> None:
        self._send_json(h, 200, self._vs_file(vs, fid))

    def _delete_vs_file(
        self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str, fid: str
    ) -> None:
        self._vs_file(vs, fid)
        with self._lock:
            self._vs_files[vs].pop(fid, None)
        self._send_json(h, 200, {"id": fid, "object": "vector_store.file.deleted", "deleted": True})

    def _create_batch(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        body = self._json_body(raw)
        self._vector_store(vs)
        entries = [(f, body.get("attributes")) for f in body.get("file_ids") or []]
        entries += [(f["file_id"], f.get("attributes")) for f in body.get("files") or []]
        for fid, _ in entries:
            self._file(fid)
        for fid, attributes in entries:
            self._attach(vs, fid, attributes)
        n = len(entries)
        batch: dict[str, Any] = {
            "id": hex_id("vsfb", 16),
            "object": "vector_store.files_batch",
            "created_at": _now(),
            "vector_store_id": vs,
            "status": "completed",
            "file_counts": {
                "in_progress": 0,
                "completed": n,
                "failed": 0,
                "cancelled": 0,
                "total": n,
            },
            "file_ids": [fid for fid, _ in entries],
        }
        with self._lock:
            self._batches[batch["id"]] = batch
        self._send_json(h, 200, {k: v for k, v in batch.items() if k != "file_ids"})

    def _batch(self, vs: str, bid: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batches.get(bid)
        if batch is None or batch["vector_store_id"] != vs:
            raise RequestError(404, f"No file batch found with id '{bid}'.", param="batch_id")
        return batch

    def _get_batch(self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str, bid: str) -> None:
        batch = self._batch(vs, bid)
        self._send_json(h, 200, {k: v for k, v in batch.items() if k != "file_ids"})

    def _list_batch_files(
        self, h: _Handler, raw: bytes, query: dict[str, Any], vs: str, bid: str
    ) -> None:
        batch = self._batch(vs, bid)
        with self._lock:
            files = self._vs_files.get(vs, {})
            data = [files[f] for f in batch["file_ids"] if f in files]
        self._send_json(h, 200, _page(data))

    def _vector_store_texts(self, vs_ids: list[str]) -> list[dict[str, Any]]:
        """Files of the given vector stores with their decoded text (for file_search)."""
        out: list[dict[str, Any]] = []
        with self._lock:
            for vs in vs_ids:
                for fid, vf in self._vs_files.get(vs, {}).items():
                    if fid in self.files:
                        out.append(
                            {
                                "file_id": fid,
                                "filename": self.files[fid]["filename"],
                                "text": self._file_bytes[fid].decode("utf-8", "replace"),
                                "attributes": vf.get("attributes") or {},
                            }
                        )
        return out

    # ----------------------------------------------------------------------------------------
    # Containers (files produced by the emulated code interpreter)

    def _add_container_file(self, container_id: str, filename: str, data: bytes) -> str:
        file_id = hex_id("cfile", 16)
        meta = {
            "id": file_id,
            "object": "container.file",
            "bytes": len(data),
            "container_id": container_id,
            "created_at": _now(),
            "path": f"/mnt/data/{filename}",
            "source": "assistant",
        }
        with self._lock:
            self._container_files[(container_id, file_id)] = (meta, data)
        return file_id

    def _container_file(self, cid: str, fid: str) -> tuple[dict[str, Any], bytes]:
        with self._lock:
            found = self._container_files.get((cid, fid))
        if found is None:
            raise RequestError(404, f"No container file found with id '{fid}'.", param="file_id")
        return found

    def _list_container_files(
        self, h: _Handler, raw: bytes, query: dict[str, Any], cid: str
    ) -> None:
        with self._lock:
            data = [m for (c, _), (m, _) in self._container_files.items() if c == cid]
        self._send_json(h, 200, _page(data))

    def _get_container_file(
        self, h: _Handler, raw: bytes, query: dict[str, Any], cid: str, fid: str
    ) -> None:
        self._send_json(h, 200, self._container_file(cid, fid)[0])

    def _get_container_file_content(
        self, h: _Handler, raw: bytes, query: dict[str, Any], cid: str, fid: str
    ) -> None:
        meta, data = self._container_file(cid, fid)
        kind = "image/png" if meta["path"].endswith(".png") else "application/octet-stream"
        self._send_bytes(h, data, kind)


# --------------------------------------------------------------------------------------------
# pytest fixtures (only when pytest is importable: this module also ships to non-test code)

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is in the test extra
    pytest = None  # type: ignore[assignment]


def _has_async_runner() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) for m in ("pytest_asyncio", "anyio"))


if pytest is not None:

    @pytest.fixture
    def responses_emulator() -> Iterator[ResponsesEmulator]:
        """A started :class:`ResponsesEmulator` for one test (fresh state, stopped after)."""
        with ResponsesEmulator() as emu:
            yield emu

    @pytest.fixture
    def compat_client(responses_emulator: ResponsesEmulator, tmp_path: Path) -> Iterator[Any]:
        """``compat.OpenAI`` on the emulator, a SQLite store in ``tmp_path``, no retries."""
        import compat  # lazily: the client package may import heavier dependencies

        client = compat.OpenAI(
            base_url=responses_emulator.base_url,
            api_key="sk-test",
            store=f"sqlite:///{tmp_path}/compat.db",
            max_retries=0,
        )
        try:
            yield client
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    if _has_async_runner():

        @pytest.fixture
        def async_compat_client(responses_emulator: ResponsesEmulator, tmp_path: Path) -> Any:
            """``compat.AsyncOpenAI`` on the emulator (closing it is the test's business)."""
            import compat

            return compat.AsyncOpenAI(
                base_url=responses_emulator.base_url,
                api_key="sk-test",
                store=f"sqlite:///{tmp_path}/compat.db",
                max_retries=0,
            )
