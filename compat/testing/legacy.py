"""A stand-in for a legacy Assistants-compatible endpoint, and realistic exports to import.

:class:`LegacyAssistantsServer` serves given assistants / threads / messages / runs / steps
over real loopback HTTP with the real API's pagination (``limit``, ``order``, ``after``,
``before``; ``first_id``, ``last_id``, ``has_more``), its 404 bodies, no thread listing, an
API key check, and injected faults (the next requests answer 429 / 500 or drop the
connection). :func:`sample_export` builds a realistic export (assistants with tools, threads
with annotated messages, attachments, tool-call runs with steps, active runs) and
:func:`write_export` writes it in the mixed file shapes teams saved.

Usage::

    from compat.testing.legacy import LegacyAssistantsServer, sample_export

    with LegacyAssistantsServer(sample_export(5), api_key="sk-legacy") as legacy:
        legacy.fail_next(2, "429")
        client = openai.OpenAI(base_url=legacy.base_url, api_key="sk-legacy")

Stdlib only (the HTTP plumbing of compat.testing._http).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._objects import page
from ._http import Handler, Server, send_json

__all__ = ["LegacyAssistantsServer", "sample_export", "write_export"]

Obj = dict[str, Any]
_KINDS = ("assistants", "threads", "messages", "runs", "steps")


def _error(message: str, code: str | None = None, param: str | None = None) -> Obj:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


class LegacyAssistantsServer:
    """A read-only Assistants API (v2) on ``127.0.0.1`` serving ``data``
    (``{"assistants": [...], "threads": [...], "messages": [...], "runs": [...],
    "steps": [...]}``, as :func:`sample_export` returns; each list oldest first).

    Attributes tests read: ``base_url`` (ends in ``/v1``), ``calls`` (``(method, path)`` of
    every request, faults included).
    """

    def __init__(
        self, data: dict[str, list[Obj]], *, api_key: str | None = None, latency: float = 0.0
    ) -> None:
        self.api_key = api_key
        #: seconds to wait before answering each request
        self.latency = latency
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._faults: list[tuple[str, float, str]] = []
        self._connections: set[socket.socket] = set()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.load(data)

    def load(self, data: dict[str, list[Obj]]) -> None:
        """Serve ``data`` (replacing what was served)."""
        self.by_id: dict[str, dict[str, Obj]] = {
            k: {o["id"]: o for o in data.get(k, [])} for k in _KINDS
        }

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LegacyAssistantsServer:
        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.emulator = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections (the endpoint is then down)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server = None

    def __enter__(self) -> LegacyAssistantsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- faults --------------------------------------------------------------------------
    def fail_next(
        self, n: int, kind: str = "500", *, retry_after: float = 0.0, path: str = ""
    ) -> None:
        """Answer the next ``n`` requests (whose path contains ``path``) with ``kind``:
        ``"429"`` (with ``retry-after``), ``"500"``, ``"401"``, or ``"drop"`` (close the
        connection without an answer)."""
        with self._lock:
            self._faults += [(kind, retry_after, path)] * n

    # -- what compat.testing._http's handler calls ----------------------------------------
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _dispatch(self, h: Handler, method: str) -> None:
        url = urlsplit(h.path)
        with self._lock:
            self.calls.append((method, url.path))
            at = next((i for i, f in enumerate(self._faults) if f[2] in url.path), None)
            fault = self._faults.pop(at) if at is not None else None
        if self.latency:
            time.sleep(self.latency)
        if fault is not None and self._fault(h, fault[0], fault[1]):
            return
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            key = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
            shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else key
            msg = f"Incorrect API key provided: {shown}."
            send_json(h, 401, _error(msg, "invalid_api_key"))
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if method != "GET" or not parts or parts[0] != "v1":
            send_json(h, 404, _error(f"Invalid URL ({method} {url.path})"))
            return
        try:
            status, body = self._route(parts[1:], query)
        except ValueError as exc:
            status, body = 400, _error(str(exc), param="limit")
        if status == 0:
            status, body = 404, _error(f"Invalid URL ({method} {url.path})")
        send_json(h, status, body)

    def _fault(self, h: Handler, kind: str, retry_after: float) -> bool:
        if kind == "drop":
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if kind == "429":
            body = _error("Rate limit reached for requests.", "rate_limit_exceeded")
            send_json(h, 429, body, {"retry-after": str(retry_after)})
            return True
        if kind == "401":
            send_json(h, 401, _error("Incorrect API key provided.", "invalid_api_key"))
            return True
        send_json(
            h,
            500,
            {
                "error": {
                    "message": "The server had an error.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )
        return True

    # -- routes --------------------------------------------------------------------------
    def _get(self, kind: str, id_: str, **scope: str) -> Obj | None:
        obj = self.by_id[kind].get(id_)
        if obj is None or any(obj.get(k) != v for k, v in scope.items()):
            return None
        return obj

    def _route(self, p: list[str], q: dict[str, str]) -> tuple[int, Obj]:
        nf = {
            "assistants": "assistant",
            "threads": "thread",
            "messages": "message",
            "runs": "run",
            "steps": "run step",
        }

        def missing(kind: str, id_: str) -> tuple[int, Obj]:
            return 404, _error(f"No {nf[kind]} found with id '{id_}'.")

        if p == ["assistants"]:
            return 200, self._page(self.by_id["assistants"].values(), q)
        if len(p) == 2 and p[0] == "assistants":
            a = self._get("assistants", p[1])
            return (200, a) if a else missing("assistants", p[1])
        if not p or p[0] != "threads" or len(p) < 2:
            return 0, {}
        thread = self._get("threads", p[1])
        if thread is None:
            return missing("threads", p[1])
        t = p[1]
        if len(p) == 2:
            return 200, thread
        if p[2] == "messages" and len(p) in (3, 4):
            if len(p) == 3:
                return 200, self._page(self._where("messages", thread_id=t), q)
            m = self._get("messages", p[3], thread_id=t)
            return (200, m) if m else missing("messages", p[3])
        if p[2] != "runs":
            return 0, {}
        if len(p) == 3:
            return 200, self._page(self._where("runs", thread_id=t), q)
        run = self._get("runs", p[3], thread_id=t)
        if run is None:
            return missing("runs", p[3])
        if len(p) == 4:
            return 200, run
        if p[4] == "steps" and len(p) in (5, 6):
            if len(p) == 5:
                return 200, self._page(self._where("steps", run_id=p[3]), q)
            s = self._get("steps", p[5], run_id=p[3])
            return (200, s) if s else missing("steps", p[5])
        return 0, {}

    def _where(self, kind: str, **scope: str) -> list[Obj]:
        return [
            o for o in self.by_id[kind].values() if all(o.get(k) == v for k, v in scope.items())
        ]

    @staticmethod
    def _page(items: Iterable[Obj], q: dict[str, str]) -> Obj:
        """The API's cursor page: oldest first is ``order=asc``, the default is ``desc``."""
        limit = int(q.get("limit", "20"))
        if not 1 <= limit <= 100:
            raise ValueError(f"Invalid 'limit': integer must be between 1 and 100, got {limit}.")
        ordered = list(items)  # creation order (ties: insertion order)
        if q.get("order", "desc") == "desc":
            ordered.reverse()
        ids = [o["id"] for o in ordered]
        if "after" in q:
            ordered = ordered[ids.index(q["after"]) + 1 :] if q["after"] in ids else []
        if "before" in q:
            cut = [o["id"] for o in ordered]
            ordered = ordered[: cut.index(q["before"])] if q["before"] in cut else []
            if "after" not in q:
                ordered = ordered[-limit:]
        return page(ordered[:limit], has_more=len(ordered) > limit)


