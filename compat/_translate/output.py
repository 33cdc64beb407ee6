"""Responses output -> Assistants objects: message content, annotations, tool calls, usage,
errors and incomplete reasons.

Owns responses-mapping §4.1 (item bodies), §4.2 (annotations), §4.3 (error / incomplete
mapping) and §4.4 (usage). Pure: plain dicts in, plain dicts out; imports no I/O (no openai,
httpx, store or clock). String offsets are Python `str` indexes (code points): the real
Assistants API reported character offsets too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "IMAGE_EXTENSIONS",
    "add_usage",
    "annotation_from_stream",
    "citation_marker",
    "code_interpreter_outputs",
    "content_block_from_part",
    "file_search_from_item",
    "image_blocks_from_item",
    "incomplete_reasons",
    "is_image_filename",
    "last_error_from_upstream",
    "text_from_output_text",
    "usage_from_response",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")

# Upstream error codes that become Assistants `invalid_prompt` (responses-mapping §4.3).
_INVALID_PROMPT_CODES = frozenset(
    {
        "invalid_prompt",
        "bio_policy",
        "misalignment_policy_violation",
        "content_policy_violation",
        "content_filter",
        "moderation_blocked",
        "cyber_policy",
        "cyber_policy_violation",
    }
)

RunIncompleteReason = Literal["max_completion_tokens", "max_prompt_tokens"]
MessageIncompleteReason = Literal[
    "content_filter", "max_tokens", "run_cancelled", "run_expired", "run_failed"
]


# --- usage (§4.4) ---------------------------------------------------------------------------------


def usage_from_response(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Responses `usage` -> Assistants `{prompt_tokens, completion_tokens, total_tokens}`.

    None (a provider that reports no usage) counts as zero.
    """
    usage = usage or {}
    prompt = int(usage.get("input_tokens") or 0)
    completion = int(usage.get("output_tokens") or 0)
    total = usage.get("total_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(total) if total is not None else prompt + completion,
    }


def add_usage(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, int]:
    """Sum of two Assistants usage dicts (None counts as zero)."""
    a = a or {}
    b = b or {}
    return {
        key: int(a.get(key) or 0) + int(b.get(key) or 0)
        for key in ("prompt_tokens", "completion_tokens", "total_tokens")
    }


# --- message content (§4.1, §4.2) -----------------------------------------------------------------


def citation_marker(output_index: int, n: int, filename: str | None) -> str:
    """The synthetic citation marker put into text: `【{output_index}:{n}†{filename}】`."""
    return f"【{output_index}:{n}†{filename or 'source'}】"


def is_image_filename(filename: str | None) -> bool:
    """True for png/jpg/jpeg/gif/webp names (Assistants showed those as image_file blocks)."""
    return bool(filename) and str(filename).lower().endswith(IMAGE_EXTENSIONS)


