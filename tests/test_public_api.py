"""The public surface: exported names, the drop-in constructors, wrap(), pass-through settings."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import openai
import pytest

import compat
from compat.testing import ResponsesEmulator


def test_exported_members() -> None:
    assert sorted(compat.__all__) == [
        "AsyncOpenAI",
        "OpenAI",
        "Options",
        "Store",
        "response_ids",
        "wrap",
    ]
    assert issubclass(compat.OpenAI, openai.OpenAI)
    assert issubclass(compat.AsyncOpenAI, openai.AsyncOpenAI)


def test_settings_reach_the_responses_api(tmp_path: Any) -> None:
    with ResponsesEmulator() as emu:
        c = compat.OpenAI(
            api_key="sk-mine",
            base_url=emu.base_url,
            organization="org-1",
            project="proj-1",
            default_headers={"X-App": "demo"},
            store=f"sqlite:///{tmp_path}/a.db",
        )
        a = c.beta.assistants.create(model="gpt-4o")
        run = c.beta.threads.create_and_run_poll(
            assistant_id=a.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "completed"
        h = emu.request_headers[-1]
        assert h["authorization"] == "Bearer sk-mine"
        assert h["openai-organization"] == "org-1" and h["openai-project"] == "proj-1"
        assert h["x-app"] == "demo"


def test_wrap_keeps_the_client_settings(tmp_path: Any) -> None:
    with ResponsesEmulator() as emu:
        plain = openai.OpenAI(api_key="sk-w", base_url=emu.base_url, max_retries=0)
        c = compat.wrap(plain, store=f"sqlite:///{tmp_path}/w.db")
        assert isinstance(c, compat.OpenAI) and c.api_key == "sk-w" and c.max_retries == 0
        a = c.beta.assistants.create(model="gpt-4o")
        assert c.with_options(timeout=5).beta.assistants.retrieve(a.id).id == a.id
        run = c.beta.threads.create_and_run_poll(
            assistant_id=a.id, thread={"messages": [{"role": "user", "content": "x"}]}
        )
        assert (
            run.status == "completed" and emu.request_headers[-1]["authorization"] == "Bearer sk-w"
        )


def test_database_from_environment(tmp_path: Any, monkeypatch: Any) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    monkeypatch.setenv("COMPAT_DATABASE_URL", url)
    c = compat.OpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    assert c.compat_store.url == url
    c.beta.assistants.create(model="m")
    assert (tmp_path / "env.db").exists()


def test_no_deprecation_warnings_from_drop_in_calls(tmp_path: Any) -> None:
    c = compat.OpenAI(
        api_key="sk-x", base_url="http://127.0.0.1:9/v1", store=f"sqlite:///{tmp_path}/d.db"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        a = c.beta.assistants.create(model="m")
        t = c.beta.threads.create()
        c.beta.threads.messages.create(t.id, role="user", content="x")
        list(c.beta.threads.messages.list(t.id))
        c.beta.threads.runs.list(t.id)
        c.beta.assistants.with_raw_response.retrieve(a.id)
    from openai.resources.beta.assistants import Assistants

    if getattr(Assistants.retrieve, "__deprecated__", None) is None:
        return  # SDKs before the Assistants deprecation (1.x) have nothing to silence
    plain = openai.OpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    with pytest.warns(DeprecationWarning):
        try:
            plain.beta.assistants.retrieve("asst_x", timeout=0.01)
        except openai.APIError:
            pass


def test_unknown_assistants_paths_answer_404_locally(tmp_path: Any) -> None:
    c = compat.OpenAI(
        api_key="sk-x",
        base_url="http://127.0.0.1:9/v1",
        store=f"sqlite:///{tmp_path}/u.db",
        max_retries=0,
    )
    with pytest.raises(openai.NotFoundError) as e:
        c.get("/threads/thread_abc/nothing", cast_to=object)
    assert "Invalid URL (GET /v1/threads/thread_abc/nothing)" in str(e.value)


def test_the_emulator_validates_against_the_official_schema() -> None:
    from compat.testing.validate import schema_validation_available

    # the suite's claim that no request it sends is one the real API would reject rests on this
    assert schema_validation_available()


def test_loading_the_pytest_plugin_imports_neither_the_client_nor_the_store() -> None:
    # Every pytest run of a project that installs us loads the pytest11 entry point: it must not
    # pay for openai / httpx / SQLAlchemy. A fresh interpreter, so nothing is loaded already.
    root = Path(__file__).resolve().parent.parent
    section = (root / "pyproject.toml").read_text().split("[project.entry-points.pytest11]")[1]
    match = re.search(r'^compat = "([\w.]+)"', section, re.M)
    assert match, "no pytest11 entry point named compat"
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({match.group(1)!r})\n"
        "import compat\n"
        "heavy = ('openai', 'httpx', 'httpx2', 'sqlalchemy', 'sqlmodel')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_in_memory_store_serves_runs_from_worker_threads() -> None:
    with ResponsesEmulator() as emu:
        c = compat.OpenAI(api_key="sk-x", base_url=emu.base_url, store="sqlite://", max_retries=0)
        a = c.beta.assistants.create(model="gpt-4o")
        for _ in range(3):
            thread = {"messages": [{"role": "user", "content": "hi"}]}
            run = c.beta.threads.create_and_run_poll(assistant_id=a.id, thread=thread)
            assert run.status == "completed"


def test_installs_beside_an_apps_own_store_package(tmp_path: Any) -> None:
    """The distribution claims no top-level `store`: installed next to an app's own `store`
    package, both import (the store is `compat.store`, and `compat.Store`)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    site = tmp_path / "site"
    # build in this environment when its setuptools can (>= 77, as pyproject requires)
    isolation = ["--no-build-isolation"] if _setuptools_major() >= 77 else []
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation]
        + ["--target", str(site), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert not (site / "store").exists() and (site / "compat" / "store" / "migrations").is_dir()
    app = tmp_path / "app" / "store"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("WHO = 'the app'\n")
    code = (
        "import store, compat, compat.store; "
        "print(store.WHO, compat.store.Store.__module__, compat.Store is compat.store.Store, "
        f"compat.__file__.startswith({str(site)!r}))"
    )
    for path in ([site, app.parent], [app.parent, site]):  # either may come first
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert out.stdout.strip() == "the app compat.store True True", out.stderr


def _setuptools_major() -> int:
    try:
        import setuptools
    except ImportError:
        return 0
    return int(setuptools.__version__.split(".")[0])
