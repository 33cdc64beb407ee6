"""``compare``: replay conversations under variants and write JSON, HTML and JUnit reports.

Imports: click, stdlib; compat.compare (and through it openai/the store) when it runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

EXAMPLES = """
\b
Examples:
  assistants-compat compare export/ --variant recorded --variant new:model=gpt-4.1 --out report
  assistants-compat compare --database sqlite:///app.db --threads ids.txt \\
      --variant mini:model=gpt-4.1-mini,temperature=0.2 --variant chain:history=chain \\
      --fail-under 0.8 --max-cost-increase 20 --out report
  assistants-compat compare cases.yaml --variant a:model=gpt-4o --variant b:model=gpt-5-mini \\
      --offline --out report
  assistants-compat compare --report-only report/report.json --out report
"""


def _load_tools(spec: str) -> Any:
    module, sep, name = spec.rpartition(":")
    if not sep or not module or not name:
        raise click.BadParameter("expected module:function (or path/to/file.py:function)")
    try:
        if module.endswith(".py") or os.sep in module:
            import runpy

            namespace = runpy.run_path(module)
            fn = namespace[name]
        else:
            sys.path.insert(0, os.getcwd())
            fn = getattr(importlib.import_module(module), name)
    except Exception as exc:  # any import failure is a usage error
        raise click.BadParameter(f"cannot load {spec}: {type(exc).__name__}: {exc}") from None
    if not callable(fn):
        raise click.BadParameter(f"{spec} is not callable")
    return fn


def _print_summary(report: Any, paths: dict[str, Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    data = report.data
    table = Table(title="compare" + (" (PARTIAL)" if report.partial else ""))
    table.add_column("variant")
    for col in ("turns", "ok", "not ok", "changed", "cost grew", "cost $", "p50 s", "sim"):
        table.add_column(col, justify="right")
    for v in data["variants"]:
        s = data["summary"][v["name"]]
        table.add_row(
            v["name"],
            str(s["turns"]),
            str(s["completed"]),
            str(s["failed"] + s["needs_tool_output"]),
            str(s["changed"]),
            str(s["cost_grew"]),
            "–" if s["cost"] is None else f"{s['cost']:.6f}",
            "–" if s["latency_s"]["median"] is None else f"{s['latency_s']['median']:.2f}",
            "–" if s["similarity"]["mean"] is None else f"{s['similarity']['mean']:.3f}",
        )
    console = Console(width=110)
    console.print(table)
    for f in report.failures:
        console.print(f"FAIL {f['case']} × {f['variant']}: {f['message']}", markup=False)
    for path in paths.values():
        console.print(f"wrote {path}", markup=False)


@click.command(epilog=EXAMPLES)
@click.argument("sources", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--threads",
    "threads_file",
    type=click.Path(exists=True, dir_okay=False),
    help="File of thread ids to compare (one per line, or a JSON list).",
)
@click.option("--assistant", "assistant_id", help="Compare every thread run by this assistant.")
@click.option("--database", help="Store whose threads are the cases when no SOURCE is given.")
@click.option(
    "--variant",
    "variant_specs",
    multiple=True,
    metavar="NAME:KEY=VALUE[,…]",
    help="A variant (repeatable). Keys: run parameters (model, instructions, tools, "
    "temperature, top_p, reasoning_effort, truncation_strategy, …) and history, "
    "base_url, api_key. 'recorded' is the recorded baseline (added automatically "
    "when the cases have recordings).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Directory for report.json, report.html and report.junit.xml.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run each case N times to show variance.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Cases running at the same time.",
)
@click.option(
    "--tools",
    "tools_spec",
    metavar="MODULE:FUNCTION",
    help="fn(name, arguments) -> output for function calls the recording lacks.",
)
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False),
    help='JSON/YAML price table {"model": {"input": $, "output": $}} per 1M tokens.',
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 1),
    help="Fail a case × variant when a turn's similarity is below this.",
)
@click.option(
    "--max-cost-increase",
    type=float,
    metavar="PCT",
    help="Fail a case × variant whose cost grew more than PCT percent.",
)
@click.option(
    "--judge",
    "judge_model",
    metavar="MODEL",
    help="Also score answers with this model (Responses API) using --rubric.",
)
@click.option(
    "--rubric",
    type=click.Path(exists=True, dir_okay=False),
    help="Instructions for the judge (a text file).",
)
@click.option(
    "--run-database",
    help="Store the replayed threads go to (default: a scratch "
    "SQLite file, removed afterwards; never your --database).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Run compat variants against the bundled Responses API emulator.",
)
@click.option(
    "--report-only",
    type=click.Path(exists=True, dir_okay=False),
    help="Re-render an existing report.json (thresholds may be changed).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: when stderr is a terminal).",
)
def compare(
    sources: tuple[str, ...],
    threads_file: str | None,
    assistant_id: str | None,
    database: str | None,
    variant_specs: tuple[str, ...],
    out_dir: str | None,
    repeat: int,
    concurrency: int,
    tools_spec: str | None,
    prices: str | None,
    fail_under: float | None,
    max_cost_increase: float | None,
    judge_model: str | None,
    rubric: str | None,
    run_database: str | None,
    offline: bool,
    report_only: str | None,
    progress: bool | None,
) -> int:
    """Compare conversations across variants: answers, tool calls, cost, latency.

    Every case (a recorded thread of SOURCE exports or of the --database store, or a
    scripted conversation from a YAML/JSON file) is replayed turn by turn on a fresh thread
    under every --variant; the recorded answers are the baseline. Writes
    OUT/report.json, report.html and report.junit.xml.

    Exit status: 0; 1 when a threshold is crossed or nothing could run; 2 on bad input;
    130 when interrupted (a partial report is written).
    """
    from .. import compare as cmp

    if report_only:
        try:
            report = cmp.Report.load(report_only)
        except cmp.ReportError as exc:
            raise click.UsageError(str(exc)) from None
        report.rescore(fail_under=fail_under, max_cost_increase=max_cost_increase)
        paths = report.write(out_dir or Path(report_only).parent)
        _print_summary(report, paths)
        return 1 if report.failures else 0

    if not out_dir:
        raise click.UsageError("--out DIR is required")
    if not variant_specs:
        raise click.UsageError("give at least one --variant NAME:KEY=VALUE")
    if bool(judge_model) != bool(rubric):
        raise click.UsageError("--judge and --rubric go together")
    try:
        variants = [cmp.parse_variant(s) for s in variant_specs]
    except cmp.VariantError as exc:
        raise click.BadParameter(str(exc), param_hint="--variant") from None
    tools = _load_tools(tools_spec) if tools_spec else None
    try:
        price_table = cmp.load_prices(prices) if prices else None
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--prices") from None

    problems: list[str] = []
    try:
        ids = cmp.read_thread_ids(threads_file) if threads_file else None
        scripted = [s for s in sources if Path(s).is_file() and _is_scripted(s)]
        exports = [s for s in sources if s not in scripted]
        cases: list[cmp.Case] = []
        for path in scripted:
            cases.extend(cmp.load_scripted(path))
        if exports:
            found, problems = cmp.cases_from_export(
                exports, thread_ids=ids, assistant_id=assistant_id
            )
            cases.extend(found)
        elif not scripted:
            cases = cmp.cases_from_store(database, thread_ids=ids, assistant_id=assistant_id)
    except cmp.CaseError as exc:
        raise click.UsageError(str(exc)) from None
    for p in problems[:10]:
        click.echo(f"warning: {p}", err=True)
    if not cases:
        raise click.UsageError("no cases to compare (no threads with user messages found)")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise click.BadParameter("variant names must be unique", param_hint="--variant")
    if cmp.RECORDED not in names and any(c.has_recording for c in cases):
        variants.insert(0, cmp.Variant(cmp.RECORDED))
    if not any(not v.is_recorded for v in variants):
        raise click.UsageError("give at least one variant besides 'recorded'")

    kwargs: dict[str, Any] = dict(
        repeat=repeat,
        concurrency=concurrency,
        run_store=run_database,
        tools=tools,
        prices=price_table,
        fail_under=fail_under,
        max_cost_increase=max_cost_increase,
        judge=judge_model,
        rubric=Path(rubric).read_text(encoding="utf-8") if rubric else None,
        progress=progress,
        problems=problems,
    )
    if offline:
        from ..testing import ResponsesEmulator

        with ResponsesEmulator() as emu:
            report = cmp.run(cases, variants, base_url=emu.base_url, api_key="sk-offline", **kwargs)
    else:
        report = cmp.run(cases, variants, **kwargs)
    paths = report.write(out_dir)
    _print_summary(report, paths)
    if report.partial:
        click.echo("interrupted: the report is partial", err=True)
        return 130
    if not report.ran_anything:
        click.echo("nothing could run (see the errors in the report)", err=True)
        return 1
    return 1 if report.failures else 0


def _is_scripted(path: str) -> bool:
    from ..compare._cases import is_scripted

    return is_scripted(path)
