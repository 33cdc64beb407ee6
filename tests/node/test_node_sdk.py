"""The official Node SDK (npm ``openai``, pinned in package.json) drives
`assistants-compat serve`: the tutorial's four flows, a streamed run with AssistantStream
handlers submitting tool outputs, and tenant isolation. flows.mjs is written for the
Assistants API; only ``baseURL`` and ``apiKey`` point at the server.

Skipped when ``tests/node/node_modules`` is missing (``npm ci --prefix tests/node``),
unless ``COMPAT_REQUIRE_NODE=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Running

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HERE = Path(__file__).parent
REQUIRE = os.environ.get("COMPAT_REQUIRE_NODE") == "1"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (HERE / "node_modules" / "openai").is_dir():
        return "tests/node/node_modules is missing (run: npm ci --prefix tests/node)"
    return None


@pytest.fixture(autouse=True)
def _node() -> None:
    reason = _missing()
    if reason is not None:
        if REQUIRE:
            pytest.fail(f"COMPAT_REQUIRE_NODE=1 but {reason}")
        pytest.skip(reason)


def flow(serve: Running, name: str, *args: str, tenant: str = "acme") -> Any:
    env = {**os.environ, "COMPAT_BASE_URL": serve.url, "COMPAT_API_KEY": serve.keys[tenant]}
    out = subprocess.run(
        ["node", "flows.mjs", name, *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_quickstart(serve: Running) -> None:
    got = flow(serve, "quickstart")
    assert got["status"] == "completed"
    assert len(got["answers"]) == 1 and "Jupiter" in got["answers"][0]


def test_code_interpreter(serve: Running) -> None:
    got = flow(serve, "codeInterpreter")
    assert got["status"] == "completed"
    assert "tool_calls" in got["stepTypes"] and "message_creation" in got["stepTypes"]
    assert got["answers"] and got["answers"][0]


def test_conversation_remembers_the_first_turn(serve: Running) -> None:
    got = flow(serve, "conversation")
    assert got["statuses"] == ["completed", "completed"] and got["count"] == 4
    assert "Ada" in got["answers"][0]  # the newest answer first


def test_weather_function_calling(serve: Running) -> None:
    got = flow(serve, "weather")
    assert got["status"] == "completed"
    assert got["calls"] == [["get_weather", {"location": "Paris", "unit": "celsius"}]]
    assert "22.79" in got["answers"][0]


def test_streamed_run_with_handlers_and_tool_outputs(serve: Running) -> None:
    got = flow(serve, "streaming")
    assert got["status"] == "completed"
    assert got["toolCalls"] == ["get_weather"]
    assert got["events"][:2] == ["thread.run.created", "thread.run.queued"]
    assert "thread.run.requires_action" in got["events"]
    assert got["events"][-1] == "thread.run.completed"
    assert "22.79" in got["text"]


def test_another_tenant_cannot_see_the_thread(serve: Running) -> None:
    thread = serve.client("acme").beta.threads.create()
    got = flow(serve, "isolation", thread.id, tenant="globex")
    assert got == {"status": 404, "message": f"No thread found with id '{thread.id}'."}
