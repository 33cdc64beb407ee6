"""RunMachine without I/O: Responses events in, effects (saves, transitions, events) out."""

from __future__ import annotations

import itertools
import json
from typing import Any

from compat import _objects
from compat._engine.machine import Emit, Insert, RunMachine, Save, Transition

NOW = 1_700_000_000


def ids() -> Any:
    n = itertools.count()
    return lambda prefix: f"{prefix}_{next(n):03d}"


def new_run() -> dict[str, Any]:
    cfg = {
        "model": "gpt-4o",
        "instructions": "",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    return _objects.run("run_1", NOW, "thread_1", "asst_1", cfg)


def events(effects: list[Any]) -> list[str]:
    return [e.event for e in effects if isinstance(e, Emit)]


def feed_all(m: RunMachine, evs: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for ev in evs:
        out += m.feed(ev, NOW + 1)
    return out


USAGE = {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
MSG = {
    "type": "message",
    "id": "msg_up",
    "role": "assistant",
    "status": "in_progress",
    "content": [],
}


def text_turn(*deltas: str) -> list[dict[str, Any]]:
    done = {
        **MSG,
        "status": "completed",
        "content": [{"type": "output_text", "text": "".join(deltas), "annotations": []}],
    }
    return [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "response.output_item.added", "output_index": 0, "item": MSG},
        {"type": "response.content_part.added", "output_index": 0, "content_index": 0},
        *[
            {
                "type": "response.output_text.delta",
                "output_index": 0,
                "content_index": 0,
                "delta": d,
            }
            for d in deltas
        ],
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {
            "type": "response.completed",
            "response": {"id": "resp_1", "status": "completed", "usage": USAGE},
        },
    ]


def test_text_turn_effects_in_order() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    start = m.start(NOW)
    assert isinstance(start[0], Transition) and start[0].from_statuses == ("queued",)
    assert start[0].run["status"] == "in_progress" and start[0].run["started_at"] == NOW
    effects = feed_all(m, text_turn("Hel", "lo"))
    assert events(effects) == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    # saves come before the events that announce them
    kinds = [type(e).__name__ for e in effects]
    assert kinds.index("Insert") < kinds.index("Emit")
    deltas = [
        e.data["delta"]["content"][0]
        for e in effects
        if isinstance(e, Emit) and e.event.endswith("delta")
    ]
    assert deltas == [
        {"index": 0, "type": "text", "text": {"value": "Hel", "annotations": []}},
        {"index": 0, "type": "text", "text": {"value": "lo"}},
    ]
    msg = [e for e in effects if isinstance(e, Save) and e.kind == "message"][-1].body
    assert msg["status"] == "completed" and msg["content"][0]["text"] == {
        "value": "Hello",
        "annotations": [],
    }
    assert msg["run_id"] == "run_1" and msg["assistant_id"] == "asst_1"
    final = [e for e in effects if isinstance(e, Transition)][-1]
    assert final.from_statuses == ("in_progress",)
    assert final.run["status"] == "completed" and final.run["expires_at"] is None
    assert final.run["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    step = [e for e in effects if isinstance(e, Save) and e.kind == "step"][-1].body
    assert step["usage"] == final.run["usage"] and step["status"] == "completed"
    assert m.state["response_ids"] == ["resp_1"]


def test_function_calls_end_in_requires_action_with_one_step() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    calls = [
        {
            "type": "function_call",
            "id": f"fc_{i}",
            "call_id": f"call_{i}",
            "name": "f",
            "arguments": "",
        }
        for i in range(2)
    ]
    evs: list[dict[str, Any]] = []
    for i, c in enumerate(calls):
        evs += [
            {"type": "response.output_item.added", "output_index": i, "item": c},
            {"type": "response.function_call_arguments.delta", "output_index": i, "delta": '{"a":'},
            {
                "type": "response.function_call_arguments.delta",
                "output_index": i,
                "delta": f"{i}}}",
            },
            {
                "type": "response.output_item.done",
                "output_index": i,
                "item": {**c, "arguments": f'{{"a":{i}}}'},
            },
        ]
    evs.append({"type": "response.completed", "response": {"usage": USAGE}})
    effects = feed_all(m, evs)
    assert events(effects).count("thread.run.step.created") == 1
    assert events(effects)[-1] == "thread.run.requires_action"
    opened = [
        e.data["delta"]["step_details"]["tool_calls"][0]
        for e in effects
        if isinstance(e, Emit) and e.event == "thread.run.step.delta"
    ]
    assert opened[0] == {
        "index": 0,
        "id": "call_0",
        "type": "function",
        "function": {"name": "f", "arguments": "", "output": None},
    }
    assert opened[1] == {"index": 0, "type": "function", "function": {"arguments": '{"a":'}}
    assert opened[3]["index"] == 1 and opened[3]["id"] == "call_1"
    run = [e for e in effects if isinstance(e, Transition)][-1].run
    assert run["status"] == "requires_action" and run["expires_at"] is not None
    assert [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]] == [
        "call_0",
        "call_1",
    ]
    assert run["required_action"]["submit_tool_outputs"]["tool_calls"][1]["function"] == {
        "name": "f",
        "arguments": '{"a":1}',
    }
    assert m.state["pending_step_usage"]["total_tokens"] == 15
    assert not [
        e
        for e in effects
        if isinstance(e, Save) and e.body.get("status") == "completed" and e.kind == "step"
    ]


def reasoning(n: int, encrypted: bool = True) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": f"rs_{n}",
        "summary": [],
        "encrypted_content": f"gAAAA{n}" if encrypted else None,
    }


def test_reasoning_is_kept_with_what_it_preceded_and_shown_nowhere() -> None:
    run = {**new_run(), "model": "o4-mini"}
    m = RunMachine(run, {}, new_id=ids())
    m.start(NOW)
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f"}
    code = {"type": "code_interpreter_call", "id": "ci_1", "code": "", "outputs": None}
    outputs: list[dict[str, Any]] = [
        reasoning(1),
        MSG,
        reasoning(2),
        code,
        reasoning(3, False),
        call,
    ]
    evs: list[dict[str, Any]] = []
    for i, item in enumerate(outputs):
        evs += [
            {"type": "response.output_item.added", "output_index": i, "item": item},
            {"type": "response.output_item.done", "output_index": i, "item": item},
        ]
    reasoning_effects = feed_all(m, evs[:2])
    assert reasoning_effects == []  # no event, no save: nothing of it shows
    effects = reasoning_effects + feed_all(m, evs[2:])
    effects += m.feed({"type": "response.completed", "response": {"usage": USAGE}}, NOW + 1)
    msg_id = next(e.body["id"] for e in effects if isinstance(e, Insert) and e.kind == "message")
    # before the message; before the function call (a hosted call is not replayed, so the
    # reasoning before it goes with what follows); without encrypted content: not kept
    assert m.state["reasoning"] == [
        {
            "id": "rs_1",
            "encrypted_content": "gAAAA1",
            "summary": [],
            "before": msg_id,
            "model": "o4-mini",
        },
        {
            "id": "rs_2",
            "encrypted_content": "gAAAA2",
            "summary": [],
            "before": "call_1",
            "model": "o4-mini",
        },
    ]
    transition = [e for e in effects if isinstance(e, Transition)][-1]
    assert transition.state is m.state  # saved with the run's next status change
    shown = json.dumps([e.data for e in effects if isinstance(e, Emit)])
    assert "rs_" not in shown and "gAAAA" not in shown


def test_reasoning_with_nothing_after_it_is_not_kept() -> None:
    m = RunMachine({**new_run(), "model": "o4-mini"}, {}, new_id=ids())
    m.start(NOW)
    evs: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning(1)},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning(1)},
        {"type": "response.incomplete", "response": {"usage": USAGE}},
    ]
    feed_all(m, evs)
    assert "reasoning" not in m.state


