"""Load and fault tests on real databases: several processes at once, connections killed,
the database gone for a few seconds. Bounded in time; what they assert is deterministic
(counts afterwards, the shape of every error, no run left active)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

import compat
from compat import Options

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import collections, json, sys, threading, logging
logging.disable(logging.CRITICAL)
import compat, openai
base, url, assistant, threads, turns, lease = sys.argv[1:7]
c = compat.OpenAI(base_url=base, api_key="sk-test", store=url, max_retries=4,
                  compat_options=compat.Options(lease_seconds=float(lease)))
c.beta.assistants.retrieve(assistant)  # connected: the faults start after this
print("ready", flush=True)
out = collections.Counter(); ids = []; lock = threading.Lock()
def work():
    for n in range(int(turns)):
        try:
            t = c.beta.threads.create(metadata={"load": "1"})
            with lock: ids.append(t.id)
            c.beta.threads.messages.create(t.id, role="user", content=f"hello {n}")
            r = c.beta.threads.runs.create_and_poll(
                thread_id=t.id, assistant_id=assistant, poll_interval_ms=50)
            with lock: out["run_" + r.status] += 1
        except openai.APIStatusError as e:
            body = e.body if isinstance(e.body, dict) else {}
            with lock: out[f"http_{e.status_code}_{body.get('type')}"] += 1
        except Exception as e:  # anything else is a defect the test reports
            with lock: out["exception_" + type(e).__name__] += 1
ts = [threading.Thread(target=work) for _ in range(int(threads))]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"counts": out, "threads": ids}))
"""


def run_workers(
    emulator: Any,
    db_url: str,
    assistant_id: str,
    procs: int,
    threads: int,
    turns: int,
    lease_seconds: float = 2.0,
) -> list[subprocess.Popen[str]]:
    """Start the worker processes; returns once each is connected and working."""
    args = [emulator.base_url, db_url, assistant_id, str(threads), str(turns), str(lease_seconds)]
    started = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(procs)
    ]
    for p in started:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return started


def collect(procs: list[subprocess.Popen[str]]) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    thread_ids: list[str] = []
    for p in procs:
        # read through the text wrappers: `readline` above may have buffered the rest
        # already, which communicate() (reading the raw pipes) would miss
        assert p.stdout is not None and p.stderr is not None
        out, err = p.stdout.read(), p.stderr.read()
        p.wait(timeout=180)
        assert p.returncode == 0, err[-2000:]
        result = json.loads(out.strip().splitlines()[-1])
        for k, v in result["counts"].items():
            counts[k] = counts.get(k, 0) + v
        thread_ids += result["threads"]
    return counts, thread_ids


def client_for(emulator: Any, db_url: str) -> compat.OpenAI:
    return compat.OpenAI(
        base_url=emulator.base_url,
        api_key="sk-test",
        store=db_url,
        max_retries=4,
        compat_options=Options(lease_seconds=2),
    )


def check_store(c: compat.OpenAI, thread_ids: list[str]) -> None:
    """Every thread is whole: no run active, each completed run has its reply after the
    message it answered, nothing duplicated."""
    deadline = time.monotonic() + 15  # runs handed over by a fault end within leases
    for tid in thread_ids:
        runs = list(c.beta.threads.runs.list(tid))
        while any(r.status in ("queued", "in_progress", "cancelling") for r in runs):
            assert time.monotonic() < deadline, f"{tid}: run left active"
            time.sleep(0.2)
            runs = list(c.beta.threads.runs.list(tid))
        msgs = list(c.beta.threads.messages.list(tid, order="asc"))
        assert len({m.id for m in msgs}) == len(msgs)
        assert len(runs) <= 1 and sum(m.role == "user" for m in msgs) <= 1
        for r in runs:
            replies = [m for m in msgs if m.run_id == r.id]
            if r.status == "completed":
                assert len(replies) == 1 and msgs[-1].id == replies[0].id


