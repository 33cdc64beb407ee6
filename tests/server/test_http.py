"""`assistants-compat serve` over plain HTTP: keys and their 401s, tenant isolation, size
limits, malformed bodies, health and metrics, SSE streams, pass-through to the upstream,
and concurrent streamed runs (the SDK's own clients where an app would use them)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import openai
import pytest

from compat.server.keys import mask
from compat.testing import ResponsesEmulator
from tests.server.conftest import Running, running

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BETA = {"OpenAI-Beta": "assistants=v2"}
#: for tests where the database makes no difference (the suite runs 3 times in CI)
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **BETA}


@pytest.fixture
def http() -> Any:
    """One connection pool for a test's requests (a new client per request costs ~0.1 s)."""
    with httpx.Client(timeout=30) as c:
        yield c


# -- keys -----------------------------------------------------------------------------------
def test_a_missing_wrong_or_revoked_key_gets_the_real_apis_401(serve: Running, http: Any) -> None:
    r = http.get(f"{serve.url}/assistants", headers=BETA)
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["message"].startswith("You didn't provide an API key.")
    assert (err["type"], err["param"], err["code"]) == ("invalid_request_error", None, None)

    wrong = "sk-compat-" + "x" * 40 + "WXYZ"
    r = http.get(f"{serve.url}/threads/thread_abc", headers=_auth(wrong))
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "message": f"Incorrect API key provided: sk-compa{'*' * 42}WXYZ. You can find "
            "your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    assert mask(wrong) in r.json()["error"]["message"]
    # the pass-through routes are behind the same keys (never reaching the upstream)
    assert http.get(f"{serve.url}/files", headers=_auth(wrong)).status_code == 401
    # the SDK raises its AuthenticationError, as with the real API
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=serve.url, api_key=wrong, max_retries=0).beta.assistants.list()

    c = serve.client()
    c.beta.assistants.list()
    with serve.store.read() as repo:
        key_id = next(k["id"] for k in repo.api_keys("acme"))
    from compat import cli

    assert cli.main(["keys", "revoke", key_id, "--database", serve.store.url]) == 0
    with pytest.raises(openai.AuthenticationError):
        c.beta.assistants.list()


@sqlite_only
def test_keys_are_stored_hashed_and_the_cli_prints_the_key_last(
    serve: Running, capsys: Any
) -> None:
    from compat import cli

    assert (
        cli.main(["keys", "create", "initech", "--database", serve.store.url, "--label", "ci"]) == 0
    )
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("sk-compat-") and len(key) > 50
    with serve.store.read() as repo:
        rows = repo.api_keys("initech")
    assert [r["label"] for r in rows] == ["ci"]
    assert key not in json.dumps(rows) and rows[0]["key_hash"] != key
    assert serve.client("acme").beta.assistants.list().data == []
    assert openai.OpenAI(base_url=serve.url, api_key=key).beta.assistants.list().data == []
    assert cli.main(["keys", "list", "--database", serve.store.url]) == 0
    listed = capsys.readouterr().out
    assert "initech" in listed and "acme" in listed and key not in listed