# == a realistic export ======================================================================
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sample_export(
    n_threads: int = 50, *, n_assistants: int = 3, seed: int = 10
) -> dict[str, list[Obj]]:
    """A deterministic export: ``{"assistants", "threads", "messages", "runs", "steps"}``,
    each oldest first. Threads hold 1-4 turns; turns call functions, code interpreter or
    file search (with steps), answers carry annotations, user messages attachments; some
    messages share a second (order ties); the last two threads end with an active run
    (``in_progress``, ``requires_action``)."""
    rng = random.Random(seed)

    def new_id(prefix: str) -> str:
        return prefix + "_" + "".join(rng.choice(_ALPHABET) for _ in range(24))

    out: dict[str, list[Obj]] = {k: [] for k in _KINDS}
    base = 1_714_000_000
    tools_sets = [
        [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                    "strict": False,
                },
            }
        ],
        [{"type": "code_interpreter"}],
        [
            {
                "type": "file_search",
                "file_search": {
                    "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}
                },
            }
        ],
    ]
    for i in range(n_assistants):
        tools = tools_sets[i % 3]
        out["assistants"].append(
            {
                "id": new_id("asst"),
                "object": "assistant",
                "created_at": base + i * 60,
                "name": ["Weather bot", "Data analyst", "Librarian"][i % 3]
                + ("" if i < 3 else f" {i}"),
                "description": None,
                "model": "gpt-4o",
                "instructions": "You are a helpful assistant. Answer briefly.",
                "tools": tools,
                "top_p": 1.0,
                "temperature": 1.0,
                "reasoning_effort": None,
                "tool_resources": {"code_interpreter": {"file_ids": ["file-" + "A" * 22]}}
                if i % 3 == 1
                else (
                    {"file_search": {"vector_store_ids": ["vs_" + "B" * 24]}} if i % 3 == 2 else {}
                ),
                "metadata": {"team": "support", "version": str(i)},
                "response_format": "auto",
            }
        )
    clock = base + 3600
    for t in range(n_threads):
        assistant = out["assistants"][t % n_assistants]
        kind = assistant["tools"][0]["type"]
        clock += rng.randint(30, 600)
        thread_id = new_id("thread")
        out["threads"].append(
            {
                "id": thread_id,
                "object": "thread",
                "created_at": clock,
                "metadata": {"user": f"user-{t}"},
                "tool_resources": {},
            }
        )
        turns = rng.randint(1, 4)
        for turn in range(turns):
            last = t >= n_threads - 2 and turn == turns - 1
            clock += rng.randint(1, 30)
            text = [
                "What's the weather in Paris?",
                "Compute 2**10 in python",
                "What do the docs say about refunds?",
            ][["function", "code_interpreter", "file_search"].index(kind)]
            user_msgs = 2 if turn == 0 and t % 5 == 0 else 1  # two in one second: a tie
            for k in range(user_msgs):
                out["messages"].append(
                    _message(
                        new_id("msg"),
                        thread_id,
                        clock,
                        "user",
                        f"{text} ({turn}.{k})",
                        None,
                        None,
                        attachments=[
                            {"file_id": "file-" + "C" * 22, "tools": [{"type": "file_search"}]}
                        ]
                        if (t + turn) % 7 == 3
                        else [],
                    )
                )
            run_id = new_id("run")
            start = clock + 1
            status = "completed"
            if last:
                status = "in_progress" if t == n_threads - 2 else "requires_action"
            call_id = new_id("call")
            run: Obj = {
                "id": run_id,
                "object": "thread.run",
                "created_at": start,
                "assistant_id": assistant["id"],
                "thread_id": thread_id,
                "status": status,
                "started_at": start,
                "expires_at": None if status == "completed" else start + 600,
                "cancelled_at": None,
                "failed_at": None,
                "completed_at": start + 3 if status == "completed" else None,
                "required_action": None,
                "last_error": None,
                "model": assistant["model"],
                "instructions": assistant["instructions"],
                "tools": assistant["tools"],
                "tool_resources": {},
                "metadata": {},
                "incomplete_details": None,
                "usage": {
                    "prompt_tokens": 120 + turn,
                    "completion_tokens": 30,
                    "total_tokens": 150 + turn,
                    "prompt_token_details": {"cached_tokens": 0},
                }
                if status == "completed"
                else None,
                "temperature": 1.0,
                "top_p": 1.0,
                "max_prompt_tokens": None,
                "max_completion_tokens": None,
                "truncation_strategy": {"type": "auto", "last_messages": None},
                "response_format": "auto",
                "tool_choice": "auto",
                "parallel_tool_calls": True,
                "reasoning_effort": None,
            }
            if status == "requires_action":
                run["required_action"] = {
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {
                        "tool_calls": [
                            {
                                "id": call_id,
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": '{"city": "Paris"}',
                                },
                            }
                        ]
                    },
                }
            out["runs"].append(run)
            step_status = "completed" if status == "completed" else "in_progress"
            tool_call = {
                "function": {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"city": "Paris"}',
                        "output": '{"temp_c": 18}' if status == "completed" else None,
                    },
                },
                "code_interpreter": {
                    "id": call_id,
                    "type": "code_interpreter",
                    "code_interpreter": {
                        "input": "print(2**10)",
                        "outputs": [{"type": "logs", "logs": "1024\n"}],
                    },
                },
                "file_search": {
                    "id": call_id,
                    "type": "file_search",
                    "file_search": {
                        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
                        "results": [],
                    },
                },
            }[kind]
            if status != "in_progress":
                out["steps"].append(
                    _step(
                        new_id("step"),
                        run,
                        start + 1,
                        step_status,
                        {"type": "tool_calls", "tool_calls": [tool_call]},
                    )
                )
            if status != "completed":
                continue
            msg_id = new_id("msg")
            annotations: list[Obj] = []
            answer = {
                "function": "It is 18°C in Paris.",
                "code_interpreter": "2**10 is 1024.",
                "file_search": "Refunds take 5 days【4:0†refunds.pdf】.",
            }[kind]
            if kind == "file_search":
                marker = "【4:0†refunds.pdf】"
                at = answer.index(marker)
                annotations.append(
                    {
                        "type": "file_citation",
                        "text": marker,
                        "start_index": at,
                        "end_index": at + len(marker),
                        "file_citation": {"file_id": "file-" + "D" * 22},
                    }
                )
            elif kind == "code_interpreter" and turn % 2 == 1:
                answer += " Download: sandbox:/mnt/data/out.csv"
                at = answer.index("sandbox:")
                annotations.append(
                    {
                        "type": "file_path",
                        "text": "sandbox:/mnt/data/out.csv",
                        "start_index": at,
                        "end_index": len(answer),
                        "file_path": {"file_id": "file-" + "E" * 22},
                    }
                )
            out["steps"].append(
                _step(
                    new_id("step"),
                    run,
                    start + 3,
                    "completed",
                    {"type": "message_creation", "message_creation": {"message_id": msg_id}},
                )
            )
            out["messages"].append(
                _message(
                    msg_id,
                    thread_id,
                    start + 3,
                    "assistant",
                    answer,
                    assistant["id"],
                    run_id,
                    annotations=annotations,
                )
            )
            clock = start + 3
    return out


