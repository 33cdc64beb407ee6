"""Runs owned through the store: a process that dies, exits or is killed never leaves a run
behind. Each test kills (or ends) a real child process and checks what another client of
the same database sees, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import compat
from compat import Options

ROOT = Path(__file__).resolve().parents[2]
LEASE = 1.0  # seconds: takeover within LEASE + LEASE / 3 (+ the test's polling)
LONG = "Tell me a story " + " ".join(f"word{i}" for i in range(60))

CHILD_HEAD = """
import json, os, signal, sys, time
import compat
c = compat.OpenAI(base_url={base!r}, api_key="sk-test", store={db!r}, max_retries=0,
                  compat_options=compat.Options(lease_seconds={lease}))
def say(**kw):
    print(json.dumps(kw), flush=True)
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def wait_started(thread_id, run_id):
    while c.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id).status == "queued":
        time.sleep(0.02)
"""


def start_child(
    code: str, emulator: Any, db_url: str, *, lease: float = LEASE
) -> subprocess.Popen[str]:
    head = CHILD_HEAD.format(base=emulator.base_url, db=db_url, lease=lease)
    return subprocess.Popen(
        [sys.executable, "-c", head + textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def finish_child(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, list[Any]]:
    out, err = proc.communicate(timeout=timeout)
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return proc.returncode, lines


def survivor(emulator: Any, db_url: str) -> compat.OpenAI:
    return compat.OpenAI(
        base_url=emulator.base_url,
        api_key="sk-test",
        store=db_url,
        max_retries=0,
        compat_options=Options(lease_seconds=LEASE),
    )


def wait_terminal(c: compat.OpenAI, thread_id: str, run_id: str, limit: float) -> Any:
    deadline = time.monotonic() + limit
    while True:
        run = c.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id)
        if run.status not in ("queued", "in_progress", "cancelling"):
            return run
        assert time.monotonic() < deadline, f"run still {run.status} after {limit} s"
        time.sleep(0.1)


def continues(c: compat.OpenAI, thread_id: str, assistant_id: str) -> None:
    """The thread takes messages and runs again, and the new run completes."""
    c.beta.threads.messages.create(thread_id=thread_id, role="user", content="again")
    run = c.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"


def creating_child(
    emulator: Any,
    db_url: str,
    thread_id: str,
    assistant_id: str,
    *,
    then: str = "",
    last: str = "",
    lease: float = LEASE,
) -> subprocess.Popen[str]:
    """A child process that creates a run, runs the code ``then``, says the run's id, and
    runs ``last``."""
    return start_child(
        f"""
        run = c.beta.threads.runs.create(thread_id={thread_id!r}, assistant_id={assistant_id!r})
        {then}
        say(run=run.id)
        {last}
        """,
        emulator,
        db_url,
        lease=lease,
    )


def killed_run(
    emulator: Any,
    db_url: str,
    thread_id: str,
    assistant_id: str,
    *,
    then: str = "",
    lease: float = LEASE,
) -> str:
    """A child process (holding runs for ``lease`` seconds) that creates a run, runs the code
    ``then`` and is killed (SIGKILL); the run's id."""
    proc = creating_child(
        emulator, db_url, thread_id, assistant_id, then=then, last="die()", lease=lease
    )
    code, lines = finish_child(proc)
    assert code == -9
    return str(lines[0]["run"])


#: child code: wait until the run is executing and has written part of its reply
WRITING = """wait_started(run.thread_id, run.id)
        while not c.beta.threads.messages.list(run.thread_id, run_id=run.id).data:
            time.sleep(0.02)"""


