"""Ctrl-C halfway through ``assistants-compat compare`` leaves a readable partial report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from compat.testing import ResponsesEmulator

ROOT = Path(__file__).resolve().parents[2]


def test_sigint_halfway_writes_a_partial_report(recordings: Any, tmp_path: Path) -> None:
    export, kinds = recordings
    out = tmp_path / "report"
    # A slow model: each answer takes 0.15 s, so the run lasts a few seconds.
    with ResponsesEmulator(latency=0.15) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPAT_")}
        env.update(
            OPENAI_BASE_URL=emu.base_url,
            OPENAI_API_KEY="sk-test",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        )
        cmd = [sys.executable, "-m", "compat.cli", "compare", str(export)]
        cmd += ["--variant", "a:model=gpt-4o", "--concurrency", "2", "--out", str(out)]
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while len(emu.requests) < 8 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            assert len(emu.requests) >= 8, "the run did not start"
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "partial" in stderr

    data = json.loads((out / "report.json").read_text())
    assert data["partial"] is True
    assert [c["id"] for c in data["cases"]] == list(kinds)  # every case is in the report
    statuses = [t["results"]["a"]["status"] for c in data["cases"] for t in c["turns"]]
    assert "completed" in statuses and "not_run" in statuses
    s = data["summary"]["a"]
    assert s["not_run"] == statuses.count("not_run") and 0 < s["completed"] < s["turns"]
    html = (out / "report.html").read_text()
    assert 'id="partial"' in html and "Partial report" in html
    root = ET.parse(out / "report.junit.xml").getroot()
    assert int(root.get("skipped", "0")) > 0 and len(root.findall(".//testcase")) == 40