def test_failure_closes_open_work() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    feed_all(m, text_turn("partial")[:4])
    effects = m.feed(
        {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}, NOW + 2
    )
    assert events(effects) == [
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
    ]
    run = effects[-1].data
    assert (
        run["last_error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
        and run["failed_at"] == NOW + 2
    )
    msg = [e for e in effects if isinstance(e, Save) and e.kind == "message"][0].body
    assert (
        msg["incomplete_details"] == {"reason": "run_failed"}
        and msg["content"][0]["text"]["value"] == "partial"
    )
    step = [e for e in effects if isinstance(e, Save) and e.kind == "step"][0].body
    assert step["last_error"]["code"] == "rate_limit_exceeded"


def test_cancel_and_budget_endings() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    feed_all(m, text_turn("a")[:3])
    effects = m.cancel(NOW + 3)
    assert events(effects) == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
    ]
    assert effects[-1].data["cancelled_at"] == NOW + 3
    assert [e for e in effects if isinstance(e, Transition)][0].from_statuses == (
        "in_progress",
        "cancelling",
    )

    m2 = RunMachine(new_run(), {}, new_id=ids())
    m2.start(NOW)
    out = m2.exhausted("max_prompt_tokens", NOW)
    assert out[-1].data["status"] == "incomplete"
    assert out[-1].data["incomplete_details"] == {"reason": "max_prompt_tokens"}


