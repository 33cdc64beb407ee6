"""Responses output -> Assistants objects (compat._translate.output). No I/O."""

from __future__ import annotations

from typing import Any

import pytest

from compat._translate.output import (
    add_usage,
    annotation_from_stream,
    citation_marker,
    code_interpreter_outputs,
    content_block_from_part,
    file_search_from_item,
    image_blocks_from_item,
    incomplete_reasons,
    is_image_filename,
    last_error_from_upstream,
    text_from_output_text,
    usage_from_response,
)


def assert_spans_consistent(result: dict[str, Any]) -> None:
    """The Assistants invariant: annotation text == value[start_index:end_index], never ''."""
    for annotation in result["annotations"]:
        assert annotation["text"]
        assert (
            result["value"][annotation["start_index"] : annotation["end_index"]]
            == (annotation["text"])
        )


# --- usage ----------------------------------------------------------------------------------------


def test_usage_from_response() -> None:
    usage = {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 10},
        "total_tokens": 150,
    }
    assert usage_from_response(usage) == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
    }
    assert usage_from_response(None) == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
    }
    assert usage_from_response({"input_tokens": 5, "output_tokens": 7})["total_tokens"] == 12


def test_add_usage() -> None:
    a = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    b = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    assert add_usage(a, b) == {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}
    assert add_usage(None, b) == b
    assert add_usage(a, None) == a


# --- annotations ----------------------------------------------------------------------------------


def test_file_citations_insert_markers_in_ascending_order() -> None:
    text = "Oslo is rainy. Bergen too."
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [  # deliberately out of order
            {"type": "file_citation", "file_id": "file-B", "filename": "bergen.md", "index": 26},
            {"type": "file_citation", "file_id": "file-W", "filename": "weather.txt", "index": 14},
        ],
    }
    result = text_from_output_text(part, output_index=2)
    m0, m1 = "【2:0†weather.txt】", "【2:1†bergen.md】"
    assert citation_marker(2, 0, "weather.txt") == m0
    assert result == {
        "value": f"Oslo is rainy.{m0} Bergen too.{m1}",
        "annotations": [
            {
                "type": "file_citation",
                "text": m0,
                "start_index": 14,
                "end_index": 14 + len(m0),
                "file_citation": {"file_id": "file-W"},
            },
            {
                "type": "file_citation",
                "text": m1,
                "start_index": 26 + len(m0),
                "end_index": 26 + len(m0) + len(m1),
                "file_citation": {"file_id": "file-B"},
            },
        ],
    }
    assert_spans_consistent(result)


def test_container_file_citation_becomes_file_path_with_shifted_offsets() -> None:
    link = "sandbox:/mnt/data/data.csv"
    text = f"Done. Download [the data]({link})."
    start = text.index(link)
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [
            {"type": "file_citation", "file_id": "file-S", "filename": "source", "index": 5},
            {
                "type": "container_file_citation",
                "container_id": "cntr_1",
                "file_id": "cfile_1",
                "filename": "data.csv",
                "start_index": start,
                "end_index": start + len(link),
            },
            {
                "type": "url_citation",
                "url": "https://example.com",
                "title": "Example",
                "start_index": 0,
                "end_index": 4,
            },
            {"type": "file_path", "file_id": "file-P", "index": 0},
        ],
    }
    result = text_from_output_text(part, output_index=0, file_ids={"cfile_1": "file-DATA"})
    marker = "【0:0†source】"
    shifted = start + len(marker)
    assert result["value"] == f"Done.{marker} Download [the data]({link})."
    assert result["annotations"] == [
        {
            "type": "file_citation",
            "text": marker,
            "start_index": 5,
            "end_index": 5 + len(marker),
            "file_citation": {"file_id": "file-S"},
        },
        {
            "type": "file_path",
            "text": link,
            "start_index": shifted,
            "end_index": shifted + len(link),
            "file_path": {"file_id": "file-DATA"},
        },
    ]
    assert_spans_consistent(result)


def test_marker_at_span_boundaries() -> None:
    text = "[a](sandbox:/x.txt)"
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [
            {
                "type": "container_file_citation",
                "container_id": "c",
                "file_id": "cfile_x",
                "filename": "x.txt",
                "start_index": 0,
                "end_index": len(text),
            },
            {"type": "file_citation", "file_id": "f1", "filename": "one", "index": 0},
            {"type": "file_citation", "file_id": "f2", "filename": "two", "index": len(text)},
        ],
    }
    result = text_from_output_text(part, output_index=1)
    m0, m1 = "【1:0†one】", "【1:1†two】"
    assert result["value"] == f"{m0}{text}{m1}"
    path = [a for a in result["annotations"] if a["type"] == "file_path"][0]
    # a marker at the span start goes before it, one at the span end goes after it
    assert (path["start_index"], path["end_index"]) == (len(m0), len(m0) + len(text))
    assert path["file_path"] == {"file_id": "cfile_x"}  # unmapped: the container id is kept
    assert [a["type"] for a in result["annotations"]] == [
        "file_citation",
        "file_path",
        "file_citation",
    ]
    assert_spans_consistent(result)


