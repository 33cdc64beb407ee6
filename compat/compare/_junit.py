"""The JUnit XML report: one test case per case × variant, failing when a threshold is crossed.

Test case ``classname`` is ``compare.<variant>``, ``name`` the case label (thread id or
scripted name); turns that did not complete are listed in ``system-out``; a case that did
not run at all (interrupted) is ``skipped``. Imports: stdlib only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

__all__ = ["render_junit"]


def render_junit(data: dict[str, Any]) -> str:
    """The report as JUnit XML text."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for f in data.get("failures") or []:
        by_key.setdefault((f["case"], f["variant"]), []).append(f["message"])
    suites = ET.Element("testsuites", name="assistants-compat compare")
    total = failures = skipped = 0
    for v in data["variants"]:
        name = v["name"]
        suite = ET.SubElement(suites, "testsuite", name=f"compare.{name}")
        s_tests = s_fail = s_skip = 0
        s_time = 0.0
        for case in data["cases"]:
            results = [t["results"].get(name) or {} for t in case["turns"]]
            secs = sum(r.get("latency_s") or 0.0 for r in results)
            tc = ET.SubElement(
                suite,
                "testcase",
                classname=f"compare.{name}",
                name=case["label"],
                time=f"{secs:.3f}",
            )
            s_tests += 1
            s_time += secs
            msgs = by_key.get((case["label"], name))
            if msgs:
                s_fail += 1
                fail = ET.SubElement(tc, "failure", message=msgs[0], type="threshold")
                fail.text = "\n".join(msgs)
            elif results and all(r.get("status") == "not_run" for r in results):
                s_skip += 1
                ET.SubElement(tc, "skipped", message="not run (interrupted)")
            lines = []
            for t, r in zip(case["turns"], results, strict=True):
                line = f"turn {t['index']}: {r.get('status')}"
                if r.get("similarity") is not None:
                    line += f", similarity {r['similarity']:.2f}"
                if r.get("error"):
                    line += f", {r['error']}"
                lines.append(line)
            ET.SubElement(tc, "system-out").text = "\n".join(lines)
        suite.set("tests", str(s_tests))
        suite.set("failures", str(s_fail))
        suite.set("errors", "0")
        suite.set("skipped", str(s_skip))
        suite.set("time", f"{s_time:.3f}")
        total, failures, skipped = total + s_tests, failures + s_fail, skipped + s_skip
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("skipped", str(skipped))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")
