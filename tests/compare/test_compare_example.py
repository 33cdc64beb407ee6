"""``examples/compare_offline.py`` runs offline and prints each variant's figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DROPPED_ENV = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "COMPAT_DATABASE_URL"}


def test_compare_example_runs_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "compat.cli", "offline", "--database"]
    cmd += [f"sqlite:///{tmp_path}/offline.db", str(ROOT / "examples" / "compare_offline.py")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == [
        "recorded: 4/4 completed, 0 changed, cost $0.001245, similarity -",
        "gpt4o: 4/4 completed, 1 changed, cost $0.000500, similarity 0.75",
        "mini-chain: 4/4 completed, 1 changed, cost $0.000080, similarity 0.75",
    ]
    assert "FAIL day-trip x gpt4o: turn 1: similarity 0.00 < 0.50" in lines
    data = json.loads((tmp_path / "compare-report" / "report.json").read_text())
    assert [c["label"] for c in data["cases"]] == ["greeting", "weather", "day-trip"]
    assert (tmp_path / "compare-report" / "report.junit.xml").is_file()
