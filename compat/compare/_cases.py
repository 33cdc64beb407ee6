"""Cases: the conversations a comparison replays, from recorded threads or a scripted file.

A recorded thread (an export read by ``compat.migrate.read_export``, or a store's threads)
becomes one :class:`Case`: each user turn with what the retired API answered (text, tool
calls and their outputs, status, usage, latency) as the ``recorded`` baseline.
Imports: stdlib, compat.migrate (exports), compat.store (store threads), both lazily.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .._objects import normalize_resources

__all__ = [
    "Case",
    "CaseError",
    "Recorded",
    "ToolCall",
    "Turn",
    "case_from_record",
    "cases_from_export",
    "cases_from_store",
    "load_scripted",
    "read_thread_ids",
]


class CaseError(ValueError):
    """Cases that cannot be read (bad file, unknown thread id): a usage/input error."""


@dataclass
class ToolCall:
    """One tool call of a turn: ``arguments`` is the JSON text the model sent."""

    name: str
    arguments: str = ""
    output: str | None = None
    type: str = "function"

    def key(self) -> tuple[str, str]:
        """``(name, canonical arguments)``: how a recorded output is matched to a new call."""
        return self.name, canonical_args(self.arguments)


@dataclass
class Recorded:
    """What the recording says one turn produced."""

    answer: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: str = "completed"
    error: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    run_id: str | None = None


@dataclass
class Turn:
    """The user's message(s) of one turn and, when known, the recorded outcome.

    ``user`` is each message's text (what reports show); ``messages``, when a recorded
    message had more than text (images, attachments), holds each message's
    ``messages.create`` parameters, so the replay sends what the user sent."""

    user: list[str]
    recorded: Recorded | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    def message_params(self) -> list[dict[str, Any]]:
        """``messages.create`` parameters (besides thread and role) of each user message."""
        if self.messages:
            return self.messages
        return [{"content": text or " "} for text in self.user]


@dataclass
class Case:
    """One conversation to replay: labelled by its thread id or scripted name."""

    id: str
    turns: list[Turn]
    model: str | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    source: str = "scripted"
    #: the recorded assistant's and thread's tool_resources (vector stores, files)
    tool_resources: dict[str, Any] | None = None
    thread_tool_resources: dict[str, Any] | None = None

    def recorded_outputs(self) -> dict[tuple[str, str], str]:
        """Recorded tool outputs by ``(name, canonical arguments)``."""
        out: dict[tuple[str, str], str] = {}
        for turn in self.turns:
            for call in turn.recorded.tool_calls if turn.recorded else []:
                if call.output is not None:
                    out.setdefault(call.key(), call.output)
        return out

    @property
    def has_recording(self) -> bool:
        return bool(self.turns) and all(t.recorded is not None for t in self.turns)


def canonical_args(arguments: Any) -> str:
    """Arguments as sorted compact JSON (text that is not JSON stays as it is)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments.strip()
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Recorded threads


class ThreadLike(Protocol):
    """``compat.migrate.ThreadRecord``'s shape (objects oldest first)."""

    thread: dict[str, Any] | None
    messages: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    steps: list[dict[str, Any]]


@dataclass
class _Record:
    thread: dict[str, Any] | None
    messages: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    steps: list[dict[str, Any]]


def _message_text(message: dict[str, Any]) -> str:
    parts = message.get("content")
    if isinstance(parts, str):
        return parts
    texts: list[str] = []
    for part in parts or []:
        if isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text")
            texts.append(text.get("value", "") if isinstance(text, dict) else str(text or ""))
    return "\n".join(texts)


def _create_params(message: dict[str, Any]) -> dict[str, Any]:
    """``messages.create`` parameters that re-send a recorded user message: its content
    parts (text, image_file, image_url) and attachments."""
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            value = text.get("value", "") if isinstance(text, dict) else str(text or "")
            parts.append({"type": "text", "text": value or " "})
        elif kind in ("image_file", "image_url") and isinstance(part.get(kind), dict):
            parts.append({"type": kind, kind: _drop_none(part[kind])})
    params: dict[str, Any] = {"content": parts or _message_text(message) or " "}
    attachments = [
        _drop_none({"file_id": a.get("file_id"), "tools": a.get("tools")})
        for a in message.get("attachments") or []
        if isinstance(a, dict) and a.get("file_id")
    ]
    if attachments:
        params["attachments"] = attachments
    return params


def _only_text(params: dict[str, Any]) -> bool:
    content = params["content"]
    return "attachments" not in params and (
        isinstance(content, str) or all(p["type"] == "text" for p in content)
    )


def tool_calls_of_steps(steps: Iterable[dict[str, Any]]) -> list[ToolCall]:
    """The tool calls of run steps (wire dicts), in order."""
    calls: list[ToolCall] = []
    for step in steps:
        details = step.get("step_details") or {}
        if details.get("type") != "tool_calls":
            continue
        for tc in details.get("tool_calls") or []:
            kind = tc.get("type")
            if kind == "function":
                fn = tc.get("function") or {}
                calls.append(
                    ToolCall(fn.get("name", ""), fn.get("arguments") or "", fn.get("output"))
                )
            elif kind == "code_interpreter":
                ci = tc.get("code_interpreter") or {}
                calls.append(ToolCall("code_interpreter", ci.get("input") or "", None, kind))
            elif kind:
                calls.append(ToolCall(str(kind), "", None, str(kind)))
    return calls


