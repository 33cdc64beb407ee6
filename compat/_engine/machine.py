"""RunMachine: one run segment's state, Responses stream events in, Assistants effects out.

All run/step/message transition logic lives here and in ``close_open``; there is no
database, HTTP, asyncio or clock inside (``now`` and the id factory are passed in).
A segment is what one Responses call does for a run: it starts with the run leaving
``queued`` and ends in ``requires_action`` or a terminal status.
Imports: stdlib, compat._objects, compat._translate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import _objects
from .._translate.output import (
    add_usage,
    annotation_from_stream,
    code_interpreter_outputs,
    content_block_from_part,
    file_search_from_item,
    image_blocks_from_item,
    incomplete_reasons,
    last_error_from_upstream,
    usage_from_response,
)
from .._translate.tools import function_tool_call, required_action_from_calls
from .status import TRANSITIONS, RunEvent, advance

Obj = dict[str, Any]

#: the status a segment ends with -> the status table's event that leads there
_ENDING: dict[str, RunEvent] = {
    "completed": "complete",
    "failed": "fail",
    "cancelled": "cancelled",
    "incomplete": "incomplete",
}


# -- effects ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Insert:
    """Store a new message or step."""

    kind: Literal["message", "step"]
    body: Obj


@dataclass(frozen=True)
class Save:
    """Overwrite a stored message or step."""

    kind: Literal["message", "step"]
    body: Obj


@dataclass(frozen=True)
class Transition:
    """Save the run only if its stored status is one of ``from_statuses`` (else: lost)."""

    run: Obj
    from_statuses: tuple[str, ...]
    state: Obj | None = None


@dataclass(frozen=True)
class Emit:
    """Publish one Assistants stream event (after the saves before it)."""

    event: str
    data: Obj


Effect = Insert | Save | Transition | Emit


def _snap(obj: Obj) -> Obj:
    """A copy of a JSON object taken when an effect is made (the machine keeps mutating
    its own); effects are never mutated, so effects made together share one snapshot."""
    return _copy(obj)  # type: ignore[no-any-return]


def _copy(value: Any) -> Any:
    # JSON values only: ~4x faster than copy.deepcopy (no memo, no dispatch)
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


# -- closing what a run leaves open ----------------------------------------------------
_STEP_END = {
    "completed": ("completed", "completed_at", "thread.run.step.completed"),
    "incomplete": ("completed", "completed_at", "thread.run.step.completed"),
    "failed": ("failed", "failed_at", "thread.run.step.failed"),
    "cancelled": ("cancelled", "cancelled_at", "thread.run.step.cancelled"),
    "expired": ("expired", "expired_at", "thread.run.step.expired"),
}
_MESSAGE_REASON = {"failed": "run_failed", "cancelled": "run_cancelled", "expired": "run_expired"}


def close_open(
    steps: list[Obj],
    messages: list[Obj],
    run_status: str,
    now: int,
    *,
    last_error: Obj | None = None,
    message_reason: str | None = None,
) -> list[Effect]:
    """Effects that close a run's in-progress steps and messages as ``run_status`` requires."""
    out: list[Effect] = []
    for msg in messages:
        if msg.get("status") != "in_progress":
            continue
        if run_status == "completed":
            msg.update(status="completed", completed_at=now)
            event = "thread.message.completed"
        else:
            reason = message_reason or _MESSAGE_REASON.get(run_status, "max_tokens")
            msg.update(
                status="incomplete", incomplete_at=now, incomplete_details={"reason": reason}
            )
            event = "thread.message.incomplete"
        snap = _snap(msg)
        out += [Save("message", snap), Emit(event, snap)]
    for step in steps:
        if step.get("status") != "in_progress":
            continue
        status, stamp, event = _STEP_END[run_status]
        step["status"] = status
        step[stamp] = now
        if status == "failed" and last_error is not None:
            step["last_error"] = {
                "code": "rate_limit_exceeded"
                if last_error.get("code") == "rate_limit_exceeded"
                else "server_error",
                "message": last_error.get("message", ""),
            }
        if step.get("usage") is None and status == "completed":
            step["usage"] = usage_from_response(None)
        snap = _snap(step)
        out += [Save("step", snap), Emit(event, snap)]
    return out


