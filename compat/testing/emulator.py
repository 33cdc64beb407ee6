"""ResponsesEmulator: the offline OpenAI Responses / Files / Vector Stores API (see
:mod:`compat.testing` for what it answers and how it decides).

Owns the emulator's state (recorded requests, stored responses, files, vector stores,
containers and their files, the reasoning it issued, scripted answers), its lifecycle on a
loopback port, routing, and every endpoint. Request checks live in :mod:`.validate`, the
deterministic model in :mod:`.model`, Response objects and stream events in :mod:`.events`,
the HTTP wire in :mod:`._http`.
Stdlib only (``jsonschema`` is imported lazily by :mod:`.validate`).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._errors import above_maximum, below_minimum, invalid_value, missing, server_error
from .._objects import page
from .._params import _metadata as check_metadata
from ._http import (
    Abort,
    Handler,
    Server,
    end_event_stream,
    parse_multipart,
    read_body,
    send_bytes,
    send_event,
    send_json,
    start_event_stream,
)
from .events import conversation_item, response_object, stream_events
from .model import Context, Outcome, Script, b62_id, decide, hex_id, input_items
from .validate import (
    CREATE_CONVERSATION,
    CREATE_ITEMS,
    UPDATE_CONVERSATION,
    RequestError,
    check_semantics,
    validate_conversation_body,
    validate_schema,
)

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


class ResponsesEmulator:
    """An offline Responses/Files/Vector Stores API on a loopback port (see :mod:`compat.testing`).

    Attributes tests read or set:
        ``base_url``: ``http://127.0.0.1:<port>/v1`` (after :meth:`start`).
        ``requests`` / ``request_headers``: every ``POST /v1/responses`` JSON body and its
        headers (lower-cased names), in arrival order — including rejected ones.
        ``calls``: ``(method, path)`` of every HTTP request.
        ``responses``: stored Response objects by id (``store`` not false).
        ``conversations`` / ``conversation_items``: Conversation objects and their items
        (oldest first) by conversation id.
        ``files`` / ``vector_stores`` / ``containers``: the in-memory Files / Vector Stores /
        Containers objects by id (containers made by ``POST /v1/containers`` and ``auto``
        ones made by code_interpreter calls; see :meth:`expire_container`).
        ``errors``: tracebacks of unexpected emulator failures (answered as 500).
        ``latency``: seconds to wait before the first byte of a responses answer.
        ``delta_delay``: seconds to wait after each stream delta event.
    """

    def __init__(self, *, port: int = 0, latency: float = 0.0, delta_delay: float = 0.0) -> None:
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: Server | None = None
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
        # the conversation behind each stored response id (previous_response_id)
        self._chains: dict[str, list[dict[str, Any]]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.conversation_items: dict[str, list[dict[str, Any]]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._vs_files: dict[str, dict[str, dict[str, Any]]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        self._container_files: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = {}
        # encrypted content of every reasoning item answered -> the model that wrote it
        self._reasoning: dict[str, str] = {}

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
            server = Server(("127.0.0.1", self._port), Handler)
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
        disconnect_after: int | None = None,
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
        extra seconds before the first byte. ``disconnect_after``: a stream sends that many
        events, then the connection drops mid-body (no final event, no last chunk), as a
        proxy or network fault would do. With only modifiers (``incomplete``, ``usage``,
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
            disconnect_after=disconnect_after,
        )
        with self._lock:
            self._queue.extend(Script(**vars(script)) for _ in range(times))

    def reset(self) -> None:
        """Forget recorded requests, scripts, stored responses, conversations, files, vector
        stores, containers, the reasoning it issued (replayed encrypted reasoning no longer
        verifies, as after a change of project or key), timing."""
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.calls.clear()
            self.responses.clear()
            self.files.clear()
            self.vector_stores.clear()
            self.errors.clear()
            self._queue.clear()
            self._chains.clear()
            self.conversations.clear()
            self.conversation_items.clear()
            self._file_bytes.clear()
            self._vs_files.clear()
            self._batches.clear()
            self.containers.clear()
            self._container_files.clear()
            self._reasoning.clear()
            self.latency = self._default_latency
            self.delta_delay = self._default_delta_delay

    def container_files(self, container_id: str) -> dict[str, bytes]:
        """The files in a container, by path (``/mnt/data/<name>``)."""
        return dict(self._container_contents(container_id))

    def expire_container(self, container_id: str) -> None:
        """Let a container expire now, as 20 idle minutes would: requests naming it get 400
        ``Container is expired.``, its files are gone."""
        with self._lock:
            self.containers[container_id]["status"] = "expired"
            for key in [k for k in self._container_files if k[0] == container_id]:
                del self._container_files[key]

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
            ("POST", r"/v1/conversations", "_create_conversation"),
            ("GET", r"/v1/conversations/(?P<cid>[^/]+)", "_get_conversation"),
            ("POST", r"/v1/conversations/(?P<cid>[^/]+)", "_update_conversation"),
            ("DELETE", r"/v1/conversations/(?P<cid>[^/]+)", "_delete_conversation"),
            ("POST", r"/v1/conversations/(?P<cid>[^/]+)/items", "_create_items"),
            ("GET", r"/v1/conversations/(?P<cid>[^/]+)/items", "_list_items"),
            ("GET", r"/v1/conversations/(?P<cid>[^/]+)/items/(?P<iid>[^/]+)", "_get_item"),
            ("DELETE", r"/v1/conversations/(?P<cid>[^/]+)/items/(?P<iid>[^/]+)", "_delete_item"),
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
            # test control, for a test in another process (see EmulatorControl)
            ("POST", r"/v1/_emulator/enqueue", "_control_enqueue"),
            ("POST", r"/v1/_emulator/reset", "_control_reset"),
            ("POST", r"/v1/_emulator/settings", "_control_settings"),
            ("GET", r"/v1/_emulator/requests", "_control_requests"),
            ("POST", r"/v1/containers", "_create_container"),
            ("GET", r"/v1/containers/(?P<cid>[^/]+)", "_get_container"),
            ("DELETE", r"/v1/containers/(?P<cid>[^/]+)", "_delete_container"),
            ("POST", r"/v1/containers/(?P<cid>[^/]+)/files", "_create_container_file"),
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

    def _dispatch(self, h: Handler, method: str) -> None:
        """Read the request, route it, answer errors with the real error body."""
        url = urlsplit(h.path)
        path = url.path.rstrip("/") or "/"
        with self._lock:
            self.calls.append((method, path))
        try:
            raw = read_body(h)
            name, params = self._route(method, path, url.path)
            # Generated images are linked by URL; let plain fetches of them through.
            if not name.endswith("_content") or "containers" not in path:
                auth = h.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or not auth[7:].strip():
                    raise RequestError(401, _NO_KEY)
            handler: Callable[..., None] = getattr(self, name)
            handler(h, raw, parse_qs(url.query), **params)
        except RequestError as err:
            send_json(h, err.status, err.body())
        except Abort:
            h.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        except Exception:
            # Never a traceback on the wire: record it for the test and answer 500.
            with self._lock:
                self.errors.append(traceback.format_exc())
            try:
                send_json(h, 500, server_error().body())
            except OSError:
                h.close_connection = True

    # ----------------------------------------------------------------------------------------
    # Control (what ``enqueue``, ``reset`` and the latency settings do, over HTTP)

    _ENQUEUE_ARGS = {
        "text": str,
        "function_calls": list,
        "code": list,
        "status_error": list,
        "stream_error": list,
        "incomplete": str,
        "refusal": str,
        "usage": list,
        "delay": (int, float),
        "disconnect_after": int,
        "times": int,
    }

    def _control_enqueue(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        if not isinstance(body, dict):
            raise RequestError(400, "Invalid body: expected a JSON object.")
        kwargs: dict[str, Any] = {}
        for key, value in body.items():
            kind = self._ENQUEUE_ARGS.get(key)
            if kind is None:
                raise RequestError(400, f"Unknown parameter: '{key}'.", param=key)
            if value is not None and not isinstance(value, kind):  # type: ignore[arg-type]
                raise RequestError(400, f"Invalid type for '{key}'.", param=key)
            kwargs[key] = value
        for key in ("code", "status_error", "stream_error", "usage"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        if kwargs.get("function_calls") is not None:
            kwargs["function_calls"] = [(n, a) for n, a in kwargs["function_calls"]]
        try:
            self.enqueue(**kwargs)
        except (TypeError, ValueError) as exc:
            raise RequestError(400, str(exc)) from None
        send_json(h, 200, {"queued": kwargs.get("times", 1)})

    def _control_reset(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        self.reset()
        send_json(h, 200, {"reset": True})

    def _control_settings(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        for key in ("latency", "delta_delay"):
            if key in body:
                if not isinstance(body[key], (int, float)) or body[key] < 0:
                    raise RequestError(400, f"Invalid value for '{key}'.", param=key)
                setattr(self, key, float(body[key]))
        send_json(h, 200, {"latency": self.latency, "delta_delay": self.delta_delay})

    def _control_requests(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        with self._lock:
            data = list(self.requests)
        send_json(h, 200, {"object": "list", "data": data})

    def _wait(self, seconds: float) -> None:
        """Sleep, but wake (and abort) at once when the emulator stops."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise Abort
        if self._stopping.is_set():
            raise Abort

    def _send_stream(
        self,
        h: Handler,
        events: Iterator[tuple[dict[str, Any], bool]],
        disconnect_after: int | None = None,
    ) -> None:
        """Write SSE events with chunked transfer encoding, pausing after deltas; with
        ``disconnect_after``, drop the connection after that many events."""
        start_event_stream(h)
        for n, (event, is_delta) in enumerate(events):
            if n == disconnect_after:
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                raise Abort
            self._wait(0)
            send_event(h, event)
            if is_delta and self.delta_delay > 0:
                self._wait(self.delta_delay)
        end_event_stream(h)

    @staticmethod
    def _json_body(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise RequestError(400, _BAD_JSON) from None

    # ----------------------------------------------------------------------------------------
    # Responses

    def _create_response(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
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
            send_json(h, status, err.body(), retry)
            return
        validate_schema(body)
        prev = body.get("previous_response_id")
        conv_id = self._conversation_of(body)
        with self._lock:
            prior = list(self._chains.get(prev, [])) if prev else []
            known = bool(prev) and prev in self._chains
            issued = dict(self._reasoning)
            if conv_id is not None:  # its items come before the input
                prior = list(self.conversation_items[conv_id])
        check_semantics(body, prior, known, issued)
        for tool in body.get("tools") or []:
            if tool.get("type") == "code_interpreter" and isinstance(tool.get("container"), str):
                self._live_container(tool["container"])  # named: it must be there and alive
        script = self._take_script(errors=False)
        self._wait(self.latency + (script.delay if script else 0.0))

        items = input_items(body)
        history = [*prior, *items]
        ctx = Context(
            base_url=self.base_url,
            vector_store_files=self._vector_store_texts,
            add_container_file=self._add_container_file,
            container=self._tool_container,
            container_files=self._container_contents,
        )
        outcome: Outcome = decide(body, history, script, ctx)
        with self._lock:  # what the model may be given back (encrypted) in later requests
            for item in outcome.output:
                if item["type"] == "reasoning" and item.get("encrypted_content"):
                    self._reasoning[item["encrypted_content"]] = body["model"]
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
        if conv_id is not None:
            final["conversation"] = {"id": conv_id}
            # The input and output items join the conversation, as the real API adds them.
            added = [conversation_item(i) for i in items] + [dict(o) for o in outcome.output]
            with self._lock:
                if conv_id in self.conversation_items:
                    self.conversation_items[conv_id].extend(added)
        if body.get("store") is not False:
            with self._lock:
                self.responses[resp_id] = final
                self._chains[resp_id] = [*history, *outcome.output]
        if body.get("stream"):
            cut = script.disconnect_after if script else None
            self._send_stream(h, stream_events(body, final, outcome), cut)
        else:
            send_json(h, 200, final)

    def _get_response(self, h: Handler, raw: bytes, query: dict[str, Any], rid: str) -> None:
        with self._lock:
            resp = self.responses.get(rid)
        if resp is None:
            raise RequestError(404, f"Response with id '{rid}' not found.", param="response_id")
        send_json(h, 200, resp)

    def _delete_response(self, h: Handler, raw: bytes, query: dict[str, Any], rid: str) -> None:
        with self._lock:
            found = self.responses.pop(rid, None)
            self._chains.pop(rid, None)
        if found is None:
            raise RequestError(404, f"Response with id '{rid}' not found.", param="response_id")
        send_json(h, 200, {"id": rid, "object": "response", "deleted": True})

    # ----------------------------------------------------------------------------------------
    # Conversations: server-side conversation state. Request bodies are checked against the
    # official schemas (at most 20 items per call) and metadata against the API's limits (16
    # pairs, keys <= 64 and values <= 512 characters). Items are kept oldest first.

    def _conversation(self, cid: str) -> dict[str, Any]:
        with self._lock:
            obj = self.conversations.get(cid)
        if obj is None:
            raise RequestError(404, f"Conversation with id '{cid}' not found.")
        return obj

    def _conversation_of(self, body: dict[str, Any]) -> str | None:
        """The id of the request's ``conversation`` (a string or ``{"id"}``), checked."""
        conv = body.get("conversation")
        cid = conv.get("id") if isinstance(conv, dict) else conv
        if cid is None:
            return None
        if body.get("previous_response_id"):
            raise RequestError(
                400,
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                code="mutually_exclusive_parameters",
            )
        return str(self._conversation(str(cid))["id"])

    def _create_conversation(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        validate_conversation_body(CREATE_CONVERSATION, body)
        metadata = check_metadata(body.get("metadata"), "metadata") or {}
        obj: dict[str, Any] = {
            "id": hex_id("conv"),
            "object": "conversation",
            "created_at": _now(),
            "metadata": metadata,
        }
        with self._lock:
            self.conversations[obj["id"]] = obj
            self.conversation_items[obj["id"]] = [
                conversation_item(i) for i in body.get("items") or []
            ]
        send_json(h, 200, obj)

    def _get_conversation(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        send_json(h, 200, self._conversation(cid))

    def _update_conversation(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        body = self._json_body(raw)
        obj = self._conversation(cid)
        validate_conversation_body(UPDATE_CONVERSATION, body)
        metadata = check_metadata(body.get("metadata"), "metadata") or {}
        with self._lock:
            obj["metadata"] = metadata
        send_json(h, 200, obj)

    def _delete_conversation(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        self._conversation(cid)
        with self._lock:
            self.conversations.pop(cid, None)
            self.conversation_items.pop(cid, None)
        send_json(h, 200, {"id": cid, "object": "conversation.deleted", "deleted": True})

    def _create_items(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        body = self._json_body(raw)
        self._conversation(cid)
        validate_conversation_body(CREATE_ITEMS, body)
        added = [conversation_item(i) for i in body["items"]]
        with self._lock:
            self.conversation_items[cid].extend(added)
        send_json(h, 200, page(added, has_more=False))

    def _list_items(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        """A cursor page: ``limit`` 1-100 (20), ``order`` desc (default) or asc, ``after``."""
        self._conversation(cid)
        limit_text = (query.get("limit") or ["20"])[0]
        try:
            limit = int(limit_text)
        except ValueError:
            raise invalid_value("limit", limit_text, None) from None
        if limit < 1:
            raise below_minimum("limit", "integer", 1, limit)
        if limit > 100:
            raise above_maximum("limit", "integer", 100, limit)
        order = (query.get("order") or ["desc"])[0]
        if order not in ("asc", "desc"):
            raise invalid_value("order", order, ["asc", "desc"])
        with self._lock:
            data = list(self.conversation_items[cid])
        if order == "desc":
            data.reverse()
        after = (query.get("after") or [None])[0]
        if after is not None:
            ids = [i["id"] for i in data]
            data = data[ids.index(after) + 1 :] if after in ids else []
        send_json(h, 200, page(data[:limit], has_more=len(data) > limit))

    def _item(self, cid: str, iid: str) -> dict[str, Any]:
        self._conversation(cid)
        with self._lock:
            found = next((i for i in self.conversation_items[cid] if i["id"] == iid), None)
        if found is None:
            raise RequestError(404, f"Item with id '{iid}' not found.")
        return found

    def _get_item(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str, iid: str) -> None:
        send_json(h, 200, self._item(cid, iid))

    def _delete_item(
        self, h: Handler, raw: bytes, query: dict[str, Any], cid: str, iid: str
    ) -> None:
        item = self._item(cid, iid)
        with self._lock:
            self.conversation_items[cid].remove(item)
        send_json(h, 200, self._conversation(cid))  # the API answers with the conversation

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

    def _create_file(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        fields = parse_multipart(h.headers.get("Content-Type", ""), raw)
        for name in ("file", "purpose"):
            if name not in fields:
                raise missing(name)
        purpose = fields["purpose"][1].decode()
        if purpose not in _FILE_PURPOSES:
            raise RequestError(
                400,
                f"'{purpose}' is not one of {sorted(_FILE_PURPOSES)} - 'purpose'",
                param="purpose",
                code="invalid_value",
            )
        filename, data = fields["file"]
        send_json(h, 200, self._new_file(filename or "upload", data, purpose))

    def _list_files(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        purpose = (query.get("purpose") or [None])[0]
        with self._lock:
            data = [f for f in self.files.values() if purpose in (None, f["purpose"])]
        send_json(h, 200, _page(data[::-1]))  # newest first, as the API lists

    def _get_file(self, h: Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        send_json(h, 200, self._file(fid))

    def _get_file_content(self, h: Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        self._file(fid)
        with self._lock:
            data = self._file_bytes[fid]
        send_bytes(h, data, "application/octet-stream")

    def _delete_file(self, h: Handler, raw: bytes, query: dict[str, Any], fid: str) -> None:
        self._file(fid)
        with self._lock:
            self.files.pop(fid, None)
            self._file_bytes.pop(fid, None)
        send_json(h, 200, {"id": fid, "object": "file", "deleted": True})

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

    def _create_vector_store(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
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
        send_json(h, 200, self._vector_store(obj["id"]))

    def _list_vector_stores(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        with self._lock:
            ids = list(self.vector_stores)[::-1]
        send_json(h, 200, _page([self._vector_store(i) for i in ids]))

    def _get_vector_store(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        send_json(h, 200, self._vector_store(vs))

    def _update_vector_store(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        body = self._json_body(raw)
        self._vector_store(vs)
        with self._lock:
            obj = self.vector_stores[vs]
            for key in ("name", "metadata", "expires_after"):
                if key in body:
                    obj[key] = body[key]
        send_json(h, 200, self._vector_store(vs))

    def _delete_vector_store(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        self._vector_store(vs)
        with self._lock:
            self.vector_stores.pop(vs, None)
            self._vs_files.pop(vs, None)
        send_json(h, 200, {"id": vs, "object": "vector_store.deleted", "deleted": True})

    def _create_vs_file(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        body = self._json_body(raw)
        self._vector_store(vs)
        if not body.get("file_id"):
            raise missing("file_id")
        send_json(h, 200, self._attach(vs, body["file_id"], body.get("attributes")))

    def _list_vs_files(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
        self._vector_store(vs)
        with self._lock:
            data = list(self._vs_files.get(vs, {}).values())[::-1]
        send_json(h, 200, _page(data))

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
        self, h: Handler, raw: bytes, query: dict[str, Any], vs: str, fid: str
    ) -> None:
        send_json(h, 200, self._vs_file(vs, fid))

    def _delete_vs_file(
        self, h: Handler, raw: bytes, query: dict[str, Any], vs: str, fid: str
    ) -> None:
        self._vs_file(vs, fid)
        with self._lock:
            self._vs_files[vs].pop(fid, None)
        send_json(h, 200, {"id": fid, "object": "vector_store.file.deleted", "deleted": True})

    def _create_batch(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str) -> None:
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
        send_json(h, 200, {k: v for k, v in batch.items() if k != "file_ids"})

    def _batch(self, vs: str, bid: str) -> dict[str, Any]:
        with self._lock:
            batch = self._batches.get(bid)
        if batch is None or batch["vector_store_id"] != vs:
            raise RequestError(404, f"No file batch found with id '{bid}'.", param="batch_id")
        return batch

    def _get_batch(self, h: Handler, raw: bytes, query: dict[str, Any], vs: str, bid: str) -> None:
        batch = self._batch(vs, bid)
        send_json(h, 200, {k: v for k, v in batch.items() if k != "file_ids"})

    def _list_batch_files(
        self, h: Handler, raw: bytes, query: dict[str, Any], vs: str, bid: str
    ) -> None:
        batch = self._batch(vs, bid)
        with self._lock:
            files = self._vs_files.get(vs, {})
            data = [files[f] for f in batch["file_ids"] if f in files]
        send_json(h, 200, _page(data))

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
    # Containers: code_interpreter sandboxes and their files. One named by id in a request's
    # code_interpreter tool keeps its files across requests; an ``auto`` one is made per
    # request. Idle for ``expires_after.minutes`` (20), or after ``expire_container``, one is
    # expired: its files are gone and requests naming it get 400 ``Container is expired.``.

    def _new_container(self, name: str, file_ids: list[str], *, strict: bool) -> dict[str, Any]:
        """A running container with copies of ``file_ids`` (unknown ones: 404 when
        ``strict``, else skipped)."""
        files = []
        for fid in file_ids:
            try:
                files.append(self._file(fid))
            except RequestError:
                if strict:
                    raise
        now = _now()
        obj: dict[str, Any] = {
            "id": hex_id("cntr"),
            "object": "container",
            "created_at": now,
            "status": "running",
            "expires_after": {"anchor": "last_active_at", "minutes": 20},
            "last_active_at": now,
            "memory_limit": "1g",
            "name": name,
        }
        with self._lock:
            self.containers[obj["id"]] = obj
        for file in files:
            self._copy_into(obj["id"], file)
        return obj

    def _container(self, cid: str) -> dict[str, Any]:
        """The container (status brought up to date), or the API's 404."""
        with self._lock:
            obj = self.containers.get(cid)
            if obj is None:
                raise RequestError(404, f"Container with id '{cid}' not found.")
            idle = obj["expires_after"]["minutes"] * 60
            if obj["status"] == "running" and _now() > obj["last_active_at"] + idle:
                obj["status"] = "expired"
            return obj

    def _live_container(self, cid: str) -> dict[str, Any]:
        """A running container, now active again; 400 when it expired."""
        obj = self._container(cid)
        with self._lock:
            if obj["status"] != "running":
                raise RequestError(400, "Container is expired.")
            obj["last_active_at"] = _now()
            return obj

    def _tool_container(self, tool: dict[str, Any]) -> str:
        """The container a code_interpreter call runs in: the one the tool names, or a new
        ``auto`` one with the tool's ``file_ids``."""
        container = tool.get("container")
        if isinstance(container, str):
            return str(self._live_container(container)["id"])
        file_ids = container.get("file_ids") if isinstance(container, dict) else None
        return str(self._new_container("auto", list(file_ids or []), strict=False)["id"])

    def _container_contents(self, cid: str) -> list[tuple[str, bytes]]:
        """``(path, bytes)`` of every file in the container, oldest first."""
        with self._lock:
            return [(m["path"], d) for (c, _), (m, d) in self._container_files.items() if c == cid]

    def _add_container_file(
        self, container_id: str, filename: str, data: bytes, source: str = "assistant"
    ) -> str:
        """Write ``/mnt/data/<filename>`` in the container (replacing a file of that path)."""
        file_id = hex_id("cfile", 16)
        path = f"/mnt/data/{filename}"
        meta = {
            "id": file_id,
            "object": "container.file",
            "bytes": len(data),
            "container_id": container_id,
            "created_at": _now(),
            "path": path,
            "source": source,
        }
        with self._lock:
            for key, (old, _) in list(self._container_files.items()):
                if key[0] == container_id and old["path"] == path:
                    del self._container_files[key]
            self._container_files[(container_id, file_id)] = (meta, data)
        return file_id

    def _copy_into(self, cid: str, file: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            data = self._file_bytes[file["id"]]
        fid = self._add_container_file(cid, file["filename"], data, "user")
        return self._container_file(cid, fid)[0]

    def _create_container(self, h: Handler, raw: bytes, query: dict[str, Any]) -> None:
        body = self._json_body(raw)
        if not isinstance(body.get("name"), str):
            raise missing("name")
        created = self._new_container(body["name"], body.get("file_ids") or [], strict=True)
        send_json(h, 200, created)

    def _get_container(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        send_json(h, 200, self._container(cid))

    def _delete_container(self, h: Handler, raw: bytes, query: dict[str, Any], cid: str) -> None:
        self._container(cid)
        with self._lock:
            self.containers.pop(cid, None)
            for key in [k for k in self._container_files if k[0] == cid]:
                del self._container_files[key]
        send_json(h, 200, {"id": cid, "object": "container.deleted", "deleted": True})

    def _create_container_file(
        self, h: Handler, raw: bytes, query: dict[str, Any], cid: str
    ) -> None:
        """A file copied in by ``{"file_id"}`` (JSON), or uploaded as ``file`` (multipart)."""
        self._live_container(cid)
        kind = h.headers.get("Content-Type", "")
        if kind.startswith("multipart/"):
            fields = parse_multipart(kind, raw)
            if "file" not in fields:
                raise missing("file")
            filename, data = fields["file"]
            fid = self._add_container_file(cid, filename or "upload", data, "user")
            send_json(h, 200, self._container_file(cid, fid)[0])
            return
        body = self._json_body(raw)
        if not body.get("file_id"):
            raise missing("file_id")
        send_json(h, 200, self._copy_into(cid, self._file(body["file_id"])))

    def _container_file(self, cid: str, fid: str) -> tuple[dict[str, Any], bytes]:
        self._container(cid)
        with self._lock:
            found = self._container_files.get((cid, fid))
        if found is None:
            raise RequestError(404, f"No container file found with id '{fid}'.", param="file_id")
        return found

    def _list_container_files(
        self, h: Handler, raw: bytes, query: dict[str, Any], cid: str
    ) -> None:
        self._container(cid)
        with self._lock:
            data = [m for (c, _), (m, _) in self._container_files.items() if c == cid]
        send_json(h, 200, _page(data))

    def _get_container_file(
        self, h: Handler, raw: bytes, query: dict[str, Any], cid: str, fid: str
    ) -> None:
        send_json(h, 200, self._container_file(cid, fid)[0])

    def _get_container_file_content(
        self, h: Handler, raw: bytes, query: dict[str, Any], cid: str, fid: str
    ) -> None:
        meta, data = self._container_file(cid, fid)
        kind = "image/png" if meta["path"].endswith(".png") else "application/octet-stream"
        send_bytes(h, data, kind)


class EmulatorControl:
    """Drive an emulator running in another process (``assistants-compat emulator``, or a
    ``ResponsesEmulator`` another test process started): queue scripted answers and
    faults, reset it, change its latency, read the requests it got. Stdlib only.

    ``EmulatorControl("http://127.0.0.1:8765/v1").enqueue(status_error=(500, "boom", None))``
    takes the same arguments as ``ResponsesEmulator.enqueue``.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Authorization": "Bearer control", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read() or b"null")

    def enqueue(self, **kwargs: Any) -> None:
        """Queue the next answer(s): the arguments of ``ResponsesEmulator.enqueue``."""
        self._call("POST", "enqueue", kwargs)

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def set(self, *, latency: float | None = None, delta_delay: float | None = None) -> None:
        """Change the emulator's latency before answers and its delay after stream deltas."""
        body = {
            k: v for k, v in (("latency", latency), ("delta_delay", delta_delay)) if v is not None
        }
        self._call("POST", "settings", body)

    def requests(self) -> list[dict[str, Any]]:
        """The ``/responses`` request bodies the emulator received, oldest first."""
        return list(self._call("GET", "requests")["data"])
