"""The examples/ scripts run offline (``python -m compat.cli offline``) and print their answers.

Every script runs once, in parallel, in a child process against a fresh emulator and its own
SQLite file; each test then checks one script's exit status and output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAMES = [
    "quickstart",
    "code_interpreter",
    "conversation",
    "weather",
    "streaming_chat",
    "async_chat",
]
# Variables the offline CLI sets (or the weather example reads) must not leak in from outside.
DROPPED_ENV = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "COMPAT_DATABASE_URL", "WEATHER_API_KEY"}
TIMEOUT = 90

Results = dict[str, subprocess.CompletedProcess[str]]


def _run(name: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [
        sys.executable,
        "-m",
        "compat.cli",
        "offline",
        "--database",
        f"sqlite:///{tmp / name}.db",
        str(EXAMPLES / f"{name}.py"),
    ]
    try:
        return subprocess.run(
            cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(cmd, -1, out, err + f"\n[timed out after {TIMEOUT}s]")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    tmp = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=len(NAMES)) as pool:
        futures = {name: pool.submit(_run, name, tmp) for name in NAMES}
        return {name: f.result() for name, f in futures.items()}


def _output(results: Results, name: str) -> str:
    proc = results[name]
    assert proc.returncode == 0, (
        f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    stderr = proc.stderr
    assert "Traceback" not in stderr, stderr
    return proc.stdout


def _lines(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(prefix)]


def test_quickstart_lists_the_planets(results: Results) -> None:
    out = _output(results, "quickstart")
    assert re.search(r"^Assistant created with ID: asst_\w+$", out, re.M)
    assert re.search(r"^Thread created with ID: thread_\w+$", out, re.M)
    assert re.search(r"^Message added to thread: msg_\w+$", out, re.M)
    assert re.search(r"^Run created with ID: run_\w+$", out, re.M)
    assert _lines(out, "Run status: ")[-1] == "Run status: completed"
    [answer] = _lines(out, "Assistant: ")
    for planet in ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"):
        assert planet in answer


def test_code_interpreter_answers_with_python_code(results: Results) -> None:
    out = _output(results, "code_interpreter")
    assert len(_lines(out, "Assistant: ")) == 1
    assert "```python\ndef is_prime(n):" in out


def test_conversation_remembers_name_and_topic(results: Results) -> None:
    out = _output(results, "conversation")
    [r1] = _lines(out, "Response 1: ")
    [r2] = _lines(out, "Response 2: ")
    assert "No response received." not in r1
    assert "Alex" in r2 and "AI" in r2


def test_weather_tool_output_reaches_the_model(results: Results) -> None:
    out = _output(results, "weather")
    [answer] = _lines(out, "Assistant: ")
    assert "22.79" in answer and "Paris" in answer and "celsius" in answer


def test_streaming_chat_streams_both_turns(results: Results) -> None:
    out = _output(results, "streaming_chat")
    assert "assistant > tool call: get_weather" in out
    answers = _lines(out, "assistant > ")
    assert any("22.79" in a and "Tokyo" in a for a in answers)
    assert any("umbrella" in a for a in answers)
    runs = re.findall(r"^\[run run_\w+: (\w+)\]$", out, re.M)
    assert runs == ["completed", "completed"]


def test_async_chat_polls_then_streams(results: Results) -> None:
    out = _output(results, "async_chat")
    assert _lines(out, "Run 1 status: ") == ["Run 1 status: completed"]
    assert _lines(out, "Run 2 status: ") == ["Run 2 status: completed"]
    [r1] = _lines(out, "Response 1: ")
    [r2] = _lines(out, "Response 2: ")
    assert "Alex" in r1
    assert "Alex" in r2 and "AI" in r2
