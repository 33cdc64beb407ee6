"""Bodies the database or JSON cannot hold get the real API's 400 parse error, and nothing
a request stores can make a later read of its thread fail."""

from __future__ import annotations

from typing import Any

import pytest

import compat

PARSE_ERROR = "We could not parse the JSON body of your request."


@pytest.fixture
def sync_client(emulator: Any, db_url: str) -> compat.OpenAI:
    return compat.OpenAI(base_url=emulator.base_url, api_key="sk-test", store=db_url, max_retries=0)


def _raw_post(client: compat.OpenAI, path: str, body: bytes) -> Any:
    """POST ``body`` as it is (the SDK would refuse to encode some of these)."""
    return client._client.post(
        f"{client.base_url}{path.lstrip('/')}",
        content=body,
        headers={"content-type": "application/json", "authorization": "Bearer sk-test"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"role": "user", "content": "\\ud83d"}',  # a lone surrogate escape
        b'{"role": "user", "content": "hi", "metadata": {"\\udc00": "x"}}',  # in a key
        b'{"role": "user", "content": NaN}',
        b'{"role": "user", "content": "hi", "metadata": {"a": Infinity}}',
        b'{"role": "user", "content": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["surrogate", "surrogate-key", "nan", "infinity", "deep"],
)
def test_unstorable_bodies_are_refused_and_the_thread_stays_usable(
    sync_client: compat.OpenAI, body: bytes
) -> None:
    c = sync_client
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create()
    resp = _raw_post(c, f"/threads/{t.id}/messages", body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith(PARSE_ERROR)
    # nothing was stored, and the thread reads and runs as before
    assert c.beta.threads.messages.list(t.id).data == []
    c.beta.threads.messages.create(t.id, role="user", content="still here 😀")
    run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "completed"
    texts = [m.content[0].text.value for m in c.beta.threads.messages.list(t.id, order="asc")]
    assert texts == ["still here 😀", "You said: still here 😀"]


def test_a_wrong_upstream_key_fails_the_run_naming_the_cause(
    sync_client: compat.OpenAI, emulator: Any
) -> None:
    c = sync_client
    a = c.beta.assistants.create(model="gpt-4o")
    t = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    emulator.enqueue(status_error=(401, "Incorrect API key provided: sk-test.", "invalid_api_key"))
    run = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    assert run.status == "failed" and run.last_error is not None
    assert run.last_error.code == "server_error"  # the only code the Run type allows for it
    assert "credentials (401)" in run.last_error.message
    assert "Incorrect API key provided" in run.last_error.message


def test_sqlite_file_deleted_under_a_live_client(emulator: Any, tmp_path: Any) -> None:
    """Writes to a deleted database file would be lost: the client answers server_error
    (5xx) instead of pretending to store them."""
    import openai

    path = tmp_path / "gone.db"
    c = compat.OpenAI(
        base_url=emulator.base_url, api_key="sk-test", store=f"sqlite:///{path}", max_retries=0
    )
    t = c.beta.threads.create()
    for suffix in ("", "-wal", "-shm"):
        if (tmp_path / f"gone.db{suffix}").exists():
            (tmp_path / f"gone.db{suffix}").unlink()
    with pytest.raises(openai.InternalServerError) as err:
        c.beta.threads.messages.create(t.id, role="user", content="lost?")
    assert err.value.status_code == 500
    assert err.value.body["type"] == "server_error"  # type: ignore[index]