def _message(
    id_: str,
    thread_id: str,
    at: int,
    role: str,
    text: str,
    assistant_id: str | None,
    run_id: str | None,
    *,
    annotations: list[Obj] | None = None,
    attachments: list[Obj] | None = None,
) -> Obj:
    return {
        "id": id_,
        "object": "thread.message",
        "created_at": at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "role": role,
        "content": [{"type": "text", "text": {"value": text, "annotations": annotations or []}}],
        "attachments": attachments or [],
        "metadata": {},
        "status": "completed" if role == "assistant" else None,
        "incomplete_details": None,
        "completed_at": at if role == "assistant" else None,
        "incomplete_at": None,
    }


def _step(id_: str, run: Obj, at: int, status: str, details: Obj) -> Obj:
    done = status == "completed"
    return {
        "id": id_,
        "object": "thread.run.step",
        "created_at": at,
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": details["type"],
        "status": status,
        "cancelled_at": None,
        "completed_at": at if done else None,
        "expired_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": details,
        "usage": {"prompt_tokens": 60, "completion_tokens": 15, "total_tokens": 75}
        if done
        else None,
        "metadata": {},
    }


def _envelope(items: list[Obj], *, desc: bool = True) -> Obj:
    return page(list(reversed(items)) if desc else list(items), has_more=False)