# -- tenants --------------------------------------------------------------------------------
def test_another_tenants_objects_answer_404_like_missing_ones(serve: Running, http: Any) -> None:
    acme, globex = serve.client("acme"), serve.client("globex")
    asst = acme.beta.assistants.create(model="gpt-4o", name="acme's")
    thread = acme.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    run = acme.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id)
    msg = acme.beta.threads.messages.list(thread_id=thread.id).data[0]
    step = acme.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    own = globex.beta.assistants.create(model="gpt-4o", name="globex's")

    def body_404(path: str, key: str, method: str = "GET", **kw: Any) -> Any:
        r = http.request(method, f"{serve.url}{path}", headers=_auth(key), **kw)
        assert r.status_code == 404, (path, r.text)
        return r.json()

    g = serve.keys["globex"]
    missing = "thread_" + "0" * 24
    # the same body as for an id that never existed, with the id swapped
    assert body_404(f"/threads/{thread.id}", g) == json.loads(
        json.dumps(body_404(f"/threads/{missing}", g)).replace(missing, thread.id)
    )
    for path in [
        f"/assistants/{asst.id}",
        f"/threads/{thread.id}/messages",
        f"/threads/{thread.id}/messages/{msg.id}",
        f"/threads/{thread.id}/runs",
        f"/threads/{thread.id}/runs/{run.id}",
        f"/threads/{thread.id}/runs/{run.id}/steps",
        f"/threads/{thread.id}/runs/{run.id}/steps/{step.id}",
    ]:
        body_404(path, g)
    body_404(f"/assistants/{asst.id}", g, "DELETE")
    body_404(f"/threads/{thread.id}", g, "DELETE")
    body_404(f"/threads/{thread.id}", g, "POST", json={"metadata": {"x": "y"}})
    body_404(f"/threads/{thread.id}/messages", g, "POST", json={"role": "user", "content": "x"})
    body_404(f"/threads/{thread.id}/runs", g, "POST", json={"assistant_id": own.id})
    body_404(f"/threads/{thread.id}/runs/{run.id}/cancel", g, "POST")
    # a tenant's own thread cannot be run with another tenant's assistant
    gt = globex.beta.threads.create()
    body_404(f"/threads/{gt.id}/runs", g, "POST", json={"assistant_id": asst.id})
    body_404("/threads/runs", g, "POST", json={"assistant_id": asst.id})

    assert [a.id for a in globex.beta.assistants.list()] == [own.id]
    assert [a.id for a in acme.beta.assistants.list()] == [asst.id]
    # nothing of acme's was changed or deleted
    assert acme.beta.threads.retrieve(thread.id).metadata == {}
    assert len(acme.beta.threads.messages.list(thread_id=thread.id).data) == 2