def test_processes_and_threads_at_once_lose_nothing(emulator: Any, db_url: str) -> None:
    c = client_for(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    emulator.latency = 0.01
    counts, thread_ids = collect(run_workers(emulator, db_url, a.id, 4, 4, 3))
    assert counts == {"run_completed": 48}, counts
    assert len(set(thread_ids)) == 48
    check_store(c, thread_ids)


def test_concurrent_runs_on_one_thread_exactly_one_wins(emulator: Any, db_url: str) -> None:
    c = client_for(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    emulator.latency = 2.0  # the winner is still active while the others try
    start_at = time.time() + 4  # every child is up and connected by then
    code = f"""
    import json, time, compat, openai
    c = compat.OpenAI(base_url={emulator.base_url!r}, api_key="k", store={db_url!r},
                      max_retries=0)
    c.beta.threads.retrieve({t.id!r})  # connected
    time.sleep(max(0.0, {start_at!r} - time.time()))
    try:
        r = c.beta.threads.runs.create(thread_id={t.id!r}, assistant_id={a.id!r})
        print(json.dumps({{"won": r.id}}))
    except openai.BadRequestError as e:
        print(json.dumps({{"lost": e.message}}))
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(6)
    ]
    results = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    won = [r["won"] for r in results if "won" in r]
    lost = [r["lost"] for r in results if "lost" in r]
    assert len(won) == 1 and len(lost) == 5
    assert all("already has an active run" in m for m in lost)
    emulator.latency = 0.0
    run = c.beta.threads.runs.poll(thread_id=t.id, run_id=won[0])
    assert run.status == "completed"


@pytest.mark.postgres
def test_connections_killed_mid_load(emulator: Any, pg_database: str) -> None:
    """Every backend connection of the database is terminated twice during the load:
    the pools reconnect, failed requests are retried by the SDK (5xx server_error), and
    no run is left behind."""
    import psycopg

    c = client_for(emulator, pg_database)
    a = c.beta.assistants.create(model="gpt-4o")
    emulator.latency = 0.02
    procs = run_workers(emulator, pg_database, a.id, 3, 4, 4)
    for _ in range(2):
        time.sleep(0.5)
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            terminate_backends(conn, pg_database)
    counts, thread_ids = collect(procs)
    bad = {k: v for k, v in counts.items() if not k.startswith(("run_", "http_5"))}
    assert not bad, counts
    assert all(k in ("run_completed", "run_failed") or k.startswith("http_5") for k in counts)
    assert counts.get("run_completed", 0) >= 40, counts
    check_store(c, thread_ids)


@pytest.mark.postgres
def test_database_down_for_seconds_mid_load(emulator: Any, pg_database: str) -> None:
    """The database refuses connections for 3 s mid-load: callers get 5xx server_error
    bodies (never a traceback or a 200 for what was not stored), nothing is half written,
    and every run ends."""
    import psycopg

    c = client_for(emulator, pg_database)
    a = c.beta.assistants.create(model="gpt-4o")
    emulator.latency = 0.02
    procs = run_workers(emulator, pg_database, a.id, 3, 3, 4)
    dbname = pg_database.rsplit("/", 1)[1].split("?")[0]
    time.sleep(0.3)
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        terminate_backends(conn, pg_database)
        time.sleep(3.0)
        conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    counts, thread_ids = collect(procs)
    assert all(k in ("run_completed", "run_failed") or k.startswith("http_5") for k in counts), (
        counts
    )
    assert all(k.endswith("server_error") for k in counts if k.startswith("http_5")), counts
    check_store(c, [t for t in thread_ids if _exists(c, t)])


def admin_dsn() -> str:
    from tests.conftest import PG_URL

    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def terminate_backends(conn: Any, url: str) -> None:
    """End every server connection to the database ``url`` names (but ``conn``)."""
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (url.rsplit("/", 1)[1].split("?")[0],),
    )


def _exists(c: compat.OpenAI, thread_id: str) -> bool:
    try:
        c.beta.threads.retrieve(thread_id)
        return True
    except openai.NotFoundError:
        return False


def test_sqlite_file_locked_by_another_process_for_seconds(emulator: Any, tmp_path: Path) -> None:
    """Another process holds the SQLite file's write lock for 2 s mid-load: writers wait
    (busy timeout) instead of failing; every turn completes."""
    import sqlite3

    url = f"sqlite:///{tmp_path}/locked.db"
    c = client_for(emulator, url)
    a = c.beta.assistants.create(model="gpt-4o")
    # a lock shorter than the runs' lease (as in production: 15 s): with a lease as short as
    # the lock, a lapse is legitimate and another worker would rightly fail the run
    procs = run_workers(emulator, url, a.id, 3, 3, 3, lease_seconds=6.0)
    time.sleep(0.3)
    con = sqlite3.connect(tmp_path / "locked.db", isolation_level=None, timeout=30)
    con.execute("BEGIN EXCLUSIVE")
    time.sleep(2.0)
    con.execute("COMMIT")
    con.close()
    counts, thread_ids = collect(procs)
    assert counts == {"run_completed": 27}, counts
    check_store(c, thread_ids)


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Any:
    """A fresh PostgreSQL database (not a schema: the outage test closes it to connections)."""
    from tests.conftest import PG_URL, REQUIRE_PG, _postgres_reason

    reason = _postgres_reason()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"COMPAT_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    import psycopg

    name = "compat_fault_" + secrets.token_hex(5)
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    yield url
    import compat.store as store

    s = store._open.pop(url, None)
    if s is not None:
        s.close()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


_ = threading  # the workers run threads in their own processes


def test_faults_driven_from_another_process(tmp_path: Path) -> None:
    """The emulator served by ``assistants-compat emulator`` takes scripted faults from
    another process (EmulatorControl): upstream 500, 429, a slow answer past the client's
    timeout and a dropped stream each end the run failed, and the thread goes on."""
    import socket

    from compat.testing import EmulatorControl

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "compat.cli", "emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None and "listening" in server.stdout.readline()
        base = f"http://127.0.0.1:{port}/v1"
        control = EmulatorControl(base)
        c = compat.OpenAI(
            base_url=base, api_key="sk-test", store=f"sqlite:///{tmp_path}/f.db", max_retries=0
        )
        a = c.beta.assistants.create(model="gpt-4o")
        t = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        faults = [
            ({"status_error": [500, "upstream broke", None]}, "server_error"),
            ({"status_error": [429, "slow down", "rate_limit_exceeded"]}, "rate_limit_exceeded"),
            ({"text": "one two three four five six", "disconnect_after": 5}, "server_error"),
        ]
        for fault, code in faults:
            control.enqueue(**fault)
            run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
            assert run.status == "failed" and run.last_error.code == code, fault
        control.enqueue(delay=3.0)  # slower than the client's timeout
        slow = compat.OpenAI(
            base_url=base,
            api_key="sk-test",
            store=f"sqlite:///{tmp_path}/f.db",
            max_retries=0,
            timeout=1.0,
        )
        run = slow.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "failed" and run.last_error.code == "server_error"
        control.reset()
        run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "completed"
        seen = control.requests()
        assert seen and seen[-1]["model"] == "gpt-4o", (seen, run)
    finally:
        server.terminate()
        server.communicate(timeout=10)
