"""Read-through migration: ``compat.OpenAI(..., legacy=...)`` serves old ids by fetching each
missing assistant / thread once from the legacy endpoint; everything new stays local; a
failing endpoint gives a clear error and stores nothing (sync and async clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

import compat
from compat.store import Store
from compat.testing import ResponsesEmulator
from compat.testing.legacy import LegacyAssistantsServer
from tests.conftest import aw, collect

pytestmark = pytest.mark.anyio

Data = dict[str, list[dict[str, Any]]]
KEY = "sk-legacy-0123456789"


@pytest.fixture
def db_url(tmp_path: Any) -> str:
    """SQLite only: what is written goes through the importer the import tests run on
    both databases; here the client kinds matter."""
    return f"sqlite:///{tmp_path}/compat.db"


@pytest.fixture
def legacy(export_data: Data) -> Iterator[LegacyAssistantsServer]:
    data = {**export_data, "threads": export_data["threads"][:6]}
    with LegacyAssistantsServer(data, api_key=KEY) as server:
        yield server


@pytest.fixture
async def rt_client(
    legacy: LegacyAssistantsServer, emulator: ResponsesEmulator, db_url: str, client_kind: str
) -> AsyncIterator[Any]:
    """A drop-in client reading through to ``legacy`` (given as a client of the same kind)."""
    if client_kind == "async":
        old: Any = openai.AsyncOpenAI(base_url=legacy.base_url, api_key=KEY, max_retries=1)
        client: Any = compat.AsyncOpenAI(
            base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0, legacy=old
        )
    else:
        old = openai.OpenAI(base_url=legacy.base_url, api_key=KEY, max_retries=1)
        client = compat.OpenAI(
            base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0, legacy=old
        )
    yield client
    await aw(client.close())


def _msgs(data: Data, thread_id: str) -> list[str]:
    return [m["id"] for m in data["messages"] if m["thread_id"] == thread_id]


async def test_old_ids_are_fetched_once_then_served_locally(
    rt_client: Any, legacy: LegacyAssistantsServer, export_data: Data
) -> None:
    tid = export_data["threads"][0]["id"]
    page = rt_client.beta.threads.messages.list(tid, order="asc", limit=2)
    assert [m.id for m in await collect(await aw(page))] == _msgs(export_data, tid)
    fetched = len(legacy.calls)
    assert fetched >= 3  # the thread, its messages, its runs (and steps)
    thread = await aw(rt_client.beta.threads.retrieve(tid))
    assert thread.metadata == export_data["threads"][0]["metadata"]
    await aw(rt_client.beta.threads.messages.list(tid))
    assert len(legacy.calls) == fetched  # served locally from now on

    # unknown ids: the real 404, and the endpoint is asked only once
    for _ in range(2):
        with pytest.raises(openai.NotFoundError):
            await aw(rt_client.beta.threads.retrieve("thread_unknown"))
    assert [p for _, p in legacy.calls].count("/v1/threads/thread_unknown") == 1

    # new objects are local only
    before = len(legacy.calls)
    new = await aw(rt_client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}]))
    await aw(rt_client.beta.threads.retrieve(new.id))
    assert len(legacy.calls) == before


async def test_a_run_on_an_old_thread_with_an_old_assistant(
    rt_client: Any, legacy: LegacyAssistantsServer, export_data: Data
) -> None:
    thread = export_data["threads"][1]
    assistant_id = next(
        r["assistant_id"] for r in export_data["runs"] if r["thread_id"] == thread["id"]
    )
    await aw(rt_client.beta.threads.messages.create(thread["id"], role="user", content="Say hi"))
    run = await aw(
        rt_client.beta.threads.runs.create_and_poll(
            thread_id=thread["id"], assistant_id=assistant_id
        )
    )
    assert run.status in ("completed", "requires_action")
    assert ("GET", f"/v1/assistants/{assistant_id}") in legacy.calls
    ids = [
        m.id
        for m in await collect(
            await aw(rt_client.beta.threads.messages.list(thread["id"], order="asc"))
        )
    ]
    assert ids[: len(_msgs(export_data, thread["id"]))] == _msgs(export_data, thread["id"])


async def test_failing_legacy_endpoint_gives_a_clear_error_and_no_partial_thread(
    rt_client: Any, legacy: LegacyAssistantsServer, export_data: Data, db_url: str
) -> None:
    tid = export_data["threads"][2]["id"]
    legacy.fail_next(2, "500", path="/runs")  # the thread and its messages come, its runs fail
    with pytest.raises(openai.APIStatusError) as info:
        await aw(rt_client.beta.threads.messages.list(tid))
    assert info.value.status_code == 502
    assert (
        f"The thread '{tid}' is not in the local store and the legacy Assistants endpoint "
        "failed: HTTP 500" in info.value.message
    )
    store = Store(db_url)
    try:
        with store.read() as repo:
            assert repo.get("thread", tid) is None
            assert all(repo.get("message", m) is None for m in _msgs(export_data, tid))
    finally:
        store.close()
    # the endpoint is back: the next request brings the thread whole
    page = await aw(rt_client.beta.threads.messages.list(tid, order="asc"))
    assert [m.id for m in page.data] == _msgs(export_data, tid)

    legacy.stop()  # down: the error says so
    with pytest.raises(openai.APIStatusError) as info:
        await aw(rt_client.beta.threads.retrieve(export_data["threads"][3]["id"]))
    assert info.value.status_code == 502 and "cannot reach the endpoint" in info.value.message


def test_wrap_reads_through_a_base_url_with_the_clients_key(
    legacy: LegacyAssistantsServer, emulator: ResponsesEmulator, export_data: Data, tmp_path: Any
) -> None:
    plain = openai.OpenAI(base_url=emulator.base_url, api_key=KEY, max_retries=0)
    client = compat.wrap(plain, store=f"sqlite:///{tmp_path}/w.db", legacy=legacy.base_url)
    assistant = export_data["assistants"][0]
    assert client.beta.assistants.retrieve(assistant["id"]).name == assistant["name"]
    assert legacy.calls == [("GET", f"/v1/assistants/{assistant['id']}")]
    client.beta.assistants.retrieve(assistant["id"])
    assert len(legacy.calls) == 1


def test_deleted_here_stays_deleted_in_every_process(
    legacy: LegacyAssistantsServer, emulator: ResponsesEmulator, export_data: Data, db_url: str
) -> None:
    """An old thread and assistant deleted through one client (one worker of an app) are not
    brought back from the legacy endpoint by another client, or after a restart."""
    tid = export_data["threads"][3]["id"]
    aid = export_data["assistants"][1]["id"]

    def client() -> compat.OpenAI:  # a new client: a new worker, or the app restarted
        return compat.OpenAI(
            base_url=emulator.base_url,
            api_key="sk-test",
            store=db_url,
            max_retries=0,
            legacy=openai.OpenAI(base_url=legacy.base_url, api_key=KEY, max_retries=0),
        )

    with client() as worker_a:
        assert worker_a.beta.threads.delete(tid).deleted  # fetched, then deleted
        assert worker_a.beta.assistants.delete(aid).deleted
    before = len(legacy.calls)
    with client() as worker_b:
        with pytest.raises(openai.NotFoundError):
            worker_b.beta.threads.retrieve(tid)
        with pytest.raises(openai.NotFoundError):
            worker_b.beta.threads.messages.list(tid)
        with pytest.raises(openai.NotFoundError):
            worker_b.beta.assistants.retrieve(aid)
    assert len(legacy.calls) == before  # not even asked