def _clamp(value: Any, length: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return length
    return max(0, min(number, length))


def text_from_output_text(
    part: Mapping[str, Any],
    *,
    output_index: int,
    file_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Responses `output_text` part -> Assistants `Text` `{"value", "annotations"}`.

    - `file_citation{file_id, filename, index}`: the marker `citation_marker(output_index, n,
      filename)` (n = 0, 1, … in ascending `index` order) is inserted into the text at
      `index`, shifting later offsets; annotation `file_citation` with `text` = marker.
    - `container_file_citation{file_id, start_index, end_index}`: annotation `file_path` over
      the (shifted) span, `file_id` mapped through `file_ids` (cfile id -> file id; unmapped
      ids are kept); dropped when the span is empty.
    - `url_citation`, `file_path` and unknown types: dropped (the caller turns `file_path`
      images into blocks).
    Annotations come out sorted by `start_index`; none has empty `text`.
    """
    text = str(part.get("text") or "")
    annotations = list(part.get("annotations") or [])
    file_ids = file_ids or {}

    citations = sorted(
        (a for a in annotations if a.get("type") == "file_citation"),
        key=lambda a: _clamp(a.get("index"), len(text)),
    )
    inserts: list[tuple[int, str, dict[str, Any]]] = []  # (original index, marker, annotation)
    for n, citation in enumerate(citations):
        marker = citation_marker(output_index, n, citation.get("filename"))
        inserts.append((_clamp(citation.get("index"), len(text)), marker, citation))

    def shift_start(pos: int) -> int:  # a marker inserted at pos goes before the span
        return pos + sum(len(m) for i, m, _ in inserts if i <= pos)

    def shift_end(pos: int) -> int:  # … but after a span that ends at pos
        return pos + sum(len(m) for i, m, _ in inserts if i < pos)

    pieces: list[str] = []
    out: list[tuple[int, dict[str, Any]]] = []
    cursor = 0
    offset = 0
    for index, marker, citation in inserts:
        pieces.append(text[cursor:index])
        start = index + offset
        pieces.append(marker)
        out.append(
            (
                start,
                {
                    "type": "file_citation",
                    "text": marker,
                    "start_index": start,
                    "end_index": start + len(marker),
                    "file_citation": {"file_id": citation.get("file_id")},
                },
            )
        )
        offset += len(marker)
        cursor = index
    pieces.append(text[cursor:])
    value = "".join(pieces)

    for annotation in annotations:
        if annotation.get("type") != "container_file_citation":
            continue
        start = _clamp(annotation.get("start_index"), len(text))
        end = max(start, _clamp(annotation.get("end_index"), len(text)))
        start, end = shift_start(start), shift_end(end)
        span = value[start:end]
        if not span:
            continue  # never an empty annotation text: value.replace("", …) breaks apps
        file_id = annotation.get("file_id")
        out.append(
            (
                start,
                {
                    "type": "file_path",
                    "text": span,
                    "start_index": start,
                    "end_index": end,
                    "file_path": {"file_id": file_ids.get(file_id, file_id) if file_id else None},
                },
            )
        )

    out.sort(key=lambda pair: pair[0])
    return {"value": value, "annotations": [annotation for _, annotation in out]}


def content_block_from_part(
    part: Mapping[str, Any],
    *,
    output_index: int,
    file_ids: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """One Responses message content part -> one Assistants content block, or None.

    `output_text` -> `{"type": "text", "text": text_from_output_text(...)}`; `refusal` ->
    `{"type": "refusal", "refusal": …}`; other parts -> None. Used for parts that arrived
    whole (no deltas) in a done `message` item.
    """
    kind = part.get("type")
    if kind == "output_text":
        return {
            "type": "text",
            "text": text_from_output_text(part, output_index=output_index, file_ids=file_ids),
        }
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    return None


def image_blocks_from_item(
    item: Mapping[str, Any],
    *,
    file_ids: Mapping[str, str] | None = None,
    content: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The image blocks a done `message` item adds after the message's `content`.

    One `{"type": "image_file", "image_file": {"file_id", "detail": None}}` per distinct
    image (`is_image_filename`) cited by a `container_file_citation` in any part, in order;
    the file id is mapped through `file_ids` (unmapped ids are kept). Images `content`
    already shows are not repeated.
    """
    file_ids = file_ids or {}
    seen = {
        (block.get("image_file") or {}).get("file_id")
        for block in content
        if block.get("type") == "image_file"
    }
    blocks: list[dict[str, Any]] = []
    for part in item.get("content") or []:
        for annotation in part.get("annotations") or []:
            if annotation.get("type") != "container_file_citation":
                continue
            if not is_image_filename(annotation.get("filename")):
                continue
            raw = annotation.get("file_id", "")
            file_id = file_ids.get(raw, raw)
            if file_id in seen:
                continue
            seen.add(file_id)
            blocks.append(
                {"type": "image_file", "image_file": {"file_id": file_id, "detail": None}}
            )
    return blocks


def annotation_from_stream(
    annotation: Mapping[str, Any],
    *,
    text: Mapping[str, Any],
    output_index: int,
    shift: int = 0,
    file_ids: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], str] | None:
    """A streamed `response.output_text.annotation.added` -> (Assistants annotation, marker).

    `text` is the Assistants `Text` streamed so far (`value`, `annotations`); `shift` is how
    many marker characters earlier citations inserted into it. The caller appends the
    returned marker to `text.value` (and to its delta), then the annotation.
    - `file_citation`: Responses has no markers, so `citation_marker(output_index, n,
      filename)` (n = file citations so far) goes at the current end of the text;
      annotation `file_citation` over it.
    - `container_file_citation`: `file_path` over the shifted span, `file_id` mapped
      through `file_ids`; marker "". None when the span is empty.
    - `url_citation` and the rest: None (no Assistants counterpart).
    """
    file_ids = file_ids or {}
    kind = annotation.get("type")
    value = text.get("value", "")
    if kind == "file_citation":
        n = sum(1 for a in text.get("annotations") or [] if a.get("type") == "file_citation")
        marker = citation_marker(output_index, n, annotation.get("filename"))
        start = len(value)
        return {
            "type": "file_citation",
            "text": marker,
            "start_index": start,
            "end_index": start + len(marker),
            "file_citation": {"file_id": annotation.get("file_id", "")},
        }, marker
    if kind == "container_file_citation":
        start = annotation.get("start_index", 0) + shift
        end = annotation.get("end_index", 0) + shift
        span = value[start:end]
        if not span:
            return None
        raw = annotation.get("file_id", "")
        return {
            "type": "file_path",
            "text": span,
            "start_index": start,
            "end_index": end,
            "file_path": {"file_id": file_ids.get(raw, raw)},
        }, ""
    return None


# --- hosted tool calls (§4.1) ---------------------------------------------------------------------


def code_interpreter_outputs(
    item: Mapping[str, Any], *, file_ids: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """A done `code_interpreter_call`'s `outputs` -> Assistants code_interpreter outputs.

    logs -> `{"type": "logs", "logs"}`; images (`{"type": "image", "url"}`) -> `{"type":
    "image", "image": {"file_id"}}` with the file id looked up by url in `file_ids`
    (unmapped images are skipped); anything else is skipped.
    """
    file_ids = file_ids or {}
    outputs: list[dict[str, Any]] = []
    for output in item.get("outputs") or []:
        kind = output.get("type")
        if kind == "logs":
            outputs.append({"type": "logs", "logs": output.get("logs", "")})
        elif kind == "image" and output.get("url") in file_ids:
            outputs.append({"type": "image", "image": {"file_id": file_ids[output["url"]]}})
    return outputs


_DEFAULT_RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}


def file_search_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A done `file_search_call` -> the `file_search` of an Assistants `FileSearchToolCall`.

    `{"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
    "results": [...]}`; `results` need `include=["file_search_call.results"]` upstream
    (absent -> `[]`). Each result is `{"file_id", "file_name", "score", "content": [{"type":
    "text", "text"}]}`: `content` is always kept in the store, and shown only when the run's
    / list's `include` asks for it (`compat._objects.public_step`).
    """
    return {
        "ranking_options": dict(_DEFAULT_RANKING),
        "results": [
            {
                "file_id": result.get("file_id", ""),
                "file_name": result.get("filename") or "",
                "score": result.get("score") or 0.0,
                "content": [{"type": "text", "text": result.get("text") or ""}],
            }
            for result in item.get("results") or []
        ],
    }


# --- status / errors (§4.3) -----------------------------------------------------------------------


def last_error_from_upstream(
    *, status: int | None, code: str | None, message: str
) -> dict[str, str]:
    """An upstream failure -> the Run's `last_error` `{"code", "message"}`.

    HTTP 429 or `rate_limit_exceeded` -> "rate_limit_exceeded"; `invalid_prompt`,
    `bio_policy`, `misalignment_policy_violation` and moderation / content-policy codes
    (except image errors) -> "invalid_prompt"; everything else -> "server_error". The
    upstream message is kept.
    """
    normalized = (code or "").lower()
    if status == 429 or normalized == "rate_limit_exceeded":
        mapped = "rate_limit_exceeded"
    elif normalized in _INVALID_PROMPT_CODES or (
        not normalized.startswith("image_")
        and ("moderation" in normalized or normalized.endswith(("_policy", "_policy_violation")))
    ):
        mapped = "invalid_prompt"
    else:
        mapped = "server_error"
    return {"code": mapped, "message": message}


def incomplete_reasons(
    response_incomplete_reason: str | None,
) -> tuple[RunIncompleteReason | None, MessageIncompleteReason]:
    """Responses `incomplete_details.reason` -> (Run reason, open Message reason).

    max_output_tokens -> ("max_completion_tokens", "max_tokens"); content_filter ->
    (None, "content_filter"); anything else (max_messages, steered, None …) ->
    (None, "max_tokens").
    """
    if response_incomplete_reason == "max_output_tokens":
        return "max_completion_tokens", "max_tokens"
    if response_incomplete_reason == "content_filter":
        return None, "content_filter"
    return None, "max_tokens"
