"""Several `assistants-compat serve` processes (one with --workers 2) on one PostgreSQL
database act as one server: a run started through one is polled, streamed and cancelled
through another. Their logs are JSON lines with request ids and no content or keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from compat.server import create_key
from compat.store import Store
from tests.sdk.test_runs import WEATHER_TOOL
from tests.server.conftest import free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the-secret-word-is-zanzibar"
UPSTREAM_KEY = "sk-upstream-never-logged"


def _start(
    db_url: str, emulator: Any, log: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "OPENAI_API_KEY": UPSTREAM_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "compat.cli", "serve", "--port", str(port), "--database", db_url]
        + ["--upstream-base-url", emulator.base_url, "--shutdown-wait", "10", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_healthy(root: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # spawned workers import everything afresh
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{root}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{root} never became healthy")


@pytest.fixture
def two_servers(
    db_url: str, emulator: Any, tmp_path: Path
) -> Iterator[tuple[openai.OpenAI, openai.OpenAI, list[subprocess.Popen[bytes]], list[Path]]]:
    if db_url.startswith("sqlite"):
        pytest.skip("several hosts share PostgreSQL (the deployment this is for)")
    store = Store(db_url)
    key = create_key(store, "acme")[1]
    store.close()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a, root_a = _start(db_url, emulator, logs[0], "--workers", "2")
    b, root_b = _start(db_url, emulator, logs[1])
    procs = [a, b]
    try:
        _wait_healthy(root_a, a)
        _wait_healthy(root_b, b)
        yield (
            openai.OpenAI(base_url=f"{root_a}/v1", api_key=key, max_retries=0),
            openai.OpenAI(base_url=f"{root_b}/v1", api_key=key, max_retries=0),
            procs,
            logs,
        )
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_a_run_started_through_one_server_is_served_by_another(
    two_servers: Any, emulator: Any
) -> None:
    via_a, via_b, procs, logs = two_servers
    asst = via_a.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    t = via_a.beta.threads.create(messages=[{"role": "user", "content": f"Say {SECRET}"}])
    # started through A, polled through B
    run = via_a.beta.threads.runs.create(thread_id=t.id, assistant_id=asst.id)
    run = via_b.beta.threads.runs.poll(thread_id=t.id, run_id=run.id)
    assert run.status == "completed"
    assert SECRET in via_b.beta.threads.messages.list(thread_id=t.id).data[0].content[0].text.value  # type: ignore[union-attr]

    # requires_action through A, tool outputs streamed through B
    via_a.beta.threads.messages.create(t.id, role="user", content="What's the weather in Paris?")
    run = via_a.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=asst.id)
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    with via_b.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=t.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "21C"}]
    ) as stream:
        events = [e.event for e in stream]
    assert events[-1] == "thread.run.completed"

    # a slow run started through B, cancelled through A
    emulator.delta_delay = 0.2
    via_b.beta.threads.messages.create(t.id, role="user", content="Tell me a long story")
    run = via_b.beta.threads.runs.create(thread_id=t.id, assistant_id=asst.id)
    time.sleep(0.5)
    assert via_a.beta.threads.runs.cancel(thread_id=t.id, run_id=run.id).status in (
        "cancelling",
        "cancelled",
    )
    assert via_a.beta.threads.runs.poll(thread_id=t.id, run_id=run.id).status == "cancelled"
    emulator.delta_delay = 0.0

    # /metrics of the two-worker server counts the server's requests, whichever worker
    # answers (how workers add up: test_metrics_of_workers_add_up)
    root_a = str(via_a.base_url).rstrip("/").removesuffix("/v1")
    auth = {"Authorization": f"Bearer {via_a.api_key}"}
    with ThreadPoolExecutor(10) as pool:  # new connections at once
        answers = list(
            pool.map(lambda _: httpx.get(f"{root_a}/v1/assistants", headers=auth), range(40))
        )
    assert all(r.status_code == 200 for r in answers)
    listed = 'compat_requests_total{method="GET",route="/v1/assistants",status="200"} 40.0'
    for _ in range(4):
        text = httpx.get(f"{root_a}/metrics").text
        assert listed in text and 'compat_runs{status="cancelled"} 1.0' in text

    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        # uvicorn shuts down gracefully, then ends by the signal it caught
        assert p.wait(30) in (0, -signal.SIGTERM)
    lines = [json.loads(x) for log in logs for x in log.read_text().splitlines()]
    requests = [x for x in lines if x["msg"] == "request"]
    assert len(requests) >= 10 and all(x["request_id"].startswith("req_") for x in requests)
    assert {x["tenant"] for x in requests} == {"acme"}
    text = "\n".join(log.read_text() for log in logs)
    assert SECRET not in text and UPSTREAM_KEY not in text


def test_metrics_of_workers_add_up(tmp_path: Path) -> None:
    """Each worker records into the shared directory ``serve --workers`` sets up; a scrape
    answered by any of them shows the sum (not that worker's share)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "from compat.server.metrics import Metrics\n"
        "m = Metrics()\n"
        "for _ in range({n}): m.request('GET', '/v1/assistants', 200)\n"
        "m.upstream('/responses', 0.2)\n"
    )
    for n in (3, 4):  # two workers, one after the other
        subprocess.run([sys.executable, "-c", worker.format(n=n)], env=env, check=True)
    scrape = "from compat.server.metrics import Metrics\nprint(Metrics().render({}).decode())"
    out = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert 'compat_requests_total{method="GET",route="/v1/assistants",status="200"} 7.0' in out
    assert 'compat_upstream_latency_seconds_count{path="/responses"} 2.0' in out
