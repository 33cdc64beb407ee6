"""The report: JSON data (the source of truth), scoring against the baseline, thresholds.

Schema (``schema_version`` 1), every file written by ``compare`` and read by
``--report-only``::

    {"schema_version": 1, "generator": "assistants-compat compare", "created_at": ISO-8601,
     "partial": bool,               # true when interrupted: some turns are "not_run"
     "variants": [{"name", "params", "history"?, "base_url"?, "api_key"?: "***",
                   "description"}],
     "thresholds": {"fail_under": float|null, "max_cost_increase": percent|null},
     "judge": {"model", "rubric"} | null, "prices": {model: {"input", "output"}},
     "cases": [{"id", "label", "source": "recorded"|"scripted", "repeat": 1.., "baseline",
                "turns": [{"index": 1.., "user": text,
                           "results": {variant: TurnResult}}]}],
     "summary": {variant: Summary}, "failures": [{"case", "variant", "message"}],
     "problems": [text]}

    TurnResult: {"status": completed|failed|incomplete|cancelled|expired|
                 needs_tool_output|error|not_run|not_recorded, "error": text|null,
                 "answer", "tool_calls": [{"name", "arguments", "output", "type"}],
                 "model", "prompt_tokens", "completion_tokens", "cost" (USD|null),
                 "latency_s", "ttft_s", "run_id",
                 # against the case's baseline (absent on the baseline itself):
                 "similarity" (0..1), "diff": [["="|"-"|"+", words]],
                 "tool_calls_changed", "changed", "cost_delta", "cost_grew",
                 "judge": {"score": 0..1|null, "reason"} (with --judge)}
    Summary: {"turns", "completed", "failed", "needs_tool_output", "not_run", "changed",
              "cost_grew", "prompt_tokens", "completion_tokens", "cost",
              "cost_change_pct" (vs the baseline, over turns priced in both),
              "latency_s": {"mean", "median", "p95"}, "ttft_s": {...}, "similarity": {...},
              "judge": {...}}

Imports: stdlib, the compare package's pure modules.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._metrics import similarity, stats, word_diff

__all__ = ["SCHEMA_VERSION", "Report", "ReportError", "score"]

SCHEMA_VERSION = 1
OK_STATUSES = {"completed"}
UNSCORED = {"not_run", "not_recorded"}


class ReportError(ValueError):
    """A report file that cannot be read."""


def _tool_sig(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from ._cases import canonical_args

    return [(c.get("name", ""), canonical_args(c.get("arguments") or "")) for c in calls]


def _compare_turn(base: dict[str, Any], res: dict[str, Any]) -> None:
    res["similarity"] = similarity(base.get("answer") or "", res.get("answer") or "")
    res["diff"] = word_diff(base.get("answer") or "", res.get("answer") or "")
    res["tool_calls_changed"] = _tool_sig(base.get("tool_calls") or []) != _tool_sig(
        res.get("tool_calls") or []
    )
    res["changed"] = res["similarity"] < 1.0 or res["tool_calls_changed"]
    bc, rc = base.get("cost"), res.get("cost")
    res["cost_delta"] = None if bc is None or rc is None else round(rc - bc, 8)
    res["cost_grew"] = bool(res["cost_delta"] is not None and res["cost_delta"] > 0)


def _clear(res: dict[str, Any]) -> None:
    for key in ("similarity", "diff", "tool_calls_changed", "changed", "cost_delta", "cost_grew"):
        res.pop(key, None)


def score(data: dict[str, Any]) -> dict[str, Any]:
    """(Re)compute comparisons, the summary and the threshold failures of report data."""
    names = [v["name"] for v in data["variants"]]
    for case in data["cases"]:
        base_name = case.get("baseline")
        for turn in case["turns"]:
            results = turn["results"]
            base = results.get(base_name) if base_name else None
            for name, res in results.items():
                if name == base_name or base is None or res["status"] in UNSCORED:
                    _clear(res)
                elif base["status"] in UNSCORED:
                    _clear(res)
                else:
                    _compare_turn(base, res)
    data["summary"] = {name: _summary(data, name) for name in names}
    data["failures"] = _failures(data)
    return data


def _summary(data: dict[str, Any], name: str) -> dict[str, Any]:
    rs = [
        t["results"][name]
        for c in data["cases"]
        for t in c["turns"]
        if name in t["results"] and t["results"][name]["status"] != "not_recorded"
    ]
    ran = [r for r in rs if r["status"] != "not_run"]

    def total(key: str) -> float | None:
        vals = [r.get(key) for r in ran if r.get(key) is not None]
        return round(sum(vals), 8) if vals else None

    judged = [r["judge"]["score"] for r in ran if (r.get("judge") or {}).get("score") is not None]
    # Cost against the baseline over the turns where both costs are known.
    pairs = [
        (r["cost"], r["cost"] - r["cost_delta"])
        for r in ran
        if r.get("cost_delta") is not None and r.get("cost") is not None
    ]
    base_cost = sum(b for _, b in pairs)
    cost_change = (
        round((sum(c for c, _ in pairs) - base_cost) / base_cost * 100, 2) if base_cost else None
    )
    return {
        "turns": len(rs),
        "completed": sum(r["status"] in OK_STATUSES for r in ran),
        "failed": sum(r["status"] not in OK_STATUSES | {"needs_tool_output"} for r in ran),
        "needs_tool_output": sum(r["status"] == "needs_tool_output" for r in ran),
        "not_run": len(rs) - len(ran),
        "changed": sum(bool(r.get("changed")) for r in ran),
        "cost_grew": sum(bool(r.get("cost_grew")) for r in ran),
        "prompt_tokens": total("prompt_tokens"),
        "completion_tokens": total("completion_tokens"),
        "cost": total("cost"),
        "cost_change_pct": cost_change,
        "latency_s": stats([r["latency_s"] for r in ran if r.get("latency_s") is not None]),
        "ttft_s": stats([r["ttft_s"] for r in ran if r.get("ttft_s") is not None]),
        "similarity": stats([r["similarity"] for r in ran if r.get("similarity") is not None]),
        "judge": stats(judged),
    }


def _failures(data: dict[str, Any]) -> list[dict[str, str]]:
    th = data.get("thresholds") or {}
    fail_under, max_inc = th.get("fail_under"), th.get("max_cost_increase")
    out: list[dict[str, str]] = []
    for case in data["cases"]:
        base_name = case.get("baseline")
        for v in data["variants"]:
            name = v["name"]
            if name == base_name:
                continue
            msgs: list[str] = []
            base_cost = var_cost = 0.0
            costs_known = True
            for turn in case["turns"]:
                res = turn["results"].get(name)
                if res is None or res.get("similarity") is None:
                    continue
                if fail_under is not None and res["similarity"] < fail_under:
                    why = f" ({res['status']})" if res["status"] not in OK_STATUSES else ""
                    msgs.append(
                        f"turn {turn['index']}: similarity {res['similarity']:.2f} "
                        f"< {fail_under:.2f}{why}"
                    )
                bc = turn["results"][base_name].get("cost")
                if bc is None or res.get("cost") is None:
                    costs_known = False
                else:
                    base_cost += bc
                    var_cost += res["cost"]
            if max_inc is not None and costs_known and base_cost > 0:
                inc = (var_cost - base_cost) / base_cost * 100
                if inc > max_inc:
                    msgs.append(
                        f"cost +{inc:.1f}% > +{max_inc:g}% (${var_cost:.6f} vs ${base_cost:.6f})"
                    )
            out.extend({"case": case["label"], "variant": name, "message": m} for m in msgs)
    return out


@dataclass
class Report:
    """A comparison's results; ``data`` is the JSON document (see the module docstring)."""

    data: dict[str, Any]

    @property
    def partial(self) -> bool:
        return bool(self.data.get("partial"))

    @property
    def summary(self) -> dict[str, dict[str, Any]]:
        return self.data["summary"]  # type: ignore[no-any-return]

    @property
    def failures(self) -> list[dict[str, str]]:
        return self.data["failures"]  # type: ignore[no-any-return]

    @property
    def cases(self) -> list[dict[str, Any]]:
        return self.data["cases"]  # type: ignore[no-any-return]

    @property
    def ran_anything(self) -> bool:
        """Whether at least one turn of a non-recorded variant ran."""
        return any(
            r["status"] not in ("not_run", "error")
            for c in self.cases
            for t in c["turns"]
            for n, r in t["results"].items()
            if n != "recorded"
        )

    def result(self, case: str, variant: str, turn: int = 1) -> dict[str, Any]:
        """The result of one turn (1-based) of a case (by label) under a variant."""
        for c in self.cases:
            if c["label"] == case:
                return c["turns"][turn - 1]["results"][variant]  # type: ignore[no-any-return]
        raise KeyError(case)

    def rescore(
        self, *, fail_under: float | None = None, max_cost_increase: float | None = None
    ) -> Report:
        """Apply new thresholds (None keeps the report's own) and recompute everything."""
        th = self.data.setdefault("thresholds", {})
        if fail_under is not None:
            th["fail_under"] = fail_under
        if max_cost_increase is not None:
            th["max_cost_increase"] = max_cost_increase
        score(self.data)
        return self

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False)

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``report.json``, ``report.html`` and ``report.junit.xml`` into ``out_dir``
        (each replaced atomically); returns their paths."""
        from ._html import render_html
        from ._junit import render_junit

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "json": (out / "report.json", self.to_json()),
            "html": (out / "report.html", render_html(self.data)),
            "junit": (out / "report.junit.xml", render_junit(self.data)),
        }
        for path, text in files.values():
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        return {k: p for k, (p, _) in files.items()}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Report:
        """A report from its ``report.json``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ReportError(f"{path}: not JSON ({exc})") from None
        if not isinstance(data, dict) or "schema_version" not in data:
            raise ReportError(f"{path}: not a compare report (no schema_version)")
        if data["schema_version"] != SCHEMA_VERSION:
            raise ReportError(
                f"{path}: schema_version {data['schema_version']} is not supported "
                f"(this version reads {SCHEMA_VERSION})"
            )
        return cls(data)