def write_export(directory: str | Path, data: dict[str, list[Obj]]) -> list[Path]:
    """Write ``data`` as teams saved their exports, in four shapes taking turns per thread:
    per-thread documents with the API's (newest-first) list envelopes, per-thread
    documents with plain arrays, JSON Lines of bare objects, and one flat array per
    thread; assistants as a list envelope. Some objects are written twice (duplicates
    collapse on import). Returns the files written."""
    root = Path(directory)
    (root / "threads").mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def dump(path: Path, value: Any) -> None:
        path.write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")
        files.append(path)

    dump(root / "assistants.json", _envelope(data["assistants"]))
    lines: list[str] = []
    for n, thread in enumerate(data["threads"]):
        tid = thread["id"]
        msgs = [m for m in data["messages"] if m["thread_id"] == tid]
        runs = [r for r in data["runs"] if r["thread_id"] == tid]
        steps = [s for s in data["steps"] if s["thread_id"] == tid]
        shape = n % 4
        if shape == 0:
            doc = {
                "thread": thread,
                "messages": _envelope(msgs),
                "runs": _envelope(runs),
                "steps": _envelope(steps),
            }
            dump(root / "threads" / f"{tid}.json", doc)
        elif shape == 1:
            plain = {"thread": thread, "messages": msgs, "runs": runs, "steps": steps}
            dump(root / "threads" / f"{tid}.json", plain)
        elif shape == 2:
            lines += [json.dumps(o, ensure_ascii=False) for o in [thread, *msgs, *runs, *steps]]
        else:
            dump(root / "threads" / f"{tid}.json", [thread, *msgs, *runs, *steps])
            if msgs:  # the first message again, as a bare object in its own file
                dump(root / "threads" / f"{tid}.first.json", msgs[0])
    if lines:
        path = root / "threads.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files