# -- bodies ---------------------------------------------------------------------------------
@sqlite_only
def test_oversized_and_malformed_bodies_get_clear_errors(serve: Running, http: Any) -> None:
    h = _auth(serve.keys["acme"])
    big = {"model": "gpt-4o", "instructions": "x" * (1024 * 1024)}
    r = http.post(f"{serve.url}/assistants", headers=h, json=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    assert r.headers["x-should-retry"] == "false"

    r = http.post(f"{serve.url}/assistants", headers=h, content=b'{"model": "gpt-4o",')
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("We could not parse the JSON body")
    r = http.post(f"{serve.url}/assistants", headers=h, content=b"[1, 2]")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_type")
    r = http.get(f"{serve.url}/threads/nope", headers=h)
    assert r.status_code == 400 and r.json()["error"]["param"] == "thread_id"
    r = http.get(f"{serve.url}/assistantz", headers=h)  # an unknown route goes upstream
    assert r.status_code == 404
    assert serve.client().beta.assistants.list().data == []  # nothing was stored


# -- operations -----------------------------------------------------------------------------
def test_health_readiness_and_metrics(serve: Running, http: Any) -> None:
    assert http.get(f"{serve.root}/healthz").json() == {"status": "ok"}
    assert http.get(f"{serve.root}/readyz").json() == {"status": "ready"}
    c = serve.client()
    a = c.beta.assistants.create(model="gpt-4o")
    c.beta.threads.create_and_run_poll(
        assistant_id=a.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    text = http.get(f"{serve.root}/metrics").text
    assert 'compat_requests_total{method="POST",route="/v1/assistants",status="200"} 1' in text
    assert 'compat_runs{status="completed"} 1' in text
    assert 'compat_upstream_latency_seconds_count{path="/responses"} 1' in text


@sqlite_only
def test_a_streamed_run_is_real_sse_ending_in_done(serve: Running, http: Any) -> None:
    c = serve.client()
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": "Tell me a story"}])
    events: list[str] = []
    with http.stream(
        "POST",
        f"{serve.url}/threads/{t.id}/runs",
        headers=_auth(serve.keys["acme"]),
        json={"assistant_id": a.id, "stream": True},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    assert events[:2] == ["thread.run.created", "thread.run.queued"]
    assert events[-2:] == ["thread.run.completed", "done"]
    # the poll helper's header comes through as the in-process transport sends it
    run_id = c.beta.threads.runs.list(thread_id=t.id).data[0].id
    r = http.get(f"{serve.url}/threads/{t.id}/runs/{run_id}", headers=_auth(serve.keys["acme"]))
    assert r.headers["openai-poll-after-ms"] == "50" and r.headers["x-request-id"].startswith(
        "req_"
    )


@sqlite_only
def test_other_routes_pass_through_to_the_upstream_streaming(serve: Running) -> None:
    c = serve.client()
    created = c.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    assert c.files.retrieve(created.id).filename == "notes.txt"
    kinds = [
        e.type
        for e in c.responses.create(model="gpt-4o", input="Say hi", stream=True)  # type: ignore[call-overload]
    ]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"


@pytest.mark.anyio
async def test_fifty_concurrent_streamed_runs_all_complete(serve: Running) -> None:
    c = openai.AsyncOpenAI(base_url=serve.url, api_key=serve.keys["acme"], max_retries=0)
    a = await c.beta.assistants.create(model="gpt-4o")

    async def one(i: int) -> tuple[list[str], str]:
        t = await c.beta.threads.create(messages=[{"role": "user", "content": f"Count to {i}"}])
        async with c.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as s:
            names = [e.event async for e in s]
            text = "".join(m.content[0].text.value for m in await s.get_final_messages())  # type: ignore[union-attr]
        return names, text

    t0 = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(50)))
    elapsed = time.monotonic() - t0
    assert all(names[-1] == "thread.run.completed" for names, _ in results)
    assert all(f"Count to {i}" in text for i, (_, text) in enumerate(results))
    with serve.store.read() as repo:
        assert repo.run_counts() == {"completed": 50}
    assert elapsed < 60
    await c.close()


@sqlite_only
def test_shutdown_lets_short_runs_finish_and_hands_long_ones_over(
    serve: Running, emulator: Any
) -> None:
    c = serve.client()
    a = c.beta.assistants.create(model="gpt-4o")
    short = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    long = c.beta.threads.create(messages=[{"role": "user", "content": "Tell me a story " * 40}])
    emulator.delta_delay = 0.15  # the long reply takes far longer than shutdown_wait (2 s)
    r_long = c.beta.threads.runs.create(thread_id=long.id, assistant_id=a.id)
    r_short = c.beta.threads.runs.create(thread_id=short.id, assistant_id=a.id)
    time.sleep(0.3)
    t0 = time.monotonic()
    serve.stop()
    emulator.delta_delay = 0.0
    assert time.monotonic() - t0 < 10
    assert not serve.uvicorn.started or serve.server.closing
    with serve.store.read() as repo:
        assert repo.get("run", r_short.id)["status"] == "completed"  # type: ignore[index]
        long_run = repo.get("run", r_long.id)
        assert long_run is not None and long_run["status"] == "in_progress"
        # handed over: no owner, so the next server of the store takes it over at once
        assert repo.lease_of(r_long.id) == (None, 0)


@sqlite_only
def test_each_tenant_runs_and_passes_through_with_its_own_upstream(
    db_url: str, emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-shared")
    monkeypatch.setenv("GLOBEX_OPENAI_KEY", "sk-globex-own")
    with ResponsesEmulator() as other:
        tenants = tmp_path / "tenants.toml"
        tenants.write_text(
            f'[tenants.globex]\napi_key_env = "GLOBEX_OPENAI_KEY"\nbase_url = "{other.base_url}"\n'
        )
        with running(db_url, emulator, tenants_file=str(tenants)) as serve:
            for tenant in ("acme", "globex"):
                c = serve.client(tenant)
                a = c.beta.assistants.create(model="gpt-4o")
                run = c.beta.threads.create_and_run_poll(
                    assistant_id=a.id, thread={"messages": [{"role": "user", "content": "hi"}]}
                )
                assert run.status == "completed"
                c.files.list()
        assert [h["authorization"] for h in emulator.request_headers] == ["Bearer sk-shared"]
        assert [h["authorization"] for h in other.request_headers] == ["Bearer sk-globex-own"]
        assert ("GET", "/v1/files") in other.calls and ("GET", "/v1/files") in emulator.calls


def test_serve_refuses_a_bad_tenants_file_and_keys_a_bad_tenant(tmp_path: Any, capsys: Any) -> None:
    from compat import cli

    bad = tmp_path / "tenants.json"
    bad.write_text('{"tenants": {"acme": {"api_key": "sk-inline-keys-are-refused"}}}')
    db = f"sqlite:///{tmp_path}/x.db"
    assert cli.main(["serve", "--database", db, "--tenants", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "'api_key_env' and 'base_url'" in err and "sk-inline" not in err
    assert cli.main(["serve", "--database", db, "--tenants", str(tmp_path / "none.toml")]) == 2
    assert cli.main(["keys", "create", " ", "--database", db]) == 2
    assert cli.main(["keys", "revoke", "key_nope", "--database", db]) == 2