@pytest.fixture
def setup(emulator: Any, db_url: str) -> tuple[compat.OpenAI, str, str]:
    c = survivor(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": LONG}])
    return c, a.id, t.id


def test_killed_mid_run_is_failed_and_thread_continues(
    setup: Any, emulator: Any, db_url: str
) -> None:
    c, assistant_id, thread_id = setup
    emulator.delta_delay = 0.05  # a long answer: the run is still streaming when killed
    run_id = killed_run(emulator, db_url, thread_id, assistant_id, then=WRITING)
    emulator.delta_delay = 0.0
    t0 = time.monotonic()
    run = wait_terminal(c, thread_id, run_id, limit=LEASE * 3 + 5)
    assert time.monotonic() - t0 < LEASE * 3 + 5
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "interrupted" in run.last_error.message
    # what the dead process left open is closed, not left in_progress
    steps = list(c.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run_id))
    assert steps and all(s.status != "in_progress" for s in steps)
    msgs = [m for m in c.beta.threads.messages.list(thread_id=thread_id) if m.run_id == run_id]
    assert msgs and all(m.status == "incomplete" for m in msgs)
    continues(c, thread_id, assistant_id)


def test_killed_mid_stream_is_failed(setup: Any, emulator: Any, db_url: str) -> None:
    c, assistant_id, thread_id = setup
    emulator.delta_delay = 0.05
    proc = start_child(
        f"""
        T, A = {thread_id!r}, {assistant_id!r}
        with c.beta.threads.runs.stream(thread_id=T, assistant_id=A) as s:
            n = 0
            for ev in s:
                if ev.event == "thread.message.delta":
                    n += 1
                    if n == 3:
                        say(run=s.current_run.id)
                        die()
        """,
        emulator,
        db_url,
    )
    code, lines = finish_child(proc)
    assert code == -9
    emulator.delta_delay = 0.0
    run = wait_terminal(c, thread_id, lines[0]["run"], limit=LEASE * 3 + 5)
    assert run.status == "failed" and run.last_error.code == "server_error"
    continues(c, thread_id, assistant_id)


def test_killed_right_after_create_is_executed_by_another_client(
    setup: Any, emulator: Any, db_url: str
) -> None:
    c, assistant_id, thread_id = setup
    run_id = killed_run(emulator, db_url, thread_id, assistant_id)
    # Nothing to do but wait: the survivor's keeper finds the orphaned queued run.
    run = wait_terminal(c, thread_id, run_id, limit=LEASE * 3 + 5)
    assert run.status == "completed"
    reply = c.beta.threads.messages.list(thread_id=thread_id, run_id=run_id).data
    assert reply and reply[0].content[0].text.value.startswith("You said: Tell me a story")
    continues(c, thread_id, assistant_id)


def test_poll_from_another_process_takes_over(setup: Any, emulator: Any, db_url: str) -> None:
    """A poller does not wait for the keeper: it takes the orphan over itself."""
    c, assistant_id, thread_id = setup
    run_id = killed_run(emulator, db_url, thread_id, assistant_id)
    run = c.beta.threads.runs.poll(thread_id=thread_id, run_id=run_id)
    assert run.status == "completed"


def test_cancel_completes_when_the_owner_is_gone(setup: Any, emulator: Any, db_url: str) -> None:
    c, assistant_id, thread_id = setup
    emulator.delta_delay = 0.05
    # The dead owner's lease must outlast its own teardown and the cancel request below on a
    # loaded machine (with 1 s the survivor's keeper sometimes failed the run first).
    lease = 5.0
    run_id = killed_run(
        emulator,
        db_url,
        thread_id,
        assistant_id,
        then="wait_started(run.thread_id, run.id)",
        lease=lease,
    )
    emulator.delta_delay = 0.0
    # cancelled while the dead owner's lease still holds: the API answers cancelling ...
    run = c.beta.threads.runs.cancel(thread_id=thread_id, run_id=run_id)
    assert run.status == "cancelling"
    # ... and the cancel completes once the lease lapses, with nobody left to execute it
    run = wait_terminal(c, thread_id, run.id, limit=lease * 3 + 5)
    assert run.status == "cancelled"
    continues(c, thread_id, assistant_id)


def test_script_ending_after_create_finishes_its_run(
    setup: Any, emulator: Any, db_url: str
) -> None:
    """A script that exits normally right after runs.create: its run is finished at exit
    (bounded by Options.exit_wait), and the interpreter exits 0."""
    c, assistant_id, thread_id = setup
    proc = creating_child(emulator, db_url, thread_id, assistant_id)
    code, lines = finish_child(proc, timeout=30)
    assert code == 0
    run = c.beta.threads.runs.retrieve(thread_id=thread_id, run_id=lines[0]["run"])
    assert run.status == "completed"


