"""The HTML report: one self-contained file (inline CSS and JS, no external assets).

A summary table at the top (variants as columns), threshold failures, filters for changed
and failed turns, then every case with its turns as rows and variants as columns: the
answer with a word diff against the baseline, tool calls (differences highlighted), status,
tokens, cost, latency, similarity. Rendered from the report JSON only.
Imports: stdlib, compat.compare._cases (argument canonical form).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["render_html"]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232b}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px}
.meta{color:#5b6570;margin:0 0 14px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;table-layout:fixed}
th,td{border:1px solid #d5dae0;padding:6px 8px;vertical-align:top;text-align:left;
 overflow-wrap:anywhere}
th{background:#f2f4f7}table.summary td{text-align:right}
table.summary td:first-child{text-align:left}
table.summary{width:auto;min-width:50%;table-layout:auto}
.partial{background:#fff4d6;border:1px solid #e0b84c;padding:8px 12px;border-radius:4px}
.failures{background:#fdecec;border:1px solid #e2a3a3;padding:8px 12px;border-radius:4px}
.ok{color:#17733a}.bad{color:#b42318}.muted{color:#6b7580}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:12px;background:#e7ebef}
.badge.completed{background:#dcf3e3;color:#17733a}
.badge.failed,.badge.error,.badge.needs_tool_output,.badge.expired,.badge.cancelled,
.badge.incomplete{background:#fde2e1;color:#b42318}
.answer{white-space:pre-wrap;margin:4px 0}
del{background:#fde2e1;color:#8a1c14}ins{background:#dcf3e3;color:#125c2e;text-decoration:none}
ul.tools{margin:4px 0;padding-left:18px;font-family:ui-monospace,monospace;font-size:12px}
li.changed{background:#fff4d6}.m{font-size:12px;color:#4b5560}
.filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #d5dae0}
td.user{background:#fafbfc}col.idx{width:2.5em}
"""

JS = """
(function(){
  var ch=document.getElementById('only-changed'),fa=document.getElementById('only-failed');
  function apply(){
    var shown=0;
    document.querySelectorAll('section.case').forEach(function(sec){
      var any=false;
      sec.querySelectorAll('tr.turn').forEach(function(tr){
        var ok=(!ch.checked||tr.dataset.changed==='1')&&(!fa.checked||tr.dataset.failed==='1');
        tr.style.display=ok?'':'none'; if(ok){any=true;shown++;}
      });
      sec.style.display=any?'':'none';
    });
    document.getElementById('shown').textContent=shown+' turns shown';
  }
  ch.addEventListener('change',apply);fa.addEventListener('change',apply);apply();
})();
"""


def _num(value: Any, fmt: str = "{:.2f}", none: str = "–") -> str:
    return none if value is None else fmt.format(value)


def _money(value: Any) -> str:
    return _num(value, "${:.6f}")