def test_incomplete_response() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    evs = text_turn("cut")
    evs[-2]["item"] = {**evs[-2]["item"], "status": "incomplete"}
    evs[-1] = {
        "type": "response.incomplete",
        "response": {"usage": USAGE, "incomplete_details": {"reason": "max_output_tokens"}},
    }
    effects = feed_all(m, evs)
    assert events(effects)[-3:] == [
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]
    assert effects[-1].data["incomplete_details"] == {"reason": "max_completion_tokens"}


def test_citations_get_markers_with_exact_offsets() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    evs = text_turn("Leave is 30 days.")[:4]
    evs.append(
        {
            "type": "response.output_text.annotation.added",
            "output_index": 0,
            "content_index": 0,
            "annotation": {
                "type": "file_citation",
                "file_id": "file-1",
                "filename": "hb.txt",
                "index": 17,
            },
        }
    )
    effects = feed_all(m, evs)
    delta = effects[-1].data["delta"]["content"][0]["text"]
    marker = "【0:0†hb.txt】"
    assert delta["value"] == marker
    ann = delta["annotations"][0]
    assert ann["index"] == 0 and ann["text"] == marker
    assert (ann["start_index"], ann["end_index"]) == (17, 17 + len(marker))
    assert ann["file_citation"] == {"file_id": "file-1"}


def test_unknown_events_are_ignored() -> None:
    m = RunMachine(new_run(), {}, new_id=ids())
    assert m.feed({"type": "response.reasoning_summary_text.delta", "delta": "x"}, NOW) == []
    assert m.feed({"type": "response.some_future_event"}, NOW) == []
    assert isinstance(Insert("step", {}), Insert)


def test_done_items_use_the_translate_functions() -> None:
    """Parts without deltas, image blocks, hosted tool results: _translate's shapes."""
    m = RunMachine(new_run(), {}, new_id=ids())
    m.start(NOW)
    m.file_ids.update({"cfile_1": "file-CHART", "https://img/1": "file-IMG"})
    link = "sandbox:/mnt/data/chart.png"
    cite = {
        "type": "container_file_citation",
        "container_id": "cntr_1",
        "file_id": "cfile_1",
        "filename": "chart.PNG",
        "start_index": 4,
        "end_index": 4 + len(link),
    }
    ci = {"type": "code_interpreter_call", "id": "ci_1", "code": None, "outputs": None}
    fs = {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "results": None}
    done_ci = {
        **ci,
        "code": "plot()",
        "outputs": [{"type": "logs", "logs": "ok"}, {"type": "image", "url": "https://img/1"}],
    }
    hit = {"file_id": "file-1", "filename": "a.txt", "score": 0.5, "text": "alpha"}
    done_msg = {
        **MSG,
        "status": "completed",
        "content": [
            {"type": "output_text", "text": f"See {link}", "annotations": [cite, cite]},
            {"type": "refusal", "refusal": "no more"},
        ],
    }
    effects = feed_all(
        m,
        [
            {"type": "response.output_item.added", "output_index": 0, "item": ci},
            {"type": "response.output_item.done", "output_index": 0, "item": done_ci},
            {"type": "response.output_item.added", "output_index": 1, "item": fs},
            {
                "type": "response.output_item.done",
                "output_index": 1,
                "item": {**fs, "results": [hit]},
            },
            {"type": "response.output_item.added", "output_index": 2, "item": MSG},
            {"type": "response.output_item.done", "output_index": 2, "item": done_msg},
            {"type": "response.completed", "response": {"usage": USAGE}},
        ],
    )
    msg = [e for e in effects if isinstance(e, Save) and e.kind == "message"][-1].body
    assert [b["type"] for b in msg["content"]] == ["text", "refusal", "image_file"]
    assert msg["content"][0]["text"]["annotations"][0]["file_path"] == {"file_id": "file-CHART"}
    assert msg["content"][2]["image_file"] == {"file_id": "file-CHART", "detail": None}
    steps = {
        e.body["step_details"]["tool_calls"][0]["type"]: e.body
        for e in effects
        if isinstance(e, Save) and e.kind == "step" and e.body["type"] == "tool_calls"
    }
    code = steps["code_interpreter"]["step_details"]["tool_calls"][0]["code_interpreter"]
    assert code == {
        "input": "plot()",
        "outputs": [
            {"type": "logs", "logs": "ok"},
            {"type": "image", "image": {"file_id": "file-IMG"}},
        ],
    }
    search = steps["file_search"]["step_details"]["tool_calls"][0]["file_search"]
    assert search["results"][0]["content"] == [{"type": "text", "text": "alpha"}]  # kept
    shown = [
        e.data
        for e in effects
        if isinstance(e, Emit)
        and e.event == "thread.run.step.completed"
        and e.data["step_details"]["type"] == "tool_calls"
        and e.data["step_details"]["tool_calls"][0]["type"] == "file_search"
    ][0]
    assert "content" not in shown["step_details"]["tool_calls"][0]["file_search"]["results"][0]