def test_empty_spans_and_plain_text() -> None:
    part = {
        "type": "output_text",
        "text": "plain",
        "annotations": [
            {
                "type": "container_file_citation",
                "container_id": "c",
                "file_id": "cfile_1",
                "filename": "x.csv",
                "start_index": 3,
                "end_index": 3,
            }
        ],
    }
    assert text_from_output_text(part, output_index=0) == {"value": "plain", "annotations": []}
    assert text_from_output_text(
        {"type": "output_text", "text": "", "annotations": []}, output_index=0
    ) == {
        "value": "",
        "annotations": [],
    }


# --- message content ------------------------------------------------------------------------------


def test_content_blocks_then_image_blocks_of_a_message_item() -> None:
    chart = "sandbox:/mnt/data/chart.png"
    data = "sandbox:/mnt/data/data.csv"
    text = f"Chart: {chart} again {chart} data {data}"

    def cite(file_id: str, filename: str, link: str, nth: int) -> dict[str, Any]:
        start = [i for i in range(len(text)) if text.startswith(link, i)][nth]
        return {
            "type": "container_file_citation",
            "container_id": "cntr_1",
            "file_id": file_id,
            "filename": filename,
            "start_index": start,
            "end_index": start + len(link),
        }

    item = {
        "type": "message",
        "id": "msg_upstream",
        "role": "assistant",
        "status": "completed",
        "content": [
            {
                "type": "output_text",
                "text": text,
                "annotations": [
                    cite("cfile_1", "chart.PNG", chart, 0),
                    cite("cfile_1", "chart.PNG", chart, 1),
                    cite("cfile_2", "data.csv", data, 0),
                ],
            },
            {"type": "refusal", "refusal": "I won't do the rest."},
            {"type": "reasoning_text", "text": "not content"},
        ],
    }
    file_ids = {"cfile_1": "file-CHART"}
    blocks = [
        content_block_from_part(part, output_index=3, file_ids=file_ids) for part in item["content"]
    ]
    assert [b and b["type"] for b in blocks] == ["text", "refusal", None]
    assert blocks[1] == {"type": "refusal", "refusal": "I won't do the rest."}
    assert blocks[0] is not None
    annotations = blocks[0]["text"]["annotations"]
    assert [a["file_path"]["file_id"] for a in annotations] == [
        "file-CHART",
        "file-CHART",
        "cfile_2",
    ]
    assert blocks[0]["text"]["value"] == text
    assert_spans_consistent(blocks[0]["text"])

    # images go after all the content, once each; ones already shown are not repeated
    image = {"type": "image_file", "image_file": {"file_id": "file-CHART", "detail": None}}
    assert image_blocks_from_item(item, file_ids=file_ids) == [image]
    assert image_blocks_from_item(item, file_ids=file_ids, content=[image]) == []
    assert image_blocks_from_item(item)[0]["image_file"]["file_id"] == "cfile_1"