def test_replies_never_misordered_when_processes_take_turns(emulator: Any, db_url: str) -> None:
    """Several processes add messages and run on one thread: every reply answers the last
    user message listed before it (a message is never placed before a reply whose run did
    not see it)."""
    c = survivor(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create()
    code = f"""
    import openai
    def retry(fn):
        while True:
            try:
                return fn()
            except openai.BadRequestError:  # the thread has an active run: take turns
                time.sleep(0.01)
    for n in range(5):
        retry(lambda: c.beta.threads.messages.create(
            thread_id={t.id!r}, role="user", content=f"p{{os.getpid()}} n{{n}}"))
        retry(lambda: c.beta.threads.runs.create_and_poll(
            thread_id={t.id!r}, assistant_id={a.id!r}, poll_interval_ms=20))
    say(ok=n)
    """
    procs = [start_child(code, emulator, db_url) for _ in range(4)]
    for p in procs:
        rc, lines = finish_child(p, timeout=120)
        assert rc == 0, p.stderr
    msgs = list(c.beta.threads.messages.list(thread_id=t.id, order="asc"))
    last_user = None
    misordered = 0
    for m in msgs:
        text = m.content[0].text.value
        if m.role == "user":
            last_user = text
        elif text != f"You said: {last_user}":
            misordered += 1
    assert sum(m.role == "user" for m in msgs) == 20
    assert misordered == 0


def test_database_made_by_the_previous_release_is_upgraded(tmp_path: Path) -> None:
    """A SQLite file with schema version 1 (no lease columns) gains them in place."""
    import sqlite3

    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE compat_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR NOT NULL);
        INSERT INTO compat_meta VALUES ('schema_version', '1');
        CREATE TABLE compat_run (seq INTEGER PRIMARY KEY, id VARCHAR(64) UNIQUE NOT NULL,
            thread_id VARCHAR(64) NOT NULL, status VARCHAR(32) NOT NULL, expires_at BIGINT,
            ord BIGINT NOT NULL, body JSON NOT NULL, state JSON NOT NULL);
        """
    )
    con.commit()
    con.close()
    import compat.store as store

    s = store.Store(f"sqlite:///{path}")
    try:
        with s.read() as repo:
            assert repo.lapsed_runs(0) == []
    finally:
        s.close()
    con = sqlite3.connect(path)
    cols = {r[1] for r in con.execute("PRAGMA table_info(compat_run)")}
    version = con.execute("SELECT value FROM compat_meta").fetchone()[0]
    con.close()
    assert {"owner", "lease_until"} <= cols and version == str(store.SCHEMA_VERSION)


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigterm_during_exit_wait_hands_the_run_over(
    setup: Any, emulator: Any, db_url: str
) -> None:
    c, assistant_id, thread_id = setup
    emulator.delta_delay = 0.1  # long enough that the exit wait is still going on
    proc = creating_child(emulator, db_url, thread_id, assistant_id)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    run_id = json.loads(line)["run"]
    time.sleep(0.5)
    proc.terminate()
    proc.communicate(timeout=30)
    emulator.delta_delay = 0.0
    run = wait_terminal(c, thread_id, run_id, limit=LEASE * 3 + 5)
    assert run.status in ("failed", "completed")
    continues(c, thread_id, assistant_id)


def test_async_client_takes_over_and_executes(emulator: Any, db_url: str) -> None:
    """An async client (no sync client of this store in the process) takes over a queued
    orphan and executes it on its event loop."""
    import asyncio

    async def main() -> str:
        ac = compat.AsyncOpenAI(
            base_url=emulator.base_url,
            api_key="sk-test",
            store=db_url,
            max_retries=0,
            compat_options=Options(lease_seconds=LEASE),
        )
        try:
            a = await ac.beta.assistants.create(model="gpt-4o")
            t = await ac.beta.threads.create(messages=[{"role": "user", "content": "hi there"}])
            run_id = await asyncio.to_thread(killed_run, emulator, db_url, t.id, a.id)
            run = await ac.beta.threads.runs.poll(thread_id=t.id, run_id=run_id)
            assert run.status == "completed"
            msgs = await ac.beta.threads.messages.list(thread_id=t.id, run_id=run.id)
            return str(msgs.data[0].content[0].text.value)
        finally:
            await ac.close()

    assert asyncio.run(main()) == "You said: hi there"


class _FlakyStore:
    """Makes the store's write transactions fail (as a database that is down, full or
    locked does) while ``down`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import compat.store as store

        self.down = False
        self.refused = 0
        original = store.Store.write

        def write(s: Any) -> Any:
            if self.down:
                self.refused += 1
                raise store.StoreUnavailable("database is down (test)")
            return original(s)

        monkeypatch.setattr(store.Store, "write", write)


def test_a_short_store_outage_mid_run_is_ridden_out(
    emulator: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    c = survivor(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": LONG}])
    flaky = _FlakyStore(monkeypatch)
    emulator.delta_delay = 0.02
    with c.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        for ev in stream:
            if ev.event == "thread.message.delta" and not flaky.refused:
                flaky.down = True  # the database goes away for half a second mid-answer
                threading.Timer(0.5, lambda: setattr(flaky, "down", False)).start()
        run = stream.current_run
    assert flaky.refused > 0
    assert run is not None and run.status == "completed"
    run = c.beta.threads.runs.retrieve(thread_id=t.id, run_id=run.id)
    assert run.status == "completed"


def test_a_long_store_outage_hands_the_run_over(
    emulator: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store stays down longer than a lease: the executing client gives up (its stream
    ends with an error event, as the API's did on a server fault), and once the store is
    back a live client ends the run instead of leaving it active until it expires."""
    import openai

    c = survivor(emulator, db_url)
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": LONG}])
    flaky = _FlakyStore(monkeypatch)
    emulator.delta_delay = 0.02
    with pytest.raises(openai.APIError):
        with c.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
            for ev in stream:
                if ev.event == "thread.message.delta":
                    run_id = stream.current_run.id  # type: ignore[union-attr]
                    flaky.down = True
    flaky.down = False
    run = wait_terminal(c, t.id, run_id, limit=LEASE * 3 + 5)
    assert run.status == "failed" and "interrupted" in run.last_error.message
    continues(c, t.id, a.id)


def test_requests_during_a_store_outage_are_retried_by_the_sdk(
    emulator: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request the store could not serve answers 500 server_error that the SDK may retry
    (nothing was stored), as it retries the API's own 5xx: a short outage is invisible."""
    import threading

    c = compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=2)
    t = c.beta.threads.create()
    flaky = _FlakyStore(monkeypatch)
    flaky.down = True
    threading.Timer(0.3, lambda: setattr(flaky, "down", False)).start()
    msg = c.beta.threads.messages.create(t.id, role="user", content="after the outage")
    assert flaky.refused >= 1
    assert [m.id for m in c.beta.threads.messages.list(t.id)] == [msg.id]  # stored once


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_closed_clients_and_stores_leave_no_connections(emulator: Any, db_url: str) -> None:
    """A long-lived process opens and closes clients (a web app per request, a test suite
    per test): once a client and its store are closed, nothing reconnects in the
    background (a runner polling a closed store once exhausted PostgreSQL's connections)."""
    import psycopg

    import compat.store as store

    name = "compat_leak_" + os.urandom(4).hex()
    url = f"{db_url}&application_name={name}"
    s = store.Store(url)
    clients = []
    for _ in range(3):
        c = compat.OpenAI(
            base_url=emulator.base_url,
            api_key="sk-test",
            store=s,
            max_retries=0,
            compat_options=Options(lease_seconds=0.3),
        )
        a = c.beta.assistants.create(model="gpt-4o")
        t = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
        assert run.status == "completed"
        clients.append(c)  # kept referenced, as an app's globals would
    clients[0].close()
    s.close()
    time.sleep(1.0)  # several sweeps' worth of the keeper's ticks

    dsn = db_url.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()  # type: ignore[misc]
    assert n == 0