def _summary_rows(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    names = [v["name"] for v in data["variants"]]
    s = data["summary"]

    def row(label: str, fn: Any) -> tuple[str, list[str]]:
        return label, [fn(s[n]) for n in names]

    def stat(key: str, part: str, fmt: str) -> Any:
        return lambda x: _num((x.get(key) or {}).get(part), fmt)

    rows = [
        row("turns", lambda x: str(x["turns"])),
        row("completed", lambda x: str(x["completed"])),
        row("failed", lambda x: str(x["failed"])),
        row("needs tool output", lambda x: str(x["needs_tool_output"])),
        row("not run", lambda x: str(x["not_run"])),
        row("changed vs baseline", lambda x: str(x["changed"])),
        row("cost grew", lambda x: str(x["cost_grew"])),
        row("prompt tokens", lambda x: _num(x["prompt_tokens"], "{:,.0f}")),
        row("completion tokens", lambda x: _num(x["completion_tokens"], "{:,.0f}")),
        row("cost (USD)", lambda x: _money(x["cost"])),
        row("cost vs baseline", lambda x: _num(x.get("cost_change_pct"), "{:+.1f}%")),
        row("latency mean (s)", stat("latency_s", "mean", "{:.3f}")),
        row("latency median (s)", stat("latency_s", "median", "{:.3f}")),
        row("latency p95 (s)", stat("latency_s", "p95", "{:.3f}")),
        row("first token mean (s)", stat("ttft_s", "mean", "{:.3f}")),
        row("first token p95 (s)", stat("ttft_s", "p95", "{:.3f}")),
        row("similarity mean", stat("similarity", "mean", "{:.3f}")),
        row("similarity median", stat("similarity", "median", "{:.3f}")),
    ]
    if data.get("judge"):
        rows.append(row("judge mean", stat("judge", "mean", "{:.3f}")))
    return rows


def _diff_html(res: dict[str, Any]) -> str:
    if "diff" not in res:
        return escape(res.get("answer") or "")
    out = []
    for op, text in res["diff"]:
        t = escape(text)
        out.append(t if op == "=" else f"<del>{t}</del>" if op == "-" else f"<ins>{t}</ins>")
    return " ".join(out)


def _tools_html(res: dict[str, Any], base: dict[str, Any] | None) -> str:
    calls = res.get("tool_calls") or []
    if not calls:
        return ""
    from ._cases import canonical_args

    def sig(c: dict[str, Any]) -> tuple[str, str]:
        return c["name"], canonical_args(c.get("arguments") or "")

    base_calls = [sig(c) for c in (base or {}).get("tool_calls") or []]
    items = []
    for i, c in enumerate(calls):
        same = base is None or (i < len(base_calls) and base_calls[i] == sig(c))
        out = c.get("output")
        tail = f" → {escape(out[:200])}" if out else ""
        cls = "" if same else ' class="changed"'
        items.append(f"<li{cls}>{escape(c['name'])}({escape(c.get('arguments') or '')}){tail}</li>")
    return f'<ul class="tools">{"".join(items)}</ul>'


def _cell(res: dict[str, Any] | None, base: dict[str, Any] | None, is_base: bool) -> str:
    if res is None:
        return '<td class="muted">–</td>'
    status = res["status"]
    bits = [f'<span class="badge {escape(status)}">{escape(status)}</span>']
    if is_base:
        bits.append(' <span class="muted">baseline</span>')
    sim = res.get("similarity")
    if sim is not None:
        cls = "ok" if sim >= 0.999 else "bad" if sim < 0.6 else ""
        bits.append(f' <span class="sim {cls}">similarity {sim:.2f}</span>')
    if res.get("tool_calls_changed"):
        bits.append(' <span class="bad">tool calls changed</span>')
    if res.get("error"):
        bits.append(f'<div class="bad m">{escape(str(res["error"]))}</div>')
    bits.append(f'<div class="answer">{_diff_html(res)}</div>')
    bits.append(_tools_html(res, None if is_base else base))
    m = []
    if res.get("prompt_tokens") is not None:
        m.append(f"{res['prompt_tokens']}/{res.get('completion_tokens')} tok")
    if res.get("cost") is not None:
        c = _money(res["cost"])
        delta = res.get("cost_delta")
        if delta:
            c += f' <span class="{"bad" if delta > 0 else "ok"}">({delta:+.6f})</span>'
        m.append(c)
    if res.get("latency_s") is not None:
        m.append(f"{res['latency_s']:.2f} s")
    if res.get("ttft_s") is not None:
        m.append(f"first token {res['ttft_s']:.2f} s")
    judge = res.get("judge")
    if judge:
        m.append(f"judge {_num(judge.get('score'))}")
    if m:
        bits.append(f'<div class="m">{" · ".join(m)}</div>')
    return f'<td class="cell">{"".join(bits)}</td>'


def render_html(data: dict[str, Any]) -> str:
    """The report as one HTML page."""
    variants = data["variants"]
    names = [v["name"] for v in variants]
    head = "".join(
        f'<th data-variant="{escape(v["name"])}">{escape(v["name"])}'
        f'<div class="m">{escape(v.get("description") or "")}</div></th>'
        for v in variants
    )
    n_cases = len({c["id"] for c in data["cases"]})
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        "<title>assistants-compat compare report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Assistants comparison</h1>",
        f'<p class="meta">{escape(str(data.get("created_at", "")))} · {n_cases} cases · '
        f"{len(variants)} variants · {escape(str(data.get('generator', '')))} · "
        f"schema {data.get('schema_version')}</p>",
    ]
    if data.get("partial"):
        parts.append(
            '<p class="partial" id="partial"><b>Partial report</b>: the run was interrupted; '
            'turns marked "not_run" did not run.</p>'
        )
    parts.append('<h2>Summary</h2><table class="summary" id="summary"><thead><tr><th>metric</th>')
    parts.append(head + "</tr></thead><tbody>")
    for label, cells in _summary_rows(data):
        parts.append(f"<tr><td>{escape(label)}</td>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    parts.append("</tbody></table>")
    th = data.get("thresholds") or {}
    if th.get("fail_under") is not None or th.get("max_cost_increase") is not None:
        parts.append(
            f'<p class="meta">Thresholds: similarity ≥ {_num(th.get("fail_under"))}, '
            f"cost increase ≤ {_num(th.get('max_cost_increase'), '{:g}%')}</p>"
        )
    failures = data.get("failures") or []
    if failures:
        items = "".join(
            f"<li><b>{escape(f['case'])}</b> × {escape(f['variant'])}: {escape(f['message'])}</li>"
            for f in failures
        )
        parts.append(
            f'<div class="failures" id="failures"><b>{len(failures)} threshold failures</b>'
            f"<ul>{items}</ul></div>"
        )
    parts.append(
        '<div class="filters"><label><input type="checkbox" id="only-changed"> only changed '
        'turns</label> &nbsp; <label><input type="checkbox" id="only-failed"> only failed '
        'turns</label> &nbsp; <span class="muted" id="shown"></span></div>'
    )
    cols = '<colgroup><col class="idx"><col>' + "<col>" * len(names) + "</colgroup>"
    for case in data["cases"]:
        base_name = case.get("baseline")
        parts.append(
            f'<section class="case" data-case="{escape(case["label"])}">'
            f'<h2>{escape(case["label"])} <span class="m">{escape(case.get("source", ""))}'
            f" · baseline {escape(str(base_name))}</span></h2>"
            f'<table class="turns">{cols}<thead><tr><th>#</th><th>user</th>{head}</tr></thead>'
            "<tbody>"
        )
        for turn in case["turns"]:
            results = turn["results"]
            base = results.get(base_name) if base_name else None
            ran = [r for r in results.values() if r["status"] not in ("not_run", "not_recorded")]
            changed = any(r.get("changed") for r in ran)
            failed = any(r["status"] != "completed" for r in ran)
            row_cells = "".join(_cell(results.get(n), base, n == base_name) for n in names)
            parts.append(
                f'<tr class="turn" data-changed="{int(changed)}" data-failed="{int(failed)}">'
                f'<td>{turn["index"]}</td><td class="user">{escape(turn["user"])}</td>'
                f"{row_cells}</tr>"
            )
        parts.append("</tbody></table></section>")
    meta = json.dumps({"schema_version": data.get("schema_version"), "partial": data["partial"]})
    parts.append(f'<script type="application/json" id="report-meta">{escape(meta)}</script>')
    parts.append(f"<script>{JS}</script></body></html>")
    return "\n".join(parts)
