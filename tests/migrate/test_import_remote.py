"""`assistants-compat import <base URL>` from a legacy Assistants-compatible endpoint: real
HTTP and pagination, retried 429 / 500 / dropped connections, one-line reasons, and an
import killed with SIGKILL halfway that a re-run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import compat
from compat.cli import main
from compat.store import Store
from compat.testing.legacy import LegacyAssistantsServer
from tests.migrate.conftest import check_store_matches, raw_list

Data = dict[str, list[dict[str, Any]]]
KEY = "sk-legacy-0123456789"


def _ids_file(tmp_path: Path, data: Data, extra: tuple[str, ...] = ()) -> str:
    path = tmp_path / "threads.txt"
    path.write_text("\n".join([*(t["id"] for t in data["threads"]), *extra]) + "\n")
    return str(path)


def _only_threads(data: Data) -> Data:
    """``data`` with only the messages, runs and steps of its threads."""
    keep = {t["id"] for t in data["threads"]}
    return {
        k: [o for o in v if k in ("assistants", "threads") or o["thread_id"] in keep]
        for k, v in data.items()
    }


def test_import_from_endpoint_retries_faults_and_keeps_everything(
    tmp_path: Path, db_url: str, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**export_data, "threads": export_data["threads"][:8]}
    with LegacyAssistantsServer(data, api_key=KEY) as legacy:
        legacy.fail_next(1, "429", retry_after=0.01, path="/messages")
        legacy.fail_next(1, "500", path="/runs")
        legacy.fail_next(1, "drop", path="/steps")
        rc = main(
            [
                "import",
                legacy.base_url,
                "--threads",
                _ids_file(tmp_path, data),
                "--assistants",
                "--api-key",
                KEY,
                "--database",
                db_url,
            ]
        )
        out, err = capsys.readouterr()
        assert (rc, err) == (0, "")
        # every fault was met and retried, as the SDK retries them
        paths = [p for _, p in legacy.calls]
        assert len(paths) == len(set(paths)) + 3
    with compat.OpenAI(api_key="sk-test", store=db_url, max_retries=0) as client:
        check_store_matches(client, _only_threads(data))


def test_endpoint_errors_get_one_line_reasons(
    tmp_path: Path, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/db.sqlite"
    data = {**export_data, "threads": export_data["threads"][:2]}
    ids = _ids_file(tmp_path, data, extra=("thread_unknown",))
    with LegacyAssistantsServer(data, api_key=KEY) as legacy:
        rc = main(
            [
                "import",
                legacy.base_url,
                "--threads",
                ids,
                "--api-key",
                "sk-wrong-key-1234",
                "--database",
                db,
            ]
        )
        _, err = capsys.readouterr()
        assert rc == 1
        assert err.splitlines()[0].startswith(
            f"not imported: {data['threads'][0]['id']}: HTTP 401: Incorrect API key provided"
        )
        rc = main(["import", legacy.base_url, "--threads", ids, "--api-key", KEY, "--database", db])
        _, err = capsys.readouterr()
        assert rc == 1
        assert err.strip() == (
            "not imported: thread_unknown: HTTP 404: No thread found with id 'thread_unknown'."
        )


def test_import_killed_halfway_then_rerun_leaves_every_object_once(
    tmp_path: Path, db_url: str, export_data: Data, capsys: pytest.CaptureFixture[str]
) -> None:
    export_data = {**export_data, "threads": export_data["threads"][:20]}
    ids = _ids_file(tmp_path, export_data)
    with LegacyAssistantsServer(export_data, latency=0.01) as legacy:
        cmd = [
            sys.executable,
            "-m",
            "compat.cli",
            "import",
            legacy.base_url,
            "--threads",
            ids,
            "--assistants",
            "--database",
            db_url,
        ]
        env = {**os.environ, "OPENAI_API_KEY": "sk-any"}
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        store = Store(db_url)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and child.poll() is None:
                with store.read() as repo:
                    n = repo.conn.exec_driver_sql("SELECT count(*) FROM compat_thread").scalar()
                if n and n >= 5:
                    break
                time.sleep(0.02)
            assert child.poll() is None, "the import ended before it could be killed"
            child.send_signal(signal.SIGKILL)
            child.wait()
            with store.read() as repo:
                halfway = repo.conn.exec_driver_sql("SELECT count(*) FROM compat_thread").scalar()
            assert 5 <= halfway < 20
        finally:
            if child.poll() is None:
                child.kill()
            store.close()
        legacy.latency = 0
        assert main(cmd[3:]) == 0
        out = capsys.readouterr().out
        assert f"│ thread    │       {20 - halfway:>2} │        {halfway:>2} │" in out
    with compat.OpenAI(api_key="sk-test", store=db_url, max_retries=0) as client:
        check_store_matches(client, _only_threads(export_data))  # every object once, in order
        assert len(raw_list(client, "/assistants")) == 3