def end_run(run: Obj, status: str, now: int, **fields: Any) -> Obj:
    """Mutate ``run`` into a terminal status with the timestamps the real API set."""
    run["status"] = status
    run["required_action"] = None
    stamp = {
        "completed": "completed_at",
        "incomplete": "completed_at",
        "failed": "failed_at",
        "cancelled": "cancelled_at",
    }.get(status)
    if stamp:
        run[stamp] = now
    if status != "expired":
        run["expires_at"] = None
    run.update(fields)
    return run


# -- the machine -----------------------------------------------------------------------
@dataclass
class _Item:
    kind: str
    step: Obj
    message: Obj | None = None
    # Responses content_index -> Assistants content index, and per-block streaming state
    blocks: dict[int, int] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)
    inserted: dict[int, int] = field(default_factory=dict)  # marker chars added per block
    call_index: int = 0


class RunMachine:
    """One segment of one run: feed it Responses events, perform the effects it returns."""

    def __init__(
        self,
        run: Obj,
        state: Obj,
        *,
        new_id: Callable[[str], str],
        include_file_search_content: bool = False,
    ) -> None:
        self.run = run
        self.state = state
        self.new_id = new_id
        self.include_content = include_file_search_content
        self.items: dict[int, _Item] = {}
        self.held: _Item | None = None  # done item whose step closes at the next item / end
        self.fn_item: _Item | None = None  # this turn's function tool_calls step
        self.fn_calls: list[Obj] = []
        self.open_steps: list[Obj] = []
        self.open_messages: list[Obj] = []
        self.file_ids: dict[str, str] = {}  # container file id / image url -> file-… id
        self.reasoning: list[Obj] = []  # reasoning items done, waiting for the item they precede
        self.response_id: str | None = None
        self.finished = False

    # -- run level ---------------------------------------------------------------------
    def start(self, now: int) -> list[Effect]:
        """queued -> in_progress (started_at refreshed on every segment, as the API did)."""
        prev = self.run["status"]
        self.run.update(status=advance(prev, "start"), started_at=now)
        return [
            Transition(run := _snap(self.run), (prev,), self.state),
            Emit("thread.run.in_progress", run),
        ]

    def _terminal(
        self, status: str, now: int, *, message_reason: str | None = None, **fields: Any
    ) -> list[Effect]:
        self.finished = True
        effects = self._close_held(None)
        effects += close_open(
            self.open_steps,
            self.open_messages,
            status,
            now,
            last_error=fields.get("last_error"),
            message_reason=message_reason,
        )
        # from whichever status of a running segment the table lets this ending leave
        from_ = tuple(
            s for s in ("in_progress", "cancelling") if (s, _ENDING[status]) in TRANSITIONS
        )
        end_run(self.run, status, now, **fields)
        effects += [
            Transition(run := _snap(self.run), from_, self.state),
            Emit(f"thread.run.{status}", run),
        ]
        return effects

    def fail(self, last_error: Obj, now: int) -> list[Effect]:
        """The upstream failed: run failed with ``last_error``, open work closed."""
        return self._terminal("failed", now, last_error=last_error)

    def cancel(self, now: int) -> list[Effect]:
        """Cancellation observed: cancelling -> cancelled, open work cancelled."""
        effects: list[Effect] = []
        if self.run["status"] != "cancelling":
            self.run["status"] = advance(self.run["status"], "cancel")
            effects.append(Emit("thread.run.cancelling", _snap(self.run)))
        return effects + self._terminal("cancelled", now)

    def exhausted(self, reason: str, now: int) -> list[Effect]:
        """A token budget ran out before calling upstream: run incomplete."""
        return self._terminal("incomplete", now, incomplete_details={"reason": reason})

    # -- upstream events ---------------------------------------------------------------
    def feed(self, ev: Obj, now: int) -> list[Effect]:
        """Translate one Responses stream event (a JSON dict)."""
        kind = ev.get("type", "")
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is None:
            return []  # unknown or uninteresting events (reasoning deltas, progress markers)
        effects: list[Effect] = handler(ev, now)
        return effects

    def _on_response_created(self, ev: Obj, now: int) -> list[Effect]:
        self.response_id = (ev.get("response") or {}).get("id")
        if self.response_id:
            self.state.setdefault("response_ids", []).append(self.response_id)
        return []

    def _new_step(self, details: Obj, now: int) -> tuple[Obj, list[Effect]]:
        step = _objects.step(self.new_id("step"), now, self.run, details)
        self.open_steps.append(step)
        shown = _snap(step)
        if details["type"] == "tool_calls":
            # Tool calls are opened by their first delta (id, type, name once): the SDK
            # concatenates strings, so a call already in the snapshot would get them twice.
            shown["step_details"]["tool_calls"] = []
        return step, [
            Insert("step", _snap(step)),
            Emit("thread.run.step.created", shown),
            Emit("thread.run.step.in_progress", shown),
        ]

    def _close_held(self, usage: Obj | None) -> list[Effect]:
        item, self.held = self.held, None
        if item is None:
            return []
        return self._complete_step(item.step, usage)

    def _complete_step(self, step: Obj, usage: Obj | None) -> list[Effect]:
        step.update(status="completed", completed_at=step.get("completed_at") or step["created_at"])
        step["usage"] = usage or usage_from_response(None)
        if step in self.open_steps:
            self.open_steps.remove(step)
        shown = _objects.public_step(_snap(step), self.include_content)
        return [Save("step", _snap(step)), Emit("thread.run.step.completed", shown)]

    def _on_response_output_item_added(self, ev: Obj, now: int) -> list[Effect]:
        item = ev.get("item") or {}
        idx = ev.get("output_index", len(self.items))
        typ = item.get("type")
        effects: list[Effect] = []
        if typ in ("message", "code_interpreter_call", "file_search_call", "function_call"):
            if not (typ == "function_call" and self.fn_item is not None):
                effects += self._close_held(None)
        if typ == "message":
            msg_id = self.new_id("msg")
            self._keep_reasoning(msg_id)
            step, eff = self._new_step(
                {"type": "message_creation", "message_creation": {"message_id": msg_id}}, now
            )
            msg = _objects.message(
                msg_id,
                now,
                self.run["thread_id"],
                {"role": "assistant"},
                run_id=self.run["id"],
                assistant_id=self.run["assistant_id"],
                status="in_progress",
            )
            self.open_messages.append(msg)
            self.items[idx] = _Item("message", step, msg)
            effects += eff
            effects += [
                Insert("message", snap := _snap(msg)),
                Emit("thread.message.created", snap),
                Emit("thread.message.in_progress", snap),
            ]
        elif typ == "function_call":
            if self.fn_item is None:
                step, eff = self._new_step({"type": "tool_calls", "tool_calls": []}, now)
                self.fn_item = _Item("function_call", step)
                effects += eff
            fn = self.fn_item
            call = function_tool_call(item, call_id=item.get("call_id") or self.new_id("call"))
            self._keep_reasoning(call["id"])
            j = len(fn.step["step_details"]["tool_calls"])
            fn.step["step_details"]["tool_calls"].append(call)
            self.items[idx] = _Item("function_call", fn.step, call_index=j)
            effects.append(self._step_delta(fn.step, {**copy.deepcopy(call), "index": j}))
        elif typ == "code_interpreter_call":
            call = {
                "id": self.new_id("call"),
                "type": "code_interpreter",
                "code_interpreter": {"input": "", "outputs": []},
            }
            step, eff = self._new_step({"type": "tool_calls", "tool_calls": [call]}, now)
            self.items[idx] = _Item("code_interpreter_call", step)
            effects += eff
            effects.append(self._step_delta(step, {**copy.deepcopy(call), "index": 0}))
        elif typ == "file_search_call":
            call = {"id": self.new_id("call"), "type": "file_search", "file_search": {}}
            step, eff = self._new_step({"type": "tool_calls", "tool_calls": [call]}, now)
            self.items[idx] = _Item("file_search_call", step)
            effects += eff
            effects.append(self._step_delta(step, {**copy.deepcopy(call), "index": 0}))
        return effects

    def _keep_reasoning(self, before: str) -> None:
        """Keep the reasoning items done since the last message or function call with the
        run, as preceding ``before`` (that message's or call's id): later calls replay them
        there. Hosted tool calls are not replayed: reasoning before one goes with what
        follows it. No effect: they show nowhere, and are saved with the next transition."""
        if not self.reasoning:
            return
        kept = self.state.setdefault("reasoning", [])
        for item in self.reasoning:
            kept.append(
                {
                    "id": item["id"],
                    "encrypted_content": item["encrypted_content"],
                    "summary": item.get("summary") or [],
                    "before": before,
                    "model": self.run["model"],
                }
            )
        self.reasoning = []

    def _step_delta(self, step: Obj, call_delta: Obj) -> Emit:
        return Emit(
            "thread.run.step.delta",
            {
                "id": step["id"],
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}},
            },
        )

    def _message_delta(self, msg: Obj, block_delta: Obj) -> Emit:
        return Emit(
            "thread.message.delta",
            {
                "id": msg["id"],
                "object": "thread.message.delta",
                "delta": {"content": [block_delta]},
            },
        )

    def _text_block(self, it: _Item, content_index: int) -> tuple[int, Obj, bool]:
        """The Assistants block for a Responses content part; True when newly opened."""
        assert it.message is not None
        if content_index not in it.blocks:
            it.blocks[content_index] = len(it.message["content"])
            it.message["content"].append(_objects.text_block(""))
        k = it.blocks[content_index]
        first = k not in it.opened
        it.opened.add(k)
        return k, it.message["content"][k], first

    def _on_response_output_text_delta(self, ev: Obj, now: int) -> list[Effect]:
        it = self.items.get(ev.get("output_index", -1))
        if it is None or it.message is None:
            return []
        k, block, first = self._text_block(it, ev.get("content_index", 0))
        text = ev.get("delta", "")
        block["text"]["value"] += text
        delta: Obj = {"index": k, "type": "text", "text": {"value": text}}
        if first:
            delta["text"]["annotations"] = []
        return [self._message_delta(it.message, delta)]

    def _on_response_output_text_annotation_added(self, ev: Obj, now: int) -> list[Effect]:
        it = self.items.get(ev.get("output_index", -1))
        if it is None or it.message is None:
            return []
        k, block, first = self._text_block(it, ev.get("content_index", 0))
        text = block["text"]
        found = annotation_from_stream(
            ev.get("annotation") or {},
            text=text,
            output_index=ev.get("output_index", 0),
            shift=it.inserted.get(k, 0),
            file_ids=self.file_ids,
        )
        if found is None:
            return []
        out, marker = found
        a = len(text["annotations"])
        delta_text: Obj = {"annotations": [{"index": a, **out}]}
        if marker:
            text["value"] += marker
            it.inserted[k] = it.inserted.get(k, 0) + len(marker)
            delta_text = {"value": marker, **delta_text}
        text["annotations"].append(out)
        if first:
            delta_text.setdefault("annotations", [])
        return [self._message_delta(it.message, {"index": k, "type": "text", "text": delta_text})]

    def _on_response_refusal_delta(self, ev: Obj, now: int) -> list[Effect]:
        it = self.items.get(ev.get("output_index", -1))
        if it is None or it.message is None:
            return []
        ci = ev.get("content_index", 0)
        if ci not in it.blocks:
            it.blocks[ci] = len(it.message["content"])
            it.message["content"].append({"type": "refusal", "refusal": ""})
        k = it.blocks[ci]
        it.message["content"][k]["refusal"] += ev.get("delta", "")
        return [
            self._message_delta(
                it.message, {"index": k, "type": "refusal", "refusal": ev.get("delta", "")}
            )
        ]

    def _on_response_function_call_arguments_delta(self, ev: Obj, now: int) -> list[Effect]:
        it = self.items.get(ev.get("output_index", -1))
        if it is None or it.kind != "function_call":
            return []
        call = it.step["step_details"]["tool_calls"][it.call_index]
        call["function"]["arguments"] += ev.get("delta", "")
        return [
            self._step_delta(
                it.step,
                {
                    "index": it.call_index,
                    "type": "function",
                    "function": {"arguments": ev.get("delta", "")},
                },
            )
        ]

    def _on_response_code_interpreter_call_code_delta(self, ev: Obj, now: int) -> list[Effect]:
        it = self.items.get(ev.get("output_index", -1))
        if it is None or it.kind != "code_interpreter_call":
            return []
        call = it.step["step_details"]["tool_calls"][0]
        call["code_interpreter"]["input"] += ev.get("delta", "")
        return [
            self._step_delta(
                it.step,
                {
                    "index": 0,
                    "type": "code_interpreter",
                    "code_interpreter": {"input": ev.get("delta", "")},
                },
            )
        ]

    def _on_response_output_item_done(self, ev: Obj, now: int) -> list[Effect]:
        item = ev.get("item") or {}
        if item.get("type") == "reasoning":
            # kept only with its encrypted content (asked for in replay mode): without it,
            # the upstream cannot take it back when it stores nothing
            if item.get("id") and item.get("encrypted_content"):
                self.reasoning.append(item)
            return []
        idx = ev.get("output_index", -1)
        it = self.items.get(idx)
        if it is None:
            return []
        effects: list[Effect] = []
        if it.kind == "message" and it.message is not None:
            msg = it.message
            self._fill_missing_parts(it, item, idx)
            msg["content"] += image_blocks_from_item(
                item, file_ids=self.file_ids, content=msg["content"]
            )
            if item.get("status") == "incomplete":
                msg.update(
                    status="incomplete",
                    incomplete_at=now,
                    incomplete_details={"reason": "max_tokens"},
                )
                event = "thread.message.incomplete"
            else:
                msg.update(status="completed", completed_at=now)
                event = "thread.message.completed"
            self.open_messages.remove(msg)
            snap = _snap(msg)
            effects += [Save("message", snap), Emit(event, snap)]
            it.step["completed_at"] = now
            self.held = it
        elif it.kind == "function_call":
            call = it.step["step_details"]["tool_calls"][it.call_index]
            call["function"]["arguments"] = item.get("arguments", call["function"]["arguments"])
            call["function"]["name"] = item.get("name", call["function"]["name"])
            self.fn_calls.append(item)
        elif it.kind == "code_interpreter_call":
            call = it.step["step_details"]["tool_calls"][0]
            ci = call["code_interpreter"]
            if item.get("code") is not None:
                ci["input"] = item["code"]
            outputs = code_interpreter_outputs(item, file_ids=self.file_ids)
            if outputs:
                ci["outputs"] = outputs
                effects.append(
                    self._step_delta(
                        it.step,
                        {
                            "index": 0,
                            "type": "code_interpreter",
                            "code_interpreter": {
                                "outputs": [{"index": n, **o} for n, o in enumerate(outputs)]
                            },
                        },
                    )
                )
            it.step["completed_at"] = now
            self.held = it
        elif it.kind == "file_search_call":
            call = it.step["step_details"]["tool_calls"][0]
            # content is kept for `include` on later reads; stripped when shown
            call["file_search"] = file_search_from_item(item)
            it.step["completed_at"] = now
            self.held = it
        return effects

    def _fill_missing_parts(self, it: _Item, item: Obj, idx: int) -> None:
        """Use the done item's parts that arrived without deltas."""
        assert it.message is not None
        for ci, part in enumerate(item.get("content") or []):
            if ci in it.blocks:
                continue
            block = content_block_from_part(part, output_index=idx, file_ids=self.file_ids)
            if block is not None:
                it.blocks[ci] = len(it.message["content"])
                it.message["content"].append(block)

    def _turn_usage(self, response: Obj) -> Obj:
        usage = usage_from_response(response.get("usage"))
        self.state["prompt_tokens"] = self.state.get("prompt_tokens", 0) + usage["prompt_tokens"]
        self.state["completion_tokens"] = (
            self.state.get("completion_tokens", 0) + usage["completion_tokens"]
        )
        self.run["usage"] = add_usage(self.run.get("usage"), usage)
        return usage

    def _on_response_completed(self, ev: Obj, now: int) -> list[Effect]:
        response = ev.get("response") or {}
        usage = self._turn_usage(response)
        if self.response_id and "turn_ord" in self.state:
            # The thread's next call may continue from this response (chain mode); saved
            # with the run's transition, so it is in place before anyone sees the run done.
            self.state["chain"] = {
                "response_id": self.response_id,
                "ord": self.state["turn_ord"],
                "model": self.run["model"],
            }
        if self.fn_calls and self.fn_item is not None:
            effects = self._close_held(None)
            self.finished = True
            # The calls' step stays in_progress until outputs arrive; it keeps this usage.
            self.state["pending_step_usage"] = usage
            self.state["pending_step_id"] = self.fn_item.step["id"]
            self.run["status"] = advance(self.run["status"], "require_action")
            self.run["required_action"] = required_action_from_calls(
                self.fn_item.step["step_details"]["tool_calls"]
            )
            effects += [Save("step", _snap(self.fn_item.step))]
            effects += [
                Transition(run := _snap(self.run), ("in_progress",), self.state),
                Emit("thread.run.requires_action", run),
            ]
            return effects
        effects = self._close_held(usage)
        return effects + self._terminal("completed", now)

    def _on_response_incomplete(self, ev: Obj, now: int) -> list[Effect]:
        response = ev.get("response") or {}
        self._turn_usage(response)
        reason = (response.get("incomplete_details") or {}).get("reason")
        run_reason, message_reason = incomplete_reasons(reason)
        effects: list[Effect] = []
        # Messages already marked incomplete at item done keep their reason; fix it up.
        for it in self.items.values():
            if it.message is not None and it.message.get("status") == "incomplete":
                if it.message["incomplete_details"] != {"reason": message_reason}:
                    it.message["incomplete_details"] = {"reason": message_reason}
                    effects.append(Save("message", _snap(it.message)))
        usage = usage_from_response(response.get("usage"))
        effects += self._close_held(usage)
        return effects + self._terminal(
            "incomplete",
            now,
            message_reason=message_reason,
            incomplete_details={"reason": run_reason},
        )

    def _on_response_failed(self, ev: Obj, now: int) -> list[Effect]:
        response = ev.get("response") or {}
        if response.get("usage"):
            self._turn_usage(response)
        err = response.get("error") or {}
        return self.fail(
            last_error_from_upstream(
                status=None, code=err.get("code"), message=err.get("message") or "The run failed."
            ),
            now,
        )

    def _on_error(self, ev: Obj, now: int) -> list[Effect]:
        return self.fail(
            last_error_from_upstream(
                status=None, code=ev.get("code"), message=ev.get("message") or "The run failed."
            ),
            now,
        )

    def stream_ended(self, now: int) -> list[Effect]:
        """The upstream stream closed without a final event: the run failed."""
        if self.finished:
            return []
        return self.fail(
            {"code": "server_error", "message": "The upstream response ended unexpectedly."}, now
        )