def _latency(run: dict[str, Any]) -> float | None:
    start = run.get("started_at") or run.get("created_at")
    end = run.get("completed_at") or run.get("failed_at") or run.get("cancelled_at")
    if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
        return float(end - start)
    return None


def _recorded(
    answers: list[str], runs: list[dict[str, Any]], steps: list[dict[str, Any]]
) -> Recorded:
    rec = Recorded(answer="\n".join(a for a in answers if a))
    run_ids = {r.get("id") for r in runs}
    rec.tool_calls = tool_calls_of_steps(s for s in steps if s.get("run_id") in run_ids)
    if runs:
        last = runs[-1]
        rec.status = str(last.get("status") or "completed")
        err = last.get("last_error")
        rec.error = err.get("message") if isinstance(err, dict) else None
        rec.model = last.get("model")
        usages = [r["usage"] for r in runs if isinstance(r.get("usage"), dict)]
        if usages:
            rec.prompt_tokens = sum(int(u.get("prompt_tokens") or 0) for u in usages)
            rec.completion_tokens = sum(int(u.get("completion_tokens") or 0) for u in usages)
        lat = [_latency(r) for r in runs]
        known = [x for x in lat if x is not None]
        rec.latency_s = sum(known) if known else None
        rec.run_id = last.get("id")
    return rec


def case_from_record(
    thread_id: str, record: ThreadLike, assistants: dict[str, dict[str, Any]] | None = None
) -> Case:
    """A case from one recorded thread: user turns in order, the rest as the baseline."""
    runs_by_id = {r.get("id"): r for r in record.runs}
    turns: list[Turn] = []
    answers: list[list[str]] = []
    turn_runs: list[list[dict[str, Any]]] = []
    sent: list[list[dict[str, Any]]] = []  # each turn's messages.create parameters
    for msg in record.messages:
        if msg.get("role") == "user":
            if turns and not answers[-1] and not turn_runs[-1]:
                turns[-1].user.append(_message_text(msg))  # consecutive user messages
                sent[-1].append(_create_params(msg))
            else:
                turns.append(Turn([_message_text(msg)]))
                sent.append([_create_params(msg)])
                answers.append([])
                turn_runs.append([])
        elif turns:
            answers[-1].append(_message_text(msg))
            run = runs_by_id.get(msg.get("run_id"))
            if run is not None and run not in turn_runs[-1]:
                turn_runs[-1].append(run)
    # Runs that left no message (tool calls cancelled, failures): in order, onto the turns
    # without a run yet.
    used = {id(r) for rs in turn_runs for r in rs}
    spare = [r for r in record.runs if id(r) not in used]
    for i, rs in enumerate(turn_runs):
        if not rs and spare and (answers[i] or len(spare) >= len(turn_runs) - i):
            rs.append(spare.pop(0))
    for turn, texts, rs, params in zip(turns, answers, turn_runs, sent, strict=True):
        turn.recorded = _recorded(texts, rs, record.steps) if (texts or rs) else None
        if not all(_only_text(p) for p in params):
            turn.messages = params
    first = next((r for rs in turn_runs for r in rs), None) or {}
    assistant = (assistants or {}).get(str(first.get("assistant_id"))) or {}
    tools = first.get("tools") if first.get("tools") is not None else assistant.get("tools")
    return Case(
        id=thread_id,
        turns=turns,
        model=first.get("model") or assistant.get("model"),
        instructions=first.get("instructions") or assistant.get("instructions"),
        tools=[_drop_none(t) for t in tools or []],
        source="recorded",
        tool_resources=_resources(assistant.get("tool_resources")),
        thread_tool_resources=_resources((record.thread or {}).get("tool_resources")),
    )


def _resources(value: Any) -> dict[str, Any] | None:
    """tool_resources as create parameters: only the ids (null or empty parts dropped)."""
    if not isinstance(value, dict):
        return None
    parts = {tool: part for tool, part in value.items() if isinstance(part, dict)}
    out = {tool: ids for tool, ids in normalize_resources(parts).items() if any(ids.values())}
    return out or None


