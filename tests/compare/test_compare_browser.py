"""A real headless browser (Debian's chromium) renders the HTML report: every variant's
column and the summary are in the rendered DOM, the filters work, and a screenshot is made.

Skipped when chromium is not installed, unless ``COMPAT_REQUIRE_CHROMIUM=1`` (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

REQUIRE = os.environ.get("COMPAT_REQUIRE_CHROMIUM") == "1"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if REQUIRE:
            pytest.fail("COMPAT_REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def _browse(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


@pytest.fixture(scope="module")
def report_html(compared: Any) -> Path:
    """The HTML report of the CLI run over the 20 recordings."""
    return Path(compared.out) / "report.html"


def test_chromium_renders_columns_and_summary(
    chromium: str, report_html: Path, tmp_path: Path
) -> None:
    url = report_html.as_uri()
    dom = _browse(chromium, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    summary = re.search(r'<table class="summary" id="summary">.*?</table>', html, re.S)
    assert summary is not None
    for name in ("recorded", "gpt4o", "gpt5"):
        assert f'data-variant="{name}"' in summary.group(0)
    assert "similarity mean" in summary.group(0) and "cost (USD)" in summary.group(0)
    assert html.count('class="case"') == 20
    # The inline script ran in the browser: it filled in the count of shown turns.
    assert re.search(r'<span class="muted" id="shown">\d+ turns shown</span>', html)

    shot = tmp_path / "report.png"
    res = _browse(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1400,1600", url)
    assert res.returncode == 0, res.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1400, 1600)
    assert len(png) > 20_000  # a rendered page, not a blank one


def test_filters_hide_unchanged_turns(chromium: str, report_html: Path, tmp_path: Path) -> Any:
    # Tick "only changed" before the script runs: the page then shows only changed turns.
    page = report_html.read_text().replace('id="only-changed">', 'id="only-changed" checked>', 1)
    checked = tmp_path / "checked.html"
    checked.write_text(page)
    dom = _browse(chromium, tmp_path, "--dump-dom", checked.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    hidden = re.findall(r'<tr class="turn" data-changed="0"[^>]*style="display: none;"', dom.stdout)
    shown = re.search(r'id="shown">(\d+) turns shown', dom.stdout)
    assert shown is not None and hidden
    changed = page.count('data-changed="1"')
    assert int(shown.group(1)) == changed > 0
