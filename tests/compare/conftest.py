"""Recordings for the compare tests: 20 threads as the retired Assistants API exported them.

Each thread is a realistic export (assistant, thread, messages, runs with usage and
timestamps, run steps with function calls and their outputs) written as JSON Lines. Some
recorded answers are what the emulator answers today (unchanged turns), some were worded
differently by the old model (changed turns), some have a tool call whose arguments the
new run will not repeat (needs tool output).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
ASSISTANT_ID = "asst_recorded0000000000000001"
INSTRUCTIONS = "You are a helpful travel assistant."


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class Recorder:
    """Builds one export: objects in the API's wire shape with increasing timestamps."""

    def __init__(self) -> None:
        self.clock = 1_700_000_000
        self.objects: list[dict[str, Any]] = [
            {
                "id": ASSISTANT_ID,
                "object": "assistant",
                "created_at": self.tick(),
                "name": "Travel helper",
                "description": None,
                "model": "gpt-4o",
                "instructions": INSTRUCTIONS,
                "tools": [WEATHER],
                "tool_resources": {},
                "metadata": {},
                "temperature": 1.0,
                "top_p": 1.0,
                "response_format": "auto",
            }
        ]

    def tick(self, n: int = 1) -> int:
        self.clock += n
        return self.clock

    def thread(self) -> str:
        tid = _id("thread")
        self.objects.append(
            {
                "id": tid,
                "object": "thread",
                "created_at": self.tick(),
                "metadata": {},
                "tool_resources": {},
            }
        )
        return tid

    def _message(self, tid: str, role: str, text: str, run_id: str | None = None) -> str:
        mid = _id("msg")
        self.objects.append(
            {
                "id": mid,
                "object": "thread.message",
                "created_at": self.tick(),
                "thread_id": tid,
                "role": role,
                "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
                "assistant_id": ASSISTANT_ID if role == "assistant" else None,
                "run_id": run_id,
                "attachments": [],
                "metadata": {},
                "status": "completed",
            }
        )
        return mid

    def turn(
        self,
        tid: str,
        user: str,
        answer: str,
        *,
        calls: list[tuple[dict[str, Any], str]] = (),  # type: ignore[assignment]
        seconds: int = 3,
        usage: tuple[int, int] = (120, 30),
    ) -> None:
        self._message(tid, "user", user)
        rid = _id("run")
        start = self.tick()
        if calls:
            self.objects.append(
                {
                    "id": _id("step"),
                    "object": "thread.run.step",
                    "created_at": self.tick(),
                    "run_id": rid,
                    "thread_id": tid,
                    "assistant_id": ASSISTANT_ID,
                    "type": "tool_calls",
                    "status": "completed",
                    "step_details": {
                        "type": "tool_calls",
                        "tool_calls": [
                            {
                                "id": _id("call"),
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": json.dumps(args),
                                    "output": output,
                                },
                            }
                            for args, output in calls
                        ],
                    },
                }
            )
        mid = self._message(tid, "assistant", answer, rid)
        self.objects.append(
            {
                "id": _id("step"),
                "object": "thread.run.step",
                "created_at": self.tick(),
                "run_id": rid,
                "thread_id": tid,
                "assistant_id": ASSISTANT_ID,
                "type": "message_creation",
                "status": "completed",
                "step_details": {
                    "type": "message_creation",
                    "message_creation": {"message_id": mid},
                },
            }
        )
        self.objects.append(
            {
                "id": rid,
                "object": "thread.run",
                "created_at": start,
                "started_at": start,
                "completed_at": self.tick(start + seconds - self.clock),
                "thread_id": tid,
                "assistant_id": ASSISTANT_ID,
                "status": "completed",
                "model": "gpt-4o",
                "instructions": INSTRUCTIONS,
                "tools": [WEATHER],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": sum(usage),
                },
                "metadata": {},
            }
        )


def build_recordings() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """20 recorded threads; returns the export objects and each thread's kind."""
    rec = Recorder()
    kinds: dict[str, str] = {}
    cities = ["Paris", "Tokyo", "Lisbon", "Oslo", "Cairo"]
    for i in range(20):
        tid = rec.thread()
        kind = ["echo", "weather", "name", "reworded"][i % 4]
        if i == 19:
            kind = "needs_tool"
        kinds[tid] = kind
        city = cities[i % len(cities)]
        if kind == "echo":
            text = f"Please note booking reference {1000 + i}"
            rec.turn(tid, text, f"You said: {text}", usage=(40, 10))
        elif kind == "weather":
            out = f"{15 + i} C and sunny"
            rec.turn(
                tid,
                f"What is the weather in {city}?",
                f"Here is what I found: {out}",
                calls=[({"location": city}, out)],
                usage=(150, 25),
            )
        elif kind == "name":
            rec.turn(tid, f"My name is Guest{i}", f"You said: My name is Guest{i}")
            rec.turn(tid, "What is my name?", f"Your name is Guest{i}.", usage=(90, 8))
        elif kind == "reworded":
            text = f"Suggest a day trip from {city}"
            rec.turn(
                tid,
                text,
                f"A lovely day trip from {city} would be the old town and its museums.",
                seconds=5,
                usage=(60, 200),
            )
        else:
            # The old model sent "Bergen, Norway"; a new run sending "Bergen" finds no
            # recorded output for its call.
            rec.turn(
                tid,
                "What is the weather in Bergen?",
                "Here is what I found: 7 C and rain",
                calls=[({"location": "Bergen, Norway"}, "7 C and rain")],
            )
    return rec.objects, kinds


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``(export.jsonl, {thread_id: kind})`` for the 20 recorded threads."""
    objects, kinds = build_recordings()
    path = tmp_path_factory.mktemp("recordings") / "export.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path, kinds


@dataclass
class Compared:
    """One ``compare`` CLI run over the 20 recordings (shared by the CLI and browser tests)."""

    rc: int
    out: Path
    data: dict[str, Any]
    kinds: dict[str, str]
    fail_under: float
    max_cost_increase: float


@pytest.fixture(scope="session")
def compared(
    recordings: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Compared:
    """``assistants-compat compare`` of the recordings: the recorded baseline (added by
    itself), gpt-4o and gpt-5-mini on the bundled emulator, gpt-5-mini priced high so that
    its cost grows past the threshold."""
    from compat.cli import main

    export, kinds = recordings
    tmp = tmp_path_factory.mktemp("compare")
    prices = tmp / "prices.json"
    prices.write_text(json.dumps({"gpt-5-mini": {"input": 30.0, "output": 120.0}}))
    out = tmp / "report"
    fail_under, max_inc = 0.9, 50.0
    rc = main(
        [
            "compare",
            str(export),
            "--variant",
            "gpt4o:model=gpt-4o",
            "--variant",
            "gpt5:model=gpt-5-mini",
            "--prices",
            str(prices),
            "--fail-under",
            str(fail_under),
            "--max-cost-increase",
            str(max_inc),
            "--offline",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    data = json.loads((out / "report.json").read_text())
    return Compared(rc, out, data, kinds, fail_under, max_inc)