def _drop_none(value: Any) -> Any:
    """Tool definitions without null fields (SDK dumps write ``"description": null``,
    which the API would refuse back)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _pick(
    records: dict[str, Any],
    ids: Sequence[str] | None,
    assistant_id: str | None,
    assistants: dict[str, dict[str, Any]],
) -> list[Case]:
    if ids is not None:
        missing = [i for i in ids if i not in records]
        if missing:
            raise CaseError(f"thread not found: {', '.join(missing[:5])}")
        chosen = list(ids)
    else:
        chosen = list(records)
    if assistant_id is not None:
        chosen = [
            t for t in chosen if any(r.get("assistant_id") == assistant_id for r in records[t].runs)
        ]
    cases = [case_from_record(t, records[t], assistants) for t in chosen]
    return [c for c in cases if c.turns]


def cases_from_export(
    sources: Sequence[str | os.PathLike[str]],
    *,
    thread_ids: Sequence[str] | None = None,
    assistant_id: str | None = None,
) -> tuple[list[Case], list[str]]:
    """Cases from export files/folders (as ``import`` reads them), and the problems met."""
    from ..migrate import read_export

    export = read_export(sources)
    problems = [f"{p.where}: {p.reason}" for p in export.problems]
    return _pick(export.threads, thread_ids, assistant_id, export.assistants), problems


def cases_from_store(
    url: str | None = None,
    *,
    thread_ids: Sequence[str] | None = None,
    assistant_id: str | None = None,
) -> list[Case]:
    """Cases from a store's threads (read-only), the same way as from an export."""
    from ..store import open_store

    store = open_store(url)
    big = 1_000_000
    with store.read() as repo:
        threads: dict[str, dict[str, Any] | None]
        if thread_ids is None:
            threads = {str(t["id"]): t for t in repo.page("thread", limit=big, order="asc").data}
        else:
            threads = {t: repo.get("thread", t) for t in thread_ids}
            missing = [t for t, body in threads.items() if body is None]
            if missing:
                raise CaseError(f"thread not found: {', '.join(missing[:5])}")
        ids = list(threads)
        records: dict[str, Any] = {}
        assistant_ids: set[str] = set()
        for tid, thread in threads.items():
            rec = _Record(
                thread,
                repo.page("message", limit=big, order="asc", thread_id=tid).data,
                repo.page("run", limit=big, order="asc", thread_id=tid).data,
                repo.page("step", limit=big, order="asc", thread_id=tid).data,
            )
            records[tid] = rec
            assistant_ids.update(str(r.get("assistant_id")) for r in rec.runs)
        assistants = {a: body for a in assistant_ids if (body := repo.get("assistant", a))}
    return _pick(records, ids, assistant_id, assistants)


def read_thread_ids(path: str | os.PathLike[str]) -> list[str]:
    """Thread ids from a file: one per line (``#`` comments), or a JSON list
    (``compat.migrate.read_thread_ids``, with its failure as a CaseError)."""
    from ..migrate import read_thread_ids as read

    try:
        return read(path)
    except ValueError as exc:
        raise CaseError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# Scripted conversations


def is_scripted(path: str | os.PathLike[str]) -> bool:
    """Whether a file is a scripted-conversations file (YAML, or JSON with ``cases``)."""
    p = Path(path)
    if p.suffix.lower() in (".yaml", ".yml"):
        return True
    if p.suffix.lower() != ".json" or not p.is_file():
        return False
    try:
        head = p.read_text(encoding="utf-8")[:4096]
    except OSError:
        return False
    return head.lstrip().startswith("{") and '"cases"' in head


def load_scripted(path: str | os.PathLike[str]) -> list[Case]:
    """Cases from a YAML/JSON file of scripted conversations.

    ``{"cases": [{"name", "model"?, "instructions"?, "tools"?, "turns": [...]}]}``; a turn is
    the user text, or ``{"user": text, "expected": answer?, "tool_calls": [{"name",
    "arguments", "output"?}]?}`` (expected answer/tool calls form the recorded baseline).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise CaseError(
                    f"{path}: reading YAML needs PyYAML (pip install pyyaml), or use JSON"
                ) from None
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except CaseError:
        raise
    except Exception as exc:  # yaml/json syntax errors
        raise CaseError(f"{path}: cannot parse: {exc}") from None
    items = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CaseError(f"{path}: expected a list of cases under 'cases'")
    return [_scripted_case(item, i, str(path)) for i, item in enumerate(items)]


def _scripted_case(item: Any, index: int, path: str) -> Case:
    where = f"{path}: case {index + 1}"
    if not isinstance(item, dict) or not isinstance(item.get("turns"), list):
        raise CaseError(f"{where}: needs 'turns' (a list)")
    turns: list[Turn] = []
    for j, raw in enumerate(item["turns"]):
        if isinstance(raw, str):
            turns.append(Turn([raw]))
            continue
        if not isinstance(raw, dict) or not isinstance(raw.get("user"), str):
            raise CaseError(f"{where}, turn {j + 1}: needs 'user' text")
        rec: Recorded | None = None
        if "expected" in raw or "tool_calls" in raw:
            calls = [
                ToolCall(
                    str(c.get("name", "")),
                    canonical_args(c.get("arguments", {})),
                    None if c.get("output") is None else str(c["output"]),
                )
                for c in raw.get("tool_calls") or []
            ]
            rec = Recorded(answer=str(raw.get("expected") or ""), tool_calls=calls)
        turns.append(Turn([raw["user"]], rec))
    tools = item.get("tools") or []
    if not isinstance(tools, list):
        raise CaseError(f"{where}: 'tools' must be a list")
    return Case(
        id=str(item.get("name") or f"case-{index + 1}"),
        turns=turns,
        model=item.get("model"),
        instructions=item.get("instructions"),
        tools=tools,
        source="scripted",
    )
