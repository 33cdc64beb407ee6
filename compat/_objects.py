"""Wire objects: build Assistants API JSON objects with every field present, nulls explicit.

Imports: stdlib only.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]


def normalize_tool(tool: Obj) -> Obj:
    """A tool as the real API echoed it back (function ``strict`` false, file_search ranking)."""
    kind = tool["type"]
    if kind == "function":
        fn = dict(tool["function"])
        out = {"name": fn["name"]}
        if "description" in fn:
            out["description"] = fn["description"]
        out["parameters"] = fn.get("parameters") if "parameters" in fn else None
        if out["parameters"] is None:
            del out["parameters"]
        out["strict"] = bool(fn.get("strict") or False)
        return {"type": "function", "function": out}
    if kind == "file_search":
        fs = dict(tool.get("file_search") or {})
        ranking = fs.get("ranking_options") or {}
        fs["ranking_options"] = {
            "ranker": ranking.get("ranker", "default_2024_08_21"),
            "score_threshold": float(ranking.get("score_threshold", 0.0)),
        }
        return {"type": "file_search", "file_search": fs}
    return {"type": kind}


def normalize_tools(tools: list[Obj] | None) -> list[Obj]:
    return [normalize_tool(t) for t in (tools or [])]


def normalize_resources(res: Obj | None) -> Obj:
    """tool_resources without the create-only ``vector_stores`` helper (resolved by caller)."""
    out: Obj = {}
    for key, val in (res or {}).items():
        if val is None:
            continue
        if key == "code_interpreter":
            out[key] = {"file_ids": list(val.get("file_ids") or [])}
        elif key == "file_search":
            out[key] = {"vector_store_ids": list(val.get("vector_store_ids") or [])}
    return out


def assistant(id_: str, created_at: int, p: Obj) -> Obj:
    """A new Assistant from validated create params."""
    obj: Obj = {
        "id": id_,
        "object": "assistant",
        "created_at": created_at,
        "name": None,
        "description": None,
        "model": p["model"],
        "instructions": None,
        "tools": [],
        "tool_resources": {},
        "metadata": {},
        "top_p": 1.0,
        "temperature": 1.0,
        "reasoning_effort": None,
        "response_format": "auto",
    }
    return update_assistant(obj, p)


def update_assistant(obj: Obj, p: Obj) -> Obj:
    """Apply validated update params: omitted keeps, null resets to the default."""
    obj = copy.deepcopy(obj)
    for key in ("name", "description", "instructions", "reasoning_effort"):
        if key in p:
            obj[key] = p[key]
    if p.get("model") is not None:
        obj["model"] = p["model"]
    if "tools" in p:
        obj["tools"] = normalize_tools(p["tools"])
    if "tool_resources" in p:
        obj["tool_resources"] = normalize_resources(p["tool_resources"])
    if "metadata" in p:
        obj["metadata"] = p["metadata"] or {}
    for key in ("temperature", "top_p"):
        if key in p:
            obj[key] = 1.0 if p[key] is None else float(p[key])
    if "response_format" in p:
        obj["response_format"] = p["response_format"] or "auto"
    return obj


def thread(id_: str, created_at: int, p: Obj) -> Obj:
    return {
        "id": id_,
        "object": "thread",
        "created_at": created_at,
        "metadata": p.get("metadata") or {},
        "tool_resources": normalize_resources(p.get("tool_resources")),
    }


def content_blocks(content: str | list[Obj]) -> list[Obj]:
    """Message-create ``content`` (string or parts) as stored content blocks."""
    if isinstance(content, str):
        return [text_block(content)]
    out: list[Obj] = []
    for part in content:
        if part["type"] == "text":
            out.append(text_block(part["text"]))
        elif part["type"] == "image_file":
            img = part["image_file"]
            out.append(
                {
                    "type": "image_file",
                    "image_file": {"file_id": img["file_id"], "detail": img.get("detail", "auto")},
                }
            )
        elif part["type"] == "image_url":
            img = part["image_url"]
            out.append(
                {
                    "type": "image_url",
                    "image_url": {"url": img["url"], "detail": img.get("detail", "auto")},
                }
            )
    return out


def text_block(value: str, annotations: list[Obj] | None = None) -> Obj:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def message(
    id_: str,
    created_at: int,
    thread_id: str,
    p: Obj,
    *,
    run_id: str | None = None,
    assistant_id: str | None = None,
    status: str | None = None,
) -> Obj:
    """A Message; user/API-created ones carry ``status: null`` as the real API sent."""
    return {
        "id": id_,
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "role": p["role"],
        "content": content_blocks(p["content"]) if "content" in p else [],
        "attachments": [
            {"file_id": a["file_id"], "tools": [{"type": t["type"]} for t in a.get("tools") or []]}
            for a in (p.get("attachments") or [])
        ],
        "metadata": p.get("metadata") or {},
        "status": status,
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
    }


def run(id_: str, created_at: int, thread_id: str, assistant_id: str, cfg: Obj) -> Obj:
    """A new queued Run; ``cfg`` holds the effective settings (see the runs endpoint)."""
    return {
        "id": id_,
        "object": "thread.run",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": created_at + 600,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": cfg["model"],
        "instructions": cfg["instructions"],
        "tools": cfg["tools"],
        "tool_resources": cfg.get("tool_resources") or {},
        "metadata": cfg.get("metadata") or {},
        "incomplete_details": None,
        "usage": None,
        "temperature": cfg["temperature"],
        "top_p": cfg["top_p"],
        "max_prompt_tokens": cfg.get("max_prompt_tokens"),
        "max_completion_tokens": cfg.get("max_completion_tokens"),
        "truncation_strategy": cfg["truncation_strategy"],
        "response_format": cfg["response_format"],
        "tool_choice": cfg["tool_choice"],
        "parallel_tool_calls": cfg["parallel_tool_calls"],
        "reasoning_effort": cfg.get("reasoning_effort"),
    }


def step(
    id_: str,
    created_at: int,
    run: Obj,
    step_details: Obj,
) -> Obj:
    """A new in-progress RunStep of ``run``."""
    return {
        "id": id_,
        "object": "thread.run.step",
        "created_at": created_at,
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": step_details["type"],
        "status": "in_progress",
        "cancelled_at": None,
        "completed_at": None,
        "expired_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": step_details,
        "usage": None,
        "metadata": {},
    }


def public_step(step: Obj, include_content: bool) -> Obj:
    """The step as shown: file_search result ``content`` only when ``include`` asked for it."""
    if include_content or step["step_details"]["type"] != "tool_calls":
        return step
    if not any(c["type"] == "file_search" for c in step["step_details"]["tool_calls"]):
        return step
    step = copy.deepcopy(step)
    for call in step["step_details"]["tool_calls"]:
        if call["type"] == "file_search":
            for r in call["file_search"].get("results") or []:
                r.pop("content", None)
    return step


def deleted(id_: str, object_: str) -> Obj:
    return {"id": id_, "object": object_, "deleted": True}


def page(data: list[Obj], has_more: bool) -> Obj:
    """The list envelope the SDK's cursor pages read."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