def test_streamed_annotations_place_markers_at_the_end() -> None:
    text: dict[str, Any] = {"value": "Leave is 30 days.", "annotations": []}
    citation = {"type": "file_citation", "file_id": "file-1", "filename": "hb.txt", "index": 17}
    found = annotation_from_stream(citation, text=text, output_index=2)
    assert found is not None
    annotation, marker = found
    assert marker == citation_marker(2, 0, "hb.txt") == "【2:0†hb.txt】"
    assert annotation == {
        "type": "file_citation",
        "text": marker,
        "start_index": 17,
        "end_index": 17 + len(marker),
        "file_citation": {"file_id": "file-1"},
    }
    text = {"value": text["value"] + marker, "annotations": [annotation]}
    again = annotation_from_stream({**citation, "filename": None}, text=text, output_index=2)
    assert again is not None and again[1] == "【2:1†source】"

    # container citations: spans shifted by the markers inserted before them, ids mapped
    text = {"value": "xx【0:0†a】 see sandbox:/f.csv", "annotations": []}
    link = "sandbox:/f.csv"
    original = len("xx see ")
    container = {
        "type": "container_file_citation",
        "file_id": "cfile_1",
        "filename": "f.csv",
        "start_index": original,
        "end_index": original + len(link),
    }
    found = annotation_from_stream(
        container, text=text, output_index=0, shift=len("【0:0†a】"), file_ids={"cfile_1": "file-F"}
    )
    assert found is not None
    annotation, marker = found
    assert marker == "" and annotation["text"] == link
    assert annotation["file_path"] == {"file_id": "file-F"}
    assert text["value"][annotation["start_index"] : annotation["end_index"]] == link
    assert annotation_from_stream(container, text=text, output_index=0, shift=999) is None
    url = {"type": "url_citation", "url": "https://x", "start_index": 0, "end_index": 2}
    assert annotation_from_stream(url, text=text, output_index=0) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.png", True),
        ("A.JPG", True),
        ("x.jpeg", True),
        ("y.gif", True),
        ("z.webp", True),
        ("data.csv", False),
        ("png", False),
        (None, False),
    ],
)
def test_is_image_filename(name: str | None, expected: bool) -> None:
    assert is_image_filename(name) is expected


# --- hosted tool calls ----------------------------------------------------------------------------


def test_code_interpreter_outputs() -> None:
    item = {
        "type": "code_interpreter_call",
        "id": "ci_1",
        "code": "print(1)",
        "container_id": "cntr_1",
        "status": "completed",
        "outputs": [
            {"type": "logs", "logs": "1\n"},
            {"type": "image", "url": "https://files/img1"},
            {"type": "image", "url": "https://files/unmapped"},
            {"type": "something_new"},
        ],
    }
    assert code_interpreter_outputs(item, file_ids={"https://files/img1": "file-IMG1"}) == [
        {"type": "logs", "logs": "1\n"},
        {"type": "image", "image": {"file_id": "file-IMG1"}},
    ]
    bare = {"type": "code_interpreter_call", "id": "ci_2", "code": None, "outputs": None}
    assert code_interpreter_outputs(bare) == []


def test_file_search_from_item_keeps_content() -> None:
    item = {
        "type": "file_search_call",
        "id": "fs_1",
        "queries": ["rain"],
        "status": "completed",
        "results": [
            {
                "file_id": "file-1",
                "filename": "a.txt",
                "score": 0.91,
                "text": "alpha",
                "attributes": {},
            },
            {"file_id": "file-2", "filename": None, "score": None, "text": None},
        ],
    }
    ranking = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    assert file_search_from_item(item) == {
        "ranking_options": ranking,
        "results": [
            {
                "file_id": "file-1",
                "file_name": "a.txt",
                "score": 0.91,
                "content": [{"type": "text", "text": "alpha"}],
            },
            {
                "file_id": "file-2",
                "file_name": "",
                "score": 0.0,
                "content": [{"type": "text", "text": ""}],
            },
        ],
    }
    no_results: dict[str, Any] = {
        "type": "file_search_call",
        "id": "fs_2",
        "queries": [],
        "results": None,
    }
    assert file_search_from_item(no_results) == {"ranking_options": ranking, "results": []}


# --- errors and incomplete reasons ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, None, "rate_limit_exceeded"),
        (429, "insufficient_quota", "rate_limit_exceeded"),
        (None, "rate_limit_exceeded", "rate_limit_exceeded"),
        (None, "invalid_prompt", "invalid_prompt"),
        (None, "bio_policy", "invalid_prompt"),
        (None, "misalignment_policy_violation", "invalid_prompt"),
        (400, "content_policy_violation", "invalid_prompt"),
        (400, "moderation_blocked", "invalid_prompt"),
        (None, "image_content_policy_violation", "server_error"),
        (None, "server_error", "server_error"),
        (None, "vector_store_timeout", "server_error"),
        (400, "invalid_image", "server_error"),
        (400, None, "server_error"),
        (500, None, "server_error"),
        (None, None, "server_error"),
    ],
)
def test_last_error_from_upstream(status: int | None, code: str | None, expected: str) -> None:
    assert last_error_from_upstream(status=status, code=code, message="upstream said no") == {
        "code": expected,
        "message": "upstream said no",
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("max_output_tokens", ("max_completion_tokens", "max_tokens")),
        ("content_filter", (None, "content_filter")),
        ("max_messages", (None, "max_tokens")),
        ("steered", (None, "max_tokens")),
        (None, (None, "max_tokens")),
    ],
)
def test_incomplete_reasons(reason: str | None, expected: tuple[str | None, str]) -> None:
    assert incomplete_reasons(reason) == expected
