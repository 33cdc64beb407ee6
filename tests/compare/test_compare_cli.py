"""``assistants-compat compare`` end to end: 20 recorded threads, the recorded baseline and
two models on the bundled emulator, thresholds crossed -> JSON, HTML and JUnit agree."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from compat.cli import main


def _results(data: dict[str, Any], kind: str, kinds: dict[str, str]) -> list[dict[str, Any]]:
    return [c for c in data["cases"] if kinds[c["id"]] == kind]


def test_every_thread_runs_under_every_variant(compared: Any) -> None:
    rc, data, kinds = compared.rc, compared.data, compared.kinds
    assert rc == 1  # thresholds crossed
    assert data["schema_version"] == 1 and data["partial"] is False
    assert [v["name"] for v in data["variants"]] == ["recorded", "gpt4o", "gpt5"]
    assert [c["id"] for c in data["cases"]] == list(kinds)
    for case in data["cases"]:
        assert case["baseline"] == "recorded"
        for turn in case["turns"]:
            assert set(turn["results"]) == {"recorded", "gpt4o", "gpt5"}


def test_unchanged_turns_match_the_recording(compared: Any) -> None:
    data, kinds = compared.data, compared.kinds
    for kind in ("echo", "weather", "name"):
        for case in _results(data, kind, kinds):
            for turn in case["turns"]:
                rec = turn["results"]["recorded"]
                for name in ("gpt4o", "gpt5"):
                    res = turn["results"][name]
                    assert res["status"] == "completed", res
                    assert res["answer"] == rec["answer"]
                    assert res["similarity"] == 1.0 and res["changed"] is False
                    assert res["tool_calls_changed"] is False
                    assert 0 < res["ttft_s"] <= res["latency_s"]
                    assert res["model"] == {"gpt4o": "gpt-4o", "gpt5": "gpt-5-mini"}[name]
    # The weather call was answered with the recorded output, not an invented one.
    weather = _results(data, "weather", kinds)[0]["turns"][0]["results"]
    assert (
        weather["gpt4o"]["tool_calls"][0]["output"]
        == weather["recorded"]["tool_calls"][0]["output"]
    )


def test_reworded_answers_are_diffed(compared: Any) -> None:
    data, kinds = compared.data, compared.kinds
    for case in _results(data, "reworded", kinds):
        [turn] = case["turns"]
        rec, res = turn["results"]["recorded"], turn["results"]["gpt4o"]
        assert rec["latency_s"] == 5.0  # from the recorded run's timestamps
        assert res["changed"] is True and res["similarity"] < compared.fail_under
        ops = {op for op, _ in res["diff"]}
        assert ops == {"=", "-", "+"}
        removed = " ".join(t for op, t in res["diff"] if op == "-")
        assert "lovely" in removed


def test_unknown_tool_call_needs_tool_output(compared: Any) -> None:
    data, kinds = compared.data, compared.kinds
    [case] = _results(data, "needs_tool", kinds)
    res = case["turns"][0]["results"]["gpt4o"]
    assert res["status"] == "needs_tool_output"
    assert "get_weather" in res["error"] and "Bergen" in res["error"]
    assert res["answer"] == ""  # nothing invented


def test_summary_counts(compared: Any) -> None:
    data = compared.data
    s = data["summary"]
    assert s["recorded"]["turns"] == s["gpt4o"]["turns"] == 25
    assert s["gpt4o"]["changed"] == 5  # 4 reworded + the one without a tool output
    assert s["gpt4o"]["needs_tool_output"] == 1 and s["gpt4o"]["completed"] == 24
    assert s["gpt4o"]["cost_grew"] == 0 and s["gpt5"]["cost_grew"] > 0
    assert s["gpt5"]["cost"] > s["recorded"]["cost"] > s["gpt4o"]["cost"]
    for key in ("latency_s", "ttft_s", "similarity"):
        st = s["gpt4o"][key]
        assert st["mean"] is not None and st["median"] <= st["p95"]


def _expected_failures(compared: Any) -> set[tuple[str, str]]:
    """Recompute from the per-turn figures which case × variant crosses a threshold."""
    data, out = compared.data, set()
    for case in data["cases"]:
        for name in ("gpt4o", "gpt5"):
            results = [t["results"] for t in case["turns"]]
            low = any(r[name]["similarity"] < compared.fail_under for r in results)
            base = sum(r["recorded"]["cost"] for r in results)
            new = sum(r[name]["cost"] for r in results)
            if low or (new - base) / base * 100 > compared.max_cost_increase:
                out.add((case["label"], name))
    return out


def test_junit_failures_match_the_thresholds(compared: Any) -> None:
    out, data, kinds = compared.out, compared.data, compared.kinds
    root = ET.parse(out / "report.junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 20 * 3
    assert {c.get("name") for c in cases} == set(kinds)
    assert {c.get("classname") for c in cases} == {
        "compare.recorded",
        "compare.gpt4o",
        "compare.gpt5",
    }
    failing = {
        (c.get("name"), c.get("classname", "").removeprefix("compare."))
        for c in cases
        if c.find("failure") is not None
    }
    expected = _expected_failures(compared)
    assert failing == expected
    assert {(f["case"], f["variant"]) for f in data["failures"]} == expected
    assert any(v == "gpt5" for _, v in expected) and any(v == "gpt4o" for _, v in expected)
    assert int(root.get("failures", "0")) == len(expected)
    cost_msgs = [f["message"] for f in data["failures"] if f["message"].startswith("cost")]
    assert cost_msgs and all(re.match(r"cost \+\d+\.\d% > \+50%", m) for m in cost_msgs)


def test_html_is_self_contained_and_labelled(compared: Any) -> None:
    out, kinds = compared.out, compared.kinds
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    for name in ("recorded", "gpt4o", "gpt5"):
        assert f'data-variant="{name}"' in html
    for thread_id in kinds:
        assert f'data-case="{thread_id}"' in html
    assert 'id="only-changed"' in html and 'id="only-failed"' in html
    assert "<del>" in html and "<ins>" in html


def test_report_only_rerenders_with_new_thresholds(compared: Any, tmp_path: Path) -> None:
    data = compared.data
    src = tmp_path / "run.json"
    src.write_text(json.dumps(data))
    rc = main(
        [
            "compare",
            "--report-only",
            str(src),
            "--fail-under",
            "0",
            "--max-cost-increase",
            "100000",
            "--out",
            str(tmp_path / "again"),
        ]
    )
    assert rc == 0
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["failures"] == [] and again["cases"] == data["cases"]
    root = ET.parse(tmp_path / "again" / "report.junit.xml").getroot()
    assert root.get("failures") == "0" and len(root.findall(".//testcase")) == 60
    assert (tmp_path / "again" / "report.html").read_text().count("data-case=") == 20


def test_bad_input_is_a_usage_error(recordings: Any, tmp_path: Path, capsys: Any) -> None:
    export, _ = recordings
    out = str(tmp_path / "r")
    assert main(["compare", str(export), "--variant", "x:colour=red", "--out", out]) == 2
    assert "unknown key 'colour'" in capsys.readouterr().err
    assert main(["compare", str(export), "--out", out]) == 2
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    assert main(["compare", "--report-only", str(bogus), "--out", out]) == 2
    assert "not a compare report" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_cost_change_against_the_baseline(compared: Any) -> None:
    data = compared.data
    for name in ("gpt4o", "gpt5"):
        pairs = [
            (t["results"][name]["cost"], t["results"]["recorded"]["cost"])
            for c in data["cases"]
            for t in c["turns"]
        ]
        new, base = sum(n for n, _ in pairs), sum(b for _, b in pairs)
        assert data["summary"][name]["cost_change_pct"] == pytest.approx(
            (new - base) / base * 100, abs=0.01
        )
    assert (
        data["summary"]["gpt4o"]["cost_change_pct"] < 0 < data["summary"]["gpt5"]["cost_change_pct"]
    )
    assert data["summary"]["recorded"]["cost_change_pct"] is None
