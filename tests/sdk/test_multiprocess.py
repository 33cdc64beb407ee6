"""Several processes sharing one database URL: data and runs cross process boundaries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import compat
from tests.sdk.test_runs import WEATHER_TOOL

ROOT = Path(__file__).resolve().parents[2]


def run_in_child(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line, returned parsed."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**__import__("os").environ, **env},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_another_process_reads_and_continues_a_run(db_url: str, emulator: Any) -> None:
    c = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0)
    a = c.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    t = c.beta.threads.create(
        messages=[{"role": "user", "content": "What's the weather in Paris?"}]
    )
    run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id

    child = run_in_child(
        f"""
        import json, compat
        c = compat.OpenAI(
            base_url={emulator.base_url!r}, api_key="sk-test", store={db_url!r}, max_retries=0
        )
        a = c.beta.assistants.retrieve({a.id!r})
        msgs = [m.content[0].text.value for m in c.beta.threads.messages.list({t.id!r})]
        run = c.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id={t.id!r}, run_id={run.id!r},
            tool_outputs=[{{"tool_call_id": {call_id!r}, "output": "from the other process"}}])
        print(json.dumps({{"assistant": a.id, "messages": msgs, "status": run.status}}))
        """
    )
    assert child == {
        "assistant": a.id,
        "messages": ["What's the weather in Paris?"],
        "status": "completed",
    }
    back = c.beta.threads.runs.retrieve(run.id, thread_id=t.id)
    assert back.status == "completed"
    answer = c.beta.threads.messages.list(t.id).data[0].content[0].text.value
    assert "from the other process" in answer


def test_one_active_run_per_thread_across_processes(db_url: str, emulator: Any) -> None:
    c = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0)
    a = c.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    t = c.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Oslo?"}])
    run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "requires_action"  # active until outputs arrive
    child = run_in_child(
        f"""
        import json, openai, compat
        c = compat.OpenAI(
            base_url={emulator.base_url!r}, api_key="sk-test", store={db_url!r}, max_retries=0
        )
        try:
            c.beta.threads.runs.create(thread_id={t.id!r}, assistant_id={a.id!r})
            print(json.dumps({{"error": None}}))
        except openai.BadRequestError as e:
            print(json.dumps({{"error": e.message}}))
        """
    )
    assert f"already has an active run {run.id}" in child["error"]
    assert len(c.beta.threads.runs.list(t.id).data) == 1


def test_cancel_from_another_process(db_url: str, emulator: Any) -> None:
    emulator.delta_delay = 0.2
    emulator.enqueue(text=" ".join(f"w{i}" for i in range(40)))
    c = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": "long"}])
    run = c.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    child = run_in_child(
        f"""
        import json, time, compat
        c = compat.OpenAI(
            base_url={emulator.base_url!r}, api_key="sk-test", store={db_url!r}, max_retries=0
        )
        while c.beta.threads.runs.retrieve({run.id!r}, thread_id={t.id!r}).status != "in_progress":
            time.sleep(0.05)
        r = c.beta.threads.runs.cancel({run.id!r}, thread_id={t.id!r})
        print(json.dumps({{"status": r.status}}))
        """
    )
    assert child == {"status": "cancelling"}
    final = c.beta.threads.runs.poll(run.id, t.id)
    assert final.status == "cancelled"
